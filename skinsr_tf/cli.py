"""The `skinsr-tf` command: upscale photos, write the synthetic set, evaluate, run a reader study.

Nothing heavy is imported here at module level: `skinsr-tf --help` must be instant; TensorFlow
loads only when a command needs a model, quietly unless `--verbose` (`skinsr_tf.console`).
Flags are spelled with underscores (`--output_dir`); dashes (`--output-dir`) work too.
"""

import argparse
import sys
from pathlib import Path

from skinsr_tf import console
from skinsr_tf.catalog import MODEL_NAMES

DEGRID_CHOICES = {"on": True, "off": False}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skinsr-tf",
        description="Super-resolution of skin-lesion photographs (Yeh & Tanner) in TensorFlow / Keras.")
    from skinsr_tf import __version__

    parser.add_argument("--version", action="version", version=f"skinsr-tf {__version__}")
    parser.add_argument(console.VERBOSE_FLAG, action="store_true",
                        help="show TensorFlow's log lines and library warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("upscale", help="super-resolve image files or folders",
                       description="Super-resolve images. Outputs keep their name and format "
                                   "(JPEG at quality 95); folders are searched recursively and their "
                                   "layout is kept under OUTDIR. Unreadable files are reported and skipped.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output_dir", required=True, metavar="OUTDIR")
    p.add_argument("--model", default="edge_sisr", choices=MODEL_NAMES,
                   help="model with shipped weights (default edge_sisr); bicubic needs none")
    p.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8), help="upscaling factor (default 4)")
    p.add_argument("--preset", default=None, help="shipped-weights preset (default: whatever is shipped)")
    p.add_argument("--weights", metavar="PATH",
                   help="a training-run folder (examples/train.py) or a .keras file, instead of shipped weights")
    p.add_argument("--tile", type=_int_at_least(0), default=None, metavar="N",
                   help="LR tile size in pixels (default: automatic; 0 = whole image)")
    p.add_argument("--batch_size", type=_int_at_least(1), default=None,
                   help="tiles per forward pass (default: the model's, 4; 1 for the full SPSR)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--degrid", choices=DEGRID_CHOICES, default=None,
                   help="remove the period-SCALE pattern from the model's correction to bicubic: "
                        "'on' or 'off' (default: the weights' own setting; every shipped file has it on)")
    p.add_argument("--consistent", action="store_true",
                   help="project the output onto the images whose MATLAB-bicubic downscale is the "
                        "input: nothing in it contradicts the photograph")
    p.add_argument("--ensemble", action="store_true",
                   help="average 8 passes over flips and rotations (8 times slower, a little more accurate)")
    p.add_argument("--maps", action="store_true",
                   help="also write NAME_invented.png and NAME_contradiction.png: heat maps over the "
                        "output of the detail the photograph cannot support and of where the output "
                        "contradicts it (scales in 8-bit grey levels on their colour bars)")
    p.set_defaults(func=_upscale)

    p = sub.add_parser("synth", help="write a set of procedural skin images",
                       description="Write procedural skin images (skin texture, lesions, hairs, wrinkles).")
    p.add_argument("-o", "--output_dir", "--out", required=True, metavar="DIR")
    p.add_argument("--n", type=int, default=None,
                   help="number of images (default: the synthetic module's, as for training)")
    p.add_argument("--size", type=int, default=None, help="side in pixels (default: the synthetic module's)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_synth)

    # eval's flags are skinsr_tf.evaluation's absl flags: main() hands it what argparse leaves
    p = sub.add_parser("eval", help="evaluate SR methods (PSNR/SSIM on Y, Laplacian variance, ...)",
                       add_help=False,
                       description="Runs skinsr_tf.evaluation; its absl flags follow (try --helpfull).")
    p.set_defaults(func=_eval, passes_flags_on=True)

    from skinsr_tf.rating.cli import register

    register(sub)
    return parser


def _int_at_least(low):
    """argparse type: an integer >= ``low``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _fail(message, status=2):
    print(f"skinsr-tf: error: {message}", file=sys.stderr)
    return status


def _collect(inputs):
    """(source, relative output path) pairs, and the inputs that are neither images nor folders."""
    from skinsr_tf.data.io import IMAGE_EXTENSIONS, list_images

    jobs, missing = [], []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            errors = []
            try:
                jobs += [(f, f.relative_to(path)) for f in list_images(path, recursive=True, errors=errors)]
            except PermissionError as err:
                missing.append((path, str(err)))
            missing += [(path, why) for why in errors]
        elif path.is_file():
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                jobs.append((path, Path(path.name)))
            else:
                missing.append((path, f"not an image file (extensions: {', '.join(IMAGE_EXTENSIONS)})"))
        else:
            try:
                path.stat()
                why = "neither a file nor a folder"
            except FileNotFoundError:
                why = "no such file or folder"
            except OSError as err:  # a symlink loop, a permission: not "no such file"
                why = err.strerror or str(err)
            missing.append((path, why))
    return jobs, missing


def _check_output_dir(out_dir):
    """Create OUTDIR; None when it is a writable folder, else the problem (before any model loads)."""
    import os

    if out_dir.exists() and not out_dir.is_dir():
        return f"{out_dir}: exists and is not a folder"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"{out_dir}: cannot create the output folder ({err.strerror or err})"
    if not os.access(out_dir, os.W_OK | os.X_OK):
        return f"{out_dir}: output folder is not writable (permission denied)"
    return None


def load_inference_model(name="edge_sisr", scale=4, weights=None, preset=None, degrid=None):
    """The model `skinsr-tf upscale` uses: a run folder / .keras file, bicubic, or shipped weights.
    `degrid`: None keeps the model's setting; True / False switches degridding on / off."""
    from skinsr_tf.models import registry

    if not weights:
        cls = registry.get_model_class(name)
        if degrid is not None and not cls.has_weights:
            raise ValueError(f"--degrid: {name} has no network to degrid")
        return cls.from_pretrained(scale=scale, preset=preset, degrid=degrid)
    model = registry.load_model(weights)
    if getattr(model, "scale", scale) != scale:
        print(f"note: {weights} is a x{model.scale} model; using x{model.scale}", file=sys.stderr)
    if degrid is not None:
        if not hasattr(model, "degrid"):
            raise ValueError(f"--degrid: {weights} holds a {model.model_name} model, which has no degrid option")
        model.degrid = bool(degrid)  # read when the forward pass is first traced
    return model


def _upscale(args):
    from tqdm import tqdm

    from skinsr_tf.data.io import ImageReadError, write_image

    jobs, failed = _collect(args.inputs)
    for path, why in failed:
        print(f"error: {_named(path, why)}", file=sys.stderr)
    if not jobs:
        return _fail("no images to upscale")
    out_dir = Path(args.output_dir)
    clobbered = [src for src, rel in jobs if (out_dir / rel).resolve() == src.resolve()]
    if clobbered:
        return _fail(f"{out_dir}: output would replace the input {clobbered[0]}"
                     f"{f' and {len(clobbered) - 1} more' if len(clobbered) > 1 else ''}; "
                     "choose another output folder")
    problem = _check_output_dir(out_dir)
    if problem:
        return _fail(problem)
    todo, skipped, seen = [], [], set()
    for src, rel in jobs:
        dst = out_dir / rel
        if dst in seen:
            failed.append((src, f"another input also writes {dst}"))
        elif dst.exists() and not args.overwrite:
            skipped.append((src, dst))
        else:
            todo.append((src, dst))
        seen.add(dst)
    for src, dst in skipped:
        print(f"skipped: {src} ({dst} exists; use --overwrite)", file=sys.stderr)

    written = 0
    if todo:
        try:
            model = load_inference_model(args.model, args.scale, args.weights, args.preset,
                                         None if args.degrid is None else DEGRID_CHOICES[args.degrid])
        except (FileNotFoundError, ValueError) as err:
            return _fail(str(err))
        bar = tqdm(todo, unit="img", desc=f"{model.model_name} x{model.scale}", file=sys.stderr)
        for src, dst in bar:
            try:
                sr = model.super_resolve(src, tile_size=args.tile, batch_size=args.batch_size,
                                         consistent=args.consistent, ensemble=args.ensemble)
            except ImageReadError as err:
                failed.append((src, str(err)))
                tqdm.write(f"error: {err}", file=sys.stderr)
                continue
            try:
                write_image(dst, sr)
                if args.maps:
                    write_detail_maps(src, dst, sr, model.scale)
            except OSError as err:  # disk full, a file where a folder should be, permissions
                why = f"{dst}: cannot write ({err.strerror or err}); nothing left under that name"
                failed.append((src, why))
                tqdm.write(f"error: {why}", file=sys.stderr)
                continue
            written += 1
    print(f"{written} written, {len(skipped)} skipped (existing), {len(failed)} failed -> {out_dir}",
          file=sys.stderr)
    if failed:
        print("failed:", file=sys.stderr)
        for path, why in failed:
            print(f"  {_named(path, why)}", file=sys.stderr)
        return 1
    return 0


def write_detail_maps(src, dst, sr, scale):
    """`dst`'s `_invented.png` and `_contradiction.png` siblings: heat maps of `sr` against the
    photograph `src` (skinsr_tf.consistency.map_images), written with `write_image`."""
    from skinsr_tf.consistency import map_images
    from skinsr_tf.data.io import read_image, write_image

    dst = Path(dst)
    for name, image in map_images(sr, read_image(src), scale).items():
        write_image(dst.with_name(f"{dst.stem}_{name}.png"), image)


def _named(path, why):
    """The message, prefixed with the path unless it already names a file."""
    return why if str(path) in why else f"{path}: {why}"


def _synth(args):
    from skinsr_tf.data.synthetic import DEFAULT_N, DEFAULT_SIZE, write_synthetic_set

    paths = write_synthetic_set(args.output_dir, n=args.n or DEFAULT_N, size=args.size or DEFAULT_SIZE,
                                seed=args.seed)
    print(f"wrote {len(paths)} images to {args.output_dir}")
    return 0


def _eval(args):
    from absl import app

    from skinsr_tf import evaluation

    evaluation.define_flags()
    try:
        app.run(evaluation.main, argv=["skinsr-tf eval", *console.absl_argv(args.rest)])
    except SystemExit as done:  # absl exits; turn it into our return value
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def main(argv=None):
    parser = build_parser()
    argv = console.absl_argv(sys.argv[1:] if argv is None else argv)
    console.quiet(argv)
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passes_flags_on", False):
        args.rest = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from skinsr_tf._require import TensorFlowMissingError

    try:
        status = args.func(args)
    except TensorFlowMissingError as err:
        return _fail(str(err))
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
