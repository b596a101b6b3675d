"""Bicubic baseline: MATLAB `imresize(lr, s, 'bicubic')` as a Keras model with no weights.

Upscaling by an integer factor s is a polyphase filter: output pixel s*i + p samples the input at
i + d_p with d_p = (p + 0.5)/s - 0.5 (MATLAB's u = x/s + 0.5(1 - 1/s)), weighted by the Keys cubic
(a = -0.5) on the taps i-2..i+2. MATLAB mirrors the border (symmetric padding). So the model is:
symmetric pad 2, one (1 x 5) convolution producing the s phases, interleave; the same along the
other axis. That equals `skinsr_tf.data.resize.imresize(x, s)` to float32 rounding, keeps the
border exact, and uses only TFLite builtin ops (MIRROR_PAD, CONV_2D, RESHAPE, TRANSPOSE), unlike
`tf.image.resize(..., "bicubic")`, which has no TFLite builtin.
"""

import keras
import numpy as np

from skinsr_tf.models.base import SRModel


def keys_cubic(x, a=-0.5):
    """Keys' cubic convolution kernel (MATLAB's bicubic uses a = -0.5)."""
    x = np.abs(np.asarray(x, np.float64))
    return np.where(
        x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
        np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))


def phase_weights(scale):
    """(scale, 5) weights of taps i-2..i+2 for each output phase p of an x`scale` upscaling."""
    taps = np.arange(-2, 3)
    rows = []
    for p in range(scale):
        d = (p + 0.5) / scale - 0.5
        wgt = keys_cubic(d - taps)
        rows.append(wgt / wgt.sum())  # MATLAB normalises each row
    return np.stack(rows)


def bicubic_upscale(images, scale, quantize=False):
    """MATLAB-bicubic x`scale` upscaling of a float batch (N, h, w, 3) in Keras ops (graph-safe).

    `quantize=True` rounds to 8-bit levels between the two passes, as MATLAB does on uint8.
    """
    ops = keras.ops
    w = phase_weights(scale).astype(np.float32)  # (s, 5)
    # Per-channel 5-tap filters, one output channel per phase, phase-major so that a reshape to
    # (..., s, C) interleaves the phases along the axis.
    kernel = np.zeros((1, 5, 3, 3 * scale), np.float32)
    for p in range(scale):
        for c in range(3):
            kernel[0, :, c, p * 3 + c] = w[p]
    kernel = ops.convert_to_tensor(kernel)

    def along_width(x):
        x = ops.pad(x, ((0, 0), (0, 0), (2, 2), (0, 0)), mode="symmetric")
        y = ops.conv(x, kernel, strides=1, padding="valid")
        shape = ops.shape(y)
        return ops.reshape(y, (shape[0], shape[1], shape[2] * scale, 3))

    # Height first, as MATLAB (it resizes the axis with the smaller factor first, height on ties).
    x = ops.transpose(ops.cast(images, "float32"), (0, 2, 1, 3))
    x = along_width(x)
    if quantize:
        x = ops.clip(ops.round(x * 255.0), 0.0, 255.0) / 255.0
    return along_width(ops.transpose(x, (0, 2, 1, 3)))


class Bicubic(SRModel):
    """MATLAB-bicubic upscaling by `scale` (no learned weights).

    `call(lr)` returns float32 values unclipped (bicubic overshoots at edges), exactly like
    `imresize` on floats. `call(lr, quantize=True)` rounds and clips to 8-bit levels between the
    two passes, as MATLAB does on uint8 images; `super_resolve` (uint8 in and out) uses it, so it
    equals `imresize(lr_uint8, scale)`.
    """

    model_name = "bicubic"
    has_weights = False
    max_whole_pixels = 4096 * 4096  # cheap: a few float32 copies of the output (~1 GB at 4096^2)

    def __init__(self, scale=4, preset=None, **kwargs):
        super().__init__(scale=scale, preset=preset, **kwargs)

    @property
    def default_tile_overlap(self):
        return 8

    def call(self, inputs, training=False, quantize=False):
        return bicubic_upscale(inputs, self.scale, quantize=quantize)

    def _predict(self, batch):
        import tensorflow as tf

        if self._predict_fn is None:
            self._predict_fn = tf.function(lambda x: self(x, quantize=True), reduce_retracing=True)
        return self._predict_fn(tf.convert_to_tensor(batch, tf.float32)).numpy()

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.scale
        return (n, None if h is None else h * s, None if w is None else w * s, c)
