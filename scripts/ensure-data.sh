#!/usr/bin/env bash
# Installs the Fashion-MNIST Debian package when no copy of the data is found and we may install it
# (root, apt-get present). Prints to stderr only. Never fails: the CLI then tries a download and, if
# that fails too, explains every way to provide the data.
has_data() { [ -f "$1/train-images-idx3-ubyte.gz" ] || [ -f "$1/train-images-idx3-ubyte" ]; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/fmnist/fashion-mnist"
if has_data "${FASHION_MNIST_DIR:-/nonexistent}" || has_data "$cache" || has_data /usr/share/datasets/fashion-mnist; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "fmnist: no Fashion-MNIST copy found; installing the Debian package dataset-fashion-mnist..." >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq dataset-fashion-mnist || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }; } >&2 \
    || echo "fmnist: apt-get could not install dataset-fashion-mnist" >&2
fi
exit 0
