"""SPSR: shapes, one train step (all three optimisers), options, overfit, .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.models.spsr import SPSR
from tests.models.helpers import overfit_l1, patch_batch


def make(scale=4, **kw):
    return SPSR(scale=scale, preset="tiny", perceptual_weights="random", **kw)


@pytest.mark.parametrize("scale", [4, 8])
def test_maps_lr_to_hr_any_size(scale):
    out = make(scale)(np.random.rand(2, 5, 7, 3).astype(np.float32))
    assert out.shape == (2, 5 * scale, 7 * scale, 3)
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 1


def test_report_defaults():
    m = make()
    assert (m.adv_weight, m.content_weight, m.style_weight, m.l1_weight) == (0.005, 1.0, 1.0, 0.01)
    assert (m.grad_adv_weight, m.grad_pixel_weight, m.branch_weight) == (0.005, 0.01, 0.5)
    assert m.default_betas == (0.9, 0.999)


@pytest.mark.parametrize("kwargs", [{}, {"gan_loss": "ragan", "gradient_pixel_loss": "mse", "fusion": "deep", "upsample": "resize"}])
def test_one_train_step_changes_all_networks(kwargs):
    model = make(**kwargs)
    model.compile()
    nets = ["generator", "discriminator", "grad_discriminator"]
    before = {n: [v.numpy() for v in getattr(model, n).trainable_variables] for n in nets}
    logs = model.train_step(patch_batch(4))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert float(logs["branch"]) > 0 and float(logs["grad_pixel"]) > 0 and float(logs["content"]) > 0
    for n in nets:
        after = getattr(model, n).trainable_variables
        assert all(not np.array_equal(b, a.numpy()) for b, a in zip(before[n], after)), n
    assert int(model.optimizers["g"].iterations.numpy()) == 1


@pytest.mark.slow
def test_overfits_one_patch():
    keras.utils.set_random_seed(0)
    model = make()
    model.compile()
    batch = patch_batch(4, n=1)
    start, end = overfit_l1(model, batch)
    assert end < 0.5 * start


def test_keras_file_round_trip(tmp_path):
    model = make(gan_loss="ragan", branch_weight=0.25, upsample="bilinear")
    model.compile()
    model.train_step(patch_batch(4))
    path = tmp_path / "spsr.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is SPSR and loaded.gan_loss == "ragan" and loaded.branch_weight == 0.25
    assert loaded.upsample == "bilinear" and loaded.generator.get_layer("grad_dec1_bilinear") is not None
    x = np.random.rand(1, 6, 9, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
