#!/usr/bin/env bash
# Heavy uploads against `fmnist serve` (docs/serve.md#bounded-uploads): six clients at once, each posting 64 PNGs of
# 40 MP (~60 KB each: a garment on a plain background, as an attacker would send them), then six clients each
# posting two of them (80 MP, inside the default 100 MP budget, so they reach the decoding gate). Prints each answer's
# status and time, the slowest /health probe while they ran (polled every 0.2 s), and the server's peak resident
# memory (VmHWM), from start-up on.
# Usage: scripts/bench-uploads.sh [serve options, e.g. --model DIR]
# Environment: PORT (8095), CLIENTS (6), FILES (64).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8095}" clients="${CLIENTS:-6}" files="${FILES:-64}"
url="http://127.0.0.1:$port"
work="$(mktemp -d)"
server=""
cleanup() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

# 8000 x 5000, 8-bit gray: a dark block (the garment) on white, rows written one at a time.
python3 - "$work/big.png" <<'PY'
import struct, sys, zlib
w, h = 8000, 5000
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
plain = b"\0" + b"\xf5" * w
garment = b"\0" + b"\xf5" * (w // 4) + b"\x32" * (w // 2) + b"\xf5" * (w - w // 4 - w // 2)
z = zlib.compressobj(9)
idat = b"".join(z.compress(garment if h // 5 <= y < 4 * h // 5 else plain) for y in range(h)) + z.flush()
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
PY

"$root/fmnist" serve "$@" --urls "$url" > "$work/serve.log" 2>&1 &
server=$!   # the launcher execs dotnet: this is the server's own PID
for _ in $(seq 1 300); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 1; done
curl -sf "$url/health" >/dev/null || { cat "$work/serve.log" >&2; echo "bench-uploads: the server did not start" >&2; exit 1; }
kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$server/status"; }
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Server resident at start: $(( $(kb VmRSS) / 1024 )) MB; one upload: $(stat -c %s "$work/big.png") bytes"

# One round: $1 clients at once, each posting $2 copies of the photo; /health polled meanwhile.
round() {
  local n="$1" per="$2" args=() pids=()
  for _ in $(seq 1 "$per"); do args+=(-F "file=@$work/big.png;type=image/png"); done
  ( while :; do curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "$url/health" || echo "failed"; sleep 0.2; done ) > "$work/health.txt" &
  local prober=$!
  for i in $(seq 1 "$n"); do
    curl -s -o "$work/body-$i.json" -m 60 -w '%{http_code} %{time_total}\n' "${args[@]}" "$url/api/predict" > "$work/answer-$i.txt" &
    pids+=($!)
  done
  wait "${pids[@]}"
  sleep 0.5
  kill "$prober"; wait "$prober" 2>/dev/null || true
  for i in $(seq 1 "$n"); do
    printf '  %s s  %s\n' "$(cut -d' ' -f2 "$work/answer-$i.txt")" "$(cut -d' ' -f1 "$work/answer-$i.txt") $(sed -E 's/.*"error":"([^"]*)".*/\1/; s/^\{"predictions".*/ok/' "$work/body-$i.json")"
  done
  awk '$1 != 200 { bad++ } $2 > max { max = $2 } END { printf "  /health: %d probes, %d failed, slowest %.0f ms\n", NR, bad, max * 1000 }' "$work/health.txt"
  echo "  peak resident memory so far (VmHWM): $(( $(kb VmHWM) / 1024 )) MB"
}
echo "$clients clients x $files photos of 40 MP:"
round "$clients" "$files"
echo "$clients clients x 2 photos of 40 MP (inside the pixel budget):"
round "$clients" 2
echo "Resident now: $(( $(kb VmRSS) / 1024 )) MB"
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)"
