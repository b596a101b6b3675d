"""`data.degrade`: presets, determinism per seed, shapes, range, JPEG, and the tf.data option."""

import dataclasses
import json
import sys

import numpy as np
import pytest
import tensorflow as tf

import skinsr_tf.data.degrade  # noqa: F401  (the package's name `degrade` is the function)
from skinsr_tf.data.dataset import make_dataset
from skinsr_tf.data.resize import tf_imresize
from skinsr_tf.data.synthetic import generate_skin_image, write_synthetic_set

D = sys.modules["skinsr_tf.data.degrade"]


@pytest.fixture(scope="module")
def hr():
    return generate_skin_image(64, 64, seed=3).astype(np.float32) / 255.0


@pytest.mark.parametrize("preset", ["realistic", "phone"])
def test_same_seed_same_lr_other_seed_other_lr_eager_and_graph(hr, preset):
    a = D.degrade(hr, 4, preset, seed=7).numpy()
    assert np.array_equal(a, D.degrade(hr, 4, preset, seed=7).numpy())
    graph = tf.function(lambda x: D.degrade(x, 4, preset, seed=7))
    assert np.array_equal(a, graph(hr).numpy())  # tf.data runs it as a graph
    others = [D.degrade(hr, 4, preset, seed=s).numpy() for s in (8, 9)]
    assert all(not np.array_equal(a, o) for o in others)


@pytest.mark.parametrize("preset", D.DEGRADATIONS)
@pytest.mark.parametrize("scale,shape", [(2, (48, 64)), (4, (64, 64)), (8, (64, 96))])
def test_shapes_and_value_range(preset, scale, shape):
    hr = np.random.default_rng(0).random((*shape, 3), dtype=np.float32)
    lr = D.degrade(hr, scale, preset, seed=1).numpy()
    assert lr.shape == (shape[0] // scale, shape[1] // scale, 3) and lr.dtype == np.float32
    assert lr.min() >= 0.0 and lr.max() <= 1.0
    batch = D.degrade(np.stack([hr, hr[::-1]]), scale, preset, seed=1).numpy()
    assert batch.shape == (2, shape[0] // scale, shape[1] // scale, 3)


def test_batch_images_get_different_degradations(hr):
    batch = D.degrade(np.stack([hr, hr]), 4, "realistic", seed=0).numpy()
    assert not np.array_equal(batch[0], batch[1])


def test_bicubic_is_todays_lr(hr):
    expected = tf.clip_by_value(tf_imresize(hr, 0.25), 0.0, 1.0).numpy()
    assert np.array_equal(D.degrade(hr, 4, "bicubic", seed=5).numpy(), expected)


def test_jpeg_quality_effect(hr):
    """Only the final JPEG on (no blur, noise, resize or sinc): lower quality, larger error."""
    off = D.RoundConfig(kernel_probs=(1, 0, 0, 0, 0, 0), blur_sigma=(1e-3, 1e-3), resize_probs=(0, 0, 1),
                        noise_sigma=(0.0, 0.0), poisson_scale=(0.0, 0.0), jpeg_prob=0.0)

    def only_jpeg(q):
        return D.DegradationConfig(round1=off, second_round_prob=0.0, sinc_prob=0.0, final_jpeg_quality=(q, q))

    clean = D.degrade(hr, 2, config=dataclasses.replace(only_jpeg(95), final_jpeg_prob=0.0), seed=0).numpy()
    err = {q: float(np.abs(D.degrade(hr, 2, config=only_jpeg(q), seed=0).numpy() - clean).mean())
           for q in (95, 60, 30)}
    assert 0 < err[95] < err[60] < err[30]
    # No colour cast: libjpeg's fast IDCT (TF's default) darkens red and blue here by 5e-3 and 6.5e-3.
    shift = D.degrade(hr, 2, config=only_jpeg(95), seed=0).numpy().mean((0, 1)) - clean.mean((0, 1))
    assert np.abs(shift).max() < 2e-3, shift
    q30 = D.degrade(hr, 2, config=only_jpeg(30), seed=0).numpy()
    assert np.allclose(q30 * 255, np.round(q30 * 255), atol=1e-3)  # decoded JPEG: 8-bit values


def test_config_round_trips_through_json():
    cfg = D.PRESETS["phone"]
    assert D.DegradationConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert D.describe("bicubic") == {"preset": "bicubic"}
    assert tuple(D.describe("realistic")["round1"]["jpeg_quality"]) == (30, 95)
    with pytest.raises(ValueError, match="unknown degradation 'blurry'"):
        D.get_config("blurry")


def test_kernels_sum_to_one_and_sinc_is_low_pass():
    rng = D._Rng(3)
    for _ in range(5):
        k = D.blur_kernel(rng, D.RoundConfig(), 21).numpy()
        assert k.shape == (21, 21) and abs(k.sum() - 1) < 1e-5
    sinc = D.sinc_kernel(np.pi / 3, 21).numpy()
    spectrum = np.abs(np.fft.fft2(sinc, (64, 64)))
    assert spectrum[0, 0] == pytest.approx(1.0, abs=1e-4) and spectrum[32, 32] < 0.2


@pytest.fixture(scope="module")
def skin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("skin")
    write_synthetic_set(root, n=10, size=64, seed=0)
    return root


def _first_lr(skin_dir, **kw):
    ds = make_dataset(skin_dir, split="train", scale=4, crop=32, batch_size=2, seed=3, **kw)
    return next(iter(ds))


def test_dataset_degradation_option(skin_dir):
    default, bicubic = _first_lr(skin_dir), _first_lr(skin_dir, degradation="bicubic")
    assert np.array_equal(default["lr"].numpy(), bicubic["lr"].numpy())
    real = _first_lr(skin_dir, degradation="realistic")
    assert np.array_equal(real["hr"].numpy(), default["hr"].numpy())  # same crops, other LR
    assert real["lr"].shape == (2, 8, 8, 3) and not np.array_equal(real["lr"].numpy(), default["lr"].numpy())
    assert np.array_equal(real["lr"].numpy(), _first_lr(skin_dir, degradation="realistic")["lr"].numpy())
