"""What a super-resolved image owes to its photograph, and what the network invented.

The degradation D is known: MATLAB bicubic downscaling by 1/s (:func:`skinsr_tf.data.imresize`).
It is separable and linear: per channel D(x) = Rh x Rw^T with Rh, Rw the per-axis matrices that
``imresize`` applies (:func:`skinsr_tf.data.resize.resize_matrix`). Any SR image x splits into

* the part the LR photograph determines, D^+ D x, with D^+ = D^T (D D^T)^-1 the pseudo-inverse
  (exact here: (Rh kron Rw)^+ = Rh^+ kron Rw^+, each a small per-axis matrix), and
* the null-space part x - D^+ D x, which D maps to zero: no LR photograph can confirm or refute it.
  This is the detail the network *invented*.

Where D(x) differs from the LR, the SR image *contradicts* the photograph. :func:`project` removes
the contradiction with the least change to x (the orthogonal projection onto {x : D x = LR}).

D and D^T run as sparse matrix products in TensorFlow, in blocks of output rows, so memory stays
a few multiples of one output image; only the LR-sized solves with (R R^T)^-1 are dense.
Images are float (H, W, 3) in [0, 1] or uint8; maps are in 8-bit grey levels (0..255).
"""

from functools import lru_cache

import numpy as np

from skinsr_tf.data import io
from skinsr_tf.data.resize import resize_matrix

ROW_BLOCK = 512  # output rows per block of the width-axis products


# ----------------------------------------------------------------------------- the degradation
@lru_cache(maxsize=32)
def _axis(n, scale):
    """(R as a tf.SparseTensor (n/s, n), R^T as one (n, n/s), (R R^T)^-1 dense float32) for one axis."""
    import tensorflow as tf

    r = resize_matrix(n, 1.0 / scale).tocoo()
    gram = (r @ r.T).toarray()
    inv = np.linalg.inv(gram).astype(np.float32)

    def sparse(m):
        m = m.tocoo()
        idx = np.stack([m.row, m.col], axis=1).astype(np.int64)
        return tf.sparse.reorder(tf.SparseTensor(idx, m.data.astype(np.float32), m.shape))

    return sparse(r), sparse(r.T), tf.constant(inv)


def _along_height(mat, x):
    """mat (sparse, (m, H)) applied along axis 0 of x (H, W, C)."""
    import tensorflow as tf

    h, w, c = x.shape
    y = tf.sparse.sparse_dense_matmul(mat, tf.reshape(tf.convert_to_tensor(x, tf.float32), (h, w * c)))
    return tf.reshape(y, (mat.shape[0], w, c))


def _along_width(mat, x):
    """mat (sparse, (m, W)) applied along axis 1 of x (H, W, C)."""
    import tensorflow as tf

    h, w, c = x.shape
    xt = tf.reshape(tf.transpose(tf.convert_to_tensor(x, tf.float32), (1, 0, 2)), (w, h * c))
    y = tf.sparse.sparse_dense_matmul(mat, xt)
    return tf.transpose(tf.reshape(y, (mat.shape[0], h, c)), (1, 0, 2))


def _check(x, scale):
    h, w = x.shape[:2]
    if h % scale or w % scale:
        raise ValueError(f"SR image {w}x{h} is not a multiple of the scale {scale}")
    return h, w


def degrade(x, scale):
    """D(x): MATLAB bicubic downscale of a float (H, W, 3) image, in TF ops by row blocks (equals
    ``imresize(x, 1/scale)`` on floats to float32 rounding). Returns float32 numpy (H/s, W/s, 3)."""
    import tensorflow as tf

    h, w = _check(x, scale)
    rh, _, _ = _axis(h, scale)
    rw, _, _ = _axis(w, scale)
    t = tf.concat([_along_width(rw, x[i:i + ROW_BLOCK]) for i in range(0, h, ROW_BLOCK)], axis=0)
    return _along_height(rh, t).numpy()


def _pinv_lr(r, scale, hw):
    """D^+ r = D^T (D D^T)^-1 r, returned as the (H, w, 3) half-way result (height axis done); the
    width axis is applied per row block by the caller."""
    import tensorflow as tf

    h, w = hw
    _, rht, gh = _axis(h, scale)
    _, _, gw = _axis(w, scale)
    z = tf.einsum("ij,jwc->iwc", gh, tf.convert_to_tensor(r, tf.float32))
    z = tf.einsum("vw,hwc->hvc", gw, z)
    return _along_height(rht, z)


def _add_pinv(x, r, scale, sign=1.0):
    """x += sign * D^+ r, in place, by row blocks. x: float32 (H, W, 3); r: (H/s, W/s, 3)."""
    h, w = x.shape[:2]
    _, rwt, _ = _axis(w, scale)
    u = _pinv_lr(r, scale, (h, w))
    for i in range(0, h, ROW_BLOCK):
        x[i:i + ROW_BLOCK] += sign * _along_width(rwt, u[i:i + ROW_BLOCK]).numpy()
    return x


def project(sr, lr, scale, iterations=4):
    """The image nearest to ``sr`` (least squares) whose MATLAB-bicubic downscale equals ``lr``.

    One step x + D^+(lr - D x) is the exact orthogonal projection; clipping to [0, 1] (what an
    8-bit image keeps) can undo a little of it near saturated pixels, so project-and-clip repeats
    ``iterations`` times (alternating projections), ending with a projection. ``sr``: float
    (H, W, 3) in [0, 1]; ``lr``: float (H/s, W/s, 3) in [0, 1] (the photograph). Returns float32.
    Only the null-space part of ``sr`` (the invented detail) survives unchanged.

    After rounding to 8 bits the LR-PSNR is about 70 dB for LRs made by the degradation, about
    60 dB for JPEG-compressed (quality 60) or noisy (sigma 8) ones; an LR that no image in [0, 1]
    downscales to (white noise) stays short of it, as clipping must break the equality there.
    """
    x = np.array(sr, np.float32, copy=True)
    lr = np.asarray(lr, np.float32)
    h, w = _check(x, scale)
    if lr.shape[:2] != (h // scale, w // scale):
        raise ValueError(f"LR is {lr.shape[1]}x{lr.shape[0]}, expected {w // scale}x{h // scale} "
                         f"for a {w}x{h} x{scale} SR image")
    for k in range(max(1, int(iterations))):
        if k:
            np.clip(x, 0.0, 1.0, out=x)
        _add_pinv(x, lr - degrade(x, scale), scale)
    return x


def null_space_part(sr, scale):
    """x - D^+ D x: the component of a float image that the degradation maps to zero."""
    x = np.array(sr, np.float32, copy=True)
    return _add_pinv(x, degrade(x, scale), scale, sign=-1.0)


# ----------------------------------------------------------------------------- measures
def _as_float(image):
    """uint8 / float image -> float32 (H, W, 3) in [0, 1]."""
    a = np.asarray(image)
    if a.dtype == np.uint8 or not np.issubdtype(a.dtype, np.floating):
        return io.to_rgb_uint8(a).astype(np.float32) / 255.0
    return a.astype(np.float32)


def _pair(sr, lr, scale):
    sr, lr = _as_float(sr), _as_float(lr)
    h, w = lr.shape[:2]
    if sr.shape[:2] != (h * scale, w * scale):
        raise ValueError(f"SR is {sr.shape[1]}x{sr.shape[0]}, expected {w * scale}x{h * scale} "
                         f"(x{scale} of a {w}x{h} LR)")
    return sr, lr


def lr_psnr(sr, lr, scale):
    """PSNR (dB, RGB, 0..255) between ``imresize(sr, 1/scale)`` (float, not rounded) and the LR.

    How well the SR image agrees with the photograph it came from (NTIRE / PIRM ask >= 45 dB).
    It cannot see invented detail that downscales to nothing; :func:`detail_maps` shows that.
    """
    sr, lr = _pair(sr, lr, scale)
    mse = float(np.mean((degrade(sr, scale) - lr).astype(np.float64) ** 2)) * 255.0 ** 2
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def local_rms(values, size):
    """sqrt of the mean of values^2 over a size x size window (reflect border); float32."""
    from scipy import ndimage

    return np.sqrt(ndimage.uniform_filter(values.astype(np.float32) ** 2, size=size, mode="reflect"))


def detail_maps(sr, lr, scale, model=None, window=None, **sr_kwargs):
    """Per-pixel maps (float32, H*s x W*s, grey levels 0..255) of what ``sr`` owes to ``lr``.

    * ``contradiction``: |imresize(sr, 1/s) - lr| (RMS over RGB), each LR pixel enlarged to its
      s x s block. Detail the photograph refutes: wrong brightness or colour, a moved edge. It is
      blind to any change that downscales to nothing (a fine texture, a hair thinner than a
      pixel): by construction such detail cannot contradict the LR, which is why ``invented``
      exists. It also shows the LR's own 8-bit rounding (about 0.3).
    * ``invented``: the null-space part sr - D^+ D sr (D the degradation, D^+ its exact
      pseudo-inverse), as a local RMS over ``window`` pixels (default 2s) and RGB. Detail that
      no LR could confirm or refute: painted texture, sharpened edges beyond what bicubic
      blur allows. It cannot tell right from wrong: true detail the camera lost also lands here;
      a large value says "the photograph does not support this", not "this is false". Bicubic
      output is almost free of it (only the SR's own 8-bit rounding, about 0.3).
    * ``uncertainty`` (only when ``model`` is given): the per-pixel standard deviation, RMS over
      RGB, of the model's 8 flip / rotation passes on ``lr`` (``SRModel.self_ensemble``; extra
      keyword arguments go to it). Where the network is unsure of itself; blind to errors it
      makes the same way in every orientation.
    """
    sr, lr = _pair(sr, lr, scale)
    window = int(window or 2 * scale)
    resid = degrade(sr, scale) - lr
    contradiction = np.sqrt(np.mean(resid ** 2, axis=2)) * 255.0
    contradiction = np.repeat(np.repeat(contradiction, scale, axis=0), scale, axis=1)
    null = null_space_part(sr, scale)
    invented = local_rms(np.sqrt(np.mean(null ** 2, axis=2)) * 255.0, window)
    maps = {"contradiction": contradiction.astype(np.float32), "invented": invented}
    if model is not None:
        if int(model.scale) != int(scale):
            raise ValueError(f"the model is x{model.scale}, the maps are for x{scale}")
        _, spread = model.self_ensemble(np.rint(lr * 255.0).astype(np.uint8), **sr_kwargs)
        maps["uncertainty"] = (spread * 255.0).astype(np.float32)
    return maps


# ----------------------------------------------------------------------------- pictures
MAP_SCALES = {"invented": 16.0, "contradiction": 8.0, "uncertainty": 8.0}  # grey levels at full colour


def heat_overlay(sr, values, vmax, label):
    """A heat map of ``values`` over a dimmed grey copy of ``sr``, with a colour bar stating the
    scale: 0 (transparent) .. ``vmax`` (and above, saturated), in ``label`` units. Returns an
    uint8 RGB image (the SR's size plus a colour-bar strip on the right)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grey = _as_float(sr) @ np.array([0.299, 0.587, 0.114], np.float32)
    h, w = grey.shape
    dpi = 100.0
    fig_w, fig_h = w / dpi + 1.0, max(h, 240) / dpi  # 1 inch for the colour bar and its labels
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.0, 0.0, (w / dpi) / fig_w, 1.0])
    ax.imshow(0.35 + 0.5 * grey, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    norm = np.clip(np.asarray(values, np.float32) / float(vmax), 0.0, 1.0)
    heat = matplotlib.colormaps["inferno"](norm)
    heat[..., 3] = 0.15 + 0.85 * norm  # faint where nothing was invented, opaque where much was
    ax.imshow(heat, interpolation="nearest")
    ax.axis("off")
    cax = fig.add_axes([(w / dpi + 0.12) / fig_w, 0.08, 0.12 / fig_w, 0.84])
    sm = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0.0, vmax), cmap="inferno")
    cb = fig.colorbar(sm, cax=cax, extend="max")
    cb.set_label(label, fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def map_images(sr, lr, scale, names=("invented", "contradiction"), model=None, **sr_kwargs):
    """{name: heat-map overlay (uint8 RGB)} for :func:`detail_maps`' maps (what each measures is
    said there), on fixed scales (``MAP_SCALES``, grey levels) so that images can be compared."""
    maps = detail_maps(sr, lr, scale, model=model if "uncertainty" in names else None, **sr_kwargs)
    return {name: heat_overlay(sr, maps[name], MAP_SCALES[name], f"{name} (8-bit grey levels)")
            for name in names}
