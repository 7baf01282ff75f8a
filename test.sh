#!/usr/bin/env bash
# Runs the whole test suite (unit, integration on real data slices, CLI). Installs the dataset and the
# programs some tests drive (Chromium, Debian's PyTorch and onnx, ...) first when they are missing and
# it runs as root on Debian (scripts/ensure-data.sh, scripts/ensure-test-deps.sh); under CI=true a test
# whose dependency is still missing fails instead of being skipped. `--fast` first skips the tests marked
# [Trait("Category", "Slow")] (trainings, full-data searches). Other arguments go to `dotnet test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
filter=()
if [ "${1:-}" = "--fast" ]; then
  shift
  filter=(--filter "Category!=Slow")
fi
"$root/scripts/ensure-data.sh"
"$root/scripts/ensure-test-deps.sh"
log="$(mktemp)"
set +e
dotnet test "$root/tests/Fmnist.Tests/Fmnist.Tests.csproj" -c Debug --nologo "${filter[@]}" "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
set -e
# One plain summary line, whatever the runner printed.
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+' "$log" | tail -1)
if [ -n "$summary" ]; then
  failed=$(echo "$summary" | grep -Eo 'Failed: +[0-9]+' | grep -Eo '[0-9]+')
  passed=$(echo "$summary" | grep -Eo 'Passed: +[0-9]+' | grep -Eo '[0-9]+')
  echo "$passed passed, $failed failed"
fi
rm -f "$log"
exit "$code"
