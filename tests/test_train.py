"""Training data for `detect train`: synthetic labels at the model's pixel size."""

from __future__ import annotations

import json

import numpy as np

from detect.detector.model import MODEL_GSD
from detect.detector.train import synthetic_labels
from detect.synth.series import SynthOptions, make_series


def test_a_coarse_synthetic_series_is_taught_at_the_models_pixel_size(tmp_path):
    """A 1 m series is read as `detect` reads it, at 0.5 m: its image doubles and each label
    lands where the same aircraft is labelled on the 0.5 m series of the same seed (moved by
    the two days' different misregistration), at the same size in metres."""
    labels, shifts = {}, {}
    for gsd in (0.5, 1.0):
        root = tmp_path / str(gsd)
        make_series(root, SynthOptions(days=1, seed=5, gsd=gsd, size=int(512 / gsd), tiles=1))
        ((_, image, labels[gsd]),) = synthetic_labels(root)
        assert image.shape[:2] == (int(512 / MODEL_GSD),) * 2
        day = json.loads((root / "truth.json").read_text())["days"][0]
        shifts[gsd] = np.array(day["misregistration"]["shift_m"]) * [1, -1] / MODEL_GSD
    assert len(labels[0.5]) == len(labels[1.0]) >= 5
    moved = shifts[1.0] - shifts[0.5]
    for (k5, c5), (k1, c1) in zip(labels[0.5], labels[1.0], strict=True):
        assert k5 == k1
        assert np.abs(c1 - c5 - moved).max() < 0.1
