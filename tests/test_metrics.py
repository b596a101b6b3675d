"""Metrics against independent float64 NumPy/SciPy implementations written here."""

import numpy as np
import pytest
from scipy import ndimage, signal
from skimage import data, filters

from skinsr_tf import metrics


# ----------------------------------------------------------------------------- references
def ref_y(img):
    x = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def ref_psnr(a, b, c):
    ya, yb = ref_y(a)[c:-c or None, c:-c or None], ref_y(b)[c:-c or None, c:-c or None]
    return 10 * np.log10(255.0 ** 2 / np.mean((ya - yb) ** 2))


def ref_ssim(a, b, c):
    """Wang et al. with a 2-D Gaussian window and scipy.signal.convolve2d 'valid'."""
    ya, yb = ref_y(a)[c:-c or None, c:-c or None], ref_y(b)[c:-c or None, c:-c or None]
    ax = np.arange(11) - 5.0
    w = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * 1.5 ** 2))
    w /= w.sum()
    f = lambda z: signal.convolve2d(z, w, mode="valid")  # noqa: E731 (window is symmetric)
    mu_a, mu_b = f(ya), f(yb)
    saa, sbb, sab = f(ya * ya) - mu_a ** 2, f(yb * yb) - mu_b ** 2, f(ya * yb) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def ref_lapvar(img):
    x = img.astype(np.float64) if img.dtype == np.uint8 else img.astype(np.float64) * 255
    g = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    p = np.pad(g, 1, mode="reflect")  # numpy 'reflect' == OpenCV BORDER_REFLECT_101
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]
    return lap.var()


@pytest.fixture(scope="module")
def pair():
    hr = data.astronaut()[100:164, 180:260]  # 64x80, real photo texture
    rng = np.random.default_rng(0)
    sr = np.clip(hr.astype(int) + rng.integers(-12, 13, hr.shape), 0, 255).astype(np.uint8)
    return sr, hr


@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_ssim_match_reference(pair, crop):
    sr, hr = pair
    assert metrics.psnr_y(sr, hr, crop) == pytest.approx(ref_psnr(sr, hr, crop), abs=1e-4)
    assert metrics.ssim_y(sr, hr, crop) == pytest.approx(ref_ssim(sr, hr, crop), abs=1e-5)


def test_float_input_and_batch(pair):
    sr, hr = pair
    single = metrics.psnr_y(sr, hr, 2)
    assert isinstance(single, float)
    assert metrics.psnr_y(sr / 255.0, hr / 255.0, 2) == pytest.approx(single, abs=1e-9)
    batch_sr = np.stack([sr, hr, sr[::-1, ::-1]])
    batch_hr = np.stack([hr, hr, hr[::-1, ::-1]])
    p = metrics.psnr_y(batch_sr, batch_hr, 2)
    s = metrics.ssim_y(batch_sr, batch_hr, 2)
    assert p.shape == (3,) and s.shape == (3,)
    assert p[0] == pytest.approx(single) and p[2] == pytest.approx(single)
    assert np.isinf(p[1]) and s[1] == pytest.approx(1.0)
    assert s[0] == pytest.approx(ref_ssim(sr, hr, 2), abs=1e-5)


def test_identical_is_inf_and_one(pair):
    _, hr = pair
    assert metrics.psnr_y(hr, hr) == np.inf
    assert metrics.ssim_y(hr, hr) == pytest.approx(1.0, abs=1e-12)


def test_bad_inputs_raise(pair):
    sr, hr = pair
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.psnr_y(sr[:-1], hr)
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.ssim_y(sr, hr[..., :3][:, :-2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.psnr_y(sr.astype(np.float32), hr.astype(np.float32))
    with pytest.raises(ValueError, match="RGB"):
        metrics.psnr_y(sr[..., 0], hr[..., 0])
    with pytest.raises(ValueError, match="crop_border"):
        metrics.psnr_y(sr, hr, crop_border=40)


def test_laplacian_variance_reference(pair):
    sr, hr = pair
    assert metrics.laplacian_variance(hr) == pytest.approx(ref_lapvar(hr), rel=1e-10)
    assert metrics.laplacian_variance(hr / 255.0) == pytest.approx(ref_lapvar(hr), rel=1e-10)
    both = metrics.laplacian_variance(np.stack([sr, hr]))
    assert both.shape == (2,) and both[0] == pytest.approx(ref_lapvar(sr), rel=1e-10)
    # A blurred image is less sharp: the focus measure must drop.
    blurred = (filters.gaussian(hr, sigma=2, channel_axis=-1) * 255).round().astype(np.uint8)
    assert metrics.laplacian_variance(blurred) < 0.3 * metrics.laplacian_variance(hr)
    flat = np.full((16, 16, 3), 77, np.uint8)
    assert metrics.laplacian_variance(flat) == 0.0


def test_laplacian_border_is_reflect101():
    # A single bright pixel on the border: reflect-101 mirrors without repeating the edge row.
    img = np.zeros((5, 5, 3), np.uint8)
    img[0, 2] = 255
    g = np.zeros((5, 5))
    g[0, 2] = 255.0
    expected = ndimage.correlate(g, [[0, 1, 0], [1, -4, 1], [0, 1, 0]], mode="mirror").var()
    assert metrics.laplacian_variance(img) == pytest.approx(expected)
    assert metrics.laplacian_variance(img) == pytest.approx(ref_lapvar(img))


# ----------------------------------------------------------------------------- deep metrics
def np_vgg16_lpips_layers(x01, convs):
    """Plain NumPy VGG16 (torchvision layout) on one image, LPIPS input scaling; 5 LPIPS taps."""
    shift = np.array([-0.030, -0.088, -0.188])
    scale = np.array([0.458, 0.448, 0.450])
    h = ((x01.astype(np.float64) * 2 - 1) - shift) / scale
    taps, i = [], 0
    for block, n in enumerate((2, 2, 3, 3, 3)):
        if block:
            hh, ww = h.shape[0] // 2 * 2, h.shape[1] // 2 * 2
            h = h[:hh, :ww].reshape(hh // 2, 2, ww // 2, 2, -1).max(axis=(1, 3))
        for _ in range(n):
            k, b = convs[f"Conv_{i}"]["kernel"].astype(np.float64), convs[f"Conv_{i}"]["bias"]
            p = np.pad(h, ((1, 1), (1, 1), (0, 0)))
            cols = np.stack([p[dy:dy + h.shape[0], dx:dx + h.shape[1]]
                             for dy in range(3) for dx in range(3)], axis=2)  # H,W,9,C
            h = np.maximum(np.tensordot(cols, k.reshape(9, k.shape[2], -1), axes=([2, 3], [0, 1])) + b, 0)
            i += 1
        taps.append(h)
    return taps


def np_lpips(x, y, tree):
    fx = np_vgg16_lpips_layers(x, tree["VGG16_0"])
    fy = np_vgg16_lpips_layers(y, tree["VGG16_0"])
    total = 0.0
    for j, (a, b) in enumerate(zip(fx, fy)):
        na = a / (np.sqrt((a ** 2).sum(-1, keepdims=True)) + 1e-10)
        nb = b / (np.sqrt((b ** 2).sum(-1, keepdims=True)) + 1e-10)
        w = tree[f"NetLinLayer_{j}"]["Conv_0"]["kernel"][0, 0, :, 0]
        total += (((na - nb) ** 2) @ w).mean()
    return total


@pytest.fixture(scope="module")
def photo():
    return data.chelsea()[60:188, 150:278]  # 128x128 crop of a real photo (cat fur: texture)


@pytest.fixture(scope="module")
def lpips():
    return metrics.LPIPS()


def test_lpips_matches_numpy_reference(photo, lpips):
    from skinsr_tf.backbones import load_lpips_checkpoint

    x = photo[:40, :44]
    y = (filters.gaussian(x, sigma=1.2, channel_axis=-1) * 255).round().astype(np.uint8)
    ours = lpips(x, y)
    assert ours > 0
    assert ours == pytest.approx(np_lpips(x / 255.0, y / 255.0, load_lpips_checkpoint()), rel=1e-4, abs=1e-6)
    assert lpips(x, x) == pytest.approx(0.0, abs=1e-7)
    batch = lpips(np.stack([x, y]), np.stack([y, y]))
    assert batch.shape == (2,) and batch[0] == pytest.approx(ours, rel=1e-5) and batch[1] == pytest.approx(0, abs=1e-7)
    with pytest.raises(ValueError, match="differ"):
        lpips(x, y[:-1])


def _distortions(photo):
    rng = np.random.default_rng(0)
    blur = [(filters.gaussian(photo, sigma=s, channel_axis=-1) * 255).round().astype(np.uint8)
            for s in (0.7, 1.5, 3.0)]
    noise = [np.clip(photo / 255.0 + rng.normal(0, s, photo.shape), 0, 1) for s in (0.02, 0.06, 0.15)]
    return blur, noise


def test_lpips_and_vgg16_distance_grow_with_blur_and_noise(photo, lpips):
    dist = metrics.FeatureDistance("vgg16")
    assert "vgg16.ckpt" in dist.weights_source
    blur, noise = _distortions(photo)
    for series in (blur, noise):
        hr = np.stack([photo] * len(series))
        sr = np.stack([s if s.dtype == np.uint8 else (s * 255).round().astype(np.uint8) for s in series])
        lp, fd = lpips(sr, hr), dist(sr, hr)
        assert np.all(np.diff(lp) > 0), lp
        assert np.all(np.diff(fd) > 0), fd
        assert lp[0] > 0 and fd[0] > 0
    assert dist(photo, photo) == 0.0
    assert dist(photo / 255.0, blur[1]) == pytest.approx(dist(photo, blur[1]), rel=1e-4)
    assert dist.features(photo).shape == (1, 512)


def test_resnet50_distance_unavailable_is_helpful(tmp_path, monkeypatch, photo):
    from skinsr_tf.backbones import BackboneUnavailable

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    dist = metrics.FeatureDistance("resnet50")
    with pytest.raises(BackboneUnavailable, match="resnet50_weights"):
        dist(photo, photo)
    with pytest.raises(ValueError, match="backbone"):
        metrics.FeatureDistance("alexnet")


def test_resnet50_distance_random_weights(photo):
    dist = metrics.FeatureDistance("resnet50", weights="random")
    small = photo[:64, :64]
    assert dist.features(small).shape == (1, 2048)
    assert dist(small, small) == 0.0 and dist(small, small[::-1]) > 0


# ----------------------------------------------------------------------------- periodic artefacts, edges
@pytest.mark.parametrize("scale", [4, 8])
def test_periodic_score_finds_a_period_s_grid_and_not_bicubic(scale):
    from skinsr_tf.data.resize import imresize, mod_crop

    hr = mod_crop(data.chelsea(), scale)  # lossless photograph
    yy, xx = np.mgrid[: hr.shape[0], : hr.shape[1]]
    grid = ((yy % scale == 0) | (xx % scale == 0)).astype(np.float64)[..., None]
    stamped = np.clip(hr + 3.0 * grid, 0, 255).astype(np.uint8)  # 3 grey levels, hard to see
    bicubic = imresize(imresize(hr, 1 / scale), scale)
    assert metrics.periodic_artifact_score(hr, hr, scale) == pytest.approx(1.0)
    assert metrics.periodic_artifact_score(stamped, hr, scale) > 3.0
    assert 0.5 < metrics.periodic_artifact_score(bicubic, hr, scale) < 1.6
    # a grid of another period is not what the score looks for
    odd = np.clip(hr + 3.0 * ((yy % (scale + 1) == 0) | (xx % (scale + 1) == 0))[..., None], 0, 255)
    assert metrics.periodic_artifact_score(odd.astype(np.uint8), hr, scale) < 1.6


def test_periodic_energy_batch_and_bad_input():
    hr = data.chelsea()[:64, :64]
    single = metrics.periodic_energy(hr, 4)
    assert metrics.periodic_energy(np.stack([hr, hr]), 4) == pytest.approx([single, single])
    with pytest.raises(ValueError, match="too small for scale 8"):
        metrics.periodic_energy(hr[:24, :24], 8)
    with pytest.raises(ValueError, match="scale must be >= 2"):
        metrics.periodic_energy(hr, 1)


def test_edge_scores():
    ref = np.zeros((8, 8))
    ref[2, :] = 1  # 8 edge pixels
    pred = np.zeros((8, 8))
    pred[2, :4] = 0.9  # 4 right
    pred[5, :4] = 0.7  # 4 wrong
    pred[6, :] = 0.4  # below the threshold
    p, r, f1 = metrics.edge_scores(pred, ref)
    assert (p, r, f1) == pytest.approx((0.5, 0.5, 0.5))
    assert metrics.edge_scores(np.zeros((8, 8)), ref) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.edge_scores(pred[:4], ref)
