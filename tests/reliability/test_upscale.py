"""`skinsr-tf upscale` against bad inputs, bad output folders, kill -9 and a full disk.

Each case checks the exit status, one clear message naming the file and the problem (no
traceback), and that no partial file is left under an output's final name.
"""

import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from skinsr_tf.data.io import read_image

from .helpers import assert_clear_error, image_files, run, start, write_corpus

UPSCALE = ("-m", "skinsr_tf.cli", "upscale")


@pytest.fixture
def home(tmp_path):
    return tmp_path


def test_bad_input_corpus_is_reported_file_by_file(home):
    problems = write_corpus(home / "in")
    out = home / "out"
    proc = run(*UPSCALE, home / "in", "-o", out, "--model", "bicubic", "--scale", "2", home=home)
    for name, problem in problems.items():
        assert_clear_error(proc, 1, home / "in" / name, problem)
    assert image_files(out) == ["good.png", "png16.png"]
    assert read_image(out / "png16.png").shape == (32, 24, 3)


def test_unreadable_inputs_are_named(home):
    write_corpus(home / "in" / "ok")
    secret = home / "in" / "locked"
    secret.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(secret / "x.png")
    secret.chmod(0)
    closed = home / "closed"
    closed.mkdir(mode=0)
    (home / "loop").symlink_to(home / "loop2")
    (home / "loop2").symlink_to(home / "loop")
    try:
        proc = run(*UPSCALE, home / "in", closed, home / "loop", "-o", home / "out", "--model", "bicubic",
                   "--scale", "2", home=home, unprivileged=True)
    finally:
        secret.chmod(0o755)
        closed.chmod(0o755)
    assert_clear_error(proc, 1, secret, "Permission denied")
    assert_clear_error(proc, 1, closed, "not readable")
    assert_clear_error(proc, 1, home / "loop", "symbolic links")
    assert "good.png" in image_files(home / "out" / "ok")


def test_output_problems_stop_before_the_model_loads(home):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(home / "a.png")
    (home / "taken").write_text("a file, not a folder")
    locked = home / "locked"
    locked.mkdir(mode=0o555)
    # --weights names no model: had the model been loaded first, that would be the error.
    for out, problem in ((home / "taken", "not a folder"), (locked, "not writable")):
        proc = run(*UPSCALE, home / "a.png", "-o", out, "--weights", home / "no_such_run", home=home,
                   unprivileged=True)
        assert_clear_error(proc, 2, out, problem)
    assert os.listdir(locked) == []


def test_output_folder_equal_to_input_is_refused(home):
    write_corpus(home / "in")
    before = {p: (home / "in" / p).read_bytes() for p in image_files(home / "in")}
    proc = run(*UPSCALE, home / "in", "-o", home / "in", "--overwrite", "--model", "bicubic", home=home)
    assert_clear_error(proc, 2, home / "in", "replace the input")
    assert {p: (home / "in" / p).read_bytes() for p in image_files(home / "in")} == before


@pytest.mark.parametrize("flag, value, problem", [("--tile", "-5", "must be >= 0"),
                                                  ("--batch_size", "0", "must be >= 1")])
def test_nonsense_tile_and_batch_size_are_refused(home, flag, value, problem):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(home / "a.png")
    proc = run(*UPSCALE, home / "a.png", "-o", home / "out", "--model", "bicubic", flag, value, home=home)
    assert_clear_error(proc, 2, flag, problem)
    assert not (home / "out").exists()


def _big_input(folder, side=1400):
    folder.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "big.png", compress_level=1)


def test_kill_during_write_leaves_no_partial_file_and_the_rerun_writes_it(home):
    _big_input(home / "in")
    out = home / "out"
    proc = start(*UPSCALE, home / "in", "-o", out, "--model", "bicubic", "--scale", "2", home=home)
    deadline = time.monotonic() + 240
    while not (out.is_dir() and os.listdir(out)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # until the first byte of output exists
    assert proc.poll() is None, "finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not (out / "big.png").exists()  # only a hidden temporary file, never big.png half-written
    assert all(name.startswith(".") for name in os.listdir(out))

    again = run(*UPSCALE, home / "in", "-o", out, "--model", "bicubic", "--scale", "2", home=home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert read_image(out / "big.png").shape == (2800, 2800, 3)


def test_disk_full_keeps_the_previous_output(home):
    _big_input(home / "in", side=300)
    out = home / "out"
    out.mkdir()
    Image.fromarray(np.full((4, 4, 3), 7, np.uint8)).save(out / "big.png")
    previous = (out / "big.png").read_bytes()
    proc = run(*UPSCALE, home / "in", "-o", out, "--model", "bicubic", "--scale", "2", "--overwrite",
               home=home, ulimit_f=100)  # 100 KiB per file; the output is about 1 MB
    assert_clear_error(proc, 1, out / "big.png", "File too large")
    assert (out / "big.png").read_bytes() == previous
    assert image_files(out) == ["big.png"]  # the temporary file is gone too
