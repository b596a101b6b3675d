import numpy as np
import keras
import pytest

from skinsr_tf.networks.layers import count_spectral_norm
from skinsr_tf.networks.presets import get_preset
from skinsr_tf.networks.spsr import build_spsr_generator

TINY = get_preset("spsr", "tiny")


def inputs(n, size, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "sr_input": rng.random((n, size, size, 4)).astype("float32"),
        "grad_input": rng.random((n, size, size, 3)).astype("float32"),
    }


@pytest.mark.parametrize("scale", [4, 8])
def test_outputs_and_ranges(scale):
    size = 4 * scale
    g = build_spsr_generator(**TINY)
    out = g(inputs(2, size))
    assert set(out) == {"sr", "grad"}
    assert tuple(out["sr"].shape) == (2, size, size, 3)
    assert tuple(out["grad"].shape) == (2, size, size, 3)
    sr = np.asarray(out["sr"])
    assert sr.min() >= 0 and sr.max() <= 1
    assert count_spectral_norm(g) == 0


def test_gradient_branch_receives_sr_features():
    c = TINY["base_channels"]
    g = build_spsr_generator(**TINY)
    # after enc2 the gradient branch concatenates the SR branch's 2C features: 4C into enc3
    assert g.get_layer("grad_enc3").kernel.shape[2] == 4 * c
    assert g.get_layer("sr_enc3").kernel.shape[2] == 2 * c
    # after dec2 it concatenates the SR branch's C features: 2C into its output conv
    assert g.get_layer("grad_out").kernel.shape[2] == 2 * c
    # fusion: SR features (C) + gradient-branch features (2C) -> 3x3 conv -> 3
    assert tuple(g.get_layer("fusion_out").kernel.shape) == (3, 3, 3 * c, 3)
    # the SR branch has no output conv of its own
    assert "sr_out" not in [layer.name for layer in g.layers]
    # changing the SR input changes the gradient prediction (information flows across)
    x = inputs(1, 16)
    y = dict(x, sr_input=x["sr_input"][:, ::-1].copy())
    assert not np.allclose(np.asarray(g(x)["grad"]), np.asarray(g(y)["grad"]))


def test_deep_fusion_adds_layers_and_bad_fusion():
    shallow = build_spsr_generator(**TINY)
    deep = build_spsr_generator(fusion="deep", **TINY)
    assert deep.count_params() > shallow.count_params()
    assert deep.get_layer("fusion2").kernel.shape[-1] == TINY["base_channels"]
    with pytest.raises(ValueError, match="fusion"):
        build_spsr_generator(fusion="wide", **TINY)


def test_save_load_round_trip(tmp_path):
    g = build_spsr_generator(fusion="deep", **TINY)
    x = inputs(1, 16, seed=3)
    g.save(tmp_path / "spsr.keras")
    loaded = keras.saving.load_model(tmp_path / "spsr.keras")
    for k in ("sr", "grad"):
        np.testing.assert_array_equal(np.asarray(loaded(x)[k]), np.asarray(g(x)[k]))
