"""examples/train.py against a read-only, empty, missing or all-bad data folder."""

import pytest

from skinsr_tf.data.dataset import MANIFEST_NAME
from skinsr_tf.data.synthetic import write_synthetic_set

from .helpers import REPO, assert_clear_error, run, write_corpus

TINY = ("--model=unet", "--preset=tiny", "--scale=4", "--steps=1", "--steps_per_epoch=1", "--batch_size=2",
        "--crop=32", "--val_batches=1")


def _train(home, data_dir, **kw):
    return run(REPO / "examples" / "train.py", *TINY, f"--data_dir={data_dir}", f"--output_dir={home / 'run'}",
               home=home, **kw)


def test_read_only_data_folder_gets_its_manifest_in_the_run_folder(tmp_path):
    data = tmp_path / "data"
    write_synthetic_set(data, n=12, size=48, seed=0)
    for p in [data, *data.iterdir()]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        proc = _train(tmp_path, data, unprivileged=True)
    finally:
        data.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / MANIFEST_NAME).is_file() and (tmp_path / "run" / "final.weights.h5").is_file()
    assert not (data / MANIFEST_NAME).exists()


def test_all_bad_data_folder_is_one_line_and_leaves_nothing(tmp_path):
    write_corpus(tmp_path / "bad")
    for good in ("good.png", "png16.png"):
        (tmp_path / "bad" / good).unlink()
    proc = _train(tmp_path, tmp_path / "bad")
    assert_clear_error(proc, 1, tmp_path / "bad", "cannot train on this data")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_missing_or_empty_data_folder_raises_data_error_before_building(tmp_path, kind):
    from skinsr_tf import training

    data = tmp_path / "data"
    if kind == "empty":
        data.mkdir()
    with pytest.raises(training.DataError, match="cannot train on this data"):
        training.train("unet", {"scale": 4, "preset": "tiny"}, output_dir=tmp_path / "run", data_dir=data,
                       steps=1, steps_per_epoch=1, batch_size=2, crop=32, verbose=0)
    assert not (tmp_path / "run").exists()
