"""EdgeInformedSR: shapes, one step per stage, overfit, stage weight transfer, .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.data.edges import canny_tf
from skinsr_tf.data.resize import tf_imresize
from skinsr_tf.models.edge_informed import EdgeInformedSR
from tests.models.helpers import overfit_l1, patch_batch


def make(stage="joint", scale=4, **kw):
    return EdgeInformedSR(scale=scale, preset="tiny", stage=stage, perceptual_weights="random", **kw)


@pytest.mark.parametrize("scale", [4, 8])
@pytest.mark.parametrize("stage", ["joint", "sr"])
def test_maps_lr_to_hr_any_size(scale, stage):
    out = make(stage, scale)(np.random.rand(2, 5, 7, 3).astype(np.float32))
    assert out.shape == (2, 5 * scale, 7 * scale, 3)
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 1


@pytest.mark.parametrize("scale,min_size", [(2, 6), (4, 3), (8, 2)])
def test_small_inputs_are_padded(scale, min_size):
    model = EdgeInformedSR(scale=scale, preset="tiny")
    assert model.min_input_size == min_size
    assert model(np.random.rand(1, 5, 1, 3).astype(np.float32)).shape == (1, 5 * scale, scale, 3)


@pytest.mark.parametrize(
    "stage,trained,frozen",
    [("edge", ["edge_generator", "edge_discriminator"], ["sr_generator", "sr_discriminator"]),
     ("sr", ["sr_generator", "sr_discriminator"], ["edge_generator", "edge_discriminator"]),
     ("joint", ["sr_generator", "sr_discriminator"], ["edge_generator", "edge_discriminator"])],
)
def test_one_train_step_per_stage(stage, trained, frozen):
    model = make(stage)
    model.compile()
    snap = lambda name: [v.numpy() for v in getattr(model, name).weights]  # noqa: E731
    before = {name: snap(name) for name in trained + frozen}
    logs = model.train_step(patch_batch(4, edges=True))
    assert logs and all(np.isfinite(float(v)) for v in logs.values())
    if stage != "edge":
        assert float(logs["sr_content"]) > 0 and float(logs["sr_style"]) > 0
    for name in trained:  # every trainable variable of the trained pair moved
        after = getattr(model, name)
        moved = [not np.array_equal(b, v.numpy()) for b, v in zip(before[name], after.weights) if v.trainable]
        assert all(moved), name
    for name in frozen:
        assert all(np.array_equal(b, a) for b, a in zip(before[name], snap(name))), name


def test_edge_stage_weights_carry_into_joint(tmp_path):
    edge = make("edge")
    path = tmp_path / "edge.weights.h5"
    edge.save_weights(path)
    joint = make("joint")
    joint.load_init_weights(path)
    for a, b in zip(edge.edge_generator.weights, joint.edge_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_validation_metrics():
    model = make("joint")
    model.compile()
    logs = model.test_step(patch_batch(4, edges=True))
    assert set(logs) == {"psnr_y", "l1"} and 0 < float(logs["psnr_y"]) < 100
    edge = make("edge")
    edge.compile()
    logs = edge.test_step(patch_batch(4, edges=True))
    assert {"edge_f1", "edge_l1"} <= set(logs) and edge.monitor == ("val_edge_f1", "max")


def test_bad_arguments():
    with pytest.raises(ValueError, match="stage"):
        EdgeInformedSR(preset="tiny", stage="both")
    with pytest.raises(ValueError, match="gan_loss"):
        EdgeInformedSR(preset="tiny", gan_loss="wgan")
    with pytest.raises(ValueError, match="upsample"):
        EdgeInformedSR(preset="tiny", upsample="bicubic")


@pytest.mark.slow
def test_overfits_one_patch():
    # Report loss weights with the reference code's optimiser; the report's lr 1e-3 lets the
    # adversarial term (weight 1) dominate a one-patch run.
    keras.utils.set_random_seed(0)
    model = make("sr")
    model.compile(learning_rate=1e-4, beta_1=0.0, beta_2=0.9)
    batch = patch_batch(4, n=1, edges=True)
    start, end = overfit_l1(model, batch)
    assert end < 0.4 * start


def test_keras_file_round_trip(tmp_path):
    model = make("joint", gan_loss="lsgan", fm_weight=5.0, upsample="resize")
    model.compile()
    model.train_step(patch_batch(4, edges=True))
    path = tmp_path / "edge_sisr.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is EdgeInformedSR
    assert (loaded.stage, loaded.gan_loss, loaded.fm_weight) == ("joint", "lsgan", 5.0)
    assert loaded.upsample == "resize"
    assert loaded.sr_generator.get_layer("dec2_nearest") is not None
    x = np.random.rand(1, 6, 9, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())


def test_bilinear_upsampling_super_resolves_any_size():
    model = make("joint", upsample="bilinear")
    image = np.random.default_rng(0).integers(0, 256, (13, 21, 3)).astype(np.uint8)
    assert model.super_resolve(image).shape == (52, 84, 3)  # traced for unknown H and W
    assert model.predict_edges(image).shape == (52, 84)


@pytest.mark.parametrize("stage", ["joint", "sr"])
def test_predict_edges_any_size_tiled_like_super_resolve(stage):
    from skinsr_tf.data.edges import canny_tf, nearest_upsample

    model = make(stage, 4)
    lr = (np.random.default_rng(0).random((13, 9, 3)) * 255).astype(np.uint8)
    edges = model.predict_edges(lr)
    assert edges.shape == (52, 36) and edges.dtype == np.float32
    assert 0 <= edges.min() and edges.max() <= 1
    x = lr[None].astype(np.float32) / 255
    if stage == "sr":
        expected = canny_tf(nearest_upsample(x, 4))[0, ..., 0].numpy()
    else:
        expected = model._edges_call(x)[0, ..., 0].numpy()
    np.testing.assert_allclose(edges, expected, atol=1e-5)
    big = (np.random.default_rng(1).random((40, 40, 3)) * 255).astype(np.uint8)
    whole, tiled = model.predict_edges(big, tile_size=0), model.predict_edges(big, tile_size=24)
    assert tiled.shape == whole.shape == (160, 160)
    assert np.mean(np.abs(tiled - whole)) < 0.05  # blended tiles: the image's own borders differ only
    # super_resolve still gives the SR image afterwards (the edge function is swapped back)
    assert model.super_resolve(lr).shape == (52, 36, 3)


def test_edge_validation_logs_the_bicubic_canny_baseline():
    from skinsr_tf import metrics
    from skinsr_tf.data.edges import canny
    from skinsr_tf.data.resize import imresize

    edge = make("edge")
    edge.compile()
    batch = patch_batch(4, hr_size=64, n=2, edges=True)
    logs = edge.test_step(batch)
    assert {"baseline_precision", "baseline_recall", "baseline_f1"} <= set(logs)
    pred = np.stack([canny(np.clip(imresize(lr, 4), 0, 1)) for lr in batch["lr"]])
    p, r, f1 = metrics.edge_scores(pred, batch["hr_edge"][..., 0])
    assert float(logs["baseline_precision"]) == pytest.approx(p, abs=0.05)
    assert float(logs["baseline_recall"]) == pytest.approx(r, abs=0.05)
    assert float(logs["baseline_f1"]) == pytest.approx(f1, abs=0.05) and f1 > 0.1


def test_sr_input_option_bicubic_instead_of_zero_stuffed():
    from skinsr_tf.data.resize import tf_imresize

    lr = np.random.default_rng(0).random((1, 8, 8, 3)).astype(np.float32)
    report = make("joint")
    assert report.sr_input == "dilated"
    dilated = report.sr_rgb_input(lr).numpy()
    assert np.count_nonzero(dilated) <= dilated.size // 16  # one pixel in s*s carries the LR
    model = make("joint", sr_input="bicubic")
    np.testing.assert_allclose(model.sr_rgb_input(lr).numpy(), tf_imresize(lr, 4).numpy(), atol=1e-6)
    assert model(lr).shape == (1, 32, 32, 3)
    assert EdgeInformedSR.from_config(model.get_config()).sr_input == "bicubic"
    with pytest.raises(ValueError, match="sr_input must be one of"):
        make("joint", sr_input="nearest")


def test_edge_input_option_feeds_the_baseline_edges():
    from skinsr_tf.data.edges import canny_tf, nearest_upsample
    from skinsr_tf.data.resize import tf_imresize

    lr = patch_batch(4, hr_size=64, n=1)["lr"]
    report = make("edge")
    assert report.edge_input == "nearest"
    x = report.edge_generator_input(lr).numpy()
    np.testing.assert_array_equal(x[..., :3], nearest_upsample(lr, 4).numpy())
    model = make("edge", edge_input="bicubic")
    x = model.edge_generator_input(lr).numpy()
    big = np.clip(tf_imresize(lr, 4).numpy(), 0, 1)
    np.testing.assert_allclose(x[..., :3], big, atol=1e-6)
    np.testing.assert_array_equal(x[..., 3:], canny_tf(big).numpy())  # the baseline edge map
    assert model.predict_edges((lr[0] * 255).astype(np.uint8)).shape == (64, 64)
    assert EdgeInformedSR.from_config(model.get_config()).edge_input == "bicubic"
    with pytest.raises(ValueError, match="edge_input must be one of"):
        make("edge", edge_input="dilated")


def test_weighted_bce_matches_keras_and_weights_edges():
    from skinsr_tf.models.edge_informed import weighted_bce

    rng = np.random.default_rng(0)
    target = (rng.random((2, 8, 8, 1)) < 0.1).astype(np.float32)
    prob = rng.random((2, 8, 8, 1)).astype(np.float32)
    plain = float(tf.reduce_mean(keras.losses.binary_crossentropy(target, prob, axis=-1)))
    assert float(weighted_bce(target, prob)) == pytest.approx(plain, rel=1e-4)
    empty = np.full_like(prob, 0.01)  # "no edge anywhere": cheap for plain BCE, not when weighted
    assert float(weighted_bce(target, empty, 30.0)) > 10 * float(weighted_bce(target, empty))
    model = make("edge", edge_bce_weight=10.0, edge_bce_pos_weight=30.0)
    model.compile()
    logs = model.train_step(patch_batch(4, edges=True))
    assert np.isfinite(float(logs["edge_g_loss"]))
    assert EdgeInformedSR.from_config(model.get_config()).edge_bce_pos_weight == 30.0


@pytest.mark.parametrize("edge_input", ["nearest", "bicubic"])
def test_edge_residual_starts_at_the_baseline_and_learns(edge_input):
    """Untrained, an `edge_residual` generator predicts the baseline edge map (Canny of the
    bicubic-enlarged LR), so its validation F1 starts at the baseline's; a step moves it."""
    batch = patch_batch(4, hr_size=64, n=2, edges=True)
    model = make("edge", edge_residual=True, edge_input=edge_input, edge_bce_weight=10.0,
                 edge_bce_pos_weight=30.0)
    assert make("edge").edge_residual is False
    assert EdgeInformedSR.from_config(model.get_config()).edge_residual is True
    baseline = model.baseline_edges(batch["lr"]).numpy()
    assert baseline.any() and not baseline.all()
    pred = model.predict_hr_edges(batch["lr"]).numpy()
    np.testing.assert_array_equal(pred > 0.5, baseline > 0.5)
    assert pred.max() < 0.96 and pred.min() > 0.04  # a prior of +-3 logits, not a hard copy
    model.compile(learning_rate=1e-3)
    logs = model.test_step(batch)
    assert float(logs["edge_f1"]) == pytest.approx(float(logs["baseline_f1"]), abs=1e-6)
    model.train_step(batch)
    assert np.abs(model.predict_hr_edges(batch["lr"]).numpy() - pred).max() > 1e-4


def test_edge_prior_logit_sets_the_untrained_edge_probabilities():
    """`edge_prior_logit` is the baseline's logit: untrained, edge pixels come out at
    sigmoid(+prior) and the rest at sigmoid(-prior), and the setting survives get_config."""
    batch = patch_batch(4, hr_size=64, n=2, edges=True)
    model = make("edge", edge_residual=True, edge_input="bicubic", edge_prior_logit=1.0)
    assert make("edge").edge_prior_logit == 3.0
    assert EdgeInformedSR.from_config(model.get_config()).edge_prior_logit == 1.0
    baseline = model.baseline_edges(batch["lr"]).numpy() > 0.5
    pred = model.predict_hr_edges(batch["lr"]).numpy()
    edge_p, other_p = 1.0 / (1.0 + np.exp(-1.0)), 1.0 / (1.0 + np.exp(1.0))
    np.testing.assert_allclose(pred[baseline], edge_p, atol=1e-5)
    np.testing.assert_allclose(pred[~baseline], other_p, atol=1e-5)


def test_edge_source_prior_equals_the_untrained_residual_generator_without_running_it(monkeypatch):
    """edge_source "prior" gives, bit for bit, what an untrained `edge_residual` generator feeds the
    SR generator, without calling the edge generator; it survives get_config; stage "edge" refuses it."""
    kw = dict(edge_residual=True, edge_input="bicubic", sr_input="bicubic", edge_prior_logit=1.0,
              edge_prior_sigma=1.5, residual=True, upsample="bilinear")
    network, prior = make("joint", **kw), make("joint", edge_source="prior", **kw)
    assert make("joint").edge_source == "generator"
    assert EdgeInformedSR.from_config(prior.get_config()).edge_source == "prior"
    prior.set_weights(network.get_weights())
    lr = tf.constant(np.random.default_rng(3).random((2, 12, 16, 3)), tf.float32)
    expected_edges, expected_sr = network.predict_hr_edges(lr).numpy(), network(lr).numpy()

    def not_called(*args, **kwargs):
        raise AssertionError("edge generator run")

    monkeypatch.setattr(prior.edge_generator, "call", not_called)
    np.testing.assert_array_equal(prior.predict_hr_edges(lr).numpy(), expected_edges)
    np.testing.assert_array_equal(prior(lr).numpy(), expected_sr)
    with pytest.raises(ValueError, match="no edge generator to train"):
        make("edge", edge_source="prior", **kw)


def test_edge_prior_sigma_changes_the_prior_not_the_baseline():
    """`edge_prior_sigma` sets the Canny sigma of the edges the generator reads and starts from;
    the baseline the logs compare with stays Canny at `canny_sigma`."""
    batch = patch_batch(4, hr_size=64, n=2, edges=True)
    model = make("edge", edge_residual=True, edge_input="bicubic", edge_prior_sigma=1.0)
    assert make("edge").edge_prior_sigma is None
    assert EdgeInformedSR.from_config(model.get_config()).edge_prior_sigma == 1.0
    big = np.clip(tf_imresize(batch["lr"], 4).numpy(), 0.0, 1.0)
    fine, coarse = canny_tf(big, sigma=1.0).numpy(), canny_tf(big, sigma=2.0).numpy()
    assert (fine != coarse).any()
    np.testing.assert_array_equal(model.baseline_edges(batch["lr"]).numpy(), coarse)
    np.testing.assert_array_equal(model.prior_edges(batch["lr"]).numpy(), fine)
    np.testing.assert_array_equal(model.predict_hr_edges(batch["lr"]).numpy() > 0.5, fine > 0.5)
    np.testing.assert_array_equal(model.edge_generator_input(batch["lr"]).numpy()[..., 3:], fine)
    model.compile()
    logs = model.test_step(batch)
    assert float(logs["prior_f1"]) == pytest.approx(float(logs["edge_f1"]), abs=1e-6)
    assert float(logs["prior_f1"]) != pytest.approx(float(logs["baseline_f1"]), abs=1e-6)
    assert "prior_f1" not in make("edge").test_step(batch)


@pytest.mark.parametrize("edge_source", ["generator", "prior"])
def test_super_resolve_with_edges_takes_any_edge_map(edge_source):
    """`super_resolve_with_edges` fed the model's own edges is `call`; other maps change the output
    (an untrained, non-residual SR generator reads its edge channel); `edges_as_input` puts a binary
    map at +-edge_prior_logit for edge_source "prior" (what it was trained on) and leaves it as is
    otherwise."""
    kw = dict(edge_residual=True, edge_input="bicubic", sr_input="bicubic", edge_prior_logit=1.0)
    model = make("joint", edge_source=edge_source, **kw)
    lr = tf.constant(np.random.default_rng(4).random((1, 12, 16, 3)), tf.float32)
    own = model.predict_hr_edges(lr)
    np.testing.assert_allclose(model.super_resolve_with_edges(lr, own).numpy(), model(lr).numpy(), atol=1e-6)
    binary = tf.constant(np.random.default_rng(5).random((1, 48, 64, 1)) > 0.8, tf.float32)
    mapped = model.edges_as_input(binary).numpy()
    if edge_source == "prior":
        np.testing.assert_allclose(mapped[binary.numpy() > 0], 1.0 / (1.0 + np.exp(-1.0)), atol=1e-6)
        np.testing.assert_allclose(mapped[binary.numpy() == 0], 1.0 / (1.0 + np.exp(1.0)), atol=1e-6)
    else:
        np.testing.assert_array_equal(mapped, binary.numpy())
    other = model.super_resolve_with_edges(lr, mapped).numpy()
    assert np.abs(other - model(lr).numpy()).max() > 1e-4


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_hr_edge_rate_trains_on_the_hr_edges(monkeypatch, rate):
    """hr_edge_rate 1: every training sample's SR generator reads the batch's HR Canny (through
    `edges_as_input`); 0 (the report's): the model's own edges. Inference keeps its own edges."""
    batch = patch_batch(4, hr_size=32, n=2, edges=True)
    model = make("joint", edge_source="prior", edge_residual=True, edge_input="bicubic", hr_edge_rate=rate)
    assert EdgeInformedSR.from_config(model.get_config()).hr_edge_rate == rate
    model.compile()
    seen, forward = [], model.super_resolve_with_edges
    monkeypatch.setattr(model, "super_resolve_with_edges",
                        lambda lr, edges, training=False: (seen.append(edges.numpy()), forward(lr, edges, training))[1])
    model.train_step({k: tf.constant(v) for k, v in batch.items()})
    expected = model.edges_as_input(batch["hr_edge"]) if rate else model.predict_hr_edges(batch["lr"])
    np.testing.assert_allclose(seen[0], expected.numpy(), atol=1e-6)
    assert not np.allclose(model.edges_as_input(batch["hr_edge"]).numpy(), model.predict_hr_edges(batch["lr"]).numpy())
    with pytest.raises(ValueError, match="hr_edge_rate"):
        make("joint", hr_edge_rate=1.5)
