"""Model names -> classes, and `load_model` for training-run folders and `.keras` files."""

import json
from pathlib import Path


class _Registry(dict):
    """Name -> class mapping that imports each model module on first access (TF loads lazily)."""

    _where = {
        "edge_sisr": ("skinsr_tf.models.edge_informed", "EdgeInformedSR"),
        "spsr": ("skinsr_tf.models.spsr", "SPSR"),
        "unet": ("skinsr_tf.models.unet", "UNetSR"),
        "unetpp": ("skinsr_tf.models.unet", "UNetPlusPlusSR"),
        "bicubic": ("skinsr_tf.models.bicubic", "Bicubic"),
    }

    def __init__(self):
        super().__init__({name: None for name in self._where})

    def __getitem__(self, name):
        if name not in self._where:
            raise KeyError(name)
        cls = super().__getitem__(name)
        if cls is None:
            import importlib

            module, attr = self._where[name]
            cls = getattr(importlib.import_module(module), attr)
            super().__setitem__(name, cls)
        return cls

    def get(self, name, default=None):
        return self[name] if name in self else default

    def values(self):
        return [self[n] for n in self]

    def items(self):
        return [(n, self[n]) for n in self]


MODELS = _Registry()


def get_model_class(name):
    """The model class registered as `name` (edge_sisr, spsr, unet, unetpp, bicubic)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available models: {', '.join(MODELS)}")
    return MODELS[name]


def resolve_weights(path):
    """The weights file a run folder stands for: final.weights.h5, else its newest checkpoint."""
    from ..training import CHECKPOINT_DIR, FINAL_WEIGHTS, latest_checkpoint

    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        if (path / FINAL_WEIGHTS).is_file():
            return path / FINAL_WEIGHTS
        latest = latest_checkpoint(path / CHECKPOINT_DIR)
        if latest is not None:
            return latest
        raise FileNotFoundError(f"{path}: no {FINAL_WEIGHTS} and no checkpoint in {CHECKPOINT_DIR}/")
    raise FileNotFoundError(f"{path}: no such file or folder")


def load_weights_into(model, path):
    """Load `.weights.h5`, a training checkpoint (`.npz`, model part only) or shipped weights
    (`skinsr_tf/weights/*.weights.npz`: the inference networks only) into a built model."""
    import numpy as np

    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as data:
            keys = sorted(k for k in data.files if k.startswith("model/"))
            shipped = not keys and any("/" in k and k.split("/", 1)[0].isdigit() for k in data.files)
        if shipped:
            from .base import load_weights_compact

            return load_weights_compact(model, path)
        with np.load(path) as data:
            if len(keys) != len(model.weights):
                raise ValueError(f"{path}: holds {len(keys)} model variables, the model has {len(model.weights)}")
            for key, var in zip(keys, model.weights):
                var.assign(data[key])
    else:
        model.load_weights(str(path))
    return model


def load_model(path):
    """Rebuild a trained model from a training-run folder (config.json + weights) or a `.keras` file.

    A run folder is what `examples/train.py` writes: config.json {"model": name, "model_kwargs":
    {...}} and final.weights.h5 (or, if training was cut short, its newest checkpoint).
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        import keras

        get_model_class("edge_sisr"), get_model_class("spsr"), get_model_class("unet")  # register classes
        return keras.saving.load_model(str(path), compile=False)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: expected a training-run folder (with config.json) or a .keras file")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{path}: no config.json; is this a folder written by examples/train.py?")
    try:
        config = json.loads(config_path.read_text())
        name, kwargs = config["model"], dict(config.get("model_kwargs") or {})
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{config_path}: not a valid training config ({e})") from e
    model = get_model_class(name)(**kwargs)
    return load_weights_into(model, resolve_weights(path))
