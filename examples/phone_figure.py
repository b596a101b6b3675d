"""Figure: what each model makes of a phone-like LR image, next to bicubic and HR, magnified.

    python examples/phone_figure.py                        # held-out skin image 0003 if present, else chelsea
    python examples/phone_figure.py --image=lesion.png --methods=bicubic,unet,unet:realistic

Rows: the clean MATLAB-bicubic LR; the realistic LR (`degrade(..., "realistic", seed)`); the same
with one more JPEG at `--extra_jpeg` quality, as a messaging app adds (its 8x8 blocks are what a
model must not sharpen into a grid). Columns: the LR (nearest-enlarged), each method, HR. Every
panel is the central `--window` HR px, enlarged `--zoom` times by pixel replication, so
interpolation hides nothing; titles give PSNR-Y against HR.
"""

import io as _io
from pathlib import Path

import numpy as np
from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "HR image (default: data/real/heldout/synthetic/skin_0003.png, else chelsea).")
flags.DEFINE_integer("scale", 4, "Scale factor.")
flags.DEFINE_list("methods", ["bicubic", "unet", "edge_sisr", "unet:realistic", "edge_sisr:realistic"],
                  "Methods, as benchmarks/eval.py takes them.")
flags.DEFINE_integer("seed", 0, "Seed of the realistic degradation.")
flags.DEFINE_integer("extra_jpeg", 40, "Quality of the extra JPEG of the last row.")
flags.DEFINE_integer("window", 64, "HR pixels shown per panel side (central window).")
flags.DEFINE_integer("zoom", 3, "Pixel-replication factor of the panels.")
flags.DEFINE_string("out", "outputs/phone_figure.png", "Output PNG.")

DEFAULT_IMAGE = Path("data/real/heldout/synthetic/skin_0003.png")


def _hr():
    from skinsr_tf.data.io import read_image

    if FLAGS.image:
        return read_image(FLAGS.image)
    if DEFAULT_IMAGE.is_file():
        return read_image(DEFAULT_IMAGE)
    import skimage.data

    return skimage.data.chelsea()


def _jpeg(image, quality):
    from PIL import Image

    buf = _io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def main(argv):
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skinsr_tf import metrics
    from skinsr_tf.data.io import atomic_write
    from skinsr_tf.data.resize import mod_crop
    from skinsr_tf.evaluation import load_method, make_lr

    s = FLAGS.scale
    hr = mod_crop(_hr(), s)
    realistic = make_lr(hr, s, "realistic", (FLAGS.seed, 0))
    rows = {"clean LR": make_lr(hr, s), f"realistic LR (seed {FLAGS.seed})": realistic,
            f"+ JPEG q{FLAGS.extra_jpeg}": _jpeg(realistic, FLAGS.extra_jpeg)}
    methods = [(spec, load_method(spec, s)[1]) for spec in FLAGS.methods]
    h, w = hr.shape[:2]
    win = min(FLAGS.window, h, w)
    y, x = (h - win) // 2 // s * s, (w - win) // 2 // s * s

    def panel(img):
        return np.kron(img[y:y + win, x:x + win], np.ones((FLAGS.zoom, FLAGS.zoom, 1), np.uint8))

    cols = 2 + len(methods)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.3 * cols, 2.5 * len(rows)), squeeze=False)
    for ax_row, (row_name, lr) in zip(axes, rows.items()):
        panels = [(f"{row_name}\n(nearest)", np.repeat(np.repeat(lr, s, 0), s, 1))]
        for spec, fn in methods:
            sr = fn(lr)
            panels.append((f"{spec}\n{metrics.psnr_y(sr, hr, crop_border=s):.2f} dB", sr))
        panels.append(("HR", hr))
        for ax, (title, img) in zip(ax_row, panels):
            ax.imshow(panel(img), interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.suptitle(f"x{s}, central {win} px, {FLAGS.zoom}x pixel replication", fontsize=9)
    fig.tight_layout()
    out = Path(FLAGS.out)
    with atomic_write(out) as f:
        fig.savefig(f, format="png", dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    console.run(main)
