"""What the trainable models share: validation PSNR-Y (the metrics module's), mixed-precision loss
scaling, save/reload, XLA and its fallback."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf import metrics, training
from skinsr_tf.models.common import psnr_y_tf
from skinsr_tf.models.registry import get_model_class
from skinsr_tf.models.unet import UNetSR
from tests.models.helpers import patch_batch

MODELS = [
    ("unet", {}),
    ("unetpp", {}),
    ("edge_sisr", {"stage": "joint", "perceptual_weights": "random"}),
    ("spsr", {"perceptual_weights": "random"}),
]
INITIAL_SCALE = 2.0**15  # keras.optimizers.LossScaleOptimizer's default


@pytest.fixture
def mixed_float16():
    """The global mixed_float16 policy for one test; the previous policy is restored after it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def tiny(name, kwargs):
    keras.utils.set_random_seed(0)
    model = get_model_class(name)(scale=4, preset="tiny", **kwargs)
    model.compile()
    return model


def group_moved(model, before):
    """{optimizer group: whether every one of its variables changed since `before` (a snapshot)}."""
    return {g: all(not np.array_equal(before[v.path], v.numpy()) for v in variables)
            for g, variables in model._optimizer_groups().items()}


@pytest.mark.parametrize("name,kwargs", MODELS, ids=[m[0] for m in MODELS])
def test_mixed_precision_step_scales_the_loss_and_moves_the_weights(mixed_float16, name, kwargs):
    model = tiny(name, kwargs)
    batch = patch_batch(edges=True)
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in model.optimizers.values())
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # float32 master weights
    step = tf.function(model.train_step)

    snapshot = {v.path: v.numpy() for v in model.trainable_variables}
    logs = step(batch)
    assert all(np.isfinite(float(v)) for v in logs.values()), logs
    for opt in model.optimizers.values():  # finite scaled gradients: counted, scale kept
        assert (int(opt.step_counter.numpy()), float(opt.dynamic_scale.numpy())) == (1, INITIAL_SCALE)
    assert all(group_moved(model, snapshot).values())
    sr = model(batch["lr"])
    assert sr.dtype == tf.float32 and np.all(np.isfinite(sr.numpy()))

    # A loss scale far too large overflows the float16 backward pass: the update is skipped
    # (Adam's moments and step count untouched) and the scale halved, which only happens if the
    # scale really multiplies the loss. (Spectral norm rewrites discriminator kernels in every
    # training forward pass, so the skipped update shows in the optimiser state, not the weights.)
    for opt in model.optimizers.values():
        opt.dynamic_scale.assign(2.0**40)
    adam_state = [[v.numpy() for v in opt.inner_optimizer.variables] for opt in model.optimizers.values()]
    logs = step(batch)
    assert all(np.isfinite(float(v)) for v in logs.values()), logs
    for opt, before in zip(model.optimizers.values(), adam_state):
        assert (int(opt.step_counter.numpy()), float(opt.dynamic_scale.numpy())) == (0, 2.0**39)
        assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, opt.inner_optimizer.variables))


def test_mixed_precision_fixture_restores_the_policy():
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("name,kwargs", [MODELS[0], MODELS[2]], ids=["unet", "edge_sisr"])
def test_save_and_reload_after_a_mixed_precision_step(mixed_float16, tmp_path, name, kwargs):
    model = tiny(name, kwargs)
    batch = patch_batch(edges=True)
    tf.function(model.train_step)(batch)
    expected = model(batch["lr"]).numpy()

    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert {layer.dtype_policy.name for layer in loaded._flatten_layers()} >= {"mixed_float16"}
    np.testing.assert_array_equal(loaded(batch["lr"]).numpy(), expected)

    training.save_checkpoint(model, tmp_path / "ckpt-1.ckpt.h5", 1)  # what train() resumes from
    fresh = tiny(name, kwargs)
    assert training.restore_checkpoint(fresh, tmp_path / "ckpt-1.ckpt.h5") == 1
    np.testing.assert_array_equal(fresh(batch["lr"]).numpy(), expected)
    for g, opt in model.optimizers.items():
        restored = fresh.optimizers[g]
        assert int(restored.step_counter.numpy()) == 1
        assert float(restored.dynamic_scale.numpy()) == float(opt.dynamic_scale.numpy())
        assert int(restored.iterations.numpy()) == int(opt.iterations.numpy()) == 1


@pytest.mark.parametrize("name,kwargs", [MODELS[0], MODELS[2]], ids=["unet", "edge_sisr"])
def test_xla_train_and_predict_steps(name, kwargs):
    """U-Net and the edge-informed model (its in-graph Canny is a while_loop) compile under XLA."""
    model = tiny(name, kwargs)
    model.compile(jit_compile=True)
    batch = patch_batch(edges=True)
    snapshot = {v.path: v.numpy() for v in model.trainable_variables}
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0)
    assert model.jit_compile  # compiled, no fallback
    assert all(np.isfinite(v[-1]) for v in history.history.values()), history.history
    assert all(group_moved(model, snapshot).values())
    lr = np.random.default_rng(1).random((3, 9, 7, 3), dtype=np.float32)  # odd sizes: padded in-graph
    np.testing.assert_allclose(model.predict(lr, batch_size=3, verbose=0), model(lr).numpy(), atol=1e-4)
    assert model.jit_compile


class NotXlaUNet(UNetSR):
    """U-Net whose forward pass holds an op without an XLA kernel (a Python function)."""

    def _outputs(self, lr, training):
        lr = tf.cast(lr, tf.float32)
        same = tf.numpy_function(lambda a: a, [lr], tf.float32, stateful=False)
        return super()._outputs(tf.ensure_shape(same, lr.shape), training)


def test_xla_failure_falls_back_with_a_warning_and_loses_no_batch():
    keras.utils.set_random_seed(0)
    model = NotXlaUNet(scale=4, preset="tiny")
    model.compile(jit_compile=True)
    lr = np.random.default_rng(2).random((3, 8, 8, 3), dtype=np.float32)
    with pytest.warns(RuntimeWarning, match="XLA cannot compile the predict step.*jit_compile=False"):
        out = model.predict(lr, batch_size=1, verbose=0)
    assert not model.jit_compile
    np.testing.assert_allclose(out, model(lr).numpy(), atol=1e-6)  # every row, in order

    model.compile(jit_compile=True)
    batches = tf.data.Dataset.from_tensor_slices(patch_batch(n=4)).batch(2)
    with pytest.warns(RuntimeWarning, match="XLA cannot compile the train step"):
        model.fit(batches, epochs=1, verbose=0)
    assert not model.jit_compile and int(model.optimizer.iterations.numpy()) == 2


def test_psnr_y_tf_equals_the_metric_with_the_same_crop():
    batch = patch_batch(scale=4, hr_size=32, n=3, seed=5)
    rng = np.random.default_rng(0)
    sr = np.clip(batch["hr"] + rng.normal(0, 0.03, batch["hr"].shape), 0, 1).astype(np.float32)
    for crop in (0, 4):
        got = psnr_y_tf(sr, batch["hr"], crop_border=crop).numpy()
        want = metrics.psnr_y(sr, batch["hr"], crop_border=crop)
        np.testing.assert_allclose(got, want, atol=1e-3)
    # The border matters here: noise only in the outer 4 px changes PSNR unless it is cropped.
    edged = batch["hr"].copy()
    edged[:, :4] = sr[:, :4]
    assert np.all(psnr_y_tf(edged, batch["hr"], crop_border=4).numpy() == 100.0)


def test_validation_psnr_is_the_evaluation_psnr_with_crop_border_scale():
    """`model.evaluate` (what val_psnr_y and the LR plateau read) = metrics.psnr_y(crop_border=scale)."""
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    batch = patch_batch(scale=4, hr_size=48, n=4, seed=1)
    logs = model.evaluate(tf.data.Dataset.from_tensors(batch), verbose=0, return_dict=True)
    sr = np.clip(model(batch["lr"]).numpy(), 0, 1)
    want = metrics.psnr_y(sr, batch["hr"], crop_border=4).mean()
    assert abs(logs["psnr_y"] - want) < 1e-3
    assert abs(metrics.psnr_y(sr, batch["hr"]).mean() - want) > 0.01  # the crop is visible here


# --- Keras conventions ------------------------------------------------------------------------
def lr_hr_tuples(n=4, batch=2):
    data = patch_batch(n=n)
    return tf.data.Dataset.from_tensor_slices((data["lr"], data["hr"])).batch(batch)


def test_compile_with_one_optimizer_then_fit_on_lr_hr_tuples_trains():
    keras.utils.set_random_seed(0)
    model = UNetSR(scale=4, preset="tiny")
    optimizer = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer)
    assert model.optimizers == {"g": optimizer}
    before = [v.numpy().copy() for v in model.trainable_weights]
    history = model.fit(lr_hr_tuples(), epochs=3, verbose=0, validation_data=lr_hr_tuples())
    assert int(optimizer.iterations.numpy()) == 6
    assert all(np.isfinite(history.history["loss"])) and history.history["loss"][-1] < history.history["loss"][0]
    assert "val_psnr_y" in history.history
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_weights))
    assert model.get_compile_config()["optimizer"]["class_name"] == "Adam"


def test_compile_refuses_what_it_would_ignore():
    with pytest.raises(ValueError, match=r"UNetSR.compile: loss= and metrics= are not used"):
        UNetSR(scale=4, preset="tiny").compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="metrics= are not used"):
        UNetSR(scale=4, preset="tiny").compile(metrics=["mae"])
    spsr = get_model_class("spsr")(scale=4, preset="tiny", perceptual_weights="random")
    with pytest.raises(ValueError, match=r"SPSR has the groups \['g', 'd', 'grad_d'\]: pass optimizers="):
        spsr.compile(optimizer="adam")


@pytest.mark.parametrize("name,kwargs", MODELS + [("edge_sisr", {"stage": "edge"})],
                         ids=[m[0] for m in MODELS] + ["edge_sisr-edge"])
def test_every_model_logs_loss_for_keras_standard_callbacks(tmp_path, name, kwargs):
    model = tiny(name, kwargs)
    data = tf.data.Dataset.from_tensors(patch_batch(edges=True)).repeat(2)
    best = tmp_path / "best.weights.h5"
    callbacks = [keras.callbacks.TerminateOnNaN(),
                 keras.callbacks.ModelCheckpoint(str(best), monitor="loss", save_best_only=True, save_weights_only=True)]
    history = model.fit(data, epochs=1, verbose=0, callbacks=callbacks)
    assert np.isfinite(history.history["loss"][0])
    fresh = get_model_class(name)(scale=4, preset="tiny", **kwargs)
    fresh.load_weights(best)
    x = patch_batch()["lr"]
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
