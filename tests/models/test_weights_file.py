"""The named weights format: names stable across processes, loading by name, clear mismatches."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skinsr_tf.catalog import TRAINABLE_MODELS
from skinsr_tf.models import weights_file
from skinsr_tf.models.registry import get_model_class, load_model
from skinsr_tf.models.spsr import SPSR
from skinsr_tf.models.unet import UNetSR

REPO = Path(__file__).resolve().parents[2]
KEYS_SCRIPT = """
import json
from skinsr_tf.catalog import TRAINABLE_MODELS
from skinsr_tf.models.registry import get_model_class
from skinsr_tf.models.weights_file import model_variables
keys = {}
for name in reversed(TRAINABLE_MODELS):  # another order: auto-numbered Keras names move on
    get_model_class(name)(scale=8, preset="tiny")
    keys[name] = list(model_variables(get_model_class(name)(scale=4, preset="tiny")))
print(json.dumps(keys))
"""


def test_names_cover_every_variable_and_do_not_depend_on_what_was_built_before():
    import json

    out = subprocess.run([sys.executable, "-c", KEYS_SCRIPT], capture_output=True, text=True, check=True,
                         cwd=REPO, timeout=300)
    in_another_process = json.loads(out.stdout.strip().splitlines()[-1])
    for name in TRAINABLE_MODELS:
        model = get_model_class(name)(scale=4, preset="tiny")
        named = weights_file.model_variables(model)
        assert {id(v) for v in named.values()} == {id(v) for v in model.weights}, name
        assert in_another_process[name] == list(named), name


def test_two_discriminators_of_identical_shapes_are_told_apart(tmp_path):
    """SPSR's image and gradient discriminators have the same shapes: a positional format would
    swap them if their construction order changed; by name each gets its own."""
    model = SPSR(scale=4, preset="tiny")
    shapes = lambda d: [tuple(v.shape) for v in d.weights]  # noqa: E731
    assert shapes(model.discriminator) == shapes(model.grad_discriminator)
    for value, net in ((1.0, model.discriminator), (2.0, model.grad_discriminator)):
        for v in net.weights:
            v.assign(np.full(v.shape, value, np.float32))
    model.save_weights(tmp_path / "spsr.weights.h5")
    _, arrays = weights_file.read(tmp_path / "spsr.weights.h5")
    assert all(np.all(a == 2.0) for k, a in arrays.items() if k.startswith("model/grad_discriminator/"))
    fresh = SPSR(scale=4, preset="tiny")
    fresh.load_weights(tmp_path / "spsr.weights.h5")
    assert all(np.all(v.numpy() == 1.0) for v in fresh.discriminator.weights)
    assert all(np.all(v.numpy() == 2.0) for v in fresh.grad_discriminator.weights)


def test_a_mismatch_lists_missing_and_unexpected_names_and_assigns_nothing(tmp_path):
    small = UNetSR(scale=4, preset="tiny")
    small.save_weights(tmp_path / "x4.weights.h5")
    other = UNetSR(scale=8, preset="tiny")
    before = [v.numpy().copy() for v in other.weights]
    with pytest.raises(weights_file.WeightsMismatchError,
                       match=r"x4.weights.h5: does not match UNetSR.*missing \d+: model/network/"):
        other.load_weights(tmp_path / "x4.weights.h5")
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, other.weights))
    (tmp_path / "old.weights.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="old.weights.npz.*convert it with examples/convert_weights.py"):
        other.load_weights(tmp_path / "old.weights.npz")


def test_load_model_takes_a_shipped_file_and_a_checkpoint_file(tmp_path):
    import json

    from skinsr_tf import training

    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    path = model.save_weights(tmp_path / "unet_x4_tiny.shipped.h5", kind="shipped")
    (tmp_path / "unet_x4_tiny.json").write_text(json.dumps({"model": "unet", "model_kwargs": model.get_config_kwargs()}))
    x = np.random.rand(1, 6, 6, 3).astype(np.float32)
    expected = model(x).numpy()
    np.testing.assert_allclose(load_model(path)(x).numpy(), expected, atol=2e-3)  # float16 weights

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "unet", "model_kwargs": model.get_config_kwargs()}))
    ckpt = run / "checkpoints" / "ckpt-3.ckpt.h5"
    training.save_checkpoint(model, ckpt, 3)
    np.testing.assert_array_equal(load_model(ckpt)(x).numpy(), expected)
    np.testing.assert_array_equal(load_model(run)(x).numpy(), expected)
    with pytest.raises(FileNotFoundError, match="no model config beside it"):
        load_model(model.save_weights(tmp_path / "lonely.weights.h5"))
