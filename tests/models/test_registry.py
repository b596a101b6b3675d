"""Registry: names -> classes, clear errors, load_model from run folders / checkpoints / .keras."""

import json

import numpy as np
import pytest

from skinsr_tf import training
from skinsr_tf.models.registry import MODELS, get_model_class, load_model


def test_names_map_to_classes():
    from skinsr_tf.models.edge_informed import EdgeInformedSR
    from skinsr_tf.models.spsr import SPSR
    from skinsr_tf.models.unet import UNetPlusPlusSR, UNetSR

    assert set(MODELS) == {"edge_sisr", "spsr", "unet", "unetpp", "bicubic"}
    assert get_model_class("edge_sisr") is EdgeInformedSR and get_model_class("spsr") is SPSR
    assert get_model_class("unet") is UNetSR and get_model_class("unetpp") is UNetPlusPlusSR
    for name in ("edge_sisr", "spsr", "unet", "unetpp"):
        assert MODELS[name].model_name == name


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown model 'esrgan'.*edge_sisr.*unetpp"):
        get_model_class("esrgan")


def write_run(folder, model, name, final=True):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model": name, "model_kwargs": model.get_config_kwargs()}))
    if final:
        model.save_weights(folder / "final.weights.h5")


@pytest.mark.parametrize("name,kwargs", [("unetpp", {"deep_supervision": True}), ("edge_sisr", {"stage": "sr"})])
def test_load_model_from_run_folder(tmp_path, name, kwargs):
    model = get_model_class(name)(scale=4, preset="tiny", **kwargs)
    write_run(tmp_path / "run", model, name)
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is type(model) and loaded.get_config_kwargs() == model.get_config_kwargs()
    x = np.random.rand(1, 6, 5, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())


def test_load_model_falls_back_to_the_newest_checkpoint(tmp_path):
    model = get_model_class("unet")(scale=8, preset="tiny")
    model.compile()
    run = tmp_path / "run"
    write_run(run, model, "unet", final=False)
    training.save_checkpoint(model, run / "checkpoints" / "ckpt-7.ckpt.h5", 7)
    x = np.random.rand(1, 4, 4, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), load_model(run)(x).numpy())


def test_load_model_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model": "unet", "model_kwargs": {"preset": "tiny"}}))
    with pytest.raises(FileNotFoundError, match="final.weights.h5"):
        load_model(tmp_path)


def test_load_model_reads_keras_files(tmp_path):
    model = get_model_class("spsr")(scale=4, preset="tiny")
    model.save(tmp_path / "spsr.keras")
    x = np.random.rand(1, 5, 5, 3).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), load_model(tmp_path / "spsr.keras")(x).numpy())
