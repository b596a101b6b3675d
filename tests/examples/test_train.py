"""examples/train.py: --degradation (every model trains on realistic LR and records the chain);
edge_sisr joint with the prior edges trains no edge stage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skinsr_tf import training
from skinsr_tf.data.degrade import PRESETS
from tests.test_training import data_dir  # noqa: F401  (the fixture: a small synthetic set)

REPO = Path(__file__).resolve().parents[2]


def test_train_py_degradation_flag_records_the_config(tmp_path, data_dir):
    out = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "examples" / "train.py"), "--model=unet", "--preset=tiny", "--steps=2",
           "--steps_per_epoch=2", "--batch_size=2", "--crop=32", "--degradation=realistic",
           f"--data_dir={data_dir}", f"--output_dir={out}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["degradation"] == json.loads(json.dumps(PRESETS["realistic"].to_dict()))
    assert config["flags"]["degradation"] == "realistic"


def test_train_py_joint_stage_on_prior_edges_trains_no_edge_stage(tmp_path, data_dir):
    out = tmp_path / "run"
    kwargs = {"edge_source": "prior", "edge_residual": True, "edge_input": "bicubic", "sr_input": "bicubic",
              "perceptual_weights": "random"}
    cmd = [sys.executable, str(REPO / "examples" / "train.py"), "--model=edge_sisr", "--stage=joint", "--preset=tiny",
           "--steps=1", "--steps_per_epoch=1", "--batch_size=2", "--crop=32", "--val_batches=1",
           f"--model_kwargs={json.dumps(kwargs)}", f"--data_dir={data_dir}", f"--output_dir={out}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / training.FINAL_WEIGHTS).is_file()
    assert not (out / "edge_stage").exists()
    assert json.loads((out / "config.json").read_text())["model_kwargs"]["edge_source"] == "prior"


@pytest.mark.parametrize("name,kwargs", [
    ("unetpp", {}),
    ("spsr", {"perceptual_weights": "random"}),
    ("edge_sisr", {"perceptual_weights": "random", "stage": "sr"}),
])
def test_every_model_trains_on_realistic_lr(tmp_path, data_dir, name, kwargs):
    training.train(name, {"scale": 4, "preset": "tiny", **kwargs}, output_dir=tmp_path / "run", data_dir=data_dir,
                   steps=1, steps_per_epoch=1, batch_size=2, crop=32, val_batches=1, verbose=0,
                   degradation="phone")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["degradation"]["preset"] == "phone"
    assert (tmp_path / "run" / training.FINAL_WEIGHTS).is_file()
