"""Degradations that turn an HR image into the LR a model sees: MATLAB bicubic, or a randomised
"real-world" chain (Real-ESRGAN, Wang et al. 2021) for phone photographs.

Phone pictures are blurred by optics, noisy from the sensor, resized by unknown kernels and
JPEG-compressed (often twice, after messaging apps). A model trained only on bicubic LR sharpens
noise and JPEG blocks into texture; training on randomised degradations avoids it.

Presets of :func:`degrade`:

- ``"bicubic"``: MATLAB bicubic (:func:`~skinsr_tf.data.resize.tf_imresize`), the LR of every SR
  paper and of this library's data pipeline by default.
- ``"realistic"``: Real-ESRGAN's order. Round 1: blur (isotropic/anisotropic Gaussian, generalised
  Gaussian or plateau kernel), random resize (area, bilinear or bicubic; up, down or keep), Gaussian
  or Poisson noise (colour or grey), JPEG. Round 2 (with ``second_round_prob``): the same with its
  own ranges. Then resize to HR / scale and a final sinc (ringing) filter and JPEG, in random order.
- ``"phone"``: milder, one round, JPEG always on.

All ranges live in :class:`DegradationConfig`; :func:`degrade` takes one to override a preset, and
``config.to_dict()`` is what a training run records in its config.json. Everything is TF ops with
stateless random numbers, so the same ``seed`` gives the same LR (also inside ``tf.data``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_METHODS = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class RoundConfig:
    """Ranges of one degradation round (uniform draws unless said otherwise).

    - ``kernel_probs``: probabilities of :data:`KERNEL_TYPES`; ``blur_sigma``: kernel sigma range
      (pixels; anisotropic kernels draw both axes and a rotation); ``betag``: shape of the
      generalised Gaussian exp(-r^(2 beta)/2); ``betap``: shape of the plateau 1/(1 + r^(2 beta)).
    - ``resize_probs``: probabilities of (up, down, keep); ``resize_up``/``resize_down``: factor ranges;
      the method is drawn from :data:`RESIZE_METHODS`.
    - ``gaussian_noise_prob`` (else Poisson); ``noise_sigma``: Gaussian sigma on the 0-255 scale;
      ``poisson_scale``: multiplier of shot noise at 255 photon counts; ``gray_noise_prob``: the
      same noise on all channels.
    - ``jpeg_prob``, ``jpeg_quality``: JPEG (integer quality range, inclusive).
    """

    kernel_probs: tuple = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    blur_sigma: tuple = (0.2, 3.0)
    betag: tuple = (0.5, 4.0)
    betap: tuple = (1.0, 2.0)
    resize_probs: tuple = (0.2, 0.7, 0.1)
    resize_up: tuple = (1.0, 1.5)
    resize_down: tuple = (0.3, 1.0)
    gaussian_noise_prob: float = 0.5
    noise_sigma: tuple = (1.0, 25.0)
    poisson_scale: tuple = (0.05, 2.5)
    gray_noise_prob: float = 0.4
    jpeg_prob: float = 1.0
    jpeg_quality: tuple = (30, 95)


@dataclass(frozen=True)
class DegradationConfig:
    """A whole degradation chain: round 1, optional round 2, final resize + sinc + JPEG.

    ``kernel_size``: side of the blur and sinc kernels (odd). ``second_round_prob``: probability of
    round 2. ``sinc_prob``: probability of the final sinc filter, cut-off ``sinc_cutoff`` (radians
    per pixel, pi = no filtering). ``final_jpeg_quality``: range of the last JPEG (always applied
    when ``final_jpeg_prob`` is 1). ``final_resize_methods``: methods drawn for the resize to
    HR / scale.
    """

    preset: str = "realistic"
    kernel_size: int = 21
    round1: RoundConfig = field(default_factory=RoundConfig)
    second_round_prob: float = 0.5
    round2: RoundConfig = field(default_factory=lambda: RoundConfig(
        blur_sigma=(0.2, 1.5), resize_probs=(0.3, 0.4, 0.3), resize_up=(1.0, 1.2), resize_down=(0.6, 1.0),
        noise_sigma=(1.0, 20.0), poisson_scale=(0.05, 2.0)))
    sinc_prob: float = 0.8
    sinc_cutoff: tuple = (math.pi / 3, math.pi)
    final_jpeg_prob: float = 1.0
    final_jpeg_quality: tuple = (30, 95)

    def to_dict(self) -> dict:
        """Plain dict (for config.json)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DegradationConfig":
        """Inverse of :meth:`to_dict` (lists become tuples)."""
        d = dict(d)
        rounds = {k: RoundConfig(**_tuples(d.pop(k))) for k in ("round1", "round2") if k in d}
        return cls(**_tuples(d), **rounds)


def _tuples(d):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


PRESETS = {
    "realistic": DegradationConfig(),
    "phone": DegradationConfig(
        preset="phone",
        round1=RoundConfig(kernel_probs=(0.6, 0.4, 0.0, 0.0, 0.0, 0.0), blur_sigma=(0.2, 1.5),
                           resize_probs=(0.2, 0.5, 0.3), resize_up=(1.0, 1.2), resize_down=(0.6, 1.0),
                           noise_sigma=(1.0, 10.0), poisson_scale=(0.05, 1.0), jpeg_prob=0.0),
        second_round_prob=0.0, sinc_prob=0.2, final_jpeg_quality=(50, 95)),
}
DEGRADATIONS = ("bicubic", *PRESETS)


def get_config(degradation) -> DegradationConfig | None:
    """A preset name, a :class:`DegradationConfig` or its dict -> the config (None for bicubic)."""
    if degradation is None or degradation == "bicubic":
        return None
    if isinstance(degradation, DegradationConfig):
        return degradation
    if isinstance(degradation, dict):
        return DegradationConfig.from_dict(degradation)
    if degradation in PRESETS:
        return PRESETS[degradation]
    raise ValueError(f"unknown degradation {degradation!r}; choose one of {', '.join(DEGRADATIONS)} "
                     "or pass a DegradationConfig")


def describe(degradation) -> dict:
    """What a run records about its LR: {"preset": "bicubic"} or the full config dict."""
    config = get_config(degradation)
    return {"preset": "bicubic"} if config is None else config.to_dict()


# ----------------------------------------------------------------------------------------------
# random numbers: every draw gets its own stateless seed derived from the caller's seed


class _Rng:
    """Stateless draws from one seed, each with its own folded-in counter. Branches of a
    ``tf.cond`` take a ``child()``, so the draws outside them do not depend on which branch ran
    (eager runs one branch, a graph traces both: the same seed gives the same LR in both)."""

    def __init__(self, seed):
        import tensorflow as tf

        seed = tf.convert_to_tensor(seed)
        if seed.shape.rank == 0:
            seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0x5EED, tf.int64)])
        self.seed = tf.cast(seed, tf.int64)
        self.n = 0

    def next_seed(self):
        import tensorflow as tf

        self.n += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self.n)

    def child(self):
        return _Rng(self.next_seed())

    def uniform(self, lo, hi, shape=()):
        import tensorflow as tf

        return tf.random.stateless_uniform(shape, self.next_seed(), float(lo), float(hi))

    def coin(self, p):
        return self.uniform(0.0, 1.0) < p

    def choice(self, probs):
        import tensorflow as tf

        logits = tf.math.log(tf.constant([max(float(p), 1e-12) for p in probs]))[None]
        return tf.random.stateless_categorical(logits, 1, self.next_seed())[0, 0]

    def integer(self, lo, hi):
        import tensorflow as tf

        return tf.random.stateless_uniform([], self.next_seed(), int(lo), int(hi) + 1, dtype=tf.int32)


# ----------------------------------------------------------------------------------------------
# building blocks


def _grid(size):
    import tensorflow as tf

    r = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
    return tf.meshgrid(r, r, indexing="xy")


def blur_kernel(rng, cfg: RoundConfig, size: int):
    """A random (size, size) kernel summing to 1: Gaussian, generalised Gaussian or plateau,
    isotropic or anisotropic (rotated covariance), as in Real-ESRGAN."""
    import tensorflow as tf

    kind = rng.choice(cfg.kernel_probs)
    aniso = tf.equal(kind % 2, 1)
    sx = rng.uniform(*cfg.blur_sigma)
    sy = tf.where(aniso, rng.uniform(*cfg.blur_sigma), sx)
    theta = tf.where(aniso, rng.uniform(-math.pi, math.pi), 0.0)
    x, y = _grid(size)
    c, s = tf.cos(theta), tf.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    q = (u / sx) ** 2 + (v / sy) ** 2  # x^T Sigma^-1 x
    family = kind // 2  # 0 Gaussian, 1 generalised, 2 plateau
    betag = rng.uniform(*cfg.betag)
    betap = rng.uniform(*cfg.betap)
    k = tf.switch_case(tf.cast(family, tf.int32), [
        lambda: tf.exp(-0.5 * q),
        lambda: tf.exp(-0.5 * tf.pow(q + 1e-12, betag)),
        lambda: 1.0 / (1.0 + tf.pow(q + 1e-12, betap)),
    ])
    return k / tf.reduce_sum(k)


def sinc_kernel(cutoff, size: int):
    """Circular low-pass (2-D sinc, jinc) kernel of angular cut-off ``cutoff`` (radians/pixel)."""
    import tensorflow as tf

    x, y = _grid(size)
    r = tf.sqrt(x * x + y * y)
    safe = tf.where(r > 0, r, 1.0)
    k = tf.where(r > 0, cutoff * tf.math.special.bessel_j1(cutoff * safe) / (2 * math.pi * safe),
                 cutoff**2 / (4 * math.pi))
    return k / tf.reduce_sum(k)


def filter2d(image, kernel):
    """Convolve (H, W, C) with a (k, k) kernel per channel, reflect padding."""
    import tensorflow as tf

    size = int(kernel.shape[0])
    p = size // 2
    x = tf.pad(image[None], [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")
    channels = image.shape[-1] or 3
    w = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
    return tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID")[0]


def _pad_for_filter(image, size):
    """Edge-pad an image smaller than the kernel so that REFLECT padding is defined."""
    import tensorflow as tf

    shape = tf.shape(image)
    need = size // 2 + 1
    ph, pw = tf.maximum(need - shape[0], 0), tf.maximum(need - shape[1], 0)
    x = tf.concat([image, tf.repeat(image[-1:], ph, axis=0)], axis=0)
    return tf.concat([x, tf.repeat(x[:, -1:], pw, axis=1)], axis=1), shape[0], shape[1]


def _filter_any_size(image, kernel):
    x, h, w = _pad_for_filter(image, int(kernel.shape[0]))
    return filter2d(x, kernel)[:h, :w]


def resize(rng, image, size, methods=RESIZE_METHODS):
    """Resize (H, W, C) to ``size`` with a method drawn uniformly from ``methods``."""
    import tensorflow as tf

    i = rng.choice([1.0] * len(methods))
    branches = [(lambda m=m: tf.image.resize(image[None], size, method=m, antialias=False)[0])
                for m in methods]
    return tf.switch_case(tf.cast(i, tf.int32), branches)


def add_noise(rng, image, cfg: RoundConfig):
    """Gaussian (sigma on the 0-255 scale) or Poisson (shot) noise, colour or grey."""
    import tensorflow as tf

    gray = rng.coin(cfg.gray_noise_prob)
    shape = tf.shape(image)
    sigma = rng.uniform(*cfg.noise_sigma) / 255.0
    g = tf.random.stateless_normal(shape, rng.next_seed())
    g = tf.where(gray, tf.broadcast_to(g[..., :1], shape), g) * sigma
    lam_scale = rng.uniform(*cfg.poisson_scale)
    clean = tf.clip_by_value(image, 0.0, 1.0)
    grey_img = tf.reduce_mean(clean, axis=-1, keepdims=True)
    src = tf.where(gray, tf.broadcast_to(grey_img, shape), clean)
    counts = tf.random.stateless_poisson(shape, rng.next_seed(), src * 255.0, dtype=tf.float32)
    p = (counts / 255.0 - src) * lam_scale
    p = tf.where(gray, tf.broadcast_to(p[..., :1], shape), p)
    noise = tf.where(rng.coin(cfg.gaussian_noise_prob), g, p)
    return image + noise


def jpeg(rng, image, quality_range):
    """JPEG round trip at an integer quality drawn from ``quality_range`` (inclusive)."""
    import tensorflow as tf

    q = rng.integer(*quality_range)
    # libjpeg's default fast integer IDCT darkens red and blue by ~0.5% per round trip (measured
    # on astronaut); the accurate one keeps the colours, as phone decoders do.
    return tf.image.adjust_jpeg_quality(tf.clip_by_value(image, 0.0, 1.0), q, dct_method="INTEGER_ACCURATE")


def _maybe(rng, p, fn, image):
    """``fn(child_rng, image)`` with probability ``p``, else ``image``."""
    import tensorflow as tf

    sub, hit = rng.child(), rng.coin(p)
    if p <= 0:
        return image
    if p >= 1:
        return fn(sub, image)
    return tf.cond(hit, lambda: fn(sub, image), lambda: image)


def _round(rng, image, cfg: RoundConfig, kernel_size, ref_hw):
    import tensorflow as tf

    image = _filter_any_size(image, blur_kernel(rng, cfg, kernel_size))
    mode = rng.choice(cfg.resize_probs)
    factors = tf.stack([rng.uniform(*cfg.resize_up), rng.uniform(*cfg.resize_down), tf.constant(1.0)])
    factor = tf.gather(factors, mode)
    hw = tf.maximum(tf.cast(tf.round(tf.cast(ref_hw, tf.float32) * factor), tf.int32), 1)
    image = resize(rng, image, hw)
    image = tf.clip_by_value(add_noise(rng, image, cfg), 0.0, 1.0)
    return _maybe(rng, cfg.jpeg_prob, lambda r, im: jpeg(r, im, cfg.jpeg_quality), image)


# ----------------------------------------------------------------------------------------------
# the public entry point


def degrade(hr, scale: int, preset="realistic", seed=0, config: DegradationConfig | None = None):
    """LR image(s) of side HR / ``scale`` from HR float image(s) in [0, 1].

    ``hr``: (H, W, C) or (N, H, W, C), H and W multiples of ``scale``. ``preset``: "bicubic",
    "realistic" or "phone" (see the module docstring); ``config`` overrides the preset's ranges.
    ``seed``: an int or a shape-[2] int tensor (``tf.data``'s per-element seeds); the same seed
    gives the same LR; a batch gets one derived seed per image. Returns float32 in [0, 1] (JPEG
    presets: multiples of 1/255).
    """
    import tensorflow as tf

    from .resize import tf_imresize

    scale = int(scale)
    x = tf.convert_to_tensor(hr)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32) / 255.0
    x = tf.cast(x, tf.float32)
    cfg = config if config is not None else get_config(preset)
    if cfg is None:
        return tf.clip_by_value(tf_imresize(x, 1.0 / scale), 0.0, 1.0)
    if x.shape.rank == 4:
        base = _Rng(seed).seed
        seeds = tf.map_fn(lambda i: tf.random.experimental.stateless_fold_in(base, i),
                          tf.range(tf.shape(x, out_type=tf.int64)[0]), fn_output_signature=tf.int64)
        return tf.map_fn(lambda a: _degrade_one(a[0], scale, cfg, a[1]), (x, seeds),
                         fn_output_signature=tf.float32)
    return _degrade_one(x, scale, cfg, seed)


def _degrade_one(hr, scale, cfg: DegradationConfig, seed):
    import tensorflow as tf

    rng = _Rng(seed)
    hw = tf.shape(hr)[:2]
    out_hw = hw // scale
    x = _round(rng, hr, cfg.round1, cfg.kernel_size, hw)
    # round 2 resizes relative to the final LR size, as Real-ESRGAN does
    x = _maybe(rng, cfg.second_round_prob, lambda r, im: _round(r, im, cfg.round2, cfg.kernel_size, out_hw), x)
    sinc_cut = rng.uniform(*cfg.sinc_cutoff)
    s_resize, s_sinc, s_jpeg = rng.next_seed(), rng.next_seed(), rng.next_seed()

    def resize_sinc(im):  # fresh generators: both cond branches below call these
        im = resize(_Rng(s_resize), im, out_hw)
        return _maybe(_Rng(s_sinc), cfg.sinc_prob,
                      lambda r, a: _filter_any_size(a, sinc_kernel(sinc_cut, cfg.kernel_size)), im)

    def final_jpeg(im):
        return _maybe(_Rng(s_jpeg), cfg.final_jpeg_prob, lambda r, a: jpeg(r, a, cfg.final_jpeg_quality), im)

    # Real-ESRGAN: [resize + sinc] then JPEG, or JPEG then [resize + sinc], with equal odds.
    first = rng.coin(0.5)
    x = tf.cond(first, lambda: final_jpeg(resize_sinc(x)), lambda: resize_sinc(final_jpeg(x)))
    x = tf.clip_by_value(x, 0.0, 1.0)
    channels = hr.shape[-1]
    return tf.ensure_shape(x, [hr.shape[0] // scale if hr.shape[0] else None,
                               hr.shape[1] // scale if hr.shape[1] else None, channels])


__all__ = ["DEGRADATIONS", "DegradationConfig", "PRESETS", "RoundConfig", "degrade", "describe", "get_config"]
