#!/usr/bin/env bash
# Soak test of `fmnist serve` (docs/reliability.md): starts the server on loopback with its default limits, has
# `hey` POST one real 28x28 test PNG from 16 clients for 10 minutes, samples the server's resident memory every
# minute (with the slowest of a GET /health a second), and prints one markdown row: requests, requests/s, p50/p99, errors (non-200 responses plus connection
# errors), RSS at the start, highest and at the end.
# Usage: scripts/soak-serve.sh [serve options, e.g. --model DIR]   Environment: PORT (8098), CLIENTS (16), DURATION (10m).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8098}" clients="${CLIENTS:-16}" duration="${DURATION:-10m}"
url="http://127.0.0.1:$port"
command -v hey >/dev/null || { echo "soak-serve: hey not found (apt-get install hey)" >&2; exit 1; }
work="$(mktemp -d)"
server="" sampler=""
cleanup() {
  if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

"$root/fmnist" serve "$@" --urls "$url" > "$work/serve.log" 2>&1 &
server=$!   # the launcher execs dotnet: this is the server's own PID
for _ in $(seq 1 300); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 1; done
curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "soak-serve: the server did not start" >&2; exit 1; }
curl -sf "$url/api/samples/random" | sed -E 's/.*"image":"data:image\/png;base64,([^"]*)".*/\1/' | base64 -d > "$work/sample.png"
hey -n 500 -c "$clients" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > /dev/null   # warm-up
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start=$(rss_mb "$server")
# Every second a GET /health (no model work): its slowest answer per minute shows whether the whole process stalled
# (CPU starvation on a shared machine, a GC pause) rather than the model falling behind.
(
  while true; do
    worst=0
    for _ in $(seq 1 60); do
      ms=$(curl -s -o /dev/null -w '%{time_total}' "$url/health" | awk '{ printf "%d", $1 * 1000 }')
      [ "$ms" -gt "$worst" ] && worst=$ms
      sleep 1
    done
    echo "$(date -u +%H:%M:%S) RSS $(rss_mb "$server") MB, slowest /health ${worst} ms, load $(cut -d' ' -f1 /proc/loadavg)" >&2
  done
) &
sampler=$!
hey -z "$duration" -c "$clients" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > "$work/hey.txt"
kill "$sampler" 2>/dev/null || true; sampler=""
end=$(rss_mb "$server")
high=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| clients | duration | requests | requests/s | p50 ms | p99 ms | errors | RSS start MB | RSS peak MB | RSS end MB |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -v c="$clients" -v d="$duration" -v s="$start" -v h="$high" -v e="$end" '
  /Requests\/sec:/ { rps = $2 }
  / 50% in / { p50 = $3 * 1000 }
  / 99% in / { p99 = $3 * 1000 }
  /^Status code distribution:/ { section = "status"; next }
  /^Error distribution:/ { section = "errors"; next }
  section == "status" && /\[[0-9]+\]/ { code = $1; gsub(/[\[\]]/, "", code); n += $2; if (code != 200) errors += $2 }
  section == "errors" && /\[[0-9]+\]/ { k = $1; gsub(/[\[\]]/, "", k); errors += k; n += k }
  END { printf "| %d | %s | %d | %.0f | %.1f | %.1f | %d | %s | %s | %s |\n", c, d, n, rps, p50, p99, errors, s, h, e }' "$work/hey.txt"
sed -n '/Status code distribution:/,$p' "$work/hey.txt" >&2
# Anything other than 200s: keep the server's log (its error lines name the exception type) for the record.
if grep -A20 '^Status code distribution:' "$work/hey.txt" | grep -Eq '\[(4|5)[0-9][0-9]\]|^Error distribution'; then
  keep="${KEEP_LOG:-$root/logs/soak-serve-server-$(date -u +%Y%m%dT%H%M%S).log}"
  cp "$work/serve.log" "$keep" && echo "soak-serve: non-200 answers; the server's log is kept in $keep" >&2
fi
