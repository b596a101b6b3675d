"""benchmarks/infer_speed.py: preset "shipped" builds each model as its shipped file does."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import infer_speed  # noqa: E402

from skinsr_tf.models.base import default_weights_dir  # noqa: E402


def test_shipped_preset_takes_the_shipped_model_kwargs():
    on_disk = json.loads((default_weights_dir() / "unetpp_x8.json").read_text())["model_kwargs"]
    assert infer_speed.shipped_model_kwargs("unetpp", 8) == {**on_disk, "scale": 8}
    row = infer_speed.measure("unetpp", infer_speed.SHIPPED, "whole", scale=8, lr_size=12, repeats=1)
    assert (row["preset"], row["out"]) == ("shipped", "96x96")
    assert row["seconds"] > 0
