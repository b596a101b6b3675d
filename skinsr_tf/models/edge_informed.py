"""Edge-informed SISR (docs/conventions.md, "Edge-informed SISR"): an edge GAN predicts HR edges, an SR GAN uses them.

Inference (`call`): LR -> Canny of LR (`canny_tf`, pure TF ops) -> edge generator on
[nearest-enlarged LR RGB, nearest-enlarged LR edges] -> HR edge map -> SR generator on
[zero-stuffed ("dilated") LR, HR edge map] -> SR. A model whose `stage` is "sr" (the SR GAN
trained alone, as in the reference's stage 2) feeds the SR generator Canny of the
nearest-enlarged LR instead of generated edges, in training and at inference alike; one whose
`edge_source` is "prior" feeds it the edge generator's starting point (`edge_residual`) without
running the edge generator.

Training stages (`stage`):
- "edge": edge generator (1 x adversarial + 10 x feature matching) against a discriminator that
  sees [HR RGB, edge map] (real: the batch's "hr_edge", skimage Canny of HR; fake: generated).
  Generator input edges: the batch's "lr_edge" (skimage Canny of LR, the reference's) when
  present, else `canny_tf`.
- "sr": SR generator alone on Canny (`canny_tf`) of the nearest-enlarged LR: 1 x L1 + 1 x
  adversarial + 0.1 x content + 250 x style; its discriminator sees the RGB image.
- "joint": the edge generator is frozen, the SR generator trains on its edges.
All four networks exist in every stage, so weights move between stages with `load_weights`.
D and G losses come from one forward pass with the same discriminator weights; both updates are
applied afterwards (the reference's order breaks on newer frameworks).
"""

import keras
import tensorflow as tf

from ..data.edges import canny_tf, dilate_lr, nearest_upsample
from ..data.resize import tf_imresize
from ..networks.discriminator import build_patch_discriminator
from ..networks.edgeconnect import build_edgeconnect_generator
from ..networks.presets import get_preset
from ..losses.adversarial import feature_matching_loss
from .common import zero_output_conv
from .gan import GANSRModel

STAGES = ("edge", "sr", "joint")
SR_INPUTS = ("dilated", "bicubic")
EDGE_INPUTS = ("nearest", "bicubic")
EDGE_PRIOR = "prior"
EDGE_SOURCES = ("generator", EDGE_PRIOR)


@keras.saving.register_keras_serializable(package="skinsr_tf")
class EdgeInformedSR(GANSRModel):
    """Two-stage edge-informed GAN super-resolution (Yeh & Tanner's main model).

    Args:
        scale: 2, 3, 4 or 8. preset: "full" (the reference's size), "small", "tiny".
        stage: "edge", "sr" or "joint" (see the module docstring).
        gan_loss: "hinge" (default), "nsgan" or "lsgan".
        edge_adv_weight, fm_weight: edge generator loss weights (report: 1, 10).
        edge_bce_weight: weight of a binary cross-entropy between generated and HR Canny edges
            (0 in the report; a small weight makes the edge generator useful after hundreds of
            steps instead of tens of thousands, which is what the shipped CPU-trained weights use).
        edge_bce_pos_weight: weight of the edge pixels in that BCE (1: plain BCE). Edges are a
            few percent of the pixels, and plain BCE rewards an empty map; about the inverse
            edge density (~30) balances the classes.
        residual: read the SR generator's output as 0.5 + a correction to bicubic (see
            `TrainableSRModel.add_residual`); the report's model has it off.
        degrid: remove the period-s component of the SR image's correction to bicubic
            (`models.degrid`; off in the report), in training and inference.
        l1_weight, adv_weight, content_weight, style_weight: SR generator loss weights
            (report: 1, 1, 0.1, 250; tuned for VGG19 fed raw [0, 1] RGB as in the reference).
        orientation_weight: weight of `losses.orientation.orientation_coherence_loss` in the SR
            generator loss (report: 0).
        periodic_weight: weight of `losses.periodic.periodic_error_loss` in the SR generator loss
            (report: 0): makes the generator's own period-s pattern cost what VGG and the
            discriminator pay for it.
        perceptual_weights: VGG19 weights for content/style: None (backbone resolution: user file,
            keras cache, logged offline substitute), a file path, or "random" (tests only).
        canny_sigma: Gaussian sigma of the Canny detector (2, the report's).
        sr_input: the SR generator's RGB input: "dilated" (the report's: the LR zero-stuffed to
            HR size, one pixel in s*s non-zero, a period-s pattern the generator has to undo) or
            "bicubic" (the MATLAB-bicubic enlarged LR: nothing periodic goes in). Weights trained
            with one do not fit the other.
        edge_input: the edge generator's input: "nearest" (the report's: nearest-enlarged LR and
            nearest-enlarged Canny of the LR, blocky at period s) or "bicubic" (the bicubic-enlarged
            LR and its Canny, i.e. the baseline edge map, which the generator then refines).
        edge_residual: read the edge generator's output as a correction, in logits, to the
            baseline edge map (Canny of the bicubic-enlarged LR, +-``edge_prior_logit``), with its
            output conv zeroed at the start: an untrained generator then predicts the baseline
            (its F1) instead of noise, and training only has to add missed edges and drop false
            ones. Off in the report.
        edge_prior_logit: the baseline's logit with `edge_residual` (3: an edge pixel starts at
            p 0.95, a non-edge at 0.05). A correction must exceed it to flip a pixel, so a large
            prior pins the output to the baseline; 1 (p 0.73 / 0.27) leaves it free to move.
        edge_source: where the SR generator's edges come from in stages "joint" (and at inference):
            "generator" (the edge generator, the report's) or "prior" (the map an untrained
            `edge_residual` generator predicts: sigmoid(+-``edge_prior_logit``) on the prior edges,
            bit for bit, without running the network: for weights whose edge generator was never
            trained, a third less inference time at small size). Not for stage "edge".
        hr_edge_rate: in stages "sr" and "joint", the share of training samples whose SR
            generator reads the HR image's own Canny edges (the batch's "hr_edge", through
            `edges_as_input`) instead of the model's edges (0, the report's; EdgeConnect trains its
            second stage on ground-truth edges). A generator trained only on unreliable edges
            learns to ignore them (`benchmarks/edge_reliance.py`); inference always uses the
            model's own edges.
        edge_prior_sigma: Canny sigma of the bicubic-enlarged LR's edges that the edge generator
            reads with edge_input "bicubic" and starts from with `edge_residual` (None:
            `canny_sigma`). Bicubic enlargement already blurs, so a smaller sigma matches Canny
            (sigma 2) of the HR better: ~1.5 at x4. The baseline stays Canny at `canny_sigma`.
        upsample: both generators' decoders: "transpose" (the report's 4x4 s2 transposed convs,
            which paint a period-4 pattern), "resize" or "bilinear" (nearest / bilinear x2 + conv
            3x3); see `networks.edgeconnect`. Weights trained with one do not fit another.
        antialias: both generators blur before each stride-2 conv (not the report's); see
            `networks.edgeconnect`.
        loss_shift: the discriminators and VGG see SR and HR cropped at a random offset in
            [0, loss_shift] px each step (0, the report's: never); see `GANSRModel.shifted`.
    Optimiser (compile): Adam lr 1e-3, betas (0.9, 0.99) (the report); the reference code's
    lr 1e-4, betas (0, 0.9) via `compile(learning_rate=1e-4, beta_1=0.0, beta_2=0.9)`.
    """

    model_name = "edge_sisr"
    needs_edges = True
    residual_networks = ("sr_generator",)
    inference_networks = ("edge_generator", "sr_generator")
    loss_metric = "sr_g_loss"

    options = {
        **GANSRModel.options,
        "stage": ("joint", STAGES),
        "edge_adv_weight": (1.0, float),
        "fm_weight": (10.0, float),
        "edge_bce_weight": (0.0, float),
        "edge_bce_pos_weight": (1.0, float),
        "sr_input": ("dilated", SR_INPUTS),
        "edge_input": ("nearest", EDGE_INPUTS),
        "edge_residual": (False, bool),
        "edge_source": ("generator", EDGE_SOURCES),
        "edge_prior_logit": (3.0, float),
        "edge_prior_sigma": (None, lambda sigma: None if sigma is None else float(sigma)),
        "hr_edge_rate": (0.0, float),
    }

    def __init__(self, scale=4, preset="full", **kwargs):
        super().__init__(scale=scale, preset=preset, **kwargs)
        if self.stage == "edge" and self.edge_source == EDGE_PRIOR:
            raise ValueError(f'EdgeInformedSR: edge_source="{EDGE_PRIOR}" has no edge generator to train in stage "edge"')
        if not 0.0 <= self.hr_edge_rate <= 1.0:
            raise ValueError(f"EdgeInformedSR: hr_edge_rate must be in [0, 1], got {self.hr_edge_rate}")
        g = {**get_preset("edgeconnect", preset), "upsample": self.upsample, "antialias": self.antialias}
        d = get_preset("discriminator", preset)
        self.edge_generator = build_edgeconnect_generator(4, 1, kind="edge", name="edge_generator", **g)
        self.edge_discriminator = build_patch_discriminator(4, name="edge_discriminator", **d)
        self.sr_generator = build_edgeconnect_generator(4, 3, kind="sr", name="sr_generator", **g)
        self.sr_discriminator = build_patch_discriminator(3, name="sr_discriminator", **d)
        if self.stage == "edge":
            self._track("edge_g_adv", "edge_g_fm", "edge_g_loss", "edge_d_loss")
            self._track("edge_l1", "edge_precision", "edge_recall", "edge_f1")
            self._track("baseline_precision", "baseline_recall", "baseline_f1")
            if self.edge_prior_sigma is not None:
                self._track("prior_precision", "prior_recall", "prior_f1")
            self.monitor = ("val_edge_f1", "max")
            self.loss_metric = "edge_g_loss"
        else:
            self._track("sr_l1", "sr_adv", "sr_content", "sr_style", "sr_g_loss", "sr_d_loss")
            self._track(*(f"sr_{name}" for name in self.optional_term_names))
        self.build_for_training()
        if self.edge_residual:
            zero_output_conv(self.edge_generator)

    def _optimizer_groups(self):
        if self.stage == "edge":
            return {
                "edge_g": self.edge_generator.trainable_variables,
                "edge_d": self.edge_discriminator.trainable_variables,
            }
        return {
            "sr_g": self.sr_generator.trainable_variables,
            "sr_d": self.sr_discriminator.trainable_variables,
        }

    @property
    def needs_perceptual(self):
        return self.stage != "edge" and super().needs_perceptual

    def load_init_weights(self, path):
        """Start training from a weights file or run folder. A joint-stage model given an edge-stage
        run (or a file of one) takes its edge generator only (`load_edge_generator_weights`): the
        SR networks of an edge run are untrained, so they start fresh. Anything else (a joint run,
        shipped weights) is loaded whole."""
        if self.stage == "joint" and _edge_stage_run(path):
            return self.load_edge_generator_weights(path)
        return super().load_init_weights(path)

    def load_edge_generator_weights(self, path):
        """Copy the edge generator of an EdgeInformedSR weights file or run folder (any stage)."""
        source = EdgeInformedSR(**{**self.get_config_kwargs(), "stage": "edge", "residual": False})
        super(EdgeInformedSR, source).load_init_weights(path)
        self.edge_generator.set_weights(source.edge_generator.get_weights())

    # --- forward --------------------------------------------------------------------------
    def predict_hr_edges(self, lr, lr_edge=None, training=False):
        """HR edge map for LR batch `lr` (HR size a multiple of 4): generated, the prior
        (edge_source "prior") or Canny (stage "sr")."""
        s = self.scale
        if self.stage == "sr":
            return canny_tf(nearest_upsample(lr, s), sigma=self.canny_sigma)
        if self.edge_source == EDGE_PRIOR:
            return self.edges_as_input(self.prior_edges(lr))
        x = self.edge_generator_input(lr, lr_edge)
        prob = self.edge_generator(x, training=training)
        if not self.edge_residual:
            return prob
        eps = keras.backend.epsilon()
        prob = tf.clip_by_value(tf.cast(prob, tf.float32), eps, 1.0 - eps)
        start = x[..., 3:] if self.edge_input == "bicubic" else self.prior_edges(lr)
        return tf.sigmoid(tf.math.log(prob) - tf.math.log1p(-prob) + self._prior_logits(start))

    def _prior_logits(self, edges):
        """+-``edge_prior_logit`` on the {0, 1} prior ``edges``: where `edge_residual` starts."""
        return self.edge_prior_logit * (2.0 * tf.cast(edges, tf.float32) - 1.0)

    def _bicubic_and_edges(self, lr, sigma):
        """The MATLAB-bicubic-enlarged LR and its Canny edges at `sigma`."""
        big = tf.clip_by_value(tf_imresize(lr, self.scale), 0.0, 1.0)
        return big, canny_tf(big, sigma=sigma)

    @property
    def prior_sigma(self):
        """Canny sigma of the prior edges (`edge_prior_sigma`, else `canny_sigma`)."""
        return self.canny_sigma if self.edge_prior_sigma is None else self.edge_prior_sigma

    def baseline_edges(self, lr):
        """The edge map to beat: Canny (`canny_sigma`) of the bicubic-enlarged LR."""
        return self._bicubic_and_edges(lr, self.canny_sigma)[1]

    def prior_edges(self, lr):
        """Canny (`edge_prior_sigma`) of the bicubic-enlarged LR: what `edge_residual` starts from."""
        return self._bicubic_and_edges(lr, self.prior_sigma)[1]

    def edge_generator_input(self, lr, lr_edge=None):
        """[enlarged LR RGB, enlarged-LR edges] at HR size, as `edge_input` says."""
        s = self.scale
        if self.edge_input == "bicubic":
            return tf.concat(self._bicubic_and_edges(lr, self.prior_sigma), axis=-1)
        if lr_edge is None:
            lr_edge = canny_tf(lr, sigma=self.canny_sigma)
        return tf.concat([nearest_upsample(lr, s), nearest_upsample(lr_edge, s)], axis=-1)

    def sr_rgb_input(self, lr):
        """The SR generator's RGB input at HR size: zero-stuffed LR or bicubic-enlarged LR."""
        return dilate_lr(lr, self.scale) if self.sr_input == "dilated" else tf_imresize(lr, self.scale)

    def edges_as_input(self, edges):
        """A binary HR edge map (your own, or Canny of the HR image for an upper bound) in the form
        the SR generator was trained on: at +-``edge_prior_logit`` for edge_source "prior", as is
        otherwise."""
        edges = tf.cast(edges, tf.float32)
        return tf.sigmoid(self._prior_logits(edges)) if self.edge_source == EDGE_PRIOR else edges

    def super_resolve_with_edges(self, lr, hr_edge, training=False):
        """SR of an LR batch ([0, 1], whole images, no tiling) guided by any HR edge map (batch,
        H*s, W*s, 1) instead of the model's own: what the SR generator makes of the edges it gets."""
        x = tf.concat([self.sr_rgb_input(lr), tf.cast(hr_edge, lr.dtype)], axis=-1)
        return self.add_residual(self.sr_generator(x, training=training), lr)

    def _forward(self, lr, training=False):
        return self.super_resolve_with_edges(lr, self.predict_hr_edges(lr))

    def _edges_call(self, lr):
        """HR edge map of an LR batch of any size, as 3 equal channels (the tiling sums RGB)."""
        edges = self.on_padded(self.predict_hr_edges, lr)
        return tf.tile(tf.cast(edges, tf.float32), [1, 1, 1, 3])

    def predict_edges(self, image, tile_size=None, tile_overlap=None, batch_size=None):
        """HR edge probability map (float32 (H*s, W*s) in [0, 1]) of an LR image of any size:
        the edge generator's output (its prior for edge_source "prior", Canny of the
        nearest-enlarged LR for stage "sr"), tiled and
        blended exactly as `super_resolve` (same arguments)."""
        import numpy as np

        lr = self._read(image).astype(np.float32) / 255.0
        saved, self._predict_fn = self._predict_fn, tf.function(self._edges_call, reduce_retracing=True)
        try:
            out = self._sr_float(lr, tile_size, tile_overlap, batch_size)
        finally:
            self._predict_fn = saved
        return np.clip(out[..., 0], 0.0, 1.0).astype(np.float32)

    # --- training -------------------------------------------------------------------------

    def train_step(self, data):
        if self.stage == "edge":
            return self._edge_step(data)
        return self._sr_step(data)

    def _edge_step(self, data):
        lr, hr, hr_edge = data["lr"], data["hr"], data["hr_edge"]
        g_vars = self.edge_generator.trainable_variables
        d_vars = self.edge_discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_edge = self.predict_hr_edges(lr, data.get("lr_edge"), training=True)
            d_loss, g_adv, real_acts, fake_acts = self.adversarial(
                self.edge_discriminator,
                tf.concat([hr, hr_edge], axis=-1),
                tf.concat([hr, fake_edge], axis=-1),
            )
            g_fm = feature_matching_loss(real_acts, fake_acts)
            g_loss = self.edge_adv_weight * g_adv + self.fm_weight * g_fm
            if self.edge_bce_weight:
                g_loss += self.edge_bce_weight * weighted_bce(hr_edge, fake_edge, self.edge_bce_pos_weight)
        self.apply_loss("edge_d", d_tape, d_loss, d_vars)
        self.apply_loss("edge_g", g_tape, g_loss, g_vars)
        return self._log(
            {"edge_g_adv": g_adv, "edge_g_fm": g_fm, "edge_g_loss": g_loss, "edge_d_loss": d_loss}
        )

    def _sr_step(self, data):
        lr, hr = data["lr"], data["hr"]
        hr_edge = tf.stop_gradient(self.predict_hr_edges(lr, data.get("lr_edge"), training=False))
        if self.hr_edge_rate > 0:
            use_hr = tf.random.uniform([tf.shape(lr)[0], 1, 1, 1]) < self.hr_edge_rate
            hr_edge = tf.where(use_hr, self.edges_as_input(data["hr_edge"]), tf.cast(hr_edge, tf.float32))
        g_vars = self.sr_generator.trainable_variables
        d_vars = self.sr_discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            sr = self.super_resolve_with_edges(lr, hr_edge, training=True)
            d_loss, adv = self.weighted_adversarial(self.adv_weight, self.sr_discriminator, hr, sr)
            l1 = self.l1(sr, hr)
            content, style = self.perceptual_terms(sr, hr)
            g_loss = (
                self.l1_weight * l1
                + self.adv_weight * adv
                + self.content_weight * content
                + self.style_weight * style
            )
            optional = self.optional_terms(sr, hr)
            for weight, value in optional.values():
                g_loss += weight * value
        if self.adv_weight:
            self.apply_loss("sr_d", d_tape, d_loss, d_vars)
        self.apply_loss("sr_g", g_tape, g_loss, g_vars)
        return self._log(
            {"sr_l1": l1, "sr_adv": adv, "sr_content": content, "sr_style": style,
             "sr_g_loss": g_loss, "sr_d_loss": d_loss,
             **{f"sr_{name}": value for name, (_, value) in optional.items()}}
        )

    def test_step(self, data):
        if self.stage != "edge":
            return super().test_step(data)
        fake = self.predict_hr_edges(data["lr"], data.get("lr_edge"), training=False)
        real = data["hr_edge"]
        precision, recall, f1 = edge_prf(fake, real)
        scores = {"edge_l1": self.l1(fake, real), "edge_precision": precision,
                  "edge_recall": recall, "edge_f1": f1}
        references = {"baseline": self.baseline_edges}
        if self.edge_prior_sigma is not None:  # what the generator adds to its own starting point
            references["prior"] = self.prior_edges
        for name, edges in references.items():
            p, r, f = edge_prf(edges(data["lr"]), real)
            scores.update({f"{name}_precision": p, f"{name}_recall": r, f"{name}_f1": f})
        return self._log(scores)


def weighted_bce(target, prob, pos_weight=1.0):
    """Mean binary cross-entropy with the positive (edge) pixels weighted by ``pos_weight``;
    equals Keras' ``binary_crossentropy`` for ``pos_weight=1``."""
    eps = keras.backend.epsilon()
    p = tf.clip_by_value(tf.cast(prob, tf.float32), eps, 1.0 - eps)
    t = tf.cast(target, tf.float32)
    return -tf.reduce_mean(pos_weight * t * tf.math.log(p) + (1.0 - t) * tf.math.log(1.0 - p))


def edge_prf(edges, reference):
    """Batch precision, recall, F1 of ``edges > 0.5`` against the binary ``reference`` (TF ops;
    the same definition as :func:`skinsr_tf.metrics.edge_scores`)."""
    pred = tf.cast(edges > 0.5, tf.float32)
    tp = tf.reduce_sum(pred * reference)
    precision = tp / tf.maximum(tf.reduce_sum(pred), 1.0)
    recall = tp / tf.maximum(tf.reduce_sum(reference), 1.0)
    f1 = 2 * precision * recall / tf.maximum(precision + recall, 1e-8)
    return precision, recall, f1


def _edge_stage_run(path):
    """Whether `path` (a run folder, its final weights or one of its checkpoints) is an edge-stage run."""
    import json

    from ..runs import resolve_weights, run_config_path

    config = run_config_path(resolve_weights(path))
    return config is not None and json.loads(config.read_text()).get("model_kwargs", {}).get("stage") == "edge"
