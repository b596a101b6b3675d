"""The one weights format: an HDF5 file of arrays addressed by name, loaded by name.

Names are stable across processes and construction order: a model variable is
`model/<network attribute>/<variable path>` (e.g. `model/sr_discriminator/conv1/conv1_conv/kernel`,
so two discriminators of identical shapes can never swap), an optimiser variable
`optimizer/<group>/<variable name>`. Loading checks every name first and fails listing the
missing and unexpected ones (and shape mismatches) before assigning anything.

The root attribute `kind` says what a file holds (the file suffixes of `skinsr_tf.runs` say it too):
- "weights": every model variable, float32 (`model.save_weights`, a run's final.weights.h5);
- "checkpoint": model + optimisers + `step` + a JSON `state` (callback state, e.g. the LR plateau);
- "shipped": the variables inference needs (`inference_variables()`), float16 where values fit.
"""

import json
from pathlib import Path

import keras
import numpy as np

FORMAT = "skinsr_tf.weights"
VERSION = 1
KINDS = ("weights", "checkpoint", "shipped")
FLOAT16_MAX = float(np.finfo(np.float16).max)


class WeightsMismatchError(ValueError):
    """A weights file does not hold exactly the variables the model has."""


# --------------------------------------------------------------------------- names
def model_variables(model):
    """{name: variable} for every variable of `model`, named by the attribute holding its network."""
    named, seen = {}, set()
    for attr, layer in sorted(vars(model).items()):
        if attr.startswith("_") or not isinstance(layer, keras.layers.Layer):
            continue
        for v in layer.weights:
            if id(v) not in seen:
                named[f"model/{attr}/{_relative(v.path, layer.path)}"] = v
                seen.add(id(v))
    for v in model.weights:  # variables owned by the model itself
        if id(v) not in seen:
            named[f"model/{_relative(v.path, model.path)}"] = v
            seen.add(id(v))
    if len(named) != len(seen):
        raise ValueError(f"{type(model).__name__}: variable names are not unique")
    return named


def _relative(path, owner_path):
    """`path` below its owner's path: drops auto-numbered scopes (`my_model_3/conv2d_7/kernel`
    is `kernel` of the attribute holding that Conv2D), which differ between processes."""
    prefix = f"{owner_path}/"
    return path[len(prefix):] if owner_path and path.startswith(prefix) else path


def inference_variables(model):
    """The subset of `model_variables` that `model.inference_variables()` names."""
    wanted = {id(v) for v in model.inference_variables()}
    return {k: v for k, v in model_variables(model).items() if id(v) in wanted}


def optimizer_variables(model):
    """{name: variable} of the model's optimisers (`model.optimizers` groups, else `model.optimizer`)."""
    optimizers = dict(getattr(model, "optimizers", None) or {})
    if not optimizers and getattr(model, "optimizer", None) is not None:
        optimizers = {"optimizer": model.optimizer}
    named = {}
    for group, opt in optimizers.items():
        # Optimiser names are auto-numbered per process (adam, adam_1): the group and the role
        # (a LossScaleOptimizer's own variables, or its inner optimiser's) replace them.
        roles = {opt.name: ""}
        if getattr(opt, "inner_optimizer", None) is not None:
            roles[opt.inner_optimizer.name] = "inner/"
        for v in opt.variables:
            owner, _, rest = v.path.partition("/")
            key = f"optimizer/{group}/{roles[owner] + rest if owner in roles else v.path}"
            if key in named:
                raise ValueError(f"optimizer variable name {key} is not unique")
            named[key] = v
    return named


# --------------------------------------------------------------------------- files
def write(path, variables, kind, *, step=None, state=None, float16=False):
    """Write {name: variable} to `path` atomically; `float16` stores floats that fit as float16."""
    import h5py

    from ..data.io import atomic_write

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not variables:
        raise ValueError("no variables to save: build the model (call it once) first")
    with atomic_write(path, None) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update({"format": FORMAT, "version": VERSION, "kind": kind})
        if step is not None:
            f.attrs["step"] = int(step)
        if state is not None:
            f.attrs["state"] = json.dumps(state)
        for name, v in variables.items():
            value = np.asarray(keras.ops.convert_to_numpy(v))
            if float16 and value.dtype.kind == "f" and np.all(np.abs(value) <= FLOAT16_MAX):
                value = value.astype(np.float16)
            options = {"compression": "gzip", "shuffle": True} if value.ndim else {}
            f.create_dataset(name, data=value, **options)
    return Path(path)


def read(path):
    """(attributes, {name: array}) of a file written by `write`; a clear error for anything else."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        hint = " (an old .npz: convert it with examples/convert_weights.py)" if path.suffix == ".npz" else ""
        raise ValueError(f"{path}: not a readable HDF5 weights file{hint} ({e})") from e
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a skinsr_tf weights file (no format={FORMAT!r} attribute)")
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
        arrays = {}
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    if "state" in attrs:
        attrs["state"] = json.loads(attrs["state"])
    return attrs, arrays


def is_native(path):
    """True if `path` is a file of this format (False: e.g. Keras' own `.weights.h5` layout)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == FORMAT
    except OSError:
        return False


def assign(path, variables, arrays, what="the model"):
    """Assign `arrays` to `variables` by name, all or nothing: every name and shape is checked first."""
    missing = sorted(set(variables) - set(arrays))
    unexpected = sorted(set(arrays) - set(variables))
    problems = []
    if missing:
        problems.append(f"missing {len(missing)}: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {_listing(unexpected)}")
    for name in sorted(set(variables) & set(arrays)):
        if tuple(arrays[name].shape) != tuple(variables[name].shape):
            problems.append(f"{name} has shape {arrays[name].shape}, {what} expects {tuple(variables[name].shape)}")
    if problems:
        raise WeightsMismatchError(f"{path}: does not match {what} (other model flags or preset?); "
                                   + "; ".join(problems))
    for name, v in variables.items():
        v.assign(arrays[name].astype(keras.backend.standardize_dtype(v.dtype)))


def _listing(names, limit=8):
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


# --------------------------------------------------------------------------- model-level
def save_model_weights(model, path, kind="weights", *, step=None, state=None):
    """Save `model`: "weights" (all variables), "shipped" (inference variables, float16) or
    "checkpoint" (model + optimisers, `step`, `state`)."""
    if kind == "shipped":
        return write(path, inference_variables(model), kind, float16=True)
    variables = model_variables(model)
    if kind == "checkpoint":
        variables.update(optimizer_variables(model))
    return write(path, variables, kind, step=step, state=state)


def load_model_weights(model, path, optimizers=False):
    """Load any file of this format into a built `model`, matched by name; returns its attributes.

    A shipped file fills the inference variables (the rest keep their values); a weights file or
    checkpoint fills every model variable, and with `optimizers=True` (checkpoints only) every
    optimiser variable too.
    """
    attrs, arrays = read(path)
    kind = attrs.get("kind")
    if kind == "shipped":
        variables = inference_variables(model)
    else:
        variables = model_variables(model)
        if optimizers:
            if kind != "checkpoint":
                raise ValueError(f"{path}: a {kind!r} file holds no optimiser state; pass a checkpoint")
            variables.update(optimizer_variables(model))
        else:
            arrays = {k: a for k, a in arrays.items() if k.startswith("model/")}
    assign(path, variables, arrays, what=f"{type(model).__name__}")
    return attrs
