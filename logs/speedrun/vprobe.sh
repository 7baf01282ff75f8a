#!/usr/bin/env bash
# usage: vprobe.sh NAME args...   full training set with the 20% validation split
name=$1; shift
out=runs/val/$name
rm -rf $out
./fmnist train --arch speed --augment crop --crop-padding 2 --alternate-flip true --optimizer sgd --lr 1 --momentum 0.85 --weight-decay 5e-4 --schedule onecycle --label-smoothing 0.2 --batch-size 256 --json --out $out "$@" > $out.json 2> $out.err
python3 -c "
import json,sys
d=json.load(open('$out.json'))
print('$name', 'val', d.get('val_accuracy'), 'best_epoch', d.get('best_epoch'), 'secs', round(d.get('seconds',0),1), 'img/s', d.get('images_per_second'), ' '.join(sys.argv[1:]))
" "$@" 2>/dev/null || (echo "$name FAILED"; tail -3 $out.err)
