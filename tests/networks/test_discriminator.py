import numpy as np
import keras

from skinsr_tf.networks.discriminator import build_patch_discriminator
from skinsr_tf.networks.layers import count_spectral_norm
from skinsr_tf.networks.presets import get_preset


def test_128px_gives_14x14_logits_and_five_activations():
    d = build_patch_discriminator(4, **get_preset("discriminator", "tiny"))
    x = np.random.default_rng(0).random((2, 128, 128, 4)).astype("float32")
    outs = d(x)
    assert isinstance(outs, list) and len(outs) == 5
    c = get_preset("discriminator", "tiny")["base_channels"]
    shapes = [tuple(o.shape) for o in outs]
    assert shapes == [(2, 64, 64, c), (2, 32, 32, 2 * c), (2, 16, 16, 4 * c),
                      (2, 15, 15, 8 * c), (2, 14, 14, 1)]
    # LeakyReLU(0.2) on the first four: negatives are scaled, not zeroed
    first = np.asarray(outs[0])
    assert first.min() < 0
    assert np.asarray(outs[-1]).min() < 0 < np.asarray(outs[-1]).max()  # raw logits


def test_spectral_norm_on_all_and_no_bias():
    d = build_patch_discriminator(3, base_channels=8)
    assert count_spectral_norm(d) == 5
    for i in range(1, 6):
        assert d.get_layer(f"conv{i}").layer.use_bias is False
    assert not any("gamma" in w.path or "beta" in w.path for w in d.weights)


def test_full_param_count():
    d = build_patch_discriminator(4)
    trainable = sum(int(np.prod(w.shape)) for w in d.trainable_weights)
    ref = 16 * (4 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 1)
    assert trainable == ref  # 2,764,800


def test_save_load_round_trip(tmp_path):
    d = build_patch_discriminator(3, base_channels=8)
    x = np.random.default_rng(1).random((1, 32, 32, 3)).astype("float32")
    d(x, training=True)
    d.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    for a, b in zip(loaded(x), d(x)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
