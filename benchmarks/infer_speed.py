"""Inference speed (output megapixels per second) and peak memory of `super_resolve`.

Each configuration (model, preset, mode) runs in its own subprocess so that its peak resident
memory (ru_maxrss) is its own: we report the peak minus the resident size after TensorFlow import
and model construction (the cost of inference itself) and the absolute peak. Modes:
  whole  the LR image in one forward pass (tile_size=0);
  tiled  tiles of --tile LR pixels (blended), --batch_size per pass;
  big    a 1024x1024 LR image -> 4096x4096 at x4 with automatic tiling: the memory check
         (the target is < 4 GB peak on a CPU machine).
Weights are random (speed and memory do not depend on them). `--degrid` times the networks with
`degrid=True`, as the shipped weights run them. Preset "shipped" builds each model as its shipped
file at --scale does (the JSON's `model_kwargs`, degrid included), still with random weights.

    python benchmarks/infer_speed.py --models=bicubic,edge_sisr --presets=tiny
    python benchmarks/infer_speed.py --models=edge_sisr,spsr,unet,unetpp --presets=full --modes=whole,tiled,big
    python benchmarks/infer_speed.py --models=unet,unetpp,edge_sisr,spsr --presets=shipped --modes=whole
"""

import json
import os
import resource
import subprocess
import sys
import time

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

FLAGS = flags.FLAGS
SHIPPED = "shipped"  # preset: the shipped file's model_kwargs


def define_flags():
    """The command-line flags, defined only when run as a script (see train_speed.define_flags)."""
    flags.DEFINE_list("models", ["bicubic", "edge_sisr"], "models (edge_sisr, spsr, unet, unetpp, bicubic)")
    flags.DEFINE_list("presets", ["tiny"], f"presets (tiny, small, full, or {SHIPPED}: as the shipped file "
                      "at --scale); ignored for bicubic")
    flags.DEFINE_list("modes", ["whole", "tiled", "big"], "whole, tiled, big (1024^2 LR -> 4096^2 at x4)")
    flags.DEFINE_integer("scale", 4, "upscaling factor")
    flags.DEFINE_integer("lr_size", 128, "LR side (pixels) for whole and tiled modes")
    flags.DEFINE_integer("tile", 64, "LR tile side for tiled mode")
    flags.DEFINE_bool("degrid", False, "networks with degrid=True (the shipped weights' setting)")
    flags.DEFINE_integer("batch_size", None, "tiles per forward pass (default: the model's default_tile_batch)")
    flags.DEFINE_integer("repeats", 3, "timed runs after one warm-up (big mode: 1 run)")
    flags.DEFINE_string("json_out", None, "also write the results as JSON here")
    flags.DEFINE_string("worker", None, "internal: run one configuration model:preset:mode and print JSON")


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure(model_name, preset, mode, scale=4, lr_size=128, tile=64, batch_size=None, repeats=3, big_side=1024,
            degrid=False):
    """Time `super_resolve` for one configuration in this process; returns the result row (dict).

    Modes as in the module docstring; `big_side` is the LR side of mode "big" (1024: the 4096^2
    output check); `degrid`: the networks' `degrid` option. The model is built under the current
    global dtype policy.
    """
    import numpy as np

    from skinsr_tf.models.registry import get_model_class

    cls = get_model_class(model_name)
    if model_name == "bicubic":
        model = cls(scale=scale)
    elif preset == SHIPPED:
        model, degrid = cls(**shipped_model_kwargs(model_name, scale)), False
    else:
        model = cls(scale=scale, preset=preset, degrid=degrid)
    model.build_for_inference()
    base_mb = _rss_mb()
    rng = np.random.default_rng(0)
    if mode == "big":
        side, tile, repeats = big_side, None, 1
        model.super_resolve(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))  # load kernels, not the peak
    else:
        side = lr_size
        tile = 0 if mode == "whole" else tile
    lr = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    if mode != "big":
        model.super_resolve(lr, tile_size=tile, batch_size=batch_size)  # warm-up + tracing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = model.super_resolve(lr, tile_size=tile, batch_size=batch_size)
        times.append(time.perf_counter() - t0)
    peak_mb = _rss_mb()
    sec = min(times)
    if model_name == "bicubic":
        preset = "-"
    elif degrid:
        preset += " + degrid"
    return {"model": model_name, "preset": preset, "mode": mode,
            "lr": f"{side}x{side}", "out": f"{out.shape[1]}x{out.shape[0]}",
            "tile": "auto" if tile is None else tile, "seconds": round(sec, 3),
            "mpix_per_s": round(out.shape[0] * out.shape[1] / sec / 1e6, 3),
            "peak_delta_mb": round(peak_mb - base_mb, 1), "peak_total_mb": round(peak_mb, 1)}


def shipped_model_kwargs(model_name, scale):
    """The `model_kwargs` of `model_name`'s shipped file at `scale` (bicubic-trained)."""
    from skinsr_tf.models.base import default_weights_dir
    from skinsr_tf.runs import shipped_stems

    path = default_weights_dir() / f"{shipped_stems(model_name, scale)[-1]}.json"
    if not path.is_file():
        raise SystemExit(f"{path}: no shipped file for {model_name} x{scale}")
    return {**json.loads(path.read_text())["model_kwargs"], "scale": scale}


def run_worker(spec):
    model_name, preset, mode = spec.split(":")
    result = measure(model_name, preset, mode, scale=FLAGS.scale, lr_size=FLAGS.lr_size, tile=FLAGS.tile,
                     batch_size=FLAGS.batch_size, repeats=FLAGS.repeats, degrid=FLAGS.degrid)
    print("RESULT " + json.dumps(result), flush=True)


def main(argv):
    del argv
    if FLAGS.worker:
        run_worker(FLAGS.worker)
        return
    configs = []
    for model in FLAGS.models:
        for preset in (["-"] if model == "bicubic" else FLAGS.presets):
            for mode in FLAGS.modes:
                if mode == "big" and FLAGS.scale != 4:
                    continue
                configs.append(f"{model}:{preset}:{mode}")
    results = []
    passthrough = [f"--scale={FLAGS.scale}", f"--lr_size={FLAGS.lr_size}", f"--tile={FLAGS.tile}",
                   f"--repeats={FLAGS.repeats}", f"--degrid={FLAGS.degrid}"] + ([f"--batch_size={FLAGS.batch_size}"] if FLAGS.batch_size else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for spec in configs:
        proc = subprocess.run([sys.executable, __file__, f"--worker={spec}", *passthrough],
                              capture_output=True, text=True, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{spec}: failed (exit {proc.returncode})\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(lines[-1][len("RESULT "):]))
        if len(results) == 1:
            print(_header())
        print(_row(results[-1]), flush=True)
    big = [r for r in results if r["mode"] == "big"]
    for r in big:
        verdict = "OK" if r["peak_total_mb"] < 4096 else "OVER"
        print(f"4096x4096 check {r['model']}/{r['preset']}: peak {r['peak_total_mb']:.0f} MB total -> {verdict} (< 4096 MB)")
    if FLAGS.json_out:
        from skinsr_tf.data.io import atomic_write

        with atomic_write(FLAGS.json_out, "w") as f:
            json.dump(results, f, indent=1)


def _header():
    return ("| model | preset | mode | LR | output | tile | s | MP/s | peak delta MB | peak total MB |\n"
            "|---|---|---|---|---|---|---|---|---|---|")


def _row(r):
    return (f"| {r['model']} | {r['preset']} | {r['mode']} | {r['lr']} | {r['out']} | {r['tile']} | "
            f"{r['seconds']} | {r['mpix_per_s']} | {r['peak_delta_mb']} | {r['peak_total_mb']} |")


if __name__ == "__main__":
    define_flags()
    console.run(main)
