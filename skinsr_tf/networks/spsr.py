"""Modified SPSR generator (the report's variant, docs/conventions.md, "SPSR").

Two branches built from the EdgeConnect generator body (no spectral norm), both at HR size:
- SR branch: input ``sr_input`` = dilated LR (3) + HR edge map (1); its output conv is dropped and
  its last features (after the 2nd decoder layer, C channels) go to the fusion head.
- Gradient branch: input ``grad_input`` = gradient map of the enlarged LR (3); it receives the SR
  branch's features after the SR branch's 2nd encoder layer (2C, H/2) and after its 2nd decoder
  layer (C, H), concatenated right after its own matching layers. Its 7x7 output conv predicts the
  HR gradient map ("grad", linear: gradient magnitudes lie in [0, sqrt(2)]).
- Fusion: concat(SR branch features, gradient branch features) -> [deep: ``fusion_layers`` x
  (reflect-pad 1, conv 3x3 C, ReLU)] -> reflect-pad 1, conv 3x3 -> 3 -> (tanh + 1) / 2 ("sr").
  "shallow" is the report's single 3x3 conv (blamed for its poor colour); "deep" is the option.

Inputs: dict {"sr_input": (N,H,W,4), "grad_input": (N,H,W,3)}; outputs: dict {"sr", "grad"}.
H and W: multiples of ``INPUT_MULTIPLE`` (4). The discriminators (image and gradient map) are
two ``build_patch_discriminator(3)``.
"""

import keras
from keras import layers

from .edgeconnect import edgeconnect_body
from .layers import ReflectionPadding2D, ScaledTanh, conv

INPUT_MULTIPLE = 4
FUSIONS = ("shallow", "deep")


def build_spsr_generator(
    base_channels=64,
    num_blocks=8,
    fusion="shallow",
    fusion_layers=2,
    sr_in_channels=4,
    grad_in_channels=3,
    name=None,
    input_size=None,
    upsample="transpose",
    antialias=False,
):
    """Functional two-branch SPSR generator; see the module docstring for inputs and outputs.
    ``upsample`` (the decoders: "transpose", the reference's, "resize" or "bilinear") and
    ``antialias`` as in :func:`skinsr_tf.networks.edgeconnect.edgeconnect_body`."""
    if fusion not in FUSIONS:
        raise ValueError(f"build_spsr_generator: fusion must be one of {FUSIONS}, got {fusion!r}")
    size = (None, None) if input_size is None else tuple(input_size)
    sr_in = layers.Input(shape=(*size, sr_in_channels), name="sr_input")
    grad_in = layers.Input(shape=(*size, grad_in_channels), name="grad_input")
    common = dict(base_channels=base_channels, num_blocks=num_blocks, sn=False, upsample=upsample, antialias=antialias)

    sr_feat, sr_taps = edgeconnect_body(sr_in, None, prefix="sr_", **common)
    grad_raw, grad_taps = edgeconnect_body(
        grad_in,
        grad_in_channels,
        prefix="grad_",
        inject={"enc2": sr_taps["enc2"], "dec2": sr_taps["dec2"]},
        **common,
    )
    grad_out = layers.Activation("linear", name="grad", dtype="float32")(grad_raw)

    x = layers.Concatenate(name="fusion_concat")([sr_feat, grad_taps["features"]])
    if fusion == "deep":
        for i in range(fusion_layers):
            x = ReflectionPadding2D(1, name=f"fusion{i + 1}_pad")(x)
            x = conv(base_channels, 3, name=f"fusion{i + 1}")(x)
            x = layers.ReLU(name=f"fusion{i + 1}_relu")(x)
    x = ReflectionPadding2D(1, name="fusion_out_pad")(x)
    x = conv(3, 3, name="fusion_out")(x)
    sr_out = ScaledTanh(name="sr", dtype="float32")(x)
    return keras.Model(
        {"sr_input": sr_in, "grad_input": grad_in},
        {"sr": sr_out, "grad": grad_out},
        name=name or "spsr_generator",
    )
