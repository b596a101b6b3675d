"""Super-resolve one photo and draw a comparison figure.

With no arguments: the bundled sample (skinsr_tf/samples, a procedural skin photo, 96x96 LR of a
384x384 HR) through the shipped edge-informed x4 weights. `--model bicubic` always works.

    python examples/super_resolve.py
    python examples/super_resolve.py --model bicubic
    python examples/super_resolve.py --input lesion.jpg --weights runs/edge_sisr --output_dir out

Writes `<name>_<model>_x<s>.png` (the SR image) and `<name>_<model>_x<s>_figure.png`:
LR (nearest-enlarged) | bicubic | SR (| HR when known), each with a magnified inset of one box and
its invented-detail map below (the evaluation's figure, `skinsr_tf.evaluation.save_panel`).
"""

import sys
from pathlib import Path

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

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
flags.DEFINE_list("box", None, "inset box in LR pixels: x,y,size (default: the most textured region)")


def main(argv):
    del argv

    from skinsr_tf import samples
    from skinsr_tf.cli import load_inference_model
    from skinsr_tf.data.io import read_image, write_image
    from skinsr_tf.evaluation import save_panel
    from skinsr_tf.metrics import psnr_y, ssim_y
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

    outputs = {"bicubic": bicubic}
    if model.model_name != "bicubic":
        outputs[f"{model.model_name} x{s}"] = sr
    rows = None
    if hr is not None and hr.shape == sr.shape:
        rows = {name: {"psnr_y": psnr_y(img, hr, crop_border=s), "ssim_y": ssim_y(img, hr, crop_border=s)}
                for name, img in outputs.items()}
    elif hr is not None:
        print(f"--hr is {hr.shape[1]}x{hr.shape[0]}, not {sr.shape[1]}x{sr.shape[0]}: figure without it")
        hr = None
    box = None
    if FLAGS.box:
        x, y, size = (int(v) * s for v in FLAGS.box)
        box = (y, x, size)
    fig_path = save_panel(out_dir / f"{stem}_figure.png", lr, outputs, hr, s, rows, box)
    print(f"SR image: {sr_path}\nfigure:   {fig_path}")


if __name__ == "__main__":
    console.run(main)
