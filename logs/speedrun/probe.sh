#!/usr/bin/env bash
# usage: probe.sh NAME args...   -> one line: NAME val test secs
cd /work/main
name=$1; shift
out=runs/probe/$name
rm -rf $out
./fmnist train --arch speed --augment crop --crop-padding 2 --alternate-flip true --optimizer sgd --schedule onecycle --label-smoothing 0.2 --batch-size 256 --train-limit 12000 --epochs 4 --json --out $out "$@" > $out.json 2> $out.err
python3 -c "
import json,sys
d=json.load(open('$out.json'))
h=d.get('history') or []
print('$name', d.get('best_val_accuracy') or d.get('val_accuracy'), round(d.get('seconds',0),1), ' '.join(sys.argv[1:]))
" "$@" 2>/dev/null || (echo "$name FAILED"; tail -3 $out.err)
