"""`detect synth`: georeferenced tiles that mosaic cleanly, truth that matches the pixels."""

from __future__ import annotations

import filecmp
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
import yaml
from click.testing import CliRunner
from rasterio.merge import merge

from detect.cli import main


def _day_mosaic(folder):
    srcs = [rasterio.open(p) for p in sorted(folder.glob("*.tif"))]
    try:
        return merge(srcs, nodata=0)
    finally:
        for s in srcs:
            s.close()


def test_tiles_are_georeferenced_cogs_with_acquisition_time(small_series):
    tiles = sorted((small_series / "drops" / "2026-11-20").glob("*.tif"))
    assert len(tiles) == 2
    for t in tiles:
        with rasterio.open(t) as ds:
            assert ds.crs.to_epsg() == 32636
            assert ds.transform.a == 0.5 and ds.transform.e == -0.5
            assert ds.count == 3 and ds.dtypes[0] == "uint8" and ds.nodata == 0
            assert ds.profile["compress"] == "deflate" and ds.profile["tiled"]
            assert ds.tags()["TIFFTAG_DATETIME"].startswith("2026:11:20")


def test_tiles_of_a_day_overlap_and_agree_where_they_overlap(small_series):
    a, b = sorted((small_series / "drops" / "2026-11-21").glob("*.tif"))
    with rasterio.open(a) as da, rasterio.open(b) as db:
        left = da.bounds.right - db.bounds.left
        assert left > 0  # they overlap
        win_a = da.window(db.bounds.left, da.bounds.bottom, da.bounds.right, da.bounds.top)
        win_b = db.window(db.bounds.left, db.bounds.bottom, da.bounds.right, db.bounds.top)
        assert np.array_equal(da.read(window=win_a.round_offsets().round_lengths()),
                              db.read(window=win_b.round_offsets().round_lengths()))
    mosaic, _ = _day_mosaic(small_series / "drops" / "2026-11-21")
    assert mosaic.shape == (3, 960, 960)
    assert (mosaic > 0).any(axis=0).mean() > 0.85  # nodata only outside the footprint


def _day_pixel(truth_day, obj, ref):
    """Where a truth object appears in the day image, through the recorded misregistration."""
    mis = truth_day["misregistration"]
    cx = (ref.bounds.left + ref.bounds.right) / 2
    cy = (ref.bounds.bottom + ref.bounds.top) / 2
    th = math.radians(mis["rotation_deg"])
    dx, dy = obj["x"] - cx, obj["y"] - cy
    x = cx + dx * math.cos(th) - dy * math.sin(th) + mis["shift_m"][0]
    y = cy + dx * math.sin(th) + dy * math.cos(th) + mis["shift_m"][1]
    col, row = ~ref.transform @ (x, y)
    return int(row), int(col)


def _ncc(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_truth_objects_are_drawn_where_truth_says(small_series):
    """At each truth object the day image no longer looks like the empty base; at a stand that
    is empty on that day it still does."""
    truth = json.loads((small_series / "truth.json").read_text())
    with rasterio.open(small_series / "reference.tif") as ref:
        empty = ref.read().astype(float).mean(axis=0)
        for day in truth["days"][:2]:
            img = _day_mosaic(small_series / "drops" / day["date"])[0].astype(float).mean(axis=0)
            for obj in day["objects"] + [dict(o, empty=True) for o in truth["days"][2]["objects"]
                                         if o["stand"] not in {x["stand"] for x in day["objects"]}]:
                r, c = _day_pixel(day, obj, ref)
                col, row = ~ref.transform @ (obj["x"], obj["y"])
                k = max(int(obj["length_m"] / 2 / 0.5), 8)
                ncc = _ncc(img[r - k:r + k, c - k:c + k],
                           empty[int(row) - k:int(row) + k, int(col) - k:int(col) + k])
                if obj.get("empty"):
                    assert ncc > 0.6, (day["date"], obj["stand"], ncc)
                else:
                    assert ncc < 0.5, (day["date"], obj["type"], ncc)


def test_truth_records_scenario_events_and_clouds(small_series):
    truth = json.loads((small_series / "truth.json").read_text())
    d1, d2, d3 = truth["days"]
    types1 = sorted(o["type"] for o in d1["objects"] if o["zone"] == "apron-main")
    assert types1 == ["An-124", "An-124", "Il-76"]
    kinds = {(e["kind"], e["type"]) for e in d2["events"]}
    assert {("departed", "An-124"), ("arrived", "Il-76"), ("arrived", "Ka-52")} <= kinds
    assert d3["cloud_fraction"] > 0 and d3["clouds"]
    assert not all(o["visible"] for o in d3["objects"])
    for day in truth["days"]:
        assert max(abs(v) for v in day["misregistration"]["shift_m"]) <= 20
        assert abs(day["misregistration"]["rotation_deg"]) <= 1


def test_site_and_zones_are_written(small_series):
    site = yaml.safe_load((small_series / "site.yaml").read_text())
    assert site["crs"] == "EPSG:32636" and site["gsd"] == 0.5
    zones = json.loads((small_series / site["zones"]).read_text())
    names = {f["properties"]["name"] for f in zones["features"]}
    assert {"apron-main", "runway", "helipad", "shelters"} <= names


def test_sample_base_regenerates_from_its_command(sample_base, tmp_path):
    readme = (sample_base.parent / "README.md").read_text()
    line = next(ln.strip() for ln in readme.splitlines() if ln.strip().startswith("detect synth"))
    line = line.replace(" --force", "")
    args = line.split()[1:]
    args[1] = str(tmp_path / "again")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    again = tmp_path / "again"
    files = [p.relative_to(again) for p in again.rglob("*") if p.is_file()]
    assert len(files) == 14
    for f in files:
        if f.suffix == ".tif":
            _assert_same_raster(sample_base / f, again / f)
        else:
            assert filecmp.cmp(sample_base / f, again / f, shallow=False), f


def _assert_same_raster(a: Path, b: Path) -> None:
    """Same grid, tags and pixels, up to 1 DN on a few pixels: OpenCV's CPU-specific vector
    code rounds a handful of interpolated values the other way on another processor."""
    with rasterio.open(a) as da, rasterio.open(b) as db:
        assert da.profile == db.profile and da.tags() == db.tags(), a
        diff = np.abs(da.read().astype(int) - db.read().astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4, (a, diff.max(), (diff > 0).sum())


def test_refuses_non_empty_folder_without_force(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["synth", str(tmp_path), "--days", "1"])
    assert result.exit_code == 2 and "--force" in result.output
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_bad_options_are_click_errors_not_tracebacks(tmp_path):
    for args in (["--days", "0"], ["--crs", "EPSG:999999"], ["--size", "200"], ["--gsd", "x"]):
        proc = subprocess.run([sys.executable, "-m", "detect", "synth", str(tmp_path / "o"), *args],
                              capture_output=True, text=True)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "Error" in proc.stderr


def test_series_in_web_mercator_keeps_ground_scale(tmp_path):
    out = tmp_path / "merc"
    result = CliRunner().invoke(main, ["synth", str(out), "--days", "1", "--size", "960",
                                       "--crs", "EPSG:3857", "--center", "10", "45",
                                       "--tiles", "1"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text())
    with rasterio.open(out / "drops" / "2026-11-20" / "tile_1.tif") as ds:
        assert ds.crs.to_epsg() == 3857
        # 0.5 m on the ground is 0.5 / cos(45 deg) = 0.707 Web Mercator units
        assert abs(ds.transform.a - 0.5 / math.cos(math.radians(45))) < 0.02
        for o in truth["days"][0]["objects"]:
            assert ds.bounds.left < o["x"] < ds.bounds.right
            assert ds.bounds.bottom < o["y"] < ds.bounds.top
