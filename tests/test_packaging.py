"""The wheel as a user gets it: built from the sdist without warnings, installed in a fresh venv, run.

An editable install (what the rest of the suite uses) hides a file missing from the package data,
so this test builds the sdist and, from it, the wheel (`python -m build`), checks both hold every
file of the source package, and installs the wheel into a new virtual environment outside the
source tree. No second TensorFlow download: the venv sees the running environment's packages
through a .pth file (TensorFlow in a separate one, so the bare install can be tried first), and
pip installs the wheel with --no-index. Subprocesses run outside the source tree, without
PYTHONPATH, so only the installed package can be imported.
"""

import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from skinsr_tf import __version__
from skinsr_tf._require import INSTALL_HINT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BUILD_FILES = ("setup.py", "setup.cfg", "pyproject.toml", "README.md")


def _run(argv, cwd, env=None, timeout=300):
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _checked(argv, cwd, env=None, timeout=300):
    done = _run(argv, cwd, env, timeout)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _source_files():
    """Paths (relative to the repository) of the checkout's files: tracked ones where git can tell."""
    listed = _run(["git", "ls-files", "-z"], ROOT) if shutil.which("git") else None
    if listed is not None and listed.returncode == 0 and listed.stdout:
        return [Path(p) for p in listed.stdout.split("\0") if p]
    skip = {"build", "dist", "runs", "outputs", "data", "venv"}  # and hidden ones: .git, .venv-ci, caches
    tops = [p for p in ROOT.iterdir() if p.name not in skip and not p.name.startswith(".")]
    return [p.relative_to(ROOT) for top in tops for p in ([top] if top.is_file() else top.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".egg-info")]


def _clean_env(**extra):
    """os.environ without anything that would let a subprocess import the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                                                            "VIRTUAL_ENV", "SKINSR_TF_WEIGHTS_DIR")}
    env.update(extra)
    return env


def _site_farms(tmp):
    """Two folders of links to the running environment's packages: TensorFlow's, and all the others.

    Leaves out this package's own install (pip would take an editable one for skinsr-tf already installed).
    """
    deps, tf = tmp / "site-deps", tmp / "site-tf"
    deps.mkdir()
    tf.mkdir()
    for site_dir in map(Path, site.getsitepackages()):
        for entry in sorted(site_dir.iterdir()) if site_dir.is_dir() else ():
            name = entry.name.lower()
            if name.startswith(("skinsr_tf", "skinsr-tf", "__editable__")) or name.endswith(".pth"):
                continue
            farm = tf if name.startswith("tensorflow") else deps
            if not (farm / entry.name).exists():
                (farm / entry.name).symlink_to(entry)
    assert any(tf.iterdir()), "TensorFlow is not installed in the environment running the tests"
    return deps, tf


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel, sdist, expected package files, build log) from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("packaging")
    src, dist = tmp / "src", tmp / "dist"
    files = _source_files()
    for rel in files:  # a tracked file deleted from the checkout stays expected, and so is missed
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    done = _checked([sys.executable, "-m", "build", "--outdir", dist, src], cwd=tmp, env=_clean_env())
    log = done.stdout + done.stderr
    wheel, sdist = next(dist.glob("*.whl")), next(dist.glob("*.tar.gz"))
    expected = {rel.as_posix() for rel in files if rel.parts[0] == "skinsr_tf" and rel.suffix != ".pyc"}
    return wheel, sdist, expected, log


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory):
    """A fresh venv with the wheel installed (bare: no TensorFlow on its path yet); returns its folders."""
    wheel, _, _, _ = built
    tmp = tmp_path_factory.mktemp("venv")
    venv = tmp / "venv"
    _checked([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    python = venv / "bin" / "python"
    purelib = Path(_checked([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            cwd=tmp, env=_clean_env()).stdout.strip())
    deps, tf = _site_farms(tmp)
    (purelib / "skinsr-test-deps.pth").write_text(f"{deps}\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--find-links", wheel.parent,
           "--no-cache-dir", "--disable-pip-version-check"]
    _checked([*pip, "skinsr-tf"], cwd=tmp, env=_clean_env())  # the card's line: pip install skinsr-tf
    work = tmp / "work"
    work.mkdir()
    return {"python": python, "bin": venv / "bin", "purelib": purelib, "tf": tf, "pip": pip, "work": work,
            "env": _clean_env(SKINSR_TF_HOME=str(tmp / "home"))}


def test_build_has_no_warnings(built):
    *_, log = built
    warnings = [line for line in log.splitlines()
                if "warn" in line.lower() and "byte-compiling is disabled" not in line]
    assert not warnings, "\n".join(warnings)


def test_wheel_and_sdist_hold_every_package_file(built):
    wheel, sdist, expected, _ = built
    assert wheel.name == f"skinsr_tf-{__version__}-py3-none-any.whl"
    assert {"skinsr_tf/weights/unet_x4.json", "skinsr_tf/rating/templates/rate.html",
            "skinsr_tf/rating/static/rate.js", "skinsr_tf/samples/sample_lr_x4.png"} <= expected
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert not sorted(expected - in_wheel), f"missing from the wheel: {sorted(expected - in_wheel)}"
    assert not [n for n in in_wheel if n.startswith("tests/") or "__pycache__" in n]
    top = f"skinsr_tf-{__version__}/"
    with tarfile.open(sdist) as tar:
        in_sdist = {n[len(top):] for n in tar.getnames() if n.startswith(top)}
    missing = sorted((expected | set(BUILD_FILES)) - in_sdist)
    assert not missing, f"missing from the sdist: {missing}"


def _tensorflow_visible(venv, visible):
    """Add or remove the venv's .pth file that makes the running environment's TensorFlow importable."""
    pth = venv["purelib"] / "skinsr-test-tf.pth"
    if visible:
        pth.write_text(f"{venv['tf']}\n")
    else:
        pth.unlink(missing_ok=True)


def test_bare_install_runs_the_cli_and_says_how_to_get_tensorflow(venv):
    _tensorflow_visible(venv, False)
    run = dict(cwd=venv["work"], env=venv["env"])
    assert "upscale" in _checked([venv["bin"] / "skinsr-tf", "--help"], **run).stdout
    sample = venv["purelib"] / "skinsr_tf" / "samples" / "sample_lr_x4.png"
    done = _run([venv["bin"] / "skinsr-tf", "upscale", sample, "-o", "out"], **run)
    assert (done.returncode, done.stderr) == (2, f"skinsr-tf: error: {INSTALL_HINT}\n")
    done = _run([venv["python"], "-c", "from skinsr_tf import EdgeInformedSR"], **run)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"skinsr_tf._require.TensorFlowMissingError: {INSTALL_HINT}"


def test_reader_study_runs_from_the_wheel(venv):
    """`skinsr-tf rate create` on two tiny folders, then the web app's page and static files."""
    work = venv["work"] / "study_inputs"
    code = ("import sys, numpy as np\nfrom PIL import Image\n"
            "for k, m in enumerate(('a', 'b')):\n"
            "    for i in range(2):\n"
            "        (p := __import__('pathlib').Path(sys.argv[1], m)).mkdir(parents=True, exist_ok=True)\n"
            "        Image.fromarray(np.full((16, 16, 3), 40 * k + i, np.uint8)).save(p / f'img{i}.png')\n")
    _checked([venv["python"], "-c", code, work], cwd=venv["work"], env=venv["env"])
    study = venv["work"] / "study"
    done = _checked([venv["bin"] / "skinsr-tf", "rate", "create", "--study", study,
                     "--method", f"A={work / 'a'}", "--method", f"B={work / 'b'}"], cwd=venv["work"], env=venv["env"])
    assert "2 methods, 2 images" in done.stdout
    code = ("import sys\nfrom skinsr_tf.rating.app import create_app\n"
            "client = create_app(sys.argv[1]).test_client()\n"
            "for url in ('/', '/static/rate.css', '/static/rate.js'):\n"
            "    r = client.get(url)\n"
            "    print(url, r.status_code, len(r.data))\n")
    lines = _checked([venv["python"], "-c", code, study], cwd=venv["work"], env=venv["env"]).stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["200", "200", "200"], lines


def test_readme_install_line_then_the_python_snippet(venv, built):
    """With TensorFlow added (`pip install "skinsr-tf[cpu]"`, satisfied offline), the shipped model runs."""
    _tensorflow_visible(venv, True)
    has_cpu = any(p.name.lower().startswith("tensorflow_cpu-") for p in venv["tf"].iterdir())
    _checked([*venv["pip"], "skinsr-tf[cpu]" if has_cpu else "skinsr-tf"], cwd=venv["work"], env=venv["env"])
    code = ("import numpy as np, skinsr_tf\n"
            "from skinsr_tf import EdgeInformedSR\n"
            "from skinsr_tf.metrics import psnr_y\n"
            "from skinsr_tf.samples import SAMPLE_LR_X4, load_sample\n"
            "lr, hr = load_sample()\n"
            "sr = EdgeInformedSR.from_pretrained(scale=4).super_resolve(str(SAMPLE_LR_X4))\n"
            "nearest = lr.repeat(4, axis=0).repeat(4, axis=1)\n"
            "print(skinsr_tf.__file__)\n"
            "print(sr.shape, sr.dtype, psnr_y(sr, hr, crop_border=4), psnr_y(nearest, hr, crop_border=4))\n")
    done = _checked([venv["python"], "-c", code], cwd=venv["work"], env=venv["env"])
    where, result = done.stdout.strip().splitlines()[-2:]
    assert Path(where).is_relative_to(venv["purelib"]), where  # the wheel's copy, not the checkout
    shape, dtype, psnr_sr, psnr_nearest = result.replace(", ", ",").split(" ")
    assert (shape, dtype) == ("(384,384,3)", "uint8")
    assert float(psnr_sr) > float(psnr_nearest) + 1, result  # the shipped weights were loaded
