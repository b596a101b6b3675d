"""skinsr-tf command: upscale (bicubic) on good + bad files, no silent overwrite, synth, fast --help."""

import subprocess
import sys

import numpy as np
from PIL import Image

from skinsr_tf import cli
from skinsr_tf.data.resize import imresize


def make_inputs(root):
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    a = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
    b = (rng.random((8, 9)) * 255).astype(np.uint8)  # grey
    Image.fromarray(a).save(root / "a.png")
    Image.fromarray(b).save(root / "sub" / "b.jpg", quality=95)
    (root / "broken.png").write_bytes(b"not a png at all")
    (root / "notes.txt").write_text("ignored: not an image extension")
    return a


def test_upscale_folder_with_bad_file(tmp_path, capsys):
    a = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    status = cli.main(["upscale", str(tmp_path / "in"), "-o", str(out), "--model", "bicubic", "--scale", "2"])
    err = capsys.readouterr().err
    assert status == 1
    assert "broken.png" in err and "1 failed" in err and "2 written" in err
    sr_a = np.asarray(Image.open(out / "a.png"))
    assert sr_a.shape == (24, 20, 3)
    assert np.abs(sr_a.astype(int) - imresize(a, 2).astype(int)).max() <= 1
    sr_b = Image.open(out / "sub" / "b.jpg")
    assert sr_b.format == "JPEG" and sr_b.size == (18, 16) and sr_b.mode == "RGB"
    assert not (out / "broken.png").exists() and not (out / "notes.txt").exists()

    # Existing outputs are kept and reported unless --overwrite.
    (out / "a.png").write_bytes(b"keep me")
    status = cli.main(["upscale", str(tmp_path / "in" / "a.png"), "-o", str(out), "--model", "bicubic"])
    err = capsys.readouterr().err
    assert status == 0 and "skipped" in err and (out / "a.png").read_bytes() == b"keep me"
    status = cli.main(["upscale", str(tmp_path / "in" / "a.png"), "-o", str(out), "--model", "bicubic",
                       "--scale", "3", "--overwrite"])
    assert status == 0 and Image.open(out / "a.png").size == (30, 36)


def test_upscale_missing_input_and_missing_weights(tmp_path, capsys, monkeypatch):
    assert cli.main(["upscale", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o"), "--model", "bicubic"]) == 2
    assert "no such file" in capsys.readouterr().err
    make_inputs(tmp_path / "in")
    monkeypatch.setenv("SKINSR_TF_WEIGHTS_DIR", str(tmp_path / "empty"))
    status = cli.main(["upscale", str(tmp_path / "in" / "a.png"), "-o", str(tmp_path / "o"), "--model", "edge_sisr"])
    err = capsys.readouterr().err
    assert status == 2 and "no shipped weights" in err and "edge_sisr_x4" in err


def test_synth_writes_n_images(tmp_path):
    assert cli.main(["synth", "-o", str(tmp_path), "--n", "3", "--size", "24", "--seed", "1"]) == 0
    files = sorted(tmp_path.iterdir())
    assert len(files) == 3 and all(np.asarray(Image.open(f)).shape == (24, 24, 3) for f in files)


def test_help_is_fast_and_does_not_import_tensorflow():
    code = ("import sys, skinsr_tf.cli as c\n"
            "assert 'tensorflow' not in sys.modules\n"
            "for argv in (['--help'], ['upscale', '--help'], ['rate', '--help']):\n"
            "    try:\n        c.main(argv)\n    except SystemExit as e:\n        assert e.code == 0\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported by --help'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "upscale" in res.stdout and "synth" in res.stdout and "rate" in res.stdout


def test_super_resolve_example_with_bicubic(tmp_path):
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "super_resolve.py"
    res = subprocess.run([sys.executable, str(script), "--model=bicubic", f"--output_dir={tmp_path}"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    sr = np.asarray(Image.open(tmp_path / "sample_lr_x4_bicubic_x4.png"))
    assert sr.shape == (384, 384, 3)
    fig = Image.open(tmp_path / "sample_lr_x4_bicubic_x4_figure.png")
    assert fig.size[0] > fig.size[1]  # LR | bicubic | HR over their invented-detail maps (the eval figure)


def test_super_resolve_example_names_the_missing_weights(tmp_path):
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "super_resolve.py"
    env = {**__import__("os").environ, "SKINSR_TF_WEIGHTS_DIR": str(tmp_path)}
    res = subprocess.run([sys.executable, str(script), f"--output_dir={tmp_path}"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode != 0 and "edge_sisr_x4.shipped.h5" in res.stderr


def test_eval_passes_flags_to_absl(capsys):
    # Flags after "eval" reach skinsr_tf.evaluation's absl parser: an unknown one is refused there.
    assert cli.main(["eval", "--no_such_eval_flag=1"]) != 0
    assert "no_such_eval_flag" in capsys.readouterr().err


def test_upscale_consistent_ensemble_and_detail_maps(tmp_path, capsys):
    from skinsr_tf.consistency import lr_psnr
    from skinsr_tf.data.synthetic import generate_skin_image

    lr = generate_skin_image(24, 32, seed=1)
    Image.fromarray(lr).save(tmp_path / "lesion.png")
    out = tmp_path / "out"
    status = cli.main(["upscale", str(tmp_path / "lesion.png"), "-o", str(out), "--model", "bicubic",
                       "--scale", "4", "--consistent", "--ensemble", "--maps"])
    assert status == 0, capsys.readouterr().err
    sr = np.asarray(Image.open(out / "lesion.png"))
    assert sr.shape == (96, 128, 3)
    assert lr_psnr(sr, lr, 4) >= max(50.0, lr_psnr(imresize(lr, 4), lr, 4) + 3)  # bicubic alone blurs
    for name in ("invented", "contradiction"):
        overlay = np.asarray(Image.open(out / f"lesion_{name}.png"))
        assert overlay.shape[0] >= 96 and overlay.shape[1] > 128  # the map plus its colour bar
        assert overlay.std() > 5  # a picture, not a blank


def test_upscale_degrid_switches_the_shipped_setting(tmp_path, capsys):
    from skimage.data import chelsea

    from skinsr_tf.models.unet import UNetSR

    lr = np.ascontiguousarray(chelsea()[100:148, 150:198])  # fur: the grid shows on texture
    Image.fromarray(lr).save(tmp_path / "lesion.png")
    outputs = {}
    for setting in ("on", "off"):
        status = cli.main(["upscale", str(tmp_path / "lesion.png"), "-o", str(tmp_path / setting),
                           "--model", "unet", "--degrid", setting])
        assert status == 0, capsys.readouterr().err
        outputs[setting] = np.asarray(Image.open(tmp_path / setting / "lesion.png")).astype(int)
    shipped = UNetSR.from_pretrained(scale=4)
    assert shipped.degrid  # every shipped file switches it on
    unet_off = UNetSR.from_pretrained(scale=4, degrid=False)
    for setting, model in (("on", shipped), ("off", unet_off)):
        assert np.array_equal(outputs[setting], model.super_resolve(lr))
    assert np.mean(outputs["on"] != outputs["off"]) > 0.05

    status = cli.main(["upscale", str(tmp_path / "lesion.png"), "-o", str(tmp_path / "b"),
                       "--model", "bicubic", "--degrid", "on"])
    assert status != 0 and "bicubic has no network to degrid" in capsys.readouterr().err
