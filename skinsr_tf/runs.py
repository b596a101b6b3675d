"""Where weights live on disk: training-run folders (config, checkpoints, final weights) and the
shipped weights folder; which file a path stands for.

Pure path logic, no TensorFlow: `skinsr_tf.models` and `skinsr_tf.training` both import it, so
neither imports the other.

File suffixes (the contents are one format, `skinsr_tf.models.weights_file`):
- `final.weights.h5`: a run's trained model (every variable, float32).
- `checkpoints/ckpt-<step>.ckpt.h5`: training state (model, optimisers, step, schedule state).
- `<model>_x<scale>[_<preset>].shipped.h5` + `.json`: shipped inference weights (float16).
"""

import datetime
import os
import re
from pathlib import Path

CONFIG_NAME = "config.json"
FINAL_WEIGHTS = "final.weights.h5"
TRAINING_TIME = "training_time.json"  # seconds spent training, summed over resumes, and where
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_SUFFIX = ".ckpt.h5"
SHIPPED_SUFFIX = ".shipped.h5"
WEIGHTS_ENV = "SKINSR_TF_WEIGHTS_DIR"
_CKPT_RE = re.compile(r"^ckpt-(\d+)" + re.escape(CHECKPOINT_SUFFIX) + "$")


def new_run_dir(model_name, scale, root="runs", now=None):
    """A fresh run folder `root/<model>_x<scale>_<UTC timestamp>`, so the same command works twice;
    a run started in the same second as another gets `-2`, `-3`, ... (the folder is not created)."""
    stamp = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{model_name}_x{scale}_{stamp}"
    path, n = base, 2
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


def checkpoint_path(directory, step):
    """The checkpoint file of `step` in `directory`."""
    return Path(directory) / f"ckpt-{int(step)}{CHECKPOINT_SUFFIX}"


def checkpoint_step(path):
    """The step of checkpoint file `path` (`ckpt-<step>.ckpt.h5`), or None for any other file."""
    m = _CKPT_RE.match(Path(path).name)
    return int(m.group(1)) if m else None


def list_checkpoints(directory):
    """[(step, path)] of the checkpoints in `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(step, directory / name) for name in os.listdir(directory)
             if (step := checkpoint_step(name)) is not None]
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest checkpoint in `directory`, or None."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def resolve_weights(path):
    """The weights file `path` stands for: itself if a file; for a run folder its
    final.weights.h5, else its newest checkpoint."""
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


def run_config_path(weights_path):
    """config.json of the run a weights file belongs to (its folder, or the folder above
    `checkpoints/`), or None."""
    weights_path = Path(weights_path)
    for folder in (weights_path.parent, weights_path.parent.parent):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def default_weights_dir():
    """Folder of shipped weights: `$SKINSR_TF_WEIGHTS_DIR` if set, else `skinsr_tf/weights/`."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "weights"


def shipped_stems(model_name, scale, preset=None, degradation=None):
    """File stems `from_pretrained` tries, most specific first: `<model>_x<scale>[_<degradation>]`
    (no degradation or "bicubic": none) with, then without, `_<preset>`."""
    base = f"{model_name}_x{scale}"
    if degradation not in (None, "bicubic"):
        base += f"_{degradation}"
    return ([f"{base}_{preset}"] if preset else []) + [base]


def shipped_config_path(weights_path):
    """The `.json` beside a shipped `.shipped.h5` file."""
    weights_path = Path(weights_path)
    return weights_path.with_name(weights_path.name[: -len(SHIPPED_SUFFIX)] + ".json")


def is_shipped(path):
    return Path(path).name.endswith(SHIPPED_SUFFIX)
