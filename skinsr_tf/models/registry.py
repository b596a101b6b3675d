"""Model names -> classes (the names of `skinsr_tf.catalog`), and `load_model` for training-run
folders, weights files and `.keras` files."""

import json
from pathlib import Path

from ..catalog import MODEL_NAMES, MODEL_TABLE
from ..runs import CONFIG_NAME, is_shipped, resolve_weights, run_config_path, shipped_config_path


class _Registry(dict):
    """Name -> class mapping that imports each model module on first access (TF loads lazily)."""

    _where = {name: (module, cls) for name, (module, cls, _) in MODEL_TABLE.items()}

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
    """The model class registered as `name` (one of `skinsr_tf.catalog.MODEL_NAMES`)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available models: {', '.join(MODELS)}")
    return MODELS[name]


__all__ = ["MODELS", "MODEL_NAMES", "get_model_class", "load_model", "load_weights_into", "resolve_weights"]


def load_weights_into(model, path):
    """Load a weights file (final weights, checkpoint or shipped; matched by name) into a built model."""
    model.load_weights(str(path))
    return model


def _model_from_config(config_path):
    try:
        config = json.loads(Path(config_path).read_text())
        name, kwargs = config["model"], dict(config.get("model_kwargs") or {})
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{config_path}: not a valid model config ({e})") from e
    return get_model_class(name)(**kwargs)


def load_model(path):
    """Rebuild a trained model from a training-run folder, a weights file or a `.keras` file.

    A run folder is what `examples/train.py` writes: config.json {"model": name, "model_kwargs":
    {...}} and final.weights.h5 (or, if training was cut short, its newest checkpoint). A weights
    file needs its config beside it: a shipped `.shipped.h5` its `.json`, a run's final weights or
    checkpoint its run's config.json.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        import keras

        for name in MODEL_NAMES:  # register the classes
            get_model_class(name)
        return keras.saving.load_model(str(path), compile=False)
    if path.is_file():
        config_path = shipped_config_path(path) if is_shipped(path) else run_config_path(path)
        if config_path is None or not config_path.is_file():
            raise FileNotFoundError(f"{path}: no model config beside it "
                                    f"({'its .json' if is_shipped(path) else CONFIG_NAME}); pass the run folder")
        model = _model_from_config(config_path)
        if is_shipped(path):
            model.build_for_inference()
        return load_weights_into(model, path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: expected a training-run folder (with config.json), a weights file or a .keras file")
    config_path = path / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(f"{path}: no config.json; is this a folder written by examples/train.py?")
    return load_weights_into(_model_from_config(config_path), resolve_weights(path))
