"""Where does the period-s grid of the shipped models come from? Cheap experiments, no training.

    python benchmarks/periodic_diagnosis.py --hr_dir=data/real/heldout/photos --crop=384

1. Periodic-artefact score (:func:`skinsr_tf.metrics.periodic_artifact_score`, SR over HR) on
   central ``--crop`` px crops of the held-out photographs: bicubic; the shipped models; the
   shipped U-Net with the taps of (some of) its conv-transpose 2x2 s2 layers averaged (each
   becomes nearest x2 + 1x1 conv: no phase differences); the shipped edge-informed generator fed
   the bicubic-enlarged LR instead of the zero-stuffed one; both architectures untrained; and the
   periodic energy of the HR images themselves (synthetic skin vs photographs).
2. Where the pattern enters: for each HR-size layer of the shipped networks, the share of its
   activations' variance that repeats every s pixels (the "phase pattern": the means over the
   positions modulo s), on one held-out photograph.
3. Constant grey LR (0.5): the phase amplitude (std of the phase pattern of Y, grey levels).
Prints Markdown tables.
"""

from pathlib import Path

import numpy as np
from absl import app, flags

from skinsr_tf import metrics
from skinsr_tf.data.io import read_image
from skinsr_tf.data.resize import imresize, mod_crop

FLAGS = flags.FLAGS


def define_flags():
    """The command-line flags (defined only when run as a script, so importing defines none)."""
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
    """Shipped models, or the same architectures untrained with the report's plain output
    (residual=False: random output conv, so the architecture's own pattern shows)."""
    from skinsr_tf import EdgeInformedSR, UNetSR

    if trained:
        return {"unet": UNetSR.from_pretrained(scale=scale), "edge_sisr": EdgeInformedSR.from_pretrained(scale=scale)}
    import keras

    keras.utils.set_random_seed(0)
    return {"unet": UNetSR(scale=scale, preset="small"), "edge_sisr": EdgeInformedSR(scale=scale, preset="small")}


def _mean_score(fn, lrs, hrs, s):
    vals = [metrics.periodic_artifact_score(fn(lr), hr, s) for lr, hr in zip(lrs, hrs)]
    return f"{np.mean(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})"


def _averaged_transpose_taps(model, prefixes):
    """Copy of the U-Net weights with each named conv-transpose 2x2 s2 made phase-free: every
    tap set to the mean of the 4 (nearest x2 then a 1x1 conv). Returns a restore function."""
    import keras

    saved = []
    for layer in model.network.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose) and layer.name.startswith(prefixes):
            k = np.asarray(layer.kernel)
            saved.append((layer, k))
            layer.kernel.assign(np.broadcast_to(k.mean(axis=(0, 1), keepdims=True), k.shape))
    return lambda: [layer.kernel.assign(k) for layer, k in saved]


def score_table(paths, scales):
    """Scores of bicubic, the shipped models, the untrained architectures and the cheap surgery."""
    from skinsr_tf.data.synthetic import HELDOUT_SEED, generate_skin_image

    rows = {}
    for s in scales:
        hrs = [mod_crop(_center(read_image(p), FLAGS.crop), s) for p in paths]
        lrs = [imresize(hr, 1 / s) for hr in hrs]
        add = lambda name, fn: rows.setdefault(name, {}).__setitem__(s, _mean_score(fn, lrs, hrs, s))  # noqa: E731
        add("bicubic", lambda lr: imresize(lr, s))
        for name, model in _models(s, trained=True).items():
            add(name, model.super_resolve)
        unet, edge = _models(s, trained=True).values()
        for prefixes, label in ((("early_up",), "early_up*"), (("hr",), "hr*_up"), (("dec",), "dec*_up"),
                                (("early_up", "hr", "dec"), "all")):
            restore = _averaged_transpose_taps(unet, prefixes)
            unet._predict_fn = None
            add(f"unet, phase-free taps in {label}", unet.super_resolve)
            psnr = np.mean([metrics.psnr_y(unet.super_resolve(lr), hr, s) for lr, hr in zip(lrs, hrs)])
            rows[f"unet, phase-free taps in {label}"][s] += f", PSNR-Y {psnr:.2f}"
            restore()
            unet._predict_fn = None
        rows["unet"][s] += f", PSNR-Y {np.mean([metrics.psnr_y(unet.super_resolve(lr), hr, s) for lr, hr in zip(lrs, hrs)]):.2f}"
        edge.sr_input = "bicubic"  # the trained generator fed a bicubic image it never saw
        edge._predict_fn = None
        add("edge_sisr fed bicubic instead of zero-stuffed (no retraining)", edge.super_resolve)
        for name, model in _models(s, trained=False).items():
            add(f"{name}, untrained (random init, plain output)", model.super_resolve)
        skin = [mod_crop(generate_skin_image(FLAGS.crop, FLAGS.crop, seed=HELDOUT_SEED + i), s) for i in range(4)]
        energy = [metrics.periodic_energy(h, s, s) for h in skin]
        photo = [metrics.periodic_energy(h, s, s) for h in hrs]
        rows.setdefault("HR periodic energy itself: synthetic skin / photographs", {})[s] = \
            f"{np.mean(energy):.2f} / {np.mean(photo):.2f}"
    print("| method | " + " | ".join(f"x{s}" for s in scales) + " |\n|---|" + "---:|" * len(scales))
    for name, vals in rows.items():
        print(f"| {name} | " + " | ".join(vals.get(s, "") for s in scales) + " |")
    print()


def locked_fraction(a, s):
    """Share of a map's variance that repeats every s pixels (mean over channels)."""
    out = []
    for c in range(a.shape[-1]):
        x = a[..., c]
        if x.std() > 1e-6:
            out.append(phase_amplitude(x, s) ** 2 / x.var())
    return float(np.mean(out)) if out else 0.0


def layer_table(paths, scales):
    """Period-locked share of each HR-size activation's variance, shipped models, one photograph."""
    import keras
    import tensorflow as tf

    hr = _center(read_image(paths[0]), 256)
    print(f"({Path(paths[0]).name}, central 256 px; a natural image has about (s*s) / pixels, i.e. ~0)\n")
    print("| model | x | layer: period-locked share of variance |\n|---|---:|---|")
    for s in scales:
        lr = imresize(mod_crop(hr, s), 1 / s)[None].astype(np.float32) / 255
        unet, edge = _models(s, trained=True).values()
        for name, net, x in (
            ("unet", unet.network, lr),
            ("edge_sisr (SR generator)", edge.sr_generator,
             tf.concat([edge.sr_rgb_input(tf.constant(lr)), edge.predict_hr_edges(tf.constant(lr))], -1).numpy()),
        ):
            layers = [l for l in net.layers if not isinstance(l, keras.layers.InputLayer)]
            sub = keras.Model(net.inputs, [l.output for l in layers])
            parts = [f"input {locked_fraction(x[0], s):.2f}"]
            for layer, act in zip(layers, sub(x)):
                a = np.asarray(act)[0]
                period = s * a.shape[0] // (lr.shape[1] * s)
                if period >= 2 and a.shape[0] >= 16 and not layer.name.endswith(("_pad", "_concat", "_in")):
                    parts.append(f"{layer.name} {locked_fraction(a[4:-4, 4:-4], period):.2f}")
            print(f"| {name} | {s} | " + ", ".join(parts) + " |")
    print()


def constant_input_table(scales):
    print("| model | x | output phase amplitude (grey levels): shipped / untrained |\n|---|---:|---|")
    lr = np.full((1, 32, 32, 3), 0.5, np.float32)
    for s in scales:
        for name in ("unet", "edge_sisr"):
            amps = []
            for trained in (True, False):
                out = np.asarray(_models(s, trained)[name](lr))[0]
                amps.append(phase_amplitude(metrics.rgb_to_y(out)[2 * s:-2 * s, 2 * s:-2 * s], s))
            print(f"| {name} | {s} | {amps[0]:.2f} / {amps[1]:.2f} |")
    print()


def main(argv):
    del argv
    scales = [int(s) for s in FLAGS.scale]
    paths = sorted(p for p in Path(FLAGS.hr_dir).glob("*.png"))
    if not paths:
        raise SystemExit(f"periodic_diagnosis: no PNG photographs in {FLAGS.hr_dir}")
    print(f"## Periodic-artefact score, SR / HR, mean (min-max) over {len(paths)} central {FLAGS.crop}-px crops\n")
    score_table(paths, scales)
    print("## Period-locked share of the activations\n")
    layer_table(paths, scales)
    print("## Constant grey LR input\n")
    constant_input_table(scales)


if __name__ == "__main__":
    define_flags()
    app.run(main)
