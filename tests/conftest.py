"""Shared test data: the committed sample base, small synthetic series, real Airbus imagery."""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec
from pathlib import Path

import pytest
from click.testing import CliRunner

from detect.cli import main
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


DAYS = ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]


def copy_base(sample_base: Path, dest: Path) -> Path:
    """A writable copy of the sample base without any earlier run's history or reports."""
    shutil.copytree(sample_base, dest, ignore=shutil.ignore_patterns(
        "reports", "history.sqlite*", "reference-first.tif"))
    return dest


def run_day(base: Path, day: str, *extra) -> str:
    result = CliRunner().invoke(main, ["run", str(base / "drops" / day), "--site",
                                       str(base / "site.yaml"), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def sample_run(sample_base, tmp_path_factory) -> Path:
    """The sample base after `detect run` on every day in order."""
    base = copy_base(sample_base, tmp_path_factory.mktemp("run") / "base")
    for day in DAYS:
        run_day(base, day)
    return base


def pytest_collection_modifyitems(config, items):
    """Tests marked `train` need PyTorch and Ultralytics (the `[train]` extra): skipped in the
    runtime install."""
    if find_spec("ultralytics") is not None and find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="needs the [train] extra: pip install -e '.[train]'")
    for item in items:
        if item.get_closest_marker("train"):
            item.add_marker(skip)
