"""What every super-resolution model shares: construction contract, inference on whole photos
(tiling and blending), shipped weights, export to SavedModel / TFLite."""

import json
import math
import os
import warnings
from pathlib import Path

import keras
import numpy as np

from ..runs import SHIPPED_SUFFIX, WEIGHTS_ENV, default_weights_dir, shipped_stems
from . import weights_file

__all__ = ["SRModel", "WEIGHTS_ENV", "default_weights_dir"]


class SRModel(keras.Model):
    """Base class of the library's SR models.

    Subclasses implement `call(lr, training=False)`: a batch of LR images (N, h, w, 3) in [0, 1]
    becomes SR images (N, s*h, s*w, 3) in [0, 1]. They prepare their own inputs (edges, dilation,
    enlargement) inside `call`, so users never do.

    Hooks a subclass may override:
      - `min_input_size` (LR pixels) and `input_multiple` (LR height/width must be a multiple of it,
        e.g. 16 for a network with 4 poolings on the LR image): `super_resolve` pads (reflect) and
        crops back, and picks tiles that respect both.
      - `max_whole_pixels`: largest output (pixels) processed in one piece when `tile_size=None`.
      - `default_tile_size` / `default_tile_overlap` (LR pixels).
      - `inference_variables()`: the variables shipped weights hold (e.g. the generators only).
      - `has_weights = False` for models without learned weights (bicubic).
    """

    model_name = "base"
    has_weights = True
    # 1024x1024 output pixels through the full edge-informed generator peak at ~1.5 GB (docs/conventions.md, "Measurements").
    max_whole_pixels = 1024 * 1024
    default_tile_batch = 4  # tiles per forward pass when super_resolve gets batch_size=None

    def __init__(self, scale=4, preset="full", **kwargs):
        super().__init__(**kwargs)
        if scale not in (2, 3, 4, 8):
            raise ValueError(f"scale must be one of 2, 3, 4, 8, got {scale!r}")
        self.scale = int(scale)
        self.preset = preset
        self._predict_fn = None

    @property
    def min_input_size(self):
        """Smallest LR height/width (pixels) the network accepts."""
        return 1

    @property
    def input_multiple(self):
        """LR height and width must be multiples of this (1: any size)."""
        return 1

    @property
    def default_tile_size(self):
        """LR tile side: 512 output pixels a side, i.e. 4 tiles of a batch ~ one 1024^2 output."""
        return self._round_up(max(512 // self.scale, self.min_input_size, 16))

    @property
    def default_tile_overlap(self):
        """LR overlap between neighbouring tiles: wide enough for instance-norm statistics and
        the receptive field near tile borders to settle."""
        return max(8, self.default_tile_size // 4)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "preset": self.preset})
        return config

    def inference_variables(self):
        """Variables needed for inference (what shipped weights hold)."""
        return list(self.weights)

    def save_weights(self, filepath, overwrite=True, kind="weights"):
        """Save the variables by name (`skinsr_tf.models.weights_file`); `kind="shipped"`: the
        inference variables as float16."""
        if not overwrite and Path(filepath).exists():
            raise FileExistsError(f"{filepath} exists; pass overwrite=True")
        return weights_file.save_model_weights(self, filepath, kind)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load a file of `weights_file`'s format by name (weights, checkpoint or shipped); a file
        in Keras' own `.weights.h5` layout (older run folders) goes to Keras."""
        if skip_mismatch or (str(filepath).endswith(".h5") and not weights_file.is_native(filepath)):
            return super().load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)
        weights_file.load_model_weights(self, filepath)

    # ------------------------------------------------------------------ inference
    def _round_up(self, n):
        m = int(self.input_multiple)
        return int(math.ceil(n / m) * m)

    def _predict(self, batch):
        """Model on a float32 batch through one tf.function (retraces only on a new shape)."""
        import tensorflow as tf

        if self._predict_fn is None:
            self._predict_fn = tf.function(lambda x: self(x, training=False), reduce_retracing=True)
        return self._predict_fn(tf.convert_to_tensor(batch, tf.float32)).numpy()

    def super_resolve(self, image, tile_size=None, tile_overlap=None, batch_size=None,
                      consistent=False, ensemble=False):
        """Super-resolve one image of any size; returns (H*s, W*s, 3) uint8 RGB.

        `image`: a path, a PIL image or an ndarray (grey, RGB, RGBA, uint8/uint16/float in [0, 1]).
        `tile_size` (LR pixels): None = whole image when the output has at most
        `max_whole_pixels` pixels, else tiles of `default_tile_size`; 0 forces the whole image.
        Tiles overlap by `tile_overlap` LR pixels (default: a quarter tile, at most
        `default_tile_overlap`) and are blended there: each tile's outer quarter of the overlap
        gets weight 0 (its padding replaced real neighbours), then a raised cosine rises to 1, so
        the weights of neighbouring tiles sum to 1. `batch_size` tiles (None: `default_tile_batch`)
        go through one forward pass of a fixed shape (one tf.function trace per tile shape).
        `ensemble=True`: the mean of 8 passes over the flips and rotations of the image (EDSR's
        self-ensemble; 8 times the cost), see `self_ensemble`. `consistent=True`: the blended
        output is projected onto the images whose MATLAB-bicubic downscale equals the input
        (`skinsr_tf.consistency.project`): nothing in it contradicts the photograph, and only
        the detail no photograph can confirm or refute is left as the network painted it.
        """
        lr8 = self._read(image)
        lr = lr8.astype(np.float32) / 255.0
        if ensemble:
            out = self.self_ensemble(lr8, tile_size, tile_overlap, batch_size)[0]
        else:
            out = self._sr_float(lr, tile_size, tile_overlap, batch_size)
        if consistent:
            from skinsr_tf.consistency import project

            out = project(out, lr, self.scale)
        return _to_uint8(out)

    @staticmethod
    def _read(image):
        from skinsr_tf.data import io

        if isinstance(image, (str, os.PathLike)):
            return io.read_image(image)
        return io.to_rgb_uint8(image)

    def self_ensemble(self, image, tile_size=None, tile_overlap=None, batch_size=None):
        """The 8 passes over the image's flips and rotations, each turned back: returns their mean
        (float32 (H*s, W*s, 3) in [0, 1]) and per-pixel spread (float32 (H*s, W*s): standard
        deviation over the passes, RMS over RGB, in [0, 1] units). Arguments as `super_resolve`."""
        lr = self._read(image).astype(np.float32) / 255.0
        mean = m2 = None
        for n, (k, flip) in enumerate(ENSEMBLE_TRANSFORMS, start=1):
            out = self._sr_float(np.ascontiguousarray(_transform(lr, k, flip)),
                                 tile_size, tile_overlap, batch_size)
            out = _untransform(out, k, flip)
            if mean is None:
                mean, m2 = out.copy(), np.zeros_like(out)
                continue
            delta = out - mean  # Welford: no large sums of squares in float32
            mean += delta / n
            m2 += delta * (out - mean)
        spread = np.sqrt(np.mean(m2 / len(ENSEMBLE_TRANSFORMS), axis=2))
        return mean, spread.astype(np.float32)

    def _sr_float(self, lr, tile_size=None, tile_overlap=None, batch_size=None):
        """The model's output (float32 (h*s, w*s, 3), unclipped) for a float LR image."""
        h, w = lr.shape[:2]
        s = self.scale

        # Pad (reflect) to the smallest size the network takes; crop the output back.
        ph = max(self._round_up(h), self._round_up(self.min_input_size))
        pw = max(self._round_up(w), self._round_up(self.min_input_size))
        if (ph, pw) != (h, w):
            lr = _pad_reflect(lr, ph, pw)

        if tile_size is None:
            tile_size = 0 if ph * pw * s * s <= self.max_whole_pixels else self.default_tile_size
        if tile_size and (tile_size < ph or tile_size < pw):
            batch_size = self.default_tile_batch if batch_size is None else int(batch_size)
            out = self._tiled(lr, int(tile_size), tile_overlap, batch_size)
        else:
            out = self._predict(lr[None])[0]
        return out[: h * s, : w * s].astype(np.float32, copy=False)

    def _tiled(self, lr, tile_size, tile_overlap, batch_size):
        s = self.scale
        h, w = lr.shape[:2]
        if tile_overlap is None:
            tile_overlap = min(self.default_tile_overlap, max(2, tile_size // 4))
        th = min(self._round_up(max(tile_size, self.min_input_size)), h)
        tw = min(self._round_up(max(tile_size, self.min_input_size)), w)
        ys = _tile_starts(h, th, tile_overlap)
        xs = _tile_starts(w, tw, tile_overlap)
        ramp_y = _blend_ramp(th * s, min(tile_overlap, th // 2) * s)
        ramp_x = _blend_ramp(tw * s, min(tile_overlap, tw // 2) * s)

        acc = np.zeros((h * s, w * s, 3), np.float32)
        wsum = np.zeros((h * s, w * s), np.float32)
        coords = [(y, x) for y in ys for x in xs]
        batch_size = max(1, min(batch_size, len(coords)))
        for i in range(0, len(coords), batch_size):
            chunk = coords[i : i + batch_size]
            batch = np.zeros((batch_size, th, tw, 3), np.float32)  # fixed shape: one trace
            for j, (y, x) in enumerate(chunk):
                batch[j] = lr[y : y + th, x : x + tw]
            pred = self._predict(batch)
            for j, (y, x) in enumerate(chunk):
                # Borders of the image get full weight: only ramp where a neighbour tile exists.
                wy = ramp_y.copy()
                wx = ramp_x.copy()
                if y == 0:
                    wy[: len(wy) // 2] = 1.0
                if y + th == h:
                    wy[len(wy) // 2 :] = 1.0
                if x == 0:
                    wx[: len(wx) // 2] = 1.0
                if x + tw == w:
                    wx[len(wx) // 2 :] = 1.0
                wgt = wy[:, None] * wx[None, :]
                sl = np.s_[y * s : (y + th) * s, x * s : (x + tw) * s]
                tile = pred[j]
                tile *= wgt[..., None]
                acc[sl] += tile
                wsum[sl] += wgt
        for r in range(0, acc.shape[0], 256):  # in place, by row blocks: no full-size temporaries
            acc[r : r + 256] /= wsum[r : r + 256, :, None]
        return acc

    # ------------------------------------------------------------------ weights
    @classmethod
    def from_pretrained(cls, scale=4, preset=None, weights_dir=None, degradation=None, degrid=None):
        """Model with the shipped weights `{model_name}_x{scale}[_{degradation}][_{preset}].json` +
        `.shipped.h5` from `weights_dir` (default: `$SKINSR_TF_WEIGHTS_DIR` or `skinsr_tf/weights/`).

        `degradation`: None or "bicubic" for weights trained on MATLAB-bicubic LR; "realistic" for
        weights fine-tuned on `skinsr_tf.data.degrade`'s phone-photo degradations (no fallback to
        the bicubic weights). `degrid`: None keeps the shipped setting; True / False switches
        `TrainableSRModel`'s degridding on / off (the weights fit either)."""
        if not cls.has_weights:
            kwargs = {"scale": scale}
            if preset is not None:
                kwargs["preset"] = preset
            return cls(**kwargs)
        if cls.model_name == "base":
            raise TypeError("call from_pretrained on a concrete model class, e.g. EdgeInformedSR")
        folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        stems = shipped_stems(cls.model_name, scale, preset, degradation)
        base = stems[-1]
        for stem in stems:
            cfg_path = folder / f"{stem}.json"
            if not cfg_path.is_file():
                continue
            cfg = json.loads(cfg_path.read_text())
            kwargs = dict(cfg.get("model_kwargs", {}))
            if preset is not None and kwargs.get("preset", preset) != preset:
                continue
            if cfg.get("model", cls.model_name) != cls.model_name:
                raise ValueError(f"{cfg_path}: holds weights of model {cfg.get('model')!r}, "
                                 f"not {cls.model_name!r}")
            kwargs["scale"] = scale
            if degrid is not None:
                kwargs["degrid"] = bool(degrid)
            model = cls(**kwargs)
            model.build_for_inference()
            weights_file.load_model_weights(model, folder / f"{stem}{SHIPPED_SUFFIX}")
            return model
        shipped = sorted(p.name[: -len(".json")] for p in folder.glob("*.json")) if folder.is_dir() else []
        want = base + (f" (preset {preset!r})" if preset else "")
        raise FileNotFoundError(
            f"no shipped weights for {want} in {folder} (expected {stems[0]}.json and "
            f"{stems[0]}{SHIPPED_SUFFIX}); shipped: {', '.join(shipped) if shipped else 'none'}. "
            f"Train one (examples/train.py) and pass its folder with --weights / registry.load_model, "
            f"or set {WEIGHTS_ENV}.")

    def build_for_inference(self):
        """Create the variables by running the model once on a small dummy LR batch."""
        n = self._round_up(max(self.min_input_size, 16))
        self(np.zeros((1, n, n, 3), np.float32), training=False)
        return self

    # ------------------------------------------------------------------ export
    def export(self, path, format="saved_model", input_shape=None, allow_select_ops=False, verbose=False):
        """Export for serving: float32 LR (1, h, w, 3) in [0, 1] -> SR (1, s*h, s*w, 3).

        `format`: "saved_model" (signature `serving_default`, input `lr`, output `sr`) or "tflite"
        (a `.tflite` file of TFLite builtin ops). `input_shape=(h, w)` fixes the LR size, default
        (None, None): any size (TFLite: `interpreter.resize_tensor_input` before allocating). Some
        graphs convert to TFLite builtins only with a fixed size (shape inference through dynamic
        reshapes); then pass `input_shape`, or `allow_select_ops=True` to fall back to TF-select
        ops (with a warning), which need the Flex delegate at run time (not linked in the
        `tf.lite.Interpreter` of the TensorFlow wheel). `verbose`: print Keras' list of the
        SavedModel's inputs, outputs and captured tensors. Returns the written path.
        """
        import tensorflow as tf

        if not self.built or (self.has_weights and not self.weights):
            self.build_for_inference()
        h, w = input_shape if input_shape is not None else (None, None)
        spec = tf.TensorSpec((1, h, w, 3), tf.float32, name="lr")
        path = Path(path)
        fmt = format.lower().replace("-", "_")
        if fmt not in ("saved_model", "tflite"):
            raise ValueError(f"format must be 'saved_model' or 'tflite', got {format!r}")
        if fmt == "saved_model":
            self._write_saved_model(path, spec, verbose)
            return path
        import tempfile

        # Through a SavedModel: converting the concrete function directly froze Keras 3
        # variables to garbage (TF 2.21).
        with tempfile.TemporaryDirectory() as tmp:
            self._write_saved_model(Path(tmp) / "sm", spec, verbose=False)
            try:
                data = _convert_tflite(Path(tmp) / "sm", select_ops=False)
            except Exception as err:  # noqa: BLE001 - the converter raises several types
                first = str(err).splitlines()[0][:200]
                if not allow_select_ops:
                    raise ValueError(
                        f"{self.model_name}: cannot convert to TFLite builtin ops ({first}). "
                        + ("Pass input_shape=(h, w) for a fixed-size model, or " if input_shape is None else "")
                        + "allow_select_ops=True for TF-select ops (needs the Flex delegate)") from err
                warnings.warn(f"{self.model_name}: TFLite builtin ops are not enough ({first}); "
                              "converted with SELECT_TF_OPS: running it needs the Flex delegate")
                data = _convert_tflite(Path(tmp) / "sm", select_ops=True)
        if path.suffix != ".tflite":
            path = path.with_suffix(".tflite")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def _write_saved_model(self, path, spec, verbose):
        archive = keras.export.ExportArchive()
        archive.track(self)
        archive.add_endpoint("serving_default", lambda lr: {"sr": self(lr, training=False)},
                             input_signature=[spec])
        archive.write_out(str(path), verbose=verbose)


def _convert_tflite(saved_model_dir, select_ops):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if select_ops:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops
    return converter.convert()


# The geometric self-ensemble: (k quarter turns, then mirror left-right?) for the 8 symmetries of a square.
ENSEMBLE_TRANSFORMS = tuple((k, flip) for flip in (False, True) for k in range(4))


def _transform(image, k, flip):
    image = np.rot90(image, k)
    return image[:, ::-1] if flip else image


def _untransform(image, k, flip):
    if flip:
        image = image[:, ::-1]
    return np.rot90(image, -k)


def _to_uint8(image):
    """Float [0, 1] (H, W, 3) -> rounded, clipped uint8, by row blocks to keep memory flat."""
    out = np.empty(image.shape, np.uint8)
    for r in range(0, image.shape[0], 256):
        block = image[r : r + 256] * 255.0
        np.rint(block, out=block)
        np.clip(block, 0, 255, out=block)
        out[r : r + 256] = block
    return out


def _pad_reflect(image, ph, pw):
    """Pad (H, W, C) at the bottom/right to (ph, pw) by reflection (repeats for tiny images)."""
    h, w = image.shape[:2]
    mode = "reflect" if min(h, w) > 1 else "edge"
    return np.pad(image, ((0, ph - h), (0, pw - w), (0, 0)), mode=mode)


def _tile_starts(n, tile, overlap):
    """Start offsets of tiles of length `tile` covering [0, n) with at least `overlap` overlap."""
    if tile >= n:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, n - tile, stride))
    starts.append(n - tile)
    return starts


def _blend_ramp(length, ramp):
    """1-D tile weight over `length` samples: at both ends, `ramp // 4` samples of 0 (the tile's
    own border, where its padding replaced the real neighbours), then a raised cosine up to 1.
    Two tiles overlapping by exactly `ramp` samples have weights summing to 1 there."""
    wgt = np.ones(length, np.float32)
    if ramp > 0:
        margin = ramp // 4
        rise = ramp - 2 * margin
        t = (np.arange(rise, dtype=np.float64) + 0.5) / rise
        up = np.concatenate([np.zeros(margin), 0.5 - 0.5 * np.cos(np.pi * t), np.ones(margin)])
        up = up.astype(np.float32)
        wgt[:ramp] = np.minimum(wgt[:ramp], up)
        wgt[length - ramp :] = np.minimum(wgt[length - ramp :], up[::-1])
    return wgt
