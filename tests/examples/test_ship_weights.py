"""examples/ship_weights.py: a run becomes shipped weights that from_pretrained loads, with provenance."""

import hashlib
import json
import shutil

import numpy as np

from skinsr_tf import training
from skinsr_tf.models.unet import UNetSR
from tests.examples.helpers import run_example
from tests.test_training import data_dir  # noqa: F401  (the fixture: a small synthetic set)


def test_ship_weights_states_command_data_hash_steps_and_hours(tmp_path, data_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(data_dir, corpus / "train")
    manifest = corpus / "manifest.json"  # as examples/make_training_data.py writes it
    manifest.write_text(json.dumps({"files": [], "counts": {"train": 12}}))
    run = tmp_path / "run"
    model = training.train("unet", {"scale": 4, "preset": "tiny", "residual": True}, output_dir=run,
                           data_dir=corpus / "train", steps=4, steps_per_epoch=2, batch_size=2, crop=32,
                           val_batches=1, verbose=0)
    out = tmp_path / "weights"
    args = [f"--run={run}", f"--out_dir={out}", "--trained_on=a test set", "--command=pytest"]
    run_example("ship_weights.py", *args)
    meta = json.loads((out / "unet_x4.json").read_text())
    assert meta["command"] == "pytest" and meta["training"]["steps"] == 4
    assert meta["data_manifest"]["sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert meta["data_manifest"]["counts"] == {"train": 12}
    [compute] = meta["compute"]
    assert compute["hours"] > 0 and compute["device"].startswith("CPU")
    shipped = UNetSR.from_pretrained(scale=4, weights_dir=out)
    x = np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32)
    np.testing.assert_allclose(shipped(x).numpy(), model(x).numpy(), atol=2e-3)  # float16 storage

    # A run stopped early ships its newest checkpoint, and says how many of the planned steps it ran.
    from skinsr_tf.runs import CHECKPOINT_DIR, FINAL_WEIGHTS, list_checkpoints

    (run / FINAL_WEIGHTS).unlink()
    *earlier, (last_step, last) = list_checkpoints(run / CHECKPOINT_DIR)
    last.unlink()
    step, ckpt = earlier[-1]
    run_example("ship_weights.py", *args)
    meta = json.loads((out / "unet_x4.json").read_text())
    assert (step, last_step) == (2, 4)
    assert meta["weights_file"] == ckpt.name
    assert (meta["training"]["steps"], meta["training"]["planned_steps"]) == (2, 4)
    assert "init_weights" not in meta["training"]  # trained from scratch

    # A fine-tune says what it started from, and counts the hours of the runs before it.
    tuned = tmp_path / "tuned"
    training.train("unet", {"scale": 4, "preset": "tiny", "residual": True}, output_dir=tuned,
                   data_dir=corpus / "train", steps=2, steps_per_epoch=2, batch_size=2, crop=32,
                   val_batches=1, verbose=0, init_weights=run)
    run_example("ship_weights.py", f"--run={tuned}", f"--init_runs={run}", f"--out_dir={out}",
                "--trained_on=a test set", "--command=pytest")
    meta = json.loads((out / "unet_x4.json").read_text())
    assert meta["training"]["init_weights"] == str(run)
    assert [c["run"] for c in meta["compute"]] == [str(run), str(tuned)]
