"""Shared training machinery: the validation PSNR-Y (`val_psnr_y`) is the metrics module's PSNR-Y."""

import numpy as np
import tensorflow as tf

from skinsr_tf import metrics
from skinsr_tf.models.common import psnr_y_tf
from skinsr_tf.models.unet import UNetSR
from tests.models.helpers import patch_batch


def test_psnr_y_tf_equals_the_metric_with_the_same_crop():
    batch = patch_batch(scale=4, hr_size=32, n=3, seed=5)
    rng = np.random.default_rng(0)
    sr = np.clip(batch["hr"] + rng.normal(0, 0.03, batch["hr"].shape), 0, 1).astype(np.float32)
    for crop in (0, 4):
        got = psnr_y_tf(sr, batch["hr"], crop_border=crop).numpy()
        want = metrics.psnr_y(sr, batch["hr"], crop_border=crop)
        np.testing.assert_allclose(got, want, atol=1e-3)
    # The border matters here: noise only in the outer 4 px changes PSNR unless it is cropped.
    edged = batch["hr"].copy()
    edged[:, :4] = sr[:, :4]
    assert np.all(psnr_y_tf(edged, batch["hr"], crop_border=4).numpy() == 100.0)


def test_validation_psnr_is_the_evaluation_psnr_with_crop_border_scale():
    """`model.evaluate` (what val_psnr_y and the LR plateau read) = metrics.psnr_y(crop_border=scale)."""
    model = UNetSR(scale=4, preset="tiny")
    model.compile()
    batch = patch_batch(scale=4, hr_size=48, n=4, seed=1)
    logs = model.evaluate(tf.data.Dataset.from_tensors(batch), verbose=0, return_dict=True)
    sr = np.clip(model(batch["lr"]).numpy(), 0, 1)
    want = metrics.psnr_y(sr, batch["hr"], crop_border=4).mean()
    assert abs(logs["psnr_y"] - want) < 1e-3
    assert abs(metrics.psnr_y(sr, batch["hr"]).mean() - want) > 0.01  # the crop is visible here
