#!/usr/bin/env bash
# Requests lost across SIGTERM (docs/reliability.md): REPEAT times, starts `fmnist serve` on loopback, has `hey`
# POST a real 28x28 test PNG from 16 clients, sends SIGTERM mid-load and waits for the server to exit. Each request
# opens its own connection (-disable-keepalive, or KEEPALIVE=1 to reuse them), so every outcome is one of:
# answered (200, or 503 shutting down), refused at connect once the server had stopped listening (never taken),
# or lost: taken and then not answered (reset, EOF, timeout). Goal: 0 lost, exit code 0 every time.
# Usage: scripts/drain-serve.sh [serve options, e.g. --model DIR]   Environment: PORT (8095), REPEAT (10), CLIENTS (16).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8095}" repeat="${REPEAT:-10}" clients="${CLIENTS:-16}"
url="http://127.0.0.1:$port"
keepalive=(-disable-keepalive)
[ "${KEEPALIVE:-0}" = 1 ] && keepalive=()
command -v hey >/dev/null || { echo "drain-serve: hey not found (apt-get install hey)" >&2; exit 1; }
work="$(mktemp -d)"
server="" load=""
cleanup() {
  if [ -n "$load" ]; then kill "$load" 2>/dev/null || true; fi
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| run | in flight at SIGTERM | answered 200 | answered 503 | refused at connect | lost | exit code | SIGTERM to exit ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
total_lost=0 total_ok=0 bad_exit=0
for run in $(seq 1 "$repeat"); do
  "$root/fmnist" serve "$@" --urls "$url" > "$work/serve.log" 2>&1 &
  server=$!   # the launcher execs dotnet: this is the server's own PID
  for _ in $(seq 1 300); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "drain-serve: the server did not start" >&2; exit 1; }
  [ -s "$work/sample.png" ] || curl -sf "$url/api/samples/random" | sed -E 's/.*"image":"data:image\/png;base64,([^"]*)".*/\1/' | base64 -d > "$work/sample.png"
  hey -z 5s -c "$clients" "${keepalive[@]}" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > "$work/hey.txt" &
  load=$!
  sleep 3
  in_flight=$(curl -sf "$url/health" | sed -E 's/.*"in_flight":([0-9]+).*/\1/')
  signalled=$(date +%s%N)
  kill -TERM "$server"
  set +e; wait "$server"; code=$?; set -e
  exited=$(date +%s%N)
  server=""
  wait "$load" || true
  load=""
  read -r ok unavailable refused lost < <(awk '
    /^Status code distribution:/ { section = "status"; next }
    /^Error distribution:/ { section = "errors"; next }
    section == "status" && /\[[0-9]+\]/ { c = $1; gsub(/[\[\]]/, "", c); if (c == 200) ok += $2; else if (c == 503) u += $2; else lost += $2 }
    section == "errors" && /\[[0-9]+\]/ { k = $1; gsub(/[\[\]]/, "", k); if ($0 ~ /connection refused/) r += k; else lost += k }
    END { printf "%d %d %d %d\n", ok, u, r, lost }' "$work/hey.txt")
  if [ "$lost" != 0 ]; then sed -n '/Error distribution:/,$p' "$work/hey.txt" >&2; fi
  echo "| $run | $in_flight | $ok | $unavailable | $refused | $lost | $code | $(( (exited - signalled) / 1000000 )) |"
  total_lost=$(( total_lost + lost )) total_ok=$(( total_ok + ok ))
  [ "$code" = 0 ] || bad_exit=$(( bad_exit + 1 ))
done
echo "Total: $total_ok answered 200, $total_lost lost, $bad_exit non-zero exits in $repeat runs. Load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ "$total_lost" = 0 ] && [ "$bad_exit" = 0 ]
