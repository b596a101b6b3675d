"""Orientation-coherence loss: keep the direction of oriented skin structures (hairs, pigment
network, skin lines) the same in SR as in HR. The seed report names it as future work.

Per pixel, the structure tensor J = G_sigma * (grad I grad I^T) of the luminance gives the dominant
orientation theta and the coherence c = (l1 - l2) / (l1 + l2) in [0, 1] (1: one clear direction,
0: flat or isotropic). Orientations are compared as *doubled-angle* vectors
u = (cos 2 theta, sin 2 theta) = (Jxx - Jyy, 2 Jxy) / (l1 - l2), so that 0 and 180 degrees (the
same line) agree. The loss is the HR-coherence-weighted mean of |u_sr - u_hr|^2 / 2 = 1 - cos 2 dtheta:
0 for identical images, 1 where SR's orientation is perpendicular or missing, and regions without a
clear HR orientation (flat skin, isotropic noise) do not count. Every step is smooth (the unit
vector is regularised by ``eps``), so the loss is differentiable.
"""

import math

import tensorflow as tf

# BT.601 luma weights (the Y of the metrics; offsets do not matter for gradients)
_LUMA = (0.299, 0.587, 0.114)


def _gaussian_kernel(sigma):
    radius = max(1, int(math.ceil(3 * sigma)))
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    g = tf.exp(-0.5 * (x / sigma) ** 2)
    g = g / tf.reduce_sum(g)
    return g, radius


def _smooth(x, sigma):
    """Separable Gaussian blur of (N, H, W, C), reflect padding."""
    g, r = _gaussian_kernel(sigma)
    c = x.shape[-1]
    x = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    kx = tf.tile(g[None, :, None, None], [1, 1, c, 1])
    ky = tf.tile(g[:, None, None, None], [1, 1, c, 1])
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "VALID")


def structure_tensor(images, sigma=1.5):
    """(Jxx, Jxy, Jyy), each (N, H, W, 1), of the luminance of RGB (or grey) images in [0, 1].

    Gradients: Sobel (``tf.image.sobel_edges``, reflect padding) / 8, i.e. per-pixel differences;
    integration window: Gaussian of ``sigma`` pixels.
    """
    x = tf.cast(images, tf.float32)
    if x.shape[-1] == 3:
        x = tf.reduce_sum(x * tf.constant(_LUMA), axis=-1, keepdims=True)
    sob = tf.image.sobel_edges(x) / 8.0  # (N, H, W, 1, 2): (d/dy, d/dx)
    gy, gx = sob[..., 0], sob[..., 1]
    j = _smooth(tf.concat([gx * gx, gx * gy, gy * gy], axis=-1), sigma)
    return j[..., 0:1], j[..., 1:2], j[..., 2:3]


def orientation_field(images, sigma=1.5, eps=1e-5, flat=1e-4):
    """(u, coherence): doubled-angle unit vectors (N, H, W, 2) and coherence (N, H, W, 1).

    ``eps`` regularises |v| in u = v / sqrt(|v|^2 + eps^2) (smooth where there is no orientation);
    ``flat`` is added to the tensor's trace in c = |v| / (trace + flat), so that nearly flat regions
    (gradients around 1/100 of the range) get a low coherence.
    """
    jxx, jxy, jyy = structure_tensor(images, sigma)
    v = tf.concat([jxx - jyy, 2.0 * jxy], axis=-1)  # angle 2 theta, length l1 - l2
    norm = tf.sqrt(tf.reduce_sum(v * v, axis=-1, keepdims=True) + eps * eps)
    return v / norm, (norm - eps) / (jxx + jyy + flat)


def orientation_coherence_loss(sr, hr, sigma=1.5, eps=1e-5, flat=1e-4):
    """Coherence-weighted doubled-angle orientation error between ``sr`` and ``hr`` (a scalar).

    ``sr``, ``hr``: (N, H, W, 3) (or 1 channel) in [0, 1]. Mean over pixels of
    c_hr * |u_sr - u_hr|^2 / 2, divided by the mean of c_hr: 0 for identical images, up to 2 (1 for
    a lost orientation, 2 for a perpendicular one where SR is fully coherent). The HR side is a
    constant; see the module docstring for the definitions.
    """
    u_sr, _ = orientation_field(sr, sigma, eps, flat)
    u_hr, c_hr = orientation_field(tf.stop_gradient(hr), sigma, eps, flat)
    u_hr, c_hr = tf.stop_gradient(u_hr), tf.stop_gradient(c_hr)
    err = 0.5 * tf.reduce_sum(tf.square(u_sr - u_hr), axis=-1, keepdims=True)
    return tf.reduce_sum(c_hr * err) / (tf.reduce_sum(c_hr) + 1e-8)


def orientation_error_degrees(sr, hr, sigma=1.5, min_coherence=0.3):
    """Mean absolute orientation difference in degrees (0-90), weighted by HR coherence, over the
    pixels whose HR coherence is at least ``min_coherence``: an evaluation number, not a loss."""
    u_sr, _ = orientation_field(sr, sigma)
    u_hr, c_hr = orientation_field(hr, sigma)
    cos2 = tf.clip_by_value(tf.reduce_sum(u_sr * u_hr, axis=-1, keepdims=True)
                            / (tf.norm(u_sr, axis=-1, keepdims=True) * tf.norm(u_hr, axis=-1, keepdims=True) + 1e-12),
                            -1.0, 1.0)
    dtheta = tf.acos(cos2) / 2.0 * (180.0 / math.pi)
    w = c_hr * tf.cast(c_hr >= min_coherence, tf.float32)
    return tf.reduce_sum(w * dtheta) / (tf.reduce_sum(w) + 1e-8)
