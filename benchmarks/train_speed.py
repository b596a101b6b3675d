"""Seconds per training step and peak memory of each model and preset; prints a markdown table.

  python benchmarks/train_speed.py --models=edge_sisr,spsr,unet,unetpp --presets=tiny,small
  python benchmarks/train_speed.py --models=edge_sisr --presets=full --steps=5   # ~minutes on CPU

Each (model, preset) runs in its own subprocess so that peak RSS (resource.getrusage maxrss)
belongs to it alone. Random batches of the given size (default batch 8, 128 px HR), x4; the first
`--warmup` steps (tracing) are excluded from the timing. edge_sisr is timed in its "joint" stage
(frozen edge G forward + SR G/D GAN step, with canny_tf and the VGG losses) and its "edge" stage
(`--edge_stages` adds "sr": the SR GAN alone on Canny edges of the enlarged LR).
Perceptual losses use `--perceptual_weights` (default "random": a tiny stand-in network; pass
"auto" to time the real VGG19 (or its logged offline substitute)). `--mixed_precision` and
`--jit_compile` time the GPU settings; `time_train_step` is what benchmarks/gpu_check.py reuses.
"""

import json
import subprocess
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags (defined only when run as a script: benchmarks/gpu_check.py imports
    this module next to another benchmark that defines the same names)."""
    flags.DEFINE_list("models", ["edge_sisr", "spsr", "unet", "unetpp"], "Models to time.")
    flags.DEFINE_list("presets", ["tiny", "small"], "Presets to time (full is slow on CPU).")
    flags.DEFINE_integer("steps", 5, "Timed steps.")
    flags.DEFINE_integer("warmup", 2, "Untimed first steps (tracing).")
    flags.DEFINE_integer("batch_size", 8, "Batch size.")
    flags.DEFINE_integer("crop", 128, "HR crop size.")
    flags.DEFINE_integer("scale", 4, "Scale.")
    flags.DEFINE_string("perceptual_weights", "random", "'random' (stand-in), 'auto' (backbone resolution) or a file.")
    flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step.")
    flags.DEFINE_bool("mixed_precision", False, "Build the models under the mixed_float16 policy (GPU).")
    flags.DEFINE_list("edge_stages", ["joint", "edge"], "edge_sisr stages to time (joint, edge, sr).")
    flags.DEFINE_string("worker", None, "Internal: time one configuration (JSON) and print its RESULT line.")


def time_train_step(cfg):
    """Time one configuration in this process: {"sec_per_step", "peak_rss_mb", "params_m"}.

    `cfg` holds the keys `configurations()` yields; "mixed_precision" (optional) builds the model
    under the mixed_float16 policy, restored afterwards. The model is called through
    `tf.function(model.train_step, jit_compile=...)` on one fixed random batch.
    """
    import resource
    import time

    import keras
    import numpy as np
    import tensorflow as tf

    from skinsr_tf.models.registry import get_model_class

    name, preset, stage = cfg["model"], cfg["preset"], cfg.get("stage")
    kwargs = {"scale": cfg["scale"], "preset": preset}
    if name in ("edge_sisr", "spsr"):
        kwargs["perceptual_weights"] = None if cfg["perceptual_weights"] == "auto" else cfg["perceptual_weights"]
    if stage:
        kwargs["stage"] = stage
    policy = keras.mixed_precision.global_policy()
    if cfg.get("mixed_precision"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = get_model_class(name)(**kwargs)
        model.compile(jit_compile=cfg["jit_compile"])
    finally:
        keras.mixed_precision.set_global_policy(policy)
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
    losses = {k: float(v) for k, v in logs.items()}  # waits for the device
    sec = (time.perf_counter() - t) / cfg["steps"]
    params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    return {"sec_per_step": sec, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "params_m": params / 1e6, "losses": losses}


def configurations():
    for name in FLAGS.models:
        for preset in FLAGS.presets:
            stages = FLAGS.edge_stages if name == "edge_sisr" else [None]
            for stage in stages:
                yield {"model": name, "preset": preset, "stage": stage, "scale": FLAGS.scale,
                       "batch_size": FLAGS.batch_size, "crop": FLAGS.crop, "steps": FLAGS.steps,
                       "warmup": FLAGS.warmup, "perceptual_weights": FLAGS.perceptual_weights,
                       "jit_compile": FLAGS.jit_compile, "mixed_precision": FLAGS.mixed_precision}


def main(argv):
    del argv
    if FLAGS.worker:
        print("RESULT " + json.dumps(time_train_step(json.loads(FLAGS.worker))))
        return
    rows = ["| model | stage | preset | trainable params (M) | s / step | peak RSS (MB) |",
            "|---|---|---|---:|---:|---:|"]
    print(f"batch {FLAGS.batch_size}, {FLAGS.crop} px HR, x{FLAGS.scale}, {FLAGS.steps} timed steps", flush=True)
    for cfg in configurations():
        done = subprocess.run([sys.executable, __file__, f"--worker={json.dumps(cfg)}"], capture_output=True, text=True)
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
    define_flags()
    app.run(main)
