import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.losses.adversarial import (
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)

R = np.array([[1.5, 0.2], [-0.7, 2.0]], "float32")
F = np.array([[-1.2, 0.4], [0.9, -3.0]], "float32")


def relu(x):
    return np.maximum(x, 0)


def bce(x, t):
    p = 1 / (1 + np.exp(-x.astype("float64")))
    return float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))


def test_hinge():
    d = (relu(1 - R).mean() + relu(1 + F).mean()) / 2
    np.testing.assert_allclose(float(discriminator_loss(R, F, "hinge")), d, rtol=1e-6)
    np.testing.assert_allclose(float(generator_loss(F, "hinge")), -F.mean(), rtol=1e-6)


def test_nsgan():
    d = (bce(R, 1) + bce(F, 0)) / 2
    np.testing.assert_allclose(float(discriminator_loss(R, F, "nsgan")), d, rtol=1e-5)
    np.testing.assert_allclose(float(generator_loss(F, "nsgan")), bce(F, 1), rtol=1e-5)


def test_nsgan_stable_for_large_logits():
    big = np.array([80.0, -80.0], "float32")
    assert np.isfinite(float(discriminator_loss(big, -big, "nsgan")))
    np.testing.assert_allclose(float(generator_loss(np.array([-80.0], "float32"), "nsgan")), 80.0)


def test_lsgan():
    d = (((R - 1) ** 2).mean() + (F**2).mean()) / 2
    np.testing.assert_allclose(float(discriminator_loss(R, F, "lsgan")), d, rtol=1e-6)
    np.testing.assert_allclose(float(generator_loss(F, "lsgan")), ((F - 1) ** 2).mean(), rtol=1e-6)


def test_ragan():
    d = (bce(R - F.mean(), 1) + bce(F - R.mean(), 0)) / 2
    g = (bce(R - F.mean(), 0) + bce(F - R.mean(), 1)) / 2
    np.testing.assert_allclose(float(discriminator_loss(R, F, "ragan")), d, rtol=1e-5)
    np.testing.assert_allclose(float(generator_loss(F, "ragan", real_logits=R)), g, rtol=1e-5)
    with pytest.raises(ValueError, match="real_logits"):
        generator_loss(F, "ragan")


def test_ragan_generator_gradient_only_through_fake():
    r = tf.Variable(R)
    f = tf.Variable(F)
    with tf.GradientTape() as tape:
        loss = generator_loss(f, "ragan", real_logits=r)
    gr, gf = tape.gradient(loss, [r, f])
    assert gr is None and np.abs(gf.numpy()).sum() > 0


def test_activation_lists_use_last_and_bad_kind():
    acts_r, acts_f = [np.ones((1, 2)), R], [np.zeros((1, 2)), F]
    assert float(discriminator_loss(acts_r, acts_f)) == pytest.approx(
        float(discriminator_loss(R, F)))
    with pytest.raises(ValueError, match="unknown GAN loss 'wgan'"):
        discriminator_loss(R, F, "wgan")


def test_feature_matching():
    rng = np.random.default_rng(0)
    real = [rng.normal(size=(2, 4, 4, c)).astype("float32") for c in (3, 5)]
    fake = [rng.normal(size=(2, 4, 4, c)).astype("float32") for c in (3, 5)]
    ref = sum(np.abs(r - f).mean() for r, f in zip(real, fake))
    np.testing.assert_allclose(float(feature_matching_loss(real, fake)), ref, rtol=1e-6)
    assert float(feature_matching_loss(real, real)) == 0.0
    rv = [tf.Variable(r) for r in real]
    with tf.GradientTape() as tape:
        loss = feature_matching_loss(rv, fake)
    assert all(g is None for g in tape.gradient(loss, rv))  # real side detached
    with pytest.raises(ValueError, match="activations"):
        feature_matching_loss(real, fake[:1])
