"""Modified SPSR (docs/conventions.md, "SPSR"): structure-preserving SR with a gradient branch, two GANs.

Generator inputs (both at HR size): the SR branch gets the edge-informed SR stage's input,
[zero-stuffed LR (3), Canny (`canny_tf`) of the nearest-enlarged LR (1)]; the gradient branch
gets the gradient map (central differences) of the nearest-enlarged LR. Outputs: the SR image and
the branch's HR gradient-map prediction.

Generator loss (report's weights): 0.005 adv(image D) + 1 content + 1 style + 0.01 L1(sr, hr)
+ 0.005 adv(gradient D on grad(sr)) + 0.01 pixel(grad(sr), grad(hr)) + 0.5 L1(branch, grad(hr)).
Options: `gradient_pixel_loss="mse"` and `gan_loss="ragan"` (original SPSR).
"""

import keras
import tensorflow as tf

from ..data.edges import canny_tf, dilate_lr, gradient_map, nearest_upsample
from ..losses.pixel import DISTANCES, get_distance
from ..networks.discriminator import build_patch_discriminator
from ..networks.presets import get_preset
from ..networks.spsr import FUSIONS, build_spsr_generator
from .gan import GANSRModel


@keras.saving.register_keras_serializable(package="skinsr_tf")
class SPSR(GANSRModel):
    """Report's modified SPSR: SR branch + gradient branch + fusion; image and gradient GANs.

    Args:
        scale, preset: as the other models. fusion: "shallow" (the report's one 3x3 conv) or "deep".
        gan_loss: "hinge" (default) | "nsgan" | "lsgan" | "ragan" (original SPSR).
        gradient_pixel_loss: "l1" (default) | "mse" (original SPSR).
        adv_weight, content_weight, style_weight, l1_weight, grad_adv_weight, grad_pixel_weight,
        branch_weight: loss weights (report: 0.005, 1, 1, 0.01, 0.005, 0.01, 0.5).
        orientation_weight: weight of `losses.orientation.orientation_coherence_loss` (report: 0).
        periodic_weight: weight of `losses.periodic.periodic_error_loss` (report: 0), as `EdgeInformedSR`.
        perceptual_weights: None (backbone resolution), a VGG19 file, or "random" (tests).
        canny_sigma: Canny sigma for the SR branch's edge channel.
        upsample: the branches' decoders: "transpose" (the report's 4x4 s2 transposed convs, a
            period-4 pattern), "resize" or "bilinear" (nearest / bilinear x2 + conv 3x3); see
            `networks.edgeconnect`.
        antialias: blur before the branches' stride-2 convs, as `EdgeInformedSR`.
        loss_shift: random crop offset of the discriminators' and VGG's inputs, as `EdgeInformedSR`.
        residual, degrid: as `EdgeInformedSR` (both off in the report).
    Optimiser (compile): Adam lr 1e-3, betas (0.9, 0.999).
    """

    model_name = "spsr"
    residual_networks = inference_networks = ("generator",)
    default_betas = (0.9, 0.999)
    loss_metric = "g_loss"

    options = {
        **GANSRModel.options,
        "fusion": ("shallow", FUSIONS),
        "gradient_pixel_loss": ("l1", DISTANCES),
        "adv_weight": (0.005, float),
        "content_weight": (1.0, float),
        "style_weight": (1.0, float),
        "l1_weight": (0.01, float),
        "grad_adv_weight": (0.005, float),
        "grad_pixel_weight": (0.01, float),
        "branch_weight": (0.5, float),
    }

    def __init__(self, scale=4, preset="full", **kwargs):
        super().__init__(scale=scale, preset=preset, **kwargs)
        if preset == "full":
            # Two full-width branches at HR size: 4 tiles of 512^2 output per pass peak at 3.9 GiB
            # on a 4096^2 output; one tile per pass, and whole images up to 512^2, keep it well under 4 GB.
            self.default_tile_batch = 1
            self.max_whole_pixels = 512 * 512

        self.generator = build_spsr_generator(
            fusion=self.fusion, upsample=self.upsample, antialias=self.antialias, name="spsr_generator",
            **get_preset("spsr", preset),
        )
        d = get_preset("discriminator", preset)
        self.discriminator = build_patch_discriminator(3, name="image_discriminator", **d)
        self.grad_discriminator = build_patch_discriminator(3, name="gradient_discriminator", **d)
        self._track("l1", "adv", "content", "style", "grad_adv", "grad_pixel", "branch", "g_loss", "d_loss", "grad_d_loss")
        self._track(*self.optional_term_names)
        self.build_for_training()

    def _optimizer_groups(self):
        return {
            "g": self.generator.trainable_variables,
            "d": self.discriminator.trainable_variables,
            "grad_d": self.grad_discriminator.trainable_variables,
        }

    def _generate(self, lr, training=False):
        """{"sr", "grad"} for an LR batch whose HR size is a multiple of 4."""
        s = self.scale
        up = nearest_upsample(lr, s)
        inputs = {
            "sr_input": tf.concat([dilate_lr(lr, s), canny_tf(up, sigma=self.canny_sigma)], axis=-1),
            "grad_input": gradient_map(up),
        }
        out = dict(self.generator(inputs, training=training))
        out["sr"] = self.add_residual(out["sr"], lr)
        return out

    def _forward(self, lr, training=False):
        return self._generate(lr, training=training)["sr"]

    def train_step(self, data):
        lr, hr = data["lr"], data["hr"]
        hr_grad = gradient_map(hr)
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        gd_vars = self.grad_discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape, tf.GradientTape() as gd_tape:
            out = self._generate(lr, training=True)
            sr, branch = out["sr"], out["grad"]
            sr_grad = gradient_map(sr)
            d_loss, adv = self.weighted_adversarial(self.adv_weight, self.discriminator, hr, sr)
            grad_d_loss, grad_adv = self.weighted_adversarial(
                self.grad_adv_weight, self.grad_discriminator, hr_grad, sr_grad)
            l1 = self.l1(sr, hr)
            grad_pixel = get_distance(self.gradient_pixel_loss)(sr_grad, hr_grad)
            branch_l1 = self.l1(branch, hr_grad)
            content, style = self.perceptual_terms(sr, hr)
            g_loss = (
                self.adv_weight * adv
                + self.content_weight * content
                + self.style_weight * style
                + self.l1_weight * l1
                + self.grad_adv_weight * grad_adv
                + self.grad_pixel_weight * grad_pixel
                + self.branch_weight * branch_l1
            )
            optional = self.optional_terms(sr, hr)
            for weight, value in optional.values():
                g_loss += weight * value
        if self.adv_weight:
            self.apply_loss("d", d_tape, d_loss, d_vars)
        if self.grad_adv_weight:
            self.apply_loss("grad_d", gd_tape, grad_d_loss, gd_vars)
        self.apply_loss("g", g_tape, g_loss, g_vars)
        return self._log(
            {"l1": l1, "adv": adv, "content": content, "style": style, "grad_adv": grad_adv,
             "grad_pixel": grad_pixel, "branch": branch_l1, "g_loss": g_loss, "d_loss": d_loss,
             "grad_d_loss": grad_d_loss, **{name: value for name, (_, value) in optional.items()}}
        )
