"""Shared test data: the committed sample base, small synthetic series, real Airbus imagery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detect.synth.series import SynthOptions, make_series

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "imagery" / "sample-base"
AIRBUS = ROOT.parent / "shared" / "data" / "airbus-aircraft"


@pytest.fixture(scope="session")
def sample_base() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture(scope="session")
def small_series(tmp_path_factory) -> Path:
    """Three days (the third one clouded) at 0.5 m, 960 px, in two tiles."""
    out = tmp_path_factory.mktemp("series")
    make_series(out, SynthOptions(days=3, seed=3, size=960, tiles=2))
    return out


@pytest.fixture(scope="session")
def airbus() -> Path:
    if not (AIRBUS / "annotations.csv").exists():
        pytest.skip("real Airbus imagery not available (../shared/data/airbus-aircraft)")
    return AIRBUS
