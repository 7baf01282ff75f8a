#!/usr/bin/env bash
# Runs the whole test suite: tests/Fmnist.UnitTests (fast: logic on small inputs), then tests/Fmnist.Tests
# (integration: trainings on real data slices, the CLI, servers and their clients). Installs the dataset and the
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
code=0
set +e
# The fast unit project first (seconds: a broken core shows at once), then the integration project.
for project in Fmnist.UnitTests Fmnist.Tests; do
  dotnet test "$root/tests/$project/$project.csproj" -c Debug --nologo "${filter[@]}" "$@" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || code=$status
done
set -e
# One plain summary line over both projects, whatever the runner printed.
passed=0; failed=0
while read -r f p; do failed=$((failed + f)); passed=$((passed + p)); done < <(
  grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+' "$log" | sed -E 's/Failed: +([0-9]+), Passed: +([0-9]+)/\1 \2/')
echo "$passed passed, $failed failed"
rm -f "$log"
exit "$code"
