#!/usr/bin/env bash
# The speedrun levers' ablation (issue #34 part 2): 12 epochs of the fast preset on its 48,000 / 12,000
# validation split, two seeds per arm (seed 2 keeps seed 1's split: split_seed 1), validation accuracy only
# (--test-limit 1: the test set is not scored in any way that could inform a choice). Runs two at a time with
# --threads 1 (a 2-core machine), from a frozen copy of the Release build, so that edits and rebuilds of the
# worktree during the hours it runs cannot touch the running processes.
#
#   scripts/speedrun/levers-ablation.sh [ARM...]      # default: every lever arm, base and stack first
#   scripts/speedrun/levers-ablation.sh split2-base split2-erase   # the split study (seed 1 only)
#   scripts/speedrun/levers-ablation.sh --table       # tabulate what has finished
#
# Logs: logs/speedrun/levers-ARM-sSEED.log; run folders (result.json): runs/levers/ARM-sSEED/. A run whose
# folder holds result.json is skipped; an interrupted one resumes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

declare -A ARMS=(
  [base]=""
  [stack]="--prune 0.5 --muon-lr 0.24 --bn-bias-lr-mult 64 --whiten-bias-epochs 3 --lookahead 5"
  [prune]="--prune 0.5"
  [muon]="--muon-lr 0.24"
  [groups]="--bn-bias-lr-mult 64 --whiten-bias-epochs 3"
  [lookahead]="--lookahead 5"
  # pruning's saved images spent on epochs: 12 pruned epochs trained 0.76x the images of 12 full ones, 18 trained 1.16x
  [prune18]="--prune 0.5 --epochs 18"
  # The split study (part 1): two recipes that split seed 1 ranks, retrained on split seed 2 and scored on
  # the test set too, to compare each split's validation-test gap (measurement only, nothing is chosen by it).
  [split2-base]=""
  [split2-erase]="--erase-probability 0.25 --erase-max-area 0.2"
)
ORDER=(base stack prune muon groups lookahead prune18)
SPLIT_ARMS=(split2-base split2-erase)

if [ "${1:-}" = --table ]; then
  python3 - <<'PY'
import json, glob, os, statistics
rows = {}
for f in sorted(glob.glob("runs/levers/*-s*/result.json")):
    name = os.path.basename(os.path.dirname(f)); arm, seed = name.rsplit("-s", 1)
    r = json.load(open(f))
    h = r["history"]
    rows.setdefault(arm, []).append((int(seed), r["val_accuracy"], h[-1]["val_accuracy"], r["seconds"] / 60))
    if arm.startswith("split") and r.get("test_images", 0) > 1:
        print(f"{name}: validation {r['val_accuracy']*100:.2f}% test {r['test_accuracy']*100:.2f}% "
              f"gap {(r['val_accuracy']-r['test_accuracy'])*100:.2f}")
print(f"{'arm':<10} {'seeds':<6} {'best val % (each)':<22} {'last-epoch val % (each)':<24} {'mean best':>9} {'minutes':>14}")
for arm, rs in rows.items():
    rs.sort()
    print(f"{arm:<10} {','.join(str(s) for s,*_ in rs):<6} {' '.join(f'{b*100:.2f}' for _,b,_,_ in rs):<22} "
          f"{' '.join(f'{l*100:.2f}' for _,_,l,_ in rs):<24} {statistics.mean(b for _,b,_,_ in rs)*100:>9.2f} "
          f"{' '.join(f'{m:.1f}' for *_,m in rs):>14}")
PY
  exit 0
fi

arms=("$@"); [ ${#arms[@]} -gt 0 ] || arms=("${ORDER[@]}")

# A frozen copy of the Release build (./fmnist builds it when stale).
./fmnist version >/dev/null
bin="$root/runs/levers/bin"
mkdir -p runs/levers logs/speedrun
rm -rf "$bin" && cp -r src/Fmnist.Cli/bin/Release/net10.0/linux-x64 "$bin"
tcmalloc="$(scripts/find-tcmalloc.sh || true)"

# The fast preset as a settings file per seed, split_seed 1 for both (the preset's own split for seed 1), and
# one with split_seed 2 for the split study.
for pair in 1:1 2:1 1:2; do
  python3 - "${pair%%:*}" "${pair##*:}" <<'PY'
import json, sys
seed, split = int(sys.argv[1]), int(sys.argv[2])
name = f"fast-s{seed}" if split == 1 else f"fast-split{split}-s{seed}"
json.dump({"preset": "fast", "model": {"arch": "speed", "widths": [64, 128, 256], "depth": 2, "whiten_patch": 3,
           "logit_scale": 1 / 9},
           "augmentation": {"shear": 0, "zoom": 0, "shift": 0, "flip_probability": 0.5, "alternate_flip": True, "crop_padding": 2},
           "augment": "crop", "batch_size": 256, "epochs": 12, "learning_rate": 1, "schedule": "one_cycle",
           "optimizer": "sgd", "momentum": 0.85, "weight_decay": 0.0005, "precision": "auto", "label_smoothing": 0.2,
           "validation_fraction": 0.2, "seed": seed, "split_seed": split}, open(f"runs/levers/{name}.json", "w"), indent=1)
PY
done

queue=()
for seed in 1 2; do for arm in "${arms[@]}"; do
  case "$arm" in split*) [ "$seed" = 1 ] && queue+=("$arm:$seed");; *) queue+=("$arm:$seed");; esac
done; done
# base and stack first, both seeds, when they are in the list
ordered=(); for q in "${queue[@]}"; do case "$q" in base:*|stack:*) ordered+=("$q");; esac; done
for q in "${queue[@]}"; do case "$q" in base:*|stack:*) ;; *) ordered+=("$q");; esac; done

run_one() {
  local arm="${1%%:*}" seed="${1##*:}"
  local out="runs/levers/$arm-s$seed" log="logs/speedrun/levers-$arm-s$seed.log"
  if [ -f "$out/result.json" ]; then echo "skip $arm-s$seed (done)"; return; fi
  local resume=(); [ -f "$out/checkpoint.json" ] && resume=(--resume)
  local config="runs/levers/fast-s$seed.json" test=(--test-limit 1)
  case "$arm" in split2-*) config="runs/levers/fast-split2-s$seed.json"; test=();; esac
  echo "$(date -u +%FT%TZ) start $arm-s$seed: ${ARMS[$arm]}" | tee -a "$log"
  # shellcheck disable=SC2086
  LD_PRELOAD="${tcmalloc}" dotnet "$bin/fmnist.dll" train --config "$config" ${ARMS[$arm]} \
    --threads 1 "${test[@]}" --out "$out" "${resume[@]}" >>"$log" 2>&1 || echo "$(date -u +%FT%TZ) FAILED $arm-s$seed" | tee -a "$log"
  echo "$(date -u +%FT%TZ) end $arm-s$seed" | tee -a "$log"
}

# Two workers draining one queue: the odd and even entries.
worker() { local i; for ((i = $1; i < ${#ordered[@]}; i += 2)); do run_one "${ordered[$i]}"; done; }
worker 0 & worker 1 & wait
