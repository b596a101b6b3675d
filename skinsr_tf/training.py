"""Training runner: distribution strategies, checkpoints with resume, NaN guard, LR plateau.

`train(...)` is what `examples/train.py` composes; the pieces are usable with a plain
`model.fit` too:

- `get_strategy(name)`: "auto" | "one" | "mirrored" | "multiworker".
- `save_checkpoint` / `restore_checkpoint` / `latest_checkpoint`: every model weight (spectral-norm
  vectors included), every optimiser variable (moments, iteration count, learning rate), the
  step count and the state of the LR plateau, in one file of the named format
  (`skinsr_tf.models.weights_file`, `ckpt-<step>.ckpt.h5`) written to a temporary name and
  `os.replace`d, so a kill at any moment leaves the previous checkpoint intact.
- `CheckpointAndGuard`: saves every `save_every` steps and at each epoch's end, after the epoch's
  metrics row is logged (only on the chief worker); stops training
  at the first non-finite loss and never writes a checkpoint after it (nor one holding a
  non-finite weight). `train` then raises `NonFiniteLossError` naming the last good checkpoint.
- `ReduceLROnPlateau`: multiplies the learning rate of *all* the model's optimisers by `factor`
  when the monitored validation metric stalls (the report: 1e-3, then 1e-4); its state goes
  into the checkpoints.
- `Progress`: the overall step count, elapsed time and ETA after every epoch.
- `TrainingClock`: the run's training time, summed over resumes, and its device in
  `training_time.json` (what shipped weights state as their compute cost).

Training is organised in "epochs" of `steps_per_epoch` steps: one validation pass, one
TensorBoard point, one metrics.csv row and one checkpoint each, plus a checkpoint every
`checkpoint_every` steps within an epoch, so a kill loses little even in a run shorter than one epoch.
`--steps` that is not a multiple is honoured exactly (the last epoch is shorter), and a resumed run
continues at the checkpoint's step and rewrites the metrics rows of the epochs it repeats.
The data are checked once, before anything is built or written (a problem raises `DataError`);
the usable files go into the run folder's `data.json`, which every later dataset reads.
"""

import contextlib
import csv
import inspect
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from skinsr_tf._require import require_tensorflow

require_tensorflow()

import keras  # noqa: E402 (after the check, so a missing TensorFlow reads as one line)
import numpy as np

from .data.io import atomic_write
from .models import weights_file
from .runs import CHECKPOINT_DIR, CONFIG_NAME, FINAL_WEIGHTS, TRAINING_TIME, checkpoint_path, latest_checkpoint, list_checkpoints

DATA_MANIFEST = "data.json"
LR_SCHEDULES = ("plateau", "constant")


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
def save_checkpoint(model, path, step, state=None):
    """Write the model's and optimisers' variables (by name), `step` and `state` (a JSON-able
    dict, e.g. callback state) atomically to `path`."""
    weights_file.save_model_weights(model, path, "checkpoint", step=step, state=state or {})


def restore_checkpoint(model, path, callbacks=()):
    """Load a checkpoint written by `save_checkpoint` into a built, compiled model (matched by
    name: a mismatch lists the missing and unexpected variables); give each of `callbacks` with a
    `state_key` its saved state. Returns the checkpoint's step."""
    attrs = weights_file.load_model_weights(model, path, optimizers=True)
    state = attrs.get("state") or {}
    for callback in callbacks:
        key = getattr(callback, "state_key", None)
        if key in state:
            callback.set_state(state[key])
    return int(attrs["step"])


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

    def __init__(self, directory, save_every, start_step=0, keep=3, write=True, stateful=()):
        super().__init__()
        self.stateful = list(stateful)  # callbacks whose get_state() goes into each checkpoint
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
        state = {cb.state_key: cb.get_state() for cb in self.stateful}
        save_checkpoint(self.model, checkpoint_path(self.directory, self.step), self.step, state)
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
    have several). The report: lr 1e-3 until the validation plateau, then 1e-4. `min_lr`: the
    floor (0: none). Its state (`get_state` / `set_state`) goes into the checkpoints.
    """

    state_key = "reduce_lr_on_plateau"

    def __init__(self, monitor="val_psnr_y", mode="max", factor=0.1, patience=5, min_lr=0.0, min_delta=1e-3):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.monitor, self.mode, self.factor = monitor, mode, float(factor)
        self.patience, self.min_lr, self.min_delta = int(patience), float(min_lr), float(min_delta)
        self.best = None
        self.wait = 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait}

    def set_state(self, state):
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))

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
        changes = {}  # one message per distinct change, not one per optimiser
        for opt in self._optimizers():
            old = float(_numpy(opt.learning_rate))
            new = max(old * self.factor, self.min_lr)
            if new < old * (1 - 1e-6):  # the float32 variable holds min_lr only to rounding
                opt.learning_rate = new
                changes[f"{old:g} -> {new:g}"] = None
        if changes:
            print(f"\nReduceLROnPlateau: {self.monitor} stalled at {value:.4f}; lr {', '.join(changes)}")


def device_description():
    """"GPU: <names>" when TensorFlow sees GPUs, else "CPU (<n> cores)"."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        return "GPU: " + ", ".join(names)
    return f"CPU ({os.cpu_count()} cores)"


class TrainingClock(keras.callbacks.Callback):
    """Adds each epoch's wall time to `path` ({"seconds", "hours", "device", "segments"}), so a
    run resumed several times still states what it cost in total."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.record = None

    def _read(self):
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"seconds": 0.0, "segments": 0}

    def on_train_begin(self, logs=None):  # once per `fit`; a process may call it several times
        if self.record is None:
            self.record = self._read()
            self.record["segments"] = int(self.record.get("segments", 0)) + 1  # processes
            self.record["device"] = device_description()
        self.t0 = time.monotonic()
        self.base = float(self.record.get("seconds", 0.0))

    def on_epoch_end(self, epoch, logs=None):
        self.record["seconds"] = round(self.base + time.monotonic() - self.t0, 1)
        self.record["hours"] = round(self.record["seconds"] / 3600, 3)
        with atomic_write(self.path, "w") as f:
            json.dump(self.record, f, indent=2)


class Progress(keras.callbacks.Callback):
    """After every epoch: the overall step, time elapsed in this process and the ETA of the run.

    Printed when the next epoch begins or training ends, i.e. after Keras' progress bar has
    finished the epoch's line."""

    def __init__(self, start_step, total_steps):
        super().__init__()
        self.start_step = self.step = int(start_step)
        self.total = int(total_steps)
        self.t0 = None
        self.pending = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.t0 is None:
            self.t0 = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1

    def on_epoch_end(self, epoch, logs=None):
        done = self.step - self.start_step
        if done and self.t0 is not None:
            elapsed = time.monotonic() - self.t0
            eta = elapsed / done * (self.total - self.step)
            self.pending = (f"overall: step {self.step}/{self.total} ({100 * self.step / self.total:.0f}%), "
                            f"{_duration(elapsed)} elapsed, ETA {_duration(eta)}")

    def on_epoch_begin(self, epoch, logs=None):
        self._flush()

    def on_train_end(self, logs=None):
        self._flush()

    def _flush(self):
        if self.pending:
            print(self.pending, flush=True)
            self.pending = None


def _duration(seconds):
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


# --- the runner, step by step ---------------------------------------------------------------
@dataclass
class TrainingData:
    """The run's data, checked once: `train(step)` makes the training pipeline of a segment."""

    manifest: Path
    counts: dict
    val: object
    val_steps: int
    make: object

    def train(self, step, seed):
        return self.make("train", seed=seed + step, repeat=-1)


def check_run_folder(output_dir, resume):
    """The checkpoints a run resumes from; a folder holding a run is refused without `resume`."""
    found = list_checkpoints(Path(output_dir) / CHECKPOINT_DIR)
    if found and not resume:
        raise FileExistsError(
            f"{output_dir} already holds checkpoints of a run; pass resume=True (--resume) to continue it "
            "or choose another output folder"
        )
    return found if resume else []


def prepare_data(data_dir, output_dir, *, scale, crop, batch_size, edges, strategy, val_batches=None,
                 degradation="bicubic", canny_sigma=2.0):
    """Read and check every image once; write the usable ones to `output_dir/data.json`; return
    the pipelines (validation cached, full batches for every replica when distributed). With
    `edges`, the batches carry Canny maps with the model's `canny_sigma`."""
    import tensorflow as tf

    from .data.dataset import make_dataset

    distributed = strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    try:
        manifest = _validated_manifest(_data_source(data_dir, output_dir), output_dir, crop)
    except (ValueError, OSError) as err:
        raise DataError(f"{data_dir}: cannot train on this data: {err}") from err

    def make(split, **kw):
        ds = make_dataset(manifest, split=split, scale=scale, crop=crop, batch_size=batch_size,
                          edges=edges, degradation=degradation, validate=False, canny_sigma=canny_sigma, **kw)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options)

    try:
        val_ds = make("dev")
        if distributed:
            # Every replica needs a non-empty share of every batch: full batches only (a multiple of
            # the replica count; smaller when the dev split is smaller than one global batch).
            n_dev = sum(int(b["hr"].shape[0]) for b in val_ds)
            n_rep = strategy.num_replicas_in_sync
            val_batch = max(n_rep, min(batch_size, n_dev) // n_rep * n_rep)
            val_ds = val_ds.unbatch().repeat(-(-val_batch // max(n_dev, 1)))  # a tiny dev set is reused
            val_ds = val_ds.batch(val_batch, drop_remainder=True)
        if val_batches:
            val_ds = val_ds.take(val_batches)
        val_ds = val_ds.cache()  # dev crops are few and fixed; counted once, then read from memory
        val_steps = sum(1 for _ in val_ds)
        if val_steps == 0:
            raise ValueError("the dev split yields no validation batch (too few images for the replicas)")
    except (ValueError, OSError) as err:
        manifest.unlink(missing_ok=True)  # a bad data folder leaves no run folder behind
        with contextlib.suppress(OSError):
            Path(output_dir).rmdir()
        raise DataError(f"{data_dir}: cannot train on this data: {err}") from err
    counts = {k: len(v) for k, v in json.loads(manifest.read_text()).items() if isinstance(v, list)}
    return TrainingData(manifest, counts, val_ds.repeat(), val_steps, make)


def _validated_manifest(source, output_dir, crop):
    """The split manifest of `source` with only the train / dev files that read and are at least
    `crop` pixels, written to `output_dir/data.json` (each file is read here, once)."""
    from .data.dataset import MANIFEST_NAME, build_manifest, load_manifest, validate_files

    source = Path(source)
    if source.is_dir():
        source = source / MANIFEST_NAME if (source / MANIFEST_NAME).exists() else build_manifest(source)
    elif not source.is_file():
        raise FileNotFoundError(f"{source}: no such data folder or manifest")
    manifest = load_manifest(source)
    root = Path(manifest["root"])
    for split in ("train", "dev"):
        if not manifest[split]:
            raise ValueError(f"split {split!r} of {root} is empty (too few images for the ratios?)")
        good, _ = validate_files([str(root / r) for r in manifest[split]], min_size=crop)
        if not good:
            raise ValueError(f"no usable images in split {split!r} of {root}")
        manifest[split] = [str(Path(p).relative_to(root)) for p in good]
    out = Path(output_dir) / DATA_MANIFEST
    with atomic_write(out, "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    return out


def build_model(cls, model_kwargs, strategy, *, init_weights=None, learning_rate=None, betas=None,
                jit_compile=False, mixed_precision=False):
    """The model, built and compiled inside the strategy's scope (optionally from `init_weights`)."""
    import tensorflow as tf

    distributed = strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    with strategy.scope():
        model = cls(**model_kwargs)
        if init_weights:
            model.load_init_weights(init_weights)
        compile_kwargs = {"learning_rate": learning_rate}
        if betas is not None:
            compile_kwargs["beta_1"], compile_kwargs["beta_2"] = betas
        model.compile(jit_compile=bool(jit_compile) and not distributed, **compile_kwargs)
    return model


def make_callbacks(model, output_dir, guard, *, chief, strategy, start_step, steps, steps_per_epoch,
                   lr_schedule="plateau", plateau_factor=0.1, plateau_patience=5, plateau_min_lr=None,
                   plateau_min_delta=1e-3, verbose=1):
    """Plateau (unless `lr_schedule="constant"`), CSV and TensorBoard loggers, progress, and the
    checkpoint guard last (an epoch's checkpoint follows its metrics row)."""
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    callbacks = []
    if lr_schedule == "plateau":
        if plateau_min_lr is None:  # one reduction by default: the report's 1e-3, then 1e-4
            plateau_min_lr = float(_numpy(model.optimizer.learning_rate)) * plateau_factor
        monitor, mode = model.monitor
        plateau = ReduceLROnPlateau(monitor, mode, factor=plateau_factor, patience=plateau_patience,
                                    min_lr=plateau_min_lr, min_delta=plateau_min_delta)
        callbacks.append(plateau)
        guard.stateful.append(plateau)
    output_dir = Path(output_dir)
    log_dir = output_dir / "logs" if chief else output_dir / "logs" / f"worker-{strategy.cluster_resolver.task_id}"
    if chief:
        _trim_metrics(output_dir / "metrics.csv", start_step // steps_per_epoch)
        callbacks.append(keras.callbacks.CSVLogger(str(output_dir / "metrics.csv"), append=True))
        callbacks.append(TrainingClock(output_dir / TRAINING_TIME))
    callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False))
    if verbose and chief:
        callbacks.append(Progress(start_step, steps))
    callbacks.append(guard)
    return callbacks


def run_segments(model, data, callbacks, guard, *, steps, steps_per_epoch, seed, verbose=1):
    """`fit` from the guard's step to `steps`: a partial first epoch (resume), then whole epochs,
    then a partial last one; each segment draws fresh crops (seed + its first step)."""
    while guard.step < steps and guard.bad_step is None:
        step = guard.step
        n = min(steps_per_epoch - step % steps_per_epoch, steps - step)
        epoch = step // steps_per_epoch
        n_epochs = (steps - step) // steps_per_epoch if step % steps_per_epoch == 0 and n == steps_per_epoch else 1
        model.fit(
            data.train(step, seed),
            epochs=epoch + n_epochs,
            initial_epoch=epoch,
            steps_per_epoch=n,
            validation_data=data.val,
            validation_steps=data.val_steps,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the tf.data pipeline shuffles
        )
    if guard.bad_step is not None:
        good = latest_checkpoint(guard.directory)
        raise NonFiniteLossError(
            f"non-finite value at step {guard.bad_step}: {guard.bad_logs}. Training stopped; "
            f"last good checkpoint: {good or 'none (failed before the first one)'}. "
            "Lower the learning rate or check the data, then rerun with --resume."
        )


def write_config(output_dir, model_name, model, **settings):
    """config.json: the model (name, constructor arguments, compile settings) and the run's settings."""
    config = {"model": model_name, "model_kwargs": model.get_config_kwargs(), "compile": model.get_compile_config(),
              **settings}
    with atomic_write(Path(output_dir) / CONFIG_NAME, "w") as f:
        f.write(json.dumps(config, indent=2, default=str) + "\n")


def print_summary(model_name, model, data, data_dir, output_dir, *, steps, steps_per_epoch, checkpoint_every,
                  batch_size, crop, start_step, resumed_from=None):
    """The run at a glance, before the first step."""
    n_params = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    lines = [
        f"model    {model_name} ({type(model).__name__}), preset {model.preset}, x{model.scale}, "
        f"{n_params:,} trainable parameters",
        f"steps    {steps} ({-(-steps // steps_per_epoch)} epochs of up to {steps_per_epoch}), "
        f"batch {batch_size}, crop {crop}, checkpoint every {checkpoint_every}",
        f"data     {data_dir}: train {data.counts['train']}, dev {data.counts['dev']} usable images "
        f"(listed in {data.manifest})",
        f"output   {Path(output_dir).resolve()}",
    ]
    if resumed_from is not None:
        lines.append(f"resumed  from {resumed_from} at step {start_step}")
    print("\n".join(["Training"] + ["  " + line for line in lines]), flush=True)


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
    lr_schedule="plateau",
    plateau_factor=0.1,
    plateau_patience=5,
    plateau_min_lr=None,
    plateau_min_delta=1e-3,
    keep_checkpoints=3,
    jit_compile=False,
    extra_config=None,
    verbose=1,
    degradation="bicubic",
):
    """Train registry model `model_name` for exactly `steps` steps; return the trained model.

    Writes to `output_dir`: config.json (everything needed to rebuild the model), data.json (the
    checked split), checkpoints/ (`ckpt-<step>.ckpt.h5`), metrics.csv (one row per epoch), logs/
    (TensorBoard), final.weights.h5.
    `checkpoint_every`: steps between checkpoints within an epoch (default: `steps_per_epoch`; a
    tenth of `steps` when the whole run is shorter than one epoch). With `resume`, continues from
    the newest checkpoint (same step count, optimiser state, learning rate and plateau state);
    without it, a folder that already holds checkpoints is refused. `init_weights`: a weights
    file or run folder loaded before training by `model.load_init_weights` (a joint-stage
    EdgeInformedSR given an edge-stage run takes its edge generator only). `batch_size` is the global batch (split across
    replicas). `lr_schedule`: "plateau" (multiply the learning rate by `plateau_factor` after
    `plateau_patience` epochs without a `plateau_min_delta` gain, down to `plateau_min_lr`,
    default one reduction) or "constant". `degradation`: how LR is made from HR ("bicubic",
    "realistic", "phone" or a `data.degrade.DegradationConfig`), recorded in config.json with all
    its ranges.
    """
    from .data.degrade import describe as describe_degradation
    from .models.registry import get_model_class

    output_dir = Path(output_dir)
    found = check_run_folder(output_dir, resume)
    degradation_info = describe_degradation(degradation)  # also checks it
    if steps < 1 or steps_per_epoch < 1:
        raise ValueError(f"steps and steps_per_epoch must be >= 1, got {steps} and {steps_per_epoch}")
    if checkpoint_every is None:
        checkpoint_every = steps_per_epoch if steps >= steps_per_epoch else max(1, steps // 10)
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if data_dir is None:
        from .data.synthetic import ensure_synthetic_set

        data_dir = ensure_synthetic_set()

    strat = get_strategy(strategy)  # first: multi-worker setup must precede any TF op
    keras.utils.set_random_seed(seed)
    chief = is_chief(strat)
    cls = get_model_class(model_name)
    params = inspect.signature(cls).parameters
    scale = int(model_kwargs.get("scale", params["scale"].default))
    sigma = model_kwargs.get("canny_sigma", params["canny_sigma"].default) if "canny_sigma" in params else 2.0
    # The data first: a bad data folder costs no model build and leaves no run folder behind.
    data = prepare_data(data_dir, output_dir, scale=scale, crop=crop, batch_size=batch_size,
                        edges=cls.needs_edges, strategy=strat, val_batches=val_batches, degradation=degradation,
                        canny_sigma=sigma)
    model = build_model(cls, model_kwargs, strat, init_weights=init_weights, learning_rate=learning_rate,
                        betas=betas, jit_compile=jit_compile, mixed_precision=mixed_precision)
    guard = CheckpointAndGuard(output_dir / CHECKPOINT_DIR, checkpoint_every, keep=keep_checkpoints, write=chief)
    callbacks = make_callbacks(
        model, output_dir, guard, chief=chief, strategy=strat, start_step=found[-1][0] if found else 0,
        steps=steps, steps_per_epoch=steps_per_epoch, lr_schedule=lr_schedule, plateau_factor=plateau_factor,
        plateau_patience=plateau_patience, plateau_min_lr=plateau_min_lr, plateau_min_delta=plateau_min_delta,
        verbose=verbose)
    latest = found[-1][1] if found else None
    if latest is not None:
        guard.step = guard.saved_step = restore_checkpoint(model, latest, callbacks)
    if chief:
        write_config(output_dir, model_name, model, num_replicas=strat.num_replicas_in_sync, data_dir=data_dir, steps=steps,
                     steps_per_epoch=steps_per_epoch, checkpoint_every=checkpoint_every, batch_size=batch_size,
                     crop=crop, lr_schedule=lr_schedule, plateau={"factor": plateau_factor, "patience": plateau_patience,
                                                                  "min_lr": plateau_min_lr, "min_delta": plateau_min_delta},
                     strategy=strategy, mixed_precision=mixed_precision, seed=seed, init_weights=init_weights,
                     degradation=degradation_info, **(extra_config or {}))
        if verbose:
            print_summary(model_name, model, data, data_dir, output_dir, steps=steps, steps_per_epoch=steps_per_epoch,
                          checkpoint_every=checkpoint_every, batch_size=batch_size, crop=crop,
                          start_step=guard.step, resumed_from=latest)
    run_segments(model, data, callbacks, guard, steps=steps, steps_per_epoch=steps_per_epoch, seed=seed,
                 verbose=verbose if chief else 0)
    if chief:
        model.save_weights(output_dir / FINAL_WEIGHTS)
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
