"""The GAN base: options declared once (signature, attributes, config), shared losses."""
import inspect
import json

import numpy as np
import pytest

from skinsr_tf.models.edge_informed import EdgeInformedSR
from skinsr_tf.models.gan import GANSRModel
from skinsr_tf.models.spsr import SPSR
from tests.models.helpers import patch_batch


@pytest.mark.parametrize("cls", [EdgeInformedSR, SPSR])
def test_options_are_signature_attributes_and_config(cls):
    params = inspect.signature(cls).parameters
    assert list(params)[:3] == ["scale", "preset", "residual"]
    for name, (default, _) in cls.options.items():
        assert params[name].default == default
    model = cls(scale=4, preset="tiny", perceptual_weights="random", canny_sigma=1.5, l1_weight=3)
    config = model.get_config()
    assert set(cls.options) <= set(config)
    assert model.canny_sigma == config["canny_sigma"] == 1.5
    assert model.l1_weight == 3.0 and isinstance(model.l1_weight, float)
    assert cls.from_config(config).get_config() == config


def test_spsr_and_edge_defaults_differ_where_the_report_says():
    assert EdgeInformedSR.options["adv_weight"][0] == 1.0 and SPSR.options["adv_weight"][0] == 0.005
    assert GANSRModel.options["gan_loss"][0] == "hinge"


@pytest.mark.parametrize("name, value", [("gan_loss", "wgan"), ("fusion", "wide"),
                                         ("gradient_pixel_loss", "l3")])
def test_bad_option_names_it(name, value):
    with pytest.raises(ValueError, match=f"SPSR: {name} must be one of"):
        SPSR(scale=4, preset="tiny", **{name: value})


def test_call_pads_below_min_input_size_and_crops():
    model = SPSR(scale=4, preset="tiny", perceptual_weights="random")
    side = model.min_input_size - 1
    out = model(np.zeros((1, side, side + 2, 3), np.float32))
    assert out.shape == (1, 4 * side, 4 * (side + 2), 3)


def test_perceptual_terms_only_when_weighted():
    batch = patch_batch(4, edges=True)
    edge = EdgeInformedSR(scale=4, preset="tiny", stage="edge", perceptual_weights="random")
    edge.compile()
    assert edge._perceptual is None
    sr = SPSR(scale=4, preset="tiny", perceptual_weights="random", content_weight=0, style_weight=0)
    sr.compile()
    assert [float(t) for t in sr.perceptual_terms(batch["hr"], batch["hr"])] == [0.0, 0.0]


def test_joint_init_from_an_edge_run_takes_the_edge_generator_only(tmp_path):
    # examples/train.py --edge_weights: an edge-stage run's SR networks are untrained.
    edge = EdgeInformedSR(scale=4, preset="tiny", stage="edge", perceptual_weights="random")
    run = tmp_path / "edge_run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "edge_sisr", "model_kwargs": {"stage": "edge"}}))
    edge.save_weights(run / "final.weights.h5")
    joint = EdgeInformedSR(scale=4, preset="tiny", stage="joint", residual=True, perceptual_weights="random")
    sr_before = [w.numpy() for w in joint.sr_generator.weights]
    joint.load_init_weights(run)
    for a, b in zip(edge.edge_generator.weights, joint.edge_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(sr_before, joint.sr_generator.weights):  # residual's zeroed output conv kept
        np.testing.assert_array_equal(a, b.numpy())

    # a file that is not an edge run's (here: no config.json) is loaded whole
    other = EdgeInformedSR(scale=4, preset="tiny", stage="joint", perceptual_weights="random")
    (tmp_path / "joint").mkdir()
    other.save_weights(tmp_path / "joint" / "w.weights.h5")
    joint.load_init_weights(tmp_path / "joint" / "w.weights.h5")
    for a, b in zip(other.sr_generator.weights, joint.sr_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_loss_shift_crops_sr_and_hr_at_one_random_offset():
    import tensorflow as tf

    model = SPSR(scale=4, preset="tiny", perceptual_weights="random", loss_shift=3)
    assert model.get_config()["loss_shift"] == 3
    a = tf.reshape(tf.range(2 * 20 * 24 * 3, dtype=tf.float32), (2, 20, 24, 3))
    offsets = set()
    for _ in range(40):
        sa, sb = model.shifted(a, a + 1.0)
        assert sa.shape == (2, 17, 21, 3)
        np.testing.assert_array_equal((sb - sa).numpy(), 1.0)  # the same window of both
        dy, dx = divmod(int(sa[0, 0, 0, 0]) // 3, 24)  # where the window starts in `a`
        np.testing.assert_array_equal(sa.numpy(), a[:, dy:dy + 17, dx:dx + 21].numpy())
        offsets.add((dy, dx))
    assert offsets <= {(y, x) for y in range(4) for x in range(4)} and len(offsets) > 4
    unshifted = SPSR(scale=4, preset="tiny", perceptual_weights="random")
    assert unshifted.shifted(a, a)[0] is a
    with pytest.raises(ValueError, match="SPSR: loss_shift: must be a whole number of pixels"):
        SPSR(scale=4, preset="tiny", loss_shift=-1)


@pytest.mark.parametrize("cls", [EdgeInformedSR, SPSR])
def test_loss_shift_and_antialias_train(cls):
    model = cls(scale=4, preset="tiny", perceptual_weights="random", loss_shift=2, antialias=True)
    assert model.get_config()["antialias"] is True
    model.compile()
    logs = model.train_step(patch_batch(4, edges=True))
    assert all(np.isfinite(float(v)) for v in logs.values())


@pytest.mark.parametrize("cls, weights, idle", [
    (EdgeInformedSR, {"adv_weight": 0.0}, ["sr_discriminator"]),
    (SPSR, {"adv_weight": 0.0, "grad_adv_weight": 0.0}, ["discriminator", "grad_discriminator"]),
    (SPSR, {"adv_weight": 0.0}, ["discriminator"]),
])
def test_a_zero_adversarial_weight_leaves_its_discriminator_out(cls, weights, idle):
    model = cls(scale=4, preset="tiny", perceptual_weights="random", **weights)
    model.compile()
    nets = ["generator", "discriminator", "grad_discriminator"] if cls is SPSR else ["sr_generator", "sr_discriminator"]
    before = {n: [v.numpy() for v in getattr(model, n).trainable_variables] for n in nets}
    logs = model.train_step(patch_batch(4, edges=True))
    assert all(np.isfinite(float(v)) for v in logs.values())
    for n in nets:
        unchanged = all(np.array_equal(b, a.numpy()) for b, a in zip(before[n], getattr(model, n).trainable_variables))
        assert unchanged == (n in idle), n
    losses = {"discriminator": "d_loss", "grad_discriminator": "grad_d_loss", "sr_discriminator": "sr_d_loss"}
    for n in idle:
        assert float(logs[losses[n]]) == 0.0
