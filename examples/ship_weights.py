"""Turn a training run into shipped weights: `skinsr_tf/weights/{model}_x{scale}.json` + `.shipped.h5`
(`{model}_x{scale}_{preset}` for a run trained on a `--degradation` other than bicubic, which
`from_pretrained(scale, degradation=preset)` loads).

    python examples/ship_weights.py --run=runs/unet_x4 --trained_on="..." --command="python examples/train.py ..."

Only the generators are stored (no discriminators, no optimiser state), as float16.
"""

import json
from pathlib import Path

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("run", None, "Run folder written by examples/train.py.", required=True)
flags.DEFINE_string("out_dir", str(Path(__file__).resolve().parents[1] / "skinsr_tf" / "weights"), "Destination.")
flags.DEFINE_string("trained_on", "", "What the weights were trained on (goes into the JSON).")
flags.DEFINE_string("command", "", "The exact training command(s) (goes into the JSON).")


def main(argv):
    del argv
    from skinsr_tf.models.registry import load_model, resolve_weights
    from skinsr_tf.runs import SHIPPED_SUFFIX

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
    meta = {
        "model": model.model_name,
        "model_kwargs": kwargs,
        "weights_dtype": "float16",
        "trained_on": FLAGS.trained_on,
        "command": FLAGS.command,
        "training": {k: config.get(k) for k in ("steps", "batch_size", "crop", "compile", "data_dir")},
        "weights_file": resolve_weights(run).name,  # a checkpoint name when the run was stopped early
        "degradation": degradation,
        "not_clinically_validated": True,
    }
    (out / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {shipped} ({shipped.stat().st_size / 1e6:.1f} MB) and {stem}.json")


if __name__ == "__main__":
    console.run(main)
