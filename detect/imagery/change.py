"""Change between two registered, normalised images on the same grid: a per-pixel score (0..1),
a change mask and change regions with their ground area. Cloud and nodata are unknown, never
change."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from shapely.geometry import Polygon

from detect.grid import Grid


@dataclass(frozen=True)
class ChangeParams:
    """What change, cloud and likeness decide by."""

    score_from: float = 3.0  # the score is 0 at this many robust sigmas of difference
    score_span: float = 10.0  # and 1 this many sigmas further
    changed_at: float = 0.7  # score of change found anywhere (10 sigma: a wide margin over
    # the noise of a whole image; higher: fewer, surer regions)
    faint_at: float = 0.25  # score of change at a place an object is known to stand (5.5
    # sigma: one place tested needs less margin; higher: more objects `recovered`)
    min_region_m2: float = 8.0  # change areas smaller than this are specks
    cell_m: float = 8.0  # the day's local offset (haze, thin cloud) is measured in cells
    window_m: float = 120.0  # this size, smoothed by a median over this window (wider than
    # any aircraft, so no aircraft moves it)
    cloud_bright: float = 200.0  # cloud: every band at least this bright (DN),
    cloud_grey: float = 30.0  # its bands within this of each other,
    cloud_lighter: float = 30.0  # this much brighter than the reference,
    cloud_close_m: float = 3.0  # its gaps this wide closed,
    min_cloud_m2: float = 3000.0  # and larger than this (any aircraft's bright planform)
    ring_px: int = 4  # an object's own pixels stand out from a ring this wide around its box
    out_at: float = 4.0  # by this many robust sigmas of the ring's colours (and shade is this
    # much darker than its window's ground)
    min_own_px: int = 12  # fewer own pixels than this: the whole box counts
    alike_search_px: int = 3  # two days' images are compared over shifts up to this
    # (registration residual and box jitter)


@dataclass
class Region:
    polygon: Polygon  # map coordinates of the grid's CRS
    area_m2: float
    score: float  # mean score inside


@dataclass
class Change:
    score: np.ndarray  # float32, NaN where unknown
    mask: np.ndarray  # changed (`changed_at`): the regions
    faint: np.ndarray  # changed at `faint_at`: evidence at a known object's place
    unknown: np.ndarray  # cloud or nodata
    regions: list[Region]
    grid: Grid
    params: ChangeParams = field(default_factory=ChangeParams)

    @property
    def changed_fraction(self) -> float:
        known = ~self.unknown
        return float(self.mask[known].mean()) if known.any() else 0.0

    @property
    def unknown_fraction(self) -> float:
        return float(self.unknown.mean())

    def summary(self) -> dict:
        return summary(self.changed_fraction, self.unknown_fraction, self.regions)


def summary(changed_fraction: float, unknown_fraction: float, found: list[Region]) -> dict:
    """The change's figures in a report: the changed share of what both days see, the unknown
    share of the base, and the regions."""
    return {"changed_fraction": round(changed_fraction, 5),
            "unknown_fraction": round(unknown_fraction, 5),
            "regions": len(found),
            "changed_area_m2": round(sum(r.area_m2 for r in found), 1)}


def fraction_in(layer: np.ndarray, corners_px: np.ndarray) -> float:
    """Mean of a boolean layer (mask or unknown) inside a pixel polygon."""
    window, inside = _window(layer.shape, corners_px, 0)
    return float(layer[window][inside].mean()) if inside.any() else 1.0


def fraction_of_object(layer: np.ndarray, corners_px: np.ndarray, images: list[np.ndarray],
                       cp: ChangeParams = ChangeParams()) -> float:
    """Mean of a boolean layer over an object's own pixels: those inside its box (pixel
    polygon) that stand out from the ring just outside the box in any of `images` (bands,
    rows, cols); over the whole box where none do. An aircraft fills a third of its box
    or less, so a box fraction dilutes even a clear departure."""
    window, inside = _window(layer.shape, corners_px, cp.ring_px)
    own = inside & np.logical_or.reduce([
        standing_out(img[(slice(None), *window)], inside, cp) for img in images])
    use = own if own.sum() >= cp.min_own_px else inside
    return float(layer[window][use].mean()) if use.any() else 1.0


def _components(mask: np.ndarray, min_px: float) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    return keep[labels]


def cloud_mask(day: np.ndarray, ref: np.ndarray, valid: np.ndarray, pixel_m: float,
               cp: ChangeParams = ChangeParams()) -> np.ndarray:
    """Clouds: large, bright, grey areas brighter than the reference (day already normalised)."""
    bright = day.min(axis=0) >= cp.cloud_bright
    grey = (day.max(axis=0) - day.min(axis=0)) <= cp.cloud_grey
    lighter = day.mean(axis=0) - ref.mean(axis=0) >= cp.cloud_lighter
    cand = (bright & grey & lighter & valid).astype(np.uint8)
    k = max(3, int(round(cp.cloud_close_m / pixel_m)) | 1)
    cand = cv2.morphologyEx(cand, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    big = _components(cand, cp.min_cloud_m2 / pixel_m**2)
    return cv2.dilate(big.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0


def robust_sigma(values: np.ndarray, floor: float = 2.0) -> float:
    """The spread of `values` from their median absolute deviation (a Gaussian's sigma), not
    under `floor` (DN), nor for no values."""
    return float(robust_sigmas(values.reshape(1, -1), floor)[0]) if values.size else floor


def robust_sigmas(rows: np.ndarray, floor: float = 2.0) -> np.ndarray:
    """`robust_sigma` of each row."""
    deviation = np.abs(rows - np.median(rows, axis=1, keepdims=True))
    return np.maximum(1.4826 * np.median(deviation, axis=1), floor)


def _window(shape: tuple[int, int], corners_px: np.ndarray, margin: int
            ) -> tuple[tuple[slice, slice], np.ndarray]:
    """The window around a pixel polygon (with `margin`) and the polygon's mask in it."""
    c = np.round(np.asarray(corners_px)).astype(np.int32)
    x0, y0 = np.maximum(c.min(axis=0) - margin, 0)
    x1, y1 = np.minimum(c.max(axis=0) + margin + 1, [shape[1], shape[0]])
    inside = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.uint8)
    cv2.fillPoly(inside, [c - [x0, y0]], 1)
    return (slice(y0, y1), slice(x0, x1)), inside.astype(bool)


def likeness(before: np.ndarray, after: np.ndarray, corners_px: np.ndarray,
             cp: ChangeParams = ChangeParams()) -> tuple[float, float]:
    """How alike two days' images (bands, rows, cols) are over the window that bounds a pixel
    polygon: the best correlation, within `alike_search_px`, of their grey levels and of their
    colours (chromaticity), over the pixels in shade on neither day (a shadow turns with the
    sun; a change of shading dims every band alike and leaves the colour). (1.0, 1.0), no
    evidence, where the window with that margin leaves the grid or under `min_own_px` pixels
    are left."""
    m = cp.alike_search_px
    c = np.round(np.asarray(corners_px)).astype(int)
    (x0, y0), (x1, y1) = c.min(axis=0), c.max(axis=0) + 1
    rows, cols = before.shape[1:]
    if x0 < m or y0 < m or x1 + m > cols or y1 + m > rows:
        return 1.0, 1.0
    a = np.nan_to_num(before[:, y0:y1, x0:x1].astype(np.float32))
    b = np.nan_to_num(after[:, y0 - m:y1 + m, x0 - m:x1 + m].astype(np.float32))
    h, w = a.shape[1:]
    shifted = np.lib.stride_tricks.sliding_window_view(b, (h, w), axis=(1, 2))
    shifted = shifted.reshape(len(b), -1, h, w).swapaxes(0, 1)  # (shifts, bands, h, w)
    ga, gb = a.mean(axis=0), shifted.mean(axis=1)
    use = ~(_shade(ga[None], cp) | _shade(gb, cp))
    grey = _correlation(ga, gb, use)
    pa = a / np.maximum(3 * ga, 1)
    pb = shifted / np.maximum(3 * gb, 1)[:, None]
    colour = (_correlation(pa[0], pb[:, 0], use) + _correlation(pa[2], pb[:, 2], use)) / 2
    evident = (use.sum(axis=(1, 2)) >= cp.min_own_px) & _varies(ga, use) & _varies(gb, use)
    if not evident.any():
        return 1.0, 1.0
    return float(grey[evident].max()), float(colour[evident].max())


def _varies(x: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per shift, whether `x` (one window, or one per shift) takes more than one value over
    the pixels in `use` (shifts, rows, cols)."""
    x = np.broadcast_to(x, use.shape)
    big = np.where(use, x, -np.inf).max(axis=(1, 2))
    return big > np.where(use, x, np.inf).min(axis=(1, 2))


def _correlation(x: np.ndarray, y: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per shift, the Pearson correlation of `x` and `y` (one window, or one per shift) over
    the pixels in `use` (shifts, rows, cols); 0 where either is flat."""
    n = np.maximum(use.sum(axis=(1, 2)), 1)
    x, y = (np.broadcast_to(v.astype(np.float64), use.shape) for v in (x, y))
    dx = np.where(use, x - (np.where(use, x, 0).sum(axis=(1, 2)) / n)[:, None, None], 0)
    dy = np.where(use, y - (np.where(use, y, 0).sum(axis=(1, 2)) / n)[:, None, None], 0)
    sxy = (dx * dy).sum(axis=(1, 2))
    sxx = (dx * dx).sum(axis=(1, 2))
    syy = (dy * dy).sum(axis=(1, 2))
    flat = (sxx == 0) | (syy == 0)
    return np.where(flat, 0.0, sxy / np.sqrt(np.where(flat, 1, sxx * syy)))


def _shade(grey: np.ndarray, cp: ChangeParams) -> np.ndarray:
    """Pixels darker than their window's ground (its median) by `out_at` robust sigmas, per
    window of a stack (windows, rows, cols)."""
    flat = grey.reshape(len(grey), -1)
    return grey < (np.median(flat, axis=1) - cp.out_at * robust_sigmas(flat))[:, None, None]


def standing_out(image: np.ndarray, inside: np.ndarray, cp: ChangeParams = ChangeParams()
                 ) -> np.ndarray:
    """Pixels whose colour differs from the median colour outside `inside` by more than
    `out_at` robust sigmas (bands, rows, cols window)."""
    ring = ~inside
    if ring.sum() < cp.min_own_px:
        return np.zeros(inside.shape, bool)
    pix = np.nan_to_num(image.astype(np.float32))
    bg = np.median(pix[:, ring], axis=1)
    dist = np.sqrt(((pix - bg[:, None, None]) ** 2).sum(axis=0))
    ring_d = dist[ring]
    return dist > np.median(ring_d) + cp.out_at * robust_sigma(ring_d)


def local_offset(ref: np.ndarray, day: np.ndarray, known: np.ndarray, pixel_m: float,
                 cp: ChangeParams = ChangeParams()) -> np.ndarray:
    """Per band, the day's slowly varying brightness offset against the reference (haze, thin
    cloud, a low sun on one side): the mean difference in cells of `cell_m`, then the median
    of those over `window_m`, so that no aircraft-sized change moves it; (3, rows, cols)."""
    rows, cols = known.shape
    cell = max(int(round(cp.cell_m / pixel_m)), 1)
    size = (max(cols // cell, 1), max(rows // cell, 1))
    window = max(int(round(cp.window_m / cp.cell_m)) | 1, 3)
    weight = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    seen = weight >= 0.5
    out = np.empty(day.shape, np.float32)
    for i in range(day.shape[0]):
        diff = cv2.resize(np.where(known, day[i] - ref[i], 0).astype(np.float32), size,
                          interpolation=cv2.INTER_AREA)
        cells = np.where(seen, diff / np.maximum(weight, 1e-6), 0.0)
        if seen.any():
            cells[~seen] = np.median(cells[seen])
        cells = _median(cells, window).astype(np.float32)
        out[i] = cv2.resize(cells, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return out


def _median(cells: np.ndarray, size: int) -> np.ndarray:
    """Each cell's median over the `size` x `size` window around it (odd `size`; edge cells
    repeated beyond the border)."""
    edged = np.pad(cells, size // 2, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(edged, (size, size))
    return np.median(windows.reshape(*cells.shape, size * size), axis=-1)


def nearest_squared_difference(a: np.ndarray, b: np.ndarray, reach: int = 1) -> np.ndarray:
    """Per pixel of `b` (bands, rows, cols), the smallest squared colour distance (summed over
    bands) to `a` within `reach` pixels of it."""
    best = np.full(a.shape[1:], np.inf, np.float32)
    total, diff = np.empty_like(best), np.empty_like(best)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            total.fill(0)
            for band_a, band_b in zip(a, b, strict=True):  # a band at a time: less memory
                np.subtract(band_b, np.roll(band_a, (dy, dx), axis=(0, 1)), out=diff)
                diff *= diff
                total += diff
            np.minimum(best, total, out=best)
    return best


def _nearest_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pixel of `b`, the smallest colour difference (RMS over bands) to `a` within one
    pixel of it."""
    return np.sqrt(nearest_squared_difference(a, b) / a.shape[0])


def change_score(ref: np.ndarray, day: np.ndarray, known: np.ndarray, pixel_m: float,
                 cp: ChangeParams = ChangeParams()) -> np.ndarray:
    """Per-pixel change score in 0..1: the smallest colour difference to the other image within
    one pixel of displacement (tolerant of sub-pixel misregistration at edges), taken both ways
    so that a thing a few pixels wide that left is not matched to the apron beside it, after
    the day's local brightness offset is taken out, in units of the image's robust noise
    level, mapped linearly from `score_from` sigmas (0) to `score_span` sigmas more (1)."""
    a = np.stack([cv2.GaussianBlur(b, (0, 0), 1.0) for b in np.asarray(ref, np.float32)])
    b = np.stack([cv2.GaussianBlur(x, (0, 0), 1.0) for x in np.asarray(day, np.float32)])
    b -= local_offset(a, b, known, pixel_m, cp)
    best = np.maximum(_nearest_difference(a, b), _nearest_difference(b, a))
    sigma = robust_sigma(best[known])
    score = np.clip((best / sigma - cp.score_from) / cp.score_span, 0, 1).astype(np.float32)
    score[~known] = np.nan
    return score


def detect_change(ref: np.ndarray, day: np.ndarray, known: np.ndarray, unknown: np.ndarray,
                  grid: Grid, cp: ChangeParams = ChangeParams()) -> Change:
    """Score, masks and regions of change between `ref` and `day` (3, rows, cols)."""
    score = change_score(ref, day, known & ~unknown, grid.pixel_m, cp)
    faint = _changed(score, cp.faint_at, grid.pixel_m, cp.min_region_m2)
    # Change that touches a cloud is its thin edge or its shadow: unknown, not change.
    edge = _touching(faint, cv2.dilate(unknown.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    unknown = unknown | edge | ~known
    faint &= ~unknown
    mask = _changed(score, cp.changed_at, grid.pixel_m, cp.min_region_m2) & ~unknown
    return Change(score, mask, faint, unknown, regions(mask, score, grid), grid, cp)


def _changed(score: np.ndarray, level: float, pixel_m: float, min_m2: float) -> np.ndarray:
    """Pixels scoring at least `level`, cleaned of specks and kept in areas of `min_m2`."""
    mask = np.nan_to_num(score, nan=0.0) >= level
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool)
    return _components(mask, min_m2 / pixel_m**2)


def _touching(mask: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The connected parts of `mask` that overlap `other`."""
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    hit = np.zeros(n, bool)
    hit[np.unique(labels[mask & other])] = True
    hit[0] = False
    return hit[labels]


def regions(mask: np.ndarray, score: np.ndarray, grid: Grid) -> list[Region]:
    """Polygons of the mask's connected areas, in map coordinates, with ground area."""
    out = []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    for k in range(1, n):
        x, y, w, h, area = stats[k]
        inside = labels[y:y + h, x:x + w] == k
        contours, _ = cv2.findContours(inside.astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        pts = max(contours, key=len)[:, 0, :].astype(float)
        if len(pts) < 3:
            continue
        xs, ys = grid.to_map(pts[:, 0] + x + 0.5, pts[:, 1] + y + 0.5)
        poly = Polygon(np.column_stack([xs, ys])).buffer(0)
        out.append(Region(poly, float(area * grid.pixel_m**2),
                          float(np.nanmean(score[y:y + h, x:x + w][inside]))))
    return out
