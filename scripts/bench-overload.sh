#!/usr/bin/env bash
# Overload benchmark of `fmnist serve` (docs/reliability.md): what a bounded queue does when more clients send
# than the model can answer. Starts the server on loopback, measures its capacity with 16 clients, then lets 64
# clients send flat out (as fast as they are answered) and once more at about twice the capacity (hey -q), each
# against a small queue (--queue-limit QUEUE) and against a queue too large to ever fill (--queue-limit 100000).
# Prints a markdown row per run: offered and accepted rate, share refused (503), p50/p99 of the accepted (200)
# requests, and every other answer or connection error (goal: 0).
# Usage: scripts/bench-overload.sh [serve options, e.g. --model DIR]
# Environment: PORT (8096), QUEUE (16), CLIENTS (64), DURATION (30s; whole seconds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8096}" queue="${QUEUE:-16}" clients="${CLIENTS:-64}" duration="${DURATION:-30s}"
url="http://127.0.0.1:$port"
command -v hey >/dev/null || { echo "bench-overload: hey not found (apt-get install hey)" >&2; exit 1; }
work="$(mktemp -d)"
server=""
cleanup() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
  "$root/fmnist" serve "${serve_args[@]}" --urls "$url" --queue-limit "$1" > "$work/serve.log" 2>&1 &
  server=$!   # the launcher execs dotnet: this is the server's own PID
  for _ in $(seq 1 300); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 1; done
  curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "bench-overload: the server did not start" >&2; exit 1; }
  [ -s "$work/sample.png" ] || curl -sf "$url/api/samples/random" | sed -E 's/.*"image":"data:image\/png;base64,([^"]*)".*/\1/' | base64 -d > "$work/sample.png"
  hey -n 500 -c 16 -m POST -T image/png -D "$work/sample.png" "$url/api/predict" > /dev/null   # warm-up
}
stop_server() { kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""; }

# hey's CSV has a row per answer but none for a connection error, so each run sends a fixed number of requests
# (-n) and the missing rows are the errors. A 5 s probe with the same options sets that number for ~DURATION.
# One run (hey options in "$@") -> "offered/s | accepted/s | refused % | p50 | p99 | other statuses + errors".
load() {
  local rps n
  rps=$(hey -z 5s "$@" -m POST -T image/png -D "$work/sample.png" "$url/api/predict" | awk '/Requests\/sec:/ { printf "%d", $2 }')
  n=$(( (rps * seconds / $2 + 1) * $2 ))   # "$2" is the -c count: hey sends n / c requests per client
  hey -n "$n" "$@" -m POST -T image/png -D "$work/sample.png" -o csv "$url/api/predict" > "$work/hey.csv"
  awk -F, -v n="$n" 'NR > 1 {
      rows++; end = ($8 + $1 > end) ? $8 + $1 : end
      if ($7 == 200) { ok++; print $1 * 1000 > "/dev/stderr" } else if ($7 == 503) refused++; else other++ }
    END { printf "%.0f|%.0f|%.1f|%d", n / end, ok / end, 100 * refused / n, other + (n - rows) }' "$work/hey.csv" 2> "$work/ok-ms.txt" > "$work/row.txt"
  sort -n "$work/ok-ms.txt" > "$work/ok-sorted.txt"
  local count p50 p99 offered accepted refused other
  count=$(wc -l < "$work/ok-sorted.txt")
  p50=$(sed -n "$(( (count + 1) / 2 ))p" "$work/ok-sorted.txt"); p99=$(sed -n "$(( (count * 99 + 99) / 100 ))p" "$work/ok-sorted.txt")
  IFS='|' read -r offered accepted refused other < "$work/row.txt"
  printf "%s | %s | %s | %.1f | %.1f | %s (of %s requests)" "$offered" "$accepted" "$refused" "$p50" "$p99" "$other" "$n"
}

serve_args=("$@")
seconds=$(echo "$duration" | sed -E 's/s$//')
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| queue limit | clients | offered/s | accepted/s | refused (503) % | p50 accepted ms | p99 accepted ms | other statuses + errors |"
echo "|---:|---|---:|---:|---:|---:|---:|---|"
start_server "$queue"
row=$(load -c 16)
capacity=$(echo "$row" | cut -d'|' -f2 | tr -d ' ')   # accepted/s with 16 clients
echo "| $queue | 16 (capacity) | $row |"
per_client=$(( (2 * capacity + clients - 1) / clients ))   # hey -q: requests/s per client, for ~2x capacity in all
echo "| $queue | $clients flat out | $(load -c "$clients") |"
echo "| $queue | $clients at ${per_client}/s each (~2x capacity) | $(load -c "$clients" -q "$per_client") |"
stop_server
start_server 100000
echo "| 100000 | $clients flat out | $(load -c "$clients") |"
echo "| 100000 | $clients at ${per_client}/s each (~2x capacity) | $(load -c "$clients" -q "$per_client") |"
stop_server
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
