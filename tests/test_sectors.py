"""A base cut into sectors: the own parts tile the grid, and the daily run on a base cut into
sectors reports what it reports on the whole grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from detect.daily import RunOptions, run_day
from detect.detector.model import DEFAULT_WEIGHTS
from detect.grid import Grid
from detect.sectors import SectorParams, sectors
from detect.site import load_site
from tests.conftest import DAYS, copy_base

GRID = Grid("EPSG:32637", from_origin(500000, 4000000, 0.5, 0.5), 5000, 3000)


def test_a_grid_of_up_to_8_mpx_is_one_sector_and_a_larger_one_is_cut():
    small = GRID.part(0, 0, 3000, 2500)
    (only,) = sectors(small)
    assert only.grid == small and only.own == (slice(0, 3000), slice(0, 2500))
    assert len(sectors(GRID)) == 3 * 2


def test_the_own_parts_tile_the_grid_and_each_sector_reads_its_margin():
    cut = SectorParams(max_whole_px=0, own_px=2048, margin_m=128)
    parts = sectors(GRID, cut)
    assert len(parts) == 3 * 2
    owned = np.zeros(GRID.shape, int)
    for s in parts:
        owned[s.own_in_base] += 1
        rows, cols = s.own_in_base
        # the margin (256 px at 0.5 m) is read wherever the grid goes on
        assert s.row0 == max(rows.start - 256, 0) and s.col0 == max(cols.start - 256, 0)
        assert s.row0 + s.grid.height == min(rows.stop + 256, GRID.height)
        assert s.grid.transform == GRID.transform @ GRID.transform.translation(s.col0, s.row0)
        assert s.owns(cols.start, rows.start) and not s.owns(cols.stop, rows.start)
    assert (owned == 1).all()


@pytest.fixture(scope="module")
def cut_run(sample_base, tmp_path_factory):
    """The sample base's first three days, its 1024 px grid cut into four sectors."""
    base = copy_base(sample_base, tmp_path_factory.mktemp("cut") / "base")
    site = load_site(base / "site.yaml")
    cut = SectorParams(max_whole_px=0, own_px=512)
    for day in DAYS[:3]:
        run_day(RunOptions(base / "drops" / day, site, DEFAULT_WEIGHTS, cut=cut))
    return base


def _report(base, day) -> dict:
    return json.loads((base / "reports" / day / "report.json").read_text())


def test_a_base_cut_into_sectors_reports_what_the_whole_grid_does(cut_run, sample_run):
    for day in DAYS[:3]:
        cut, whole = _report(cut_run, day), _report(sample_run, day)
        registration = cut["acquisition"]["registration"]
        assert len(registration["sectors"]) == 4 and registration["success"]
        assert registration["tie_points"] == sum(s["tie_points"]
                                                 for s in registration["sectors"])
        assert cut["total_aircraft"] == whole["total_aircraft"]
        assert cut["event_counts"] == whole["event_counts"]
        assert cut["counts"]["by_class"] == whole["counts"]["by_class"]
        for key in ("changed_fraction", "unknown_fraction"):
            assert cut["changes"][key] == pytest.approx(whole["changes"][key], abs=0.002)
        assert abs(cut["changes"]["regions"] - whole["changes"]["regions"]) <= 2


def test_the_stored_rasters_of_a_cut_base_cover_the_whole_grid(cut_run, sample_run):
    folder, whole = cut_run / "reports" / DAYS[1], sample_run / "reports" / DAYS[1]
    with rasterio.open(folder / "image.tif") as a, rasterio.open(whole / "image.tif") as b:
        assert (a.width, a.height, a.transform) == (b.width, b.height, b.transform)
        seen_a, seen_b = a.read_masks(1) > 0, b.read_masks(1) > 0
        assert (seen_a == seen_b).mean() > 0.999
        diff = np.abs(a.read().astype(int) - b.read().astype(int))[:, seen_a & seen_b]
        assert np.median(diff) <= 2  # registered and normalised alike on every sector
    with rasterio.open(folder / "change.tif") as ds:
        assert ds.count == 2 and (ds.width, ds.height) == (a.width, a.height)


def test_a_sector_that_cannot_be_registered_is_left_unseen_and_reported(sample_base, tmp_path):
    """Tile 1 of a day replaced by noise: the sectors over it find no tie points, so they are
    stored unseen and listed as failed, while the others are registered and reported."""
    base = copy_base(sample_base, tmp_path / "base")
    site = load_site(base / "site.yaml")
    cut = SectorParams(max_whole_px=0, own_px=512, margin_m=20)
    run_day(RunOptions(base / "drops" / DAYS[0], site, DEFAULT_WEIGHTS, cut=cut))
    tile = base / "drops" / DAYS[1] / "tile_1.tif"
    with rasterio.open(tile, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:
        noise = np.random.default_rng(0).integers(1, 256, (ds.count, ds.height, ds.width))
        ds.write(noise.astype(np.uint8))
    report, folder = run_day(RunOptions(tile.parent, site, DEFAULT_WEIGHTS, cut=cut))
    sectors_ = report["acquisition"]["registration"]["sectors"]
    failed = [s for s in sectors_ if not s["success"]]
    assert failed and len(failed) < len(sectors_)
    assert all("registration failed" in s["error"] for s in failed)
    with rasterio.open(folder / "unseen.tif") as ds:
        unseen = ds.read(1) > 0
    for s in failed:
        (r0, r1), (c0, c1) = s["rows"], s["cols"]
        assert unseen[r0:r1, c0:c1].all()
    assert report["acquisition"]["unknown_fraction"] >= sum(
        (s["rows"][1] - s["rows"][0]) * (s["cols"][1] - s["cols"][0]) for s in failed
    ) / unseen.size - 1e-6
