"""benchmarks/periodic_diagnosis.py: the phase pattern it reports is the period-s part alone."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import periodic_diagnosis as diag  # noqa: E402


@pytest.mark.parametrize("s", [4, 8])
def test_phase_amplitude_and_locked_fraction(s):
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (256, 256))
    tile = rng.normal(0, 1, (s, s))
    grid = np.tile(tile, (256 // s, 256 // s))  # exactly period s
    assert diag.phase_amplitude(grid, s) == pytest.approx(tile.std())
    assert diag.phase_amplitude(noise, s) < 0.2  # averages out: ~ 1 / sqrt(256*256 / s^2)
    assert diag.locked_fraction(grid[..., None], s) == pytest.approx(1.0)
    assert diag.locked_fraction(noise[..., None], s) < 0.02
    mixed = np.stack([grid + noise, np.zeros_like(grid)], axis=-1)  # a flat channel is skipped
    assert 0.3 < diag.locked_fraction(mixed, s) < 0.7
