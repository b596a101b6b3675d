"""Bicubic model == MATLAB imresize (skinsr_tf.data.resize) on upscaling, border included."""

import numpy as np
import pytest

from skinsr_tf.data.resize import imresize
from skinsr_tf.models.bicubic import Bicubic, phase_weights


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_call_equals_matlab_imresize_including_borders(scale):
    rng = np.random.default_rng(scale)
    lr = rng.random((2, 11, 14, 3), dtype=np.float32)
    out = Bicubic(scale)(lr).numpy()
    assert out.shape == (2, 11 * scale, 14 * scale, 3)
    for i in range(2):
        ref = imresize(lr[i], scale)
        np.testing.assert_allclose(out[i], ref, atol=1e-5)  # measured max ~1e-6


def test_phase_weights_sum_to_one_and_have_four_taps():
    w = phase_weights(4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert ((w != 0).sum(axis=1) <= 4).all()


def test_super_resolve_uint8_matches_imresize_and_tiles_are_exact():
    rng = np.random.default_rng(0)
    lr = (rng.random((40, 52, 3)) * 255).astype(np.uint8)
    model = Bicubic(4)
    out = model.super_resolve(lr)
    ref = imresize(lr, 4)
    assert out.shape == ref.shape == (160, 208, 3)
    # Both round the same float; float32 vs float64 sums may flip a .5 tie.
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    assert np.mean(out == ref) > 0.999
    tiled = model.super_resolve(lr, tile_size=24, tile_overlap=8)
    # Tile borders use symmetric padding instead of the neighbours, but get ~0 blend weight there.
    assert np.abs(tiled.astype(int) - out.astype(int)).max() <= 2


def test_from_pretrained_and_export(tmp_path):
    import tensorflow as tf

    model = Bicubic.from_pretrained(scale=2)
    assert isinstance(model, Bicubic) and model.scale == 2 and not model.weights
    lr = np.random.default_rng(1).random((1, 9, 13, 3), dtype=np.float32)
    ref = model(lr).numpy()

    sm = model.export(tmp_path / "sm", verbose=False)
    out = tf.saved_model.load(str(sm)).signatures["serving_default"](lr=tf.constant(lr))["sr"]
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)

    # Dynamic input size with TFLite builtins only (MIRROR_PAD, CONV_2D, RESHAPE, TRANSPOSE).
    tfl = model.export(tmp_path / "bicubic.tflite", format="tflite")
    interp = tf.lite.Interpreter(model_path=str(tfl))
    runner = interp.get_signature_runner()
    for shape in [(1, 9, 13, 3), (1, 16, 7, 3)]:
        x = np.random.default_rng(2).random(shape, dtype=np.float32)
        out = runner(lr=x)["sr"]
        np.testing.assert_allclose(out, model(x).numpy(), atol=1e-5)  # measured ~2e-7
