"""Images per second of the training data pipeline (`skinsr_tf.data.make_dataset`).

  python benchmarks/data_speed.py --data=/path/to/images --batches=40 --edges

Iterates `--batches` training batches (after `--warmup` untimed ones) of `--crop` px HR crops at
`--scale`, with the edge maps of the edge-informed model when `--edges`, and prints HR crops per
second. Without `--data` it times the synthetic set (`skinsr_tf.data.synthetic.ensure_synthetic_set`).
"""

import time

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

flags.DEFINE_string("data", None, "Image folder or split manifest (default: the synthetic set).")
flags.DEFINE_integer("batches", 40, "Timed batches.")
flags.DEFINE_integer("warmup", 3, "Untimed first batches.")
flags.DEFINE_integer("batch_size", 8, "Batch size.")
flags.DEFINE_integer("crop", 128, "HR crop side.")
flags.DEFINE_integer("scale", 4, "Scale.")
flags.DEFINE_bool("edges", True, "Add the lr_edge / hr_edge Canny maps (edge_sisr's batches).")
FLAGS = flags.FLAGS


def images_per_second(data, crop, batch_size, edges, batches, warmup=3, scale=4):
    """HR crops per second of the training pipeline over `batches` batches after `warmup` ones."""
    from skinsr_tf.data import make_dataset

    ds = make_dataset(data, "train", scale=scale, crop=crop, batch_size=batch_size, edges=edges,
                      repeat=-1, seed=0)
    it = iter(ds)
    for _ in range(warmup):  # start the workers, fill the shuffle buffer
        next(it)
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - t)


def main(_):
    from skinsr_tf.data.synthetic import ensure_synthetic_set

    rate = images_per_second(FLAGS.data or ensure_synthetic_set(), FLAGS.crop, FLAGS.batch_size,
                             FLAGS.edges, FLAGS.batches, FLAGS.warmup, FLAGS.scale)
    n = FLAGS.batches * FLAGS.batch_size
    print(f"{n} images in {n / rate:.2f} s: {rate:.1f} images/s "
          f"(batch {FLAGS.batch_size}, crop {FLAGS.crop}, x{FLAGS.scale}, edges={FLAGS.edges})")


if __name__ == "__main__":
    console.run(main)
