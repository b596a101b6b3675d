"""examples/edge_figure.py: one row per scale, LR edges | baseline | predicted | HR edges."""

import numpy as np
from skimage import data

from skinsr_tf.data import io
from tests.examples.helpers import run_example


def test_edge_figure_writes_a_row_per_scale(tmp_path):
    image = tmp_path / "hr.png"
    io.write_image(image, data.astronaut()[100:228, 150:278])
    out = tmp_path / "fig.png"
    done = run_example("edge_figure.py", f"--image={image}", "--scale=4,8", "--crop=96", f"--out={out}")
    assert f"wrote {out}" in done.stdout
    fig = io.read_image(out)
    # two rows of four panels (13 x 3.4 in each): one row alone would be under 0.3 as high as wide
    assert 0.45 * fig.shape[1] < fig.shape[0] < 0.65 * fig.shape[1] and np.ptp(fig) > 100
    assert not list(tmp_path.glob(".*"))  # written atomically, no temporary left
