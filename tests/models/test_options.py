"""Model options beyond the report: residual (bicubic + correction), inference_variables and
compact weights, the edge generator's BCE term, and the Keras-ops MATLAB-bicubic upscaler."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.data.resize import imresize
from skinsr_tf.losses.orientation import orientation_coherence_loss
from skinsr_tf.losses.periodic import periodic_error_loss
from skinsr_tf.models import weights_file
from skinsr_tf.models.bicubic import bicubic_upscale
from skinsr_tf.models.edge_informed import EdgeInformedSR
from skinsr_tf.models.spsr import SPSR
from skinsr_tf.models.unet import UNetPlusPlusSR, UNetSR
from tests.models.helpers import patch_batch

# perceptual_weights="random": a tiny random VGG stand-in (no backbone download in tests)
CLASSES = {
    "unet": (UNetSR, {}),
    "unetpp": (UNetPlusPlusSR, {}),
    "edge_sisr": (EdgeInformedSR, {"perceptual_weights": "random"}),
    "spsr": (SPSR, {"perceptual_weights": "random"}),
}


def make(name, **kw):
    cls, extra = CLASSES[name]
    return cls(scale=4, preset="tiny", **extra, **kw)


def bicubic_ref(lr, scale=4):
    return np.stack([imresize(x, scale) for x in lr])


@pytest.mark.parametrize("name", list(CLASSES))
def test_residual_starts_at_bicubic_and_round_trips(name, tmp_path):
    batch = patch_batch(edges=True)
    lr = batch["lr"]
    ref = bicubic_ref(lr)

    plain = make(name)
    assert plain.get_config()["residual"] is False
    # The paper's networks output a (sigmoid / scaled-tanh) image of their own: far from bicubic.
    assert np.abs(plain(lr).numpy() - ref).max() > 0.05

    model = make(name, residual=True)
    # Zeroed output conv: the network says "0.5" everywhere, i.e. "no correction".
    np.testing.assert_allclose(model(lr).numpy(), ref, atol=1e-5)

    model.compile()
    model.train_step(batch)  # the correction is no longer zero
    x = np.random.default_rng(1).random((1, 6, 9, 3), dtype=np.float32)
    out = model(x).numpy()
    assert np.abs(out - bicubic_ref(x)).max() > 1e-6
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.residual is True and loaded.get_config()["residual"] is True
    np.testing.assert_array_equal(loaded(x).numpy(), out)


@pytest.mark.parametrize(
    "name,shipped,left_out",
    [("edge_sisr", ["edge_generator", "sr_generator"], ["edge_discriminator", "sr_discriminator"]),
     ("spsr", ["generator"], ["discriminator", "grad_discriminator"]),
     ("unet", ["network"], []),
     ("unetpp", ["network"], [])],
)
def test_inference_variables_are_the_generators_and_compact_weights_reload(name, shipped, left_out, tmp_path):
    model = make(name)
    ids = [id(v) for v in model.inference_variables()]
    expected = [id(v) for n in shipped for v in getattr(model, n).weights]
    assert ids == expected and len(set(ids)) == len(ids)
    for n in left_out:  # training-time machinery is not shipped
        assert getattr(model, n).weights and not {id(v) for v in getattr(model, n).weights} & set(ids), n

    x = patch_batch(n=1, edges=True)["lr"]
    ref = model(x).numpy()
    path = model.save_weights(tmp_path / f"{name}.shipped.h5", kind="shipped")
    assert len(weights_file.read(path)[1]) == len(ids)
    fresh = type(model).from_config(model.get_config())
    fresh.build_for_inference()
    before = np.abs(fresh(x).numpy() - ref).max()
    fresh.load_weights(path)
    after = np.abs(fresh(x).numpy() - ref).max()
    # float16 weights (relative rounding 2^-11 ~ 5e-4) through the tiny generators: measured
    # max output differences 1.7e-4 (unet) .. 8.2e-4 (edge_sisr); a fresh init differs by >= 0.067.
    assert after < 2e-3 and before > 20 * after, (before, after)


def test_edge_bce_weight_adds_the_bce_term():
    batch = patch_batch(edges=True)
    models = {}
    for w in (0.0, 10.0):
        m = EdgeInformedSR(scale=4, preset="tiny", stage="edge", edge_bce_weight=w)
        if models:
            m.set_weights(models[0.0].get_weights())  # same generator / discriminator / SN state
        models[w] = m

    # The BCE a generator with these weights gives on this batch (on a copy: the training-mode
    # pass advances the spectral-norm power iteration).
    probe = EdgeInformedSR(scale=4, preset="tiny", stage="edge")
    probe.set_weights(models[0.0].get_weights())
    fake = probe.predict_hr_edges(batch["lr"], batch["lr_edge"], training=True)
    bce = float(tf.reduce_mean(keras.losses.binary_crossentropy(batch["hr_edge"], fake, axis=-1)))
    assert bce > 0

    logs = {}
    for w, m in models.items():
        m.compile()
        logs[w] = {k: float(v) for k, v in m.train_step(batch).items()}
    for key in ("edge_g_adv", "edge_g_fm", "edge_d_loss"):  # same forward pass
        assert logs[10.0][key] == pytest.approx(logs[0.0][key], rel=1e-5, abs=1e-6), key
    assert logs[10.0]["edge_g_loss"] > logs[0.0]["edge_g_loss"]
    assert logs[10.0]["edge_g_loss"] - logs[0.0]["edge_g_loss"] == pytest.approx(10.0 * bce, rel=1e-4)

    cfg = models[10.0].get_config()
    assert cfg["edge_bce_weight"] == 10.0
    assert EdgeInformedSR.from_config(cfg).edge_bce_weight == 10.0
    assert EdgeInformedSR(preset="tiny").edge_bce_weight == 0.0  # the report's loss by default


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_bicubic_upscale_is_matlab_imresize(scale):
    # Values outside [0, 1] too: the filter is linear, nothing may clip.
    x = np.random.default_rng(scale).uniform(-0.2, 1.2, (2, 7, 9, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(bicubic_upscale(x, scale))
    assert out.shape == (2, 7 * scale, 9 * scale, 3)
    np.testing.assert_allclose(out, bicubic_ref(x, scale), atol=1e-5)


OPTIONAL_TERMS = {
    "orientation": lambda sr, hr: orientation_coherence_loss(sr, hr),
    "periodic": lambda sr, hr: periodic_error_loss(sr, hr, 4),
}


@pytest.mark.parametrize("term", list(OPTIONAL_TERMS))
@pytest.mark.parametrize("name", ["unet", "edge_sisr", "spsr"])
def test_optional_term_weight_adds_exactly_that_term(name, term):
    """orientation_weight, periodic_weight: default 0 (the report's loss, nothing logged); a weight
    adds exactly weight x the loss, logged under the term's name."""
    option = f"{term}_weight"
    batch = patch_batch(edges=True)
    assert getattr(make(name), option) == 0.0
    model = make(name, residual=True, **{option: 2.0})
    assert getattr(type(model).from_config(model.get_config()), option) == 2.0
    model.compile(learning_rate=0.0)  # the step leaves the weights as they are
    sr = model(batch["lr"])
    expected = float(OPTIONAL_TERMS[term](sr, batch["hr"]))
    logs = {k: float(v) for k, v in model.train_step(batch).items()}
    key = f"sr_{term}" if name == "edge_sisr" else term
    assert logs[key] == pytest.approx(expected, rel=1e-3) and expected > 0
    plain = make(name, residual=True)
    plain.compile(learning_rate=0.0)
    assert key not in plain.train_step(batch)


@pytest.mark.parametrize("name", ["unet", "unetpp"])
def test_content_weight_adds_the_vgg_content_term(name):
    """U-Net / U-Net++: default 0 (the report's pixel + gradient loss, no VGG built); a weight adds
    exactly weight x the content loss of `losses.perceptual`, and the VGG stays out of the weights."""
    batch = patch_batch()
    plain = make(name)
    assert plain.content_weight == 0.0
    plain.compile(learning_rate=0.0)
    assert plain._perceptual is None and "content" not in plain.train_step(batch)

    model = make(name, content_weight=3.0, perceptual_weights="random", residual=True)
    config = model.get_config()
    assert type(model).from_config(config).content_weight == 3.0
    model.compile(learning_rate=0.0)
    n_weights = len(model.weights)
    perceptual = model._perceptual
    sr = model(batch["lr"])
    expected = float(perceptual.content_loss(*perceptual.features(sr, batch["hr"])))
    logs = {k: float(v) for k, v in model.train_step(batch).items()}
    assert expected > 0 and logs["content"] == pytest.approx(expected, rel=1e-3)
    assert logs["loss"] == pytest.approx(
        logs["pixel"] + model.lambda_gradient * logs["gradient"] + 3.0 * expected, rel=1e-3)
    assert len(model.weights) == n_weights == len(plain.weights)
