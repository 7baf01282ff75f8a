#!/usr/bin/env bash
# The benchmark set behind docs/performance.md's per-CPU tables: KNN (every kernel), KNN tuning, training
# (seed fp32 and bf16, per-layer times, the ResNet in both precisions), inference. Run it on a quiet machine;
# `--emulate-avx2` repeats it with .NET, libtorch, oneDNN and MKL capped at AVX2 (the instruction set of a
# Zen 3 CPU, not its speed). Writes one JSON file per benchmark into the folder given (default logs/bench).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="logs/bench"; tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --emulate-avx2) tag="-avx2-emulated"
      export DOTNET_EnableAVX512=0 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
    *) out="$1" ;;
  esac
  shift
done
# Files are named for the CPU generation fmnist detects (zen4-..., zen5-..., emerald-rapids-...), "native"
# where it names none: the last parenthesis inside the [...] of the CPU line.
version="$(./fmnist --version)"
gen="$(sed -n 's/^CPU: .*\[[^]]*(\([^)]*\))\].*/\1/p' <<<"$version" | head -1 | tr 'A-Z' 'a-z')"
case "$gen" in zen*) gen="${gen// /}" ;; *) gen="${gen// /-}" ;; esac
# The vector width .NET offers here (avx512, avx2, neon, scalar): kernels wider than it are skipped.
vectors="$(grep -o '\.NET vectors [a-z0-9]*' <<<"$version" | awk '{print $3}')"
tag="${gen:-native}$tag"
model="${FMNIST_BENCH_MODEL:-runs/reproduce/cnn-seed}"
mkdir -p "$out"
run() { local name="$1"; shift; echo "== $tag $name: ./fmnist $*" >&2; ./fmnist "$@" --json > "$out/$tag-$name.json"; }
for k in auto avx512 avx2 scalar; do
  if [ "$k" = avx512 ] && [ "$vectors" != avx512 ]; then echo "== $tag knn-avx512: skipped (.NET vectors $vectors)" >&2; continue; fi
  if [ "$k" = avx2 ] && [ "$vectors" != avx512 ] && [ "$vectors" != avx2 ]; then echo "== $tag knn-avx2: skipped (.NET vectors $vectors)" >&2; continue; fi
  run "knn-$k" bench knn --kernel "$k"
done
run knn-tune knn --tune
run train-seed bench train --layers
run train-seed-bf16 bench train --precision bf16 --steps 10
run train-resnet bench train --preset resnet --compare-precision
run train-fast bench train --preset fast --compare-precision
if [ -d "$model" ]; then run infer bench infer --model "$model"; fi
echo "wrote $out/$tag-*.json" >&2
