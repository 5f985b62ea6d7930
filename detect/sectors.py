"""Sectors: the base grid cut into parts small enough to hold in memory, so that the daily
run's memory stays flat however large the base.

A base grid of up to `max_whole_px` pixels is one sector, the whole grid. A larger one is cut
into square own parts of `own_px`, each read with `margin_m` of ground around it: the
registration, normalisation, clouds and change of a sector are worked out on the sector with
its margin, and each sector keeps only its own part, so the own parts tile the base grid and
what is measured near an edge of an own part still sees the ground around it (the change's
local offset window, a change region or cloud that crosses the edge)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from detect.grid import Grid


@dataclass(frozen=True)
class SectorParams:
    """How the base grid is cut: larger sectors hold more memory, smaller ones repeat more
    work in their margins."""

    max_whole_px: int = 8_000_000  # a grid this large or smaller is one sector (about 1.3 GB)
    own_px: int = 2048  # side of a sector's own part
    margin_m: float = 128.0  # ground read around it: wider than the largest aircraft's chip
    # (`detect.identify.measure`) and half the change's offset window


@dataclass(frozen=True)
class Sector:
    """A part of the base grid: `grid` (its own part and margin), its top-left pixel in the
    base grid, and its own part as (rows, cols) slices of `grid`."""

    grid: Grid
    row0: int
    col0: int
    own: tuple[slice, slice]

    @property
    def window(self) -> tuple[slice, slice]:
        """The sector with its margin, as (rows, cols) slices of the base grid."""
        return (slice(self.row0, self.row0 + self.grid.height),
                slice(self.col0, self.col0 + self.grid.width))

    @property
    def own_in_base(self) -> tuple[slice, slice]:
        """The own part as (rows, cols) slices of the base grid."""
        rows, cols = self.own
        return (slice(rows.start + self.row0, rows.stop + self.row0),
                slice(cols.start + self.col0, cols.stop + self.col0))

    def owns(self, col, row):
        """Whether base-grid pixel positions (numbers or arrays) lie in the own part."""
        rows, cols = self.own_in_base
        return (rows.start <= row) & (row < rows.stop) & (cols.start <= col) & (col < cols.stop)


def sectors(grid: Grid, sp: SectorParams = SectorParams()) -> list[Sector]:
    """The sectors of `grid`, row by row."""
    h, w = grid.shape
    if h * w <= sp.max_whole_px:
        return [Sector(grid, 0, 0, (slice(0, h), slice(0, w)))]
    own_px, margin_px = sp.own_px, math.ceil(sp.margin_m / grid.pixel_m)
    out = []
    for r in range(math.ceil(h / own_px)):
        for c in range(math.ceil(w / own_px)):
            r0, c0 = r * own_px, c * own_px
            r1, c1 = min(r0 + own_px, h), min(c0 + own_px, w)
            gr0, gc0 = max(r0 - margin_px, 0), max(c0 - margin_px, 0)
            gr1, gc1 = min(r1 + margin_px, h), min(c1 + margin_px, w)
            own = slice(r0 - gr0, r1 - gr0), slice(c0 - gc0, c1 - gc0)
            out.append(Sector(grid.part(gr0, gc0, gr1 - gr0, gc1 - gc0), gr0, gc0, own))
    return out
