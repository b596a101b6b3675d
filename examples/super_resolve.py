"""Super-resolve one photo and draw a comparison figure.

With no arguments: the bundled sample (skinsr_tf/samples, a procedural skin photo, 96x96 LR of a
384x384 HR) through the shipped edge-informed x4 weights. `--model bicubic` always works.

    python examples/super_resolve.py
    python examples/super_resolve.py --model bicubic
    python examples/super_resolve.py --input lesion.jpg --weights runs/edge_sisr --output_dir out

Writes `<name>_<model>_x<s>.png` (the SR image) and `<name>_<model>_x<s>_figure.png`:
LR (nearest-enlarged) | bicubic | SR (| HR when known), each with a magnified inset of one box.
"""

import sys
from pathlib import Path

from absl import app, flags

from skinsr_tf.catalog import MODEL_NAMES

FLAGS = flags.FLAGS
flags.DEFINE_string("input", None, "LR image (default: the bundled sample)")
flags.DEFINE_string("hr", None, "HR reference for the figure and PSNR (default: the sample's HR when "
                                "--input is not given)")
flags.DEFINE_enum("model", "edge_sisr", MODEL_NAMES, "model")
flags.DEFINE_integer("scale", 4, "upscaling factor")
flags.DEFINE_string("preset", None, "shipped-weights preset (default: whatever is shipped)")
flags.DEFINE_string("weights", None, "training-run folder or .keras file instead of shipped weights")
flags.DEFINE_integer("tile", None, "LR tile size (default automatic; 0 = whole image)")
flags.DEFINE_string("output_dir", "outputs/super_resolve", "where the SR image and figure go")
flags.DEFINE_list("box", None, "inset box in LR pixels: x,y,size (default: the busiest region)")


def busiest_box(image, size):
    """(x, y) of the size x size window with the largest grey-level variance (where detail is)."""
    import numpy as np

    grey = image.astype(np.float64).mean(axis=2)
    h, w = grey.shape
    best, best_xy = -1.0, (0, 0)
    step = max(1, size // 4)
    for y in range(0, max(1, h - size + 1), step):
        for x in range(0, max(1, w - size + 1), step):
            v = grey[y : y + size, x : x + size].var()
            if v > best:
                best, best_xy = v, (x, y)
    return best_xy


def comparison_figure(panels, box, scale, path):
    """One row of images (all at SR size) with a magnified inset of `box` = (x, y, size) in LR px."""
    import matplotlib

    from skinsr_tf.data.io import atomic_write

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, size = (v * scale for v in box)
    h, w = panels[0][1].shape[:2]
    # Inset in the corner farthest from the box, so it hides nothing it magnifies.
    ix = 0.02 if x + size / 2 > w / 2 else 0.58
    iy = 0.58 if y + size / 2 > h / 2 else 0.02  # axes y runs upwards
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), squeeze=False)
    for ax, (title, img) in zip(axes[0], panels):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
        inset = ax.inset_axes([ix, iy, 0.4, 0.4])
        inset.imshow(img, interpolation="nearest")
        inset.set_xlim(x, x + size)
        inset.set_ylim(y + size, y)
        inset.set_xticks([])
        inset.set_yticks([])
        for spine in inset.spines.values():
            spine.set_edgecolor("yellow")
            spine.set_linewidth(1.5)
        ax.indicate_inset_zoom(inset, edgecolor="yellow", linewidth=1.5, alpha=1.0)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    return path


def main(argv):
    del argv
    import numpy as np

    from skinsr_tf import samples
    from skinsr_tf.cli import load_inference_model
    from skinsr_tf.data.io import read_image, write_image
    from skinsr_tf.metrics import psnr_y
    from skinsr_tf.models.bicubic import Bicubic

    if FLAGS.input is None:
        if FLAGS.scale != 4:
            sys.exit("the bundled sample is a x4 LR image; give --input for other scales")
        lr_path, hr_path = samples.SAMPLE_LR_X4, FLAGS.hr or samples.SAMPLE_HR
    else:
        lr_path, hr_path = Path(FLAGS.input), FLAGS.hr
    lr = read_image(lr_path)
    hr = read_image(hr_path) if hr_path else None
    s = FLAGS.scale

    try:
        model = load_inference_model(FLAGS.model, s, FLAGS.weights, FLAGS.preset)
    except FileNotFoundError as err:
        sys.exit(f"error: {err}\n(`--model bicubic` needs no weights)")
    sr = model.super_resolve(lr, tile_size=FLAGS.tile)
    bicubic = Bicubic(s).super_resolve(lr)

    out_dir = Path(FLAGS.output_dir)
    stem = f"{Path(lr_path).stem}_{model.model_name}_x{s}"
    sr_path = write_image(out_dir / f"{stem}.png", sr)

    def title(name, img):
        if hr is None or hr.shape != img.shape:
            return name
        return f"{name}  (PSNR-Y {psnr_y(img, hr, crop_border=s):.2f} dB)"

    panels = [(f"LR {lr.shape[1]}x{lr.shape[0]} (nearest)", np.repeat(np.repeat(lr, s, 0), s, 1)),
              (title("bicubic", bicubic), bicubic)]
    if model.model_name != "bicubic":
        panels.append((title(f"{model.model_name} x{s}", sr), sr))
    if hr is not None:
        panels.append(("HR", hr))
    if FLAGS.box:
        box = tuple(int(v) for v in FLAGS.box)
    else:
        size = max(8, min(lr.shape[:2]) // 4)
        box = (*busiest_box(lr, size), size)
    fig_path = comparison_figure(panels, box, s, out_dir / f"{stem}_figure.png")
    print(f"SR image: {sr_path}\nfigure:   {fig_path}")


if __name__ == "__main__":
    app.run(main)
