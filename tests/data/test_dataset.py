import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from skinsr_tf.data import dataset
from skinsr_tf.data.dataset import (MANIFEST_NAME, SPLITS, build_manifest, load_manifest, make_dataset,
                                    oversample_manifest, split_files)
from skinsr_tf.data.edges import canny, canny_tf
from skinsr_tf.data.io import list_images, read_image
from skinsr_tf.data.resize import imresize
from skinsr_tf.data.synthetic import write_synthetic_set


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("skin")
    write_synthetic_set(d, n=10, size=48, seed=0)
    return d


def _copy(src, tmp_path):
    dst = tmp_path / "data"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(MANIFEST_NAME))
    return dst


def test_split_deterministic_ratios_and_order_independent():
    names = [f"img_{i:03d}.png" for i in range(100)]
    a = split_files(names, seed=3)
    assert [len(a[k]) for k in ("train", "dev", "test")] == [80, 10, 10]
    assert split_files(names[::-1], seed=3) == a  # file order does not matter
    assert split_files(names, seed=4) != a
    assert sorted(a["train"] + a["dev"] + a["test"]) == names
    small = split_files(names[:3], seed=0)
    assert len(small["train"]) == 3 and small["dev"] == small["test"] == []


def test_train_dev_test_pipelines_read_disjoint_files_of_the_manifest(tmp_path, monkeypatch):
    """No leakage: each split's pipeline reads exactly the manifest's files of that split, and
    the three sets are pairwise disjoint and cover the folder."""
    root = tmp_path / "data"
    write_synthetic_set(root, n=30, size=24, seed=0)
    read = {split: set() for split in SPLITS}
    reading = []
    original = dataset.tf_decodable_paths

    def spy(paths):  # the files the graph reads
        read[reading[-1]].update(map(str, paths))
        return original(paths)

    monkeypatch.setattr(dataset, "tf_decodable_paths", spy)
    for split in SPLITS:
        reading.append(split)
        for _ in make_dataset(root, split=split, scale=4, crop=16, batch_size=4, seed=0):
            pass
    manifest = load_manifest(root / MANIFEST_NAME)
    assert read == {split: {str(Path(manifest["root"]) / r) for r in manifest[split]} for split in SPLITS}
    assert [len(read[s]) for s in SPLITS] == [24, 3, 3]
    for a, b in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not read[a] & read[b], (a, b)
    assert set.union(*read.values()) == {str(p) for p in list_images(Path(manifest["root"]))}


def test_manifest_written_relative_and_reused(tmp_path, data_dir):
    d = _copy(data_dir, tmp_path)
    (d / "sub").mkdir()
    shutil.copy(d / "skin_0000.png", d / "sub" / "extra.PNG")
    m_path = build_manifest(d, seed=1)
    raw = json.loads(m_path.read_text())
    assert m_path == d / MANIFEST_NAME and raw["root"] == "." and raw["seed"] == 1
    files = raw["train"] + raw["dev"] + raw["test"]
    assert len(files) == 11 and "sub/extra.PNG" in files
    assert all(not f.startswith("/") for f in files)
    # reused, even if new files appear or another seed is requested (with a warning)
    shutil.copy(d / "skin_0001.png", d / "new.png")
    with pytest.warns(UserWarning, match="reusing the existing split manifest"):
        assert build_manifest(d, seed=2) == m_path
    assert json.loads(m_path.read_text()) == raw
    # the data folder can move: root is relative to the manifest
    moved = tmp_path / "moved"
    d.rename(moved)
    m = load_manifest(moved / MANIFEST_NAME)
    assert m["root"] == str(moved.resolve())
    build_manifest(moved, seed=1, overwrite=True)
    assert len(sum((load_manifest(moved / MANIFEST_NAME)[k] for k in ("train", "dev", "test")),
                   [])) == 12


def test_manifest_exclude_and_external_location(tmp_path, data_dir):
    m_path = build_manifest(data_dir, out_path=tmp_path / "m.json", exclude=["skin_0003.png", "*_000[5-6].png"])
    m = load_manifest(m_path)
    files = m["train"] + m["dev"] + m["test"]
    assert len(files) == 7 and not {"skin_0003.png", "skin_0005.png", "skin_0006.png"} & set(files)
    assert m["root"] == str(data_dir.resolve())


def test_oversampled_manifest_lists_matching_files_more_often(tmp_path, data_dir):
    base = load_manifest(build_manifest(data_dir, out_path=tmp_path / "m.json"))
    picked = sorted(base["train"])[:2]
    out = oversample_manifest(tmp_path / "m.json", tmp_path / "sub" / "x3.json",
                              {picked[0]: 3, picked[1]: 2})
    m = load_manifest(out)
    assert m["root"] == base["root"] and m["dev"] == base["dev"] and m["test"] == base["test"]
    assert m["repeats"] == {picked[0]: 3, picked[1]: 2}
    assert [m["train"].count(f) for f in picked] == [3, 2]
    assert sorted(set(m["train"])) == sorted(base["train"])
    assert len(m["train"]) == len(base["train"]) + 3
    # the pipeline reads every listed entry: one crop each per pass
    n = sum(int(b["hr"].shape[0]) for b in make_dataset(out, crop=16, batch_size=4, seed=0))
    assert n == len(m["train"])
    with pytest.raises(ValueError, match="no training file matches"):
        oversample_manifest(tmp_path / "m.json", tmp_path / "y.json", {"nothing_*": 2})
    with pytest.raises(ValueError, match="positive integer"):
        oversample_manifest(tmp_path / "m.json", tmp_path / "y.json", {picked[0]: 0})


def test_batches_shapes_ranges_and_lr_relation(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    ds = make_dataset(m, "train", scale=4, crop=32, batch_size=4, seed=0, random_flip_rot=False)
    b = next(iter(ds))
    assert set(b) == {"lr", "hr"}
    assert b["hr"].shape == (4, 32, 32, 3) and b["lr"].shape == (4, 8, 8, 3)
    hr, lr = b["hr"].numpy(), b["lr"].numpy()
    assert hr.dtype == np.float32 and 0 <= hr.min() and hr.max() <= 1 and 0 <= lr.min() <= lr.max() <= 1
    assert np.allclose(hr * 255, np.round(hr * 255), atol=1e-3)  # crops of uint8 images
    for i in range(4):
        np.testing.assert_allclose(lr[i], np.clip(imresize(hr[i], 0.25), 0, 1), atol=1e-4)
    # the crop comes from one of the training images
    train = [read_image(data_dir / f) for f in load_manifest(m)["train"]]
    crop = np.round(hr[0] * 255).astype(np.uint8)
    found = any((img[y:y + 32, x:x + 32] == crop).all() for img in train
                for y in range(17) for x in range(17))
    assert found


def test_seeded_pipeline_is_reproducible(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    a = [b["hr"].numpy() for b in make_dataset(m, scale=2, crop=16, batch_size=4, seed=7)]
    b = [b["hr"].numpy() for b in make_dataset(m, scale=2, crop=16, batch_size=4, seed=7)]
    c = [b["hr"].numpy() for b in make_dataset(m, scale=2, crop=16, batch_size=4, seed=8)]
    assert len(a) == 2 and sum(x.shape[0] for x in a) == 8  # 8 training images, one pass
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    ds = make_dataset(m, scale=2, crop=16, batch_size=4, seed=7, repeat=3)
    assert sum(1 for _ in ds) == 6
    cached = make_dataset(m, scale=2, crop=16, batch_size=4, seed=7, cache=True)
    for x, y in zip(a, [b["hr"].numpy() for b in cached]):
        np.testing.assert_array_equal(x, y)


def test_static_rot90_doubles_training_set(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    kw = dict(scale=2, crop=None, batch_size=1, shuffle=False, random_flip_rot=False)
    plain = [b["hr"].numpy()[0] for b in make_dataset(m, **kw)]
    doubled = [b["hr"].numpy()[0] for b in make_dataset(m, static_rot90=True, **kw)]
    assert len(doubled) == 2 * len(plain) == 16
    for p, r in zip(plain, doubled[len(plain):]):
        np.testing.assert_array_equal(r, np.rot90(p, 1))  # counter-clockwise


def test_eval_splits_center_crop_and_whole_images(tmp_path, data_dir):
    d = _copy(data_dir, tmp_path)
    shutil.copy(d / "skin_0000.png", d / "odd.png")
    from PIL import Image

    Image.fromarray(read_image(d / "skin_0000.png")[:46, :43]).save(d / "odd.png")
    m = load_manifest(build_manifest(d, ratios=(0, 0, 1)))
    assert len(m["test"]) == 11
    whole = list(make_dataset(d, "test", scale=4, crop=None, batch_size=1))
    shapes = sorted(tuple(b["hr"].shape[1:3]) for b in whole)
    assert shapes[0] == (44, 40) and len(whole) == 11  # odd size mod-cropped
    c1 = [b["hr"].numpy() for b in make_dataset(d, "test", scale=4, crop=24, batch_size=3)]
    c2 = [b["hr"].numpy() for b in make_dataset(d, "test", scale=4, crop=24, batch_size=3)]
    assert [x.shape[0] for x in c1] == [3, 3, 3, 2]
    for x, y in zip(c1, c2):
        np.testing.assert_array_equal(x, y)
    first = np.round(c1[0][0] * 255).astype(np.uint8)
    img = read_image(d / m["test"][0])  # odd.png, 46 x 43
    np.testing.assert_array_equal(first, img[11:35, 9:33])  # center crop


def test_bad_and_small_files_skipped_with_warnings(tmp_path, data_dir):
    d = _copy(data_dir, tmp_path)
    (d / "empty.png").write_bytes(b"")
    (d / "notes.png").write_text("not an image")
    good = (d / "skin_0000.png").read_bytes()
    (d / "trunc.png").write_bytes(good[: len(good) // 3])
    from PIL import Image

    Image.fromarray(read_image(d / "skin_0001.png")[:20, :20]).save(d / "tiny.png")
    build_manifest(d, ratios=(1, 0, 0))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ds = make_dataset(d, "train", scale=4, crop=32, batch_size=4, seed=0)
    msgs = [str(w.message) for w in rec]
    for name in ("empty.png", "notes.png", "trunc.png", "tiny.png"):
        assert sum(name in m for m in msgs) == 1, (name, msgs)
    assert any("skipped 4 of 14 files" in m for m in msgs)
    assert sum(b["hr"].shape[0] for b in ds) == 10


def test_file_broken_after_validation_does_not_crash(tmp_path, data_dir):
    d = _copy(data_dir, tmp_path)
    build_manifest(d, ratios=(1, 0, 0))
    ds = make_dataset(d, "train", scale=2, crop=16, batch_size=4, seed=0)
    (d / "skin_0004.png").write_bytes(b"")
    assert sum(b["hr"].shape[0] for b in ds) == 9


def test_edges_and_gradients_keys(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    ds = make_dataset(m, "dev", scale=2, crop=32, batch_size=1, edges=True, gradients=True)
    b = next(iter(ds))
    assert set(b) == {"lr", "hr", "lr_edge", "hr_edge", "hr_grad"}
    assert b["lr_edge"].shape == (1, 16, 16, 1) and b["hr_edge"].shape == (1, 32, 32, 1)
    assert b["hr_grad"].shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(b["hr_edge"].numpy()[0, ..., 0], canny(b["hr"].numpy()[0]))
    np.testing.assert_array_equal(b["lr_edge"].numpy()[0, ..., 0], canny(b["lr"].numpy()[0]))


def test_edges_use_the_given_canny_sigma(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    kw = dict(scale=2, crop=32, batch_size=2, edges=True)
    b1 = next(iter(make_dataset(m, "dev", canny_sigma=1.0, **kw)))
    b2 = next(iter(make_dataset(m, "dev", **kw)))
    np.testing.assert_array_equal(b1["hr_edge"], canny_tf(b1["hr"], sigma=1.0))
    np.testing.assert_array_equal(b1["lr_edge"], canny_tf(b1["lr"], sigma=1.0))
    assert np.sum(b1["hr_edge"]) > np.sum(b2["hr_edge"])  # finer scale, more edges


def test_pipeline_decodes_as_read_image(tmp_path):
    # The graph decoder must give read_image's pixels: JPEG, 16-bit PNG, palette, grey+alpha, TIFF.
    import cv2
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(rgb).save(d / "a.jpg", quality=90)
    Image.fromarray(rgb).convert("P").save(d / "b.png")
    Image.fromarray(rgb).convert("LA").save(d / "c.png")
    Image.fromarray(rgb).save(d / "d.bmp")
    Image.fromarray(rgb).save(d / "e.tif")
    cv2.imwrite(str(d / "f.png"), rng.integers(0, 65536, (24, 24, 3), dtype=np.uint16))
    build_manifest(d, ratios=(0, 1, 0))
    got = [np.round(b["hr"].numpy()[0] * 255).astype(np.uint8)
           for b in make_dataset(d, "dev", scale=2, crop=None, batch_size=1)]
    want = [read_image(p) for p in sorted(d.glob("[a-f].*"))]
    assert len(got) == 6
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_bad_arguments(data_dir, tmp_path):
    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    with pytest.raises(ValueError, match="multiple"):
        make_dataset(m, crop=30, scale=4)
    with pytest.raises(ValueError, match="split"):
        make_dataset(m, split="val")
    with pytest.raises(FileNotFoundError):
        make_dataset(tmp_path / "nope")


def test_interpreter_exits_with_live_infinite_iterator(data_dir, tmp_path):
    # tf.data Python callbacks used to deadlock interpreter shutdown while an iterator was alive;
    # the pipeline is now all graph ops (no callback, no shutdown hook).
    import subprocess
    import sys

    m = build_manifest(data_dir, out_path=tmp_path / "m.json")
    code = ("from skinsr_tf.data.dataset import make_dataset\n"
            f"ds = make_dataset({str(m)!r}, scale=2, crop=32, batch_size=16, edges=True, repeat=-1)\n"
            "it = iter(ds); next(it); print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]
