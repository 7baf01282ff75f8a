#!/usr/bin/env bash
# Prints the path of libtcmalloc_minimal.so.4, installing the Debian package libtcmalloc-minimal4 first when
# it is missing and we may install it (root, apt-get present). Prints nothing when it is unavailable.
# Why: libtorch allocates and frees tens of MB of activations every training step; under glibc's malloc
# that memory is either returned and page-faulted back each step (slow) or kept and fragmented (0.85-1.6 GB
# resident). tcmalloc reuses it: `./fmnist bench train` here gave 1,090-1,284 training images/s against
# 1,060-1,139 under glibc, and full training runs stayed at 615-760 MB. README "CNN+LSTM" has the runs.
find_lib() { ldconfig -p 2>/dev/null | awk '/libtcmalloc_minimal\.so\.4 /{print $NF; exit}'; }
lib="$(find_lib)"
if [ -z "$lib" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "fmnist: installing the Debian package libtcmalloc-minimal4 (memory allocator for training)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq libtcmalloc-minimal4 || { apt-get update -qq && apt-get install -y -qq libtcmalloc-minimal4; }; } >&2 \
    || echo "fmnist: apt-get could not install libtcmalloc-minimal4; using glibc's malloc" >&2
  lib="$(find_lib)"
fi
[ -n "$lib" ] && echo "$lib"
exit 0
