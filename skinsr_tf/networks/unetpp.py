"""U-Net++ variant of the modified U-Net (docs/conventions.md, "U-Net"), same early-upsampling HR path.

Nodes X(i, j) (level i, column j) with 2 conv 3x3 + ReLU per block:
  X(i, 0) = block(maxpool(X(i-1, 0)))          (X(0, 0) = block(LR image))
  X(i, j) = block(concat[X(i, 0..j-1), up(X(i+1, j-1))])    up = conv-transpose 2x2 s2
Channels C, 2C, 4C, 8C, 8C: half the U-Net's at the default C = 32 (the report).
The HR head (shared weights): X(0, 0) enlarged early by conv-transpose 2x2 s2 (+ ReLU) to 2h, ...,
scale*h gives HR skips; up blocks (conv-transpose, concat skip, block) reach scale*h; 1x1 conv -> 3,
sigmoid. With ``deep_supervision`` the head is applied to X(0, 1..depth) and the model returns the
list of those HR predictions (last = full depth, the one to use at inference); otherwise only
X(0, depth)'s. h and w must be multiples of ``INPUT_MULTIPLE`` (16); the model classes pad.
"""

import keras
from keras import layers

from .layers import check_upsample
from .unet import check_scale, conv_relu, level_channels, up_conv

INPUT_MULTIPLE = 16


class _Block:
    """Two conv 3x3 + ReLU layers, reusable on several tensors (shared weights)."""

    def __init__(self, filters, name):
        self.convs = [conv_relu(filters, name=f"{name}_conv{k}") for k in (1, 2)]

    def __call__(self, x):
        for c in self.convs:
            x = c(x)
        return x


def build_unetpp(
    scale, base_channels=32, deep_supervision=False, depth=4, name=None, input_size=None,
    upsample="transpose",
):
    """Functional U-Net++: (N, h, w, 3) -> (N, scale*h, scale*w, 3) in [0, 1] (or a list).
    ``upsample``: "transpose" or "resize", as :func:`skinsr_tf.networks.unet.build_unet`."""
    n_up = check_scale(scale, "build_unetpp")
    check_upsample(upsample, "build_unetpp")
    ch = level_channels(base_channels, depth)
    size = (None, None) if input_size is None else tuple(input_size)
    inputs = layers.Input(shape=(*size, 3), name="lr")

    X = {(0, 0): _Block(ch[0], "x0_0")(inputs)}
    for i in range(1, depth + 1):
        pooled = layers.MaxPooling2D(2, name=f"pool{i}")(X[(i - 1, 0)])
        X[(i, 0)] = _Block(ch[i], f"x{i}_0")(pooled)
    for j in range(1, depth + 1):
        for i in range(0, depth - j + 1):
            up = up_conv(ch[i], name=f"x{i}_{j}_up", mode=upsample)(X[(i + 1, j - 1)])
            cat = layers.Concatenate(name=f"x{i}_{j}_concat")([X[(i, k)] for k in range(j)] + [up])
            X[(i, j)] = _Block(ch[i], f"x{i}_{j}")(cat)

    hr_skips = []
    y = X[(0, 0)]
    for k in range(1, n_up + 1):
        y = up_conv(ch[0], activation="relu", name=f"early_up{k}", mode=upsample)(y)
        hr_skips.append(y)
    head_ups = [up_conv(ch[0], name=f"hr{k}_up", mode=upsample) for k in range(1, n_up + 1)]
    head_blocks = [_Block(ch[0], f"hr{k}") for k in range(1, n_up + 1)]
    head_out = layers.Conv2D(3, 1, activation="sigmoid", name="out", dtype="float32")

    def head(x):
        for up, block, skip in zip(head_ups, head_blocks, hr_skips):
            x = block(layers.Concatenate()([up(x), skip]))
        return head_out(x)

    if deep_supervision:
        outputs = [head(X[(0, j)]) for j in range(1, depth + 1)]
    else:
        outputs = head(X[(0, depth)])
    return keras.Model(inputs, outputs, name=name or f"unetpp_x{scale}")
