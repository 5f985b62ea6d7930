"""A stored day's rasters on the base grid, written a sector at a time and read in windows:
`image.tif` (the registered, normalised day, 0 where nothing was seen), `unseen.tif` (cloud
and nodata) and `change.tif` (the change against the day before, or the reference on the
first day: its score in steps of 1/SCORE_STEPS, UNKNOWN_SCORE where unknown, and its layers
as bit flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from detect.errors import DetectError
from detect.geotiff import CogWriter
from detect.grid import Grid
from detect.imagery.change import Change
from detect.sectors import Sector

IMAGE, UNSEEN, CHANGE = "image.tif", "unseen.tif", "change.tif"
CHANGED, FAINT, UNKNOWN = 1, 2, 4  # change.tif's band 2: the change's layers as bit flags
SCORE_STEPS, UNKNOWN_SCORE = 250, 255  # change.tif's band 1: the score (0..1) times 250


@dataclass
class Images:
    """A day's images over a window of the base grid: RGB (3, rows, cols) float32 as stored,
    where it is valid, and where it is unseen (cloud)."""

    rgb: np.ndarray
    valid: np.ndarray
    unseen: np.ndarray


@dataclass
class Layers:
    """A day's change over a window of the base grid, as stored."""

    flags: np.ndarray  # CHANGED | FAINT | UNKNOWN bits

    def layer(self, flag: int) -> np.ndarray:
        return (self.flags & flag) > 0


def _slices(window: tuple[slice, slice]) -> Window:
    """(rows, cols) slices as a window (they may reach past the raster's edges)."""
    rows, cols = window
    return Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)


class DayFiles:
    """The stored rasters of a day in `folder`, read in windows of the base `grid`. Each file
    is opened at its first read and kept open: write a file before its first read. The images
    of the last sector read are held, and a window inside them is cut from memory."""

    def __init__(self, folder: Path, grid: Grid):
        self.folder = folder
        if not (folder / IMAGE).exists():
            raise DetectError(f"{folder / IMAGE} is missing: re-run that day")
        self._open: dict[str, rasterio.DatasetReader] = {}
        self._held: tuple[tuple[slice, slice], Images] | None = None
        stored = Grid.of(self._ds(IMAGE))
        if (stored.shape, stored.transform) != (grid.shape, grid.transform):
            raise DetectError(f"{folder.name} is stored on another base grid ({stored.width} x "
                              f"{stored.height} px, today's {grid.width} x {grid.height}): "
                              "the zones or the reference changed; run the earlier days again")

    def _ds(self, name: str):
        if name not in self._open:
            self._open[name] = rasterio.open(self.folder / name)
        return self._open[name]

    @property
    def has_change(self) -> bool:
        return (self.folder / CHANGE).exists()

    def images(self, window: tuple[slice, slice], sector: bool = False) -> Images:
        """The day over `window` (rows, cols slices of the base grid); that of a `sector` is
        held."""
        if self._held and all(a.start <= w.start and w.stop <= a.stop
                              for a, w in zip(self._held[0], window, strict=True)):
            (r, c), held = self._held
            cut = slice(window[0].start - r.start, window[0].stop - r.start), \
                slice(window[1].start - c.start, window[1].stop - c.start)
            return Images(held.rgb[(slice(None), *cut)], held.valid[cut], held.unseen[cut])
        win, ds = _slices(window), self._ds(IMAGE)
        rgb = ds.read(window=win, out_dtype=np.float32)
        valid = ds.read_masks(1, window=win) > 0
        images = Images(rgb, valid, self._ds(UNSEEN).read(1, window=win) > 0)
        if sector:
            self._held = window, images
        return images

    def layers(self, window: tuple[slice, slice]) -> Layers:
        """The day's change over `window`."""
        return Layers(self._ds(CHANGE).read(2, window=_slices(window)))

    def overview(self, width: int) -> np.ndarray:
        """The day's image at most `width` pixels wide (averaged; whole where narrower)."""
        return self._overview(IMAGE, width, [1, 2, 3], Resampling.average)

    def change_overview(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The change's score (averaged over what is known, NaN where nothing is) and where it
        is unknown, at most `width` wide."""
        steps = self._overview(CHANGE, width, [1], Resampling.average)[0].astype(np.float32)
        flags = self._overview(CHANGE, width, [2], Resampling.nearest)[0]
        score = np.where(steps == UNKNOWN_SCORE, np.nan, steps / SCORE_STEPS)
        return score.astype(np.float32), (flags & UNKNOWN) > 0

    def _overview(self, name: str, width: int, bands: list[int], how: Resampling
                  ) -> np.ndarray:
        ds = self._ds(name)
        scale = min(1.0, width / ds.width)
        shape = (len(bands), max(1, round(ds.height * scale)), max(1, round(ds.width * scale)))
        return ds.read(bands, out_shape=shape, resampling=how)

    def chip(self, window: tuple[slice, slice]) -> np.ndarray:
        """The day's image over `window`, 0 where it leaves the base grid."""
        return self._ds(IMAGE).read(window=_slices(window), boundless=True, fill_value=0)


class SectorWriter:
    """A raster of the base grid written a sector's own part at a time (see `CogWriter`)."""

    def __init__(self, path: Path, grid: Grid, count: int, dtype, nodata=None):
        self.out = CogWriter(path, grid.shape, count, dtype, grid.transform, grid.crs, nodata)

    def write(self, sector: Sector, data: np.ndarray) -> None:
        """Write the own part of `data` (bands, rows, cols on the sector's grid)."""
        self.out.write(data[(slice(None), *sector.own)], *sector.own_in_base)

    def __enter__(self) -> SectorWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.out.__exit__(*exc)


def image_bands(rgb: np.ndarray, valid: np.ndarray, unseen: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """What image.tif and unseen.tif store of a day: 8-bit RGB, 0 where not valid, and the
    cloud or nodata mask."""
    img = np.clip(np.round(rgb), 1, 255).astype(np.uint8)
    img[:, ~valid] = 0
    return img, (unseen | ~valid).astype(np.uint8)[None]


def change_bands(change: Change) -> np.ndarray:
    """What change.tif stores of a change: its score and its layers' flags."""
    steps = np.round(np.nan_to_num(change.score, nan=0.0) * SCORE_STEPS)
    steps[np.isnan(change.score)] = UNKNOWN_SCORE
    flags = (change.mask * CHANGED) | (change.faint * FAINT) | (change.unknown * UNKNOWN)
    return np.stack([steps, flags]).astype(np.uint8)
