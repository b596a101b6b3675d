"""benchmarks/gpu_check.sh --cpu-smoke: the GPU check's code paths on CPU print a complete table."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def rows(table, part):
    """The cells of every Markdown row of `part` (the first column)."""
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] == part:
            out.append(cells)
    return out


@pytest.mark.slow
def test_cpu_smoke_prints_the_whole_table():
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--cpu-smoke"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout
    assert "| part | model | precision | XLA | setting | result |" in table
    assert json.loads(table.split("RESULT ")[1]) == {"failed": 0, "skipped": 0, "rows": 16}
    assert "failed:" not in table

    assert rows(table, "device")[0][-1] == "/device:CPU:0, /device:CPU:1"
    train = rows(table, "train step")
    assert sorted(r[1] for r in train) == ["edge_sisr", "spsr", "unet", "unetpp"]
    assert {(r[2], r[3]) for r in train} == {("float32", "off"), ("float32", "on"), ("mixed", "off"), ("mixed", "on")}
    assert ("edge_sisr", "on") in {(r[1], r[3]) for r in train}  # in-graph Canny under XLA
    for r in train:
        seconds = float(re.match(r"([\d.]+) s/step", r[-1]).group(1))
        assert seconds > 0, r

    infer = rows(table, "inference")
    assert len(infer) == 8 and {r[4].split()[0] for r in infer} == {"128^2", "256^2"}
    assert all(re.match(r"[\d.]+ s \([\d.]+ MP/s", r[-1]) for r in infer), infer

    (mirrored,) = rows(table, "mirrored")
    assert mirrored[2] == "mixed" and mirrored[-1].startswith("2 replicas") and "losses finite" in mirrored[-1]

    pipeline = rows(table, "input pipeline")
    assert [r[4].split(" Canny")[0] for r in pipeline] == ["without", "with"]
    for r in pipeline:
        have, need = map(float, re.findall(r"([\d.]+) img/s", r[-1]))
        assert have > 0 and need > 0, r
