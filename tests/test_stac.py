"""STAC in and out: Items and ItemCollections as drops (local and over http with range reads),
item.json per day, the history as a STAC catalog, and many bases at once on Dask."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from detect.cli import main
from detect.geotiff import write_cog
from tests.conftest import DAYS, copy_base
from tests.http_server import serve


def _item(day: str, hrefs: dict[str, str], role: str = "data", item_id: str | None = None
          ) -> dict:
    item = pystac.Item(id=item_id or f"scene-{day}", geometry=None, bbox=None,
                       datetime=pystac.utils.str_to_datetime(f"{day}T08:34:00Z"),
                       properties={}, collection=None)
    for key, href in hrefs.items():
        item.add_asset(key, pystac.Asset(href, media_type=pystac.MediaType.COG, roles=[role]))
    item.add_asset("thumbnail", pystac.Asset("thumb.png", media_type=pystac.MediaType.PNG,
                                             roles=["thumbnail"]))
    return item.to_dict(include_self_link=False, transform_hrefs=False)


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def _run(base: Path, drop: str, *extra):
    return CliRunner().invoke(main, ["run", drop, "--site", str(base / "site.yaml"), "--quiet",
                                     *extra])


def _same_day(got: Path, want: Path, day: str) -> dict:
    a = json.loads((got / "reports" / day / "report.json").read_text())
    b = json.loads((want / "reports" / day / "report.json").read_text())
    assert a["counts"] == b["counts"] and a["events"] == b["events"]
    return a


@pytest.fixture
def base(sample_base, tmp_path) -> Path:
    return copy_base(sample_base, tmp_path / "base")


def test_an_item_and_an_item_collection_run_as_the_folders_do(base, sample_run, tmp_path):
    day1 = base / "drops" / DAYS[0]
    item = _write(day1 / "item.json", _item(DAYS[0], {"left": "tile_1.tif",
                                                      "right": "tile_2.tif"}))
    result = _run(base, str(item))
    assert result.exit_code == 0, result.output
    report = _same_day(base, sample_run, DAYS[0])
    assert report["acquisition"]["stac"][0]["id"] == f"scene-{DAYS[0]}"
    day2 = base / "drops" / DAYS[1]
    items = [_item(DAYS[1], {"visual": str(day2 / f"tile_{i}.tif")}, "visual", f"t{i}")
             for i in (1, 2)]
    collection = _write(tmp_path / "search.json", {"type": "FeatureCollection",
                                                   "features": items})
    result = _run(base, str(collection))
    assert result.exit_code == 0, result.output
    report = _same_day(base, sample_run, DAYS[1])
    assert [s["id"] for s in report["acquisition"]["stac"]] == ["t1", "t2"]
    assert report["acquisition"]["stac"][0]["assets"] == [str(day2 / "tile_1.tif")]


def _big_scene(base: Path, day: str, path: Path, margin: int = 1536) -> Path:
    """The day's tiles inside a scene 4x as wide and high, textured all over: a provider's
    scene of which the base is a small part."""
    tiles = sorted((base / "drops" / day).glob("*.tif"))
    with rasterio.open(tiles[0]) as ds:
        t, crs, tags = ds.transform, ds.crs, ds.tags()
        texture = ds.read()
    width = height = texture.shape[1] + 2 * margin
    x0, y0 = t.c - margin * t.a, t.f + margin * -t.e
    scene = np.tile(texture, (1, height // texture.shape[1] + 1, width // texture.shape[2] + 1))
    scene = np.ascontiguousarray(scene[:, :height, :width])
    for tile in reversed(tiles):  # the first tile wins where they overlap, as in ingest
        with rasterio.open(tile) as ds:
            col = round((ds.transform.c - x0) / t.a)
            row = round((y0 - ds.transform.f) / -t.e)
            scene[:, row:row + ds.height, col:col + ds.width] = ds.read()
    write_cog(path, scene, from_origin(x0, y0, t.a, -t.e), crs, tags=tags)
    return path


def test_items_over_http_read_a_small_part_of_each_scene_despite_503s(base, sample_run,
                                                                      tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    scene = _big_scene(base, DAYS[0], served / "scene.tif")
    _write(served / "item.json", _item(DAYS[0], {"visual": "scene.tif"}, "visual"))
    with serve(served, refuse_first=2) as (url, sent):  # transient errors are retried
        result = _run(base, f"{url}/item.json")
    assert result.exit_code == 0, result.output
    report = json.loads((base / "reports" / DAYS[0] / "report.json").read_text())
    want = json.loads((sample_run / "reports" / DAYS[0] / "report.json").read_text())
    assert report["counts"]["by_class"] == want["counts"]["by_class"]
    assert report["acquisition"]["sources"][0]["file"] == f"{url}/scene.tif"
    size = scene.stat().st_size
    assert 0 < sent["scene.tif"] < 0.15 * size, (sent, size)  # the base is 1/16 of it


def test_s3_hrefs_are_read_with_the_aws_environment(base, sample_run, tmp_path,
                                                    monkeypatch):
    served = tmp_path / "served"
    (served / "bucket").mkdir(parents=True)
    for tile in sorted((base / "drops" / DAYS[0]).glob("*.tif")):
        shutil.copy(tile, served / "bucket" / tile.name)
    item = _write(tmp_path / "item.json", _item(DAYS[0], {
        "a": "s3://bucket/tile_1.tif", "b": "s3://bucket/tile_2.tif"}))
    with serve(served) as (url, sent):  # an S3-compatible endpoint, path-style, no TLS
        for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                           "AWS_S3_ENDPOINT": url.removeprefix("http://"), "AWS_HTTPS": "NO",
                           "AWS_VIRTUAL_HOSTING": "FALSE"}.items():
            monkeypatch.setenv(key, value)
        result = _run(base, str(item))
    assert result.exit_code == 0, result.output
    _same_day(base, sample_run, DAYS[0])
    assert sent["tile_1.tif"] > 0 and sent["tile_2.tif"] > 0


def test_a_broken_href_fails_in_one_line_and_stores_nothing(base, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _write(served / "item.json", _item(DAYS[0], {"visual": "gone.tif"}, "visual"))
    with serve(served) as (url, _):
        result = _run(base, f"{url}/item.json")
        missing = _run(base, f"{url}/nothing.json")
    for r, named in ((result, f"{url}/gone.tif"), (missing, f"{url}/nothing.json")):
        assert r.exit_code == 1 and "Traceback" not in r.output, r.output
        assert [ln for ln in r.output.splitlines() if ln.startswith("Error:")][0].count(named)
    assert not (base / "history.sqlite").exists() or not list((base / "reports").glob("*"))


@pytest.mark.parametrize("item, message", [
    ({"type": "FeatureCollection", "features": []}, "holds no STAC items"),
    ({"type": "Feature"}, "not a STAC Item"),
    ({"type": "FeatureCollection", "features": [
        _item(DAYS[0], {"a": "a.tif"}, item_id="a"), _item(DAYS[1], {"b": "b.tif"},
                                                            item_id="b")]}, "2 dates"),
    (_item(DAYS[0], {"a": "a.tif"}, role="metadata"), "no image asset"),
])
def test_unusable_stac_is_refused_in_one_line(base, tmp_path, item, message):
    result = _run(base, str(_write(tmp_path / "item.json", item)))
    assert result.exit_code == 1 and message in result.output, result.output


def test_site_names_the_asset_to_read(base, sample_run):
    (base / "site.yaml").write_text((base / "site.yaml").read_text() + "stac_asset: left\n")
    day1 = base / "drops" / DAYS[0]
    item = _write(day1 / "item.json", _item(DAYS[0], {"left": "tile_1.tif",
                                                      "right": "tile_2.tif"}))
    result = _run(base, str(item))
    assert result.exit_code == 0, result.output
    report = json.loads((base / "reports" / DAYS[0] / "report.json").read_text())
    assert report["acquisition"]["stac"][0]["assets"] == [str(day1 / "tile_1.tif")]


def test_each_day_writes_a_valid_item_and_the_history_a_catalog(sample_run, tmp_path):
    item = pystac.Item.from_file(str(sample_run / "reports" / DAYS[1] / "item.json"))
    item.validate()
    report = json.loads((sample_run / "reports" / DAYS[1] / "report.json").read_text())
    assert item.properties["detect:total_aircraft"] == report["total_aircraft"]
    assert item.datetime.date().isoformat() == DAYS[1]
    for asset in item.assets.values():
        assert Path(asset.get_absolute_href()).is_file()
    result = CliRunner().invoke(main, ["history", "--site", str(sample_run / "site.yaml"),
                                       "--stac", str(tmp_path / "stac")])
    assert result.exit_code == 0, result.output
    catalog = pystac.Catalog.from_file(str(tmp_path / "stac" / "catalog.json"))
    catalog.validate_all()
    items = sorted(catalog.get_items(recursive=True), key=lambda i: i.datetime)
    assert [i.datetime.date().isoformat() for i in items] == DAYS
    assert all(Path(a.get_absolute_href()).is_file() for i in items for a in i.assets.values())


def test_watch_takes_stac_items_in_the_inbox(base, sample_run, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    day = base / "drops" / DAYS[0]
    _write(inbox / f"{DAYS[0]}.json", _item(DAYS[0], {"a": str(day / "tile_1.tif"),
                                                      "b": str(day / "tile_2.tif")}))
    _write(inbox / "broken.json", {"type": "Feature"})
    args = ["watch", str(inbox), "--site", str(base / "site.yaml"), "--once", "--settle", "0",
            "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["processed"] == [f"{DAYS[0]}.json"] and summary["failed"] == ["broken.json"]
    assert (inbox / "failed" / "broken.json.error.txt").read_text().strip()
    _same_day(base, sample_run, DAYS[0])
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and json.loads(again.stdout.splitlines()[-1])["skipped"]


# -- many bases on Dask ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_bases(tmp_path_factory) -> list[Path]:
    from detect.synth.series import SynthOptions, make_series

    root = tmp_path_factory.mktemp("bases")
    bases = []
    for seed in (3, 4):
        out = root / f"base{seed}"
        make_series(out, SynthOptions(days=3, seed=seed, size=960, tiles=1))
        bases.append(out)
    return bases


def _reports(base: Path) -> dict:
    out = {}
    for path in sorted((base / "reports").glob("*/report.json")):
        report = json.loads(path.read_text())
        report.pop("timings")
        out[path.parent.name] = report
    return out


def test_batch_on_two_workers_writes_what_runs_in_order_write(two_bases, tmp_path):
    one_by_one = [Path(shutil.copytree(b, tmp_path / "seq" / b.name)) for b in two_bases]
    for b in one_by_one:
        for drop in sorted((b / "drops").iterdir()):
            result = _run(b, str(drop))
            assert result.exit_code == 0, result.output
    parallel = [Path(shutil.copytree(b, tmp_path / "par" / b.name)) for b in two_bases]
    bad = parallel[1] / "drops" / "2026-12-30"
    bad.mkdir()
    (bad / "tile.tif").write_bytes(b"II*\x00broken")
    result = CliRunner().invoke(main, ["batch", *map(str, parallel), "--workers", "2",
                                       "--json"])
    assert result.exit_code == 4, result.output  # the corrupt drop
    rows = {r["base"]: r for r in json.loads(result.stdout)}
    assert rows["base3"]["done"] == 3 and rows["base3"]["failed"] == 0
    assert rows["base4"]["done"] == 3 and rows["base4"]["failed"] == 1
    for seq, par in zip(one_by_one, parallel, strict=True):
        assert _reports(par) == _reports(seq)
    assert bad.is_dir()  # a failed drop stays where it was
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        again = CliRunner().invoke(main, ["batch", *map(str, parallel), "--scheduler",
                                          cluster.scheduler_address])
    assert again.exit_code == 4 and "base3     0        3" in again.output, again.output
