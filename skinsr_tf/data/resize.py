"""MATLAB ``imresize(..., 'bicubic')``: the degradation every SR paper's LR images come from.

Keys cubic (a = -0.5); when downscaling the kernel is widened by 1/scale (antialiasing); output
pixel x (1-based) samples input position u = x/scale + 0.5 (1 - 1/scale); symmetric border.
Each axis is a precomputed sparse (out, in) weight matrix applied as a matrix product.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _output_length(in_len: int, scale: float) -> int:
    # MATLAB: ceil(scale * in); the tolerance keeps 99 * (1/3) at 33, not 34.
    return int(math.ceil(in_len * scale - 1e-9))


@lru_cache(maxsize=64)
def _weight_matrix(in_len: int, out_len: int, scale: float):
    """Sparse (out_len, in_len) float64 CSR matrix of MATLAB's bicubic contributions (mirror
    folded: repeated input indices are summed)."""
    from scipy.sparse import csr_matrix

    antialias = scale < 1
    width = 4.0 / scale if antialias else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input positions
    d = u[:, None] - idx
    w = scale * _cubic(scale * d) if antialias else _cubic(d)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric border: positions 1..n, n..1 repeating
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    rows = np.repeat(np.arange(out_len), taps)
    m = csr_matrix((w.reshape(-1), (rows, cols.reshape(-1))), shape=(out_len, in_len))
    m.sum_duplicates()
    return m


def _resize_axis(a: np.ndarray, axis: int, scale: float) -> np.ndarray:
    m = _weight_matrix(a.shape[axis], _output_length(a.shape[axis], scale), float(scale))
    moved = np.moveaxis(a, axis, 0)
    out = m @ moved.reshape(moved.shape[0], -1)
    return np.moveaxis(out.reshape((m.shape[0],) + moved.shape[1:]), 0, axis)


def resize_matrix(in_len: int, scale: float):
    """The sparse (ceil(scale * in_len), in_len) float64 matrix that :func:`imresize` applies along
    one axis (a scipy CSR matrix): ``imresize(x, scale)`` of a float image is ``Rh @ x @ Rw.T``."""
    return _weight_matrix(int(in_len), _output_length(int(in_len), float(scale)), float(scale))


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize like MATLAB ``imresize(image, scale, 'bicubic')`` (antialiased when downscaling).

    ``image``: (H, W) or (H, W, C). ``scale``: any positive factor (0.25, 1/3, 2, 4, ...); the
    output is ceil(scale * H) x ceil(scale * W). uint8 in -> uint8 out, rounded and clipped after
    each axis as MATLAB does; float in -> float32 out, unclipped (computed in float64).
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3):
        raise ValueError(f"imresize expects (H,W) or (H,W,C); got shape {a.shape}")
    scale = float(scale)
    if not scale > 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a positive number; got {scale}")
    is_uint8 = a.dtype == np.uint8
    if not (is_uint8 or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"imresize expects uint8 or float images; got {a.dtype}")
    out = a.astype(np.float64)
    # MATLAB resizes the axis with the smaller scale first (height first on ties).
    for axis in (0, 1):
        out = _resize_axis(out, axis, scale)
        if is_uint8:
            out = np.clip(np.round(out), 0, 255)
    return out.astype(np.uint8) if is_uint8 else out.astype(np.float32)


def mod_crop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop H and W down to multiples of ``scale`` (top-left kept), works on (H,W[,C]) arrays."""
    s = int(scale)
    if s < 1:
        raise ValueError(f"scale must be a positive integer; got {scale}")
    h, w = image.shape[0], image.shape[1]
    return image[: h - h % s, : w - w % s]


def _integer_factor(scale: float) -> tuple[int, bool]:
    """(s, downscale) for scale = 1/s or s with integer s."""
    scale = float(scale)
    if scale <= 0:
        raise ValueError(f"scale must be positive; got {scale}")
    down = scale < 1
    s = 1.0 / scale if down else scale
    si = int(round(s))
    if abs(s - si) > 1e-6:
        raise ValueError(f"tf_imresize supports scale = s or 1/s with integer s; got {scale}")
    return si, down


def tf_imresize(images, scale):
    """MATLAB bicubic resize in TensorFlow ops (for tf.data and graphs).

    ``images``: float (N,H,W,C) or (H,W,C). ``scale``: 1/s (downscale; H, W must be multiples of s,
    see :func:`mod_crop`) or s (upscale), s an integer. Pads symmetrically by 2 output pixels' worth,
    runs ``tf.image.resize(bicubic, antialias=True)`` (Keys a = -0.5, half-pixel centres) and crops
    the padding, which matches :func:`imresize` including the border (~1e-5 in float32).
    """
    import tensorflow as tf

    s, down = _integer_factor(scale)
    x = tf.convert_to_tensor(images)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    squeeze = x.shape.rank == 3
    if squeeze:
        x = x[None]
    if s == 1:
        return x[0] if squeeze else x
    shape = tf.shape(x)
    h, w = shape[1], shape[2]
    if down:
        if x.shape[1] is not None and x.shape[2] is not None and (x.shape[1] % s or x.shape[2] % s):
            raise ValueError(
                f"tf_imresize: size {x.shape[1]}x{x.shape[2]} is not a multiple of {s}; mod_crop first")
        pad = 2 * s
        xp = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="SYMMETRIC")
        y = tf.image.resize(xp, tf.stack([h // s + 4, w // s + 4]), method="bicubic", antialias=True)
        y = y[:, 2:-2, 2:-2, :]
    else:
        xp = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="SYMMETRIC")
        y = tf.image.resize(xp, tf.stack([(h + 4) * s, (w + 4) * s]), method="bicubic",
                            antialias=True)
        y = y[:, 2 * s:-2 * s, 2 * s:-2 * s, :]
    y = tf.cast(y, x.dtype)
    return y[0] if squeeze else y
