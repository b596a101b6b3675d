"""Show what a model invented: its SR image beside the invented-detail and contradiction maps.

    python examples/detail_maps.py                                  # held-out synthetic skin, edge_sisr x4
    python examples/detail_maps.py --hr data/shipped/heldout/photos/chelsea.png --model unet

The HR image is degraded (MATLAB bicubic, 1/s) to the LR the model sees. One figure, two rows:
LR (nearest) | bicubic | model SR | HR, then: what the model painted (|SR - bicubic|, high-pass:
the texture it added) | its invented map | its contradiction map | the HR's own invented map (the
detail the camera lost, which no model can know). All maps in 8-bit grey levels, local RMS.
"""

from pathlib import Path

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

from skinsr_tf.catalog import TRAINABLE_MODELS

FLAGS = flags.FLAGS
flags.DEFINE_string("hr", None, "HR image (default: held-out synthetic skin image, seed 100003)")
flags.DEFINE_enum("model", "edge_sisr", TRAINABLE_MODELS, "model with shipped weights")
flags.DEFINE_integer("scale", 4, "upscaling factor")
flags.DEFINE_string("output", "outputs/detail_maps.png", "the figure (PNG)")
flags.DEFINE_integer("dpi", 80, "figure resolution (dots per inch of a 12.5 x 6.6 inch figure)")


def main(argv):
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from skinsr_tf.consistency import MAP_SCALES, local_rms, detail_maps
    from skinsr_tf.data import generate_skin_image, imresize, mod_crop, read_image
    from skinsr_tf.data.synthetic import HELDOUT_SEED
    from skinsr_tf.data.io import atomic_write
    from skinsr_tf.models import registry

    s = FLAGS.scale
    hr = read_image(FLAGS.hr) if FLAGS.hr else generate_skin_image(256, 256, seed=HELDOUT_SEED + 3)
    hr = mod_crop(hr, s)
    lr = imresize(hr, 1 / s)
    bicubic = imresize(lr, s)
    sr = registry.get_model_class(FLAGS.model).from_pretrained(scale=s).super_resolve(lr)
    maps = detail_maps(sr, lr, s)
    diff = np.sqrt(np.mean((sr.astype(np.float32) - bicubic) ** 2, axis=2))
    painted = local_rms(diff, 2 * s)  # where SR departs from bicubic (includes sharpened edges)
    vmax = MAP_SCALES["invented"]
    rows = [[(f"LR x{s} (nearest)", np.repeat(np.repeat(lr, s, 0), s, 1)), ("bicubic", bicubic),
             (f"{FLAGS.model} x{s}", sr), ("HR", hr)],
            [("painted: |SR - bicubic|", painted), (f"{FLAGS.model}: invented (mean "
                                                    f"{maps['invented'].mean():.2f})", maps["invented"]),
             (f"{FLAGS.model}: contradiction (mean {maps['contradiction'].mean():.2f})", maps["contradiction"]),
             ("HR: invented (the lost detail)", detail_maps(hr, lr, s)["invented"])]]
    fig, axes = plt.subplots(2, 4, figsize=(12.5, 6.6), layout="constrained")
    for r, row in enumerate(rows):
        for ax, (title, img) in zip(axes[r], row):
            shown = ax.imshow(img, interpolation="nearest",
                              **({} if r == 0 else {"cmap": "inferno", "vmin": 0, "vmax": vmax}))
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.colorbar(shown, ax=axes[1].tolist(), shrink=0.85, extend="max", pad=0.01,
                 label="8-bit grey levels (local RMS)")
    out = Path(FLAGS.output)
    with atomic_write(out) as f:
        fig.savefig(f, dpi=FLAGS.dpi, format="png")
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    console.run(main)
