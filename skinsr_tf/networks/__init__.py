"""Pure architectures: functional keras.Model builders (channels-last, no losses, no training).

The builders are importable from here lazily, so importing the package does not import TensorFlow.
"""

from skinsr_tf._require import require_tensorflow

require_tensorflow()

_PUBLIC = {
    "build_edgeconnect_generator": "edgeconnect",
    "build_patch_discriminator": "discriminator",
    "build_spsr_generator": "spsr",
    "build_unet": "unet",
    "build_unetpp": "unetpp",
    "get_preset": "presets",
    "PRESETS": "presets",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
