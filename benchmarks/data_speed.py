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


def main(_):
    from skinsr_tf.data import make_dataset
    from skinsr_tf.data.synthetic import ensure_synthetic_set

    data = FLAGS.data or ensure_synthetic_set()
    ds = make_dataset(data, "train", scale=FLAGS.scale, crop=FLAGS.crop, batch_size=FLAGS.batch_size,
                      edges=FLAGS.edges, repeat=-1, seed=0)
    it = iter(ds)
    for _ in range(FLAGS.warmup):
        next(it)
    t = time.perf_counter()
    for _ in range(FLAGS.batches):
        next(it)
    sec = time.perf_counter() - t
    n = FLAGS.batches * FLAGS.batch_size
    print(f"{n} images in {sec:.2f} s: {n / sec:.1f} images/s "
          f"(batch {FLAGS.batch_size}, crop {FLAGS.crop}, x{FLAGS.scale}, edges={FLAGS.edges})")


if __name__ == "__main__":
    console.run(main)
