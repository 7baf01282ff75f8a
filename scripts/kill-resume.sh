#!/usr/bin/env bash
# Kill benchmark for exact resume: runs `train`, `sweep` and `reproduce --quick` once uninterrupted (the twin),
# then again while SIGKILLing them at random moments and rerunning (train with --resume), until each has taken
# its share of kills and finished; the finished result must equal the twin's (history values, weights to the
# byte, test accuracy, the sweep's table, the report apart from its timings).
#
#   scripts/kill-resume.sh [--kills-train 8] [--kills-sweep 7] [--kills-reproduce 6] [--seed 1] [--work DIR]
#
# Run it on a quiet machine, niced: `nohup nice -n 19 scripts/kill-resume.sh > kill.log 2>&1 &`. Each kill
# is logged with the moment it struck and how far the run was; the last line sums the kills and mismatches.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
declare -A quota=([train]=8 [sweep]=7 [reproduce]=6)
seed=1
work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kills-train) quota[train]=$2; shift 2 ;;
    --kills-sweep) quota[sweep]=$2; shift 2 ;;
    --kills-reproduce) quota[reproduce]=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
RANDOM=$seed
work="${work:-$(mktemp -d /tmp/fmnist-kill-XXXXXX)}"
mkdir -p "$work"
"$root/fmnist" --help > /dev/null # builds when the sources changed
fmnist="$root/fmnist"             # the launcher execs dotnet: its pid is the one to kill

# A CNN+LSTM trial (dropout, Adam, cosine, offline augmentation) and a ResNet one (SGD, onecycle, crop and
# erasing every epoch, a weight average): between them every piece of state a checkpoint must carry.
cat > "$work/grid.json" <<'EOF'
{
  "base": { "train_limit": 3000, "epochs": 2 },
  "trials": [
    { "lstm": 64, "dense": 64 },
    { "arch": "resnet", "width": 8, "blocks": [1, 1, 1], "optimizer": "sgd", "learning_rate": 0.05, "schedule": "one_cycle",
      "augment": "crop", "erase_probability": 0.5, "ema": 0.99, "batch_size": 128 }
  ]
}
EOF

args_for() { # command, out dir
  case "$1" in
    train) echo "train --train-limit 3000 --epochs 3 --test-limit 2000 --out $2" ;;
    sweep) echo "sweep --grid $work/grid.json --test-limit 2000 --out $2" ;;
    reproduce) echo "reproduce --quick --out $2" ;;
  esac
}
rerun_extra() { [ "$1" = train ] && echo "--resume" || true; }

# What a finished run is, without what differs between any two runs (wall-clock time, speed, memory, paths).
normalize() { # command, out dir
  python3 - "$1" "$2" <<'EOF'
import hashlib, json, os, re, sys
cmd, d = sys.argv[1], sys.argv[2]
timing = {"seconds", "images_per_second", "rss_mb", "skipped", "model_dir", "directory", "best_model", "best_model_dir", "peak_rss_mb"}
def clean(x):
    if isinstance(x, dict): return {k: clean(v) for k, v in x.items() if k not in timing}
    if isinstance(x, list): return [clean(v) for v in x]
    return x
def run(folder):
    out = {"history": clean(json.load(open(os.path.join(folder, "history.json")))),
           "result": {k: json.load(open(os.path.join(folder, "result.json")))[k] for k in ("best_epoch", "val_accuracy", "test_accuracy")}}
    for f in ("model.pt", "checkpoint.pt", "optimizer.pt", "ema.pt"):
        p = os.path.join(folder, f)
        if os.path.exists(p): out[f] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out
if cmd == "train": print(json.dumps(run(d), sort_keys=True))
elif cmd == "sweep":
    trials = {t: run(os.path.join(d, "trials", t)) for t in sorted(os.listdir(os.path.join(d, "trials")))}
    print(json.dumps({"trials": trials, "sweep": clean(json.load(open(os.path.join(d, "sweep.json")))),
                      "best": hashlib.sha256(open(os.path.join(d, "best_model", "model.pt"), "rb").read()).hexdigest()}, sort_keys=True))
else:
    report = open(os.path.join(d, "report.md")).read().replace(os.path.abspath(d), "<out>")  # the commands name the folder
    report = re.sub(r"^Run on .*$", "", report, flags=re.M)                      # date and machine
    report = re.sub(r"\d+(\.\d+)? ?(ms|s|min)\b", "<time>", report)             # wall times
    report = re.sub(r"\| [0-9.]+ \|$", "| <minutes> |", report, flags=re.M)     # the Minutes column
    print(json.dumps({"report": report, "cnn": run(os.path.join(d, "cnn-seed"))}, sort_keys=True))
EOF
}

# How far a killed run had come: the last committed epoch of each run folder under it, and a pending commit.
progress_of() {
  local d=$1 s=""
  while IFS= read -r f; do
    s+="$(basename "$(dirname "$f")"):epoch $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' "$f") "
  done < <(find "$d" -name checkpoint.json -not -path '*/.pending/*' 2>/dev/null | sort)
  [ -n "$(find "$d" -name .pending 2>/dev/null)" ] && s+="(.pending present) "
  [ -f "$d/report.md" ] && s+="report.md written "
  echo "${s:-nothing saved yet}"
}

total_kills=0
mismatches=0
lscpu | sed -n 's/^Model name: *//p' | head -1
uptime
for cmd in train sweep reproduce; do
  twin="$work/$cmd-twin"
  if [ -s "$work/$cmd-twin.json" ] && [ -s "$work/$cmd-twin.seconds" ]; then
    T=$(cat "$work/$cmd-twin.seconds") # a twin from an earlier run in this work folder
    echo "$cmd: uninterrupted twin from before, $(printf %.1f "$T") s"
  else
    rm -rf "$twin"
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    "$fmnist" $(args_for $cmd "$twin") > "$work/$cmd-twin.log" 2>&1
    T=$(python3 -c "import time; print(time.time() - $start)")
    echo "$cmd: uninterrupted twin took $(printf %.1f "$T") s"
    normalize $cmd "$twin" > "$work/$cmd-twin.json"
    echo "$T" > "$work/$cmd-twin.seconds"
  fi

  kills=0 round=0
  while [ $kills -lt "${quota[$cmd]}" ]; do
    round=$((round + 1))
    dir="$work/$cmd-killed-$round"
    rm -rf "$dir"
    attempt=0 extra=""
    while true; do
      attempt=$((attempt + 1))
      # shellcheck disable=SC2046
      "$fmnist" $(args_for $cmd "$dir") $extra >> "$work/$cmd-killed-$round.log" 2>&1 &
      pid=$!
      extra=$(rerun_extra $cmd)
      if [ $kills -ge "${quota[$cmd]}" ] || [ $attempt -gt 6 ]; then
        wait $pid || { echo "  $cmd round $round: exited with an error (log $work/$cmd-killed-$round.log)"; mismatches=$((mismatches + 1)); }
        break
      fi
      # A moment in the first 60% of an uninterrupted run's length: each restart continues from the last
      # checkpoint, so over the restarts the kills land anywhere (start-up, data, epochs, commits, test, report).
      delay=$(python3 -c "import random; random.seed($RANDOM * 32768 + $RANDOM); print(round(random.uniform(0.2, 0.6 * $T), 2))")
      python3 -c "import time; time.sleep($delay)"
      if kill -0 $pid 2>/dev/null; then
        kill -9 $pid
        wait $pid 2>/dev/null || true
        kills=$((kills + 1))
        echo "  $cmd round $round: killed at $delay s ($(progress_of "$dir"))"
      else
        wait $pid || { echo "  $cmd round $round: exited with an error (log $work/$cmd-killed-$round.log)"; mismatches=$((mismatches + 1)); break; }
        break
      fi
    done
    normalize $cmd "$dir" > "$work/$cmd-killed-$round.json"
    if cmp -s "$work/$cmd-twin.json" "$work/$cmd-killed-$round.json"; then
      echo "  $cmd round $round: finished after $((attempt - 1)) restarts; identical to the twin"
    else
      echo "  $cmd round $round: DIFFERS from the twin (diff $work/$cmd-twin.json $work/$cmd-killed-$round.json)"
      mismatches=$((mismatches + 1))
    fi
  done
  total_kills=$((total_kills + kills))
done
uptime
echo "total: $total_kills kills, $mismatches results differing from their uninterrupted twin (work folder $work)"
