"""Write the data the shipped weights were trained and evaluated on, with held-out parts.

    python examples/make_shipped_data.py --out_dir=data/shipped

Layout (training never sees `heldout/`):
    train/synthetic/   procedural skin images, seeds 0 .. n_train-1
    train/photos/      256 px tiles of scikit-image's bundled colour photographs (the training photos)
    train/photos/grey/ 256 px tiles of its bundled greyscale photographs and textures (--grey_photos;
                       the edge-informed weights use them, the U-Net weights were trained without)
    heldout/synthetic/ procedural skin images, seeds 100000 ..  (disjoint from training)
    heldout/photos/    whole held-out photographs (lossless PNGs)
"""

from pathlib import Path

import numpy as np
from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

from skinsr_tf.data.io import write_image
from skinsr_tf.data.synthetic import HELDOUT_N, HELDOUT_SEED, write_synthetic_set

# Lossless colour photographs that scikit-image ships. The held-out pair is never tiled into
# training (nor skimage.data.cat, which is chelsea); only the left view of stereo_motorcycle is used.
TRAIN_PHOTOS = ("astronaut", "immunohistochemistry", "stereo_motorcycle", "rocket", "retina")
GREY_TRAIN_PHOTOS = ("camera", "grass", "gravel", "brick", "moon", "coins", "clock")
MAX_TILES_PER_PHOTO = 12
HELDOUT_PHOTOS = ("chelsea", "coffee")

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", "data/shipped", "Where to write the folders.")
flags.DEFINE_integer("n_train", 160, "Synthetic training images.")
flags.DEFINE_integer("n_heldout", HELDOUT_N, "Synthetic held-out images.")
flags.DEFINE_integer("size", 256, "Side of the synthetic images and of the photo tiles.")
flags.DEFINE_bool("grey_photos", True, "Also tile scikit-image's greyscale photographs into train/photos/grey.")


def _photo(name):
    import skimage.data

    loader = getattr(skimage.data, name)
    image = loader()
    if isinstance(image, tuple):  # stereo_motorcycle and friends
        image = image[0]
    if image.ndim == 3:
        image = image[..., :3]
    return np.ascontiguousarray(image).astype(np.uint8)


def _tiles(image, size):
    """Half-overlapping tiles, at most MAX_TILES_PER_PHOTO evenly chosen, so no photo dominates."""
    h, w = image.shape[:2]
    corners = [(y, x) for y in range(0, h - size + 1, size // 2) for x in range(0, w - size + 1, size // 2)]
    keep = np.unique(np.linspace(0, len(corners) - 1, min(len(corners), MAX_TILES_PER_PHOTO)).astype(int))
    for i in keep:
        y, x = corners[i]
        yield y, x, image[y:y + size, x:x + size]


def main(argv):
    del argv
    out = Path(FLAGS.out_dir)
    write_synthetic_set(out / "train" / "synthetic", n=FLAGS.n_train, size=FLAGS.size, seed=0)
    write_synthetic_set(out / "heldout" / "synthetic", n=FLAGS.n_heldout, size=FLAGS.size, seed=HELDOUT_SEED)
    sources = [(name, out / "train" / "photos") for name in TRAIN_PHOTOS]
    if FLAGS.grey_photos:
        sources += [(name, out / "train" / "photos" / "grey") for name in GREY_TRAIN_PHOTOS]
    n_tiles = 0
    for name, folder in sources:
        for y, x, tile in _tiles(_photo(name), FLAGS.size):
            write_image(folder / f"{name}_{y:04d}_{x:04d}.png", tile)
            n_tiles += 1
    for name in HELDOUT_PHOTOS:
        write_image(out / "heldout" / "photos" / f"{name}.png", _photo(name))
    print(f"wrote {FLAGS.n_train} + {FLAGS.n_heldout} synthetic images, {n_tiles} training photo tiles, "
          f"{len(HELDOUT_PHOTOS)} held-out photos to {out}")


if __name__ == "__main__":
    console.run(main)
