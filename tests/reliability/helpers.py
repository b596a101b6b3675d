"""Run the package's commands as a user would (a subprocess), and the bad-input corpus they get.

As root, permission bits do not stop anything, so commands that must meet an unwritable or
unreadable folder run without the capabilities that override them (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH, CAP_FOWNER): still root, but held to the permission bits like any user.
As any other user they run unchanged.
"""

import ctypes
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
_PR_CAPBSET_DROP = 24
_DAC_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _obey_permissions():
    """In the child before exec: drop the capabilities that let root ignore permission bits."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in _DAC_CAPS:
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def command(*args, ulimit_f=None):
    """argv for ``python args...``; ``ulimit_f``: the shell's file-size limit (1024-byte blocks)."""
    argv = [sys.executable, *map(str, args)]
    if ulimit_f is not None:
        argv = ["bash", "-c", f'ulimit -f {int(ulimit_f)} && exec "$0" "$@"', *argv]
    return argv


def run(*args, home, unprivileged=False, ulimit_f=None, timeout=300):
    """Run ``python args...`` with this checkout's package; returns the CompletedProcess."""
    return subprocess.run(command(*args, ulimit_f=ulimit_f), env=environment(home),
                          capture_output=True, text=True, timeout=timeout, cwd=home,
                          preexec_fn=_obey_permissions if unprivileged else None)


def environment(home):
    env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(home), MPLCONFIGDIR=str(Path(home) / "mpl"),
               KERAS_HOME=str(Path(home) / "keras"), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    return env


def start(*args, home):
    """Start ``python args...`` without waiting (for kill tests)."""
    return subprocess.Popen(command(*args), env=environment(home), cwd=home,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_clear_error(proc, status, *needles):
    """Exit status ``status``; no traceback; one stderr line holding every needle (file and problem)."""
    err = proc.stderr
    assert proc.returncode == status, (proc.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if all(n in line for n in map(str, needles))]
    assert lines, f"no line with {needles} in:\n{err[-3000:]}"


# --- the bad-input corpus -------------------------------------------------------------------
def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_rows(width, height, depth, colour_type, idat):
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def png16(arr16):
    """A 16-bit RGB PNG written by hand (Paeth filter on every row), the case Pillow truncates."""
    h, w, _ = arr16.shape
    rows = arr16.astype(">u2").reshape(h, -1).view(np.uint8).reshape(h, -1).astype(np.int32)
    bpp, out, prev = 6, [], np.zeros(rows.shape[1], np.int32)
    for line in rows:
        left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        p = left + prev - upleft
        pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
        pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        out.append(b"\x04" + ((line - pred) & 255).astype(np.uint8).tobytes())
        prev = line
    return png_from_rows(w, h, 16, 2, zlib.compress(b"".join(out)))


def write_corpus(folder):
    """Bad inputs beside two good ones; returns {file name: what its error message must say}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    Image.fromarray(good).save(folder / "good.png")
    (folder / "png16.png").write_bytes(png16(rng.integers(0, 65536, (16, 12, 3)).astype(np.uint16)))
    (folder / "zero.png").write_bytes(b"")
    full = folder / "trunc.png"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full)
    full.write_bytes(full.read_bytes()[:300])
    jpg = folder / "trunc.jpg"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(jpg, quality=90)
    jpg.write_bytes(jpg.read_bytes()[:400])
    (folder / "notimage.png").write_text("a shopping list, not a picture\n")
    # The bomb: a small file whose header declares 10^10 pixels.
    (folder / "bomb.png").write_bytes(png_from_rows(100_000, 100_000, 8, 2, zlib.compress(bytes(1 << 16))))
    return {"zero.png": "empty", "trunc.png": "truncated", "trunc.jpg": "truncated",
            "notimage.png": "not a recognised image", "bomb.png": "decompression bomb"}


def image_files(folder):
    """Every file under ``folder`` (relative posix paths), hidden or not."""
    folder = Path(folder)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
