"""Convert shipped weights of the old positional format (`<stem>.weights.npz`, float16 arrays keyed
`<index>/<path>`, loaded by position) to the named format (`<stem>.shipped.h5`, loaded by name).

    python examples/convert_weights.py                      # every *.weights.npz in skinsr_tf/weights/
    python examples/convert_weights.py path/to/unet_x4.weights.npz --keep_npz

Each file's `<stem>.json` (beside it) says which model to build. The arrays are read in the
order the old loader used, assigned to `inference_variables()`, written by name as they were
(float16 stays float16), read back into a fresh model and compared: the converted weights are
bit-identical, so are the model's outputs. The `.npz` is then removed (unless --keep_npz).
"""

import json
import sys
from pathlib import Path

from absl import app, flags

OLD_SUFFIX = ".weights.npz"


def load_positional_npz(model, path):
    """The old loader: arrays in sorted-key order onto `model.inference_variables()`, cast to
    the variables' dtypes."""
    import keras
    import numpy as np

    variables = model.inference_variables()
    with np.load(path, allow_pickle=False) as data:
        keys = sorted(data.files)
        if len(keys) != len(variables):
            raise ValueError(f"{path}: holds {len(keys)} arrays but {type(model).__name__} has "
                             f"{len(variables)} inference variables")
        for key, v in zip(keys, variables):
            if tuple(data[key].shape) != tuple(v.shape):
                raise ValueError(f"{path}: {key} has shape {data[key].shape}, {v.path} has {tuple(v.shape)}")
            v.assign(data[key].astype(keras.backend.standardize_dtype(v.dtype)))
    return model


def _build(config_path):
    from skinsr_tf.models.registry import get_model_class

    config = json.loads(Path(config_path).read_text())
    model = get_model_class(config["model"])(**config.get("model_kwargs", {}))
    return model.build_for_inference()


def convert_npz(npz_path, keep_npz=False):
    """Convert one `<stem>.weights.npz` (with `<stem>.json` beside it) to `<stem>.shipped.h5`;
    returns the new path. Raises if the round trip changes a single bit."""
    import numpy as np

    from skinsr_tf.runs import SHIPPED_SUFFIX

    npz_path = Path(npz_path)
    if not npz_path.name.endswith(OLD_SUFFIX):
        raise ValueError(f"{npz_path}: expected a file named <stem>{OLD_SUFFIX}")
    stem = npz_path.name[: -len(OLD_SUFFIX)]
    config_path = npz_path.with_name(stem + ".json")
    if not config_path.is_file():
        raise FileNotFoundError(f"{npz_path}: no {config_path.name} beside it")
    old = load_positional_npz(_build(config_path), npz_path)
    out = npz_path.with_name(stem + SHIPPED_SUFFIX)
    old.save_weights(out, kind="shipped")
    new = _build(config_path)
    new.load_weights(out)
    for a, b in zip(old.inference_variables(), new.inference_variables(), strict=True):
        if not np.array_equal(np.asarray(a.numpy()), np.asarray(b.numpy())):
            out.unlink()
            raise AssertionError(f"{npz_path}: {a.path} changed in conversion")
    if not keep_npz:
        npz_path.unlink()
    return out


FLAGS = flags.FLAGS


def main(argv):
    from skinsr_tf.runs import default_weights_dir

    paths = [Path(p) for p in argv[1:]] or sorted(default_weights_dir().glob("*" + OLD_SUFFIX))
    if not paths:
        print(f"nothing to convert: no *{OLD_SUFFIX} in {default_weights_dir()}")
    for path in paths:
        try:
            out = convert_npz(path, keep_npz=FLAGS.keep_npz)
        except (ValueError, OSError) as e:
            sys.exit(f"error: {e}")
        print(f"{path} -> {out} ({out.stat().st_size / 1e6:.2f} MB, bit-identical)")


if __name__ == "__main__":
    flags.DEFINE_bool("keep_npz", False, "Keep the .npz files after converting them.")
    app.run(main)
