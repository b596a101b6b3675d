"""Building blocks shared by the generators and discriminators (channels-last).

Conventions follow the EdgeConnect reference (docs/conventions.md, "Edge-informed SISR"): convolution kernels drawn from
N(0, 0.02), biases zero, instance norm without affine parameters (eps 1e-5), reflection padding
before the 7x7 and residual convolutions, spectral norm through
``keras.layers.SpectralNormalization``.

Spectral norm note: Keras' wrapper divides the kernel *variable* by its estimated largest singular
value in place at every ``training=True`` call (one power iteration) and does not back-propagate
through sigma, whereas torch's ``spectral_norm`` re-parametrises the weight. Both keep the layer's
Lipschitz constant near 1, which is what the GAN needs. For transposed convolutions Keras reshapes
the kernel to (-1, in_channels); torch uses (out_channels, -1); the estimated sigma can differ.
"""

import keras
from keras import layers, ops

PACKAGE = "skinsr_tf"
# How a generator doubles H and W: "transpose" (a strided transposed conv, the references'),
# "resize" (nearest x2, then a stride-1 conv: no output phase gets a kernel of its own) or
# "bilinear" (bilinear x2, then the conv: nor do the 2x2 blocks that nearest x2 leaves behind).
UPSAMPLE_MODES = ("transpose", "resize", "bilinear")
UPSAMPLE_INTERPOLATION = {"resize": "nearest", "bilinear": "bilinear"}  # the modes that resize


def check_upsample(mode, who):
    """Raise a ValueError naming ``who`` unless ``mode`` is one of ``UPSAMPLE_MODES``."""
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"{who}: upsample must be one of {UPSAMPLE_MODES}, got {mode!r}")


def conv_initializer():
    """N(0, 0.02) kernel initializer (a fresh instance per layer, as Keras requires)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ReflectionPadding2D(layers.Layer):
    """Reflection padding of H and W (torch ``nn.ReflectionPad2d``; ``np.pad(mode="reflect")``).

    ``padding`` is an int (all sides) or ((top, bottom), (left, right)). Each pad must be smaller
    than the padded dimension.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        self.padding = tuple(tuple(int(p) for p in pair) for pair in padding)
        if len(self.padding) != 2 or any(len(p) != 2 or min(p) < 0 for p in self.padding):
            raise ValueError(
                f"ReflectionPadding2D: padding must be an int or ((top, bottom), (left, right)) "
                f"of non-negative ints, got {padding!r}"
            )

    def call(self, inputs):
        (t, b), (l, r) = self.padding
        return ops.pad(inputs, [[0, 0], [t, b], [l, r], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        (t, b), (l, r) = self.padding
        n, h, w, c = input_shape
        return (n, None if h is None else h + t + b, None if w is None else w + l + r, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def instance_norm(name=None):
    """Instance norm without affine parameters, eps 1e-5 (torch ``InstanceNorm2d`` default)."""
    return layers.GroupNormalization(
        groups=-1, epsilon=1e-5, center=False, scale=False, name=name
    )


def spectral_norm(layer, enabled=True, name=None):
    """Wrap ``layer`` in ``keras.layers.SpectralNormalization`` (1 power iteration) if enabled.

    ``autocast=False``: under mixed precision the power iteration and the normalised kernel it
    writes back stay float32 (autocast would round the float32 master kernel to float16 at every
    training call, and the float16 norms can overflow to NaN); the wrapped convolution still
    computes in float16.
    """
    if not enabled:
        return layer
    return layers.SpectralNormalization(layer, power_iterations=1, name=name, autocast=False)


def conv(
    filters,
    kernel_size,
    strides=1,
    dilation_rate=1,
    use_bias=True,
    sn=False,
    transpose=False,
    padding="valid",
    name=None,
):
    """Conv2D (or Conv2DTranspose) with the reference initialisation, optionally spectral-normed.

    With ``sn`` the wrapper takes ``name`` and the inner convolution ``name + "_conv"``.
    """
    cls = layers.Conv2DTranspose if transpose else layers.Conv2D
    inner_name = f"{name}_conv" if (sn and name) else name
    layer = cls(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        kernel_initializer=conv_initializer(),
        bias_initializer="zeros",
        name=inner_name,
    )
    return spectral_norm(layer, sn, name=name)


def residual_block(x, filters=None, dilation=2, sn=False, name="res"):
    """EdgeConnect residual block on tensor ``x``.

    reflect-pad d, conv 3x3 dilation d, IN, ReLU, reflect-pad 1, conv 3x3, IN, add input; no ReLU
    after the add. As in the reference the convolutions have no bias when spectral-normed.
    """
    filters = filters or x.shape[-1]
    y = ReflectionPadding2D(dilation, name=f"{name}_pad1")(x)
    y = conv(filters, 3, dilation_rate=dilation, use_bias=not sn, sn=sn, name=f"{name}_conv1")(y)
    y = instance_norm(name=f"{name}_in1")(y)
    y = layers.ReLU(name=f"{name}_relu")(y)
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = conv(filters, 3, use_bias=not sn, sn=sn, name=f"{name}_conv2")(y)
    y = instance_norm(name=f"{name}_in2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


@keras.saving.register_keras_serializable(package=PACKAGE)
class ScaledTanh(layers.Layer):
    """(tanh(x) + 1) / 2: the SR generators' output in [0, 1]."""

    def call(self, inputs):
        return (ops.tanh(inputs) + 1.0) * 0.5


@keras.saving.register_keras_serializable(package=PACKAGE)
class BilinearUpSampling2D(layers.Layer):
    """x2 bilinear enlargement (half-pixel centres, edges clamped), for inputs of any size.

    Keras' ``UpSampling2D(interpolation="bilinear")`` does not build for inputs of unknown height
    and width inside a ``tf.function``, and the models infer on any image size; this calls
    ``tf.image.resize`` with the traced size (5x faster than the same sum written in keras.ops).
    """

    def call(self, inputs):
        import tensorflow as tf

        return tf.image.resize(inputs, 2 * tf.shape(inputs)[1:3], method="bilinear")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Blur2D(layers.Layer):
    """Fixed [1, 2, 1] x [1, 2, 1] / 16 blur per channel, reflection-padded (same size out).

    Before a stride-2 convolution it removes most of what would alias (Zhang 2019, "Making
    convolutional networks shift-invariant again"): the frequencies near 1/2 cycle per pixel that
    subsampling folds onto low ones, which makes the features depend on the sampling phase."""

    def call(self, inputs):
        x = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        x = (x[:, :-2] + 2.0 * x[:, 1:-1] + x[:, 2:]) * 0.25
        return (x[:, :, :-2] + 2.0 * x[:, :, 1:-1] + x[:, :, 2:]) * 0.25


def upsampling_layer(mode, name):
    """The parameter-free x2 enlargement of resizing ``mode`` ("resize" or "bilinear")."""
    interpolation = UPSAMPLE_INTERPOLATION[mode]
    if interpolation == "bilinear":
        return BilinearUpSampling2D(name=f"{name}_bilinear")
    return layers.UpSampling2D(2, interpolation=interpolation, name=f"{name}_{interpolation}")


def count_spectral_norm(model):
    """Number of ``SpectralNormalization`` layers in ``model`` (nested models included)."""
    n = 0
    for layer in model.layers:
        if isinstance(layer, layers.SpectralNormalization):
            n += 1
        elif isinstance(layer, keras.Model):
            n += count_spectral_norm(layer)
    return n
