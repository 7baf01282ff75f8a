#!/usr/bin/env bash
# The sampled search with successive halving (configs/search.json: 16 trials, rungs 1 and 3, eta 3)
# against the seed's 8-row grid (configs/seed-grid.json), on the same budget, started at the same time
# so that both see the same machine load; then a comparison of the two (docs/scale.md, "Benchmark").
#   scripts/bench-search.sh [--train-limit N] [--epochs E] [--out DIR]   (defaults: 4000, 10, runs/bench)
#   scripts/bench-search.sh --summary DIR                                 the comparison of finished runs
# Each side is one `fmnist sweep` process under /usr/bin/time -v (DIR/grid.log, DIR/search.log).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
limit=4000 epochs=10 out="$root/runs/bench" summary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --train-limit) limit="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --summary) summary="$2"; shift 2 ;;
    *) echo "bench-search.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

summarize() {
  /usr/bin/python3 - "$1" <<'EOF'
import json, re, sys, os
d = sys.argv[1]
rows = []
for side, label in (("grid", "seed's 8-row grid"), ("search", "16 sampled trials, successive halving")):
    s = json.load(open(os.path.join(d, side, "sweep.json")))
    log = open(os.path.join(d, side + ".log")).read()
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", log))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)", log).group(1)
    trials = s["trials"]
    best = next(t for t in trials if t["name"] == s["best"])
    epochs = sum(t["epochs"] for t in trials)
    plan = json.load(open(os.path.join(d, side, "search.json")))["trials"]
    images = 0
    for t, p in zip(trials, plan):
        c = p["config"]
        n = round((c.get("train_limit") or 60000) * (1 - c["validation_fraction"]))
        images += t["epochs"] * n * (2 if c["augment"] == "offline" else 1)
    rows.append((label, len(trials), epochs, images, sum(t["seconds"] for t in trials) / 60, cpu / 60, wall,
                 best["val_accuracy"] * 100, best["test_accuracy"] * 100, best["name"]))
print("| | trials | trial-epochs | training images | trials' minutes | CPU minutes | wall | best validation | its test | best trial |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:,} | {r[4]:.1f} | {r[5]:.1f} | {r[6]} | {r[7]:.2f}% | {r[8]:.2f}% | {r[9]} |")
g, s = rows
print(f"\nsearch / grid: trial-epochs {s[2] / g[2]:.2f}, training images {s[3] / g[3]:.2f}, trials' minutes {s[4] / g[4]:.2f}, CPU {s[5] / g[5]:.2f}; "
      f"best validation {s[7] - g[7]:+.2f} points")
EOF
}

if [ -n "$summary" ]; then summarize "$summary"; exit 0; fi
mkdir -p "$out"
nice -n 19 "$root/fmnist" --help >/dev/null # build once, before the two start
run() {
  echo "start $(date -Is) load $(cat /proc/loadavg); $(git -C "$root" rev-parse --short HEAD)"
  /usr/bin/time -v nice -n 19 "$root/fmnist" sweep --grid "$root/configs/$2.json" --train-limit "$limit" --epochs "$epochs" --out "$out/$1"
  echo "end $(date -Is) load $(cat /proc/loadavg)"
}
run grid seed-grid > "$out/grid.log" 2>&1 &
grid=$!
run search search > "$out/search.log" 2>&1 &
search=$!
wait "$grid" "$search"
summarize "$out"
