"""Losses as plain functions on tensors: adversarial, perceptual (VGG content / style), pixel,
orientation coherence, periodic error.

Names are importable from here lazily (no TensorFlow import at package import).
"""

from skinsr_tf._require import require_tensorflow

require_tensorflow()

_PUBLIC = {
    "discriminator_loss": "adversarial",
    "generator_loss": "adversarial",
    "feature_matching_loss": "adversarial",
    "GAN_KINDS": "adversarial",
    "VGGPerceptual": "perceptual",
    "gram_matrix": "perceptual",
    "l1_loss": "pixel",
    "mse_loss": "pixel",
    "gradient_loss": "pixel",
    "mix_ge_loss": "pixel",
    "ssim_loss": "pixel",
    "orientation_coherence_loss": "orientation",
    "orientation_error_degrees": "orientation",
    "structure_tensor": "orientation",
    "periodic_error": "periodic",
    "periodic_error_loss": "periodic",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
