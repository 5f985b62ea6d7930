"""Faults a hostile but realistic user meets: bad tiles, sites, drops and options, interrupted
and concurrent runs, full or read-only disks, damaged or locked histories, the inbox watch.
Each case asserts the exit code, a one-line message without a traceback, and that the
history and the reports are as they were (or, where the input is fine, the right result)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner
from rasterio.transform import from_origin

from detect.cli import main
from detect.history import writer_lock
from tests.conftest import DAYS, copy_base

# -- fixtures and checks ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(sample_base, tmp_path_factory) -> Path:
    """The sample base with its first day stored."""
    base = copy_base(sample_base, tmp_path_factory.mktemp("seeded") / "base")
    _ok(_run(base, base / "drops" / DAYS[0]))
    return base


@pytest.fixture
def base(seeded, tmp_path) -> Path:
    """A private copy of the seeded base, history and reports included."""
    return Path(shutil.copytree(seeded, tmp_path / "base"))


def _run(base: Path, drop: Path, *extra: str):
    return CliRunner().invoke(main, ["run", str(drop), "--site", str(base / "site.yaml"),
                                     "--quiet", *extra])


def _ok(result) -> None:
    assert result.exit_code == 0, result.output


def _failed(result, code: int, message: str) -> None:
    """Exit `code` with `message` on one `Error:` line, and no traceback."""
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out and not isinstance(result.exception, AssertionError), out
    if code == 2:  # click's usage errors
        assert "Error:" in out and message in out, out
        return
    errors = [ln for ln in out.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], out


def _state(base: Path) -> tuple:
    """The history's rows and every report file's content: what must survive a failure."""
    db = base / "history.sqlite"
    rows = None
    if db.exists():
        con = sqlite3.connect(db)
        rows = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("acquisitions", "objects", "events", "reports")}
        con.close()
    files = {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((base / "reports").rglob("*")) if p.is_file()}
    return rows, files


@contextmanager
def intact(base: Path):
    """Assert that the block leaves history and reports as they were, with no leftovers."""
    before = _state(base)
    yield
    assert _state(base) == before
    assert not [p for p in (base / "reports").iterdir() if p.name.startswith(".")]


def _tile(base: Path, day: str = DAYS[1]) -> Path:
    return base / "drops" / day / "tile_1.tif"


def _drop(tmp_path: Path, name: str, **files: bytes) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for fname, data in files.items():
        (folder / fname.replace("_", ".")).write_bytes(data)
    return folder


def _write(path: Path, data: np.ndarray, **profile) -> Path:
    prof = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1],
            "count": data.shape[0], "dtype": data.dtype, **profile}
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(data)
    return path


def _pixels(base: Path) -> tuple[np.ndarray, dict]:
    with rasterio.open(_tile(base)) as ds:
        return ds.read(), {"crs": ds.crs, "transform": ds.transform}


# -- tiles -----------------------------------------------------------------------------------


def _zero_byte(base, tmp):
    return _drop(tmp, "2026-12-01", tile_tif=b"")


def _random_bytes(base, tmp):
    return _drop(tmp, "2026-12-01", tile_tif=np.random.default_rng(1).bytes(5000))


def _png_renamed(base, tmp):
    import cv2

    ok, png = cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))
    return _drop(tmp, "2026-12-01", tile_tif=png.tobytes())


def _no_crs(base, tmp):
    data, _ = _pixels(base)
    folder = tmp / "2026-12-01"
    folder.mkdir()
    _write(folder / "tile.tif", data)
    return folder


def _truncated(base, tmp):
    whole = _tile(base).read_bytes()
    return _drop(tmp, "2026-12-01", tile_tif=whole[:len(whole) // 2])


def _all_nodata(base, tmp):
    data, geo = _pixels(base)
    folder = tmp / "2026-12-01"
    folder.mkdir()
    _write(folder / "tile.tif", np.zeros_like(data), nodata=0, **geo)
    return folder


def _far_away(base, tmp):
    data, geo = _pixels(base)
    t = geo["transform"]
    folder = tmp / "2026-12-01"
    folder.mkdir()
    _write(folder / "tile.tif", data, crs=geo["crs"],
           transform=from_origin(t.c + 50_000, t.f, t.a, -t.e))
    return folder


def _text_only(base, tmp):
    return _drop(tmp, "2026-12-01", notes_txt=b"no imagery today")


def _all_cloud(base, tmp):
    data, geo = _pixels(base)
    folder = tmp / "2026-12-01"
    folder.mkdir()
    _write(folder / "tile.tif", np.full_like(data, 250), **geo)
    return folder


@pytest.mark.parametrize("make, message", [
    (_zero_byte, "cannot read"),
    (_random_bytes, "cannot read"),
    (_png_renamed, "no CRS"),
    (_no_crs, "no CRS"),
    (_truncated, "tile.tif"),
    (_all_nodata, "no valid pixels"),
    (_far_away, "does not overlap"),
    (_text_only, "no raster files"),
    (_all_cloud, "cloud"),
], ids=lambda v: getattr(v, "__name__", "")[1:])
def test_a_bad_tile_fails_in_one_line_and_stores_nothing(base, tmp_path, make, message):
    drop = make(base, tmp_path)
    with intact(base):
        _failed(_run(base, drop, "--date", drop.name), 1, message)


def _other_crs(base: Path, tmp_path: Path) -> Path:
    from rasterio.warp import Resampling, reproject
    from rasterio.warp import calculate_default_transform as default

    folder = tmp_path / DAYS[1]
    folder.mkdir()
    for src in sorted((base / "drops" / DAYS[1]).glob("*.tif")):
        with rasterio.open(src) as ds:
            t, w, h = default(ds.crs, "EPSG:3857", ds.width, ds.height, *ds.bounds)
            prof = {**ds.profile, "crs": "EPSG:3857", "transform": t, "width": w, "height": h,
                    "driver": "GTiff"}
            with rasterio.open(folder / src.name, "w", **prof) as out:
                out.update_tags(**ds.tags())
                for b in range(1, ds.count + 1):
                    reproject(rasterio.band(ds, b), rasterio.band(out, b),
                              resampling=Resampling.bilinear)
    return folder


def _sixteen_bit(base: Path, tmp_path: Path) -> Path:
    folder = tmp_path / DAYS[1]
    folder.mkdir()
    for src in sorted((base / "drops" / DAYS[1]).glob("*.tif")):
        with rasterio.open(src) as ds:
            data = ds.read().astype(np.uint16) * 16 + 100
            prof = {**ds.profile, "dtype": "uint16", "driver": "GTiff", "nodata": None}
            with rasterio.open(folder / src.name, "w", **prof) as out:
                out.update_tags(**ds.tags())
                out.write(data)
    return folder


@pytest.mark.parametrize("make", [_other_crs, _sixteen_bit], ids=["other-crs", "16-bit"])
def test_a_tile_in_another_crs_or_bit_depth_gives_the_same_day(base, seeded, sample_run,
                                                              tmp_path, make):
    _ok(_run(base, make(base, tmp_path)))
    got = json.loads((base / "reports" / DAYS[1] / "report.json").read_text())
    want = json.loads((sample_run / "reports" / DAYS[1] / "report.json").read_text())
    assert got["counts"]["by_class"] == want["counts"]["by_class"]
    assert sorted(e["kind"] for e in got["events"]) == sorted(e["kind"] for e in want["events"])


# -- the site --------------------------------------------------------------------------------


def _edit_site(base: Path, **changes) -> None:
    site = yaml.safe_load((base / "site.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            site.pop(key, None)
        else:
            site[key] = value
    (base / "site.yaml").write_text(yaml.safe_dump(site))


def _edit_zones(base: Path, edit) -> None:
    zones = json.loads((base / "zones.geojson").read_text())
    edit(zones)
    (base / "zones.geojson").write_text(json.dumps(zones))


def _bow_tie(zones):
    ring = zones["features"][0]["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]


def _metres(zones):
    zones["features"][0]["geometry"]["coordinates"] = [[[500000, 3900000], [500100, 3900000],
                                                        [500100, 3900100], [500000, 3900000]]]


def _unnamed(zones):
    zones["features"][1]["properties"] = {}


def _point(zones):
    zones["features"][0]["geometry"] = {"type": "Point", "coordinates": [35.9, 35.4]}


def _no_features(zones):
    zones["features"] = []


def _bad_crs_member(zones):
    zones["crs"] = {"type": "name", "properties": {"name": "EPSG:999999"}}


RULE = {"name": "r", "metric": "count", "op": ">", "value": 1}
SITE_CASES = [
    ({"rule": [RULE]}, None, "unknown field `rule`: did you mean `rules`?"),
    ({"zone": "zones.geojson"}, None, "unknown field `zone`"),
    ({"zones": None}, None, "missing field `zones`"),
    ({"gsd": 0}, None, "field `gsd`"),
    ({"gsd": "half a metre"}, None, "field `gsd`"),
    ({"crs": "EPSG:999999"}, None, "unknown CRS"),
    ({"reference": "nowhere.tif"}, None, "does not exist"),
    ({"zones": "nowhere.geojson"}, None, "cannot read"),
    ({"types": ["Boeing 9000"]}, None, "not in the catalogue"),
    ({"field": "naval"}, None, "field `field`"),
    ({"notify": "json://x"}, None, "field `notify`"),
    ({"rules": [{**RULE, "op": "~"}]}, None, "field `op`"),
    ({"rules": [{**RULE, "zone": "nowhere"}]}, None, "field `zone`"),
    ({"rules": [{**RULE, "metric": "speed"}]}, None, "field `metric`"),
    ({}, _bow_tie, "not a valid polygon (Self-intersection"),
    ({}, _metres, "not WGS84 longitude/latitude"),
    ({}, _unnamed, "no `name` property"),
    ({}, _point, "must be a Polygon"),
    ({}, _no_features, "holds no zones"),
    ({}, _bad_crs_member, "`crs` member"),
]


@pytest.mark.parametrize("changes, zones, message", SITE_CASES,
                         ids=[m.split(":")[0][:30] for *_, m in SITE_CASES])
def test_a_bad_site_is_refused_before_any_work(base, changes, zones, message):
    _edit_site(base, **changes)
    if zones:
        _edit_zones(base, zones)
    with intact(base):
        started = time.perf_counter()
        _failed(_run(base, base / "drops" / DAYS[1]), 1, message)
        assert time.perf_counter() - started < 5  # before ingest, not after the pipeline


@pytest.mark.parametrize("text, message", [
    ("name: [unclosed", "cannot read"),
    ("- just\n- a list\n", "must be a mapping"),
])
def test_a_site_yaml_that_is_not_yaml_fields_is_refused(base, text, message):
    (base / "site.yaml").write_text(text)
    with intact(base):
        _failed(_run(base, base / "drops" / DAYS[1]), 1, message)


def test_zones_in_metres_with_their_crs_declared_are_read(base, seeded):
    from detect.site import load_site

    site = load_site(seeded / "site.yaml")
    zones = json.loads((base / "zones.geojson").read_text())
    zones["crs"] = {"type": "name", "properties": {"name": site.crs}}
    for f, z in zip(zones["features"], site.zones, strict=True):
        f["geometry"] = {"type": "Polygon",
                         "coordinates": [[list(c) for c in z.polygon.exterior.coords]]}
    (base / "zones.geojson").write_text(json.dumps(zones))
    again = load_site(base / "site.yaml")
    for a, b in zip(again.zones, site.zones, strict=True):
        assert a.polygon.symmetric_difference(b.polygon).area < 1e-3


def test_zones_changed_since_the_day_before_ask_to_run_the_earlier_days_again(base):
    """The base grid follows the zones: a day stored on the old grid cannot be compared in
    windows of the new one, so the run stops and says what to do."""
    zones = json.loads((base / "zones.geojson").read_text())
    zones["features"] = zones["features"][:1]  # one zone left: a smaller base grid
    (base / "zones.geojson").write_text(json.dumps(zones))
    with intact(base):
        _failed(_run(base, base / "drops" / DAYS[1]), 1, "run the earlier days again")


# -- drops -----------------------------------------------------------------------------------


def test_an_empty_drop_is_refused(base, tmp_path):
    with intact(base):
        _failed(_run(base, _drop(tmp_path, "2026-12-01")), 1, "no raster files")


def test_an_undated_drop_asks_for_a_date(base, tmp_path):
    data, geo = _pixels(base)
    folder = tmp_path / "latest"
    folder.mkdir()
    _write(folder / "tile.tif", data, **geo)
    with intact(base):
        _failed(_run(base, folder), 1, "--date")


@pytest.mark.parametrize("date", ["2026-12-01", DAYS[0]])
def test_the_same_files_again_are_a_duplicate_or_a_rerun(base, tmp_path, date):
    copy = Path(shutil.copytree(base / "drops" / DAYS[0], tmp_path / "again"))
    if date == DAYS[0]:  # the same day again: replaced by the same objects and events
        before = _state(base)[0]
        _ok(_run(base, copy, "--date", date))
        after = _state(base)[0]
        assert all(after[t] == before[t] for t in ("objects", "events"))
        return
    with intact(base):
        _failed(_run(base, copy, "--date", date), 1, "duplicate drop")


def test_a_day_stored_out_of_order_is_tracked_against_its_neighbours(base, sample_run):
    for day in (DAYS[2], DAYS[1]):
        _ok(_run(base, base / "drops" / day))
    got, want = _state(base)[0], _state(sample_run)[0]
    for table in ("objects", "events"):
        assert got[table] == [r for r in want[table] if r[0] in DAYS[:3]], table


# -- interrupted, full, read-only --------------------------------------------------------------


@pytest.mark.parametrize("stage", ["detect", "html"])
def test_sigkill_at_any_stage_leaves_history_and_reports_as_they_were(base, stage):
    cmd = [sys.executable, "-m", "detect", "run", str(base / "drops" / DAYS[1]), "--site",
           str(base / "site.yaml")]
    with intact(base):
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        for line in proc.stderr:
            if line.strip().endswith(f"] {stage}"):  # killed as the stage begins: the html
                proc.send_signal(signal.SIGKILL)    # stage may take under a second
                break
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        for leftover in (base / "reports").glob(".*.partial"):  # the next run clears these
            shutil.rmtree(leftover)
    con = sqlite3.connect(base / "history.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    _ok(_run(base, base / "drops" / DAYS[1]))


@contextmanager
def _tmpfs(path: Path, size: str, read_only: bool = False):
    """A small tmpfs at `path` (skips where this process may not mount one)."""
    path.mkdir()
    opts = f"size={size}" + (",ro" if read_only else "")
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
            capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("size", ["64k", "3m"])
def test_a_full_disk_fails_in_one_line_before_the_history_commits(base, tmp_path, size):
    with _tmpfs(tmp_path / "small", size) as small, intact(base):
        _failed(_run(base, base / "drops" / DAYS[1], "--out", str(small / "day")), 1,
                 "the disk is full")
        assert not list(small.iterdir())


def test_a_read_only_report_folder_fails_in_one_line(base, tmp_path):
    if os.geteuid() == 0:
        ctx = _tmpfs(tmp_path / "ro", "1m", read_only=True)
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        ctx = contextmanager(lambda: (yield ro))()
    with ctx as ro, intact(base):
        _failed(_run(base, base / "drops" / DAYS[1], "--out", str(ro / "day")), 1,
                 "cannot write or read")


def test_an_out_folder_under_a_file_fails_in_one_line(base, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with intact(base):
        _failed(_run(base, base / "drops" / DAYS[1], "--out", str(tmp_path / "file" / "day")),
                 1, "is a file, not a folder")


# -- the history -----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_history_is_named_and_left_alone(base, damage):
    db = base / "history.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = db.read_bytes()
    db.write_bytes(b"not a database at all " * 100 if damage == "garbage"
                   else data[:len(data) // 3])
    before = db.read_bytes()
    result = _run(base, base / "drops" / DAYS[1])
    _failed(result, 1, f"history {db}")
    assert "damaged" in result.output and db.read_bytes() == before
    assert not (base / "reports" / DAYS[1]).exists()


def test_a_history_locked_by_another_program_is_reported(base, monkeypatch):
    monkeypatch.setattr("detect.history.BUSY_TIMEOUT_S", 0.5)
    other = sqlite3.connect(base / "history.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with intact(base):
            _failed(_run(base, base / "drops" / DAYS[1]), 1, "locked by another program")
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_history_commands_on_a_damaged_history_fail_in_one_line(base):
    (base / "history.sqlite").write_bytes(b"\x00" * 4096)
    for args in (["history"], ["report", "--date", DAYS[0]]):
        result = CliRunner().invoke(main, [*args, "--site", str(base / "site.yaml")])
        _failed(result, 1, "damaged")


# -- one writer per base ---------------------------------------------------------------------


def test_a_second_run_with_no_wait_exits_5_while_another_writes(base):
    with writer_lock(base / "history.sqlite"), intact(base):
        _failed(_run(base, base / "drops" / DAYS[1], "--no-wait"), 5, "another run")


def test_a_second_run_waits_for_the_first_and_says_so(base):
    release = threading.Event()

    def hold():
        with writer_lock(base / "history.sqlite"):
            held.set()
            release.wait(10)

    held = threading.Event()
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(1.0, release.set).start()
    result = CliRunner().invoke(main, ["run", str(base / "drops" / DAYS[1]), "--site",
                                       str(base / "site.yaml")])
    holder.join()
    _ok(result)
    assert "waiting for it to finish" in result.output


def test_concurrent_runs_store_what_runs_one_after_the_other_store(seeded, sample_run,
                                                                   tmp_path):
    base = Path(shutil.copytree(seeded, tmp_path / "base"))
    _ok(_run(base, base / "drops" / DAYS[1]))
    cmds = [[sys.executable, "-m", "detect", "-q", "run", str(base / "drops" / d), "--site",
             str(base / "site.yaml")] for d in (DAYS[3], DAYS[2])]
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    got, want = _state(base)[0], _state(sample_run)[0]
    for table in ("objects", "events"):
        assert got[table] == [r for r in want[table] if r[0] in DAYS[:4]], table
    report = json.loads((base / "reports" / DAYS[3] / "report.json").read_text())
    assert report["previous_date"] == DAYS[2]


# -- the inbox watch -------------------------------------------------------------------------


def _watch(base: Path, inbox: Path, *extra: str):
    return CliRunner().invoke(main, ["watch", str(inbox), "--site", str(base / "site.yaml"),
                                     "--once", *extra])


def test_watch_once_waits_for_drops_copied_a_second_ago(base, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copytree(base / "drops" / DAYS[1], inbox / DAYS[1])
    started = time.perf_counter()
    result = _watch(base, inbox, "--settle", "2", "--json")
    _ok(result)
    assert json.loads(result.stdout.splitlines()[-1])["processed"] == [DAYS[1]]
    assert time.perf_counter() - started >= 1.0
    assert (base / "reports" / DAYS[1] / "report.json").exists()


def test_watch_once_exits_4_when_a_drop_failed(base, tmp_path):
    inbox = tmp_path / "inbox"
    _drop(inbox.parent, "inbox")
    _drop(inbox, "2026-12-01", tile_tif=b"II*\x00broken")
    with intact(base):
        result = _watch(base, inbox, "--settle", "0")
    assert result.exit_code == 4 and "failed 1" in result.output
    assert (inbox / "failed" / "2026-12-01" / "error.txt").read_text().strip()


@pytest.mark.parametrize("link", ["folder", "file"])
def test_watch_refuses_a_drop_that_links_outside_the_inbox(base, tmp_path, link):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    shutil.copytree(base / "drops" / DAYS[1], outside)
    if link == "folder":
        (inbox / DAYS[1]).symlink_to(outside, target_is_directory=True)
    else:
        (inbox / DAYS[1]).mkdir()
        (inbox / DAYS[1] / "tile_1.tif").symlink_to(outside / "tile_1.tif")
    listing = sorted(p.name for p in outside.iterdir())
    with intact(base):
        result = _watch(base, inbox, "--settle", "0")
    assert result.exit_code == 4 and "outside the inbox" in result.output
    assert sorted(p.name for p in outside.iterdir()) == listing  # no error.txt written there


def test_watch_on_a_damaged_history_stops_without_moving_drops(base, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copytree(base / "drops" / DAYS[1], inbox / DAYS[1])
    (base / "history.sqlite").write_bytes(b"\x00" * 4096)
    _failed(_watch(base, inbox, "--settle", "0"), 1, "damaged")
    assert (inbox / DAYS[1]).is_dir() and not (inbox / "failed").exists()


# -- options ---------------------------------------------------------------------------------


def _site_args(base: Path) -> list[str]:
    return ["--site", str(base / "site.yaml")]


OPTION_CASES = [
    (lambda b: ["run", str(b / "drops" / DAYS[1]), *_site_args(b), "--conf", "2"], 2,
     "--conf"),
    (lambda b: ["run", str(b / "drops" / DAYS[1]), *_site_args(b), "--date", "2026-13-01"], 2,
     "YYYY-MM-DD"),
    (lambda b: ["run", str(b / "drops" / DAYS[1])], 2, "--site"),
    (lambda b: ["run", str(b / "drops" / "2030-01-01"), *_site_args(b)], 2, "does not exist"),
    (lambda b: ["run", str(b / "drops" / DAYS[1]), "--site", str(b / "nowhere.yaml")], 2,
     "does not exist"),
    (lambda b: ["run", str(b / "drops" / DAYS[1]), *_site_args(b), "--weights",
                str(b / "nowhere.onnx")], 1, "nowhere.onnx"),
    (lambda b: ["run", str(b / "drops" / DAYS[1]), *_site_args(b), "--weights",
                str(b / "site.yaml")], 1, "weights"),
    (lambda b: ["report", *_site_args(b), "--date", "2030-01-01"], 1, "not in the history"),
    (lambda b: ["aircraft", str(b / "nowhere.tif")], 2, "does not exist"),
    (lambda b: ["aircraft", str(_tile(b)), "--types", "Boeing 9000"], 1,
     "not in the catalogue"),
    (lambda b: ["aircraft", str(b / "site.yaml")], 1, "site.yaml"),
    (lambda b: ["synth", str(b / "new"), "--size", "-5"], 2, "--size"),
    (lambda b: ["watch", str(b / "nowhere"), *_site_args(b), "--once"], 2, "does not exist"),
    (lambda b: ["fly"], 2, "No such command"),
]


@pytest.mark.parametrize("args, code, message", OPTION_CASES,
                         ids=[f"{i}-{m[:20]}" for i, (_, _, m) in enumerate(OPTION_CASES)])
def test_bad_options_fail_with_usage_or_one_line(base, args, code, message):
    with intact(base):
        _failed(CliRunner().invoke(main, args(base)), code, message)


def test_detect_aircraft_on_a_wholly_nodata_raster_fails_at_once(tmp_path):
    path = tmp_path / "empty.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20000, height=20000, count=3,
                       dtype="uint8", nodata=0, crs="EPSG:32636", tiled=True,
                       transform=from_origin(500000, 4000000, 0.5, 0.5), sparse_ok=True):
        pass
    started = time.perf_counter()
    _failed(CliRunner().invoke(main, ["aircraft", str(path)]), 1, "no valid pixels")
    assert time.perf_counter() - started < 60  # the 3,600 empty slices are never predicted


def test_run_json_prints_one_summary_that_matches_the_report(base):
    result = _run(base, base / "drops" / DAYS[1], "--json")
    _ok(result)
    summary = json.loads(result.stdout)
    report = json.loads((base / "reports" / DAYS[1] / "report.json").read_text())
    assert summary["date"] == DAYS[1] and summary["previous_date"] == DAYS[0]
    assert summary["by_type"] == report["counts"]["by_type"]
    assert sum(summary["events"].values()) == len(report["events"])


def test_quiet_and_verbose_set_what_is_logged(base, tmp_path):
    drop = base / "drops" / DAYS[1]
    quiet = CliRunner().invoke(main, ["-q", "run", str(drop), *_site_args(base)])
    loud = CliRunner().invoke(main, ["-v", "run", str(drop), *_site_args(base)])
    _ok(quiet)
    _ok(loud)
    assert "] detect" not in quiet.stderr and "] detect" in loud.stderr
    assert "detect.daily" in loud.stderr  # -v names the module that logs


def test_geojson_polygons_are_counter_clockwise(seeded):
    from shapely.geometry import shape

    folder = seeded / "reports" / DAYS[0]
    for name in ("detections.geojson", "changes.geojson"):
        feats = json.loads((folder / name).read_text())["features"]
        assert feats, name
        assert all(shape(f["geometry"]).exterior.is_ccw for f in feats
                   if f["geometry"]["type"] == "Polygon"), name
