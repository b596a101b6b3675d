"""Pixel-space losses: L1, MSE, gradient-map losses, Lu & Chen's MixGE, SSIM.

Inputs are float (N, H, W, C) batches in [0, 1]; every loss returns a float32 scalar (the mean).
Gradient maps come from ``skinsr_tf.data.edges``: "central" = ``gradient_map`` (docs/conventions.md, "SPSR",
SPSR's central differences), "sobel" = ``sobel_gradient_map`` (Lu & Chen); both per channel,
zero padding, sqrt(. + 1e-6).
"""

from keras import ops

GRADIENT_METHODS = ("central", "sobel")
DISTANCES = ("l1", "mse")


def l1_loss(sr, hr):
    """Mean absolute error."""
    return ops.mean(ops.abs(ops.cast(sr, "float32") - ops.cast(hr, "float32")))


def mse_loss(sr, hr):
    """Mean squared error."""
    return ops.mean(ops.square(ops.cast(sr, "float32") - ops.cast(hr, "float32")))


def get_distance(name):
    """'l1' -> l1_loss, 'mse' -> mse_loss."""
    if name not in DISTANCES:
        raise ValueError(f"unknown pixel distance {name!r}; choose one of {DISTANCES}")
    return l1_loss if name == "l1" else mse_loss


def gradient_map(images, method="central"):
    """Gradient-magnitude map of a batch with ``method`` "central" or "sobel" (same shape)."""
    from skinsr_tf.data import edges

    if method not in GRADIENT_METHODS:
        raise ValueError(f"unknown gradient method {method!r}; choose one of {GRADIENT_METHODS}")
    x = ops.cast(images, "float32")
    return edges.gradient_map(x) if method == "central" else edges.sobel_gradient_map(x)


def gradient_loss(sr, hr, method="central", distance="l1"):
    """Distance between the gradient maps of ``sr`` and ``hr`` (the target's map is a constant)."""
    dist = get_distance(distance)
    return dist(gradient_map(sr, method), ops.stop_gradient(gradient_map(hr, method)))


def mix_ge_loss(sr, hr, lambda_g=0.1):
    """Lu & Chen's mixed gradient error: MSE + lambda_g * MSE of the Sobel gradient magnitudes."""
    return mse_loss(sr, hr) + lambda_g * gradient_loss(sr, hr, method="sobel", distance="mse")


def ssim_loss(sr, hr, max_val=1.0):
    """1 - mean SSIM (Gaussian window 11, sigma 1.5, per channel); images need H, W >= 11."""
    import tensorflow as tf

    ssim = tf.image.ssim(
        tf.cast(sr, tf.float32), tf.cast(hr, tf.float32), max_val=max_val,
        filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
    )
    return 1.0 - tf.reduce_mean(ssim)
