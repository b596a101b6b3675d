"""Periodic-error loss: it measures the part of SR - HR that repeats every `scale` pixels, and
little else; it is differentiable and tracks `metrics.periodic_artifact_score`."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.losses import periodic_error_loss
from skinsr_tf.metrics import periodic_artifact_score

rng = np.random.default_rng(0)
HR = np.stack([cv2.GaussianBlur(x, (0, 0), 2) for x in rng.random((2, 96, 96, 3), dtype=np.float32)])


def grid(scale, amplitude=0.01, size=96, seed=1):
    """A period-``scale`` pattern (one random s x s tile repeated), its mean-absolute deviation."""
    tile = np.random.default_rng(seed).normal(0, amplitude, (scale, scale, 1)).astype(np.float32)
    return np.tile(tile, (size // scale, size // scale, 3)), float(np.abs(tile - tile.mean()).mean())


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_measures_a_grid_exactly_and_ignores_what_is_not_periodic(scale):
    pattern, deviation = grid(scale)
    assert float(periodic_error_loss(HR, HR, scale)) == 0.0
    assert float(periodic_error_loss(HR + pattern, HR, scale)) == pytest.approx(deviation, rel=1e-4)
    assert float(periodic_error_loss(HR + 0.1, HR, scale)) < 1e-6  # a colour offset is not periodic
    # noise of the grid's amplitude, and a 1-px shift of the content, cost a fraction of the grid
    noise = rng.normal(0, 0.01, HR.shape).astype(np.float32)
    assert float(periodic_error_loss(HR + noise, HR, scale)) < 0.3 * deviation
    assert float(periodic_error_loss(np.roll(HR, 1, axis=2), HR, scale)) < 0.3 * deviation


def test_follows_the_periodic_artifact_score():
    # a grid whose amplitude varies across the image is still caught (local phase means)
    envelope = np.linspace(0.2, 1.0, 96, dtype=np.float32)[None, :, None, None]
    losses, scores = [], []
    for amplitude in (0.0, 0.005, 0.02):
        sr = np.clip(HR + envelope * grid(4, amplitude)[0], 0, 1)
        losses.append(float(periodic_error_loss(sr, HR, 4)))
        scores.append(float(np.mean(periodic_artifact_score(sr, HR, 4))))
    assert losses == sorted(losses) and scores == sorted(scores) and scores[-1] > 2 * scores[0]


def test_gradient_points_against_the_grid():
    pattern, _ = grid(4)
    sr = tf.Variable(HR + pattern)
    with tf.GradientTape() as tape:
        loss = periodic_error_loss(sr, HR, 4)
    step = tape.gradient(loss, sr).numpy()
    assert np.corrcoef(step.ravel(), np.broadcast_to(pattern, HR.shape).ravel())[0, 1] > 0.5
    step *= 0.002 / np.abs(step).max()
    assert float(periodic_error_loss(sr - step, HR, 4)) < float(loss)
