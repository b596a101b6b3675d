"""examples/phone_figure.py: clean / realistic / extra-JPEG rows, each method beside bicubic and HR."""

import numpy as np
from skimage import data

from skinsr_tf.data import io
from tests.examples.helpers import run_example


def test_phone_figure_writes_a_png(tmp_path):
    image = tmp_path / "hr.png"
    io.write_image(image, data.astronaut()[100:196, 150:246])
    out = tmp_path / "fig.png"
    run_example("phone_figure.py", f"--image={image}", "--methods=bicubic,unet", "--window=48", f"--out={out}")
    fig = io.read_image(out)
    assert fig.shape[0] > 300 and fig.shape[1] > 600 and np.ptp(fig) > 100
    assert not list(tmp_path.glob(".*"))  # written atomically, no temporary left
