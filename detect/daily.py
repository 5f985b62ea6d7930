"""The daily run: ingest -> register/normalise -> change -> detect -> identify -> track ->
store -> report, for one drop of one site. History and reports are never left half-written:
the day's files are built in a hidden folder, the history commits in one transaction, then the
folder is swapped into place.

Every stage works on the base grid (the zones' extent and ZONE_MARGIN_M around them, never the
whole raster), a sector at a time (`detect.sectorwise`): the drop is read, registered,
normalised and differenced on each sector and its margin and stored in windows, the detector
reads the stored day in slices, and the evidence at each object is read in a window around
it. Memory therefore follows the sector, not the base.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds

from detect.alerts import deliver, evaluate
from detect.atomic import write_json, write_text
from detect.dayfiles import IMAGE, DayFiles
from detect.detector.raster import detect_objects
from detect.detector.slicing import CACHE_MB
from detect.errors import DetectError
from detect.evidence import evidence
from detect.geo import WGS84, oriented, reproject_geometry
from detect.grid import Grid
from detect.history import DayRecord, History, writer_lock
from detect.identify.sightings import follow
from detect.imagery.compare import regions_geojson
from detect.imagery.ingest import Drop, acquisition_time, drop_files, open_drop, reference_grid
from detect.imagery.stac import REMOTE_ENV, StacDrop, day_item, is_stac, read_stac
from detect.objects import Objects
from detect.report.build import build_report
from detect.report.markdown import render_markdown
from detect.sectors import SectorParams
from detect.sectorwise import Alignment, Base, DayChange, adopt, align_day, change_day, identify_day
from detect.site import Site
from detect.track import events as track_events
from detect.tracked import Event, TrackedObject, features, tracked

log = logging.getLogger(__name__)
ZONE_MARGIN_M = 100.0  # ground kept around the zones: context for registration and change
DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


class RunError(DetectError):
    """A daily run that cannot proceed; nothing was written."""


@dataclass
class RunOptions:
    drop: Path | str  # a folder, an image, or a STAC Item/ItemCollection (file or URL)
    site: Site
    weights: Path
    date: dt.date | None = None
    out: Path | None = None
    db: Path | None = None
    conf: float | None = None  # default: the weights' operating confidence
    wait: bool = True  # wait for another run on the base to finish (else fail at once)
    cut: SectorParams = SectorParams()  # how the base grid is cut into sectors


@dataclass(frozen=True)
class DropInputs:
    """What a drop holds: its image files or hrefs, and the STAC items they came from."""

    files: list[Path | str]
    stac: StacDrop | None = None


def drop_inputs(drop: Path | str, site: Site) -> DropInputs:
    """The images of a drop: a folder of tiles, one image, or a STAC Item or ItemCollection
    (a .json file or an http(s) URL; see `detect.imagery.stac`)."""
    if is_stac(drop):
        stac = read_stac(drop, site.stac_asset)
        return DropInputs(stac.hrefs, stac)
    return DropInputs(drop_files(Path(drop)))


def resolve_date(drop: Path | str, inputs: DropInputs, explicit: dt.date | None) -> str:
    """--date, else the STAC items' date, else the TIFF acquisition tags, else a YYYY-MM-DD
    in the drop's name."""
    if explicit:
        return explicit.isoformat()
    if inputs.stac:
        return inputs.stac.date.isoformat()
    for f in inputs.files:
        try:
            with rasterio.open(f) as ds:
                when = acquisition_time(ds)
        except rasterio.errors.RasterioIOError:
            continue
        if when:
            return when.date().isoformat()
    m = DATE_IN_NAME.search(Path(drop).name) or DATE_IN_NAME.search(str(drop))
    if m:
        return m.group(1)
    raise RunError(f"cannot tell the date of {drop}: give --date YYYY-MM-DD")


def _day_folder(opts: RunOptions, date: str) -> Path:
    return (opts.out if opts.out else opts.site.reports / date).resolve()


def reference_of(site: Site, files: list[Path | str] = (), cut: SectorParams = SectorParams()
                 ) -> Base:
    """The base: the site's reference image (or the first day, adopted as the reference) and
    the base grid, the part of it that covers the zones and ZONE_MARGIN_M around them. Every
    stage after ingest works on this grid, so time and memory follow the zones' extent, not
    the size of the reference raster."""
    path = site.reference or _adopted_first(site, files, cut)
    full = reference_grid(path)
    zones = site.area.bounds
    return Base(path, full.around(transform_bounds(site.crs, full.crs, *zones), ZONE_MARGIN_M),
                cut)


def _adopted_first(site: Site, files: list[Path | str], cut: SectorParams) -> Path:
    """The first day's drop on the zones' extent, stored as `reference-first.tif` once."""
    adopted = site.folder / "reference-first.tif"
    if not adopted.exists():
        bounds = site.area.buffer(ZONE_MARGIN_M).bounds
        g = site.gsd
        w, h = int(np.ceil((bounds[2] - bounds[0]) / g)), int(np.ceil((bounds[3] - bounds[1])
                                                                       / g))
        grid = Grid(site.crs, rasterio.transform.from_origin(bounds[0], bounds[3], g, g), w, h)
        adopt(open_drop(files, grid), Base(adopted, grid, cut), adopted)
    return adopted


def _detect(today: DayFiles, base: Base, site: Site, opts: RunOptions, stages: Stages
            ) -> Objects:
    with rasterio.open(today.folder / IMAGE) as ds:
        found = detect_objects(ds, opts.weights, aoi=site.area, conf=opts.conf)
    stages("identify")
    return identify_day(found, today, base, site.prior, site.reference is not None)


def _follower(site: Site, pixel_m: float):
    """How a stayed object is identified over its sightings (see `detect.identify.sightings`)."""
    return partial(follow, pixel_m=pixel_m, prior=site.prior)


def _track(history: History, prev_date: str | None, detected: list[TrackedObject],
           today: DayFiles, site: Site, base: Base
           ) -> tuple[list[Event], list[TrackedObject], DayChange]:
    """Events against the previous stored day, the day's objects (today's as tracked, and
    those carried), and the change evidence (stored in today's folder)."""
    if prev_date is None:
        return [], detected, change_day(today, None, base)
    prev = history.day(prev_date)
    before = DayFiles(site.folder / Path(prev.image).parent, base.grid)
    return _against(prev.objects, before, detected, today, base, site)


def _against(prev_objects: list[TrackedObject], before: DayFiles,
             detected: list[TrackedObject], today: DayFiles, base: Base, site: Site
             ) -> tuple[list[Event], list[TrackedObject], DayChange]:
    """A day's events against the day before it, its objects (its own as tracked, and those
    carried), and the change between the two days (stored in today's folder)."""
    grid = base.grid
    change = change_day(today, before, base)
    evts, carried, tracked = track_events(
        prev_objects, detected, evidence(before, today, base),
        grid.pixel_m / abs(grid.transform.a), grid.pixel_m, _follower(site, grid.pixel_m))
    return evts, tracked + carried, change


def _render(folder: Path, report: dict, objects: list[TrackedObject], change: DayChange,
            crs: str, site: Site) -> None:
    write_json(folder / "report.json", report)
    lonlat = reproject_geometry(site.area, crs, WGS84, 7)
    write_json(folder / "item.json", day_item(report, oriented(lonlat), list(lonlat.bounds)))
    write_text(folder / "report.md", render_markdown(report))
    write_json(folder / "detections.geojson", features(objects, crs))
    write_json(folder / "changes.geojson", regions_geojson(change))


def _acquisition(drop: Drop, aligned: Alignment, stac: StacDrop | None) -> dict:
    """report.json's `acquisition`: the drop, how it was registered and normalised, and how
    much of the base it left unseen."""
    acq = {"acquired": drop.acquired.isoformat() if drop.acquired else None,
           "sources": drop.sources, "registration": aligned.registration,
           "normalisation": aligned.normalisation,
           "cloud_fraction": round(aligned.cloud_fraction, 5),
           "unknown_fraction": round(aligned.unknown_fraction, 5)}
    if stac:
        acq["stac"] = stac.items
    return acq


class Stages:
    """Logs each stage as it starts and keeps the wall seconds each one took (summed over
    the sectors, where a stage runs on each in turn)."""

    def __init__(self, label: str):
        self.label, self.seconds = label, {}
        self._stage, self._start = None, 0.0

    def __call__(self, stage: str) -> None:
        if stage == self._stage:
            return
        self.stop()
        log.info("[%s] %s", self.label, stage)
        self._stage, self._start = stage, time.perf_counter()

    def stop(self) -> dict[str, float]:
        """End the current stage; the seconds per stage so far."""
        if self._stage is not None:
            spent = time.perf_counter() - self._start + self.seconds.get(self._stage, 0.0)
            self.seconds[self._stage] = round(spent, 3)
            self._stage = None
        return dict(self.seconds)


class Staging:
    """Day folders being (re)written. Each is built as a hidden `.partial` folder beside its
    final place, and all are swapped in only after the history has committed: a failure
    before that leaves the history and every report folder as they were."""

    def __init__(self, site: Site, history: History):
        self.site, self.history = site, history
        self.parts: dict[str, tuple[Path, Path]] = {}  # date -> (partial, final)

    def new(self, date: str, final: Path, keep_files: bool = False) -> Path:
        """A fresh partial folder for `date`; `keep_files` starts it with hard links to the
        final folder's files (the stored images stay as they are)."""
        part = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.partial"
        if keep_files:
            shutil.copytree(final, part, copy_function=os.link)
        else:
            part.mkdir(parents=True)
        self.parts[date] = (part, final)
        return part

    def keep(self, date: str, final: Path) -> Path:
        """The day's partial folder, made (with links to its files) if it has none yet."""
        return self.parts[date][0] if date in self.parts else self.new(date, final, True)

    def folder(self, date: str) -> Path:
        """Where the day's files are now: its partial folder while it is staged."""
        if date in self.parts:
            return self.parts[date][0]
        return day_folder(self.site, self.history, date)

    def swap(self) -> None:
        for part, final in self.parts.values():
            _swap(part, final)
        self.parts.clear()

    def discard(self) -> None:
        for part, _ in self.parts.values():
            shutil.rmtree(part, ignore_errors=True)
        self.parts.clear()


def _clear_stale(folder: Path) -> None:
    """Remove partial folders an interrupted run left (the caller holds the writer lock)."""
    if folder.is_dir():
        for stale in folder.glob(".*.partial"):
            shutil.rmtree(stale, ignore_errors=True)


def run_day(opts: RunOptions) -> tuple[dict, Path]:
    """Process one drop; returns the day's report and its folder. One run per base at a time:
    a second waits for the history's writer lock (or fails at once, `opts.wait` False)."""
    site = opts.site
    inputs = drop_inputs(opts.drop, site)
    date = resolve_date(opts.drop, inputs, opts.date)
    folder = _day_folder(opts, date)
    db = opts.db or site.default_db
    stages = Stages(Path(str(opts.drop)).name)
    # GDAL's block cache would otherwise grow to 5% of RAM as a large base streams through
    with writer_lock(db, opts.wait), History(db) as history, \
            rasterio.Env(GDAL_CACHEMAX=CACHE_MB * 2**20, **REMOTE_ENV):
        _clear_stale(folder.parent)
        _clear_stale(site.reports)
        stages("ingest")
        base = reference_of(site, inputs.files, opts.cut)
        drop = open_drop(inputs.files, base.grid)
        dup = history.date_of_sources([s["sha256"] for s in drop.sources])
        if dup and dup != date:
            raise RunError(f"duplicate drop: these files were already processed as {dup}")
        staging = Staging(site, history)
        try:
            report = _process(opts, date, folder, base, drop, inputs.stac, history, staging,
                              stages)
            staging.swap()
        finally:
            staging.discard()
        stages.stop()
        deliver_pending(site, history)
    return report, folder


def _process(opts: RunOptions, date: str, folder: Path, base: Base, drop: Drop,
             stac: StacDrop | None, history: History, staging: Staging, stages: Stages
             ) -> dict:
    """Every stage from registration to the history's commit, writing the day's folder (and
    the later days' it changes) as partial folders of `staging`."""
    site = opts.site
    tmp = staging.new(date, folder)
    aligned = align_day(base, drop, tmp, stages)
    today = DayFiles(tmp, base.grid)  # downstream sees exactly what is stored
    stages("detect")
    detected = tracked(_detect(today, base, site, opts, stages), site.zone_of)
    stages("track")
    prev_date = history.previous_date(date)
    evts, objects, change = _track(history, prev_date, detected, today, site, base)
    acq = _acquisition(drop, aligned, stac)
    alerts = _alerts(history, site, date, objects, evts)
    stages("report")
    report = build_report(site.name, date, prev_date, acq, objects, evts, change.summary(),
                          Path(opts.weights).name, alerts, stages.stop())
    _render(tmp, report, objects, change, base.grid.crs, site)
    write_json(tmp / "alerts.json", alerts)
    stages("store")
    image = folder / IMAGE
    if folder.is_relative_to(site.folder.resolve()):
        image = image.relative_to(site.folder.resolve())
    record = DayRecord(date, acq["acquired"], drop.sources, acq["registration"],
                       acq["cloud_fraction"], str(image), objects)
    with history.transaction():  # the HTML pages read the day from the open transaction
        _store(history, site, record, prev_date, evts, report, alerts)
        _refresh_later(history, date, today, base, site, staging)
        stages("html")
        render_html(site, history, date, base, staging)
        for after in (d for d in history.dates() if d > date):  # their plots count this day
            staging.keep(after, day_folder(site, history, after))
            render_html(site, history, after, base, staging)
    return report


def _store(history: History, site: Site, record: DayRecord, prev_date: str | None,
           evts: list[Event], report: dict, alerts: list[dict]) -> None:
    """Write a day to the history (inside its transaction), each alert pending delivery to
    each of the site's targets."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    history.put_day(record, stamp)
    history.put_events(record.date, prev_date, evts)
    history.put_report(record.date, report)
    for alert in alerts:
        for url in site.notify:
            history.record_delivery(record.date, alert["rule"], url, "pending", None, stamp)


def _alerts(history: History, site: Site, date: str, objects: list[TrackedObject],
            events: list[Event]) -> list[dict]:
    """Fired alerts of the day, against the stored days before it."""
    if not site.rules:
        return []
    window = max(r.window for r in site.rules)
    earlier = [d for d in history.dates() if d < date][-window:]
    days = [(history.day(d).objects, history.events(d)) for d in earlier]
    return evaluate(site.rules, objects, events, days)


def deliver_pending(site: Site, history: History) -> None:
    """Send every alert not yet delivered (today's, and earlier failures: retried). A failure
    is logged and recorded, never fatal."""
    for row in history.pending_deliveries():
        rec = history.day(row["date"])
        if rec is None:
            continue
        folder = site.folder / Path(rec.image).parent
        body = (folder / "report.md").read_text() if (folder / "report.md").exists() else ""
        error = deliver([row["target"]], f"{site.name}: {row['rule']} on {row['date']}", body,
                        folder / "overlay.png")
        if error:
            log.warning("alert delivery failed (%s -> %s): %s", row["rule"], row["target"],
                        error)
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with history.transaction():
            history.record_delivery(row["date"], row["rule"], row["target"],
                                    "failed" if error else "sent", error, stamp)


def day_folder(site: Site, history: History, date: str) -> Path:
    rec = history.day(date)
    if rec is None:
        raise RunError(f"{date} is not in the history")
    return site.folder / Path(rec.image).parent


def render_html(site: Site, history: History, date: str, base: Base,
                staging: Staging | None = None) -> Path:
    """Write report.html and overlay.png of a stored day from the history and the stored
    rasters alone (what `detect report` does too), into its staged folder where it has one.
    A day stored without its change.tif (before the file was kept) has it made first."""
    from detect.report.html import StoredDay, render_day, write_html

    where = staging.folder if staging else partial(day_folder, site, history)
    folder = where(date)
    today = DayFiles(folder, base.grid)
    prev_date = history.previous_date(date)
    before = DayFiles(where(prev_date), base.grid) if prev_date else None
    if not today.has_change:
        change_day(today, before, base)
    stored = StoredDay(history.report(date), history.day(date), history.events(date),
                       history.counts_by_type(until=date),
                       history.day(prev_date) if prev_date else None,
                       history.report(prev_date) if prev_date else None)
    html, over = render_day(site, stored, today, before, base.grid)
    write_html(folder, html, over)
    return folder


def _swap(tmp: Path, folder: Path) -> None:
    """Put the new day folder in place of the old one."""
    old = folder.parent / f".{folder.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _refresh_later(history: History, date: str, today: DayFiles, base: Base, site: Site,
                   staging: Staging) -> None:
    """When a day lands before already stored ones, recompute the later days' events and
    identifications in order, each against the day before it (inside the same transaction),
    until one comes out as it was: a day's events follow from the day before, its
    identifications from its sightings of the days before that. Each day recomputed is
    written again in its staged folder."""
    before, before_files = date, today
    for nxt in [d for d in history.dates() if d > date]:
        rec = history.day(nxt)
        later = DayFiles(staging.keep(nxt, day_folder(site, history, nxt)), base.grid)
        detected = [o for o in rec.objects if o.status == "detected"]
        evts, stored, change = _against(history.day(before).objects, before_files, detected,
                                        later, base, site)
        old = history.report(nxt)
        report = build_report(site.name, nxt, before, old["acquisition"], stored, evts,
                              change.summary(), old["detector"]["weights"],
                              None, old.get("timings"))
        unchanged = _same_rows(stored, rec.objects)  # then so is every day after it
        rec.objects = stored
        history.put_day(rec, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        history.put_events(nxt, before, evts)
        history.put_report(nxt, report)
        _render(later.folder, report, stored, change, base.grid.crs, site)
        if unchanged:
            break
        before, before_files = nxt, later


def _same_rows(a: list[TrackedObject], b: list[TrackedObject]) -> bool:
    """Whether two lists of objects store alike."""
    def stored(objects):
        return json.dumps([o.row() for o in objects], sort_keys=True, default=str)
    return stored(a) == stored(b)
