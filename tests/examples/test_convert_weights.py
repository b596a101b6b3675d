"""examples/convert_weights.py: old positional .weights.npz -> named .shipped.h5, outputs bit-identical."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from skinsr_tf.models import weights_file
from skinsr_tf.models.registry import get_model_class

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "convert_weights.py"


def convert_module():
    spec = importlib.util.spec_from_file_location("convert_weights", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_old_format(model, path):
    """What the old `save_weights_compact` wrote: float16 arrays keyed `{index:04d}/{path}`."""
    arrays = {f"{i:04d}/{v.path}": np.asarray(v.numpy()).astype(np.float16)
              for i, v in enumerate(model.inference_variables())}
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


@pytest.mark.parametrize("name,kwargs", [("edge_sisr", {"stage": "joint"}), ("unet", {"residual": True})])
def test_conversion_keeps_outputs_bit_identical(tmp_path, name, kwargs):
    convert = convert_module()
    model = get_model_class(name)(scale=4, preset="tiny", **kwargs).build_for_inference()
    stem = f"{name}_x4"
    write_old_format(model, tmp_path / f"{stem}.weights.npz")
    (tmp_path / f"{stem}.json").write_text(json.dumps({"model": name, "model_kwargs": model.get_config_kwargs()}))

    old = convert.load_positional_npz(get_model_class(name)(**model.get_config_kwargs()).build_for_inference(),
                                      tmp_path / f"{stem}.weights.npz")
    out = convert.convert_npz(tmp_path / f"{stem}.weights.npz")
    assert out == tmp_path / f"{stem}.shipped.h5" and not (tmp_path / f"{stem}.weights.npz").exists()
    new = get_model_class(name).from_pretrained(scale=4, weights_dir=tmp_path)
    lr = np.random.default_rng(0).random((20, 23, 3)).astype(np.float32)
    np.testing.assert_array_equal(new.super_resolve(lr), old.super_resolve(lr))
    attrs, arrays = weights_file.read(out)
    assert attrs["kind"] == "shipped" and {a.dtype for a in arrays.values()} == {np.dtype(np.float16)}


def test_a_file_without_its_json_is_refused_by_name(tmp_path):
    convert = convert_module()
    (tmp_path / "unet_x4.weights.npz").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="unet_x4.weights.npz: no unet_x4.json beside it"):
        convert.convert_npz(tmp_path / "unet_x4.weights.npz")
