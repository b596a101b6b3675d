import logging

import numpy as np
import keras
import pytest
import tensorflow as tf

from skinsr_tf.losses.perceptual import CONTENT_LAYERS, STYLE_LAYERS, VGGPerceptual, gram_matrix

rng = np.random.default_rng(0)
A = rng.random((2, 32, 32, 3)).astype("float32")
B = np.clip(A + rng.normal(0, 0.1, A.shape), 0, 1).astype("float32")


def tiny_feature_model():
    """Random convs standing in for VGG: a dict of all content and style layers."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    x, outs = inp, {}
    for i, name in enumerate(sorted(set(CONTENT_LAYERS + STYLE_LAYERS))):
        x = keras.layers.Conv2D(4 + i, 3, padding="same", activation="relu")(x)
        outs[name] = x
    return keras.Model(inp, outs)


def test_gram_matrix_normalisation():
    f = rng.random((2, 3, 5, 4)).astype("float32")
    flat = f.reshape(2, 15, 4)
    ref = np.einsum("npc,npd->ncd", flat, flat) / (4 * 3 * 5)
    np.testing.assert_allclose(np.asarray(gram_matrix(f)), ref, rtol=1e-5)
    # invariant to the spatial size for a stationary signal: doubling H leaves it unchanged
    np.testing.assert_allclose(
        np.asarray(gram_matrix(np.concatenate([f, f], axis=1))), ref, rtol=1e-5)


def test_injected_model_zero_for_identical_positive_otherwise():
    p = VGGPerceptual(feature_model=tiny_feature_model())
    content, style = p(A, A)
    assert float(content) == 0.0 and float(style) == 0.0
    content, style = p(A, B)
    assert float(content) > 0 and float(style) > 0


def test_content_equals_manual_sum_and_gradient_flows_to_sr_only():
    model = tiny_feature_model()
    p = VGGPerceptual(feature_model=model, content_weights=(1, 2, 1, 1, 0.5))
    fa, fb = model(A), model(B)
    ref = sum(w * np.abs(np.asarray(fa[k]) - np.asarray(fb[k])).mean()
              for w, k in zip((1, 2, 1, 1, 0.5), CONTENT_LAYERS))
    np.testing.assert_allclose(float(p(A, B)[0]), ref, rtol=1e-5)
    sr, hr = tf.Variable(A), tf.Variable(B)
    with tf.GradientTape() as tape:
        c, s = p(sr, hr)
        loss = c + s
    g_sr, g_hr = tape.gradient(loss, [sr, hr])
    assert g_hr is None and float(tf.reduce_sum(tf.abs(g_sr))) > 0


def test_bad_weights_and_missing_layers():
    with pytest.raises(ValueError, match="content weights"):
        VGGPerceptual(feature_model=tiny_feature_model(), content_weights=(1, 1))
    inp = keras.Input((None, None, 3))
    partial = keras.Model(inp, {"relu1_1": keras.layers.Conv2D(2, 3, padding="same")(inp)})
    with pytest.raises(KeyError, match="relu2_1"):
        VGGPerceptual(feature_model=partial)(A, B)


def test_offline_vgg_substitute_is_finite(caplog):
    from skinsr_tf.backbones import BackboneUnavailable

    with caplog.at_level(logging.WARNING):
        try:
            p = VGGPerceptual()
        except BackboneUnavailable as err:  # no VGG19 and no offline VGG16 in this environment
            pytest.fail(f"no VGG weights available offline: {err}")
    content, style = p(A, B)
    assert np.isfinite(float(content)) and float(content) > 0
    assert np.isfinite(float(style)) and float(style) > 0
    assert float(p(A, A)[0]) == 0.0
