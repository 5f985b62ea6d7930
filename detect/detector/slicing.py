"""Sliced oriented-box inference over rasters of any size, read in windows.

Slices are cut at the model's ground sample distance (each window is resampled as it is read),
predicted in batches, put back into map coordinates and merged across seams: duplicates are
suppressed by rotated IoU, and pieces of one aircraft cut by a seam are joined.
"""

from __future__ import annotations

import ctypes
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from shapely import STRtree
from shapely.geometry import Polygon, box
from tqdm import tqdm

from detect.detector.model import MODEL_GSD, MODEL_IMGSZ, predict_obb
from detect.errors import DetectError
from detect.geo import ground_distance
from detect.geotiff import percentile_stretch
from detect.objects import Objects

CACHE_MB = 128
MASK_PX = 2048  # longest side of the decimated validity mask that picks the slices with data


class RasterError(DetectError):
    """An image the detector cannot work on, with what to do about it."""


@dataclass(frozen=True)
class SliceConfig:
    size: int = MODEL_IMGSZ  # model pixels per slice
    overlap: int = 160  # model pixels shared by neighbouring slices (80 m at 0.5 m)
    conf: float = 0.25
    batch: int = 4
    model_gsd: float = MODEL_GSD


def pixel_size(ds, gsd: float | None) -> tuple[float, float]:
    """Ground metres per pixel along columns and rows: measured on the ellipsoid at the
    centre when the dataset is georeferenced (geographic pixels are not square on the ground,
    Web Mercator pixels are not metres), else `gsd` for both."""
    if ds.crs is None or ds.transform.is_identity:
        if gsd is None:
            raise RasterError("the image has no georeferencing: give its metres per pixel "
                              "with --gsd")
        return gsd, gsd
    if gsd is not None:
        return gsd, gsd
    cx, cy = ds.width / 2, ds.height / 2
    t = ds.transform
    x0, y0 = t @ (cx, cy)
    x1, y1 = t @ (cx + 1, cy)
    x2, y2 = t @ (cx, cy + 1)
    return (float(ground_distance(ds.crs, x0, y0, x1, y1)),
            float(ground_distance(ds.crs, x0, y0, x2, y2)))


def native_gsd(ds, gsd: float | None) -> float:
    """One ground metres-per-pixel figure for a dataset (geometric mean of both axes)."""
    gx, gy = pixel_size(ds, gsd)
    return math.sqrt(gx * gy)


class Reader:
    """Reads RGB uint8 windows of any raster: 1 band is stacked, 16-bit data is stretched with
    percentiles taken from a decimated read, masked pixels become 0."""

    def __init__(self, ds):
        self.ds = ds
        self.bands = [1, 1, 1] if ds.count < 3 else [1, 2, 3]
        self.stretch = percentile_stretch(ds, self.bands)
        if ds.dtypes[0] != "uint8" and self.stretch is None:
            raise RasterError("the image holds no valid pixels")

    def read(self, window: Window, out: int) -> np.ndarray:
        """`window` (may reach past the edges) resampled to out x out, as (out, out, 3)."""
        ds = self.ds
        full = Window(0, 0, ds.width, ds.height)
        try:
            inner = window.intersection(full)
        except rasterio.errors.WindowError:
            return np.zeros((out, out, 3), np.uint8)
        kx, ky = out / window.width, out / window.height
        oh, ow = max(1, round(inner.height * ky)), max(1, round(inner.width * kx))
        data = ds.read(self.bands, window=inner, out_shape=(3, oh, ow),
                       resampling=Resampling.bilinear, masked=True)
        mask = np.ma.getmaskarray(data).any(axis=0)
        arr = np.asarray(data.filled(0), float)
        if self.stretch is not None:
            arr = np.clip((arr - self.stretch[0]) / self.stretch[1] * 255, 0, 255)
        arr[:, mask] = 0
        img = np.zeros((out, out, 3), np.uint8)
        r0 = round((inner.row_off - window.row_off) * ky)
        c0 = round((inner.col_off - window.col_off) * kx)
        h, w = min(oh, out - r0), min(ow, out - c0)
        img[r0:r0 + h, c0:c0 + w] = arr.transpose(1, 2, 0)[:h, :w].astype(np.uint8)
        return img


def slice_windows(region: Window, step: float, size: float, ky: float = 1.0) -> list[Window]:
    """Windows of `size` native columns every `step` columns covering `region`, `ky` times
    as many rows as columns (pixels that are not square on the ground); the last row and
    column are pulled back so that they end at the region's edge."""
    def starts(off, length, size, step):
        n = max(1, math.ceil((length - size) / step) + 1)
        last = off + max(length - size, 0)
        return [min(off + i * step, last) for i in range(n)]

    return [Window(c, r, size, size * ky)
            for r in starts(region.row_off, region.height, size * ky, step * ky)
            for c in starts(region.col_off, region.width, size, step)]


def with_data(ds, windows: list[Window]) -> list[Window]:
    """The windows that hold any valid pixel, judged on the dataset mask read decimated to
    at most MASK_PX a side (averaged, so one valid pixel counts); every window when the
    raster declares all its pixels valid."""
    if all(flags == [rasterio.enums.MaskFlags.all_valid] for flags in ds.mask_flag_enums):
        return windows
    k = max(1, math.ceil(max(ds.width, ds.height) / MASK_PX))
    h, w = math.ceil(ds.height / k), math.ceil(ds.width / k)
    with rasterio.Env(GDAL_CACHEMAX=CACHE_MB * 2**20):
        mask = ds.dataset_mask(out_shape=(h, w), resampling=Resampling.average) > 0
    sy, sx = h / ds.height, w / ds.width

    def has_data(win: Window) -> bool:
        r0, c0 = max(0, int(win.row_off * sy)), max(0, int(win.col_off * sx))
        r1 = min(h, math.ceil((win.row_off + win.height) * sy))
        c1 = min(w, math.ceil((win.col_off + win.width) * sx))
        return bool(mask[r0:r1, c0:c1].any())

    return [win for win in windows if has_data(win)]


def _region(ds, aoi) -> Window:
    full = Window(0, 0, ds.width, ds.height)
    if aoi is None:
        return full
    minx, miny, maxx, maxy = aoi.bounds
    win = rasterio.windows.from_bounds(minx, miny, maxx, maxy, transform=ds.transform)
    try:
        return win.intersection(full)
    except rasterio.errors.WindowError:
        raise RasterError("the AOI does not overlap the image") from None


# glibc keeps what onnxruntime's worker threads free in per-thread arenas; without handing it
# back after each batch the process grows with the raster (None off glibc)
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)


def _release_freed_memory() -> None:
    """Hand freed heap back to the system (glibc only)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _batches(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def detect_raster(ds, model, *, gsd: float | None = None, aoi=None,
                  cfg: SliceConfig = SliceConfig(), progress: bool = False) -> Objects:
    """Detect objects on an open rasterio dataset. `aoi` is a shapely geometry in the
    dataset's CRS (pixel coordinates when it has none). Returns map-coordinate `Objects`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        georef = ds.crs is not None and not ds.transform.is_identity
    gx, gy = pixel_size(ds, gsd)
    kx, ky = cfg.model_gsd / gx, cfg.model_gsd / gy  # native pixels per model pixel
    region = _region(ds, aoi)
    windows = slice_windows(region, (cfg.size - cfg.overlap) * kx, cfg.size * kx, ky / kx)
    if aoi is not None:
        t = ds.transform if georef else rasterio.Affine.identity()
        windows = [w for w in windows if aoi.intersects(box(*rasterio.windows.bounds(w, t)))]
    windows = with_data(ds, windows)
    if not windows:
        raise RasterError("the image holds no valid pixels where objects are looked for "
                          "(all nodata)")
    # GDAL's block cache would otherwise grow to 5% of RAM as a large raster streams through
    with rasterio.Env(GDAL_CACHEMAX=CACHE_MB * 2**20):
        corners, confs, classes, seams = _predict(Reader(ds), windows, region, model, cfg,
                                                  (kx, ky), progress)
    corners_px = np.asarray(corners, float).reshape(-1, 4, 2)
    keep, corners_px = merge_seams(corners_px, np.asarray(confs), np.asarray(classes, object),
                                   np.asarray(seams, bool))
    if aoi is not None and len(keep):
        inside = [aoi.contains(_to_point(ds, c.mean(axis=0), georef)) for c in corners_px]
        keep, corners_px = keep[inside], corners_px[inside]
    if georef:
        xs, ys = ds.transform @ (corners_px[..., 0] + 0.0, corners_px[..., 1] + 0.0)
        corners_map = np.stack([xs, ys], axis=-1)
        return Objects(corners_map, np.asarray(classes, object)[keep],
                       np.asarray(confs)[keep], ds.crs.to_string(), None)
    return Objects(corners_px, np.asarray(classes, object)[keep], np.asarray(confs)[keep],
                   None, math.sqrt(gx * gy))


def _predict(reader: Reader, windows: list[Window], region: Window, model, cfg: SliceConfig,
             k: tuple[float, float], progress: bool) -> tuple[list, list, list, list]:
    """Predict every slice in batches: corners in native pixels, confidences, classes, and
    whether each box touches a seam."""
    corners, confs, classes, seams = [], [], [], []
    bar = tqdm(total=len(windows), desc="detect", unit="slice", disable=not progress or
               len(windows) < 8, leave=False)
    for batch in _batches(windows, cfg.batch):
        bar.update(len(batch))
        read = [(w, reader.read(w, cfg.size)) for w in batch]
        read = [(w, img) for w, img in read if img.any()]  # an empty slice is never predicted
        if not read:
            continue
        batch, images = zip(*read, strict=True)
        for w, (c, p, names) in zip(batch, predict_obb(model, list(images), cfg.conf,
                                                       cfg.size), strict=True):
            interior = _interior_edges(w, region)
            for box_px, conf, name in zip(c, p, names, strict=True):
                seams.append(_touches(box_px, interior, cfg.size))
                corners.append(box_px * list(k) + [w.col_off, w.row_off])
                confs.append(conf)
                classes.append(name)
        _release_freed_memory()
    bar.close()
    return corners, confs, classes, seams


def _to_point(ds, xy, georef):
    from shapely.geometry import Point

    return Point(ds.transform @ tuple(xy)) if georef else Point(*xy)


def _interior_edges(w: Window, region: Window) -> tuple[bool, bool, bool, bool]:
    """Which sides of a slice (left, top, right, bottom) are seams rather than region edges."""
    eps = 1e-6
    return (w.col_off > region.col_off + eps, w.row_off > region.row_off + eps,
            w.col_off + w.width < region.col_off + region.width - eps,
            w.row_off + w.height < region.row_off + region.height - eps)


def _touches(box_px: np.ndarray, interior, size: int, margin: float = 3.0) -> bool:
    x, y = box_px[:, 0], box_px[:, 1]
    near = (x.min() < margin, y.min() < margin, x.max() > size - margin, y.max() > size - margin)
    return any(a and b for a, b in zip(near, interior, strict=True))


def merge_seams(corners: np.ndarray, conf: np.ndarray, klass: np.ndarray, seam: np.ndarray,
                iou_thr: float = 0.45, contain_thr: float = 0.6, vehicle_contain: float = 0.15
                ) -> tuple[np.ndarray, np.ndarray]:
    """Merge detections from overlapping slices. Whole boxes win over boxes cut by a seam, then
    higher confidence wins; a box mostly inside a kept one (or overlapping it by IoU) is dropped,
    and two cut pieces of the same class that overlap are joined into one box. Two vehicle boxes
    that overlap by `vehicle_contain` of the smaller are one vehicle: vehicles do not overlap,
    but a truck and its shadow beside it do. Returns the kept indices and their (possibly
    joined) corners."""
    if len(corners) == 0:
        return np.zeros(0, int), corners
    polys = [Polygon(c).buffer(0) for c in corners]
    tree = STRtree(polys)
    order = sorted(range(len(polys)), key=lambda i: (bool(seam[i]), -conf[i]))
    kept: list[int] = []
    out = {i: corners[i] for i in range(len(corners))}
    kept_set: set[int] = set()
    for i in order:
        pi = polys[i]
        drop = False
        for j in tree.query(pi):
            if j not in kept_set:
                continue
            pj = polys[j]
            inter = pi.intersection(pj).area
            if inter == 0:
                continue
            ios = inter / max(min(pi.area, pj.area), 1e-9)
            iou = inter / max(pi.union(pj).area, 1e-9)
            if seam[i] and seam[j] and klass[i] == klass[j] and ios > 0.05 and iou < iou_thr:
                pts = np.concatenate([out[j], corners[i]]).astype(np.float32)
                out[j] = cv2.boxPoints(cv2.minAreaRect(pts)).astype(float)
                polys[j] = Polygon(out[j])
                drop = True
                break
            touching = vehicle_contain if klass[i] == klass[j] == "vehicle" else contain_thr
            if iou > iou_thr or ios > touching:
                drop = True
                break
        if not drop:
            kept.append(i)
            kept_set.add(i)
    keep = np.asarray(sorted(kept), int)
    return keep, np.asarray([out[i] for i in keep]).reshape(-1, 4, 2)
