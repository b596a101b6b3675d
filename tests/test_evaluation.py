"""End-to-end evaluation on three tiny HR images."""

import csv
import json

import numpy as np
import pytest
from absl import app, flags
from absl.testing import flagsaver
from skimage import data

from skinsr_tf import evaluation, metrics
from skinsr_tf.data import io
from skinsr_tf.data.resize import imresize, mod_crop


@pytest.fixture(scope="module")
def hr_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hr")
    photo = data.astronaut()
    for i, (y, x) in enumerate([(40, 200), (200, 300), (300, 100)]):
        io.write_image(folder / f"img{i}.png", photo[y:y + 66, x:x + 64])  # 66 rows: mod-crop matters
    return folder


def test_evaluate_tables_json_csv_figures(hr_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached ResNet50 weights
    out = tmp_path / "eval"
    paths, _ = evaluation.resolve_images(hr_dir=hr_dir)
    assert len(paths) == 3
    results = evaluation.evaluate(paths, scales=[4], methods=["bicubic", "bogus=/nonexistent/run"],
                                  output_dir=out, figures=1)
    printed = capsys.readouterr().out
    assert "| bicubic |" in printed and "LapVar (HR " in printed and "bogus" in printed

    saved = json.loads((out / "results.json").read_text())
    assert saved["x4"]["bicubic"].keys() >= set(evaluation.METRIC_KEYS)
    assert saved["x4"]["bogus"]["psnr_y"] is None and saved["x4"]["bogus"]["unavailable"]
    assert saved["x4"]["bicubic"]["resnet50_distance"] is None
    assert saved["meta"]["metrics"]["resnet50_distance"].startswith("unavailable")
    assert "vgg16.ckpt" in saved["meta"]["metrics"]["vgg16_distance"]
    assert saved["hr_laplacian_variance"]["x4"] > 0
    assert saved["x4"]["bicubic"]["lpips"] > 0 and saved["x4"]["bicubic"]["vgg16_distance"] > 0

    # Metrics equal direct calls on the same HR / LR / SR.
    psnrs, ssims = [], []
    for p in paths:
        hr = mod_crop(io.read_image(p), 4)
        sr = imresize(imresize(hr, 0.25), 4)
        psnrs.append(metrics.psnr_y(sr, hr, crop_border=4))
        ssims.append(metrics.ssim_y(sr, hr, crop_border=4))
    assert saved["x4"]["bicubic"]["psnr_y"] == pytest.approx(np.mean(psnrs), abs=1e-9)
    assert saved["x4"]["bicubic"]["ssim_y"] == pytest.approx(np.mean(ssims), abs=1e-9)
    assert results["x4"]["bicubic"]["n_images"] == 3

    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    per_image = [r for r in rows if r["method"] == "bicubic" and r["image"] != "MEAN"]
    assert len(per_image) == 3
    assert float(per_image[1]["psnr_y"]) == pytest.approx(psnrs[1], abs=1e-9)
    assert any(r["image"] == "MEAN" for r in rows)

    table = (out / "table_x4.md").read_text()
    assert "unavailable" in table and "bogus" in table
    figs = sorted(out.glob("figure_x4_*.png"))
    assert len(figs) == 1 and figs[0].stat().st_size > 1000


def test_cli_flags_and_idempotent_define(hr_dir, tmp_path, monkeypatch):
    evaluation.define_flags()
    evaluation.define_flags()  # a second call must not raise DuplicateFlagError
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    out = tmp_path / "cli"
    argv = ["eval", f"--hr_dir={hr_dir}", "--scale=8", f"--output_dir={out}", "--max_images=1",
            "--figures=0", "--resnet50_weights=/nonexistent/r50.h5"]
    with flagsaver.flagsaver():
        flags.FLAGS(argv)  # what app.run(evaluation.main, argv=argv) does before calling main
        evaluation.main(["eval"])
        with pytest.raises(app.UsageError):
            evaluation.main(["eval", "stray"])
    saved = json.loads((out / "results.json").read_text())
    assert list(k for k in saved if k.startswith("x")) == ["x8"]
    assert saved["x8"]["bicubic"]["n_images"] == 1
    assert saved["x8"]["bicubic"]["resnet50_distance"] is None
    assert saved["meta"]["metrics"]["resnet50_distance"].startswith("unavailable")
    assert not list(out.glob("*.png"))


def test_textured_box_finds_texture():
    img = np.full((60, 80, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    img[30:45, 50:65] = rng.integers(0, 256, (15, 15, 3))
    y, x = evaluation.textured_box(img, 12)
    assert 28 <= y <= 34 and 48 <= x <= 54


def test_method_labels_unique():
    labels = evaluation._method_labels(["bicubic", "unet=a/run", "unet=b/run", "spsr=c"])
    assert labels == {"bicubic": "bicubic", "unet=a/run": "unet=a/run", "unet=b/run": "unet=b/run",
                      "spsr=c": "spsr"}


def test_lr_psnr_and_invented_columns_and_sr_options(hr_dir, tmp_path, capsys):
    from PIL import Image

    paths, _ = evaluation.resolve_images(hr_dir=hr_dir)
    out = tmp_path / "eval"
    results = evaluation.evaluate(paths[:2], scales=[4], output_dir=out, figures=1,
                                  methods=["bicubic", "bicubic+consistent", "bicubic+ensemble+consistent",
                                           "bicubic+sharpest"])
    x4 = results["x4"]
    assert x4["bicubic"]["invented_mean"] < 1.0  # bicubic invents nothing but its 8-bit rounding
    assert x4["bicubic+consistent"]["lr_psnr"] >= 50.0 > x4["bicubic"]["lr_psnr"]
    assert x4["bicubic+ensemble+consistent"]["lr_psnr"] >= 50.0
    assert "unknown option sharpest" in x4["bicubic+sharpest"]["unavailable"]
    table = (out / "table_x4.md").read_text()
    assert "LR-PSNR (dB)" in table and "invented (mean)" in table
    row = next(line for line in table.splitlines() if line.startswith("| bicubic+consistent |"))
    assert len(row.split("|")) == len(table.splitlines()[2].split("|"))  # one cell per column
    fig = Image.open(next(out.glob("figure_x4_*.png")))
    assert fig.height > 0.4 * fig.width  # 6 square panels: the image row and the invented-detail row


def test_evaluate_skips_corrupt_and_too_small_hr_images_by_name(hr_dir, tmp_path, caplog, monkeypatch):
    class NoDeepMetrics:  # the backbones are not what this test is about
        status = {}

        def __init__(self, *args):
            pass

        def __call__(self, sr, hr):
            return {key: None for key in evaluation._DEEP}

    monkeypatch.setattr(evaluation, "_DeepMetrics", NoDeepMetrics)
    folder = tmp_path / "hr"
    folder.mkdir()
    for p in sorted(hr_dir.iterdir()):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "corrupt.png").write_bytes((folder / "img0.png").read_bytes()[:150])
    io.write_image(folder / "tiny.png", np.zeros((16, 16, 3), np.uint8))
    paths, _ = evaluation.resolve_images(hr_dir=folder)
    with caplog.at_level("WARNING"):
        results = evaluation.evaluate(paths, scales=[4], methods=["bicubic"], output_dir=tmp_path / "eval",
                                      figures=0, print_tables=False)
    assert results["x4"]["bicubic"]["n_images"] == 3
    assert [s["image"] for s in results["meta"]["skipped"]] == [str(folder / "corrupt.png"), str(folder / "tiny.png")]
    assert "truncated" in results["meta"]["skipped"][0]["reason"]
    assert "too small" in results["meta"]["skipped"][1]["reason"]
    assert "corrupt.png" in caplog.text and "tiny.png" in caplog.text and "skipped 2 of 5" in caplog.text
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["meta"]["skipped"]


def test_periodic_and_edge_columns(hr_dir, tmp_path):
    import functools

    from skinsr_tf.data.edges import canny
    from skinsr_tf.models.edge_informed import EdgeInformedSR

    paths, _ = evaluation.resolve_images(hr_dir=hr_dir)
    results = evaluation.evaluate(paths[:2], scales=[4], output_dir=tmp_path / "eval", figures=0,
                                  methods=["bicubic"], print_tables=False)
    table = (tmp_path / "eval" / "table_x4.md").read_text()
    assert "periodic (SR/HR)" in table and "edge F1" in table
    row = next(line for line in table.splitlines() if line.startswith("| bicubic |"))
    assert len(row.split("|")) == len(table.splitlines()[2].split("|"))
    assert 0.3 < results["x4"]["bicubic"]["periodic_score"] < 2.0
    # the bicubic row's edge scores are the baseline: Canny of the bicubic-enlarged LR
    hr = mod_crop(io.read_image(paths[0]), 4)
    lr = imresize(hr, 0.25)
    bicubic = imresize(lr, 4)
    row = evaluation.score(bicubic, hr, 4, lr=lr)
    p, r, f1 = metrics.edge_scores(canny(bicubic), canny(hr))
    assert (row["edge_precision"], row["edge_recall"], row["edge_f1"]) == (p, r, f1)
    assert row["periodic_score"] == metrics.periodic_artifact_score(bicubic, hr, 4)
    # a model with an edge generator is scored on its predicted edges
    model = EdgeInformedSR(scale=4, preset="tiny")
    assert evaluation._edge_predictor(model.super_resolve) == model.predict_edges
    assert evaluation._edge_predictor(functools.partial(model.super_resolve, ensemble=True)) == model.predict_edges
    assert evaluation._edge_predictor(lambda lr: lr) is None
    edges = np.zeros(hr.shape[:2], np.float32)
    assert evaluation.score(bicubic, hr, 4, edges=edges)["edge_recall"] == 0.0


def test_realistic_degradation_writes_fixed_lrs_that_lr_dir_reuses(hr_dir, tmp_path):
    paths, _ = evaluation.resolve_images(hr_dir=hr_dir)
    first = evaluation.evaluate(paths[:2], scales=[4], methods=["bicubic"], output_dir=tmp_path / "a",
                                figures=0, degradation="realistic", seed=3, print_tables=False)
    lr_dir = tmp_path / "a" / "lr_realistic_seed3_x4"
    lrs = sorted(lr_dir.glob("*.png"))
    assert [p.stem for p in lrs] == ["img0", "img1"]
    hr = mod_crop(io.read_image(paths[0]), 4)
    lr = io.read_image(lrs[0])
    assert lr.shape == (hr.shape[0] // 4, hr.shape[1] // 4, 3)
    assert not np.array_equal(lr, imresize(hr, 0.25))  # not the bicubic LR
    assert np.array_equal(lr, evaluation.make_lr(hr, 4, "realistic", (3, 0)))  # fixed by the seed
    assert first["meta"]["degradation"] == "realistic" and first["meta"]["seed"] == 3

    again = evaluation.evaluate(paths[:2], scales=[4], methods=["bicubic"], output_dir=tmp_path / "b",
                                figures=0, lr_dir=lr_dir, print_tables=False)
    assert again["x4"]["bicubic"]["psnr_y"] == pytest.approx(first["x4"]["bicubic"]["psnr_y"], abs=1e-9)
    clean = evaluation.evaluate(paths[:2], scales=[4], methods=["bicubic"], output_dir=tmp_path / "c",
                                figures=0, print_tables=False)
    assert clean["x4"]["bicubic"]["psnr_y"] > first["x4"]["bicubic"]["psnr_y"] + 1.0
    with pytest.raises(ValueError, match=r"16x16, expected 32x33"):  # x4 LR offered at x2
        evaluation.evaluate(paths[:1], scales=[2], methods=["bicubic"], output_dir=tmp_path / "d",
                            figures=0, lr_dir=lr_dir, print_tables=False)


def test_center_crop_evaluates_the_central_pixels(hr_dir, tmp_path):
    img = np.arange(10 * 13 * 3, dtype=np.uint8).reshape(10, 13, 3)
    crop = evaluation.center_crop_image(img, 8, multiple=4)
    np.testing.assert_array_equal(crop, img[1:9, 2:10])
    assert evaluation.center_crop_image(img, 100, multiple=4).shape == (8, 12, 3)  # the whole, mod 4

    paths, _ = evaluation.resolve_images(hr_dir=hr_dir)
    cropped = evaluation.evaluate(paths[:1], scales=[4], methods=["bicubic"], output_dir=tmp_path / "a",
                                  figures=0, center_crop=32, print_tables=False)
    hr = evaluation.center_crop_image(io.read_image(paths[0]), 32, 4)
    expected = metrics.psnr_y(imresize(imresize(hr, 0.25), 4), hr, crop_border=4)
    assert cropped["x4"]["bicubic"]["psnr_y"] == pytest.approx(expected, abs=1e-6)
    assert cropped["meta"]["center_crop"] == 32 and "central 32 px" in cropped["meta"]["source"]
