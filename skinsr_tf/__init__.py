"""skinsr-tf: super-resolution of skin-lesion photographs (Yeh & Tanner) in TensorFlow 2 / Keras 3.

The public names are imported lazily so that `import skinsr_tf` and `skinsr-tf --help` stay
instant; TensorFlow loads on first use of a model (and, when it is not installed, that first use
says which pip command installs it).
"""

__version__ = "0.1.0"

from skinsr_tf.catalog import MODEL_TABLE as _MODEL_TABLE

_PUBLIC = {cls: module for module, cls, _ in _MODEL_TABLE.values()}
_PUBLIC["load_model"] = "skinsr_tf.models.registry"

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        import importlib

        from skinsr_tf._require import require_tensorflow

        require_tensorflow()
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'skinsr_tf' has no attribute {name!r}")
