"""Figure: LR edges | predicted HR edges | HR edges, for the edge-informed model's edge generator.

    python examples/edge_figure.py                       # chelsea (held out), x4 and x8
    python examples/edge_figure.py --image=lesion.png --scale=4 --model=runs/edge

Per scale, one row: Canny (sigma 2) of the LR, nearest-enlarged; Canny of the bicubic-enlarged
LR (the baseline); the edge generator's HR edge probability map (`EdgeInformedSR.predict_edges`);
Canny of the HR image. Titles give precision / recall / F1 against the HR edges. The image is
mod-cropped and downscaled with MATLAB bicubic, as in the evaluation.
"""

from pathlib import Path

import numpy as np
from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "HR image (default: scikit-image's chelsea, held out from training).")
flags.DEFINE_list("scale", ["4", "8"], "Scales (one row each).")
flags.DEFINE_string("model", None, "Run folder / .keras file of an EdgeInformedSR (default: shipped weights).")
flags.DEFINE_integer("crop", 256, "Central crop of the HR image (px; 0: whole image).")
flags.DEFINE_string("out", "outputs/edges/edge_figure.png", "Output PNG.")


def _source(model):
    """Where the model's HR edges come from, for the panel title."""
    from skinsr_tf.models.edge_informed import EDGE_PRIOR

    if model.stage == "sr":
        return "Canny of nearest LR"
    return f"prior, sigma {model.prior_sigma:g}" if model.edge_source == EDGE_PRIOR else "edge generator"


def _hr():
    from skinsr_tf.data.io import read_image

    if FLAGS.image:
        hr = read_image(FLAGS.image)
    else:
        import skimage.data

        hr = skimage.data.chelsea()
    if FLAGS.crop:
        h, w = hr.shape[:2]
        c = min(FLAGS.crop, h, w)
        hr = hr[(h - c) // 2:(h - c) // 2 + c, (w - c) // 2:(w - c) // 2 + c]
    return hr


def main(argv):
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skinsr_tf import EdgeInformedSR, load_model, metrics
    from skinsr_tf.data.edges import canny
    from skinsr_tf.data.io import atomic_write
    from skinsr_tf.data.resize import imresize, mod_crop

    scales = [int(s) for s in FLAGS.scale]
    fig, axes = plt.subplots(len(scales), 4, figsize=(13, 3.4 * len(scales) + 0.4), squeeze=False)
    for row, s in zip(axes, scales):
        hr = mod_crop(_hr(), s)
        lr = imresize(hr, 1 / s)
        model = load_model(FLAGS.model) if FLAGS.model else EdgeInformedSR.from_pretrained(scale=s)
        hr_edges = canny(hr, 2.0)
        panels = [
            (f"LR edges x{s} (Canny of LR, nearest)", np.kron(canny(lr, 2.0), np.ones((s, s))), False),
            ("baseline: Canny of bicubic LR", canny(imresize(lr, s), 2.0), True),
            (f"predicted HR edges ({_source(model)})", model.predict_edges(lr), True),
            ("HR edges (Canny of HR)", hr_edges, False),
        ]
        for ax, (title, edges, scored) in zip(row, panels):
            ax.imshow(edges, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            if scored:
                p, r, f1 = metrics.edge_scores(edges, hr_edges)
                title += f"\nP {p:.2f} / R {r:.2f} / F1 {f1:.2f}"
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    out = Path(FLAGS.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        fig.savefig(f, dpi=100, format="png")
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    console.run(main)
