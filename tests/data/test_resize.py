import math

import numpy as np
import pytest

from skinsr_tf.data.resize import imresize, mod_crop, tf_imresize


# ---------------------------------------------------------------- independent reference
def _keys(t):
    t = abs(t)
    if t <= 1:
        return 1.5 * t ** 3 - 2.5 * t ** 2 + 1
    if t <= 2:
        return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
    return 0.0


def _mirror(i, n):
    """0-based index i folded into [0, n) with MATLAB's symmetric rule (edge repeated)."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def _ref_resize_1d(sig, scale):
    """Per-output-pixel loop with explicit kernel evaluation (MATLAB imresize algorithm)."""
    n = len(sig)
    m = int(math.ceil(n * scale - 1e-9))
    k = 1.0 / scale if scale < 1 else 1.0  # kernel stretch
    out = np.zeros(m)
    for x in range(m):
        centre = (x + 0.5) / scale - 0.5  # 0-based input coordinate of output pixel x
        lo, hi = int(math.floor(centre - 2 * k)), int(math.ceil(centre + 2 * k))
        acc = wsum = 0.0
        for j in range(lo, hi + 1):
            w = _keys((centre - j) / k) / k
            acc += w * sig[_mirror(j, n)]
            wsum += w
        out[x] = acc / wsum
    return out


def _ref_imresize(img, scale):
    img = img.astype(np.float64)
    rows = np.stack([_ref_resize_1d(img[:, c], scale) for c in range(img.shape[1])], axis=1)
    return np.stack([_ref_resize_1d(rows[r], scale) for r in range(rows.shape[0])], axis=0)


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 1 / 8, 2, 3, 4, 8])
@pytest.mark.parametrize("shape", [(16, 24), (17, 9)])
def test_imresize_matches_independent_reference(scale, shape):
    rng = np.random.default_rng(int(scale * 100) + shape[0])
    if scale > 1:
        shape = (shape[0] // 2 + 1, shape[1] // 2 + 1)
    img = rng.random(shape)
    ours = imresize(img, scale)
    ref = _ref_imresize(img, scale)
    assert ours.dtype == np.float32
    assert ours.shape == ref.shape == tuple(int(math.ceil(d * scale - 1e-9)) for d in shape)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_known_matlab_half_kernel():
    # MATLAB's x1/2 bicubic taps: 0.5 * cubic(0.5 d), d = +-0.5, +-1.5, ... (sum to 1).
    taps = np.array([-0.01171875, -0.03515625, 0.11328125, 0.43359375,
                     0.43359375, 0.11328125, -0.03515625, -0.01171875])
    sig = np.random.default_rng(0).random(32)
    out = imresize(sig[None, :], 0.5)[0]
    # output pixel 8 (0-based) covers input 16, 17 -> taps on inputs 13..20
    assert abs(out[8] - taps @ sig[13:21]) < 1e-6
    # constant image stays constant (weights normalised, also at the border)
    np.testing.assert_allclose(imresize(np.full((9, 13), 0.3), 1 / 3), 0.3, atol=1e-6)


def test_imresize_uint8_and_channels():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)
    out = imresize(img, 0.25)
    assert out.dtype == np.uint8 and out.shape == (5, 7, 3)
    ref = np.stack([_ref_imresize(img[..., c], 0.25) for c in range(3)], -1)
    assert np.abs(out.astype(float) - ref).max() <= 1.0  # MATLAB rounds after each axis
    up = imresize(img, 2)
    assert up.dtype == np.uint8 and up.shape == (40, 56, 3)
    assert imresize(img.astype(np.float32) / 255, 4).dtype == np.float32


def test_imresize_float_unclipped_overshoot():
    img = np.zeros((8, 8))
    img[:, 4:] = 1.0
    out = imresize(img, 2)
    assert out.max() > 1.0 and out.min() < 0.0  # bicubic ringing is kept for floats


def test_imresize_large_is_fast():
    import time

    img = np.random.default_rng(0).random((1024, 1024, 3)).astype(np.float32)
    t = time.perf_counter()
    out = imresize(img, 0.25)
    assert out.shape == (256, 256, 3)
    assert time.perf_counter() - t < 5.0


def test_imresize_rejects_bad_input():
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), 0)
    with pytest.raises(ValueError):
        imresize(np.zeros((2, 4, 4, 3)), 0.5)


def test_mod_crop():
    img = np.arange(11 * 10 * 3).reshape(11, 10, 3)
    out = mod_crop(img, 4)
    assert out.shape == (8, 8, 3)
    np.testing.assert_array_equal(out, img[:8, :8])
    assert mod_crop(img[..., 0], 3).shape == (9, 9)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_tf_imresize_matches_imresize_downscale(s):
    rng = np.random.default_rng(s)
    hr = rng.random((2, 8 * s, 12 * s, 3)).astype(np.float32)
    out = tf_imresize(hr, 1 / s).numpy()
    ref = np.stack([imresize(h, 1 / s) for h in hr])
    assert out.shape == ref.shape == (2, 8, 12, 3)
    np.testing.assert_allclose(out, ref, atol=1e-4)  # including the border rows/cols


def test_tf_imresize_upscale_and_single_image():
    rng = np.random.default_rng(5)
    lr = rng.random((7, 9, 3)).astype(np.float32)
    out = tf_imresize(lr, 4).numpy()
    np.testing.assert_allclose(out, imresize(lr, 4), atol=1e-4)
    with pytest.raises(ValueError, match="multiple"):
        tf_imresize(rng.random((1, 10, 12, 3)).astype(np.float32), 1 / 4)
    with pytest.raises(ValueError):
        tf_imresize(lr, 2.5)
