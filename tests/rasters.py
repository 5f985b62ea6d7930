"""Helpers that write small real GeoTIFFs for tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import rasterio
from rasterio.transform import from_origin

UTM = "EPSG:32631"
ORIGIN = (500000.0, 5000000.0)


def write_tif(path: Path, data: np.ndarray, crs=UTM, transform=None, nodata=None, **kw) -> Path:
    """Write (bands, rows, cols) or (rows, cols) as a GeoTIFF."""
    if data.ndim == 2:
        data = data[None]
    transform = transform or from_origin(*ORIGIN, 0.5, 0.5)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=data.dtype, crs=crs, transform=transform,
                       nodata=nodata, **kw) as ds:
        ds.write(data)
    return path


def airbus_rgb(root: Path, name: str, size: int | None = None) -> np.ndarray:
    """An Airbus image as (3, rows, cols) uint8 RGB, optionally the centre crop."""
    img = cv2.imread(str(root / "images" / name))[..., ::-1]
    if size:
        r0, c0 = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        img = img[r0:r0 + size, c0:c0 + size]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def transformed(rgb: np.ndarray, shift, rotation_deg, gain, offset, rng) -> tuple:
    """The image as another pass sees it: the reference pixel x lies at M x (rotation about the
    centre, counter-clockwise in map view, then shift), relit and noisy. Returns (image,
    true shift at the centre)."""
    h, w = rgb.shape[1:]
    c = ((w - 1) / 2, (h - 1) / 2)
    m = cv2.getRotationMatrix2D(c, rotation_deg, 1.0)
    m[:, 2] += shift
    out = np.stack([cv2.warpAffine(b.astype(np.float32), m, (w, h), flags=cv2.INTER_CUBIC,
                                   borderValue=0) for b in rgb])
    valid = cv2.warpAffine(np.ones((h, w), np.float32), m, (w, h)) > 0.999
    out = np.clip(out * gain + offset + rng.normal(0, 2, out.shape), 1, 255)
    out[:, ~valid] = 0
    true = m @ np.array([c[0], c[1], 1.0]) - np.array(c)
    return out.astype(np.uint8), true
