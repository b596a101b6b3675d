"""Training runner: distribution strategies, checkpoints with resume, NaN guard, LR plateau.

`train(...)` is what `examples/train.py` composes; the pieces are usable with a plain
`model.fit` too:

- `get_strategy(name)`: "auto" | "one" | "mirrored" | "multiworker".
- `save_checkpoint` / `restore_checkpoint` / `latest_checkpoint`: every model weight (spectral-norm
  vectors included), every optimiser variable (moments, iteration count, learning rate) and the
  step count, in one `.npz` written to a temporary name and `os.replace`d, so a kill at any
  moment leaves the previous checkpoint intact.
- `CheckpointAndGuard`: saves every `save_every` steps and at each epoch's end, after the epoch's
  metrics row is logged (only on the chief worker); stops training
  at the first non-finite loss and never writes a checkpoint after it (nor one holding a
  non-finite weight). `train` then raises `NonFiniteLossError` naming the last good checkpoint.
- `ReduceLROnPlateau`: multiplies the learning rate of *all* the model's optimisers by `factor`
  when the monitored validation metric stalls (the report: 1e-3, then 1e-4).

Training is organised in "epochs" of `steps_per_epoch` steps: one validation pass, one
TensorBoard point, one metrics.csv row and one checkpoint each, plus a checkpoint every
`checkpoint_every` steps within an epoch, so a kill loses little even in a run shorter than one epoch.
`--steps` that is not a multiple is honoured exactly (the last epoch is shorter), and a resumed run
continues at the checkpoint's step and rewrites the metrics rows of the epochs it repeats.
The data are checked before anything is built or written; a problem raises `DataError`.
"""

import csv
import inspect
import json
import math
import os
import re
from pathlib import Path

from skinsr_tf._require import require_tensorflow

require_tensorflow()

import keras  # noqa: E402 (after the check, so a missing TensorFlow reads as one line)
import numpy as np

from .data.io import atomic_write

CONFIG_NAME = "config.json"
FINAL_WEIGHTS = "final.weights.h5"
CHECKPOINT_DIR = "checkpoints"
_CKPT_RE = re.compile(r"^ckpt-(\d+)\.npz$")


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/Inf loss; the last good checkpoint is kept."""


class DataError(ValueError):
    """The training data cannot be used (missing, empty, unreadable); the message says why."""


# --- strategies -----------------------------------------------------------------------------
def get_strategy(name="auto"):
    """A `tf.distribute.Strategy` by name.

    auto: MultiWorkerMirroredStrategy if TF_CONFIG is set, MirroredStrategy with >1 GPU, else the
    default (no-op) strategy. one: OneDeviceStrategy on GPU:0 (or CPU:0). mirrored: all local
    GPUs (or logical CPUs when there are several and no GPU). multiworker: TF_CONFIG cluster.
    """
    import tensorflow as tf

    # Multi-worker collectives must be configured before anything initialises the TF runtime,
    # so nothing here lists logical devices before that case is settled.
    if name == "multiworker" or (name == "auto" and os.environ.get("TF_CONFIG")):
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy 'multiworker' needs the TF_CONFIG environment variable (cluster spec)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.get_strategy()
    if name == "one":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus)
    raise ValueError(f"unknown strategy {name!r}; choose auto, one, mirrored or multiworker")


def is_chief(strategy):
    """True on the worker that writes checkpoints, logs and final weights."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))


# --- checkpoints ----------------------------------------------------------------------------
def _state_variables(model):
    """Key -> variable for everything a resume needs, in creation order.

    Keys are positional (auto-generated optimiser names differ between processes); the variable
    paths are stored alongside for error messages.
    """
    out = {}
    for i, v in enumerate(model.weights):
        out[f"model/{i:05d}"] = v
    for name, opt in getattr(model, "optimizers", {}).items():
        for i, v in enumerate(opt.variables):
            out[f"opt/{name}/{i:05d}"] = v
    return out


def save_checkpoint(model, path, step):
    """Write the model's and optimisers' state plus `step` atomically to `path` (.npz)."""
    arrays = {k: _numpy(v) for k, v in _state_variables(model).items()}
    arrays["__step__"] = np.asarray(int(step), np.int64)
    arrays["__paths__"] = np.asarray([v.path for v in _state_variables(model).values()])
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def restore_checkpoint(model, path):
    """Load a checkpoint written by `save_checkpoint` into a built, compiled model; return its step."""
    path = Path(path)
    try:
        data = np.load(path)
    except Exception as e:  # truncated / foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({e})") from e
    with data:
        variables = _state_variables(model)
        stored = [k for k in data.files if not k.startswith("__")]
        if sorted(stored) != sorted(variables):
            raise ValueError(
                f"{path}: checkpoint does not match this model ({len(stored)} stored variables, the "
                f"model has {len(variables)}); was it written with other model flags?"
            )
        for key, var in variables.items():
            value = data[key]
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(
                    f"{path}: {key} ({var.path}) has shape {value.shape}, the model expects "
                    f"{tuple(var.shape)}; was it written with other model flags?"
                )
        for key, var in variables.items():  # all checked first: no half-restored model
            var.assign(data[key])
        return int(data["__step__"])


def list_checkpoints(directory):
    """[(step, path)] of the checkpoints in `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), directory / m.group(0)) for m in map(_CKPT_RE.match, os.listdir(directory)) if m]
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest checkpoint in `directory`, or None."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def _numpy(v):
    return keras.ops.convert_to_numpy(v)


def _trim_metrics(path, first_epoch):
    """Drop metrics.csv rows of epochs >= `first_epoch` (a resumed run logs them again)."""
    path = Path(path)
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or "epoch" not in rows[0]:
        return
    col = rows[0].index("epoch")
    keep = [rows[0]] + [r for r in rows[1:] if len(r) > col and r[col].isdigit() and int(r[col]) < first_epoch]
    if len(keep) < len(rows):
        with atomic_write(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(keep)


# --- callbacks ------------------------------------------------------------------------------
class CheckpointAndGuard(keras.callbacks.Callback):
    """Checkpoint every `save_every` steps and at each epoch's end; stop on the first non-finite
    loss, saving nothing after.

    A save that falls on an epoch's last step waits for `on_epoch_end`, so put this callback after
    the loggers: a checkpoint then never gets ahead of the metrics row of its epoch.
    `step` counts optimisation steps across `fit` calls (set it to the restored step on resume).
    After training, `bad_step` is None or the step whose loss was not finite.
    """

    def __init__(self, directory, save_every, start_step=0, keep=3, write=True):
        super().__init__()
        self.directory = Path(directory)
        self.save_every = int(save_every)
        self.step = int(start_step)
        self.keep = int(keep)
        self.write = write
        self.bad_step = None
        self.bad_logs = None
        self.saved_step = None

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        logs = logs or {}
        bad = {k: float(v) for k, v in logs.items() if _is_number(v) and not math.isfinite(float(v))}
        if bad and self.bad_step is None:
            self.bad_step, self.bad_logs = self.step, bad
            self.model.stop_training = True
            return
        last_of_epoch = batch + 1 == (self.params or {}).get("steps")
        if self.bad_step is None and self.step % self.save_every == 0 and not last_of_epoch:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        """Save now unless training went bad, or this step is saved; refuses a non-finite weight."""
        if self.bad_step is not None or not self.write or self.saved_step == self.step:
            return
        for v in self.model.weights:
            if not np.all(np.isfinite(_numpy(v))):
                self.bad_step, self.bad_logs = self.step, {"weight " + v.path: float("nan")}
                self.model.stop_training = True
                return
        save_checkpoint(self.model, self.directory / f"ckpt-{self.step}.npz", self.step)
        self.saved_step = self.step
        for _, old in list_checkpoints(self.directory)[: -self.keep]:
            old.unlink(missing_ok=True)


def _is_number(v):
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


class ReduceLROnPlateau(keras.callbacks.Callback):
    """Multiply every optimiser's learning rate by `factor` when `monitor` stops improving.

    Unlike `keras.callbacks.ReduceLROnPlateau` it updates all of `model.optimizers` (GAN models
    have several). The report: lr 1e-3 until the validation plateau, then 1e-4.
    """

    def __init__(self, monitor="val_psnr_y", mode="max", factor=0.1, patience=5, min_lr=1e-4, min_delta=1e-3):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.monitor, self.mode, self.factor = monitor, mode, float(factor)
        self.patience, self.min_lr, self.min_delta = int(patience), float(min_lr), float(min_delta)
        self.best = None
        self.wait = 0

    def _optimizers(self):
        opts = list(getattr(self.model, "optimizers", {}).values())
        return opts or [self.model.optimizer]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        better = self.best is None or (
            value > self.best + self.min_delta if self.mode == "max" else value < self.best - self.min_delta
        )
        if better:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        self.wait = 0
        for opt in self._optimizers():
            old = float(_numpy(opt.learning_rate))
            new = max(old * self.factor, self.min_lr)
            if new < old:
                opt.learning_rate = new
                print(f"\nReduceLROnPlateau: {self.monitor} stalled at {value:.4f}; lr {old:g} -> {new:g}")


def _has_tensorboard():
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


# --- the runner -----------------------------------------------------------------------------
def train(
    model_name,
    model_kwargs,
    *,
    output_dir,
    data_dir=None,
    steps=1000,
    steps_per_epoch=100,
    checkpoint_every=None,
    batch_size=8,
    crop=128,
    learning_rate=None,
    betas=None,
    strategy="auto",
    mixed_precision=False,
    resume=False,
    seed=0,
    init_weights=None,
    val_batches=None,
    plateau_patience=5,
    keep_checkpoints=3,
    jit_compile=False,
    extra_config=None,
    verbose=1,
    degradation="bicubic",
):
    """Train registry model `model_name` for exactly `steps` steps; return the trained model.

    Writes to `output_dir`: config.json (everything needed to rebuild the model), checkpoints/
    (`ckpt-<step>.npz`), metrics.csv (one row per epoch), logs/ (TensorBoard, if installed),
    final.weights.h5, and the split manifest when the data folder is read-only.
    `checkpoint_every`: steps between checkpoints within an epoch (default: `steps_per_epoch`; a
    tenth of `steps` when the whole run is shorter than one epoch). With `resume`, continues from
    the newest checkpoint (same step count, optimiser state and learning rate); without it, a
    folder that already holds checkpoints is refused. `init_weights`: a weights file loaded
    before training (model-specific, e.g. `EdgeInformedSR.load_edge_generator_weights`).
    `batch_size` is the global batch (split across replicas). `degradation`: how LR is made from
    HR ("bicubic", "realistic", "phone" or a `data.degrade.DegradationConfig`), recorded in
    config.json with all its ranges.
    """
    import tensorflow as tf

    from .data.dataset import make_dataset
    from .data.degrade import describe as describe_degradation
    from .models.registry import get_model_class

    output_dir = Path(output_dir)
    ckpt_dir = output_dir / CHECKPOINT_DIR
    if not resume and list_checkpoints(ckpt_dir):
        raise FileExistsError(
            f"{output_dir} already holds checkpoints of a run; pass resume=True (--resume) to continue it "
            "or choose another output folder"
        )
    if steps < 1 or steps_per_epoch < 1:
        raise ValueError(f"steps and steps_per_epoch must be >= 1, got {steps} and {steps_per_epoch}")
    if checkpoint_every is None:
        checkpoint_every = steps_per_epoch if steps >= steps_per_epoch else max(1, steps // 10)
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if data_dir is None:
        from .data.synthetic import ensure_synthetic_set

        data_dir = ensure_synthetic_set()
    source = _data_source(data_dir, output_dir)

    strat = get_strategy(strategy)  # first: multi-worker setup must precede any TF op
    keras.utils.set_random_seed(seed)
    chief = is_chief(strat)
    distributed = strat.num_replicas_in_sync > 1 or isinstance(strat, tf.distribute.MultiWorkerMirroredStrategy)
    cls = get_model_class(model_name)
    scale = int(model_kwargs.get("scale", inspect.signature(cls).parameters["scale"].default))

    def data(split, **kw):
        ds = make_dataset(source, split=split, scale=scale, crop=crop, batch_size=batch_size,
                          edges=cls.needs_edges, degradation=degradation, **kw)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options)

    # The data first: a bad data folder costs no model build and leaves no run folder behind.
    found = list_checkpoints(ckpt_dir) if resume else []
    first_step = found[-1][0] if found else 0
    try:
        val_ds = data("dev")
        first_train_ds = data("train", seed=seed + first_step, repeat=-1)
        if distributed:
            # Every replica needs a non-empty share of every batch: full batches only (a multiple of
            # the replica count; smaller when the dev split is smaller than one global batch).
            n_dev = sum(int(b["hr"].shape[0]) for b in val_ds)
            n_rep = strat.num_replicas_in_sync
            val_batch = max(n_rep, min(batch_size, n_dev) // n_rep * n_rep)
            val_ds = val_ds.unbatch().repeat(-(-val_batch // max(n_dev, 1)))  # a tiny dev set is reused
            val_ds = val_ds.batch(val_batch, drop_remainder=True)
        if val_batches:
            val_ds = val_ds.take(val_batches)
        val_ds = val_ds.cache()  # dev crops are few and fixed; counted once, then read from memory
        val_steps = sum(1 for _ in val_ds)
        if val_steps == 0:
            raise ValueError(f"{data_dir}: the dev split yields no validation batch (too few images for the replicas)")
    except (ValueError, OSError) as err:
        raise DataError(f"{data_dir}: cannot train on this data: {err}") from err
    val_ds = val_ds.repeat()

    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    with strat.scope():
        model = cls(**model_kwargs)
        if init_weights:
            model.load_init_weights(init_weights)
        compile_kwargs = {"learning_rate": learning_rate}
        if betas is not None:
            compile_kwargs["beta_1"], compile_kwargs["beta_2"] = betas
        model.compile(jit_compile=bool(jit_compile) and not distributed, **compile_kwargs)

    start_step = 0
    latest = found[-1][1] if found else None
    if latest is not None:
        start_step = restore_checkpoint(model, latest)
        if verbose:
            print(f"Resumed from {latest} at step {start_step}")

    config = {
        "model": model_name,
        "model_kwargs": model.get_config_kwargs(),
        "compile": model.get_compile_config(),
        "data_dir": str(data_dir),
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "checkpoint_every": checkpoint_every,
        "batch_size": batch_size,
        "crop": crop,
        "strategy": strategy,
        "num_replicas": strat.num_replicas_in_sync,
        "mixed_precision": mixed_precision,
        "seed": seed,
        "init_weights": str(init_weights) if init_weights else None,
        "degradation": describe_degradation(degradation),
        **(extra_config or {}),
    }
    if chief:
        with atomic_write(output_dir / CONFIG_NAME, "w") as f:
            f.write(json.dumps(config, indent=2, default=str) + "\n")

    guard = CheckpointAndGuard(ckpt_dir, checkpoint_every, start_step, keep=keep_checkpoints, write=chief)
    monitor, mode = model.monitor
    log_dir = output_dir / "logs" if chief else output_dir / "logs" / f"worker-{strat.cluster_resolver.task_id}"
    callbacks = [ReduceLROnPlateau(monitor, mode, patience=plateau_patience)]
    if chief:
        _trim_metrics(output_dir / "metrics.csv", start_step // steps_per_epoch)
        callbacks.append(keras.callbacks.CSVLogger(str(output_dir / "metrics.csv"), append=True))
    if _has_tensorboard():
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False))
    elif verbose and chief:
        print("tensorboard is not installed: logging epochs to metrics.csv only")
    callbacks.append(guard)  # last: an epoch's checkpoint follows its metrics row

    step = start_step
    while step < steps and guard.bad_step is None:
        # Segment: up to the next multiple of steps_per_epoch (or to `steps`).
        n = min(steps_per_epoch - step % steps_per_epoch, steps - step)
        epoch = step // steps_per_epoch
        if step % steps_per_epoch == 0 and n == steps_per_epoch:
            n_epochs = (steps - step) // steps_per_epoch
        else:
            n_epochs = 1
        train_ds = first_train_ds if step == first_step else data("train", seed=seed + step, repeat=-1)
        model.fit(
            train_ds,
            epochs=epoch + n_epochs,
            initial_epoch=epoch,
            steps_per_epoch=n,
            validation_data=val_ds,
            validation_steps=val_steps,
            callbacks=callbacks,
            verbose=verbose if chief else 0,
            shuffle=False,  # the tf.data pipeline shuffles
        )
        step = guard.step

    if guard.bad_step is not None:
        good = latest_checkpoint(ckpt_dir)
        raise NonFiniteLossError(
            f"non-finite value at step {guard.bad_step}: {guard.bad_logs}. Training stopped; "
            f"last good checkpoint: {good or 'none (failed before the first one)'}. "
            "Lower the learning rate or check the data, then rerun with --resume."
        )
    if chief:
        with atomic_write(output_dir / FINAL_WEIGHTS, None) as tmp:
            model.save_weights(str(tmp))
    return model


def _data_source(data_dir, output_dir):
    """What `make_dataset` reads: `data_dir` itself, or, when that folder holds no split manifest
    and cannot take one (read-only), a manifest in the run folder (made once, then reused)."""
    from .data.dataset import MANIFEST_NAME, build_manifest

    data_dir = Path(data_dir)
    if not data_dir.is_dir() or (data_dir / MANIFEST_NAME).exists() or os.access(data_dir, os.W_OK):
        return data_dir
    try:
        return build_manifest(data_dir, Path(output_dir) / MANIFEST_NAME)
    except (ValueError, OSError) as err:
        raise DataError(f"{data_dir}: cannot train on this data: {err}") from err
