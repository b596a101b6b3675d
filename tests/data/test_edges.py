import numpy as np
import pytest
import skimage.data
import tensorflow as tf
from scipy import ndimage as ndi
from skimage.color import rgb2gray
from skimage.feature import canny as sk_canny

from skinsr_tf.data.edges import (RGB2GRAY_SKIMAGE, canny, canny_np_batch, canny_tf, dilate_lr,
                                  gradient_map, nearest_upsample, sobel_gradient_map, to_grey)
from skinsr_tf.data.synthetic import generate_skin_image


def _f1(a, b):
    a, b = a > 0.5, b > 0.5
    tp = np.sum(a & b)
    return 2 * tp / (a.sum() + b.sum())


def test_canny_reference_is_skimage():
    img = skimage.data.chelsea()[:96, :128]
    ref = sk_canny(rgb2gray(img), sigma=2).astype(np.float32)
    out = canny(img)
    assert out.dtype == np.float32 and out.shape == (96, 128)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(canny(img.astype(np.float64) / 255), ref)  # float input
    batch = canny_np_batch(np.stack([img, img[::-1]]).astype(np.float32) / 255)
    assert batch.shape == (2, 96, 128, 1)
    np.testing.assert_array_equal(batch[1, ..., 0], canny(img[::-1]))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "skin0", "skin3"])
def test_canny_tf_agrees_with_skimage(name):
    if name.startswith("skin"):
        img = generate_skin_image(192, 160, seed=int(name[-1]))
    else:
        img = getattr(skimage.data, name)()[..., :3]
    ref = canny(img)
    ours = canny_tf(img[None].astype(np.float32) / 255.0).numpy()[0, ..., 0]
    assert set(np.unique(ours)) <= {0.0, 1.0}
    assert ref.sum() > 100
    assert _f1(ours, ref) >= 0.98  # measured: 1.000 on all of these (<= 1 pixel differs)


def test_canny_tf_graph_dynamic_shape_and_bounded_hysteresis():
    img = generate_skin_image(64, 80, seed=2).astype(np.float32)[None] / 255

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def f(x):
        return canny_tf(x)

    full = f(tf.constant(img)).numpy()
    np.testing.assert_array_equal(full[0, ..., 0], canny(img[0]))
    strong_only = canny_tf(img, max_hysteresis_iters=0).numpy()
    assert strong_only.sum() <= full.sum() and np.all(strong_only <= full)
    assert canny_tf(img[0]).shape == (64, 80, 1)  # single image


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_canny_tf_hysteresis_is_the_dilation_fixed_point(sigma):
    # Connected components give exactly what dilating strong edges inside the weak mask until
    # nothing changes gives, batched (images do not leak into each other) and at odd sizes.
    rng = np.random.default_rng(0)
    imgs = np.stack([generate_skin_image(70, 53, seed=s) for s in range(3)]).astype(np.float32) / 255
    imgs[2] = rng.random((70, 53, 3))
    fast = canny_tf(imgs, sigma=sigma).numpy()
    slow = canny_tf(imgs, sigma=sigma, max_hysteresis_iters=70 * 53).numpy()
    assert fast.sum() > 100
    np.testing.assert_array_equal(fast, slow)
    for one, batched in zip(imgs, fast):
        np.testing.assert_array_equal(canny_tf(one, sigma=sigma).numpy(), batched)


def test_gradient_map_matches_numpy():
    x = np.random.default_rng(0).random((2, 7, 9, 3)).astype(np.float32)
    p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    gv = p[:, 2:, 1:-1] - p[:, :-2, 1:-1]
    gh = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
    ref = np.sqrt(gv ** 2 + gh ** 2 + 1e-6)
    out = gradient_map(x).numpy()
    assert out.shape == x.shape
    np.testing.assert_allclose(out, ref, atol=1e-6)
    flat = gradient_map(np.full((1, 4, 4, 1), 0.5, np.float32)).numpy()
    np.testing.assert_allclose(flat[0, 1:-1, 1:-1], 1e-3, rtol=1e-4)  # sqrt(1e-6) inside


def test_sobel_gradient_map_matches_scipy():
    x = np.random.default_rng(1).random((1, 8, 6, 2))
    ref = np.stack([np.sqrt(ndi.sobel(x[0, ..., c], 0, mode="constant") ** 2
                            + ndi.sobel(x[0, ..., c], 1, mode="constant") ** 2 + 1e-6)
                    for c in range(2)], -1)[None]
    np.testing.assert_allclose(sobel_gradient_map(x.astype(np.float32)).numpy(), ref, atol=1e-5)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_nearest_upsample_and_dilate_lr(s):
    x = np.random.default_rng(s).random((2, 3, 5, 3)).astype(np.float32)
    up = nearest_upsample(x, s).numpy()
    np.testing.assert_array_equal(up, x.repeat(s, 1).repeat(s, 2))
    d = dilate_lr(x, s).numpy()
    ref = np.zeros((2, 3 * s, 5 * s, 3), np.float32)
    ref[:, ::s, ::s] = x
    assert d.shape == ref.shape
    np.testing.assert_array_equal(d, ref)


def test_dilate_lr_in_graph_with_unknown_size():
    f = tf.function(lambda t: dilate_lr(t, 3),
                    input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
    out = f(tf.ones([1, 2, 2, 1])).numpy()[0, ..., 0]
    assert out.shape == (6, 6) and out.sum() == 4 and out[3, 3] == 1 and out[1, 1] == 0


def test_to_grey():
    x = np.random.default_rng(2).random((1, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(to_grey(x).numpy()[..., 0], x @ np.array([0.299, 0.587, 0.114]),
                               atol=1e-6)
    np.testing.assert_allclose(to_grey(x, RGB2GRAY_SKIMAGE).numpy()[0, ..., 0], rgb2gray(x[0]),
                               atol=1e-6)


@pytest.mark.parametrize("s", [2, 8])
def test_dilate_lr_is_tflite_builtin_at_any_size(s):
    """PAD + DEPTH_TO_SPACE: converts to TFLite builtins with unknown H, W and keeps C static."""
    f = tf.function(lambda t: dilate_lr(t, s), input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    assert f.get_concrete_function().structured_outputs.shape.as_list() == [1, None, None, 3]
    converter = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interp = tf.lite.Interpreter(model_content=converter.convert())
    inp = interp.get_input_details()[0]
    for h, w in [(3, 5), (4, 2)]:
        x = np.random.default_rng(h).random((1, h, w, 3)).astype(np.float32)
        interp.resize_tensor_input(inp["index"], x.shape)
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        out = interp.get_tensor(interp.get_output_details()[0]["index"])
        ref = np.zeros((1, h * s, w * s, 3), np.float32)
        ref[:, ::s, ::s] = x
        np.testing.assert_array_equal(out, ref)
