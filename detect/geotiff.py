"""Writing Cloud-Optimized GeoTIFFs atomically."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

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
    """Write a (bands, rows, cols) array as a deflate-compressed COG, atomically."""
    if data.ndim == 2:
        data = data[None]
    with CogWriter(path, data.shape[1:], data.shape[0], data.dtype, transform, crs, nodata,
                   tags) as out:
        out.write(data)


class CogWriter:
    """A raster of `shape` (rows, cols) written in windows that becomes a deflate-compressed
    COG at `path`, atomically, when its `with` block ends without error (and is discarded
    when it fails). It is staged in a tiled scratch file beside `path`, so memory does not
    grow with its size. Overviews are built only for rasters over 2048 px."""

    def __init__(self, path: str | os.PathLike, shape: tuple[int, int], count: int, dtype,
                 transform, crs, nodata=None, tags: dict[str, str] | None = None):
        self.path, self.dtype = Path(path), np.dtype(dtype)
        self.size = shape[0] * shape[1] * count * self.dtype.itemsize
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".scratch.tif",
                                    dir=self.path.parent)
        os.close(fd)
        self.scratch = Path(name)
        self.overviews = "AUTO" if max(shape) > 2048 else "NONE"
        try:
            self.ds = rasterio.open(
                self.scratch, "w", driver="GTiff", width=shape[1], height=shape[0],
                count=count, dtype=self.dtype, crs=crs, transform=transform, nodata=nodata,
                tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE", zlevel=1,
                BIGTIFF="IF_SAFER")
            if tags:
                self.ds.update_tags(**tags)
        except Exception as exc:
            self.scratch.unlink(missing_ok=True)
            raise _write_error(self.path, self.size, exc) from exc

    def write(self, data: np.ndarray, rows: slice | None = None, cols: slice | None = None
              ) -> None:
        """Write (bands, rows, cols) `data` at `rows`, `cols` of the raster (all of it)."""
        window = None if rows is None else Window.from_slices(rows, cols)
        try:
            self.ds.write(data, window=window)
        except Exception as exc:  # GDAL reports a full disk as a bare seek or write error
            raise _write_error(self.path, self.size, exc) from exc

    def __enter__(self) -> CogWriter:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self._finish()
        finally:
            self.ds.close()
            self.scratch.unlink(missing_ok=True)

    def _finish(self) -> None:
        predictor = "FLOATING_POINT" if np.issubdtype(self.dtype, np.floating) else "YES"
        try:
            self.ds.close()
            with rasterio.open(self.scratch) as ds, atomic_path(self.path) as tmp:
                rasterio.shutil.copy(ds, tmp, driver="COG", compress="DEFLATE",
                                     level=DEFLATE_LEVEL, predictor=predictor, blocksize=256,
                                     overviews=self.overviews)
        except Exception as exc:
            raise _write_error(self.path, self.size, exc) from exc


def _write_error(path: Path, size: int, exc: Exception) -> Exception:
    """The error to raise for a GeoTIFF that could not be written: a full disk where less
    than the raster's uncompressed size is free, else the driver's message."""
    if shutil.disk_usage(path.parent).free < size:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return DetectError(f"cannot write {path}: {exc}")
