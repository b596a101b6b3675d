"""EdgeConnect generator body (docs/conventions.md, "Edge-informed SISR"): the edge generator and the SR generator.

Both work at HR size. Layout (C = ``base_channels``):
  encoder  reflect-pad 3, conv 7x7 -> C, IN, ReLU          ("enc1")
           pad 1, conv 4x4 s2 -> 2C, IN, ReLU              ("enc2")
           pad 1, conv 4x4 s2 -> 4C, IN, ReLU              ("enc3")
  body     ``num_blocks`` dilated residual blocks at 4C     ("res")
  decoder  conv-transpose 4x4 s2 -> 2C, IN, ReLU            ("dec1")
           conv-transpose 4x4 s2 -> C, IN, ReLU             ("dec2")
           reflect-pad 3, conv 7x7 -> out                   ("logits")
Edge kind: spectral norm on every conv but the last, sigmoid. SR kind: no spectral norm,
(tanh + 1) / 2. The strided convs pad 1 explicitly and the transposed convs crop 1 per side
(Keras "same" for k=4, s=2 equals torch padding=1), so H and W halve / double exactly.
``upsample="resize"`` (not the reference's) makes each decoder layer nearest x2, reflect-pad 1,
conv 3x3: a 4x4 s2 transposed conv gives each of the 4 output phases its own 2x2 sub-kernel, and
the two of them stack into a period-4 pattern on the output (a grid at x4 and x8 alike).
``upsample="bilinear"`` enlarges bilinearly instead: the 3x3 conv after nearest x2 still sees
2x2 blocks, and two of them a 4x4 block structure, which training can turn into a weaker grid.
``antialias=True`` (not the reference's) blurs ([1, 2, 1] / 4 each way) before each stride-2
conv, so that the encoder's features depend less on where its sampling grid falls.

Input H and W must be multiples of ``INPUT_MULTIPLE`` (4); the model classes pad.
"""

import keras
from keras import layers

from .layers import (
    Blur2D, ReflectionPadding2D, ScaledTanh, check_upsample, conv, instance_norm, residual_block, upsampling_layer,
)

INPUT_MULTIPLE = 4
KINDS = ("edge", "sr")


def edgeconnect_body(
    x,
    out_channels,
    *,
    base_channels=64,
    num_blocks=8,
    sn=False,
    prefix="",
    inject=None,
    upsample="transpose",
    antialias=False,
):
    """Apply the generator body to tensor ``x``; return ``(raw_output, taps)``.

    ``taps`` maps "enc1", "enc2", "enc3", "res", "dec1", "dec2" (after ReLU / the last residual
    block) and "features" (the input to the output conv) to tensors. ``inject`` may hold tensors
    under "enc2" and/or "dec2": they are concatenated to the features right after that layer
    (SPSR's gradient branch). With ``out_channels=None`` the output conv is skipped and
    ``raw_output`` is ``taps["features"]``. ``upsample``: "transpose", "resize" or "bilinear";
    ``antialias``: blur before each stride-2 conv (module docstring).
    """
    check_upsample(upsample, "edgeconnect_body")
    inject = inject or {}
    unknown = set(inject) - {"enc2", "dec2"}
    if unknown:
        raise ValueError(
            f"edgeconnect_body: can inject only at 'enc2'/'dec2', got {sorted(unknown)}"
        )
    c = base_channels
    p = prefix
    taps = {}

    x = ReflectionPadding2D(3, name=f"{p}enc1_pad")(x)
    x = conv(c, 7, sn=sn, name=f"{p}enc1")(x)
    x = instance_norm(name=f"{p}enc1_in")(x)
    x = taps["enc1"] = layers.ReLU(name=f"{p}enc1_relu")(x)

    if antialias:
        x = Blur2D(name=f"{p}enc2_blur")(x)
    x = layers.ZeroPadding2D(1, name=f"{p}enc2_pad")(x)
    x = conv(2 * c, 4, strides=2, sn=sn, name=f"{p}enc2")(x)
    x = instance_norm(name=f"{p}enc2_in")(x)
    x = taps["enc2"] = layers.ReLU(name=f"{p}enc2_relu")(x)
    if "enc2" in inject:
        x = layers.Concatenate(name=f"{p}enc2_inject")([x, inject["enc2"]])

    if antialias:
        x = Blur2D(name=f"{p}enc3_blur")(x)
    x = layers.ZeroPadding2D(1, name=f"{p}enc3_pad")(x)
    x = conv(4 * c, 4, strides=2, sn=sn, name=f"{p}enc3")(x)
    x = instance_norm(name=f"{p}enc3_in")(x)
    x = taps["enc3"] = layers.ReLU(name=f"{p}enc3_relu")(x)

    for i in range(num_blocks):
        x = residual_block(x, 4 * c, dilation=2, sn=sn, name=f"{p}res{i + 1}")
    taps["res"] = x

    x = _up(x, 2 * c, sn, upsample, f"{p}dec1")
    x = instance_norm(name=f"{p}dec1_in")(x)
    x = taps["dec1"] = layers.ReLU(name=f"{p}dec1_relu")(x)

    x = _up(x, c, sn, upsample, f"{p}dec2")
    x = instance_norm(name=f"{p}dec2_in")(x)
    x = taps["dec2"] = layers.ReLU(name=f"{p}dec2_relu")(x)
    if "dec2" in inject:
        x = layers.Concatenate(name=f"{p}dec2_inject")([x, inject["dec2"]])
    taps["features"] = x

    if out_channels is None:
        return x, taps
    x = ReflectionPadding2D(3, name=f"{p}out_pad")(x)
    x = taps["logits"] = conv(out_channels, 7, name=f"{p}out")(x)
    return x, taps


def _up(x, filters, sn, mode, name):
    """Double H and W of ``x``: conv-transpose 4x4 s2 (the reference), or nearest / bilinear x2
    then conv 3x3."""
    if mode == "transpose":
        return conv(filters, 4, strides=2, sn=sn, transpose=True, padding="same", name=name)(x)
    x = upsampling_layer(mode, name)(x)
    x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
    return conv(filters, 3, sn=sn, name=name)(x)


def build_edgeconnect_generator(
    in_channels,
    out_channels,
    kind="edge",
    base_channels=64,
    num_blocks=8,
    spectral_norm=None,
    name=None,
    input_size=None,
    upsample="transpose",
    antialias=False,
):
    """EdgeConnect generator: (N, H, W, in_channels) -> (N, H, W, out_channels) in [0, 1].

    ``kind="edge"``: sigmoid output, spectral norm by default; ``kind="sr"``: (tanh + 1) / 2 output,
    no spectral norm by default. ``spectral_norm`` overrides the default. H, W: multiples of 4
    (``input_size`` fixes them in the graph; default dynamic). Full size (64 ch, 8 blocks, 4 -> 1):
    10.77 M parameters, the reference's count. ``upsample``: "transpose" (the reference) or
    "resize" / "bilinear", ``antialias`` (module docstring).
    """
    if kind not in KINDS:
        raise ValueError(f"build_edgeconnect_generator: kind must be one of {KINDS}, got {kind!r}")
    if spectral_norm is None:
        spectral_norm = kind == "edge"
    size = (None, None) if input_size is None else tuple(input_size)
    inputs = layers.Input(shape=(*size, in_channels), name="input")
    raw, _ = edgeconnect_body(
        inputs,
        out_channels,
        base_channels=base_channels,
        num_blocks=num_blocks,
        sn=spectral_norm,
        upsample=upsample,
        antialias=antialias,
    )
    if kind == "edge":
        outputs = layers.Activation("sigmoid", name="sigmoid", dtype="float32")(raw)
    else:
        outputs = ScaledTanh(name="scaled_tanh", dtype="float32")(raw)
    return keras.Model(inputs, outputs, name=name or f"{kind}_generator")
