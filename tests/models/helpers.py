"""Shared test data and checks for the trainable models."""

import numpy as np
import tensorflow as tf

from skinsr_tf.data.edges import canny_np_batch
from skinsr_tf.data.resize import imresize
from skinsr_tf.data.synthetic import generate_skin_image


def patch_batch(scale=4, hr_size=32, n=2, seed=0, edges=False):
    """A training batch of synthetic skin patches: HR, its MATLAB-bicubic LR, optionally Canny maps."""
    hr = np.stack([generate_skin_image(hr_size, hr_size, seed=seed + i) for i in range(n)]).astype(np.float32) / 255
    lr = np.stack([np.clip(imresize(h, 1 / scale), 0, 1) for h in hr]).astype(np.float32)
    batch = {"lr": lr, "hr": hr}
    if edges:
        batch.update(lr_edge=canny_np_batch(lr), hr_edge=canny_np_batch(hr))
    return batch


def overfit_l1(model, batch, steps=200):
    """Mean |SR - HR| before and after `steps` train steps on one batch."""
    l1 = lambda: float(tf.reduce_mean(tf.abs(model(batch["lr"]) - batch["hr"])))  # noqa: E731
    start = l1()
    step = tf.function(model.train_step)
    for _ in range(steps):
        step(batch)
    return start, l1()
