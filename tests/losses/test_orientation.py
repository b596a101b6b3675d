"""Orientation-coherence loss: zero on identical images, sensitive to rotation more than to noise,
180-degree symmetric, differentiable."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from skinsr_tf.losses import orientation_coherence_loss, orientation_error_degrees


def stripes(angle_deg, n=160, period=7.0):
    """Oriented texture: a sinusoidal grating (skin lines, hair) at ``angle_deg``, RGB batch of one."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    t = np.deg2rad(angle_deg)
    img = 0.5 + 0.3 * np.sin(2 * np.pi * (x * np.cos(t) + y * np.sin(t)) / period)
    return np.repeat(img[None, ..., None], 3, axis=-1).astype(np.float32)


def center(img, size=96):
    o = (img.shape[1] - size) // 2
    return img[:, o:o + size, o:o + size]


def test_zero_for_identical_images():
    img = stripes(20)
    assert float(orientation_coherence_loss(img, img)) == 0.0
    photo = np.random.default_rng(0).random((2, 40, 40, 3), dtype=np.float32)
    assert float(orientation_coherence_loss(photo, photo)) == 0.0


def test_rotation_by_30_degrees_raises_it_clearly_more_than_noise_of_equal_mse():
    texture = stripes(20)
    rotated = ndimage.rotate(texture[0], 30, axes=(1, 0), reshape=False, order=3, mode="reflect")[None]
    hr, rot = center(texture), center(rotated.astype(np.float32))
    mse = float(np.mean((rot - hr) ** 2))
    noisy = hr + np.random.default_rng(0).normal(0, np.sqrt(mse), hr.shape).astype(np.float32)
    assert float(np.mean((noisy - hr) ** 2)) == pytest.approx(mse, rel=0.05)
    l_rot, l_noise = float(orientation_coherence_loss(rot, hr)), float(orientation_coherence_loss(noisy, hr))
    assert l_rot > 0.4  # 1 - cos(60 deg) = 0.5 for doubled angles
    assert l_rot > 5 * l_noise
    assert float(orientation_error_degrees(rot, hr)) == pytest.approx(30, abs=3)
    assert float(orientation_error_degrees(noisy, hr)) < 10


def test_opposite_directions_agree():
    """A line at 0 and at 180 degrees is the same structure: doubled angles make them equal."""
    a, b = stripes(25), stripes(205)  # the same grating, phase-reversed
    assert float(orientation_coherence_loss(b, a)) < 1e-3
    assert float(orientation_coherence_loss(stripes(115), a)) > 1.5  # perpendicular


def test_differentiable_with_finite_gradients():
    hr = stripes(20, n=48)
    sr = tf.Variable(hr + np.random.default_rng(1).normal(0, 0.05, hr.shape).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = orientation_coherence_loss(sr, hr)
    grad = tape.gradient(loss, sr).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
    flat = tf.Variable(np.full((1, 24, 24, 3), 0.5, np.float32))  # no orientation anywhere
    with tf.GradientTape() as tape:
        loss = orientation_coherence_loss(flat, flat + 0.0)
    assert np.all(np.isfinite(tape.gradient(loss, flat).numpy()))
