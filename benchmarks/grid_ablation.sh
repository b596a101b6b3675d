#!/usr/bin/env bash
# Which part of the edge-informed SR generator's training paints the period-s grid? Short joint
# runs (x4, 200 steps each, about 17 min on 2 CPU cores) that change one thing at a time, then one
# eval of their checkpoints on the held-out photographs (README, "Real-photograph training data,
# periodic artefacts and edge scores"). Usage: bash benchmarks/grid_ablation.sh [RUNS_DIR]
#
# Every run: the SR generator (bicubic input, residual) behind an untrained edge_residual edge
# generator, whose edges are then its prior, Canny (sigma 1.5) of the bicubic-enlarged LR; real
# photographs listed 8 times (data/real/train_photos_x8.json, as examples/train_shipped_weights.sh
# realistic makes it); lr 2e-4; L1 weight 5.
set -euo pipefail
runs=${1:-runs/grid_ablation}
mkdir -p "$runs"
[[ -f data/real/train_photos_x8.json ]] || {
  python examples/make_training_data.py --out_dir=data/real
  python -c 'from skinsr_tf.data.dataset import oversample_manifest as o; o("data/real/train/skinsr_manifest.json", "data/real/train_photos_x8.json", {"photos/*": 8})'
}

common='"sr_input": "bicubic", "edge_input": "bicubic", "edge_residual": true, "edge_prior_logit": 1.0, "edge_prior_sigma": 1.5, "l1_weight": 5.0'
gan='"adv_weight": 0.02, "content_weight": 0.0, "style_weight": 0.0'
full='"adv_weight": 0.02, "content_weight": 1.0, "style_weight": 50.0'
l1='"adv_weight": 0.0, "content_weight": 0.0, "style_weight": 0.0'
# name | upsample | loss terms besides L1 | loss_shift | antialias
configs=(
  "transpose_full|transpose|$full|0|false"
  "resize_full|resize|$full|0|false"
  "resize_l1|resize|$l1|0|false"
  "resize_gan|resize|$gan|0|false"
  "bilinear_l1|bilinear|$l1|0|false"
  "bilinear_gan_shift3|bilinear|$gan|3|false"
  "bilinear_full_shift3|bilinear|$full|3|false"
  "bilinear_full_shift3_antialias|bilinear|$full|3|true"
  "bilinear_full_shift3_periodic10|bilinear|$full, \"periodic_weight\": 10|3|false"
  "bilinear_full_shift3_periodic50|bilinear|$full, \"periodic_weight\": 50|3|false"
)
methods=bicubic
for config in "${configs[@]}"; do
  IFS='|' read -r name upsample terms shift antialias <<< "$config"
  kwargs="{$common, $terms, \"upsample\": \"$upsample\", \"loss_shift\": $shift, \"antialias\": $antialias}"
  prior="$runs/prior_${upsample}_$antialias.weights.h5"
  [[ -f $prior ]] || python -c "
import sys, json
from skinsr_tf import EdgeInformedSR
kw = json.loads(sys.argv[1])
EdgeInformedSR(scale=4, preset='small', stage='joint', residual=True, perceptual_weights='random', **kw).save_weights(sys.argv[2])
" "$kwargs" "$prior"
  [[ -f $runs/$name/final.weights.h5 ]] || python examples/train.py --model=edge_sisr --preset=small --scale=4 --residual \
    --edge_bce_weight=10 --crop=96 --steps_per_epoch=100 --val_batches=4 --stage=joint --lr=2e-4 --lr_schedule=constant \
    --data_dir=data/real/train_photos_x8.json --steps=200 --model_kwargs="$kwargs" --edge_weights="$prior" \
    --output_dir="$runs/$name" $([[ -d $runs/$name/checkpoints ]] && echo --resume)
  methods+=",$name=$runs/$name"
done
python benchmarks/eval.py --hr_dir=data/real/heldout/photos --center_crop=384 --scale=4 --figures=0 \
  --methods="$methods" --output_dir="$runs/eval"
