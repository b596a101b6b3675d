"""UNetSR / UNetPlusPlusSR: shapes at x4/x8 (odd sizes), one train step, overfit, .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinsr_tf.models.unet import UNetPlusPlusSR, UNetSR
from tests.models.helpers import overfit_l1, patch_batch


@pytest.mark.parametrize("cls", [UNetSR, UNetPlusPlusSR])
@pytest.mark.parametrize("scale", [4, 8])
def test_maps_lr_to_hr_any_size(cls, scale):
    model = cls(scale=scale, preset="tiny")
    out = model(np.random.rand(2, 5, 7, 3).astype(np.float32))
    assert out.shape == (2, 5 * scale, 7 * scale, 3)
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 1


@pytest.mark.parametrize(
    "cls,kwargs",
    [(UNetSR, {}), (UNetSR, {"pixel_loss": "mse", "gradient_loss": "sobel"}),
     (UNetPlusPlusSR, {"deep_supervision": True})],
)
def test_one_train_step_changes_weights(cls, kwargs):
    model = cls(scale=4, preset="tiny", **kwargs)
    model.compile()
    before = [v.numpy() for v in model.network.trainable_variables]
    logs = model.train_step(patch_batch(4))
    assert set(logs) == {"pixel", "gradient", "loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert float(logs["gradient"]) > 0
    changed = [not np.array_equal(b, v.numpy()) for b, v in zip(before, model.network.trainable_variables)]
    assert all(changed)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="gradient_loss"):
        UNetSR(preset="tiny", gradient_loss="laplace")
    with pytest.raises(ValueError, match="pixel distance"):
        UNetSR(preset="tiny", pixel_loss="l3")


@pytest.mark.slow
@pytest.mark.parametrize("cls", [UNetSR, UNetPlusPlusSR])
def test_overfits_one_patch(cls):
    tf.keras.utils.set_random_seed(0)
    model = cls(scale=4, preset="tiny")
    model.compile()
    batch = patch_batch(4, n=1)
    start, end = overfit_l1(model, batch)
    assert end < 0.5 * start


@pytest.mark.parametrize("cls", [UNetSR, UNetPlusPlusSR])
def test_keras_file_round_trip(cls, tmp_path):
    model = cls(scale=4, preset="tiny", lambda_gradient=0.3)
    model.compile(learning_rate=1e-4)
    model.train_step(patch_batch(4))  # weights differ from a fresh init
    path = tmp_path / "m.keras"
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls and loaded.lambda_gradient == 0.3
    x = np.random.rand(1, 9, 6, 3).astype(np.float32)
    np.testing.assert_array_equal(np.array(model(x)), np.array(loaded(x)))


@pytest.mark.parametrize("cls", [UNetSR, UNetPlusPlusSR])
def test_upsample_resize_paints_no_period_grid(cls):
    """Constant LR in, untrained network: conv-transpose gives each output phase its own kernel
    tap (a period-s pattern: nearly all of the output's variation); nearest x2 + conv 3x3 leaves
    only the border effects of the pooled levels, not locked to the period."""
    lr = np.full((1, 16, 16, 3), 0.5, np.float32)

    def phase_amplitude(model):
        y = np.asarray(model(lr))[0, 16:-16, 16:-16].mean(axis=-1)
        return y.reshape(y.shape[0] // 4, 4, y.shape[1] // 4, 4).mean(axis=(0, 2)).std()

    keras.utils.set_random_seed(0)
    transpose = cls(scale=4, preset="tiny")
    keras.utils.set_random_seed(0)
    resize = cls(scale=4, preset="tiny", upsample="resize")
    assert transpose.upsample == "transpose" and resize.get_config()["upsample"] == "resize"
    assert phase_amplitude(transpose) > 5e-3  # U-Net: 0.0137 (of 0.0142 standard deviation)
    assert phase_amplitude(resize) < phase_amplitude(transpose) / 10  # U-Net: 0.0007
    keras.utils.set_random_seed(0)
    bilinear = cls(scale=4, preset="tiny", upsample="bilinear")
    assert phase_amplitude(bilinear) < phase_amplitude(transpose) / 10
    assert cls.from_config(resize.get_config()).upsample == "resize"
    with pytest.raises(ValueError, match="upsample must be one of"):
        cls(scale=4, preset="tiny", upsample="bicubic")
