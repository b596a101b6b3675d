"""Seconds per training step and peak memory of each model and preset; prints a markdown table.

  python benchmarks/train_speed.py --models=edge_sisr,spsr,unet,unetpp --presets=tiny,small
  python benchmarks/train_speed.py --models=edge_sisr --presets=full --steps=5   # ~minutes on CPU

Each (model, preset) runs in its own subprocess so that peak RSS (resource.getrusage maxrss)
belongs to it alone. Random batches of the given size (default batch 8, 128 px HR), x4; the first
`--warmup` steps (tracing) are excluded from the timing. edge_sisr is timed in its "joint" stage
(frozen edge G forward + SR G/D GAN step, with canny_tf and the VGG losses) and its "edge" stage
(`--edge_stages` adds "sr": the SR GAN alone on Canny edges of the enlarged LR).
Perceptual losses use `--perceptual_weights` (default "random": a tiny stand-in network; pass
"auto" to time the real VGG19 (or its logged offline substitute)).
"""

import json
import subprocess
import sys

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

flags.DEFINE_list("models", ["edge_sisr", "spsr", "unet", "unetpp"], "Models to time.")
flags.DEFINE_list("presets", ["tiny", "small"], "Presets to time (full is slow on CPU).")
flags.DEFINE_integer("steps", 5, "Timed steps.")
flags.DEFINE_integer("warmup", 2, "Untimed first steps (tracing).")
flags.DEFINE_integer("batch_size", 8, "Batch size.")
flags.DEFINE_integer("crop", 128, "HR crop size.")
flags.DEFINE_integer("scale", 4, "Scale.")
flags.DEFINE_string("perceptual_weights", "random", "'random' (stand-in), 'auto' (backbone resolution) or a file.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step.")
flags.DEFINE_list("edge_stages", ["joint", "edge"], "edge_sisr stages to time (joint, edge, sr).")
FLAGS = flags.FLAGS

CHILD = r"""
import json, resource, sys, time
import numpy as np, tensorflow as tf
from skinsr_tf.models.registry import get_model_class
cfg = json.loads(sys.argv[1])
name, preset, stage = cfg["model"], cfg["preset"], cfg.get("stage")
kwargs = {"scale": cfg["scale"], "preset": preset}
if name in ("edge_sisr", "spsr"):
    kwargs["perceptual_weights"] = None if cfg["perceptual_weights"] == "auto" else cfg["perceptual_weights"]
if stage:
    kwargs["stage"] = stage
model = get_model_class(name)(**kwargs)
model.compile(jit_compile=cfg["jit_compile"])
rng = np.random.default_rng(0)
b, c, s = cfg["batch_size"], cfg["crop"], cfg["scale"]
batch = {"lr": rng.random((b, c // s, c // s, 3), dtype=np.float32), "hr": rng.random((b, c, c, 3), dtype=np.float32),
         "lr_edge": (rng.random((b, c // s, c // s, 1)) > 0.85).astype(np.float32),
         "hr_edge": (rng.random((b, c, c, 1)) > 0.85).astype(np.float32)}
batch = {k: tf.constant(v) for k, v in batch.items()}
step = tf.function(model.train_step, jit_compile=cfg["jit_compile"])
for _ in range(cfg["warmup"]):
    logs = step(batch)
float(list(logs.values())[0])
t = time.perf_counter()
for _ in range(cfg["steps"]):
    logs = step(batch)
float(list(logs.values())[0])
sec = (time.perf_counter() - t) / cfg["steps"]
params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
print("RESULT " + json.dumps({"sec_per_step": sec, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                              "params_m": params / 1e6}))
"""


def configurations():
    for name in FLAGS.models:
        for preset in FLAGS.presets:
            stages = FLAGS.edge_stages if name == "edge_sisr" else [None]
            for stage in stages:
                yield {"model": name, "preset": preset, "stage": stage, "scale": FLAGS.scale,
                       "batch_size": FLAGS.batch_size, "crop": FLAGS.crop, "steps": FLAGS.steps,
                       "warmup": FLAGS.warmup, "perceptual_weights": FLAGS.perceptual_weights,
                       "jit_compile": FLAGS.jit_compile}


def main(argv):
    del argv
    rows = ["| model | stage | preset | trainable params (M) | s / step | peak RSS (MB) |",
            "|---|---|---|---:|---:|---:|"]
    print(f"batch {FLAGS.batch_size}, {FLAGS.crop} px HR, x{FLAGS.scale}, {FLAGS.steps} timed steps", flush=True)
    for cfg in configurations():
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True)
        if done.returncode != 0 or "RESULT " not in done.stdout:
            tail = done.stderr.strip().splitlines()[-1:] or ["?"]
            rows.append(f"| {cfg['model']} | {cfg['stage'] or '-'} | {cfg['preset']} | failed: {tail[0][:80]} | | |")
            continue
        r = json.loads(done.stdout.split("RESULT ")[1])
        rows.append(f"| {cfg['model']} | {cfg['stage'] or '-'} | {cfg['preset']} | {r['params_m']:.2f} | "
                    f"{r['sec_per_step']:.3f} | {r['peak_rss_mb']:.0f} |")
        print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    console.run(main)
