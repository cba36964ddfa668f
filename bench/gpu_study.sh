#!/usr/bin/env bash
# The recipe study of issue 24 on a lent GPU machine: both backbones, every recipe, 3 seeds, scored on imagenette4-test.
# Accuracy only: the runs share the machine (many at once), so their walls are not a quiet sitting; the fp32 walls of
# the seed script and --fast come from a quiet CPU sitting (bench/README.md).
#
#   bash bench/gpu_study.sh DIR OUT [SECONDS]
# DIR holds whl/ (fastai and its pure-Python needs, as wheels), stub/ (an empty fasthtml: fastprogress imports it for
# notebook output only), data/imagenette4{,-test}, weights/*.xz (bench/pack_weights.py) and the Lite0 sidecar .json.
# Results (light files only: no checkpoints) go to OUT/study.tgz, also when the deadline (default 480 s) stops it.
set -u
G=$1; OUT=$2; DEADLINE=${3:-480}; T0=$(date +%s); DEV=${DEV:-cuda}  # DEV=cpu SMOKE_ONLY=1: try the set-up here
[ "$DEV" = cpu ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $G/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD:$PWD/$G/stub PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 MPLBACKEND=Agg
W=/tmp/w; mkdir -p $W
python3 bench/pack_weights.py unpack $G/weights/resnet18.xz $W/resnet18-fixture.pth || exit 1
python3 bench/pack_weights.py unpack $G/weights/lite0.xz $W/efficientnet_lite0-imagenet.pth || exit 1
cp $G/weights/efficientnet_lite0-imagenet.json $W/
D=$G/data/imagenette4; TEST=$G/data/imagenette4-test; R=/tmp/res; mkdir -p $R/logs
nvidia-smi 2>/dev/null --query-gpu=name,memory.total --format=csv,noheader; python3 -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, torch.cuda.get_device_name())"
TP="python3 -c 'from twophase.cli import main; main()'"
bb() { [ $1 = lite0 ] && echo "--arch efficientnet_lite0 --weights $W/efficientnet_lite0-imagenet.pth" || echo "--weights $W/resnet18-fixture.pth"; }
pids=""
pack() { (cd $R && tar czf $OUT/study.tgz --exclude='*.pth' --exclude='*.pkl' --exclude='*.onnx' .); }
if [ -z "${BN_GRID:-}" ]; then
# smoke: one tiny run of each kind at once, so that a broken set-up costs seconds, not the lease
for b in standin lite0; do
  eval $TP compare $D --recipes fast,two_phase --seeds 1 --epochs1 1 --epochs2 1 --size 64 --test $TEST $(bb $b) \
    --num-workers 0 --threads 2 --out /tmp/smoke-$b > $R/logs/smoke-$b.log 2>&1 & pids="$pids $!"
done
(cd bench && python3 seed_recipe.py ../$D $W/efficientnet_lite0-imagenet.pth --arch efficientnet_lite0 --epochs1 1 --epochs2 1 \
  --size 64 --device $DEV --workers 2 --seed 1 --test ../$TEST) > $R/logs/smoke-seed.log 2>&1 & pids="$pids $!"
for p in $pids; do wait $p || { tail -n 30 $R/logs/smoke-*.log; pack; exit 1; }; done
echo "smoke passed after $(( $(date +%s) - T0 )) s"; [ -n "${SMOKE_ONLY:-}" ] && { pack; exit 0; }
fi
job() {  # kind backbone recipe-or-seed
  mkdir -p $R/study-$2
  if [ $1 = compare ]; then
    eval $TP compare $D --recipes $3 ${4:+--recipe \"$3=$4\"} --seeds 3 --test $TEST --size 224 $(bb $2) --num-workers 0 --threads 2 --out $R/study-$2/$3
  else
    w=$W/resnet18-fixture.pth a=""; [ $2 = lite0 ] && w=$W/efficientnet_lite0-imagenet.pth a="--arch efficientnet_lite0"
    (cd bench && python3 seed_recipe.py ../$D $w $a --size 224 --epochs1 10 --epochs2 30 --seed $3 \
      --device $DEV --workers 2 --test ../$TEST > $R/study-$2/seed_recipe-seed$3.jsonl)
  fi > $R/logs/$1-$2-$3.log 2>&1; echo "$(( $(date +%s) - T0 )) s: $1 $2 $3 rc=$?"
}
pids=""
if [ -n "${BN_GRID:-}" ]; then  # BN_GRID=1: the BatchNorm choice, re-decided on both backbones
  for b in standin lite0; do
    job compare $b two_phase_bnfrozen "--bn frozen" & pids="$pids $!"
    job compare $b two_phase_bnadapt "--bn adapt" & pids="$pids $!"
    job compare $b fast_bnfrozen "--preset fast --bn frozen" & pids="$pids $!"
  done
else for b in standin lite0; do
  for r in full_unfreeze scratch fine_tune lpft two_phase fast head_only; do job compare $b $r & pids="$pids $!"; done
  for k in 1 2 3; do job seed $b $k & pids="$pids $!"; done
done; fi
left=$(( DEADLINE - ($(date +%s) - T0) ))
( sleep $left; echo "deadline: stopping what is left"; pkill -f seed_recipe.py; pkill -f 'twophase.cli' ) & killer=$!
wait $pids
kill $killer 2>/dev/null
echo "all done after $(( $(date +%s) - T0 )) s"; pack; ls -la $OUT
