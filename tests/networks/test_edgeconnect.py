import numpy as np
import keras
import pytest

from skinsr_tf.networks.edgeconnect import build_edgeconnect_generator, edgeconnect_body
from skinsr_tf.networks.layers import count_spectral_norm
from skinsr_tf.networks.presets import get_preset

TINY = get_preset("edgeconnect", "tiny")


def reference_param_count(cin, cout, c=64, blocks=8, sn=False):
    """Parameters of the reference torch EdgeConnect generator (bias-free res convs under SN)."""
    n = cin * 49 * c + c + c * 16 * 2 * c + 2 * c + 2 * c * 16 * 4 * c + 4 * c
    n += blocks * 2 * (4 * c * 9 * 4 * c + (0 if sn else 4 * c))
    n += 4 * c * 16 * 2 * c + 2 * c + 2 * c * 16 * c + c + c * 49 * cout + cout
    return n


@pytest.mark.parametrize("scale", [4, 8])
def test_edge_generator_shape_range_and_spectral_norm(scale):
    size = 8 * scale  # HR size of an 8 px LR patch
    g = build_edgeconnect_generator(4, 1, kind="edge", **TINY)
    x = np.random.default_rng(0).normal(0, 5, (2, size, size, 4)).astype("float32")
    y = np.asarray(g(x))
    assert y.shape == (2, size, size, 1)
    assert y.min() > 0 and y.max() < 1
    # spectral norm on every conv but the last 7x7
    assert count_spectral_norm(g) == 3 + 2 * TINY["num_blocks"] + 2
    assert isinstance(g.get_layer("out"), keras.layers.Conv2D)
    assert g.get_layer("sigmoid").activation is keras.activations.sigmoid


@pytest.mark.parametrize("scale", [4, 8])
def test_sr_generator_shape_range_no_spectral_norm(scale):
    size = 8 * scale
    g = build_edgeconnect_generator(4, 3, kind="sr", **TINY)
    y = np.asarray(g(np.random.default_rng(1).normal(0, 5, (1, size, size, 4)).astype("float32")))
    assert y.shape == (1, size, size, 3)
    assert y.min() >= 0 and y.max() <= 1 and y.std() > 0
    assert count_spectral_norm(g) == 0


def test_spectral_norm_override_and_bad_kind():
    g = build_edgeconnect_generator(4, 3, kind="sr", spectral_norm=True, **TINY)
    assert count_spectral_norm(g) == 3 + 2 * TINY["num_blocks"] + 2
    with pytest.raises(ValueError, match="kind"):
        build_edgeconnect_generator(4, 3, kind="rgb")


def test_non_square_input():
    g = build_edgeconnect_generator(4, 1, **TINY)
    assert g(np.zeros((1, 16, 40, 4), "float32")).shape == (1, 16, 40, 1)


def test_full_param_count_matches_reference():
    g = build_edgeconnect_generator(4, 1, kind="edge")  # 64 ch, 8 blocks
    trainable = sum(int(np.prod(w.shape)) for w in g.trainable_weights)
    assert trainable == reference_param_count(4, 1, sn=True)  # 10,764,225
    g = build_edgeconnect_generator(4, 3, kind="sr")
    trainable = sum(int(np.prod(w.shape)) for w in g.trainable_weights)
    assert trainable == reference_param_count(4, 3, sn=False)  # 10,774,595 (~10.8 M)


def test_body_taps_and_injection():
    inp = keras.Input((16, 16, 4))
    extra = keras.Input((8, 8, 5))
    raw, taps = edgeconnect_body(inp, None, base_channels=4, num_blocks=1, inject={"enc2": extra})
    assert raw is taps["features"]
    assert tuple(taps["enc2"].shape[1:]) == (8, 8, 8)
    assert tuple(taps["enc3"].shape[1:]) == (4, 4, 16)
    assert tuple(taps["dec2"].shape[1:]) == (16, 16, 4)
    with pytest.raises(ValueError, match="inject"):
        edgeconnect_body(inp, 1, base_channels=4, num_blocks=1, inject={"res": extra})


def test_keras_save_load_round_trip(tmp_path):
    g = build_edgeconnect_generator(4, 1, kind="edge", **TINY)
    x = np.random.default_rng(2).random((1, 32, 32, 4)).astype("float32")
    g(x, training=True)  # one spectral-norm update so the saved state is non-trivial
    path = tmp_path / "edge.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(g(x)))


@pytest.mark.parametrize("upsample", ["resize", "bilinear"])
@pytest.mark.parametrize("kind,out", [("sr", 3), ("edge", 1)])
def test_resize_upsampling_paints_no_period_4_pattern(kind, out, upsample):
    """Untrained generators on noise: the 4x4 s2 transposed convs give each of the 4x4 output
    phases its own sub-kernel, so the per-phase means of the output differ (a period-4 grid:
    about half its standard deviation); nearest / bilinear x2 + conv 3x3 leaves them nearly equal."""
    x = np.random.default_rng(0).random((1, 128, 128, 4)).astype("float32")

    def phase_amplitude(upsample):
        keras.utils.set_random_seed(0)
        g = build_edgeconnect_generator(4, out, kind=kind, upsample=upsample, **TINY)
        y = np.asarray(g(x))[0, 8:-8, 8:-8].mean(axis=-1)
        return y.reshape(y.shape[0] // 4, 4, y.shape[1] // 4, 4).mean(axis=(0, 2)).std()

    transpose = phase_amplitude("transpose")  # sr 0.036, edge 0.019
    assert transpose > 0.01
    assert phase_amplitude(upsample) < transpose / 5  # resize: sr 0.0028, edge 0.0025


@pytest.mark.parametrize("upsample,interpolation", [("resize", "nearest"), ("bilinear", "bilinear")])
def test_resize_upsampling_layers_and_bad_mode(upsample, interpolation):
    g = build_edgeconnect_generator(4, 1, kind="edge", upsample=upsample, **TINY)
    assert g(np.zeros((1, 16, 40, 4), "float32")).shape == (1, 16, 40, 1)
    assert g.get_layer(f"dec1_{interpolation}").count_params() == 0
    assert count_spectral_norm(g) == 3 + 2 * TINY["num_blocks"] + 2  # the 3x3 convs keep SN
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in g.layers)
    with pytest.raises(ValueError, match="edgeconnect_body: upsample must be one of"):
        build_edgeconnect_generator(4, 1, upsample="bicubic", **TINY)


def test_antialias_makes_the_encoder_blind_to_the_sampling_phase():
    """A checkerboard and the same shifted by one pixel: stride-2 sampling sees opposite phases
    of it, so the plain encoder's features differ; blurred first ([1, 2, 1]), they are the same."""
    i, j = np.mgrid[:32, :32]
    board = (0.5 + 0.25 * (-1.0) ** (i + j))[None, ..., None].repeat(4, -1).astype("float32")
    shifted = np.roll(board, 1, axis=2)  # even width: still a checkerboard, opposite phase

    def enc2(antialias):
        keras.utils.set_random_seed(0)
        inp = keras.Input((None, None, 4))
        _, taps = edgeconnect_body(inp, None, base_channels=4, num_blocks=1, antialias=antialias)
        model = keras.Model(inp, taps["enc2"])
        a, b = np.asarray(model(board)), np.asarray(model(shifted))
        return np.abs(a - b)[:, 2:-2, 2:-2].max()

    assert enc2(False) > 1e-2
    assert enc2(True) < 1e-5
    g = build_edgeconnect_generator(4, 1, antialias=True, **TINY)
    plain = build_edgeconnect_generator(4, 1, **TINY)
    assert g.count_params() == plain.count_params()  # the blur has no weights
    assert {"enc2_blur", "enc3_blur"} <= {layer.name for layer in g.layers}
