"""Evaluate SR methods (the report's Table 1 and figure panels); see skinsr_tf/evaluation.py.

    python benchmarks/eval.py          # bicubic and the shipped models on the held-out synthetic skin set, x4 and x8
    python benchmarks/eval.py --hr_dir HR/ --scale 4 --methods bicubic,edge_sisr,unet=runs/unet
    python benchmarks/eval.py --methods edge_sisr,edge_sisr+consistent,edge_sisr+ensemble   # consistency / self-ensemble

Every table has LR-PSNR (the SR downscaled against its LR) and the mean invented detail
(skinsr_tf/consistency.py) beside the report's metrics.
"""

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose

from skinsr_tf import evaluation

if __name__ == "__main__":
    evaluation.define_flags()
    console.run(evaluation.main)
