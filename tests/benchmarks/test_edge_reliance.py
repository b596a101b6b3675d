"""benchmarks/edge_reliance.py: the SR generator fed its own, no and HR edges, scored against HR."""

import sys
from pathlib import Path

import numpy as np
import pytest

from skinsr_tf import metrics
from skinsr_tf.data.resize import imresize
from skinsr_tf.data.synthetic import generate_skin_image
from skinsr_tf.models.edge_informed import EdgeInformedSR

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import edge_reliance  # noqa: E402


def _hrs(n=2, size=64):
    return [generate_skin_image(size, size, seed=i) for i in range(n)]


def test_rows_scores_and_change():
    """Own edges change nothing against themselves; bicubic scores what imresize does; an untrained,
    non-residual SR generator reads its edge channel, so the other maps move its output."""
    model = EdgeInformedSR(scale=4, preset="tiny", sr_input="bicubic", edge_input="bicubic",
                           edge_residual=True, edge_source="prior", edge_prior_logit=1.0)
    hrs = _hrs()
    scores = edge_reliance.reliance_scores(model, hrs)
    assert list(scores) == ["bicubic", *edge_reliance.ROWS]
    assert scores[edge_reliance.ROWS[0]]["change"] == 0.0
    assert scores[edge_reliance.ROWS[1]]["change"] > 0.0 and scores[edge_reliance.ROWS[2]]["change"] > 0.0
    bicubic = np.mean([metrics.psnr_y(imresize(imresize(h, 1 / 4), 4), h, crop_border=4) for h in hrs])
    assert scores["bicubic"]["psnr_y"] == pytest.approx(bicubic)
    assert all(row["lpips"] is None for row in scores.values())
    table = edge_reliance.format_table(4, scores, len(hrs), "synthetic")
    assert "| HR edges (Canny of HR) |" in table and "unavailable" in table


def test_a_residual_generator_at_its_start_ignores_edges():
    """With `residual` the zeroed output conv makes every edge row bicubic (up to rounding): nothing
    the edges can change."""
    model = EdgeInformedSR(scale=4, preset="tiny", residual=True, sr_input="bicubic")
    scores = edge_reliance.reliance_scores(model, _hrs(1))
    assert all(scores[row]["change"] == 0.0 for row in edge_reliance.ROWS)
    assert scores["bicubic"]["change"] < 0.5
