"""Where does the period-s grid of the shipped models come from? Cheap experiments, no training.

    python benchmarks/periodic_diagnosis.py --hr_dir=data/real/heldout/photos --crop=384

1. Periodic-artefact score (:func:`skinsr_tf.metrics.periodic_artifact_score`, SR over HR) of
   bicubic and the shipped models on central ``--crop`` px crops of the held-out photographs.
2. Constant grey LR (0.5): a network that stamps no pattern returns a flat image; the "phase
   amplitude" is the standard deviation (8-bit grey levels) of the s x s means of Y over the
   positions modulo s, i.e. the period-s pattern alone. Also of each HR-size layer's activations
   (relative to their standard deviation), to see where the pattern enters.
3. The same networks untrained (random initialisation), and the transposed convolutions'
   "checkerboard": how much a conv-transpose's kernel taps differ between the output phases.
Prints Markdown tables.
"""

from pathlib import Path

import numpy as np
from absl import app, flags

from skinsr_tf import metrics
from skinsr_tf.data.io import read_image
from skinsr_tf.data.resize import imresize, mod_crop

FLAGS = flags.FLAGS
flags.DEFINE_string("hr_dir", "data/real/heldout/photos", "Held-out photographs.")
flags.DEFINE_integer("crop", 384, "Central crop of each photograph (px).")
flags.DEFINE_list("scale", ["4", "8"], "Scales.")


def phase_amplitude(y, s):
    """Std of the means over positions modulo s of a (H, W) map: the period-s pattern alone."""
    h, w = (y.shape[0] // s) * s, (y.shape[1] // s) * s
    return float(y[:h, :w].reshape(h // s, s, w // s, s).mean(axis=(0, 2)).std())


def _center(image, size):
    h, w = image.shape[:2]
    size = min(size, h, w)
    y, x = (h - size) // 2, (w - size) // 2
    return image[y:y + size, x:x + size]


def _models(scale, trained=True):
    from skinsr_tf import EdgeInformedSR, UNetSR

    if trained:
        return {"unet": UNetSR.from_pretrained(scale=scale), "edge_sisr": EdgeInformedSR.from_pretrained(scale=scale)}
    return {"unet": UNetSR(scale=scale, preset="small", residual=True),
            "edge_sisr": EdgeInformedSR(scale=scale, preset="small", residual=True)}


def score_table(paths, scales):
    print("| method | " + " | ".join(f"x{s}" for s in scales) + " |\n|---|" + "---:|" * len(scales))
    rows = {}
    for s in scales:
        hrs = [mod_crop(_center(read_image(p), FLAGS.crop), s) for p in paths]
        lrs = [imresize(hr, 1 / s) for hr in hrs]
        methods = {"bicubic": lambda lr, s=s: imresize(lr, s)}
        for kind, trained in (("", True), (" (untrained)", False)):
            for name, model in _models(s, trained).items():
                methods[name + kind] = model.super_resolve
        for name, fn in methods.items():
            vals = [metrics.periodic_artifact_score(fn(lr), hr, s) for lr, hr in zip(lrs, hrs)]
            rows.setdefault(name, []).append(f"{np.mean(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})")
    for name, vals in rows.items():
        print(f"| {name} | " + " | ".join(vals) + " |")
    print()


def _hr_layers(network, out_hw):
    """keras sub-model returning every layer output whose spatial size is the HR size."""
    import keras

    outs = [l.output for l in network.layers
            if hasattr(l, "output") and len(l.output.shape) == 4 and l.name != network.layers[0].name]
    return keras.Model(network.inputs, outs), [o.name.split("/")[0] for o in outs]


def constant_input_table(scales):
    import tensorflow as tf

    from skinsr_tf.data.edges import dilate_lr

    print("| model | x | output phase amp. (grey levels), trained / untrained | first HR-size layers with relative phase amp. > 0.3 (trained) |")
    print("|---|---:|---|---|")
    lr = np.full((1, 32, 32, 3), 0.5, np.float32)
    for s in scales:
        for name in ("unet", "edge_sisr"):
            amps, firsts = [], ""
            for trained in (True, False):
                model = _models(s, trained)[name]
                out = np.asarray(model(lr))[0]
                y = metrics.rgb_to_y(out)[s * 2:-s * 2, s * 2:-s * 2]
                amps.append(phase_amplitude(y, s))
                if not trained:
                    continue
                net = model.network if name == "unet" else model.sr_generator
                x = lr if name == "unet" else tf.concat(
                    [dilate_lr(lr, s), model.predict_hr_edges(tf.constant(lr))], axis=-1).numpy()
                if name == "edge_sisr":
                    amps.append(phase_amplitude(x[0, 8:-8, 8:-8, 0] * 219, s))  # the dilated input itself
                sub, names = _hr_layers(net, (32 * s, 32 * s))
                found = []
                for lname, act in zip(names, sub(x)):
                    a = np.asarray(act)[0]
                    if a.shape[0] < 16:
                        continue
                    period = s * a.shape[0] // (32 * s)
                    if period < 2:
                        continue
                    b = max(2, a.shape[0] // 16)
                    a = a[b:-b, b:-b]
                    rel = np.mean([phase_amplitude(a[..., c], period) / (a[..., c].std() + 1e-8)
                                   for c in range(a.shape[-1]) if a[..., c].std() > 1e-6] or [0])
                    if rel > 0.3:
                        found.append(f"{lname} ({a.shape[0]} px, {rel:.2f})")
                firsts = ", ".join(found[:4])
            label = " / ".join(f"{v:.2f}" for v in amps[:1] + amps[-1:])
            if name == "edge_sisr":
                label += f"; zero-stuffed input itself {amps[1]:.1f}"
            print(f"| {name} | {s} | {label} | {firsts} |")
    print()


def checkerboard_table(scales):
    import keras

    print("| model | x | layer | kernel | tap spread (std over output phases / mean abs tap) |")
    print("|---|---:|---|---|---:|")
    for s in scales:
        for name, model in _models(s).items():
            net = model.network if name == "unet" else model.sr_generator
            for layer in net.layers:
                if isinstance(layer, keras.layers.Conv2DTranspose):
                    k = np.asarray(layer.kernel)  # (kh, kw, out, in)
                    st = layer.strides[0]
                    kh = k.shape[0]
                    # taps that feed each output phase (kh/st taps per axis per phase)
                    phases = [k[i::st, j::st].reshape(-1) for i in range(st) for j in range(st)]
                    sums = np.array([np.sum(np.abs(p)) for p in phases])
                    spread = sums.std() / (sums.mean() + 1e-12)
                    print(f"| {name} | {s} | {layer.name} | {kh}x{kh} s{st} | {spread:.3f} |")
    print()


def main(argv):
    del argv
    scales = [int(s) for s in FLAGS.scale]
    paths = sorted(p for p in Path(FLAGS.hr_dir).glob("*.png"))
    if not paths:
        raise SystemExit(f"periodic_diagnosis: no PNG photographs in {FLAGS.hr_dir}")
    print(f"## Periodic-artefact score, SR / HR, mean (min-max) over {len(paths)} central {FLAGS.crop}-px crops\n")
    score_table(paths, scales)
    print("## Constant grey LR input\n")
    constant_input_table(scales)
    print("## Transposed convolutions (shipped weights)\n")
    checkerboard_table(scales)


if __name__ == "__main__":
    app.run(main)
