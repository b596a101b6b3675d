"""SRModel: any-size inputs, tiling + blending vs whole image, compact weights, from_pretrained, export."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from skinsr_tf.models import base
from skinsr_tf.models import weights_file
from skinsr_tf.models.base import SRModel


class TinyINSR(SRModel):
    """A tiny deterministic SR net with instance norm (the property that makes tiling inexact)."""

    model_name = "tiny_test"

    def __init__(self, scale=2, preset="tiny", seed=0, **kwargs):
        super().__init__(scale=scale, preset=preset, **kwargs)
        init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
        self.seed = seed
        self.c1 = keras.layers.Conv2D(8, 3, padding="same", kernel_initializer=init(1))
        self.n1 = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)
        self.c2 = keras.layers.Conv2D(8, 3, padding="same", kernel_initializer=init(2))
        self.n2 = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)
        self.up = keras.layers.UpSampling2D(scale)
        self.c3 = keras.layers.Conv2D(3, 3, padding="same", kernel_initializer=init(3))
        self.calls_traced = 0

    def call(self, x, training=False):
        self.calls_traced += 1  # Python side effect: counts traces inside tf.function
        h = keras.ops.relu(self.n1(self.c1(x)))
        h = keras.ops.relu(self.n2(self.c2(h)))
        res = self.c3(self.up(h))
        return keras.ops.clip(self.up(x) + 0.2 * keras.ops.tanh(res), 0.0, 1.0)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class PaddedSR(TinyINSR):
    @property
    def min_input_size(self):
        return 12

    @property
    def input_multiple(self):
        return 4


def smooth_image(h, w, seed=0):
    """A textured, smooth uint8 RGB image (sum of random low-frequency sinusoids)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for _ in range(12):
        fy, fx = rng.uniform(-0.25, 0.25, 2)
        img += rng.uniform(0, 1, 3) * np.sin(fy * yy + fx * xx + rng.uniform(0, 6.3))[..., None]
    img = (img - img.min()) / (img.max() - img.min())
    return np.round(img * 255).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def test_any_input_kind_gives_uint8_rgb_of_scaled_size(tmp_path):
    model = TinyINSR(scale=2)
    rgb = smooth_image(20, 26)
    ref = model.super_resolve(rgb)
    assert ref.shape == (40, 52, 3) and ref.dtype == np.uint8
    Image.fromarray(rgb).save(tmp_path / "x.png")
    assert np.array_equal(model.super_resolve(tmp_path / "x.png"), ref)
    assert np.array_equal(model.super_resolve(str(tmp_path / "x.png")), ref)
    assert np.array_equal(model.super_resolve(Image.fromarray(rgb)), ref)
    rgba = np.concatenate([rgb, np.full((20, 26, 1), 7, np.uint8)], -1)
    assert np.array_equal(model.super_resolve(rgba), ref)
    assert model.super_resolve(rgb[..., 0]).shape == (40, 52, 3)
    assert model.super_resolve(rgb.astype(np.uint16) * 257).shape == (40, 52, 3)


def test_small_and_odd_inputs_are_padded_and_cropped_back():
    model = PaddedSR(scale=2)
    for h, w in [(1, 1), (3, 5), (13, 7), (16, 18)]:
        out = model.super_resolve(smooth_image(h, w, seed=h))
        assert out.shape == (2 * h, 2 * w, 3)
    # Padding must not change the visible part much: a 13x17 image equals the crop of its
    # reflect-padded 16x20 version (what the model actually sees).
    img = smooth_image(13, 17)
    padded = np.pad(img, ((0, 3), (0, 3), (0, 0)), mode="reflect")
    assert np.array_equal(model.super_resolve(img), model.super_resolve(padded)[:26, :34])


def test_blend_ramps_are_a_partition_of_unity():
    ramp = base._blend_ramp(40, 12)
    assert ramp[:3].max() == 0 and ramp[3] > 0 and ramp[12:28].min() == 1.0
    np.testing.assert_allclose(ramp[-12:] + ramp[:12], 1.0, atol=1e-6)
    assert base._tile_starts(100, 40, 10) == [0, 30, 60]
    assert base._tile_starts(30, 40, 10) == [0]


def test_tiled_output_matches_whole_image_and_has_no_seams():
    model = TinyINSR(scale=2)
    lr = smooth_image(96, 96, seed=3)
    whole = model.super_resolve(lr, tile_size=0)
    model.calls_traced = 0
    tiled = model.super_resolve(lr, tile_size=64, tile_overlap=16, batch_size=3)
    # 4 tiles in 2 batches of one fixed shape (the last one zero-filled): exactly one trace.
    assert model.calls_traced == 1
    # Instance norm sees per-tile statistics, so tiles cannot equal the whole image exactly;
    # measured 38.5 dB with this net, image and tiling (31.8 dB with 40 px tiles, 27.4 dB with
    # hard 48 px tiles). Real photos and trained nets, whose output is mostly the image itself, do better.
    assert psnr(tiled, whole) > 35.0

    # Seams: the mean horizontal/vertical jump at tile borders vs everywhere else.
    starts = base._tile_starts(96, 64, 16)
    borders = sorted({2 * s for s in starts[1:]} | {2 * (s + 64) - 1 for s in starts[:-1]})

    def jump_ratio(img):
        g = img.astype(np.float64)
        gx = np.abs(np.diff(g, axis=1)).mean(axis=(0, 2))
        gy = np.abs(np.diff(g, axis=0)).mean(axis=(1, 2))
        at = np.mean([gx[b - 1] for b in borders] + [gy[b - 1] for b in borders])
        return at / np.mean(np.concatenate([gx, gy]))

    # Measured: 0.657 tiled vs 0.661 whole (the border rows/columns happen to be calm ones).
    assert jump_ratio(tiled) / jump_ratio(whole) < 1.1
    # Without overlap (hard tile borders) the error is larger than with blending.
    hard = model.super_resolve(lr, tile_size=48, tile_overlap=0)
    assert psnr(tiled, whole) > psnr(hard, whole)


def test_auto_tiling_kicks_in_for_large_outputs(monkeypatch):
    model = TinyINSR(scale=2).build_for_inference()
    monkeypatch.setattr(TinyINSR, "max_whole_pixels", 64 * 64)
    monkeypatch.setattr(TinyINSR, "default_tile_size", 24)
    lr = smooth_image(48, 40)
    model.calls_traced = 0
    out = model.super_resolve(lr)
    assert out.shape == (96, 80, 3)
    assert model.calls_traced == 1  # traced once on the (4, 24, 24, 3) tile batch
    whole = model.super_resolve(lr, tile_size=0)
    assert 25.0 < psnr(out, whole) < np.inf  # tiles were used (tiny 24 px ones: measured 28 dB)


def test_default_tiling_of_a_large_image_matches_the_whole_image():
    """No tile arguments, real thresholds: an output over `max_whole_pixels` is tiled with the
    default overlap, and blending keeps it as close to the whole image as explicit overlap does."""
    model = TinyINSR(scale=4).build_for_inference()
    lr = smooth_image(264, 264, seed=5)  # 1056^2 output > 1024^2: tiled by default
    assert 264 * 264 * 16 > model.max_whole_pixels
    whole = model.super_resolve(lr, tile_size=0)
    auto = model.super_resolve(lr)
    # Measured 42.3 dB with the default quarter-tile overlap; 31.1 dB without overlap (seams).
    assert 35.0 < psnr(auto, whole) < np.inf


def test_tile_batch_defaults_to_the_models_and_full_spsr_uses_one(monkeypatch):
    from skinsr_tf import SPSR

    model = TinyINSR(scale=2).build_for_inference()
    batches = []
    real_predict = model._predict
    monkeypatch.setattr(model, "_predict", lambda b: (batches.append(b.shape[0]), real_predict(b))[1])
    model.default_tile_batch = 3
    model.super_resolve(smooth_image(48, 48), tile_size=24)
    assert set(batches) == {3}
    batches.clear()
    model.super_resolve(smooth_image(48, 48), tile_size=24, batch_size=2)
    assert set(batches) == {2}
    assert SPSR.default_tile_batch == 4  # the class default; the full preset lowers it for memory
    full, small = SPSR(scale=4, preset="full"), SPSR(scale=4, preset="tiny")
    assert (full.default_tile_batch, full.max_whole_pixels) == (1, 512 * 512)
    assert (small.default_tile_batch, small.max_whole_pixels) == (4, 1024 * 1024)


def test_shipped_weights_roundtrip_and_from_pretrained(tmp_path, monkeypatch):
    model = TinyINSR(scale=2, seed=5).build_for_inference()
    path = model.save_weights(tmp_path / "tiny_test_x2.shipped.h5", kind="shipped")
    attrs, arrays = weights_file.read(path)
    assert attrs["kind"] == "shipped" and all(a.dtype == np.float16 for a in arrays.values())
    assert len(arrays) == len(model.weights)
    other = TinyINSR(scale=2, seed=9).build_for_inference()
    other.load_weights(path)
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-3, rtol=1e-3)
        assert b.numpy().dtype == np.float32

    (tmp_path / "tiny_test_x2.json").write_text(json.dumps(
        {"model": "tiny_test", "model_kwargs": {"preset": "tiny", "seed": 9},
         "weights_dtype": "float16", "trained_on": "test", "command": "pytest"}))
    lr = smooth_image(16, 16)
    loaded = TinyINSR.from_pretrained(scale=2, weights_dir=tmp_path)
    assert loaded.scale == 2 and loaded.seed == 9
    assert np.abs(loaded.super_resolve(lr).astype(int) - model.super_resolve(lr).astype(int)).max() <= 1
    monkeypatch.setenv(base.WEIGHTS_ENV, str(tmp_path))
    assert TinyINSR.from_pretrained(scale=2, preset="tiny").preset == "tiny"

    with pytest.raises(FileNotFoundError, match=r"tiny_test_x4.*shipped: tiny_test_x2"):
        TinyINSR.from_pretrained(scale=4)
    with pytest.raises(FileNotFoundError, match="tiny_test_x2"):
        TinyINSR.from_pretrained(scale=2, preset="full")  # the shipped file is the tiny preset
    with pytest.raises(FileNotFoundError, match="tiny_test_x2_realistic"):
        TinyINSR.from_pretrained(scale=2, degradation="realistic")  # no fallback to bicubic weights
    other.save_weights(tmp_path / "tiny_test_x2_realistic.shipped.h5", kind="shipped")
    (tmp_path / "tiny_test_x2_realistic.json").write_text(json.dumps(
        {"model": "tiny_test", "model_kwargs": {"preset": "tiny", "seed": 1}}))
    realistic = TinyINSR.from_pretrained(scale=2, degradation="realistic")
    assert realistic.seed == 1 and np.array_equal(realistic.weights[0].numpy(), other.weights[0].numpy())
    assert TinyINSR.from_pretrained(scale=2, degradation="bicubic").seed == 9
    wrong = PaddedSR(scale=2)
    wrong.c1 = keras.layers.Conv2D(4, 3, padding="same")
    wrong.build_for_inference()
    with pytest.raises(ValueError, match="tiny_test_x2.shipped.h5.*model/c1/kernel has shape"):
        wrong.load_weights(path)


def test_export_saved_model_and_tflite_match_keras(tmp_path):
    import tensorflow as tf

    model = TinyINSR(scale=2).build_for_inference()
    lr = smooth_image(20, 28).astype(np.float32)[None] / 255.0
    ref = model(lr).numpy()

    sm = model.export(tmp_path / "sm", verbose=False)
    serve = tf.saved_model.load(str(sm)).signatures["serving_default"]
    out = serve(lr=tf.constant(lr))["sr"].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)  # same TF kernels: float32 rounding only

    # Keras' UpSampling2D (tile + reshape) hides the channel count from the converter at dynamic
    # sizes: builtin conversion fails with a clear message; a fixed input_shape converts.
    with pytest.raises(ValueError, match="input_shape"):
        model.export(tmp_path / "dyn.tflite", format="tflite")
    tfl = model.export(tmp_path / "tiny", format="tflite", input_shape=lr.shape[1:3])
    assert tfl.suffix == ".tflite"
    out = run_tflite(tfl, lr)
    # TFLite's own float32 conv / mean kernels sum in another order: measured max 2e-6.
    np.testing.assert_allclose(out, ref, atol=1e-4)


def run_tflite(path, x):
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    inp = interp.get_input_details()[0]
    interp.resize_tensor_input(inp["index"], x.shape)
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_edge_informed_tiny_exports_to_saved_model(tmp_path):
    """The real two-stage model (TF-op Canny, dilation, two generators) serves at any LR size."""
    import tensorflow as tf

    from skinsr_tf.models.edge_informed import EdgeInformedSR

    model = EdgeInformedSR(scale=4, preset="tiny").build_for_inference()
    serve = tf.saved_model.load(str(model.export(tmp_path / "sm", verbose=False))).signatures["serving_default"]
    for shape in [(1, 16, 20, 3), (1, 12, 12, 3)]:
        lr = np.random.default_rng(0).random(shape, dtype=np.float32)
        np.testing.assert_allclose(serve(lr=tf.constant(lr))["sr"].numpy(), model(lr).numpy(), atol=1e-5)


@pytest.mark.parametrize("name", ["edge_sisr", "spsr"])
def test_gan_models_tiny_export_to_tflite_builtins(name, tmp_path):
    """TF-op Canny (a WHILE loop), zero-stuffing, nearest enlargement and the generators convert
    to TFLite builtin ops, at a fixed or any LR size, and TFLite reproduces Keras."""
    from skinsr_tf.models.edge_informed import EdgeInformedSR
    from skinsr_tf.models.spsr import SPSR

    cls = {"edge_sisr": EdgeInformedSR, "spsr": SPSR}[name]
    model = cls(scale=4, preset="tiny").build_for_inference()
    # Noise: Canny finds edges in it both at LR (edge_sisr: 17 px) and nearest-enlarged (spsr:
    # 612 px); the smooth test images have none at this size.
    lr = np.random.default_rng(0).random((1, 12, 16, 3), dtype=np.float32)
    ref = model(lr).numpy()
    tfl = model.export(tmp_path / name, format="tflite", input_shape=lr.shape[1:3])
    out = run_tflite(tfl, lr)
    assert out.shape == (1, 48, 64, 3)
    # Same float32 graph, TFLite's (XNNPACK) conv / instance-norm kernels sum in another order:
    # measured max 1.8e-6 (edge_sisr) and 6.6e-7 (spsr). One Canny pixel flipped by a threshold
    # moves the output by 0.14 (edge_sisr, LR edge) / 0.07 (spsr) (measured), so 1e-4 also checks
    # that TFLite's Canny agrees pixel for pixel.
    np.testing.assert_allclose(out, ref, atol=1e-4)
    # Without input_shape the TFLite model takes any LR size (padding inside, as in Keras).
    dynamic = model.export(tmp_path / f"{name}_any", format="tflite")
    for shape in ((1, 20, 24, 3), (1, 5, 7, 3)):
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        np.testing.assert_allclose(run_tflite(dynamic, x), model(x).numpy(), atol=1e-4)


def test_ensemble_is_the_mean_of_the_8_flipped_and_rotated_passes():
    model = TinyINSR(scale=2).build_for_inference()
    lr = smooth_image(20, 28)
    passes = []
    for flip in (False, True):
        for k in range(4):
            t = np.rot90(lr[:, ::-1] if flip else lr, k)
            out = np.rot90(model._sr_float(t.astype(np.float32) / 255), -k)
            passes.append(out[:, ::-1] if flip else out)
    expected = np.clip(np.rint(np.mean(passes, axis=0) * 255), 0, 255)
    got = model.super_resolve(lr, ensemble=True)
    assert got.shape == (40, 56, 3)
    assert np.abs(got.astype(np.float64) - expected).max() <= 1  # float32 running mean vs mean
    assert np.mean(got != expected) < 0.01
    plain = model.super_resolve(lr)
    assert np.abs(plain.astype(int) - got).max() > 2  # the passes differ: the ensemble is not a no-op
    mean, spread = model.self_ensemble(lr)
    assert spread.shape == (40, 56)
    assert np.allclose(spread, np.sqrt(np.mean(np.var(passes, axis=0), axis=2)), atol=1e-5)
