"""Training runner: checkpoints, resume after SIGKILL, NaN guard, LR plateau, distribution."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf import training
from skinsr_tf.models import weights_file
from skinsr_tf.models.registry import load_model
from skinsr_tf.models.unet import UNetSR

REPO = Path(__file__).resolve().parents[1]
TRAIN_PY = REPO / "examples" / "train.py"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A small synthetic set with its split manifest written up front (no races between workers)."""
    from skinsr_tf.data.dataset import build_manifest
    from skinsr_tf.data.synthetic import write_synthetic_set

    root = tmp_path_factory.mktemp("skin")
    write_synthetic_set(root, n=12, size=64, seed=0)
    build_manifest(root)
    return root


def env():
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    e.pop("TF_CONFIG", None)
    return e


def random_batches(n, nan_at=None, seed=0):
    rng = np.random.default_rng(seed)
    lr = rng.random((n, 2, 8, 8, 3), dtype=np.float32)
    hr = rng.random((n, 2, 32, 32, 3), dtype=np.float32)
    if nan_at is not None:
        hr[nan_at] = np.nan
    return tf.data.Dataset.from_tensor_slices({"lr": lr, "hr": hr})


def test_checkpoint_round_trip_restores_weights_optimizer_and_step(tmp_path):
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    model.fit(random_batches(3), epochs=1, verbose=0)
    path = tmp_path / "ckpt-3.ckpt.h5"
    training.save_checkpoint(model, path, 3)
    assert not list(tmp_path.glob("*.tmp"))

    fresh = UNetSR(scale=4, preset="tiny")
    fresh.compile()
    assert training.restore_checkpoint(fresh, path) == 3
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 3
    assert training.latest_checkpoint(tmp_path) == path

    other = UNetSR(scale=8, preset="tiny")
    other.compile()
    with pytest.raises(ValueError, match=r"ckpt-3.ckpt.h5: does not match UNetSR.*missing 18: model/network/early_up3"):
        training.restore_checkpoint(other, path)


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    guard = training.CheckpointAndGuard(tmp_path, save_every=2)
    model.fit(random_batches(8, nan_at=2), epochs=1, verbose=0, callbacks=[guard])
    assert guard.bad_step == 3
    assert [s for s, _ in training.list_checkpoints(tmp_path)] == [2]
    _, arrays = weights_file.read(tmp_path / "ckpt-2.ckpt.h5")
    assert arrays and all(np.all(np.isfinite(a)) for a in arrays.values())
    guard.save()  # a late save request after the failure writes nothing
    assert [s for s, _ in training.list_checkpoints(tmp_path)] == [2]


def test_train_raises_clear_error_on_nan(tmp_path, data_dir, monkeypatch):
    from skinsr_tf.data import dataset

    monkeypatch.setattr(
        dataset, "make_dataset",
        lambda src, split="train", **kw: random_batches(6, nan_at=4 if split == "train" else None).repeat(),
    )
    with pytest.raises(training.NonFiniteLossError, match=r"step 5.*ckpt-4\.ckpt\.h5"):
        training.train("unet", {"scale": 4, "preset": "tiny"}, output_dir=tmp_path, data_dir=data_dir,
                       steps=10, steps_per_epoch=2, val_batches=1, crop=32, verbose=0)
    assert not (tmp_path / training.FINAL_WEIGHTS).exists()


def test_reduce_lr_on_plateau_updates_every_optimizer(capsys):
    from skinsr_tf.models.edge_informed import EdgeInformedSR

    model = EdgeInformedSR(scale=4, preset="tiny", stage="edge")
    model.compile(learning_rate=1e-3)
    cb = training.ReduceLROnPlateau("val_edge_f1", "max", factor=0.1, patience=2, min_lr=1e-4)
    cb.set_model(model)
    for epoch, f1 in enumerate([0.2, 0.3, 0.3, 0.3, 0.3, 0.3]):
        cb.on_epoch_end(epoch, {"val_edge_f1": f1})
    lrs = [float(opt.learning_rate.numpy()) for opt in model.optimizers.values()]
    assert len(lrs) == 2 and np.allclose(lrs, 1e-4)  # reduced once, then floored at min_lr
    assert capsys.readouterr().out.count("ReduceLROnPlateau") == 1  # one line for both optimisers


def test_train_writes_a_run_folder_that_load_model_rebuilds(tmp_path, data_dir):
    out = tmp_path / "run"
    model = training.train("unet", {"scale": 4, "preset": "tiny", "lambda_gradient": 0.2}, output_dir=out,
                           data_dir=data_dir, steps=5, steps_per_epoch=2, batch_size=2, crop=32, verbose=0)
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "unet" and config["model_kwargs"]["lambda_gradient"] == 0.2
    assert [s for s, _ in training.list_checkpoints(out / "checkpoints")] == [2, 4, 5]
    rows = (out / "metrics.csv").read_text().splitlines()  # header + 3 epochs (2 + 2 + 1 steps)
    assert rows[0].startswith("epoch,") and "val_psnr_y" in rows[0]
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]
    loaded = load_model(out)
    x = np.random.rand(1, 7, 5, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    with pytest.raises(FileExistsError, match="resume"):
        training.train("unet", {"scale": 4, "preset": "tiny"}, output_dir=out, data_dir=data_dir, steps=5)


def test_checkpoint_write_failing_midway_keeps_the_previous_one_for_resume(tmp_path, data_dir, monkeypatch, capsys):
    """A write that dies after a partial write (full disk, kill) leaves no checkpoint under the new
    name, the previous one byte for byte, and --resume continues from it."""
    run = dict(model_name="unet", model_kwargs={"scale": 4, "preset": "tiny"}, output_dir=tmp_path,
               data_dir=data_dir, steps_per_epoch=2, batch_size=2, crop=32, val_batches=1, verbose=0)
    training.train(steps=2, **run)
    ckpt_dir = tmp_path / training.CHECKPOINT_DIR
    before = (ckpt_dir / "ckpt-2.ckpt.h5").read_bytes()

    import h5py

    real_create = h5py.Group.create_dataset
    written = []

    def create_then_fail(self, name, *args, **kwargs):
        written.append(name)
        if len(written) > 10:  # part of the file is written
            raise OSError(28, "No space left on device (simulated)")
        return real_create(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_then_fail)
    with pytest.raises(OSError, match="No space left"):
        training.train(steps=4, resume=True, **run)
    monkeypatch.undo()
    assert [s for s, _ in training.list_checkpoints(ckpt_dir)] == [2]
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["ckpt-2.ckpt.h5"]  # no temporary file left
    assert (ckpt_dir / "ckpt-2.ckpt.h5").read_bytes() == before
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    assert training.restore_checkpoint(model, ckpt_dir / "ckpt-2.ckpt.h5") == 2

    capsys.readouterr()
    training.train(steps=4, resume=True, **{**run, "verbose": 1})
    assert f"resumed  from {ckpt_dir / 'ckpt-2.ckpt.h5'} at step 2" in capsys.readouterr().out
    assert [s for s, _ in training.list_checkpoints(ckpt_dir)] == [2, 4]
    assert training.restore_checkpoint(model, ckpt_dir / "ckpt-4.ckpt.h5") == 4
    assert int(model.optimizer.iterations.numpy()) == 4  # 2 restored + 2 new steps
    clock = json.loads((tmp_path / training.TRAINING_TIME).read_text())
    assert clock["segments"] == 3 and clock["device"].startswith("CPU (")  # one per process that trained
    assert clock["seconds"] > 0 and clock["hours"] == pytest.approx(clock["seconds"] / 3600, abs=1e-3)


def test_training_clock_adds_up_over_resumes(tmp_path):
    path = tmp_path / training.TRAINING_TIME
    for _ in range(2):
        clock = training.TrainingClock(path)
        clock.on_train_begin()
        clock.base += 100.0  # as if the epoch had taken 100 s
        clock.on_epoch_end(0)
        clock.on_train_begin()  # a second `fit` in the same process is not a new segment
        clock.on_epoch_end(1)
    record = json.loads(path.read_text())
    assert record["segments"] == 2 and 200 <= record["seconds"] < 210


@pytest.mark.slow
def test_resume_after_sigkill_continues_the_step_count(tmp_path, data_dir):
    out = tmp_path / "run"
    steps = 40
    cmd = [sys.executable, str(TRAIN_PY), "--model=unet", "--preset=tiny", f"--steps={steps}",
           "--steps_per_epoch=4", "--batch_size=2", "--crop=32", f"--data_dir={data_dir}",
           f"--output_dir={out}"]
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not training.list_checkpoints(out / "checkpoints") and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = training.list_checkpoints(out / "checkpoints")[-1][0]
    assert 0 < killed_at < steps and not (out / "final.weights.h5").exists()

    done = subprocess.run(cmd + ["--resume"], env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    resumed_at = int(done.stdout.split("at step ")[1].split()[0])
    assert resumed_at >= killed_at and resumed_at % 4 == 0
    last_step, last = training.list_checkpoints(out / "checkpoints")[-1]
    assert last_step == steps and (out / "final.weights.h5").exists()
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    assert training.restore_checkpoint(model, last) == steps
    assert int(model.optimizer.iterations.numpy()) == steps  # optimiser state survived the kill


def test_a_run_shorter_than_one_epoch_checkpoints_on_the_way(tmp_path, data_dir):
    out = tmp_path / "run"
    training.train("unet", {"scale": 4, "preset": "tiny"}, output_dir=out, data_dir=data_dir, steps=4,
                   steps_per_epoch=10, batch_size=2, crop=32, val_batches=1, verbose=0)
    assert [s for s, _ in training.list_checkpoints(out / "checkpoints")] == [2, 3, 4]


def test_metrics_csv_keeps_every_epoch_across_an_interrupted_run(tmp_path, data_dir, monkeypatch):
    class Killed(Exception):
        pass

    out = tmp_path / "run"
    args = dict(output_dir=out, data_dir=data_dir, steps=6, steps_per_epoch=2, batch_size=2, crop=32,
                val_batches=1, verbose=0)
    real = keras.callbacks.CSVLogger.on_epoch_end

    def dies_at_epoch_1(self, epoch, logs=None):
        if epoch == 1:
            raise Killed  # the process dies after epoch 1's last step, before its row is written
        real(self, epoch, logs)

    monkeypatch.setattr(keras.callbacks.CSVLogger, "on_epoch_end", dies_at_epoch_1)
    with pytest.raises(Killed):
        training.train("unet", {"scale": 4, "preset": "tiny"}, **args)
    monkeypatch.setattr(keras.callbacks.CSVLogger, "on_epoch_end", real)
    training.train("unet", {"scale": 4, "preset": "tiny"}, resume=True, **args)
    with open(out / "metrics.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 2]


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from skinsr_tf.models.registry import get_model_class
    from skinsr_tf.training import get_strategy

    mixed = sys.argv[1:] == ["mixed"]  # mixed_float16, SGD inside a LossScaleOptimizer
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(0)
    batch = {"lr": rng.random((4, 8, 8, 3), dtype=np.float32), "hr": rng.random((4, 32, 32, 3), dtype=np.float32),
             "lr_edge": (rng.random((4, 8, 8, 1)) > 0.8).astype("float32"),
             "hr_edge": (rng.random((4, 32, 32, 1)) > 0.8).astype("float32")}

    def step_delta(name, kwargs, strategy):
        keras.utils.set_random_seed(1)
        with strategy.scope():
            model = get_model_class(name)(scale=4, preset="tiny", **kwargs)
            wrap = keras.optimizers.LossScaleOptimizer if mixed else lambda opt: opt
            model.compile(optimizers={g: wrap(keras.optimizers.SGD(0.5)) for g in model._optimizer_groups()})
        before = [v.numpy() for v in model.trainable_variables]
        model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
        return [v.numpy() - b for v, b in zip(model.trainable_variables, before)]

    mirrored = get_strategy("mirrored")
    result = {"replicas": mirrored.num_replicas_in_sync, "policy": keras.mixed_precision.global_policy().name}
    for name, kwargs in [("unet", {}), ("edge_sisr", {"stage": "joint", "perceptual_weights": "random"}),
                         ("spsr", {"perceptual_weights": "random"})]:
        one = step_delta(name, kwargs, tf.distribute.get_strategy())
        two = step_delta(name, kwargs, mirrored)
        scale = max(float(np.abs(d).max()) for d in one)
        result[name] = {
            "max_diff": max(float(np.abs(a - b).max()) for a, b in zip(one, two)) / scale,
            "ratio": sum(float(np.abs(b).sum()) for b in two) / sum(float(np.abs(a).sum()) for a in one),
        }
    print("RESULT " + json.dumps(result))
    """
)


@pytest.mark.slow
def test_mirrored_two_replicas_take_the_same_step_as_one_device(tmp_path):
    """Global batch 4 on 2 logical CPUs vs 1 device, one SGD step (linear in the gradient, so a
    wrong 1/num_replicas loss scaling shows as a factor 2; Adam's first step ~ lr * sign(g) would
    hide it). Tolerance 1e-4 of the largest update: the replicas sum float32 partial reductions in
    another order (observed ~2e-6); per-variable relative errors are meaningless for the biases
    before instance norm, whose true gradient is 0."""
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ")[1])
    assert result["replicas"] == 2
    for name in ("unet", "edge_sisr", "spsr"):
        assert result[name]["max_diff"] < 1e-4, (name, result[name])
        assert abs(result[name]["ratio"] - 1) < 1e-3, (name, result[name])


@pytest.mark.slow
def test_mirrored_mixed_precision_takes_the_same_step_as_one_device(tmp_path):
    """As above under mixed_float16 with loss scaling: the replicas' scaled float16 gradients,
    unscaled and summed, give one device's SGD step. Tolerance 5e-3 of the largest update
    (observed <= 8e-4: float16 activations round at 2^-11 relative and the two halves of the
    batch reduce in another order); the total update still agrees to 1e-3 (observed 6e-6), so a
    missing 1/num_replicas or an unscaled gradient (factors 2 and 2^15) cannot pass."""
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    done = subprocess.run([sys.executable, str(script), "mixed"], env=env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ")[1])
    assert result["replicas"] == 2 and result["policy"] == "mixed_float16"
    for name in ("unet", "edge_sisr", "spsr"):
        assert result[name]["max_diff"] < 5e-3, (name, result[name])
        assert abs(result[name]["ratio"] - 1) < 1e-3, (name, result[name])


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multiworker_two_local_workers_finish(tmp_path, data_dir):
    workers = [f"localhost:{free_port()}", f"localhost:{free_port()}"]
    out = tmp_path / "run"
    procs = []
    for index in range(2):
        e = env()
        e["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, str(TRAIN_PY), "--model=unet", "--preset=tiny", "--steps=3",
               "--steps_per_epoch=2", "--batch_size=4", "--crop=32", "--strategy=multiworker",
               f"--data_dir={data_dir}", f"--output_dir={out}"]
        procs.append(subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    assert [p.returncode for p in procs] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    config = json.loads((out / "config.json").read_text())
    assert config["num_replicas"] == 2
    assert [s for s, _ in training.list_checkpoints(out / "checkpoints")] == [2, 3]
    assert (out / "final.weights.h5").exists()


def test_plateau_state_goes_into_the_checkpoint_and_comes_back(tmp_path):
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    plateau = training.ReduceLROnPlateau(patience=3)
    plateau.set_model(model)
    for epoch, psnr in enumerate([20.0, 21.0, 21.0, 21.0]):
        plateau.on_epoch_end(epoch, {"val_psnr_y": psnr})
    guard = training.CheckpointAndGuard(tmp_path, save_every=1, stateful=[plateau])
    guard.set_model(model)
    guard.save()
    again = training.ReduceLROnPlateau(patience=3)
    fresh = UNetSR(scale=4, preset="tiny")
    fresh.compile()
    assert training.restore_checkpoint(fresh, tmp_path / "ckpt-0.ckpt.h5", [again]) == 0
    assert (again.best, again.wait) == (21.0, 2)


@pytest.mark.parametrize("schedule,start_lr,expected", [("plateau", 1e-4, 1e-5), ("plateau", 1e-3, 1e-4),
                                                        ("constant", 1e-4, 1e-4)])
def test_the_plateau_acts_whatever_the_starting_lr(tmp_path, schedule, start_lr, expected):
    """The old fixed floor of 1e-4 never let a run that starts at 1e-4 reduce its lr."""
    model = UNetSR(scale=4, preset="tiny")
    model.compile(learning_rate=start_lr)
    guard = training.CheckpointAndGuard(tmp_path, save_every=10, write=False)
    callbacks = training.make_callbacks(model, tmp_path, guard, chief=True, strategy=tf.distribute.get_strategy(),
                                        start_step=0, steps=10, steps_per_epoch=2, lr_schedule=schedule,
                                        plateau_patience=1, verbose=0)
    for cb in callbacks:
        cb.set_model(model)
    for epoch in range(4):  # a flat validation curve
        for cb in callbacks:
            if isinstance(cb, training.ReduceLROnPlateau):
                cb.on_epoch_end(epoch, {"val_psnr_y": 25.0})
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(expected)


def test_train_checks_the_data_once_and_prints_a_summary_and_eta(tmp_path, data_dir, monkeypatch, capsys):
    from skinsr_tf.data import dataset

    calls = []
    real = dataset.validate_files
    monkeypatch.setattr(dataset, "validate_files", lambda paths, **kw: calls.append(len(paths)) or real(paths, **kw))
    out = tmp_path / "run"
    training.train("unet", {"scale": 4, "preset": "tiny"}, output_dir=out, data_dir=data_dir, steps=5,
                   steps_per_epoch=2, batch_size=2, crop=32, val_batches=1, verbose=1,
                   lr_schedule="constant")
    printed = capsys.readouterr().out
    assert len(calls) == 2  # train and dev, once each, though fit ran in two segments
    manifest = json.loads((out / training.DATA_MANIFEST).read_text())
    assert len(manifest["train"]) == calls[0] and len(manifest["dev"]) == calls[1]
    summary = printed[printed.index("Training\n"):]
    for line in ("  model    unet (UNetSR), preset tiny, x4,", "  steps    5 (3 epochs of up to 2), batch 2, crop 32",
                 f"  data     {data_dir}: train {calls[0]}, dev {calls[1]} usable images (listed in {out / 'data.json'})",
                 f"  output   {out.resolve()}"):
        assert line in summary, line
    assert "overall: step 2/5 (40%)" in printed and "overall: step 5/5 (100%)" in printed and "ETA" in printed
    assert json.loads((out / "config.json").read_text())["lr_schedule"] == "constant"
