#!/usr/bin/env bash
# Makes the OOD benchmark and the garments-as-product-photos set (see scripts/ood/README.md):
#   scripts/ood/make-benchmark.sh --out DIR --split dev|test [--per-set N] [--garments-per-class M]
# With no arguments: both splits into /work/ood-bench. First installs, when missing and we may (root,
# apt-get present), the Debian packages the generator reads: Python libraries for /usr/bin/python3,
# fonts, MATE's nature photos and the Fashion-MNIST data. Prints to stderr only while installing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
missing=()
if [ -x "$py" ]; then
  for m in numpy:python3-numpy PIL:python3-pil scipy:python3-scipy sklearn:python3-sklearn skimage:python3-skimage; do
    "$py" -c "import ${m%%:*}" >/dev/null 2>&1 || missing+=("${m#*:}")
  done
else
  missing+=(python3 python3-numpy python3-pil python3-scipy python3-sklearn python3-skimage)
fi
need_path() { [ -e "$1" ] || missing+=("$2"); }
need_path /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core
need_path /usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf fonts-dejavu-extra
need_path /usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf fonts-liberation2
need_path /usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf fonts-liberation
need_path /usr/share/fonts/truetype/lato/Lato-Regular.ttf fonts-lato
need_path /usr/share/fonts/truetype/freefont/FreeSans.ttf fonts-freefont-ttf
need_path /usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf fonts-urw-base35
need_path /usr/share/backgrounds/mate/nature/Garden.jpg mate-backgrounds
need_path /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz dataset-fashion-mnist
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make-benchmark: installing the Debian packages it needs: ${missing[*]}..." >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } >/dev/null 2>&1 \
      || { echo "make-benchmark: apt-get could not install ${missing[*]}" >&2; exit 1; }
  else
    echo "make-benchmark: missing ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
if [ $# -eq 0 ]; then
  for split in dev test; do
    "$py" "$here/make-benchmark.py" --out /work/ood-bench --split "$split"
  done
else
  exec "$py" "$here/make-benchmark.py" "$@"
fi
