"""Turn a training run into shipped weights: `skinsr_tf/weights/{model}_x{scale}.json` + `.shipped.h5`
(`{model}_x{scale}_{preset}` for a run trained on a `--degradation` other than bicubic, which
`from_pretrained(scale, degradation=preset)` loads).

    python examples/ship_weights.py --run=runs/unet_x4 --trained_on="..." --command="python examples/train.py ..."

Only the generators are stored (no discriminators, no optimiser state), as float16. The JSON
states the provenance: the command, the data (with the sha256 of the data manifest that
examples/make_training_data.py writes), the steps, and the training hours and device of the run
and of the runs it was initialised from (`--init_runs`).
"""

import hashlib
import json
from pathlib import Path

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("run", None, "Run folder written by examples/train.py.", required=True)
flags.DEFINE_string("out_dir", str(Path(__file__).resolve().parents[1] / "skinsr_tf" / "weights"), "Destination.")
flags.DEFINE_string("trained_on", "", "What the weights were trained on (goes into the JSON).")
flags.DEFINE_string("command", "", "The exact training command(s) (goes into the JSON).")
flags.DEFINE_string("data_manifest", None, "Manifest of the training data (default: manifest.json beside "
                    "the run's data_dir, when there is one); its sha256 goes into the JSON.")
flags.DEFINE_list("init_runs", [], "Earlier run folders this run started from (their hours count too).")


def training_time(run):
    """{"hours", "device"} of a run folder (None when it predates the training clock)."""
    from skinsr_tf.runs import TRAINING_TIME

    path = Path(run) / TRAINING_TIME
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return {"run": str(run), "hours": record["hours"], "device": record["device"]}


def manifest_record(path):
    data = Path(path).read_bytes()
    counts = json.loads(data).get("counts")
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "counts": counts}


def main(argv):
    del argv
    from skinsr_tf.data.io import atomic_write
    from skinsr_tf.models.registry import load_model, resolve_weights
    from skinsr_tf.runs import SHIPPED_SUFFIX, checkpoint_step

    run = Path(FLAGS.run)
    config = json.loads((run / "config.json").read_text())
    model = load_model(run)
    kwargs = model.get_config_kwargs()
    kwargs.pop("perceptual_weights", None)  # a training-time path; inference never needs it
    degradation = config.get("degradation") or {"preset": "bicubic"}
    stem = f"{model.model_name}_x{model.scale}"
    if degradation["preset"] != "bicubic":
        stem += f"_{degradation['preset']}"
    out = Path(FLAGS.out_dir)
    shipped = model.save_weights(out / f"{stem}{SHIPPED_SUFFIX}", kind="shipped")
    weights = resolve_weights(run)
    training = {k: config.get(k) for k in ("steps", "batch_size", "crop", "compile", "data_dir")}
    if config.get("init_weights"):  # a fine-tune: what it started from
        training["init_weights"] = config["init_weights"]
    stopped_at = checkpoint_step(weights)
    if stopped_at is not None:  # stopped early: the steps it ran, and those planned
        training.update(steps=stopped_at, planned_steps=config.get("steps"))
    meta = {
        "model": model.model_name,
        "model_kwargs": kwargs,
        "weights_dtype": "float16",
        "trained_on": FLAGS.trained_on,
        "command": FLAGS.command,
        "training": training,
        "weights_file": weights.name,  # a checkpoint name when the run was stopped early
        "compute": [t for t in map(training_time, [*FLAGS.init_runs, run]) if t is not None],
        "degradation": degradation,
        "not_clinically_validated": True,
    }
    manifest = FLAGS.data_manifest
    if manifest is None and config.get("data_dir"):
        guess = Path(config["data_dir"]).parent / "manifest.json"
        manifest = guess if guess.is_file() else None
    if manifest is not None:
        meta["data_manifest"] = manifest_record(manifest)
    with atomic_write(out / f"{stem}.json", "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {shipped} ({shipped.stat().st_size / 1e6:.1f} MB) and {stem}.json")


if __name__ == "__main__":
    console.run(main)
