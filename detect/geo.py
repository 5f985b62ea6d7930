"""Coordinate reference helpers shared by every stage (pyproj does the geodesy)."""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from rasterio.crs import CRS as RioCRS

WGS84 = "EPSG:4326"
GEOD = Geod(ellps="WGS84")


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS that contains a point."""
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


@cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def crs_key(crs) -> str:
    """A hashable text form of any CRS (rasterio, pyproj or user string)."""
    if isinstance(crs, RioCRS):
        return crs.to_wkt()
    return CRS.from_user_input(crs).to_wkt()


def transform_xy(src, dst, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Reproject coordinate arrays between two CRSs (x/lon first)."""
    t = _transformer(crs_key(src), crs_key(dst))
    x, y = t.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(x), np.asarray(y)


def reproject_geometry(geom, src, dst, decimals: int | None = None):
    """A shapely geometry reprojected between two CRSs (coordinates rounded to `decimals`)."""
    def move(xs, ys):
        x, y = transform_xy(src, dst, xs, ys)
        return (x, y) if decimals is None else (np.round(x, decimals), np.round(y, decimals))

    return shapely.transform(geom, move, interleaved=False)


def polygon_geometry(xs, ys, decimals: int = 7) -> dict:
    """A GeoJSON Polygon of one ring, closed and counter-clockwise (RFC 7946)."""
    ring = np.round(np.column_stack([xs, ys]).astype(float), decimals)
    return oriented(shapely.Polygon(ring))


def oriented(geom) -> dict:
    """A shapely geometry as GeoJSON with exterior rings counter-clockwise (RFC 7946)."""
    return shapely.geometry.mapping(shapely.orient_polygons(geom))


def to_lonlat(crs, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates to WGS84 longitude/latitude."""
    return transform_xy(crs, WGS84, xs, ys)


def ground_distance(crs, x0, y0, x1, y1) -> np.ndarray:
    """True distance on the ellipsoid (metres) between map points, whatever the CRS units."""
    lon0, lat0 = to_lonlat(crs, x0, y0)
    lon1, lat1 = to_lonlat(crs, x1, y1)
    return np.asarray(GEOD.inv(lon0, lat0, lon1, lat1)[2])
