"""Writing Cloud-Optimized GeoTIFFs atomically."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile

from detect.atomic import atomic_path
from detect.errors import DetectError

DEFLATE_LEVEL = 3  # half the time of GDAL's default level 6, files about 2% larger


def percentile_stretch(ds, bands: list[int]) -> tuple[float, float] | None:
    """(low, span) of the 1st-99th percentiles of `bands`, from a decimated read, for data
    that is not 8-bit; None for 8-bit data or when no pixel is valid."""
    if ds.dtypes[0] == "uint8":
        return None
    f = max(1, max(ds.width, ds.height) // 1024)
    sample = ds.read(bands, out_shape=(len(bands), max(1, ds.height // f),
                                       max(1, ds.width // f)), masked=True)
    values = sample.compressed()
    if values.size == 0:
        return None
    lo, hi = np.percentile(values.astype(float), [1, 99])
    return float(lo), float(max(hi - lo, 1e-6))


def write_cog(path: str | os.PathLike, data: np.ndarray, transform, crs, nodata=None,
              tags: dict[str, str] | None = None) -> None:
    """Write a (bands, rows, cols) array as a deflate-compressed COG, atomically. Overviews are
    built only for rasters large enough to need them (over 2048 px)."""
    if data.ndim == 2:
        data = data[None]
    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                   dtype=data.dtype, crs=crs, transform=transform, nodata=nodata)
    predictor = "FLOATING_POINT" if np.issubdtype(data.dtype, np.floating) else "YES"
    overviews = "AUTO" if max(data.shape[1:]) > 2048 else "NONE"
    with MemoryFile() as mem, mem.open(**profile) as ds:
        ds.write(data)
        if tags:
            ds.update_tags(**tags)
        with atomic_path(path) as tmp:
            try:
                rasterio.shutil.copy(ds, tmp, driver="COG", compress="DEFLATE",
                                     level=DEFLATE_LEVEL, predictor=predictor, blocksize=256,
                                     overviews=overviews)
            except Exception as exc:  # GDAL reports a full disk as a bare seek or write error
                raise _write_error(Path(path), data.nbytes, exc) from exc


def _write_error(path: Path, size: int, exc: Exception) -> Exception:
    """The error to raise for a GeoTIFF that could not be written: a full disk where less
    than the raster's uncompressed size is free, else the driver's message."""
    if shutil.disk_usage(path.parent).free < size:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return DetectError(f"cannot write {path}: {exc}")
