"""The one list of model names (skinsr_tf.catalog): the registry, the package, the CLI and the
examples all derive theirs from it."""

import subprocess
import sys
from pathlib import Path

from skinsr_tf import catalog

REPO = Path(__file__).resolve().parents[1]


def test_every_list_of_model_names_comes_from_the_catalog():
    import skinsr_tf
    from skinsr_tf.cli import build_parser
    from skinsr_tf.models.registry import MODELS

    assert tuple(MODELS) == catalog.MODEL_NAMES
    assert set(catalog.TRAINABLE_MODELS) == set(catalog.MODEL_NAMES) - {"bicubic"}
    assert {cls for _, cls, _ in catalog.MODEL_TABLE.values()} <= set(skinsr_tf.__all__)
    upscale = build_parser()._subparsers._group_actions[0].choices["upscale"]
    model_flag = next(a for a in upscale._actions if a.dest == "model")
    assert tuple(model_flag.choices) == catalog.MODEL_NAMES
    for script, names in (("train.py", catalog.TRAINABLE_MODELS), ("super_resolve.py", catalog.MODEL_NAMES)):
        help_text = subprocess.run([sys.executable, str(REPO / "examples" / script), "--helpfull"],
                                   capture_output=True, text=True, cwd=REPO, timeout=300).stdout
        assert f"<{'|'.join(names)}>" in help_text, script
