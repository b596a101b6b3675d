"""A bundled sample: a procedural skin photo (HR, 384x384) and its MATLAB-bicubic x4 LR (96x96).

Regenerate with `python -c 'from skinsr_tf.samples import make_sample; make_sample()'` (deterministic: generate_skin_image(384, 384, seed=200000),
LR = imresize(hr, 1/4) rounded to uint8).
"""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_HR = SAMPLE_DIR / "sample_hr.png"
SAMPLE_LR_X4 = SAMPLE_DIR / "sample_lr_x4.png"
SEED = 200_000  # outside the seeds of the shipped training data (0..159)


def load_sample():
    """(lr, hr) uint8 RGB arrays of the bundled sample (96x96 and 384x384)."""
    from skinsr_tf.data.io import read_image

    return read_image(SAMPLE_LR_X4), read_image(SAMPLE_HR)


def make_sample():
    """Write sample_hr.png and sample_lr_x4.png next to this file."""
    from skinsr_tf.data.io import write_image
    from skinsr_tf.data.resize import imresize
    from skinsr_tf.data.synthetic import generate_skin_image

    hr = generate_skin_image(384, 384, seed=SEED)
    write_image(SAMPLE_HR, hr)
    write_image(SAMPLE_LR_X4, imresize(hr, 0.25))
    return SAMPLE_LR_X4, SAMPLE_HR
