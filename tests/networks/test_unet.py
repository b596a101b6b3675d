import numpy as np
import keras
import pytest

from skinsr_tf.networks.presets import get_preset
from skinsr_tf.networks.unet import build_unet
from skinsr_tf.networks.unetpp import build_unetpp


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_unet_shapes_and_range(scale):
    m = build_unet(scale, **get_preset("unet", "tiny"))
    y = np.asarray(m(np.random.default_rng(0).random((2, 16, 32, 3)).astype("float32")))
    assert y.shape == (2, 16 * scale, 32 * scale, 3)
    assert y.min() >= 0 and y.max() <= 1


def test_unet_structure_matches_lu_chen():
    m = build_unet(4, base_channels=64)
    enc = [m.get_layer(f"enc{i}").filters for i in range(5)]
    assert enc == [64, 128, 256, 512, 512]
    # early upsampling: HR-resolution skips from the first LR features, used by the final up blocks
    assert m.get_layer("early_up1").input.shape[-1] == 64
    assert m.get_layer("hr2_concat").input[1] is m.get_layer("early_up2").output
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in m.layers)


@pytest.mark.parametrize("scale", [4, 8])
def test_unetpp_shapes_and_deep_supervision(scale):
    kw = get_preset("unetpp", "tiny")
    x = np.random.default_rng(1).random((1, 16, 16, 3)).astype("float32")
    y = build_unetpp(scale, **kw)(x)
    assert tuple(y.shape) == (1, 16 * scale, 16 * scale, 3)
    ys = build_unetpp(scale, deep_supervision=True, **kw)(x)
    assert isinstance(ys, list) and len(ys) == 4
    for t in ys:
        assert tuple(t.shape) == (1, 16 * scale, 16 * scale, 3)
        assert 0 <= float(np.min(t)) and float(np.max(t)) <= 1


def test_unetpp_nested_skips_and_halved_channels():
    m = build_unetpp(2, base_channels=32)
    assert [m.get_layer(f"x{i}_0_conv1").filters for i in range(5)] == [32, 64, 128, 256, 256]
    # X(0,3) = block(concat[X(0,0), X(0,1), X(0,2), up(X(1,2))]): 4 x 32 channels
    assert m.get_layer("x0_3_conv1").kernel.shape[2] == 4 * 32
    assert m.get_layer("x0_3_conv2").kernel.shape[:3] == (3, 3, 32)


def test_bad_scale():
    for bad in (3, 1, 6):
        with pytest.raises(ValueError, match="power of two"):
            build_unet(bad, base_channels=4)
        with pytest.raises(ValueError, match="power of two"):
            build_unetpp(bad, base_channels=4)


def test_save_load_round_trip(tmp_path):
    m = build_unetpp(2, base_channels=4, deep_supervision=True)
    x = np.random.default_rng(2).random((1, 16, 16, 3)).astype("float32")
    m.save(tmp_path / "unetpp.keras")
    loaded = keras.saving.load_model(tmp_path / "unetpp.keras")
    for a, b in zip(loaded(x), m(x)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
