import numpy as np
import pytest

from skinsr_tf.losses.pixel import (
    gradient_loss,
    l1_loss,
    mix_ge_loss,
    mse_loss,
    ssim_loss,
)

rng = np.random.default_rng(0)
A = rng.random((2, 16, 16, 3)).astype("float32")
B = np.clip(A + rng.normal(0, 0.1, A.shape), 0, 1).astype("float32")


def test_l1_mse():
    np.testing.assert_allclose(float(l1_loss(A, B)), np.abs(A - B).mean(), rtol=1e-5)
    np.testing.assert_allclose(float(mse_loss(A, B)), ((A - B) ** 2).mean(), rtol=1e-5)


@pytest.mark.parametrize("method", ["central", "sobel"])
@pytest.mark.parametrize("distance", ["l1", "mse"])
def test_gradient_loss_zero_iff_identical(method, distance):
    assert float(gradient_loss(A, A, method, distance)) == 0.0
    assert float(gradient_loss(A, B, method, distance)) > 0.0
    # a constant shift leaves the interior gradients unchanged: far smaller than noise
    shifted = A + 0.1
    assert float(gradient_loss(shifted, A, method, distance)) < float(
        gradient_loss(A, B, method, distance))


def test_central_vs_sobel_reference_values():
    x = np.zeros((1, 5, 5, 1), "float32")
    x[0, :, 3:, 0] = 1.0  # vertical step edge
    y = np.zeros_like(x)
    central = float(gradient_loss(x, y, "central", "l1"))
    sobel = float(gradient_loss(x, y, "sobel", "l1"))
    # hand computation with zero padding, magnitude sqrt(g^2 + 1e-6)
    xp = np.pad(x[0, :, :, 0], 1)
    gv = xp[2:, 1:-1] - xp[:-2, 1:-1]
    gh = xp[1:-1, 2:] - xp[1:-1, :-2]
    ref_c = np.mean(np.sqrt(gv**2 + gh**2 + 1e-6) - np.sqrt(1e-6))
    np.testing.assert_allclose(central, ref_c, rtol=1e-4)
    assert sobel > central  # Sobel weights 1-2-1 amplify the same edge


def test_bad_names():
    with pytest.raises(ValueError, match="gradient method"):
        gradient_loss(A, B, "laplace")
    with pytest.raises(ValueError, match="distance"):
        gradient_loss(A, B, "central", "l2")


def test_mix_ge():
    base = float(mse_loss(A, B))
    grad = float(gradient_loss(A, B, "sobel", "mse"))
    np.testing.assert_allclose(float(mix_ge_loss(A, B, lambda_g=0.5)), base + 0.5 * grad, rtol=1e-5)
    assert float(mix_ge_loss(A, A)) == 0.0


def test_ssim_loss():
    assert abs(float(ssim_loss(A, A))) < 1e-6
    assert 0 < float(ssim_loss(A, B)) < 1


def test_ssim_loss_is_one_minus_the_ssim_metric():
    """On Y / 255 (the metric's Y in [0, 1], L = 1), the loss is exactly 1 - `metrics.ssim_y`."""
    from skinsr_tf.data.synthetic import generate_skin_image
    from skinsr_tf.metrics import rgb_to_y, ssim_y

    hr = generate_skin_image(40, 40, seed=3)
    sr = np.clip(hr + np.random.default_rng(1).normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
    y = lambda img: (rgb_to_y(img / 255.0) / 255.0)[None, ..., None].astype("float32")  # noqa: E731
    assert float(ssim_loss(y(sr), y(hr))) == pytest.approx(1 - ssim_y(sr, hr), abs=1e-5)
