"""consistency: exact degradation, projection, the contradiction / invented / uncertainty maps."""

import numpy as np
import pytest

from skinsr_tf import consistency
from skinsr_tf.data.resize import imresize
from skinsr_tf.data.synthetic import generate_skin_image


@pytest.fixture(scope="module")
def pair():
    hr = generate_skin_image(96, 128, seed=3)
    return hr, imresize(hr, 1 / 4)


def test_degrade_is_matlab_imresize_and_projection_is_exact(pair):
    hr, _ = pair
    x = hr.astype(np.float32) / 255
    assert np.abs(consistency.degrade(x, 4) - imresize(x, 1 / 4)).max() < 1e-5
    rng = np.random.default_rng(0)
    lr = rng.uniform(0.2, 0.8, (24, 32, 3)).astype(np.float32)
    noisy = imresize(lr, 4) + rng.normal(0, 0.1, (96, 128, 3)).astype(np.float32)
    projected = consistency.project(noisy, lr, 4, iterations=1)
    assert np.abs(consistency.degrade(projected, 4) - lr).max() < 1e-4
    # Least change: the projection removed only the range part; the null-space part is untouched.
    assert np.abs(consistency.null_space_part(projected, 4) - consistency.null_space_part(noisy, 4)).max() < 1e-4
    with pytest.raises(ValueError, match="expected 32x24"):
        consistency.project(noisy, lr[:-1], 4)


def test_bicubic_output_has_near_zero_invented_detail(pair):
    hr, lr = pair
    bicubic = consistency.detail_maps(imresize(lr, 4), lr, 4)["invented"]
    truth = consistency.detail_maps(hr, lr, 4)["invented"]
    assert bicubic.shape == hr.shape[:2] and bicubic.dtype == np.float32
    assert bicubic.max() < 1.0  # the SR's own 8-bit rounding (~0.3 grey levels) and no more
    assert truth.mean() > 3 * bicubic.mean()  # real skin texture is partly in the null space


def test_pasted_high_frequency_pattern_raises_invented_only_there(pair):
    _, lr = pair
    sr = imresize(lr, 4).astype(np.float64)
    yy, xx = np.mgrid[0:32, 0:32]
    sr[16:48, 64:96] += 30.0 * np.sign(np.sin(2.6 * yy + 1.9 * xx))[..., None]  # a fine painted texture
    sr = np.clip(np.rint(sr), 0, 255).astype(np.uint8)
    maps = consistency.detail_maps(sr, lr, 4)
    inv = maps["invented"]
    inside, outside = inv[20:44, 68:92], inv.copy()
    outside[8:56, 56:104] = 0  # the patch and a window's width around it
    assert inside.min() > 10.0
    assert outside.max() < 1.0
    # The texture nearly downscales to nothing: the LR barely notices it.
    assert maps["contradiction"][20:44, 68:92].mean() < 0.3 * inside.mean()


def test_low_frequency_blob_raises_contradiction_there(pair):
    _, lr = pair
    # A consistent start (bicubic alone blurs: its downscale misses the LR by ~1-3 grey levels).
    sr = consistency.project(imresize(lr / 255.0, 4), lr / 255.0, 4).astype(np.float64) * 255
    yy, xx = np.mgrid[0:96, 0:128]
    blob = 25.0 * np.exp(-((yy - 30) ** 2 + (xx - 90) ** 2) / (2 * 8.0 ** 2))
    sr = np.clip(np.rint(sr + blob[..., None]), 0, 255).astype(np.uint8)
    con = consistency.detail_maps(sr, lr, 4)["contradiction"]
    assert con.shape == (96, 128)
    assert con[26:34, 86:94].mean() > 15.0
    assert con[70:, :40].max() < 1.0  # far from the blob: rounding of LR and SR only
    assert consistency.lr_psnr(sr, lr, 4) < 40.0


MODEL_CLASSES = ["EdgeInformedSR", "SPSR", "UNetSR", "UNetPlusPlusSR", "Bicubic"]


@pytest.mark.parametrize("name", MODEL_CLASSES)
def test_consistent_output_reaches_lr_psnr_50db(name, pair):
    import skinsr_tf

    _, lr = pair
    model = getattr(skinsr_tf, name)(scale=4, preset="tiny").build_for_inference()
    plain = model.super_resolve(lr)
    consistent = model.super_resolve(lr, consistent=True, tile_size=16)  # tiled, then projected
    assert consistency.lr_psnr(consistent, lr, 4) >= 50.0
    assert consistency.lr_psnr(consistent, lr, 4) > consistency.lr_psnr(plain, lr, 4)


def test_uncertainty_map_is_the_spread_of_the_self_ensemble(pair):
    from skinsr_tf import UNetSR

    _, lr = pair
    model = UNetSR(scale=4, preset="tiny").build_for_inference()
    sr = model.super_resolve(lr, ensemble=True)
    maps = consistency.detail_maps(sr, lr, 4, model=model)
    assert set(maps) == {"contradiction", "invented", "uncertainty"}
    assert maps["uncertainty"].shape == (96, 128) and maps["uncertainty"].max() > 0.1


def test_map_images_are_overlays_with_a_colour_bar(pair):
    hr, lr = pair
    images = consistency.map_images(hr, lr, 4)
    for name in ("invented", "contradiction"):
        img = images[name]
        assert img.dtype == np.uint8 and img.shape[2] == 3
        assert img.shape[0] >= 96 and img.shape[1] > 128 + 60  # the SR plus a colour-bar strip
