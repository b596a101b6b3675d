"""Run-folder knowledge (skinsr_tf.runs), and the cycle it breaks: models never import training."""

import datetime
import subprocess
import sys
from pathlib import Path

import pytest

from skinsr_tf import runs

REPO = Path(__file__).resolve().parents[1]


def test_checkpoints_are_listed_by_step_and_resolved_from_a_run_folder(tmp_path):
    ckpts = tmp_path / runs.CHECKPOINT_DIR
    ckpts.mkdir()
    for step in (10, 2, 7):
        runs.checkpoint_path(ckpts, step).write_bytes(b"")
    (ckpts / "ckpt-99.npz").write_bytes(b"")  # the old format is not a checkpoint any more
    assert [s for s, _ in runs.list_checkpoints(ckpts)] == [2, 7, 10]
    assert runs.resolve_weights(tmp_path) == ckpts / "ckpt-10.ckpt.h5"
    (tmp_path / runs.FINAL_WEIGHTS).write_bytes(b"")
    assert runs.resolve_weights(tmp_path) == tmp_path / runs.FINAL_WEIGHTS
    (tmp_path / runs.CONFIG_NAME).write_text("{}")
    assert runs.run_config_path(ckpts / "ckpt-10.ckpt.h5") == tmp_path / runs.CONFIG_NAME
    with pytest.raises(FileNotFoundError, match="no such file"):
        runs.resolve_weights(tmp_path / "nope")


def test_shipped_files_have_their_own_suffix_and_config():
    path = Path("w/unet_x4.shipped.h5")
    assert runs.is_shipped(path) and not runs.is_shipped("run/final.weights.h5")
    assert not runs.is_shipped("run/checkpoints/ckpt-3.ckpt.h5")
    assert runs.shipped_config_path(path) == Path("w/unet_x4.json")
    assert runs.shipped_stems("unet", 4, "tiny") == ["unet_x4_tiny", "unet_x4"]


def test_models_import_nothing_from_training():
    code = ("import importlib, pkgutil, sys, skinsr_tf.models as m\n"
            "for info in pkgutil.iter_modules(m.__path__): importlib.import_module('skinsr_tf.models.' + info.name)\n"
            "print(sorted(k for k in sys.modules if k.startswith('skinsr_tf.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         timeout=300).stdout
    assert "skinsr_tf.models.weights_file" in out and "skinsr_tf.training" not in out


def test_default_run_folders_never_collide_even_within_one_second(tmp_path):
    now = datetime.datetime(2026, 11, 30, 6, 1, 2, tzinfo=datetime.timezone.utc)
    first = runs.new_run_dir("unetpp", 4, root=tmp_path, now=now)
    assert first == tmp_path / "unetpp_x4_20261130-060102" and not first.exists()
    first.mkdir()
    second = runs.new_run_dir("unetpp", 4, root=tmp_path, now=now)
    assert second == tmp_path / "unetpp_x4_20261130-060102-2"
    second.mkdir()
    assert runs.new_run_dir("unetpp", 4, root=tmp_path, now=now).name.endswith("-3")
    assert runs.new_run_dir("unetpp", 8, root=tmp_path, now=now).name == "unetpp_x8_20261130-060102"
