"""`Objects`: the one container of detected objects that every stage passes on.

Parallel numpy arrays (one row per object): the oriented box as four corners in map coordinates
of `crs` (or pixel coordinates when `crs` is None), class, confidence, true ground sizes and
heading, plus optional per-object type fields in `extra`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detect.geo import GEOD, polygon_geometry, to_lonlat

CLASSES = ("aircraft", "helicopter", "vehicle")


@dataclass
class Objects:
    corners: np.ndarray  # (n, 4, 2)
    klass: np.ndarray  # (n,) str
    confidence: np.ndarray  # (n,)
    crs: str | None = None
    gsd: float | None = None  # metres per pixel, for pixel-coordinate objects
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.corners = np.asarray(self.corners, float).reshape(-1, 4, 2)
        n = len(self.corners)
        self.klass = np.asarray(self.klass, dtype=object).reshape(n)
        self.confidence = np.asarray(self.confidence, float).reshape(n)
        for k, v in self.extra.items():
            if len(v) != n:
                raise ValueError(f"extra field {k!r} has {len(v)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.corners)

    def __getitem__(self, idx) -> Objects:
        idx = np.atleast_1d(np.arange(len(self))[idx])
        return Objects(self.corners[idx], self.klass[idx], self.confidence[idx], self.crs,
                       self.gsd, {k: np.asarray(v, dtype=object)[idx] if np.asarray(v).dtype
                                  == object else np.asarray(v)[idx] for k, v in self.extra.items()})

    @property
    def centres(self) -> np.ndarray:
        """(n, 2) box centres in the objects' coordinates."""
        return self.corners.mean(axis=1)

    def lonlat(self) -> np.ndarray:
        """(n, 4, 2) corners in WGS84 lon/lat (requires a CRS)."""
        if self.crs is None:
            raise ValueError("pixel-coordinate objects have no lon/lat")
        lon, lat = to_lonlat(self.crs, self.corners[..., 0].ravel(), self.corners[..., 1].ravel())
        return np.stack([lon, lat], axis=-1).reshape(self.corners.shape)

    def _edges_m_and_azimuth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground lengths (m) of edges 0-1 and 1-2, and the azimuth (deg) of edge 0-1."""
        c = self.corners
        if self.crs is None:
            d01 = np.hypot(*(c[:, 1] - c[:, 0]).T) * self.gsd
            d12 = np.hypot(*(c[:, 2] - c[:, 1]).T) * self.gsd
            v = c[:, 1] - c[:, 0]
            az = np.degrees(np.arctan2(v[:, 0], -v[:, 1]))  # pixel y points south
            return d01, d12, az
        ll = self.lonlat()
        az01, _, d01 = GEOD.inv(ll[:, 0, 0], ll[:, 0, 1], ll[:, 1, 0], ll[:, 1, 1])
        _, _, d12 = GEOD.inv(ll[:, 1, 0], ll[:, 1, 1], ll[:, 2, 0], ll[:, 2, 1])
        az12 = GEOD.inv(ll[:, 1, 0], ll[:, 1, 1], ll[:, 2, 0], ll[:, 2, 1])[0]
        return np.asarray(d01), np.asarray(d12), np.where(np.asarray(d01) >= d12, az01, az12)

    @property
    def length_m(self) -> np.ndarray:
        """Ground length (m) of each box's longer side, true in any CRS."""
        d01, d12, _ = self._edges_m_and_azimuth()
        return np.maximum(d01, d12)

    @property
    def width_m(self) -> np.ndarray:
        d01, d12, _ = self._edges_m_and_azimuth()
        return np.minimum(d01, d12)

    @property
    def axis_deg(self) -> np.ndarray:
        """Azimuth of the long axis, clockwise from north, in [0, 180)."""
        d01, d12, az = self._edges_m_and_azimuth()
        if self.crs is None:
            v = np.where((d01 >= d12)[:, None], self.corners[:, 1] - self.corners[:, 0],
                         self.corners[:, 2] - self.corners[:, 1])
            az = np.degrees(np.arctan2(v[:, 0], -v[:, 1]))
        return np.mod(az, 180.0)

    def records(self) -> list[dict]:
        """One plain dict of properties per object (class, confidence, sizes, heading, extra)."""
        length, width = self.length_m, self.width_m
        heading = self.extra.get("heading_deg", self.axis_deg)
        return [{"class": str(self.klass[i]), "confidence": round(float(self.confidence[i]), 4),
                 "length_m": round(float(length[i]), 2), "width_m": round(float(width[i]), 2),
                 "heading_deg": round(float(heading[i]), 1),
                 **{k: _jsonable(v[i]) for k, v in self.extra.items() if k != "heading_deg"}}
                for i in range(len(self))]

    def to_geojson(self) -> dict:
        """A GeoJSON FeatureCollection: WGS84 (RFC 7946), or pixel coordinates when no CRS."""
        ring = self.lonlat() if self.crs is not None else self.corners
        features = [{"type": "Feature", "properties": props,
                     "geometry": polygon_geometry(ring[i][:, 0], ring[i][:, 1])}
                    for i, props in enumerate(self.records())]
        out = {"type": "FeatureCollection", "features": features}
        if self.crs is None:
            out["coordinates"] = "pixel"
        return out


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float):
        return round(v, 3)
    return v
