"""Modified U-Net (Lu & Chen) and U-Net++ SR models (docs/conventions.md, "U-Net"): pixel + gradient losses.

The networks take the LR image itself and enlarge it inside ("upsampling at the beginning").
Their four poolings need h, w multiples of 16: `call` pads the LR image by edge replication and
crops the output back. Loss: lambda_pixel * pixel(sr, hr) + lambda_gradient * distance between
gradient maps (central differences or Sobel, same distance as the pixel term); with
pixel_loss="mse", gradient_loss="sobel" this is Lu & Chen's MixGE. ``orientation_weight`` adds
`losses.orientation.orientation_coherence_loss`, ``periodic_weight`` `losses.periodic.periodic_error_loss`
(the decoder's period-s pattern) and ``content_weight`` the VGG content term of `losses.perceptual`
(all default 0, the report's setting; the content term keeps a model trained on degraded LR from
trading all texture for PSNR).
"""

import keras
import tensorflow as tf

from ..losses.orientation import orientation_coherence_loss
from ..losses.periodic import periodic_error_loss
from ..losses.pixel import GRADIENT_METHODS, get_distance, gradient_loss
from ..networks import unet as unet_net
from ..networks import unetpp as unetpp_net
from ..networks.presets import get_preset
from .common import TrainableSRModel, make_perceptual, pad_to_multiple
from .keras_compat import set_untracked


class _PixelGradientSR(TrainableSRModel):
    """Single-generator model trained on pixel + gradient losses (shared by U-Net and U-Net++)."""

    family = None
    input_multiple = 16
    residual_networks = inference_networks = ("network",)

    def __init__(
        self,
        scale=4,
        preset="full",
        pixel_loss="l1",
        gradient_loss="central",
        lambda_pixel=1.0,
        lambda_gradient=0.1,
        orientation_weight=0.0,
        periodic_weight=0.0,
        content_weight=0.0,
        perceptual_weights=None,
        **kwargs,
    ):
        super().__init__(scale=scale, preset=preset, **kwargs)
        get_distance(pixel_loss)  # validates
        if gradient_loss is not None and gradient_loss not in GRADIENT_METHODS:
            raise ValueError(
                f"{type(self).__name__}: gradient_loss must be one of {GRADIENT_METHODS} or None, got {gradient_loss!r}"
            )
        self.pixel_loss = pixel_loss
        self.gradient_loss = gradient_loss
        self.lambda_pixel = float(lambda_pixel)
        self.lambda_gradient = float(lambda_gradient)
        self.orientation_weight = float(orientation_weight)
        self.periodic_weight = float(periodic_weight)
        self.content_weight = float(content_weight)
        self.perceptual_weights = perceptual_weights
        self._perceptual = None
        self.network = self._build_network(get_preset(self.family, preset))
        self._track("pixel", "gradient", "loss")
        if self.orientation_weight:
            self._track("orientation")
        if self.periodic_weight:
            self._track("periodic")
        if self.content_weight:
            self._track("content")
        self.build_for_training()

    def _build_network(self, preset_kwargs):
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "pixel_loss": self.pixel_loss,
            "gradient_loss": self.gradient_loss,
            "lambda_pixel": self.lambda_pixel,
            "lambda_gradient": self.lambda_gradient,
            "orientation_weight": self.orientation_weight,
            "periodic_weight": self.periodic_weight,
            "content_weight": self.content_weight,
            "perceptual_weights": self.perceptual_weights,
        }

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if self.content_weight:
            # Kept out of Keras' tracking: the frozen VGG is not part of the model's weights.
            set_untracked(self, "_perceptual", make_perceptual(self.perceptual_weights))

    def _optimizer_groups(self):
        return {"g": self.network.trainable_variables}

    def _outputs(self, lr, training):
        """All HR predictions of the padded-and-cropped network (a list; the last is the answer)."""
        lr = tf.cast(lr, tf.float32)
        padded, h, w = pad_to_multiple(lr, self.input_multiple)
        out = self.network(padded, training=training)
        outs = out if isinstance(out, (list, tuple)) else [out]
        s = self.scale
        return [self.add_residual(o[:, : h * s, : w * s, :], lr) for o in outs]

    def call(self, lr, training=False):
        return self._outputs(lr, training)[-1]

    def _loss_terms(self, sr, hr):
        """{log name: (weight, value)} of one output's loss terms: pixel and gradient always
        (logged even at weight 0), the others when their weight is set."""
        terms = {"pixel": (self.lambda_pixel, get_distance(self.pixel_loss)(sr, hr)),
                 "gradient": (0.0, tf.constant(0.0))}
        if self.gradient_loss is not None and self.lambda_gradient:
            terms["gradient"] = (self.lambda_gradient,
                                 gradient_loss(sr, hr, method=self.gradient_loss, distance=self.pixel_loss))
        if self.orientation_weight:
            terms["orientation"] = (self.orientation_weight, orientation_coherence_loss(sr, hr))
        if self.periodic_weight:
            terms["periodic"] = (self.periodic_weight, periodic_error_loss(sr, hr, self.scale))
        if self.content_weight:
            perceptual = self._perceptual
            terms["content"] = (self.content_weight, perceptual.content_loss(*perceptual.features(sr, hr)))
        return terms

    def train_step(self, data):
        lr, hr = data["lr"], data["hr"]
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            per_output = [self._loss_terms(o, hr) for o in self._outputs(lr, training=True)]
            # deep supervision: each term is the mean over the outputs
            logs = {name: tf.add_n([t[name][1] for t in per_output]) / len(per_output) for name in per_output[0]}
            loss = tf.add_n([weight * logs[name] for name, (weight, _) in per_output[0].items()])
        self.apply_loss("g", tape, loss, variables)
        return self._log({**logs, "loss": loss})


@keras.saving.register_keras_serializable(package="skinsr_tf")
class UNetSR(_PixelGradientSR):
    """Modified U-Net (Lu & Chen): LR in, HR out, early upsampling; pixel + gradient loss.

    Args: scale (2, 4, 8), preset ("full": 64 base channels), pixel_loss ("l1" | "mse"),
    gradient_loss ("central" | "sobel" | None), lambda_pixel, lambda_gradient, orientation_weight
    (orientation-coherence loss; 0 = off, the report's setting), periodic_weight (periodic-error
    loss against the decoder's grid; 0 = off, the report's), content_weight (VGG content loss,
    0 = off, the report's setting) and perceptual_weights (its VGG: None = backbone resolution, a
    file, or "random" for tests), upsample ("transpose":
    conv-transpose 2x2 s2, Lu & Chen's and the shipped weights'; "resize" / "bilinear": nearest /
    bilinear x2 + conv 3x3, no checkerboard, see :mod:`skinsr_tf.networks.unet`), residual and
    degrid (bicubic + correction; the correction's period-s component removed, `models.degrid`).
    Optimiser (compile): Adam lr 1e-3, betas (0.9, 0.99).
    """

    model_name = "unet"
    family = "unet"
    input_multiple = unet_net.INPUT_MULTIPLE

    def __init__(self, scale=4, preset="full", upsample="transpose", **kwargs):
        self.upsample = upsample
        super().__init__(scale=scale, preset=preset, **kwargs)

    def _build_network(self, preset_kwargs):
        return unet_net.build_unet(self.scale, name="unet", upsample=self.upsample, **preset_kwargs)

    def get_config(self):
        return {**super().get_config(), "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="skinsr_tf")
class UNetPlusPlusSR(_PixelGradientSR):
    """U-Net++ (nested dense skips, half the U-Net's channels); optional deep supervision.

    With `deep_supervision` the loss is averaged over the four nested outputs; inference uses
    the deepest. Other args (`upsample` too) as `UNetSR`.
    """

    model_name = "unetpp"
    family = "unetpp"
    input_multiple = unetpp_net.INPUT_MULTIPLE

    def __init__(self, scale=4, preset="full", deep_supervision=False, upsample="transpose", **kwargs):
        self.deep_supervision = bool(deep_supervision)
        self.upsample = upsample
        super().__init__(scale=scale, preset=preset, **kwargs)

    def _build_network(self, preset_kwargs):
        return unetpp_net.build_unetpp(
            self.scale, deep_supervision=self.deep_supervision, name="unetpp",
            upsample=self.upsample, **preset_kwargs
        )

    def get_config(self):
        return {**super().get_config(), "deep_supervision": self.deep_supervision,
                "upsample": self.upsample}
