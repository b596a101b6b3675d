"""Every trainable weight of every builder gets a gradient (no dead branches), in tf.function."""

import numpy as np
import tensorflow as tf

from skinsr_tf.losses.adversarial import discriminator_loss, feature_matching_loss, generator_loss
from skinsr_tf.networks.discriminator import build_patch_discriminator
from skinsr_tf.networks.edgeconnect import build_edgeconnect_generator
from skinsr_tf.networks.presets import get_preset
from skinsr_tf.networks.spsr import build_spsr_generator
from skinsr_tf.networks.unet import build_unet
from skinsr_tf.networks.unetpp import build_unetpp

rng = np.random.default_rng(0)


def all_grads(model, x, reduce):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = reduce(model(x, training=True))
        return tape.gradient(loss, model.trainable_weights)

    grads = step(x)
    assert len(grads) == len(model.trainable_weights) > 0
    for w, g in zip(model.trainable_weights, grads):
        assert g is not None, w.path
        assert np.isfinite(g.numpy()).all(), w.path


def test_generators_have_gradients_everywhere():
    kw = get_preset("edgeconnect", "tiny")
    x4 = rng.random((2, 32, 32, 4)).astype("float32")
    all_grads(build_edgeconnect_generator(4, 1, "edge", **kw), x4, tf.reduce_mean)
    spsr = build_spsr_generator(fusion="deep", **get_preset("spsr", "tiny"))
    xs = {"sr_input": x4, "grad_input": rng.random((2, 32, 32, 3)).astype("float32")}
    all_grads(spsr, xs, lambda o: tf.reduce_mean(o["sr"]) + tf.reduce_mean(o["grad"]))
    lr = rng.random((1, 16, 16, 3)).astype("float32")
    all_grads(build_unet(4, **get_preset("unet", "tiny")), lr, tf.reduce_mean)
    all_grads(build_unetpp(2, deep_supervision=True, **get_preset("unetpp", "tiny")), lr,
              lambda outs: tf.add_n([tf.reduce_mean(o) for o in outs]))


def test_tiny_gan_step_with_spectral_norm():
    """A hinge + feature-matching GAN step on the tiny edge G and D: D's spectral norm holds."""
    g = build_edgeconnect_generator(4, 1, "edge", **get_preset("edgeconnect", "tiny"))
    d = build_patch_discriminator(4, **get_preset("discriminator", "tiny"))
    x = rng.random((2, 64, 64, 4)).astype("float32")
    real = rng.random((2, 64, 64, 4)).astype("float32")

    @tf.function
    def step():
        with tf.GradientTape(persistent=True) as tape:
            fake = tf.concat([x[..., :3], g(x, training=True)], axis=-1)
            r, f = d(real, training=True), d(fake, training=True)
            d_loss = discriminator_loss(r, f)
            g_loss = generator_loss(f) + 10.0 * feature_matching_loss(r, f)
        return d_loss, g_loss, tape.gradient(d_loss, d.trainable_weights), tape.gradient(
            g_loss, g.trainable_weights)

    d_loss, g_loss, gd, gg = step()
    assert np.isfinite(float(d_loss)) and np.isfinite(float(g_loss))
    assert all(v is not None for v in gd + gg)
    # after a training call each kernel is divided by its estimated sigma: close to 1 after a few
    for _ in range(5):
        step()
    kernel = d.get_layer("conv2").layer.kernel.numpy()
    sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    assert abs(sigma - 1) < 0.1
