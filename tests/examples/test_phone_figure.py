"""examples/phone_figure.py: clean / realistic / extra-JPEG rows, each method beside bicubic and HR."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from skimage import data

from skinsr_tf.data import io

REPO = Path(__file__).resolve().parents[2]


def test_phone_figure_writes_a_png(tmp_path):
    image = tmp_path / "hr.png"
    io.write_image(image, data.astronaut()[100:196, 150:246])
    out = tmp_path / "fig.png"
    cmd = [sys.executable, str(REPO / "examples" / "phone_figure.py"), f"--image={image}",
           "--methods=bicubic,unet", "--window=48", f"--out={out}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    fig = io.read_image(out)
    assert fig.shape[0] > 300 and fig.shape[1] > 600 and np.ptp(fig) > 100
    assert not list(tmp_path.glob(".*"))  # written atomically, no temporary left
