#!/usr/bin/env bash
# Usage: bench.sh NAME GRID — one side of the benchmark: --train-limit 4000, 10 epochs, binary of commit 619ed2a.
cd /work/wt-sweeps
export LD_PRELOAD=/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
echo "start $(date -Is) load $(cat /proc/loadavg)"
/usr/bin/time -v nice -n 19 dotnet /tmp/fmnist-bench/bin-619ed2a/fmnist.dll sweep --grid "$2" --train-limit 4000 --epochs 10 --out runs/bench/$1
echo "end $(date -Is) load $(cat /proc/loadavg)"
