"""TensorFlow is installed through an extra, so a bare `pip install skinsr-tf` has none: say how to get it.

Its builds (``tensorflow``, ``tensorflow-cpu``, ``tensorflow[and-cuda]``) install the same module
and cannot sit side by side, so the package cannot depend on one of them (README, "Install").
Everything that needs TensorFlow calls :func:`require_tensorflow` before importing Keras or
TensorFlow, so a missing TensorFlow reads as one line instead of a traceback from inside Keras.
"""

import importlib.util

INSTALL_HINT = ('skinsr-tf needs TensorFlow, which is not installed: '
                'pip install "skinsr-tf[cpu]" (or "skinsr-tf[gpu]" for an NVIDIA GPU)')


class TensorFlowMissingError(ModuleNotFoundError):
    """TensorFlow cannot be imported; the message names the pip command that installs it."""


def require_tensorflow():
    """Raise TensorFlowMissingError unless `import tensorflow` can find the module (without importing it)."""
    if importlib.util.find_spec("tensorflow") is None:
        raise TensorFlowMissingError(INSTALL_HINT, name="tensorflow")
