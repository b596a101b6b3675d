"""What the GAN super-resolution models (EdgeInformedSR, SPSR) share.

- Options: a subclass declares its constructor arguments once, in `options` (name -> (default,
  check)); they become attributes, the keys of `get_config` and the class signature.
- Input geometry: EdgeConnect-body generators need HR sides that are multiples of 4 and a
  bottleneck of at least 3 px; `call` pads the LR batch, runs `_forward` and crops the result.
- Losses: one discriminator pass on [real; fake] gives the discriminator and adversarial
  generator losses (`gan_loss` kind), and with an adversarial weight of 0 the discriminator
  neither runs nor trains (`weighted_adversarial`); VGG content and style terms (`perceptual_weights`), made by
  `compile` only when their weights are non-zero; the optional orientation-coherence and
  periodic-error terms (`optional_terms`); mean absolute error.
"""

import inspect

import tensorflow as tf

from ..losses.adversarial import GAN_KINDS, discriminator_loss, generator_loss
from ..losses.orientation import orientation_coherence_loss
from ..losses.periodic import periodic_error_loss
from ..losses.pixel import l1_loss
from ..networks.layers import UPSAMPLE_MODES
from .common import TrainableSRModel, edgeconnect_lr_geometry, make_perceptual, pad_to_multiple
from .keras_compat import set_untracked


def _keep(value):
    return value


def _pixels(value):
    if int(value) != value or value < 0:
        raise ValueError(f"must be a whole number of pixels >= 0, got {value!r}")
    return int(value)


class GANSRModel(TrainableSRModel):
    """TrainableSRModel with declared options, padded EdgeConnect geometry and GAN/VGG losses.

    `options`: constructor argument -> (default, check); check is a tuple of allowed values or a
    function that converts (and validates) the value, e.g. `float`. Subclasses extend
    `GANSRModel.options` and implement `_forward(lr, training)` on a padded LR batch.
    """

    options = {
        "gan_loss": ("hinge", GAN_KINDS),
        "l1_weight": (1.0, float),
        "adv_weight": (1.0, float),
        "content_weight": (0.1, float),
        "style_weight": (250.0, float),
        "orientation_weight": (0.0, float),
        "periodic_weight": (0.0, float),
        "perceptual_weights": (None, _keep),
        "canny_sigma": (2.0, float),
        "upsample": ("transpose", UPSAMPLE_MODES),
        "antialias": (False, bool),
        "loss_shift": (0, _pixels),
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        base = inspect.signature(TrainableSRModel.__init__).parameters
        head = [p for name, p in base.items() if name != "kwargs"]
        declared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
                    for name, (default, _) in cls.options.items()]
        cls.__signature__ = inspect.Signature(head[1:] + declared + [base["kwargs"]])

    def __init__(self, scale=4, preset="full", **kwargs):
        values = {name: kwargs.pop(name, default) for name, (default, _) in self.options.items()}
        super().__init__(scale=scale, preset=preset, **kwargs)
        for name, value in values.items():
            check = self.options[name][1]
            if isinstance(check, tuple):
                if value not in check:
                    raise ValueError(f"{type(self).__name__}: {name} must be one of {check}, got {value!r}")
            else:
                try:
                    value = check(value)
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{type(self).__name__}: {name}: {e}") from None
            setattr(self, name, value)
        self._perceptual = None

    def get_config(self):
        return {**super().get_config(), **{name: getattr(self, name) for name in self.options}}

    # --- geometry -------------------------------------------------------------------------
    @property
    def min_input_size(self):
        """Smallest LR side the generators take without extra padding (`call` pads smaller ones)."""
        return edgeconnect_lr_geometry(self.scale)[1]

    def _forward(self, lr, training=False):
        """SR batch for an LR batch already padded to the generators' geometry."""
        raise NotImplementedError

    def on_padded(self, fn, lr):
        """`fn` of `lr` padded to the generators' geometry, cropped to `scale` x the LR size."""
        lr = tf.cast(lr, tf.float32)
        padded, h, w = pad_to_multiple(lr, *edgeconnect_lr_geometry(self.scale))
        return fn(padded)[:, : h * self.scale, : w * self.scale, :]

    def call(self, lr, training=False):
        return self.on_padded(lambda x: self._forward(x, training=training), lr)

    # --- losses ---------------------------------------------------------------------------
    @property
    def needs_perceptual(self):
        """Whether training uses the VGG content/style terms (built by `compile`)."""
        return bool(self.content_weight or self.style_weight)

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if self.needs_perceptual:
            # Kept out of Keras' tracking: not part of the SR model's weights or checkpoints.
            set_untracked(self, "_perceptual", make_perceptual(self.perceptual_weights))

    def shifted(self, a, b):
        """``a`` and ``b`` cropped at one random offset in [0, loss_shift] px (unchanged at 0).

        The discriminators and VGG subsample by 2 at fixed positions, so a period-2 pattern in the
        SR image moves their outputs one way at one phase and the other way at the other: a lever
        the generator learns to pull (a grid). A random offset per step moves their sampling grid
        against the SR pixel grid, and the pattern no longer pays in a consistent direction."""
        j = self.loss_shift
        if not j:
            return a, b
        dy, dx = tf.unstack(tf.random.uniform([2], 0, j + 1, dtype=tf.int32))
        h, w = tf.shape(a)[1] - j, tf.shape(a)[2] - j
        return a[:, dy:dy + h, dx:dx + w], b[:, dy:dy + h, dx:dx + w]

    def perceptual_terms(self, sr, hr):
        """(content, style) VGG losses (on `shifted` crops); zeros when the model trains without them."""
        if self._perceptual is None:
            return tf.constant(0.0), tf.constant(0.0)
        return self._perceptual(*self.shifted(sr, hr))

    @property
    def optional_term_names(self):
        """The generator loss terms that are off by default (weight 0) and switched on here."""
        return tuple(name for name in ("orientation", "periodic") if getattr(self, f"{name}_weight"))

    def optional_terms(self, sr, hr):
        """{name: (weight, value)} of `optional_term_names`: "orientation" is
        `losses.orientation.orientation_coherence_loss`, "periodic" `losses.periodic.periodic_error_loss`
        (on the full SR and HR: its period is fixed by the SR pixel grid, not shifted)."""
        losses = {"orientation": lambda: orientation_coherence_loss(sr, hr),
                  "periodic": lambda: periodic_error_loss(sr, hr, self.scale)}
        return {name: (getattr(self, f"{name}_weight"), losses[name]()) for name in self.optional_term_names}

    @staticmethod
    def l1(a, b):
        """Mean absolute error."""
        return l1_loss(a, b)

    def adversarial(self, disc, real, fake, training=True):
        """One pass of `disc` on [real; fake] (`shifted` crops in training): (d_loss, g_adv, real
        activations, fake activations)."""
        if training:
            real, fake = self.shifted(real, fake)
        n = tf.shape(real)[0]
        acts = disc(tf.concat([real, fake], axis=0), training=training)
        real_acts, fake_acts = [a[:n] for a in acts], [a[n:] for a in acts]
        d_loss = discriminator_loss(real_acts, fake_acts, self.gan_loss)
        g_adv = generator_loss(fake_acts, self.gan_loss, real_acts)
        return d_loss, g_adv, real_acts, fake_acts

    def weighted_adversarial(self, weight, disc, real, fake):
        """(d_loss, g_adv) of `adversarial`, or zeros when `weight` is 0 without running `disc`:
        a pixel/content-only run (e.g. a fine-tune with adv_weight=0) pays nothing for a
        discriminator whose loss it ignores. Update the discriminator only when `weight` is set."""
        if not weight:
            zero = tf.constant(0.0)
            return zero, zero
        d_loss, g_adv, _, _ = self.adversarial(disc, real, fake)
        return d_loss, g_adv
