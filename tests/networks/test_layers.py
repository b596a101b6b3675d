import numpy as np
import keras
import pytest

from skinsr_tf.networks.layers import (
    BilinearUpSampling2D,
    ReflectionPadding2D,
    ScaledTanh,
    conv,
    instance_norm,
    residual_block,
)


def test_reflection_padding_equals_np_pad_reflect():
    x = np.random.default_rng(0).random((2, 5, 7, 3)).astype("float32")
    for pad in (1, 3, ((1, 2), (3, 0))):
        layer = ReflectionPadding2D(pad)
        pp = ((pad, pad), (pad, pad)) if isinstance(pad, int) else pad
        ref = np.pad(x, ((0, 0), pp[0], pp[1], (0, 0)), mode="reflect")
        np.testing.assert_array_equal(np.asarray(layer(x)), ref)
        assert layer.compute_output_shape((None, 5, None, 3)) == (None, 5 + sum(pp[0]), None, 3)


def test_reflection_padding_config_round_trip_and_bad_padding():
    layer = ReflectionPadding2D(((1, 2), (0, 3)), name="p")
    clone = ReflectionPadding2D.from_config(layer.get_config())
    assert clone.padding == ((1, 2), (0, 3))
    with pytest.raises(ValueError, match="padding"):
        ReflectionPadding2D(-1)


def test_instance_norm_equals_numpy_reference():
    x = np.random.default_rng(1).normal(3.0, 2.0, (2, 6, 5, 4)).astype("float32")
    y = np.asarray(instance_norm()(x))
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)  # biased, as torch InstanceNorm2d
    ref = (x - mean) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_instance_norm_has_no_weights():
    layer = instance_norm()
    layer.build((None, 4, 4, 6))
    assert layer.weights == []


def test_transposed_conv_same_equals_torch_padding_1():
    """Keras 'same' conv-transpose 4x4 s2 == full transpose cropped 1 per side (torch padding=1)."""
    x = np.random.default_rng(2).random((1, 5, 6, 3)).astype("float32")
    same = conv(2, 4, strides=2, transpose=True, padding="same")
    y_same = np.asarray(same(x))
    valid = conv(2, 4, strides=2, transpose=True, padding="valid")
    valid.build(x.shape)
    valid.set_weights(same.get_weights())
    y_full = np.asarray(valid(x))
    assert y_same.shape == (1, 10, 12, 2)
    np.testing.assert_allclose(y_same, y_full[:, 1:-1, 1:-1], atol=1e-6)


def test_conv_init_and_spectral_norm_wrapper():
    layer = conv(64, 3, sn=True, use_bias=False, name="c")
    assert isinstance(layer, keras.layers.SpectralNormalization)
    assert layer.layer.name == "c_conv"
    plain = conv(64, 3, name="p")
    plain.build((None, 8, 8, 32))
    k, b = plain.get_weights()
    assert abs(k.std() - 0.02) < 0.003 and abs(k.mean()) < 0.002
    assert np.all(b == 0)


def test_residual_block_shape_and_identity_path():
    inp = keras.Input((None, None, 8))
    out = residual_block(inp, 8, dilation=2, name="r")
    model = keras.Model(inp, out)
    x = np.random.default_rng(3).random((1, 8, 8, 8)).astype("float32")
    y = np.asarray(model(x))
    assert y.shape == x.shape
    # the block adds IN(conv(...)) to its input: the residual is zero-mean per channel
    np.testing.assert_allclose((y - x).mean(axis=(1, 2)), 0.0, atol=1e-5)


def test_scaled_tanh_range():
    y = np.asarray(ScaledTanh()(np.array([-50.0, 0.0, 50.0], "float32")))
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0], atol=1e-6)


def test_spectral_norm_stays_float32_under_mixed_precision():
    """The power iteration and the kernel it writes back keep float32 under mixed_float16:
    autocast used to round the master kernel to float16 at every training call, and a kernel
    whose float16 norm underflows turned into NaN (Keras' 1/epsilon bound overflows float16)."""
    from skinsr_tf.networks.discriminator import build_patch_discriminator

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        disc = build_patch_discriminator(3, base_channels=8)
        x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
        disc(x, training=True)
        kernel = disc.get_layer("conv2").kernel.numpy()
        assert not np.array_equal(kernel, kernel.astype(np.float16).astype(np.float32))
        small = disc.get_layer("conv3")
        small.kernel.assign(small.kernel * 1e-4)
        outputs = disc(x, training=True)
        assert outputs[0].dtype == "float16" and outputs[-1].dtype == "float32"
        assert all(np.all(np.isfinite(o.numpy())) for o in outputs)
        assert np.all(np.isfinite(small.kernel.numpy()))
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_bilinear_upsampling_equals_tf_image_resize_on_any_size():
    import tensorflow as tf

    x = np.random.default_rng(0).random((2, 7, 9, 3)).astype("float32")
    expected = tf.image.resize(x, (14, 18), "bilinear").numpy()  # half-pixel centres, clamped edges
    np.testing.assert_allclose(np.asarray(BilinearUpSampling2D()(x)), expected, atol=1e-6)
    layer = BilinearUpSampling2D()
    dynamic = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 3))])
    np.testing.assert_allclose(dynamic(x).numpy(), expected, atol=1e-6)  # unknown H, W in a graph
    assert layer.compute_output_shape((None, None, 5, 3)) == (None, None, 10, 3)


def test_blur2d_is_the_separable_121_filter_with_reflection():
    from skinsr_tf.networks.layers import Blur2D

    x = np.random.default_rng(1).random((2, 6, 7, 3)).astype("float32")
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    k = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    expected = sum(k[i, j] * padded[:, i:i + 6, j:j + 7] for i in range(3) for j in range(3))
    np.testing.assert_allclose(np.asarray(Blur2D()(x)), expected, atol=1e-6)
