import subprocess
import sys
import time

import numpy as np

from skinsr_tf.data.io import read_image
from skinsr_tf.data.synthetic import (default_data_dir, ensure_synthetic_set, generate_skin_image,
                                      write_synthetic_set)


def test_deterministic_per_seed_and_shape():
    a = generate_skin_image(64, 96, seed=3)
    assert a.shape == (64, 96, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, generate_skin_image(64, 96, seed=3))
    assert np.abs(a.astype(int) - generate_skin_image(64, 96, seed=4)).mean() > 5


def test_looks_like_skin_statistics():
    imgs = np.stack([generate_skin_image(96, 96, seed=s) for s in range(12)]).astype(float)
    mean = imgs.reshape(12, -1, 3).mean(1)
    assert np.all(mean[:, 0] >= mean[:, 2])  # skin: red dominates blue
    assert mean[:, 0].max() - mean[:, 0].min() > 40  # several tones
    assert np.all(imgs.std(axis=(1, 2)).mean(1) > 3)  # textured, not flat
    lum = imgs.mean(-1)
    dark_fraction = (lum < 0.75 * np.median(lum, axis=(1, 2))[:, None, None]).mean((1, 2))
    assert (dark_fraction > 0.02).sum() >= 6  # most images have a dark lesion or hairs
    assert (dark_fraction < 0.6).all()  # ... on a skin background


def test_speed():
    generate_skin_image(64, 64, seed=0)
    t = time.perf_counter()
    generate_skin_image(256, 256, seed=1)
    assert time.perf_counter() - t < 1.0  # ~0.06 s measured


def test_write_and_ensure_idempotent(tmp_path, monkeypatch):
    paths = write_synthetic_set(tmp_path / "w", n=3, size=48, seed=5)
    assert [p.name for p in paths] == ["skin_0000.png", "skin_0001.png", "skin_0002.png"]
    np.testing.assert_array_equal(read_image(paths[1]), generate_skin_image(48, 48, seed=6))
    monkeypatch.setenv("SKINSR_TF_HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / "synthetic_skin"
    d = ensure_synthetic_set(n=2, size=40, seed=0)
    assert d.parent == default_data_dir() and len(list(d.glob("*.png"))) == 2
    mtime = (d / "skin_0000.png").stat().st_mtime_ns
    assert ensure_synthetic_set(n=2, size=40, seed=0) == d
    assert (d / "skin_0000.png").stat().st_mtime_ns == mtime  # not rewritten


def test_cli(tmp_path):
    r = subprocess.run([sys.executable, "-m", "skinsr_tf.data.synthetic", "--out", str(tmp_path),
                        "--n", "2", "--size", "32", "--seed", "7"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["skin_0000.png", "skin_0001.png"]
    assert read_image(tmp_path / "skin_0001.png").shape == (32, 32, 3)
