"""The GPU check: one Markdown table of what a GPU user needs to know, in a few minutes.

    python benchmarks/gpu_check.py               # on a CUDA machine (benchmarks/gpu_check.sh installs first)
    python benchmarks/gpu_check.py --cpu_smoke   # the same code paths on CPU at the tiny preset (~1 min)

Rows, in order:
- device: the GPUs TensorFlow sees (name, compute capability);
- train step: seconds per `train_step` of each model at the full preset (batch 8, 128 px HR, x4),
  float32 and mixed_float16, without and then with XLA (`benchmarks/train_speed.py`'s timing);
- mirrored: a short `skinsr_tf.training.train` run (mixed precision, checkpoints, validation) under
  MirroredStrategy over every visible GPU;
- input pipeline: images/s of `make_dataset` (with and without the Canny maps edge_sisr needs)
  against the images/s of the fastest train step that consumes it;
- inference: `super_resolve` at 1024^2 and 4096^2 output, float32 then mixed
  (`benchmarks/infer_speed.py`'s timing; 4096^2 tiles automatically).
A measurement that fails prints "failed: <reason>" in its row (exit status 1); past `--budget_s`
(gpu_check.sh sets it so that all takes < 8 min) the remaining rows say "skipped".
With --cpu_smoke: 2 logical CPUs stand in for the GPUs, the preset is tiny and the sizes small,
each model is timed in one (precision, XLA) setting and each setting with one model.
"""

import argparse
import gc
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # train_speed, infer_speed

MODELS = ("edge_sisr", "spsr", "unet", "unetpp")
EDGE_MODELS = ("edge_sisr",)  # models whose batches carry Canny maps (make_dataset(edges=True))
FULL = {"preset": "full", "batch_size": 8, "crop": 128, "steps": 5, "warmup": 2, "perceptual_weights": "auto",
        "infer": [("1024^2", "whole", 256), ("4096^2", "big", 1024)], "mirrored_steps": 6, "images": 32,
        "image_size": 256, "pipeline_batches": 20}
SMOKE = {"preset": "tiny", "batch_size": 2, "crop": 32, "steps": 1, "warmup": 1, "perceptual_weights": "random",
         "infer": [("128^2", "whole", 32), ("256^2", "big", 64)], "mirrored_steps": 2, "images": 8,
         "image_size": 64, "pipeline_batches": 4}
HEADER = ["| part | model | precision | XLA | setting | result |", "|---|---|---|---|---|---|"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu_smoke", "--cpu-smoke", action="store_true",
                        help="same code paths on CPU: tiny preset, small sizes, 2 logical CPUs")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models to time")
    parser.add_argument("--budget_s", type=float, default=None,
                        help="seconds after which the remaining rows say 'skipped' (the table stays whole)")
    return parser.parse_args(argv)


class Table:
    """Markdown rows; each is also printed to stderr as it comes (a killed run shows its progress)."""

    def __init__(self, budget_s=None):
        self.rows, self.failed, self.skipped = [], 0, 0
        self.deadline = None if budget_s is None else time.perf_counter() + budget_s

    def add(self, part, model="-", precision="-", xla="-", setting="-", result=""):
        row = f"| {part} | {model} | {precision} | {xla} | {setting} | {result} |"
        self.rows.append(row)
        print(row, file=sys.stderr, flush=True)

    def attempt(self, part, model, precision, xla, setting, measure):
        """Add the row `measure()` returns the result of, or a "failed" row ("skipped" past the budget)."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.skipped += 1
            self.add(part, model, precision, xla, setting, "skipped: time budget spent")
            return None
        try:
            result = measure()
        except Exception as e:  # one failed measurement must not hide the others
            self.failed += 1
            reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
            print(traceback.format_exc(limit=3), file=sys.stderr)
            result = f"failed: {type(e).__name__}: {reason[:160]}"
        finally:
            import keras

            keras.backend.clear_session()  # free device memory between measurements
            gc.collect()
        self.add(part, model, precision, xla, setting, result)
        return result


def setup_devices(cpu_smoke):
    """List the accelerators; in smoke mode split the CPU in 2 logical devices (before TF starts)."""
    import tensorflow as tf

    if cpu_smoke:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        return [], [d.name for d in tf.config.list_logical_devices("CPU")]
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)  # measurements share the device
    names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        cc = ".".join(map(str, details.get("compute_capability", ()))) or "?"
        names.append(f"{gpu.name}: {details.get('device_name', '?')} (compute {cc})")
    return gpus, names


def variants(models, cpu_smoke):
    """(model, mixed precision, XLA) to time: every combination on GPU; in smoke mode each model
    once and each (precision, XLA) pair once, with XLA on the edge model's in-graph Canny."""
    if not cpu_smoke:  # the cheap settings first: a spent time budget skips XLA compilations
        return [(m, mixed, xla) for xla in (False, True) for mixed in (False, True) for m in models]
    pairs = {"edge_sisr": (True, True), "spsr": (True, False), "unet": (False, True), "unetpp": (False, False)}
    return [(m, *pairs[m]) for m in models]


def train_rows(table, cfg, runs):
    """Seconds per train step for each (model, mixed, xla) of `runs`; returns {model: best images/s}."""
    from train_speed import time_train_step

    best = {}
    setting = f"{cfg['preset']}, batch {cfg['batch_size']}, {cfg['crop']} px HR, x4"
    for model, mixed, xla in runs:
        run = {"model": model, "preset": cfg["preset"], "stage": "joint" if model == "edge_sisr" else None,
               "scale": 4, "batch_size": cfg["batch_size"], "crop": cfg["crop"], "steps": cfg["steps"],
               "warmup": cfg["warmup"], "perceptual_weights": cfg["perceptual_weights"],
               "jit_compile": xla, "mixed_precision": mixed}

        def measure(run=run, model=model):
            r = time_train_step(run)
            bad = {k: v for k, v in r["losses"].items() if v != v or abs(v) == float("inf")}
            if bad:
                raise FloatingPointError(f"non-finite losses {bad}")
            rate = cfg["batch_size"] / r["sec_per_step"]
            best[model] = max(best.get(model, 0.0), rate)
            return f"{r['sec_per_step']:.4f} s/step ({rate:.1f} img/s)"

        table.attempt("train step", model, "mixed" if mixed else "float32", "on" if xla else "off",
                      setting, measure)
    return best


def infer_rows(table, cfg, runs):
    """`super_resolve` time at each output size of `cfg` for each (model, mixed) of `runs`."""
    from infer_speed import measure as time_inference

    import keras

    for model, mixed in sorted(dict.fromkeys((m, mixed) for m, mixed, _ in runs), key=lambda r: r[1]):
        for label, mode, lr_side in cfg["infer"]:
            def measure(model=model, mixed=mixed, mode=mode, lr_side=lr_side):
                policy = keras.mixed_precision.global_policy()
                keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
                try:
                    r = time_inference(model, cfg["preset"], mode, scale=4, lr_size=lr_side, big_side=lr_side,
                                       repeats=2)
                finally:
                    keras.mixed_precision.set_global_policy(policy)
                return f"{r['seconds']:.3f} s ({r['mpix_per_s']:.2f} MP/s, tile {r['tile']})"

            table.attempt("inference", model, "mixed" if mixed else "float32", "off",
                          f"{label} output ({lr_side}^2 LR, x4)", measure)


def synthetic_data(cfg, root):
    from skinsr_tf.data.dataset import build_manifest
    from skinsr_tf.data.synthetic import write_synthetic_set

    write_synthetic_set(root, n=cfg["images"], size=cfg["image_size"], seed=0)
    build_manifest(root)
    return root


def mirrored_row(table, cfg, data_dir, out_dir):
    """A short real training run (unet, mixed precision) under MirroredStrategy on all devices."""
    import keras
    import numpy as np

    from skinsr_tf import training

    strategy = training.get_strategy("mirrored")
    replicas = strategy.num_replicas_in_sync
    steps = cfg["mirrored_steps"]
    batch = cfg["batch_size"] * replicas

    def measure():
        policy = keras.mixed_precision.global_policy()
        t = time.perf_counter()
        try:
            model = training.train("unet", {"scale": 4, "preset": cfg["preset"]}, output_dir=out_dir,
                                   data_dir=data_dir, steps=steps, steps_per_epoch=max(steps // 2, 1),
                                   batch_size=batch, crop=cfg["crop"], strategy="mirrored", mixed_precision=True,
                                   val_batches=1, verbose=0)
        finally:
            keras.mixed_precision.set_global_policy(policy)  # train() sets it globally
        seconds = time.perf_counter() - t
        last = (Path(out_dir) / "metrics.csv").read_text().splitlines()[-1].split(",")
        if not all(np.isfinite(float(v)) for v in last[1:] if v):
            raise FloatingPointError(f"non-finite metrics: {last}")
        scale = float(model.optimizer.dynamic_scale.numpy())
        return f"{replicas} replicas, {steps} steps in {seconds:.1f} s (with tracing), losses finite, loss scale {scale:g}"

    table.attempt("mirrored", "unet", "mixed", "off", f"global batch {batch}, {cfg['crop']} px HR", measure)


def pipeline_rows(table, cfg, data_dir, best):
    """images/s of the input pipeline vs what the fastest step that consumes it takes in."""
    from skinsr_tf.data.dataset import make_dataset

    for edges in (False, True):
        consumers = [m for m in best if (m in EDGE_MODELS) == edges]
        need = max((best[m] for m in consumers), default=0.0)
        fastest = max(consumers, key=best.get) if consumers else "-"

        def measure(edges=edges, need=need):
            ds = make_dataset(data_dir, split="train", scale=4, crop=cfg["crop"], batch_size=cfg["batch_size"],
                              edges=edges, repeat=-1, seed=0)
            it = iter(ds)
            for _ in range(2):  # start the workers, fill the shuffle buffer
                next(it)
            n, t = cfg["pipeline_batches"], time.perf_counter()
            for _ in range(n):
                next(it)
            rate = n * cfg["batch_size"] / (time.perf_counter() - t)
            verdict = "keeps up" if rate >= need else "BOTTLENECK: cache, more parallel reads or fewer edges"
            return f"{rate:.1f} img/s vs {need:.1f} img/s the fastest step takes in: {verdict}"

        table.attempt("input pipeline", fastest, "-", "-",
                      f"{'with' if edges else 'without'} Canny maps, batch {cfg['batch_size']}", measure)


def main(argv=None):
    args = parse_args(argv)
    cfg = SMOKE if args.cpu_smoke else FULL
    models = [m for m in args.models.split(",") if m]
    start = time.perf_counter()
    gpus, names = setup_devices(args.cpu_smoke)
    table = Table(args.budget_s)
    if args.cpu_smoke:
        table.add("device", setting="CPU smoke (no GPU)", result=", ".join(names))
    elif not gpus:
        table.add("device", result="failed: TensorFlow sees no GPU (is the CUDA build installed? pip install '.[gpu]')")
        table.failed += 1
    for name in names if not args.cpu_smoke else []:
        table.add("device", setting="GPU", result=name)
    runs = variants(models, args.cpu_smoke)
    best = train_rows(table, cfg, runs)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = synthetic_data(cfg, Path(tmp) / "data")
        mirrored_row(table, cfg, data_dir, Path(tmp) / "run")
        pipeline_rows(table, cfg, data_dir, best)
    infer_rows(table, cfg, runs)
    print(f"\ntotal {time.perf_counter() - start:.0f} s; {table.failed} failed, {table.skipped} skipped")
    print("\n".join(HEADER + table.rows))
    print("RESULT " + json.dumps({"failed": table.failed, "skipped": table.skipped, "rows": len(table.rows)}))
    return 1 if table.failed else 0


if __name__ == "__main__":
    sys.exit(main())
