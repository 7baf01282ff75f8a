#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK, when it is missing and we may install it (root,
# apt-get present), as the launcher installs the dataset: Debian's headless Chromium and its driver (the
# serve page tests), PyTorch and onnx for /usr/bin/python3 (the export checks), hey and curl (the serve
# benchmark and smoke test), zsh (the completion test), slurm-wlm and munge (the one-node Slurm test), prometheus
# (the /metrics scrape test; only its binary is used, never its service). Prints to stderr only. Never fails itself: a test
# whose dependency is still missing says which one, and fails under CI=true instead of being skipped.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need chromium chromium
need chromedriver chromium-driver
need hey hey
need curl curl
need zsh zsh
need slurmctld slurm-wlm
need munged munge
need prometheus prometheus
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
  /usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing+=(python3-onnx)
else
  missing+=(python3 python3-torch python3-onnx)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test.sh: installing the Debian packages the tests need: ${missing[*]}..." >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } >/dev/null 2>&1 \
    || echo "test.sh: apt-get could not install ${missing[*]}; the tests that need them will say so" >&2
else
  echo "test.sh: missing ${missing[*]} (install them as root: apt-get install ${missing[*]}); the tests that need them will say so" >&2
fi
exit 0
