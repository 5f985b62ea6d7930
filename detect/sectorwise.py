"""The daily run's stages on the base grid, a sector at a time (see `detect.sectors`): each
reads its sector and the margin around it, keeps the sector's own part, and writes it to the
day's stored rasters (`detect.dayfiles`), so memory follows the sector, not the base."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from detect.dayfiles import (
    CHANGE,
    IMAGE,
    UNKNOWN_SCORE,
    UNSEEN,
    DayFiles,
    Images,
    SectorWriter,
    change_bands,
    image_bands,
)
from detect.grid import Grid
from detect.identify.match import Prior
from detect.identify.objects import identify_objects
from detect.imagery.align import RegistrationError, align
from detect.imagery.change import Change, Region, detect_change, summary
from detect.imagery.ingest import NO_VALID_PIXELS, Drop, IngestError, Scene, reference_scene
from detect.objects import Objects
from detect.sectors import Sector, SectorParams, sectors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Base:
    """The base's reference image and the base grid on it."""

    reference: Path
    grid: Grid
    cut: SectorParams = SectorParams()

    @lru_cache(maxsize=1)  # noqa: B019 - one sector's reference, asked for by several stages
    def scene(self, grid: Grid) -> Scene:
        """The reference on `grid` (a part of the base grid)."""
        return reference_scene(self.reference, grid)

    @cached_property
    def sectors(self) -> list[Sector]:
        return sectors(self.grid, self.cut)

    def sector_of(self, corners: np.ndarray) -> np.ndarray:
        """The index of the sector whose own part holds each box's centre (the nearest one for
        a centre off the grid), for boxes (n, 4, 2) in map units."""
        centres = np.asarray(corners).mean(axis=1)
        cols, rows = self.grid.to_pixel(centres[:, 0], centres[:, 1])
        cols = np.clip(cols, 0, self.grid.width - 1)
        rows = np.clip(rows, 0, self.grid.height - 1)
        found = np.zeros(len(cols), int)
        for k, s in enumerate(self.sectors[1:], 1):
            found[s.owns(cols, rows)] = k
        return found


def adopt(files: Drop, base: Base, path: Path) -> None:
    """Store a drop on the base grid as the base's reference image (8-bit, 0 where unseen)."""
    seen = False
    with SectorWriter(path, base.grid, 3, np.uint8, nodata=0) as out:
        for s in base.sectors:
            day = files.scene(s.grid)
            seen |= bool(day.valid.any())
            out.write(s, image_bands(day.rgb, day.valid, ~day.valid)[0])
        if not seen:
            raise IngestError(NO_VALID_PIXELS)


@dataclass
class Alignment:
    """How a day was brought onto the base grid, over all sectors."""

    registration: dict
    normalisation: dict
    cloud_fraction: float
    unknown_fraction: float


def align_day(base: Base, drop: Drop, folder: Path, stage: Callable[[str], None]
              ) -> Alignment:
    """Register, normalise and find the clouds of a drop a sector at a time, storing the day's
    image.tif and unseen.tif in `folder`. A sector that cannot be registered is left unseen
    (and reported) where another was; with none, the day fails."""
    regs, norms, failed = [], [], None
    valid_px = cloud_px = unseen_px = 0
    with SectorWriter(folder / IMAGE, base.grid, 3, np.uint8, nodata=0) as image, \
            SectorWriter(folder / UNSEEN, base.grid, 1, np.uint8) as unseen:
        for s in base.sectors:
            stage("ingest")
            ref, day = base.scene(s.grid), drop.scene(s.grid)
            stage("register")
            rgb, valid, cloud = np.zeros((3, *s.grid.shape), np.float32), day.valid, None
            if valid.any():
                try:
                    aligned = align(ref, day)
                    rgb, valid, cloud = aligned.rgb, aligned.valid, aligned.cloud
                    regs.append((s, aligned.registration.report()))
                    norms.append((s, aligned.normalisation.report()))
                except RegistrationError as exc:
                    log.warning("sector at rows %s, cols %s left unseen: %s",
                                *_span(s), exc)
                    failed, valid = exc, np.zeros_like(valid)
                    regs.append((s, {"success": False, "error": str(exc)}))
            cloud = np.zeros_like(valid) if cloud is None else cloud
            img, uns = image_bands(rgb, valid, cloud)
            image.write(s, img)
            unseen.write(s, uns)
            own = s.own
            valid_px += int(valid[own].sum())
            cloud_px += int((cloud & valid)[own].sum())
            unseen_px += int(uns[0][own].sum())
        if not norms:
            raise failed or IngestError(NO_VALID_PIXELS)
    total = base.grid.width * base.grid.height
    return Alignment(_combined(regs), _combined(norms), cloud_px / valid_px if valid_px else 1.0,
                     unseen_px / total)


def _span(s: Sector) -> tuple[list[int], list[int]]:
    rows, cols = s.own_in_base
    return [rows.start, rows.stop], [cols.start, cols.stop]


SUMMED = ("tie_points", "coarse_inliers")  # report figures that add up over sectors


def _combined(reports: list[tuple[Sector, dict]]) -> dict:
    """One sector's report as it is. Several: each figure over the sectors that succeeded, a
    count summed, a measure its median; and under `sectors`, each sector's own part (`rows`,
    `cols` of the base grid) with its report."""
    if len(reports) == 1:
        return reports[0][1]
    ok = [r for _, r in reports if r.get("success", True)]
    out = {}
    for key, value in ok[0].items():
        values = [r[key] for r in ok]
        if key in SUMMED:
            out[key] = sum(values)
        elif isinstance(value, bool | str):
            out[key] = value
        else:
            out[key] = np.round(np.median(values, axis=0), 6).tolist()
    out["sectors"] = [dict(zip(("rows", "cols"), _span(s), strict=True)) | r
                      for s, r in reports]
    return out


class SectorImages:
    """The stored day (and the empty reference, where the site has one) around an object, from
    the sector that owns it; one sector's images are held at a time."""

    def __init__(self, today: DayFiles, base: Base, with_reference: bool):
        self.today, self.base, self.with_reference = today, base, with_reference
        self.crs = base.grid.crs
        self._held: tuple[int, tuple] | None = None

    def around(self, corners: np.ndarray):
        k = int(self.base.sector_of(corners[None])[0])
        if self._held is None or self._held[0] != k:
            s = self.base.sectors[k]
            ref = self.base.scene(s.grid).rgb if self.with_reference else None
            rgb = self.today.images(s.window, sector=True).rgb
            self._held = k, (rgb, s.grid.transform, ref)
        return self._held[1]


def identify_day(found: Objects, today: DayFiles, base: Base, prior: Prior | None,
                 with_reference: bool) -> Objects:
    """Identify a day's objects from the stored day, a sector at a time: the objects come out
    ordered by sector (in their order within one)."""
    if len(found):
        found = found[np.argsort(base.sector_of(found.corners), kind="stable")]
    return identify_objects(found, SectorImages(today, base, with_reference),
                            base.grid.pixel_m, prior)


@dataclass
class DayChange:
    """A day's change over the whole base grid, tallied from its sectors' own parts."""

    grid: Grid
    regions: list[Region] = field(default_factory=list)
    changed_px: int = 0
    known_px: int = 0
    unknown_px: int = 0

    def add(self, change: Change, s: Sector) -> None:
        unknown, mask = change.unknown[s.own], change.mask[s.own]
        self.changed_px += int(mask[~unknown].sum())
        self.known_px += int((~unknown).sum())
        self.unknown_px += int(unknown.sum())
        for r in change.regions:
            p = r.polygon.representative_point()
            col, row = self.grid.to_pixel(p.x, p.y)
            if s.owns(col, row):
                self.regions.append(r)

    def summary(self) -> dict:
        return summary(self.changed_px / self.known_px if self.known_px else 0.0,
                       self.unknown_px / (self.grid.width * self.grid.height), self.regions)


def day_change(before: Images, after: Images, grid: Grid) -> Change:
    """The change between two stored days over the same window."""
    return detect_change(before.rgb, after.rgb, before.valid & after.valid,
                         before.unseen | after.unseen, grid)


def reference_change(ref: Scene, images: Images) -> Change:
    """A day's change against the empty reference (the first day's, and evidence where the
    day before could not see)."""
    return detect_change(ref.rgb, images.rgb, images.valid & ref.valid, images.unseen, ref.grid)


def change_day(today: DayFiles, before: DayFiles | None, base: Base) -> DayChange:
    """The day's change against the day before (else the reference), a sector at a time,
    stored as today's change.tif."""
    tally = DayChange(base.grid)
    with SectorWriter(today.folder / CHANGE, base.grid, 2, np.uint8, nodata=UNKNOWN_SCORE) as out:
        for s in base.sectors:
            after = today.images(s.window, sector=True)
            change = day_change(before.images(s.window, sector=True), after, s.grid) \
                if before else reference_change(base.scene(s.grid), after)
            out.write(s, change_bands(change))
            tally.add(change, s)
    return tally

