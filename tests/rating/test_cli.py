"""The ``rate`` command line, run as ``python -m skinsr_tf.rating`` in subprocesses."""

import csv
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .conftest import write_pngs


def _run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "skinsr_tf.rating", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _one_image_study(tmp_path):
    write_pngs(tmp_path / "m1", ["x"], seed=1)
    write_pngs(tmp_path / "m2", ["x"], seed=2)
    study = tmp_path / "study"
    _run("create", "--study", study, "--method", f"a={tmp_path / 'm1'}", "--method", f"b={tmp_path / 'm2'}")
    return study


def test_register_is_light_and_adds_rate():
    code = ("import argparse, sys\n"
            "from skinsr_tf.rating.cli import register\n"
            "p = argparse.ArgumentParser(); register(p.add_subparsers(dest='cmd'))\n"
            "a = p.parse_args(['rate', 'invite', '--study', 'x', '--rater', 'a', '--group', 'dermatologist'])\n"
            "assert callable(a.func)\n"
            "heavy = [m for m in ('flask', 'waitress', 'matplotlib', 'PIL', 'numpy', 'sqlite3') if m in sys.modules]\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_create_invite_results_and_errors(tmp_path):
    stems = ["a1", "a2", "a3", "a4"]
    write_pngs(tmp_path / "m1", stems, seed=1)
    write_pngs(tmp_path / "m2", stems, seed=2)
    write_pngs(tmp_path / "m3", stems[:3], seed=3)
    study = tmp_path / "study"

    bad = _run("create", "--study", study, "--method", f"one={tmp_path / 'm1'}", "--method",
               f"three={tmp_path / 'm3'}", check=False)
    assert bad.returncode == 2 and "'a4'" in bad.stderr and str(tmp_path / "m3") in bad.stderr
    assert not study.exists()

    out = _run("rate", "create", "--study", study, "--method", f"one={tmp_path / 'm1'}",
               "--method", f"two={tmp_path / 'm2'}", "--seed", "3", "--base-url", "https://rate.example.org/")
    assert "4 comparisons" in out.stdout and "https://rate.example.org/admin/" in out.stdout
    link = _run("invite", "--study", study, "--rater", "Dr A", "--group", "dermatologist").stdout.strip()
    assert link.startswith("http://127.0.0.1:8000/r/") and len(link.rsplit("/", 1)[1]) == 43
    dup = _run("invite", "--study", study, "--rater", "Dr A", "--group", "dermatologist", check=False)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    assert "/admin/" in _run("admin-link", "--study", study).stdout
    res = _run("results", "--study", study, "--csv", tmp_path / "v.csv", "--chart", tmp_path / "c.png")
    assert "Normalised score" in res.stdout and "Cohen's kappa" in res.stdout
    assert list(csv.reader(open(tmp_path / "v.csv")))[0][:3] == ["vote_id", "rater", "group"]
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    nostudy = _run("results", "--study", tmp_path / "nothing", check=False)
    assert nostudy.returncode == 2 and "no study here" in nostudy.stderr


def test_cli_serve_runs_waitress(tmp_path):
    study = _one_image_study(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "skinsr_tf.rating", "serve", "--study", str(study),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, status = time.time() + 30, None
        while time.time() < deadline and status is None:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/rate", timeout=2).status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError:
                time.sleep(0.2)
        assert status == 403  # served, and refused without a personal link
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "with waitress (8 threads)" in out


def test_cli_serve_on_a_busy_port_or_without_a_study_says_so_before_serving(tmp_path):
    study = _one_image_study(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = _run("serve", "--study", study, "--port", port, check=False)
    assert taken.returncode == 2 and "Traceback" not in taken.stderr
    assert f"127.0.0.1:{port}" in taken.stderr and "in use" in taken.stderr
    assert "Serving" not in taken.stdout
    nosuch = _run("serve", "--study", tmp_path / "nosuch", check=False)
    assert nosuch.returncode == 2 and "no study here" in nosuch.stderr and "Traceback" not in nosuch.stderr
    assert "Serving" not in nosuch.stdout
