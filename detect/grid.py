"""`Grid`: the base's raster grid (CRS, transform, size). Every stage after ingest works on it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.transform import Affine, array_bounds

from detect.geo import ground_distance


@dataclass(frozen=True)
class Grid:
    crs: str
    transform: Affine
    width: int
    height: int

    @classmethod
    def of(cls, ds) -> Grid:
        """The grid of an open rasterio dataset."""
        return cls(ds.crs.to_string(), ds.transform, ds.width, ds.height)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        return array_bounds(self.height, self.width, self.transform)

    def to_map(self, cols, rows) -> tuple[np.ndarray, np.ndarray]:
        """Pixel (col, row) coordinates (pixel corners at integers) to map coordinates."""
        x, y = self.transform @ (np.asarray(cols, float), np.asarray(rows, float))
        return np.asarray(x), np.asarray(y)

    def to_pixel(self, xs, ys) -> tuple[np.ndarray, np.ndarray]:
        c, r = ~self.transform @ (np.asarray(xs, float), np.asarray(ys, float))
        return np.asarray(c), np.asarray(r)

    @property
    def pixel_m(self) -> float:
        """Ground metres per pixel at the grid's centre (true in any CRS)."""
        cx, cy = self.to_map(self.width / 2, self.height / 2)
        x1, y1 = self.to_map(self.width / 2 + 1, self.height / 2)
        return float(ground_distance(self.crs, cx, cy, x1, y1))

    def around(self, geometry_bounds: tuple[float, float, float, float], margin_m: float
               ) -> Grid:
        """The part of this grid, in whole pixels, that covers `geometry_bounds` (left,
        bottom, right, top in the grid's CRS) and `margin_m` ground metres around them."""
        left, bottom, right, top = geometry_bounds
        cols, rows = self.to_pixel([left, right, left, right], [bottom, bottom, top, top])
        pad = margin_m / self.pixel_m
        c0 = max(0, math.floor(cols.min() - pad))
        r0 = max(0, math.floor(rows.min() - pad))
        c1 = min(self.width, math.ceil(cols.max() + pad))
        r1 = min(self.height, math.ceil(rows.max() + pad))
        if c1 <= c0 or r1 <= r0:
            return self
        return self.part(r0, c0, r1 - r0, c1 - c0)

    def part(self, row0: int, col0: int, height: int, width: int) -> Grid:
        """The grid of `height` x `width` pixels from pixel (`row0`, `col0`) of this one."""
        return Grid(self.crs, self.transform @ Affine.translation(col0, row0), width, height)
