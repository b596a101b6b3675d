"""examples/make_shipped_data.py: the held-out photographs never leak into the training tiles."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from skinsr_tf.data.io import read_image

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "make_shipped_data.py"


def _row_keys(image, width):
    """Every horizontal run of `width` RGB pixels in `image`, as bytes."""
    windows = np.lib.stride_tricks.sliding_window_view(image, (1, width, 3))
    return {w.tobytes() for w in windows.reshape(-1, width * 3)}


def test_training_tiles_never_contain_heldout_photos(tmp_path):
    out = tmp_path / "shipped"
    subprocess.run([sys.executable, str(SCRIPT), f"--out_dir={out}", "--n_train=2", "--n_heldout=1", "--size=128"],
                   check=True, capture_output=True)
    heldout = sorted((out / "heldout" / "photos").glob("*.png"))
    assert [p.stem for p in heldout] == ["chelsea", "coffee"]
    colour = sorted((out / "train" / "photos").glob("*.png"))
    grey = sorted((out / "train" / "photos" / "grey").glob("*.png"))
    assert len(colour) > 20 and len(grey) > 20
    assert len(list((out / "heldout" / "synthetic").glob("*.png"))) == 1

    width = 24
    seen = set().union(*(_row_keys(read_image(p), width) for p in heldout))
    for tile_path in colour + grey:
        tile = read_image(tile_path)
        assert tile.shape == (128, 128, 3)
        for row in (0, 64, 127):  # skimage.data.cat() is chelsea: an alias would match here
            assert tile[row, :width].tobytes() not in seen, f"{tile_path.name} is cut from a held-out photo"
