#!/usr/bin/env bash
# Makes the valid-but-odd image files of tests/Fmnist.Tests/Images (the hostile-image fuzz test's seeds for
# what SkiaSharp cannot encode itself: CMYK, progressive, arithmetic-coded and restart-marker JPEG, Adam7
# interlaced PNG). Needs ImageMagick 6 (apt-get install imagemagick); run it only to remake them.
set -euo pipefail
out="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/Fmnist.Tests/Images"
convert=/usr/bin/convert
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A dark shirt with a red label on white, 64x48: small files, and a shape whose orientation shows.
"$convert" -size 64x48 xc:white -fill '#303070' -draw "polygon 20,6 44,6 52,18 46,20 46,42 18,42 18,20 12,18" \
  -fill '#a04040' -draw "rectangle 28,10 36,14" -depth 8 "PNG24:$tmp/base.png"
"$convert" "$tmp/base.png" -colorspace CMYK -quality 90 "$out/cmyk.jpg"
"$convert" "$tmp/base.png" -interlace JPEG -quality 85 "$out/progressive.jpg"
"$convert" "$tmp/base.png" -colorspace CMYK -interlace JPEG "$out/progressive-cmyk.jpg"
"$convert" "$tmp/base.png" -colorspace Gray -quality 90 "$out/gray.jpg"
"$convert" "$tmp/base.png" -sampling-factor 4:4:4 -define jpeg:restart-interval=1 -quality 95 "$out/restart-444.jpg"
"$convert" "$tmp/base.png" -define jpeg:arithmetic-coding=true "$out/arithmetic.jpg"
"$convert" "$tmp/base.png" -interlace PNG -depth 8 "PNG24:$out/interlaced.png"
"$convert" "$tmp/base.png" -interlace PNG -depth 16 "PNG48:$out/interlaced-16bit.png"
ls -l "$out"
