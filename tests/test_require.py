"""Without TensorFlow: one line naming the pip command, from the API and the CLI; the rest still works.

Each check runs in a subprocess where `import tensorflow` fails as on a bare `pip install skinsr-tf`
(``sys.modules["tensorflow"] = None``, the standard way to hide a module).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skinsr_tf._require import INSTALL_HINT, TensorFlowMissingError, require_tensorflow

ROOT = Path(__file__).resolve().parents[1]
HIDE_TF = 'import sys; sys.modules["tensorflow"] = None\n'


def run_without_tf(code, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", HIDE_TF + code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def run_cli_without_tf(*argv, cwd=ROOT):
    return run_without_tf(f"from skinsr_tf.cli import main\nsys.exit(main({list(argv)!r}))", cwd=cwd)


def test_require_tensorflow_passes_when_installed():
    require_tensorflow()


def test_public_model_names_say_which_extra_to_install():
    done = run_without_tf("from skinsr_tf import EdgeInformedSR")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"skinsr_tf._require.TensorFlowMissingError: {INSTALL_HINT}"
    assert 'pip install "skinsr-tf[cpu]"' in last and '"skinsr-tf[gpu]"' in last
    assert "keras" not in done.stderr  # not a traceback from inside Keras


@pytest.mark.parametrize("module", ["skinsr_tf.models.registry", "skinsr_tf.networks.unet", "skinsr_tf.losses.pixel",
                                    "skinsr_tf.training", "skinsr_tf.data.edges"])
def test_modules_that_need_tensorflow_raise_the_hint(module):
    done = run_without_tf(f"import {module}")
    assert done.stderr.strip().splitlines()[-1].endswith(f"TensorFlowMissingError: {INSTALL_HINT}")


def test_feature_metrics_raise_the_hint_and_pixel_metrics_still_work():
    done = run_without_tf(
        "import numpy as np\n"
        "from skinsr_tf import metrics\n"
        "from skinsr_tf._require import TensorFlowMissingError\n"
        "a = np.full((16, 16, 3), 100, np.uint8)\n"
        "print(round(float(metrics.psnr_y(a, a + 1)), 2))\n"
        "for make in (metrics.FeatureDistance, metrics.LPIPS):\n"
        "    try:\n"
        "        make()(a, a)\n"
        "    except TensorFlowMissingError as err:\n"
        "        print(err)\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert float(lines[0]) > 40
    assert lines[1:] == [INSTALL_HINT, INSTALL_HINT]


@pytest.mark.parametrize("argv", [["upscale", "skinsr_tf/samples/sample_lr_x4.png", "-o", "{out}"],
                                  ["eval", "--hr_dir", "skinsr_tf/samples", "--scale", "4", "--methods", "bicubic",
                                   "--output_dir", "{out}"]])
def test_cli_prints_one_line(argv, tmp_path):
    done = run_cli_without_tf(*[a.format(out=tmp_path / "out") for a in argv])
    assert done.returncode == 2
    assert done.stderr == f"skinsr-tf: error: {INSTALL_HINT}\n"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written


def test_cli_commands_without_models_still_work(tmp_path):
    assert run_cli_without_tf("--help").returncode == 0
    done = run_cli_without_tf("synth", "-o", str(tmp_path / "synth"), "--n", "1", "--size", "32")
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "synth").rglob("*.png"))) == 1


def test_the_error_is_an_import_error():
    """Callers that already handle a missing optional module keep working."""
    assert issubclass(TensorFlowMissingError, ImportError)
    assert TensorFlowMissingError(INSTALL_HINT, name="tensorflow").name == "tensorflow"
