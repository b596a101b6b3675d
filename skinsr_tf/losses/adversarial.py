"""GAN losses on discriminator logits: hinge (default), nsgan, lsgan, relativistic average (ragan).

Every function takes raw logits (no sigmoid applied; the BCE forms use the numerically stable
"with logits" formula) and returns a float32 scalar. A list or tuple of discriminator activations
(what ``build_patch_discriminator`` returns) is accepted wherever logits are: its last element is
used. As in EdgeConnect / ESRGAN the discriminator losses average the real and fake terms.

  kind   discriminator                                  generator
  hinge  [mean relu(1 - r) + mean relu(1 + f)] / 2      -mean f
  nsgan  [BCE(r, 1) + BCE(f, 0)] / 2                    BCE(f, 1)
  lsgan  [mean (r - 1)^2 + mean f^2] / 2                mean (f - 1)^2
  ragan  [BCE(r - mean f, 1) + BCE(f - mean r, 0)] / 2  [BCE(r - mean f, 0) + BCE(f - mean r, 1)] / 2

lsgan is Mao et al.'s on raw outputs (EdgeConnect's "lsgan" passes a sigmoid first). ragan is the
relativistic average GAN of ESRGAN / SPSR; its generator loss needs the real logits, which it
treats as constants.
"""

from keras import ops

GAN_KINDS = ("hinge", "nsgan", "lsgan", "ragan")


def _logits(x):
    if isinstance(x, (list, tuple)):
        x = x[-1]
    return ops.cast(x, "float32")


def _check(kind):
    if kind not in GAN_KINDS:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of {GAN_KINDS}")


def bce_with_logits(logits, target):
    """Mean binary cross-entropy of ``logits`` against the constant label ``target`` (0 or 1)."""
    # max(x, 0) - x * t + log(1 + exp(-|x|))
    return ops.mean(ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits))))


def discriminator_loss(real_logits, fake_logits, kind="hinge"):
    """Discriminator loss from its logits on real and generated images."""
    _check(kind)
    r, f = _logits(real_logits), _logits(fake_logits)
    if kind == "hinge":
        return (ops.mean(ops.relu(1.0 - r)) + ops.mean(ops.relu(1.0 + f))) / 2
    if kind == "nsgan":
        return (bce_with_logits(r, 1.0) + bce_with_logits(f, 0.0)) / 2
    if kind == "lsgan":
        return (ops.mean(ops.square(r - 1.0)) + ops.mean(ops.square(f))) / 2
    return (bce_with_logits(r - ops.mean(f), 1.0) + bce_with_logits(f - ops.mean(r), 0.0)) / 2


def generator_loss(fake_logits, kind="hinge", real_logits=None):
    """Generator (adversarial) loss from the discriminator's logits on generated images."""
    _check(kind)
    f = _logits(fake_logits)
    if kind == "hinge":
        return -ops.mean(f)
    if kind == "nsgan":
        return bce_with_logits(f, 1.0)
    if kind == "lsgan":
        return ops.mean(ops.square(f - 1.0))
    if real_logits is None:
        raise ValueError("generator_loss(kind='ragan') needs real_logits (relativistic loss)")
    r = ops.stop_gradient(_logits(real_logits))
    return (bce_with_logits(r - ops.mean(f), 0.0) + bce_with_logits(f - ops.mean(r), 1.0)) / 2


def feature_matching_loss(real_acts, fake_acts):
    """Sum over layers of mean |real - fake| (real activations detached), EdgeConnect's FM loss.

    Pass all five activations of ``build_patch_discriminator`` as the reference does.
    """
    if len(real_acts) != len(fake_acts):
        raise ValueError(
            f"feature_matching_loss: {len(real_acts)} real vs {len(fake_acts)} fake activations"
        )
    total = 0.0
    for r, f in zip(real_acts, fake_acts):
        r = ops.stop_gradient(ops.cast(r, "float32"))
        total = total + ops.mean(ops.abs(r - ops.cast(f, "float32")))
    return total
