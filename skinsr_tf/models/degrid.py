"""Degridding: remove the period-``scale`` component of what a network adds to bicubic.

A decoder's grid is the part of its output that repeats every s = ``scale`` pixels, with an
amplitude that follows the content. Its local estimate, for an image r:

    P(r) = C(r - T(r))

T averages each pixel's s x s neighbourhood with a (2s - 1)-tap triangle per axis, whose
frequency response is zero at every harmonic k/s cycles per pixel but DC: r - T(r) keeps what
varies from phase to phase. C averages the pixels of the same phase, at offsets (m s, n s) with
|m|, |n| <= ``window`` (triangular weights; by default ``DEGRID_RADIUS`` // s, so that the same
HR area is averaged at every scale: the grid's amplitude follows the content over HR pixels): its
response is 1 at every harmonic and falls to ~0 within about 1 / (window s) of it. So P passes the spectral lines of a period-s pattern (the
ones `metrics.periodic_energy` measures) and the narrow bands around them, and r - P(r) is r with
those notched out. Both averages are normalised over the pixels inside the image (no padding
values enter), and both are shift-invariant, so tiles agree where they overlap.

`degrid(sr, bicubic)` notches only the correction, SR - bicubic: the bicubic image carries what
the LR image says at those frequencies and stays untouched.
"""

import numpy as np
import tensorflow as tf

DEGRID_RADIUS = 32  # HR pixels each side over which a phase is averaged (8 LR pixels at x4, 4 at x8)


def default_window(scale):
    """Same-phase neighbours each side (LR pixels) that `DEGRID_RADIUS` HR pixels hold."""
    return max(1, DEGRID_RADIUS // int(scale))


def _taps(scale, window):
    """(triangle over one s x s cell, same-phase comb) 1-D weights, each summing to 1."""
    s = int(scale)
    triangle = np.array([s - abs(d) for d in range(1 - s, s)], np.float32)
    comb = np.array([window + 1 - abs(m) for m in range(-window, window + 1)], np.float32)
    return triangle / triangle.sum(), comb / comb.sum()


def _separable(y, taps):
    """``y`` filtered with the 1-D ``taps`` along both axes, zero padding (depthwise convolution)."""
    c, k = y.shape[-1], len(taps)
    for shape in ((k, 1), (1, k)):
        kernel = tf.constant(np.tile(taps.reshape(shape + (1, 1)), (1, 1, c, 1)))
        y = tf.nn.depthwise_conv2d(y, kernel, [1, 1, 1, 1], "SAME")
    return y


def _separable_few_channels(y, taps):
    """`_separable` as a weighted sum of shifted slices: the same sums, on CPU about twice as fast
    for a few channels (and slower for many)."""
    r = len(taps) // 2
    for axis in (1, 2):
        n = tf.shape(y)[axis]
        pad = [[0, 0]] * 4
        pad[axis] = [r, r]
        padded = tf.pad(y, pad)
        y = tf.add_n([float(t) * (padded[:, i:i + n] if axis == 1 else padded[:, :, i:i + n])
                      for i, t in enumerate(taps)])
    return y


def _inside_weight(n, taps, dilation):
    """Per position along an axis of length ``n``: the weight of the 1-D ``taps`` (spaced
    ``dilation`` apart) that falls inside the axis."""
    kernel = tf.constant(taps.reshape(-1, 1, 1))
    return tf.nn.conv1d(tf.ones([1, n, 1]), kernel, 1, "SAME", dilations=dilation)[0, :, 0]


def _normalised_average(x, taps, dilation):
    """Separable average of ``x`` with 1-D ``taps`` spaced ``dilation`` px apart, over the pixels
    inside the image only (zero padding, divided by the weight that fell inside: a product of
    two 1-D profiles).

    A dilated filter acts on each phase of the ``dilation`` x ``dilation`` cell on its own, so it
    runs undilated on the phases side by side (space_to_depth): the same sums, 4x faster on CPU
    than TensorFlow's dilated depthwise convolution."""
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    if dilation > 1:
        y = tf.pad(x, [[0, 0], [0, (-h) % dilation], [0, (-w) % dilation], [0, 0]])
        y = tf.nn.depth_to_space(_separable(tf.nn.space_to_depth(y, dilation), taps), dilation)[:, :h, :w]
    else:
        y = _separable_few_channels(x, taps)
    inside = (_inside_weight(h, taps, dilation)[:, None, None]
              * _inside_weight(w, taps, dilation)[None, :, None])
    return y / inside


def periodic_component(image, scale, window=None):
    """P(image): its local period-``scale`` pattern (same shape, float32; see the module)."""
    x = tf.cast(image, tf.float32)
    triangle, comb = _taps(scale, default_window(scale) if window is None else window)
    return _normalised_average(x - _normalised_average(x, triangle, 1), comb, int(scale))


def degrid(sr, bicubic, scale, window=None):
    """``sr`` with the period-``scale`` component of its correction to ``bicubic`` removed."""
    sr = tf.cast(sr, tf.float32)
    return sr - periodic_component(sr - tf.cast(bicubic, tf.float32), scale, window)
