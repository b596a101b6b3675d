"""Command-line plumbing: quiet TensorFlow unless --verbose, one flag spelling."""
import os
import subprocess
import sys

import pytest

from skinsr_tf import cli, console

NOISE = ("I0000", "E0000", "W0000", "absl::InitializeLog", "oneDNN")
IMPORT_TF = "from skinsr_tf import console\nimport tensorflow as tf\nprint(tf.reduce_sum(tf.ones(3)).numpy())\n"


def _run(*args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", IMPORT_TF, *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_tensorflow_is_quiet_unless_verbose():
    quiet = _run()
    assert quiet.returncode == 0 and quiet.stdout.strip() == "3.0", quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if any(n in line for n in NOISE)], quiet.stderr
    loud = _run("--verbose")
    assert loud.returncode == 0 and any(n in loud.stderr for n in NOISE)


def test_other_stderr_output_of_the_import_is_kept(capfd):
    with console._stderr_without_import_noise():

        os.write(2, b"I0000 00:00:1.0 port.cc:1] noise\nreal problem\n")
    assert capfd.readouterr().err == "real problem\n"


def test_dashed_flags_become_underscores():
    argv = ["prog", "--output-dir=a-b", "--batch-size", "2", "-o", "x-y", "--"]
    assert console.absl_argv(argv) == ["prog", "--output_dir=a-b", "--batch_size", "2", "-o", "x-y", "--"]


def test_cli_accepts_both_spellings_and_refuses_unknown_flags(tmp_path, capsys):
    assert cli.main(["synth", "--output-dir", str(tmp_path / "a"), "--n", "1", "--size", "32"]) == 0
    assert cli.main(["synth", "--output_dir", str(tmp_path / "b"), "--n", "1", "--size", "32"]) == 0
    assert len(list((tmp_path / "a").glob("*.png"))) == len(list((tmp_path / "b").glob("*.png"))) == 1
    with pytest.raises(SystemExit):
        cli.main(["synth", "-o", str(tmp_path / "c"), "--bogus"])
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
