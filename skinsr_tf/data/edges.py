"""Edge maps and the other network inputs derived from images (Canny, gradients, enlargements).

``canny`` (skimage) is the reference the tests compare with. ``canny_tf`` re-implements skimage's
algorithm in TF ops, so that a model extracts its own edges inside a SavedModel or a TFLite graph
and the training pipeline computes the same edges in the graph: normalised Gaussian blur (zero padding divided by the blur of ones, truncate 4 sigma),
Sobel with symmetric padding, skimage's bilinear-interpolated non-maximum suppression written with
shifted tensors, thresholds 0.1 / 0.2 on the gradient magnitude, one-pixel border masked, and
hysteresis: the weak pixels 8-connected to a strong one, as skimage's connected components (the
fixed point of 3x3 dilation inside the weak mask; ``max_hysteresis_iters`` bounds such dilations
instead, a fixed-cost approximation).
"""
from __future__ import annotations

import numpy as np

from skinsr_tf._require import require_tensorflow

require_tensorflow()

import tensorflow as tf  # noqa: E402 (after the check, so a missing TensorFlow reads as one line)

# skimage.color.rgb2gray weights (BT.709 luma) -- what the report's Canny input uses
RGB2GRAY_SKIMAGE = (0.2125, 0.7154, 0.0721)
# ITU-R BT.601 luma -- the metrics' grey (variance of the Laplacian)
RGB2GRAY_BT601 = (0.299, 0.587, 0.114)


def canny(image, sigma: float = 2.0) -> np.ndarray:
    """Reference Canny: ``skimage.feature.canny(rgb2gray(image), sigma)`` as float32 {0,1} (H,W).

    ``image``: uint8 or float [0,1] RGB (H,W,3), or an (H,W) grey image.
    """
    from skimage.color import rgb2gray
    from skimage.feature import canny as _sk_canny

    a = np.asarray(image)
    if a.dtype == np.uint8:
        a = a.astype(np.float64) / 255.0
    a = a.astype(np.float64)
    grey = rgb2gray(a) if a.ndim == 3 and a.shape[-1] == 3 else (a[..., 0] if a.ndim == 3 else a)
    return _sk_canny(grey, sigma=sigma).astype(np.float32)


def canny_np_batch(images, sigma: float = 2.0) -> np.ndarray:
    """(N,H,W,3) -> (N,H,W,1) float32 skimage Canny, for ``tf.numpy_function`` in pipelines."""
    images = np.asarray(images)
    out = np.zeros(images.shape[:3] + (1,), np.float32)
    for i in range(images.shape[0]):
        out[i, ..., 0] = canny(images[i], sigma)
    return out


def _as_batch(images):
    x = tf.convert_to_tensor(images)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    return x


def to_grey(images, weights=RGB2GRAY_BT601):
    """Luma of (N,H,W,3) -> (N,H,W,1). Default ITU-R BT.601 (0.299, 0.587, 0.114); pass
    ``RGB2GRAY_SKIMAGE`` for skimage's rgb2gray (used by :func:`canny_tf`)."""
    x = _as_batch(images)
    w = tf.constant(weights, dtype=x.dtype)
    return tf.reduce_sum(x * w, axis=-1, keepdims=True)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = int(4.0 * sigma + 0.5)  # scipy.ndimage truncate=4.0
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _sep_conv(x, k1d: np.ndarray):
    """Separable 'same' convolution with zero padding of a (N,H,W,1) tensor."""
    k = tf.constant(k1d, x.dtype)
    n = k1d.shape[0]
    x = tf.nn.conv2d(x, tf.reshape(k, [n, 1, 1, 1]), 1, "SAME")
    return tf.nn.conv2d(x, tf.reshape(k, [1, n, 1, 1]), 1, "SAME")


def _shift(x, di: int, dj: int):
    """y[i, j] = x[i + di, j + dj] (edge-replicated; only read where the border mask is off)."""
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    return xp[:, 1 + di:1 + di + h, 1 + dj:1 + dj + w, :]


def canny_tf(images, sigma: float = 2.0, low_threshold: float = 0.1, high_threshold: float = 0.2,
             max_hysteresis_iters: int | None = None):
    """Canny in pure TF ops: (N,H,W,3) RGB (or (N,H,W,1) grey) float [0,1] -> (N,H,W,1) {0,1}.

    Follows skimage.feature.canny(rgb2gray(img), sigma) step by step (see the module docstring).
    Hysteresis keeps the weak pixels connected to strong ones (connected components, exact); with
    ``max_hysteresis_iters`` it grows strong edges by at most that many 3x3 dilations inside the
    weak mask instead (a fixed-cost approximation).
    Graph-, SavedModel- and TFLite-friendly (no numpy/py functions).
    """
    x = _as_batch(images)
    squeeze = x.shape.rank == 3
    if squeeze:
        x = tf.expand_dims(x, 0)
    x = tf.cast(x, tf.float32)
    grey = to_grey(x, RGB2GRAY_SKIMAGE) if x.shape[-1] == 3 else x[..., :1]

    # Gaussian smoothing, constant-0 padding renormalised by the blur of ones (skimage bleed-over)
    k = _gaussian_kernel(sigma)
    smoothed = _sep_conv(grey, k) / (_sep_conv(tf.ones_like(grey), k) + np.finfo(np.float32).eps)

    # Sobel (scipy.ndimage.sobel, mode='reflect' == symmetric): isobel along rows, jsobel along cols
    sp = tf.pad(smoothed, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    isobel_k = tf.constant([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], tf.float32)
    kern = tf.stack([isobel_k, tf.transpose(isobel_k)], axis=-1)[:, :, None, :]
    grads = tf.nn.conv2d(sp, kern, 1, "VALID")
    isobel, jsobel = grads[..., :1], grads[..., 1:]
    mag = tf.sqrt(isobel * isobel + jsobel * jsobel)

    # border mask (skimage masks the outermost pixel ring)
    inner = tf.pad(tf.ones_like(mag[:, 1:-1, 1:-1, :]), [[0, 0], [1, 1], [1, 1], [0, 0]]) > 0.5

    # bilinear non-maximum suppression (skimage _nonmaximum_suppression_bilinear)
    ai, aj = tf.abs(isobel), tf.abs(jsobel)
    down, left = isobel <= 0, jsobel <= 0
    up, right = ~down, ~left
    case1 = (up & right) | (down & left)  # gradient in the 1st/3rd quadrant
    eps = tf.constant(1e-30, tf.float32)

    def interp(w_, n1, n2):
        return n2 * w_ + n1 * (1.0 - w_)

    m = mag
    s = {d: _shift(mag, *d) for d in [(1, 0), (-1, 0), (0, 1), (0, -1),
                                      (1, 1), (-1, -1), (-1, 1), (1, -1)]}
    w_ji = aj / tf.maximum(ai, eps)
    w_ij = ai / tf.maximum(aj, eps)
    # case 1a: |i| > |j|
    k1a = (interp(w_ji, s[(1, 0)], s[(1, 1)]) <= m) & (interp(w_ji, s[(-1, 0)], s[(-1, -1)]) <= m)
    # case 1b: |i| <= |j|
    k1b = (interp(w_ij, s[(0, 1)], s[(1, 1)]) <= m) & (interp(w_ij, s[(0, -1)], s[(-1, -1)]) <= m)
    # case 2a: |i| < |j|
    k2a = (interp(w_ij, s[(0, 1)], s[(-1, 1)]) <= m) & (interp(w_ij, s[(0, -1)], s[(1, -1)]) <= m)
    # case 2b: |i| >= |j|
    k2b = (interp(w_ji, s[(-1, 0)], s[(-1, 1)]) <= m) & (interp(w_ji, s[(1, 0)], s[(1, -1)]) <= m)
    keep = tf.where(case1, tf.where(ai > aj, k1a, k1b), tf.where(ai < aj, k2a, k2b))
    low = max(float(low_threshold), 1e-14)
    weak = keep & inner & (mag >= low)
    strong = weak & (mag >= float(high_threshold))

    if max_hysteresis_iters is None:  # hysteresis: weak pixels connected to strong ones
        edges = _connected_to_strong(strong, weak)
    else:  # at most that many 3x3 dilations of the strong edges inside the weak mask
        weak_f = tf.cast(weak, tf.float32)
        limit = tf.constant(int(max_hysteresis_iters), tf.int32)

        def body(i, e, changed):
            grown = e
            for _ in range(4):  # a few dilations per convergence check
                grown = tf.nn.max_pool2d(grown, 3, 1, "SAME") * weak_f
            return i + 4, grown, tf.reduce_any(grown > e)

        _, edges, _ = tf.while_loop(lambda i, e, changed: changed & (i < limit), body,
                                    (tf.constant(0), tf.cast(strong, tf.float32), tf.constant(True)))
    return edges[0] if squeeze else edges


def _connected_to_strong(strong, weak):
    """Hysteresis to convergence: the weak pixels 8-connected (through weak ones) to a strong one.

    The fixed point of repeated 3x3 dilation inside the weak mask, found as connected components
    of the weak pixels (Shiloach-Vishkin hooking and pointer jumping: a number of rounds that grows
    with the log of a component's size, not with its length). Bool (N,H,W,1) in, float out.
    """
    shape = tf.shape(weak)
    width = shape[2]
    flat = tf.reshape(weak, [-1])
    pix = tf.cast(tf.where(flat)[:, 0], tf.int32)  # flat index of each weak pixel (node)
    k = tf.size(pix)
    node = tf.scatter_nd(pix[:, None], tf.range(k), tf.shape(flat))  # flat index -> node
    us, vs = [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each 8-neighbour pair once
        padded = tf.pad(weak, [[0, 0], [0, dy], [1, 1], [0, 0]])
        shifted = padded[:, dy:, 1 + dx: 1 + dx + width, :]  # weak[y + dy, x + dx], False outside
        both = tf.cast(tf.where(tf.reshape(weak & shifted, [-1]))[:, 0], tf.int32)
        us.append(tf.gather(node, both))
        vs.append(tf.gather(node, both + dy * width + dx))
    u, v = tf.concat(us, 0), tf.concat(vs, 0)

    def body(parent, changed):
        pu, pv = tf.gather(parent, u), tf.gather(parent, v)
        new = tf.minimum(parent, tf.math.unsorted_segment_min(pv, pu, k))  # hook roots
        new = tf.minimum(new, tf.math.unsorted_segment_min(pu, pv, k))
        new = tf.minimum(new, tf.math.unsorted_segment_min(pv, u, k))  # and the nodes themselves
        new = tf.minimum(new, tf.math.unsorted_segment_min(pu, v, k))
        new = tf.gather(new, tf.gather(new, new))  # pointer jumping
        return new, tf.reduce_any(new != parent)

    parent, _ = tf.while_loop(lambda p, c: c, body, (tf.range(k), tf.size(u) > 0))
    is_strong = tf.cast(tf.gather(tf.reshape(strong, [-1]), pix), tf.int32)
    keep = tf.gather(tf.math.unsorted_segment_max(is_strong, parent, k), parent)
    edges = tf.scatter_nd(pix[:, None], tf.cast(keep, tf.float32), tf.shape(flat))
    return tf.reshape(edges, shape)


def gradient_map(images):
    """docs/conventions.md, "SPSR": Gv = I(x+1,y) - I(x-1,y), Gh = I(x,y+1) - I(x,y-1) per channel (zero
    padding), returns sqrt(Gv^2 + Gh^2 + 1e-6), same shape as the (N,H,W,C) input."""
    x = _as_batch(images)
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    gv = xp[:, 2:, 1:-1, :] - xp[:, :-2, 1:-1, :]
    gh = xp[:, 1:-1, 2:, :] - xp[:, 1:-1, :-2, :]
    return tf.sqrt(gv * gv + gh * gh + 1e-6)


def sobel_gradient_map(images):
    """Sobel gradient magnitude per channel (zero padding), sqrt(Gx^2 + Gy^2 + 1e-6), same shape."""
    x = _as_batch(images)
    c = x.shape[-1]
    ky = tf.constant([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], x.dtype)
    kern = tf.stack([ky, tf.transpose(ky)], axis=-1)[:, :, :, None]  # (3,3,2,1)
    kern = tf.tile(tf.transpose(kern, [0, 1, 3, 2]), [1, 1, c, 1])  # (3,3,C,2): depthwise
    g = tf.nn.depthwise_conv2d(x, kern, [1, 1, 1, 1], "SAME")
    gy, gx = g[..., 0::2], g[..., 1::2]
    return tf.sqrt(gx * gx + gy * gy + 1e-6)


def nearest_upsample(images, scale: int):
    """Nearest-neighbour enlargement (N,h,w,C) -> (N,s*h,s*w,C) (each pixel becomes an s x s block)."""
    x = _as_batch(images) if not isinstance(images, tf.Tensor) else images
    s = int(scale)
    if s == 1:
        return x
    # tile + depth_to_space instead of tf.repeat: TFLite builtins that keep the channel count
    # static at dynamic sizes (tf.repeat loses it on the SavedModel -> TFLite path).
    return tf.nn.depth_to_space(tf.tile(x, [1, 1, 1, s * s]), s)


def dilate_lr(images, scale: int):
    """Zero-stuffed "dilated" LR: each LR pixel at the top-left of an s x s block of zeros, any s.
    (N,h,w,C) -> (N,s*h,s*w,C).

    Zero channels are appended after the pixel's own C channels and ``depth_to_space`` spreads
    the s*s*C channels over an s x s block (channel block (0, 0) lands at the top-left). Two
    TFLite builtins (PAD, DEPTH_TO_SPACE), any H and W, and the static channel count survives
    dynamic sizes (a 6-D pad or a reshape to a computed shape would lose either).
    """
    x = images if isinstance(images, tf.Tensor) else _as_batch(images)
    s = int(scale)
    if s == 1:
        return x
    c = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    y = tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, (s * s - 1) * c]])
    return tf.nn.depth_to_space(y, s)


__all__ = ["canny", "canny_np_batch", "canny_tf", "gradient_map", "sobel_gradient_map",
           "nearest_upsample", "dilate_lr", "to_grey", "RGB2GRAY_BT601", "RGB2GRAY_SKIMAGE"]

