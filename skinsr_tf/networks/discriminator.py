"""PatchGAN discriminator of EdgeConnect (docs/conventions.md, "Edge-informed SISR"), returning all five activations.

conv 4x4 s2 C, s2 2C, s2 4C, s1 8C, s1 1 (each after a zero pad of 1, as the reference's
padding=1), LeakyReLU 0.2 after the first four, spectral norm on all, no bias, no norm layers.
The outputs are [conv1, conv2, conv3, conv4, logits] (LeakyReLU applied to the first four; the
last is raw logits): the list feature matching uses. 128 px in -> 14 x 14 logits
(side/8 - 2 in general); the input side must be at least 24 px.
"""

import keras
from keras import layers

from .layers import conv


def build_patch_discriminator(
    in_channels, base_channels=64, name=None, spectral_norm=True, input_size=None
):
    """Functional PatchGAN: (N, H, W, in_channels) -> list of 5 activations (last = logits)."""
    c = base_channels
    size = (None, None) if input_size is None else tuple(input_size)
    inputs = layers.Input(shape=(*size, in_channels), name="input")
    x = inputs
    outputs = []
    specs = [(c, 2), (2 * c, 2), (4 * c, 2), (8 * c, 1), (1, 1)]
    for i, (filters, stride) in enumerate(specs, start=1):
        x = layers.ZeroPadding2D(1, name=f"conv{i}_pad")(x)
        x = conv(filters, 4, strides=stride, use_bias=False, sn=spectral_norm, name=f"conv{i}")(x)
        if i < len(specs):
            x = layers.LeakyReLU(negative_slope=0.2, name=f"conv{i}_lrelu")(x)
        else:
            x = layers.Activation("linear", name="logits", dtype="float32")(x)
        outputs.append(x)
    return keras.Model(inputs, outputs, name=name or "patch_discriminator")
