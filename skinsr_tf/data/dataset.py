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

from .io import IMAGE_EXTENSIONS, ImageReadError, atomic_write, list_images, read_image

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
    out_path = out_path.resolve()
    try:
        root_s = data_dir.relative_to(out_path.parent).as_posix()
    except ValueError:
        root_s = str(data_dir)
    manifest = {"root": root_s, "seed": seed, "ratios": list(ratios), "exclude": exclude, **splits}
    with atomic_write(out_path, "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    log.info("wrote split manifest %s: %s", out_path, {k: len(splits[k]) for k in SPLITS})
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


# Python callbacks in tf.data (image reading, skimage Canny) deadlock the interpreter's shutdown
# when an unfinished iterator is still alive (TF worker threads wait for the GIL during
# finalisation). At exit the callbacks report "not alive", ``take_while`` ends the pipeline, the
# workers get a moment to drain their bounded buffers, and only then Python finalises.
_SHUTTING_DOWN = False
_ATEXIT_REGISTERED = False


def _stop_callbacks():
    global _SHUTTING_DOWN
    import time

    _SHUTTING_DOWN = True
    time.sleep(0.3)  # releases the GIL so that in-flight callbacks can return


def _register_atexit():
    global _ATEXIT_REGISTERED
    if not _ATEXIT_REGISTERED:
        import atexit

        atexit.register(_stop_callbacks)
        _ATEXIT_REGISTERED = True


def _read_or_empty(path, k=0):
    # -> (image, alive). Never crash mid-epoch: a file that became unreadable after validation
    # yields an empty image that the pipeline filters out. ``k``: quarter turns counter-clockwise.
    if _SHUTTING_DOWN:
        return np.zeros((0, 0, 3), np.uint8), False
    p = path.decode() if isinstance(path, bytes) else str(path)
    try:
        return np.ascontiguousarray(np.rot90(read_image(p), int(k))), True
    except ImageReadError as e:
        log.warning("skipping unreadable image during iteration: %s", e)
        return np.zeros((0, 0, 3), np.uint8), True


def _alive_pair(img, alive):
    return alive


def _drop_alive_pair(img, alive):
    return img


def _alive_dict(d):
    return d["_alive"]


def _drop_alive_dict(d):
    return {k: v for k, v in d.items() if k != "_alive"}


def _edges_pair(lr, hr):
    from .edges import canny

    if _SHUTTING_DOWN:
        return (np.zeros(lr.shape[:2] + (1,), np.float32),
                np.zeros(hr.shape[:2] + (1,), np.float32), False)
    return canny(lr)[..., None], canny(hr)[..., None], True


def make_dataset(source, split: str = "train", scale: int = 4, crop: int | None = 128,
                 batch_size: int = 8, edges: bool = False, gradients: bool = False,
                 static_rot90: bool = False, random_flip_rot: bool = True, shuffle=None,
                 cache=False, seed: int | None = None, repeat=None, *, exclude=None,
                 split_seed: int = 0, quantize_lr: bool = False, validate: bool = True,
                 degradation="bicubic"):
    """tf.data pipeline of LR/HR pairs from a data folder or a manifest.

    - ``split``: "train" (random crops, random rot90/flips, shuffled) or "dev"/"test" (center
      crops, or whole mod-cropped images with ``crop=None``, always batch 1 then).
    - ``scale``: integer factor; ``crop``: HR crop side (multiple of ``scale``); images smaller than
      the crop are skipped with a warning.
    - ``edges``: add ``lr_edge``/``hr_edge`` (skimage Canny, sigma 2, via ``tf.numpy_function``);
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
    from .edges import gradient_map
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

    _register_atexit()
    rot = [0] * len(paths)
    if static_rot90 and train:
        paths, rot = paths + paths, rot + [1] * len(paths)
    n = len(paths)

    ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths), tf.constant(rot, tf.int32)))

    def load(path, k):
        img, alive = tf.numpy_function(_read_or_empty, [path, k], [tf.uint8, tf.bool],
                                       stateful=False)
        return tf.ensure_shape(img, [None, None, 3]), tf.ensure_shape(alive, [])

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.take_while(_alive_pair).map(_drop_alive_pair)
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
            le, he, alive = tf.numpy_function(_edges_pair, [lr, hr],
                                              [tf.float32, tf.float32, tf.bool], stateful=False)
            out["_alive"] = alive
            out["lr_edge"] = tf.ensure_shape(le, lr.shape[:2] + [1])
            out["hr_edge"] = tf.ensure_shape(he, hr.shape[:2] + [1])
        if gradients:
            out["hr_grad"] = gradient_map(hr[None])[0]
        return out

    ds = ds.map(make_pair, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=seed is not None or not train)
    if edges:
        ds = ds.take_while(_alive_dict).map(_drop_alive_dict)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["build_manifest", "load_manifest", "make_dataset", "split_files", "validate_files",
           "MANIFEST_NAME"]
