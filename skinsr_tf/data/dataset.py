"""Training/evaluation data: folder scan, a frozen train/dev/test split manifest, tf.data pipeline.

A data folder (any layout, any image sizes) is split 8:1:1 by seed into a JSON manifest that later
runs reuse, so the test images stay the same when files are added or listed in another order. The
pipeline yields dict batches ``{"lr", "hr"[, "lr_edge", "hr_edge"][, "hr_grad"]}`` of float32 in
[0, 1]; LR is made from the HR crop with MATLAB bicubic (:func:`~skinsr_tf.data.resize.tf_imresize`,
float, not rounded unless ``quantize_lr``).
"""
from __future__ import annotations

import fnmatch
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from .io import IMAGE_EXTENSIONS, ImageReadError, atomic_write, cache_home, list_images, read_image

log = logging.getLogger(__name__)

MANIFEST_NAME = "skinsr_manifest.json"
SPLITS = ("train", "dev", "test")


# ----------------------------------------------------------------------------------------------
# manifest


def _excluded(rel: str, patterns) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def split_files(rel_paths, seed: int = 0, ratios=(8, 1, 1)) -> dict:
    """Deterministic split of file names: sort, shuffle with ``seed``, cut by ``ratios``
    (train gets the remainder after rounding dev and test)."""
    if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise ValueError(f"ratios must be three non-negative numbers (train, dev, test); got {ratios}")
    files = sorted(rel_paths)
    order = np.random.default_rng(seed).permutation(len(files))
    files = [files[i] for i in order]
    total = float(sum(ratios))
    n = len(files)
    n_dev = int(round(n * ratios[1] / total))
    n_test = int(round(n * ratios[2] / total))
    n_train = n - n_dev - n_test
    return {"train": sorted(files[:n_train]), "dev": sorted(files[n_train:n_train + n_dev]),
            "test": sorted(files[n_train + n_dev:])}


def build_manifest(data_dir, out_path=None, seed: int = 0, ratios=(8, 1, 1), exclude=None,
                   overwrite: bool = False) -> Path:
    """Scan ``data_dir`` recursively and write the split manifest; reuse it if it already exists.

    The JSON holds ``{"root", "seed", "ratios", "exclude", "train", "dev", "test"}`` with paths
    relative to ``root`` (root itself is stored relative to the manifest when it contains it).
    ``exclude``: file names or glob patterns (matched against the relative path and the name).
    An existing manifest is returned unchanged (with a warning if it was made with other
    settings) unless ``overwrite``. Returns the manifest path (default ``data_dir/skinsr_manifest.json``).
    """
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir}: data folder not found")
    out_path = Path(out_path) if out_path is not None else data_dir / MANIFEST_NAME
    exclude = [exclude] if isinstance(exclude, str) else list(exclude or [])
    if out_path.exists() and not overwrite:
        old = load_manifest(out_path)
        if (old.get("seed") != seed or list(old.get("ratios", ratios)) != list(ratios)
                or sorted(old.get("exclude", [])) != sorted(exclude)):
            warnings.warn(f"{out_path}: reusing the existing split manifest, made with seed="
                          f"{old.get('seed')}, ratios={old.get('ratios')}, exclude={old.get('exclude')}"
                          f" (requested seed={seed}, ratios={list(ratios)}, exclude={exclude}); "
                          f"pass overwrite=True or delete it to re-split", stacklevel=2)
        return out_path
    rel = [p.relative_to(data_dir).as_posix() for p in list_images(data_dir)]
    rel = [r for r in rel if not _excluded(r, exclude)]
    if not rel:
        raise ValueError(f"{data_dir}: no images found ({', '.join(IMAGE_EXTENSIONS)}) "
                         f"after exclusions {exclude}")
    splits = split_files(rel, seed=seed, ratios=ratios)
    out_path = _write_manifest(out_path, data_dir,
                               {"seed": seed, "ratios": list(ratios), "exclude": exclude, **splits})
    log.info("wrote split manifest %s: %s", out_path, {k: len(splits[k]) for k in SPLITS})
    return out_path


def oversample_manifest(manifest, out_path, repeats: dict) -> Path:
    """Write a copy of ``manifest`` whose train split lists some files several times.

    ``repeats`` maps a glob pattern (matched as in ``exclude``) to a count: each matching training
    file is listed that many times, so that the pipeline samples it that much more often (e.g.
    ``{"photos/*": 8}`` when a few large photographs sit beside many small images). Unmatched
    files come first, then each pattern's files, ``count`` times in a row. dev and test are
    unchanged; ``repeats`` is recorded in the JSON. Returns ``out_path``.
    """
    m = load_manifest(manifest)
    train, matched = list(m.pop("train")), []
    for pattern, count in repeats.items():
        if int(count) < 1:
            raise ValueError(f"repeat count for {pattern!r} must be a positive integer; got {count}")
        hits = [r for r in train if _excluded(r, [pattern])]
        if not hits:
            raise ValueError(f"{manifest}: no training file matches {pattern!r}")
        train = [r for r in train if not _excluded(r, [pattern])]
        matched += hits * int(count)
    return _write_manifest(out_path, Path(m.pop("root")),
                           {**m, "train": train + matched, "repeats": dict(repeats)})


def _write_manifest(out_path, root: Path, fields: dict) -> Path:
    """Write ``{"root", **fields}`` atomically; root relative to the manifest when it contains it."""
    out_path = Path(out_path).resolve()
    try:
        root_s = root.relative_to(out_path.parent).as_posix()
    except ValueError:
        root_s = str(root)
    with atomic_write(out_path, "w") as f:
        f.write(json.dumps({"root": root_s, **fields}, indent=1) + "\n")
    return out_path


def load_manifest(path) -> dict:
    """Read a split manifest; ``root`` is returned as an absolute path."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: manifest not found") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a valid JSON manifest ({e})") from e
    missing = [k for k in ("root", *SPLITS) if k not in manifest]
    if missing:
        raise ValueError(f"{path}: manifest lacks {missing}")
    root = Path(manifest["root"])
    manifest["root"] = str((path.resolve().parent / root).resolve() if not root.is_absolute() else root)
    return manifest


def _resolve_source(source, seed=0, exclude=None) -> dict:
    source = Path(source)
    if source.is_dir():
        existing = source / MANIFEST_NAME
        if existing.exists() and exclude is None and seed == 0:  # defaults: reuse silently
            return load_manifest(existing)
        return load_manifest(build_manifest(source, seed=seed, exclude=exclude))
    if source.suffix.lower() == ".json":
        return load_manifest(source)
    raise FileNotFoundError(f"{source}: expected a data folder or a manifest .json file")


# ----------------------------------------------------------------------------------------------
# validation


def validate_files(paths, min_size: int | None = None) -> tuple[list[str], list[tuple[int, int]]]:
    """Read every file; warn once per unreadable (or too small) file and once with the total.

    Returns the good paths and their (H, W).
    """
    good, sizes, skipped = [], [], 0
    for p in paths:
        try:
            h, w = read_image(p).shape[:2]
        except ImageReadError as e:
            warnings.warn(f"skipping unreadable image: {e}", stacklevel=3)
            skipped += 1
            continue
        if min_size is not None and min(h, w) < min_size:
            warnings.warn(f"skipping {p}: {h}x{w} is smaller than the {min_size} px crop", stacklevel=3)
            skipped += 1
            continue
        good.append(str(p))
        sizes.append((h, w))
    if skipped:
        warnings.warn(f"skipped {skipped} of {len(paths)} files", stacklevel=3)
    return good, sizes


# ----------------------------------------------------------------------------------------------
# tf.data pipeline


# Formats that ``tf.io.decode_image`` reads as :func:`~skinsr_tf.data.io.read_image` does (EXIF
# orientation aside: crops are rotated and flipped anyway, and a center crop turns with its image).
TF_DECODABLE = (".png", ".jpg", ".jpeg", ".bmp")


def tf_decodable_paths(paths) -> list[str]:
    """``paths`` with every file TensorFlow cannot decode (TIFF) replaced by a PNG copy.

    The copies (read with :func:`read_image`) go to ``cache_home()/decoded``, named by the source
    path, size and modification time, and are made once. The whole pipeline then runs in the graph:
    no Python callback, which would deadlock interpreter shutdown with a live iterator.
    """
    import hashlib

    from PIL import Image

    out = []
    for p in map(Path, paths):
        if p.suffix.lower() in TF_DECODABLE:
            out.append(str(p))
            continue
        try:
            st = p.stat()
            key = hashlib.sha1(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
            png = cache_home() / "decoded" / f"{p.stem}_{key}.png"
            if not png.exists():
                png.parent.mkdir(parents=True, exist_ok=True)
                with atomic_write(png, "wb") as f:
                    Image.fromarray(read_image(p)).save(f, format="PNG")
            out.append(str(png))
        except (OSError, ImageReadError) as e:
            warnings.warn(f"skipping unreadable image: {p}: {e}", stacklevel=3)
    return out


def _decode(path, k):
    """(H, W, 3) uint8 RGB of an image file, as ``read_image`` gives it; ``k`` quarter turns."""
    import tensorflow as tf

    data = tf.io.read_file(path)

    def png():  # 8-bit data comes as v * 257; 16-bit is scaled as read_image does: round(v / 257)
        img = tf.io.decode_png(data, dtype=tf.uint16)
        return tf.cast(tf.round(tf.cast(img, tf.float32) / 257.0), tf.uint8)

    def jpeg():  # libjpeg's accurate integer DCT, Pillow's default
        return tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")

    def other():
        return tf.io.decode_image(data, expand_animations=False)

    magic = tf.strings.substr(data, 0, 2)
    img = tf.case([(tf.equal(magic, b"\x89P"), png), (tf.equal(magic, b"\xff\xd8"), jpeg)],
                  default=other)
    channels = tf.shape(img)[-1]
    img = tf.cond(channels < 3, lambda: tf.repeat(img[..., :1], 3, axis=-1), lambda: img[..., :3])
    return tf.image.rot90(tf.ensure_shape(img, [None, None, 3]), k)


def make_dataset(source, split: str = "train", scale: int = 4, crop: int | None = 128,
                 batch_size: int = 8, edges: bool = False, gradients: bool = False,
                 static_rot90: bool = False, random_flip_rot: bool = True, shuffle=None,
                 cache=False, seed: int | None = None, repeat=None, *, exclude=None,
                 split_seed: int = 0, quantize_lr: bool = False, validate: bool = True,
                 degradation="bicubic", canny_sigma: float = 2.0):
    """tf.data pipeline of LR/HR pairs from a data folder or a manifest.

    - ``split``: "train" (random crops, random rot90/flips, shuffled) or "dev"/"test" (center
      crops, or whole mod-cropped images with ``crop=None``, always batch 1 then).
    - ``scale``: integer factor; ``crop``: HR crop side (multiple of ``scale``); images smaller than
      the crop are skipped with a warning.
    - ``edges``: add ``lr_edge``/``hr_edge``, Canny maps of LR and HR computed in the graph by
      :func:`~skinsr_tf.data.edges.canny_tf` with ``canny_sigma`` (pass the model's
      ``canny_sigma`` so that training sees the edges the model computes at inference);
      ``gradients``: add ``hr_grad`` (:func:`~skinsr_tf.data.edges.gradient_map`).
    - ``static_rot90``: the report's static augmentation, each training image plus its 90-degree
      counter-clockwise rotation (train split only).
    - ``shuffle``: default True for train. ``cache``: True (memory) or a file name; caches decoded
      images. ``seed``: makes shuffling, crops and flips reproducible. ``repeat``: None = one pass
      per iteration (Keras re-iterates every epoch), an int = that many passes, -1 = forever.
    - ``exclude``, ``split_seed``: used when a folder is split for the first time (the manifest
      is then reused; see :func:`build_manifest`).
    - ``quantize_lr``: round LR to 1/255 steps, as if it had been written to disk as uint8.
    - ``degradation``: how LR is made from the HR crop: "bicubic" (MATLAB bicubic, the default),
      "realistic", "phone" or a :class:`~skinsr_tf.data.degrade.DegradationConfig` (see
      :func:`~skinsr_tf.data.degrade.degrade`); random per element, reproducible with ``seed``.
    - ``validate``: read every file once now, skipping bad files with one warning each plus a
      summary "skipped N of M files"; without it, unreadable files are dropped while iterating.

    Yields dicts of float32 batches in [0, 1]: ``lr`` (N, crop/s, crop/s, 3), ``hr`` (N, crop, crop, 3).
    """
    import tensorflow as tf

    from .degrade import degrade, get_config
    from .edges import canny_tf, gradient_map
    from .resize import tf_imresize

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer; got {scale}")
    if crop is not None:
        crop = int(crop)
        if crop <= 0 or crop % scale:
            raise ValueError(f"crop ({crop}) must be a positive multiple of scale ({scale})")
    train = split == "train"
    degradation_config = get_config(degradation)
    if crop is None and batch_size != 1:
        warnings.warn("crop=None yields whole images of different sizes: using batch_size=1",
                      stacklevel=2)
        batch_size = 1
    shuffle = train if shuffle is None else bool(shuffle)

    manifest = _resolve_source(source, seed=split_seed, exclude=exclude)
    root = Path(manifest["root"])
    paths = [str(root / r) for r in manifest[split]]
    if not paths:
        raise ValueError(f"split {split!r} of {root} is empty (too few images for the ratios?)")
    if validate:
        paths, _ = validate_files(paths, min_size=crop)
    if not paths:
        raise ValueError(f"no usable images in split {split!r} of {root}")

    paths = tf_decodable_paths(paths)
    rot = [0] * len(paths)
    if static_rot90 and train:
        paths, rot = paths + paths, rot + [1] * len(paths)
    n = len(paths)

    ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths), tf.constant(rot, tf.int32)))

    # a file that became unreadable after validation is dropped with a logged warning
    ds = ds.map(_decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.ignore_errors(log_warning=True)
    min_side = crop if crop is not None else scale
    ds = ds.filter(lambda im: tf.reduce_min(tf.shape(im)[:2]) >= min_side)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat is not None and repeat is not False and repeat != 1:
        ds = ds.repeat(None if repeat in (-1, True) else int(repeat))

    # per-element random seeds for stateless ops: deterministic when ``seed`` is given
    rnd = tf.data.Dataset.random(seed=seed).batch(2)
    ds = tf.data.Dataset.zip((ds, rnd))

    def make_pair(img, rs):
        s1 = tf.stack([rs[0], rs[1]])
        shape = tf.shape(img)
        if crop is None:
            hr = img[: shape[0] - shape[0] % scale, : shape[1] - shape[1] % scale]
        elif train:
            hr = tf.image.stateless_random_crop(img, [crop, crop, 3], seed=s1)
        else:
            top, left = (shape[0] - crop) // 2, (shape[1] - crop) // 2
            hr = img[top:top + crop, left:left + crop]
        if train and random_flip_rot:
            s2 = tf.stack([rs[1], rs[0] + 1])
            k = tf.random.stateless_uniform([], s2, 0, 4, dtype=tf.int32)
            hr = tf.image.rot90(hr, k)
            hr = tf.image.stateless_random_flip_left_right(hr, seed=tf.stack([rs[0] + 2, rs[1]]))
        hr = tf.cast(hr, tf.float32) / 255.0
        if crop is not None:
            hr = tf.ensure_shape(hr, [crop, crop, 3])
        if degradation_config is None:
            lr = tf_imresize(hr, 1.0 / scale)
            lr = tf.clip_by_value(lr, 0.0, 1.0)
        else:
            lr = degrade(hr, scale, config=degradation_config, seed=tf.stack([rs[1] + 3, rs[0]]))
        if quantize_lr:
            lr = tf.round(lr * 255.0) / 255.0
        out = {"lr": lr, "hr": hr}
        if edges:
            out["lr_edge"] = canny_tf(lr, sigma=canny_sigma)
            out["hr_edge"] = canny_tf(hr, sigma=canny_sigma)
        if gradients:
            out["hr_grad"] = gradient_map(hr[None])[0]
        return out

    ds = ds.map(make_pair, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=seed is not None or not train)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["build_manifest", "load_manifest", "make_dataset", "split_files", "validate_files",
           "MANIFEST_NAME"]
