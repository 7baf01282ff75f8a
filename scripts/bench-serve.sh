#!/usr/bin/env bash
# Load benchmark of `fmnist serve` (docs/serve.md): for batching on (--max-batch 32) and off (--max-batch 1), starts the
# server on loopback, has `hey` POST one 28x28 test PNG from 16 concurrent clients for 15 s, then for 60 s,
# and prints a markdown table: predictions/s, p50/p99 latency, errors, resident memory before and after the 60 s run.
# Usage: scripts/bench-serve.sh [--model DIR|FILE.onnx]   (default: the newest finished run under runs/)
# Environment: PORT (8097), CLIENTS (16), SHORT (15s), LONG (60s), BATCH_WAIT_MS (2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8097}" clients="${CLIENTS:-16}" short="${SHORT:-15s}" long="${LONG:-60s}" wait_ms="${BATCH_WAIT_MS:-2}"
url="http://127.0.0.1:$port"
command -v hey >/dev/null || { echo "bench-serve: hey not found (apt-get install hey)" >&2; exit 1; }
work="$(mktemp -d)"
server=""
cleanup() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# One hey run -> "predictions/s|p50 ms|p99 ms|errors" (errors: non-200 responses plus connection errors).
load() {
  hey -z "$1" -c "$clients" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > "$work/hey.txt"
  awk '
    /Requests\/sec:/ { rps = $2 }
    / 50% in / { p50 = $3 * 1000 }
    / 99% in / { p99 = $3 * 1000 }
    /^Status code distribution:/ { section = "status"; next }
    /^Error distribution:/ { section = "errors"; next }
    section == "status" && /\[[0-9]+\]/ { code = $1; gsub(/[\[\]]/, "", code); if (code != 200) errors += $2; ok += (code == 200) ? $2 : 0 }
    section == "errors" && /\[[0-9]+\]/ { n = $1; gsub(/[\[\]]/, "", n); errors += n }
    END { printf "%.0f | %.1f | %.1f | %d", rps, p50, p99, errors }' "$work/hey.txt"
}

echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| mode | run | predictions/s | p50 ms | p99 ms | errors | RSS before MB | RSS after MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for batch in 32 1; do
  "$root/fmnist" serve "$@" --urls "$url" --max-batch "$batch" --batch-wait-ms "$wait_ms" > "$work/serve.log" 2>&1 &
  server=$!   # the launcher execs dotnet: this is the server's own PID
  for _ in $(seq 1 300); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 1; done
  curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "bench-serve: the server did not start" >&2; exit 1; }
  # A real 28x28 test image, as the PNG the server itself renders.
  curl -sf "$url/api/samples/random" | sed -E 's/.*"image":"data:image\/png;base64,([^"]*)".*/\1/' | base64 -d > "$work/sample.png"
  hey -n 500 -c "$clients" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > /dev/null   # warm-up
  mode=$([ "$batch" = 1 ] && echo "batching off (--max-batch 1)" || echo "batching on (--max-batch $batch, ${wait_ms} ms)")
  before=$(rss_mb "$server")
  echo "| $mode | $short | $(load "$short") | $before | $(rss_mb "$server") |"
  before=$(rss_mb "$server")
  echo "| $mode | $long | $(load "$long") | $before | $(rss_mb "$server") |"
  kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
done
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
