"""Degridding: the period-s part of a correction goes, everything else stays; shift-invariant
(so tiles agree); as a model option it holds in training and inference and round-trips."""

import cv2
import keras
import numpy as np
import pytest

from skinsr_tf.metrics import periodic_energy
from skinsr_tf.models.degrid import default_window, degrid, periodic_component
from skinsr_tf.models.edge_informed import EdgeInformedSR
from skinsr_tf.models.unet import UNetSR
from tests.models.helpers import patch_batch

rng = np.random.default_rng(0)
SMOOTH = cv2.GaussianBlur(rng.random((192, 192, 3), dtype=np.float32), (0, 0), 2)[None]


def grid(scale, size=192, amplitude=0.02):
    tile = rng.normal(0, amplitude, (scale, scale, 1)).astype(np.float32)
    return np.tile(tile - tile.mean(), (size // scale, size // scale, 3))[None]


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_removes_a_grid_and_keeps_the_rest(scale):
    pattern = grid(scale)
    out = degrid(SMOOTH + pattern, SMOOTH, scale).numpy()
    m = (default_window(scale) + 1) * scale  # the comb's reach + the triangle's; nearer the border
    # the averages are cut
    assert np.abs(out - SMOOTH)[:, m:-m, m:-m].max() < 1e-5  # a zero-mean period-s pattern: gone
    assert np.abs(out - SMOOTH).max() < 0.1 * np.abs(pattern).max()  # and 90% gone at the borders
    noise = rng.normal(0, 0.02, SMOOTH.shape).astype(np.float32)
    kept = degrid(SMOOTH + noise, SMOOTH, scale).numpy() - SMOOTH
    # White noise: mostly kept. What goes is about the comb's 1-D sum of squared weights,
    # 2 / (3 (window + 1)) of the amplitude: 4% at x2, 7% at x4, 13% at x8 (a narrower comb).
    share = 2 / (3 * (default_window(scale) + 1))
    assert np.abs(kept - noise).mean() < 1.25 * share * np.abs(noise).mean()
    ramp = np.linspace(0, 0.2, 192, dtype=np.float32)[None, None, :, None]  # a smooth correction
    out = degrid(SMOOTH + ramp, SMOOTH, scale).numpy()
    np.testing.assert_allclose(out[:, m:-m, m:-m], (SMOOTH + ramp)[:, m:-m, m:-m], atol=1e-5)
    np.testing.assert_allclose(out, SMOOTH + ramp, atol=1e-3)


def test_a_grid_with_a_varying_amplitude_loses_its_spectral_lines():
    envelope = np.linspace(0.2, 1.0, 192, dtype=np.float32)[None, :, None, None]
    sr = SMOOTH + envelope * grid(4)
    before = periodic_energy(sr[0], 4) / periodic_energy(SMOOTH[0], 4)
    after = periodic_energy(degrid(sr, SMOOTH, 4).numpy()[0], 4) / periodic_energy(SMOOTH[0], 4)
    assert before > 10 and after < 1.5


def test_shift_invariant_away_from_the_borders():
    x = rng.normal(0, 1, (1, 128, 128, 3)).astype(np.float32)
    whole = periodic_component(x, 4).numpy()
    part = periodic_component(x[:, 32:, 40:], 4).numpy()  # a tile starting on the LR grid
    m = (default_window(4) + 1) * 4  # the comb's reach plus the triangle's
    np.testing.assert_allclose(part[:, m:-m, m:-m], whole[:, 32 + m:-m, 40 + m:-m], atol=1e-5)


@pytest.mark.parametrize("residual", [True, False])
def test_model_option_keeps_the_grid_out_in_training_and_inference(residual, tmp_path):
    batch = patch_batch(hr_size=64)
    model = UNetSR(scale=4, preset="tiny", residual=residual, degrid=True)
    assert UNetSR(scale=4, preset="tiny").degrid is False  # the report's model
    model.compile(learning_rate=1e-3)
    for _ in range(2):
        model.train_step(batch)  # gradients flow through the notch
    from skinsr_tf.models.bicubic import bicubic_upscale

    sr = model(batch["lr"])
    plain = UNetSR.from_config({**model.get_config(), "degrid": False})
    plain.set_weights(model.get_weights())
    expected = degrid(plain(batch["lr"]), bicubic_upscale(batch["lr"], 4), 4)
    np.testing.assert_allclose(sr.numpy(), expected.numpy(), atol=1e-6)
    assert np.abs(sr.numpy() - plain(batch["lr"]).numpy()).max() > 1e-4  # and it did something
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.degrid is True
    np.testing.assert_allclose(loaded(batch["lr"]).numpy(), sr.numpy(), atol=1e-6)


def test_gan_models_take_the_option():
    model = EdgeInformedSR(scale=4, preset="tiny", degrid=True, residual=True)
    assert EdgeInformedSR.from_config(model.get_config()).degrid is True
    lr = patch_batch(hr_size=64)["lr"]
    assert model(lr).shape == (2, 64, 64, 3)
