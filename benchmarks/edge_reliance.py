"""How much does the edge-informed SR generator use its edges? The same LR, the same SR generator,
different HR edge maps (`EdgeInformedSR.super_resolve_with_edges`).

    python benchmarks/edge_reliance.py --hr_dir=data/real/heldout/photos --crop=384
    python benchmarks/edge_reliance.py --scale=8 --weights=runs/edge_sisr_x8    # a run folder or weights file

Rows, on the central ``--crop`` px of each image (LR = MATLAB bicubic, rounded to uint8):
- bicubic;
- its own edges: what the model feeds its SR generator at inference (`predict_hr_edges`: the edge
  generator's map, the prior for edge_source "prior", Canny for stage "sr");
- no edges: an empty edge map (`edges_as_input` of zeros);
- HR edges: Canny (sigma `canny_sigma`) of the HR image itself, the map a perfect edge generator
  would give: the most that a better edge generator could add with this SR generator.
Columns: PSNR-Y (crop = scale), LPIPS (where its weights are offline), and the mean absolute change
of the SR image against its own edges' output, in 8-bit grey levels. Prints Markdown tables and
writes them to ``--output``.
"""

import numpy as np

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import app, flags

FLAGS = flags.FLAGS

ROWS = ("its own edges", "no edges", "HR edges (Canny of HR)")


def define_flags():
    """The command-line flags (defined only when run as a script, so importing defines none)."""
    flags.DEFINE_string("hr_dir", "data/real/heldout/photos", "Held-out HR images.")
    flags.DEFINE_integer("crop", 384, "Central crop of each image (px).")
    flags.DEFINE_list("scale", ["4", "8"], "Scales (shipped weights of each).")
    flags.DEFINE_string("weights", None, "Run folder or weights file of an EdgeInformedSR (one --scale) "
                        "instead of the shipped weights.")
    flags.DEFINE_string("output", "outputs/edge_reliance.md", "Markdown tables.")


def edge_maps(model, lr, hr):
    """{row: HR edge map fed to the SR generator} for one LR / HR batch pair in [0, 1]."""
    import tensorflow as tf

    from skinsr_tf.data.edges import canny_tf

    return {
        ROWS[0]: model.predict_hr_edges(lr),
        ROWS[1]: model.edges_as_input(tf.zeros_like(hr[..., :1])),
        ROWS[2]: model.edges_as_input(canny_tf(hr, sigma=model.canny_sigma)),
    }


def reliance_scores(model, hrs, lpips=None):
    """{row: {"psnr_y", "lpips", "change"}} means over the uint8 HR images `hrs` (sides a multiple
    of the model's scale); "lpips" is None without an `lpips` metric."""
    import tensorflow as tf

    from skinsr_tf import metrics
    from skinsr_tf.data.resize import imresize

    s = model.scale
    per_row = {name: [] for name in ("bicubic", *ROWS)}
    for hr in hrs:
        lr = imresize(hr, 1 / s)
        outputs = {"bicubic": imresize(lr, s)}
        lr01 = tf.constant(lr[None] / 255.0, tf.float32)
        hr01 = tf.constant(hr[None] / 255.0, tf.float32)
        for name, edges in edge_maps(model, lr01, hr01).items():
            sr = model.super_resolve_with_edges(lr01, edges)[0].numpy()
            outputs[name] = np.round(np.clip(sr, 0.0, 1.0) * 255.0).astype(np.uint8)
        own = outputs[ROWS[0]].astype(np.float64)
        for name, sr in outputs.items():
            per_row[name].append({
                "psnr_y": float(metrics.psnr_y(sr, hr, crop_border=s)),
                "lpips": float(lpips(sr, hr)) if lpips is not None else None,
                "change": float(np.mean(np.abs(sr - own))),
            })
    return {name: {key: (None if rows[0][key] is None else float(np.mean([r[key] for r in rows])))
                   for key in rows[0]} for name, rows in per_row.items()}


def format_table(scale, scores, n_images, source):
    """Markdown table of `reliance_scores` at one scale."""
    lines = [f"x{scale}, {n_images} images, {source}", "",
             f"| x{scale}: edges fed to the SR generator | PSNR-Y (dB) ↑ | LPIPS ↓ | change vs own edges (grey levels) |",
             "|---|---:|---:|---:|"]
    for name, m in scores.items():
        lp = "unavailable" if m["lpips"] is None else f"{m['lpips']:.4f}"
        lines.append(f"| {name} | {m['psnr_y']:.2f} | {lp} | {m['change']:.2f} |")
    return "\n".join(lines)


def main(argv):
    del argv
    from skinsr_tf import EdgeInformedSR, metrics
    from skinsr_tf.backbones import BackboneUnavailable
    from skinsr_tf.data import io
    from skinsr_tf.evaluation import center_crop_image
    from skinsr_tf.models.registry import load_model

    scales = [int(s) for s in FLAGS.scale]
    if FLAGS.weights and len(scales) != 1:
        raise app.UsageError("--weights is one model: give one --scale")
    paths = io.list_images(FLAGS.hr_dir)
    if not paths:
        raise app.UsageError(f"{FLAGS.hr_dir}: no images")
    try:
        lpips = metrics.LPIPS().load()
    except (BackboneUnavailable, FileNotFoundError, ValueError) as err:
        print(f"LPIPS unavailable: {str(err).splitlines()[0]}")
        lpips = None
    tables = []
    for s in scales:
        if FLAGS.weights:
            model = load_model(FLAGS.weights)
            if not isinstance(model, EdgeInformedSR) or model.scale != s:
                raise app.UsageError(f"{FLAGS.weights}: not an x{s} EdgeInformedSR")
        else:
            model = EdgeInformedSR.from_pretrained(scale=s)
        hrs = [center_crop_image(io.read_image(p), FLAGS.crop, multiple=s) for p in paths]
        source = f"{FLAGS.hr_dir}, central {FLAGS.crop} px, {FLAGS.weights or 'shipped weights'}"
        tables.append(format_table(s, reliance_scores(model, hrs, lpips), len(hrs), source))
        print(tables[-1] + "\n", flush=True)
    with io.atomic_write(FLAGS.output, "w") as f:
        f.write("\n\n".join(tables) + "\n")
    print(f"wrote {FLAGS.output}")


if __name__ == "__main__":
    define_flags()
    console.run(main)
