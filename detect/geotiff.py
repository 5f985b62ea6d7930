"""Writing Cloud-Optimized GeoTIFFs atomically."""

from __future__ import annotations

import os

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile

from detect.atomic import atomic_path


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
            rasterio.shutil.copy(ds, tmp, driver="COG", compress="DEFLATE", predictor=predictor,
                                 blocksize=256, overviews=overviews)
