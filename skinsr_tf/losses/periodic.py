"""Periodic-error loss: the part of SR - HR that repeats every ``scale`` pixels, locally.

A period-s pattern (a decoder's grid) is a signal whose value depends only on (y mod s, x mod s).
Its local estimate in the error e = SR - HR: split e into its s x s phases (e[dy::s, dx::s]),
average each phase over ``window`` x ``window`` LR pixels, and subtract the mean over the phases.
What remains is e near the harmonics k/s cycles per pixel (the spectral lines that
``metrics.periodic_energy`` measures), within a bandwidth of about 1 / (window s): a grid whose
amplitude varies slowly across the image is caught, and content that fits HR costs nothing.
The VGG and adversarial terms pay the generator for high-frequency energy; the generator's
cheapest is its own period-s pattern, and this term makes exactly that one cost.
"""

import tensorflow as tf

PERIODIC_WINDOW = 8  # LR pixels a side over which each phase of the error is averaged


def periodic_error(sr, hr, scale, window=PERIODIC_WINDOW):
    """(N, h, w, s*s, C) local phase means of SR - HR minus their mean over the s*s phases.

    SR and HR are cropped to multiples of ``scale`` (bottom/right); h, w = H/s - window + 1 etc.
    """
    s = int(scale)
    e = tf.cast(sr, tf.float32) - tf.stop_gradient(tf.cast(hr, tf.float32))
    shape = tf.shape(e)
    h, w, c = shape[1] // s, shape[2] // s, e.shape[-1]
    phases = tf.nn.space_to_depth(e[:, : h * s, : w * s, :], s)  # (N, h, w, s*s*C): (dy, dx, c)
    local = tf.nn.avg_pool2d(phases, window, 1, "VALID")
    local = tf.reshape(local, tf.concat([tf.shape(local)[:3], [s * s, c]], 0))
    return local - tf.reduce_mean(local, axis=3, keepdims=True)


def periodic_error_loss(sr, hr, scale, window=PERIODIC_WINDOW):
    """Mean absolute :func:`periodic_error` (float32 scalar); SR and HR need sides >= window x scale."""
    return tf.reduce_mean(tf.abs(periodic_error(sr, hr, scale, window)))
