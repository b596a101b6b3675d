"""Modified U-Net of Lu & Chen (docs/conventions.md, "U-Net"): super-resolution straight from the LR image.

Input: the LR image (N, h, w, 3). Every block is one conv 3x3 + ReLU (no batch norm).
- Encoder at LR: conv -> C, then 4 downsamplings (max-pool 2 + conv): 2C, 4C, 8C, 8C
  (64, 128, 256, 512, 512 at C = 64).
- "Upsampling at the beginning": the first LR features are enlarged early by a chain of
  conv-transpose 2x2 s2 (+ ReLU) to 2h, 4h, ... scale*h, giving HR-resolution skips.
- Decoder: up blocks (conv-transpose 2x2 s2, concat skip, conv) back to LR size, then further up
  blocks through the early HR skips up to scale*h; 1x1 conv -> 3, sigmoid.
h and w must be multiples of ``INPUT_MULTIPLE`` (16 = 2**depth); the model classes pad.
Kernels use He-normal initialisation (ReLU network).
``upsample="resize"`` replaces every conv-transpose 2x2 s2 by nearest-neighbour x2 enlargement
and a conv 3x3 (Odena et al. 2016, "Deconvolution and checkerboard artifacts"): a 2x2 s2
transposed conv gives each of the 4 output phases its own kernel tap, so any difference between
the taps is a period-2 pattern, and the chain of log2(scale) of them a period-scale grid.
``upsample="bilinear"`` enlarges bilinearly instead of by nearest neighbour.
"""

import math

import keras
from keras import layers

from .layers import UPSAMPLE_INTERPOLATION, check_upsample, upsampling_layer

INPUT_MULTIPLE = 16


def check_scale(scale, who):
    """Return log2(scale); the U-Nets need a power-of-two scale >= 2."""
    if not isinstance(scale, int) or scale < 2 or scale & (scale - 1):
        raise ValueError(f"{who}: scale must be a power of two >= 2 (2, 4, 8), got {scale!r}")
    return int(math.log2(scale))


def conv_relu(filters, kernel_size=3, name=None):
    """Conv 'same' + ReLU as one layer (He-normal kernels, zero bias)."""
    return layers.Conv2D(
        filters, kernel_size, padding="same", activation="relu",
        kernel_initializer="he_normal", name=name,
    )


def up_conv(filters, activation=None, name=None, mode="transpose"):
    """Exact x2 enlargement: conv-transpose 2x2 stride 2, or (``mode="resize"`` / "bilinear")
    nearest / bilinear x2 then conv 3x3, which paints no period-2 pattern of its own."""
    check_upsample(mode, "up_conv")
    if mode in UPSAMPLE_INTERPOLATION:
        return keras.Sequential([
            upsampling_layer(mode, name),
            layers.Conv2D(filters, 3, padding="same", activation=activation,
                          kernel_initializer="he_normal", name=f"{name}_conv"),
        ], name=name)
    return layers.Conv2DTranspose(
        filters, 2, strides=2, activation=activation,
        kernel_initializer="he_normal", name=name,
    )


def level_channels(base_channels, depth):
    """[C, 2C, 4C, 8C, 8C] for depth 4: doubling, capped at 8C."""
    return [base_channels * min(2**i, 8) for i in range(depth + 1)]


def build_unet(scale, base_channels=64, depth=4, name=None, input_size=None, upsample="transpose"):
    """Functional modified U-Net: (N, h, w, 3) -> (N, scale*h, scale*w, 3) in [0, 1]."""
    n_up = check_scale(scale, "build_unet")
    check_upsample(upsample, "build_unet")
    ch = level_channels(base_channels, depth)
    size = (None, None) if input_size is None else tuple(input_size)
    inputs = layers.Input(shape=(*size, 3), name="lr")

    x = conv_relu(ch[0], name="enc0")(inputs)
    skips = [x]
    hr_skips = []
    y = x
    for k in range(1, n_up + 1):
        y = up_conv(ch[0], activation="relu", name=f"early_up{k}", mode=upsample)(y)
        hr_skips.append(y)
    for i in range(1, depth + 1):
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = conv_relu(ch[i], name=f"enc{i}")(x)
        skips.append(x)
    for i in range(depth - 1, -1, -1):
        x = up_conv(ch[i], name=f"dec{i}_up", mode=upsample)(x)
        x = layers.Concatenate(name=f"dec{i}_concat")([x, skips[i]])
        x = conv_relu(ch[i], name=f"dec{i}")(x)
    for k, skip in enumerate(hr_skips, start=1):
        x = up_conv(ch[0], name=f"hr{k}_up", mode=upsample)(x)
        x = layers.Concatenate(name=f"hr{k}_concat")([x, skip])
        x = conv_relu(ch[0], name=f"hr{k}")(x)
    outputs = layers.Conv2D(3, 1, activation="sigmoid", name="out", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name or f"unet_x{scale}")
