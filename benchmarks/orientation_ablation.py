"""Orientation-coherence ablation: score runs trained with and without `orientation_weight` on
held-out skin images (LR = MATLAB bicubic, rounded to uint8, as in benchmarks/eval.py).

    python benchmarks/orientation_ablation.py --hr_dir=data/shipped/heldout/synthetic \
        --methods=bicubic,without=runs/ablation/unet_plain,with=runs/ablation/unet_orient

Per method, means over images of: orientation error (degrees, HR-coherence-weighted, pixels of HR
coherence >= 0.3; `losses.orientation.orientation_error_degrees`), the orientation-coherence loss,
LPIPS and PSNR-Y (crop_border = scale). Prints a markdown table; writes it and a JSON next to it.
"""

import json
from pathlib import Path

import numpy as np

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("hr_dir", "data/shipped/heldout/synthetic", "Held-out HR images.")
flags.DEFINE_list("methods", ["bicubic"], "bicubic, NAME (shipped weights) or LABEL=RUN_FOLDER.")
flags.DEFINE_integer("scale", 4, "Scale factor.")
flags.DEFINE_string("output", "outputs/orientation_ablation.md", "Markdown table (a .json goes beside it).")


def main(argv):
    del argv
    import tensorflow as tf

    from skinsr_tf import metrics
    from skinsr_tf.data import io
    from skinsr_tf.data.resize import imresize, mod_crop
    from skinsr_tf.evaluation import load_method
    from skinsr_tf.losses.orientation import orientation_coherence_loss, orientation_error_degrees

    s = FLAGS.scale
    paths = io.list_images(FLAGS.hr_dir)
    if not paths:
        raise app.UsageError(f"{FLAGS.hr_dir}: no images")
    hrs = [mod_crop(io.read_image(p), s) for p in paths]
    lrs = [imresize(hr, 1.0 / s) for hr in hrs]
    lpips = metrics.LPIPS().load()
    results = {}
    for spec in FLAGS.methods:
        label = spec.partition("=")[0]
        fn = load_method(spec, s)[1]
        rows = []
        for hr, lr in zip(hrs, lrs):
            sr = np.asarray(fn(lr))
            a, b = tf.constant(sr[None] / 255.0, tf.float32), tf.constant(hr[None] / 255.0, tf.float32)
            rows.append({"orientation_error_deg": float(orientation_error_degrees(a, b)),
                         "orientation_loss": float(orientation_coherence_loss(a, b)),
                         "lpips": float(lpips(sr, hr)),
                         "psnr_y": float(metrics.psnr_y(sr, hr, crop_border=s))})
        results[label] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(label, results[label], flush=True)

    lines = [f"x{s}, {len(paths)} images of {FLAGS.hr_dir}", "",
             "| Method | Orientation error (deg) ↓ | Orientation loss ↓ | LPIPS ↓ | PSNR-Y (dB) ↑ |",
             "|---|---:|---:|---:|---:|"]
    for label, m in results.items():
        lines.append(f"| {label} | {m['orientation_error_deg']:.2f} | {m['orientation_loss']:.4f} | "
                     f"{m['lpips']:.4f} | {m['psnr_y']:.2f} |")
    table = "\n".join(lines)
    print(table)
    out = Path(FLAGS.output)
    with io.atomic_write(out, "w") as f:
        f.write(table + "\n")
    with io.atomic_write(out.with_suffix(".json"), "w") as f:
        f.write(json.dumps({"hr_dir": FLAGS.hr_dir, "scale": s, "methods": FLAGS.methods,
                            "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    console.run(main)
