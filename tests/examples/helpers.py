"""Run a script of examples/ as a user would: a fresh Python process, the repository on its path."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_example(script, *args, timeout=300):
    """`python examples/<script> <args>`; fails the test with the script's stderr tail if it fails."""
    done = subprocess.run([sys.executable, str(REPO / "examples" / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done
