"""Render a synthetic airbase series: reference image, daily drops of COG tiles, truth and site."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio.warp
import yaml
from rasterio.transform import Affine, from_origin

from detect.atomic import write_json, write_text
from detect.geo import polygon_geometry, to_lonlat, transform_xy, utm_crs
from detect.geotiff import write_cog
from detect.identify.catalogue import get_type
from detect.synth.scenario import Day, Placement, events, make_scenario
from detect.synth.scene import CORE_M, Canvas, Layout, base_layout, fractal, ground_image
from detect.synth.shapes import TRUCK, paste, render_sprite, shape_for

MAX_SHIFT_M = 20.0
MAX_ROTATION_DEG = 1.0
CLOUD_DAY = 3  # the scripted day on which a cloud hides part of the apron


@dataclass(frozen=True)
class SynthOptions:
    days: int = 5
    seed: int = 0
    gsd: float = 0.5
    size: int = 1024
    crs: str | None = None  # default: the UTM zone of the centre
    tiles: int = 2
    start: dt.date = dt.date(2026, 11, 20)
    lon: float = 35.948
    lat: float = 35.401
    name: str = "sample-base"


@dataclass
class Conditions:
    """How one day was observed."""

    sun_azimuth: float
    sun_elevation: float
    gain: float
    offset: float
    gamma: float
    haze: float
    shift_m: tuple[float, float]
    rotation_deg: float
    cloud: bool


def object_class(type_name: str) -> str:
    if type_name == TRUCK:
        return "vehicle"
    return "helicopter" if get_type(type_name).is_helicopter else "aircraft"


def _conditions(rng: np.random.Generator, day: int) -> Conditions:
    ang = rng.uniform(0, 2 * math.pi)
    r = MAX_SHIFT_M * math.sqrt(rng.uniform(0.2, 1.0))
    return Conditions(
        sun_azimuth=float(rng.uniform(120, 240)), sun_elevation=float(rng.uniform(35, 70)),
        gain=float(rng.uniform(0.85, 1.15)), offset=float(rng.uniform(-0.04, 0.04)),
        gamma=float(rng.uniform(0.85, 1.15)), haze=float(rng.uniform(0, 0.12)),
        shift_m=(round(r * math.cos(ang), 3), round(r * math.sin(ang), 3)),
        rotation_deg=round(float(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)), 4),
        cloud=day == CLOUD_DAY or (day > 4 and rng.random() < 0.3))


def _cloud(canvas: Canvas, rng: np.random.Generator, centre: tuple[float, float]) -> np.ndarray:
    """Cloud opacity (0..1): a soft blob with ragged edges around `centre` (metres)."""
    shape = (canvas.size, canvas.size)
    cols, rows = np.meshgrid(np.arange(canvas.size), np.arange(canvas.size))
    c, r = canvas.px(*centre)
    d2 = ((cols - c) ** 2 + (rows - r) ** 2) * canvas.gsd**2
    blob = np.exp(-d2 / (2 * 45.0**2)).astype(np.float32)
    return np.clip((blob * (1 + 0.6 * fractal(shape, rng, 30 / canvas.gsd)) - 0.35) * 4, 0, 1)


def _warp_matrix(canvas: Canvas, out_px: int, cond: Conditions) -> np.ndarray:
    """Day pixel -> world canvas pixel, for content displaced by shift and rotated about the
    centre (counter-clockwise in map view by `rotation_deg`)."""
    g, h, m = canvas.gsd, canvas.half, canvas.margin
    day_to_m = np.linalg.inv(np.array([[1 / g, 0, h / g], [0, -1 / g, h / g], [0, 0, 1]]))
    th = math.radians(cond.rotation_deg)
    rot = np.array([[math.cos(th), -math.sin(th), 0], [math.sin(th), math.cos(th), 0], [0, 0, 1]])
    shift = np.array([[1, 0, cond.shift_m[0]], [0, 1, cond.shift_m[1]], [0, 0, 1]])
    m_to_world = np.array([[1 / g, 0, h / g + m], [0, -1 / g, h / g + m], [0, 0, 1]])
    return (m_to_world @ np.linalg.inv(shift @ rot) @ day_to_m)[:2]


def _to_dn(img: np.ndarray, cond: Conditions | None, rng: np.random.Generator) -> np.ndarray:
    """Reflectance -> sensor counts (uint8, 1..255, 0 is nodata), with the day's radiometry."""
    if cond is not None:
        light = (0.6 + 0.4 * math.sin(math.radians(cond.sun_elevation))) / 0.93
        img = img * light * (1 - cond.haze) + cond.haze * np.array([0.75, 0.78, 0.85], np.float32)
        img = np.clip(cond.gain * img + cond.offset, 0, 1) ** cond.gamma
    dn = 255 * np.clip(img, 0, 1) ** (1 / 1.6)
    if cond is not None:
        dn = dn + rng.normal(0, 1.0, dn.shape)
    return np.clip(np.round(dn), 1, 255).astype(np.uint8)


def _footprint(size: int, rng: np.random.Generator) -> np.ndarray:
    """The pass's footprint on the scene: all but a slanted strip along one edge."""
    mask = np.ones((size, size), np.uint8)
    cut = int(size * rng.uniform(0.04, 0.1))
    edge = rng.integers(4)
    tri = np.array([[0, 0], [size, 0], [size, cut // 3], [0, cut]], np.int32)
    if edge % 2:
        tri = tri[:, ::-1]
    if edge >= 2:
        tri = size - tri
    cv2.fillPoly(mask, [tri], 0)
    return mask.astype(bool)


class _Series:
    def __init__(self, out: Path, opts: SynthOptions):
        self.out, self.o = out, opts
        self.rng = np.random.default_rng(opts.seed)
        self.extent = opts.size * opts.gsd
        self.natural = utm_crs(opts.lon, opts.lat)
        (cx,), (cy,) = transform_xy("EPSG:4326", self.natural, [opts.lon], [opts.lat])
        g = opts.gsd
        self.cx, self.cy = round(cx / g) * g, round(cy / g) * g
        self.transform = from_origin(self.cx - self.extent / 2, self.cy + self.extent / 2, g, g)
        self.crs = opts.crs or self.natural
        self.layout: Layout = base_layout(self.extent)
        margin = int(math.ceil((MAX_SHIFT_M * 1.5 + self.extent * 0.02) / g)) + 8
        self.canvas = Canvas(self.extent, g, margin)
        self.ground = ground_image(self.layout, self.canvas, self.rng)

    def map_xy(self, e: float, n: float) -> tuple[float, float]:
        """Metres about the centre -> output CRS coordinates."""
        (x,), (y,) = transform_xy(self.natural, self.crs, [self.cx + e], [self.cy + n])
        return float(x), float(y)

    def crop(self, world: np.ndarray) -> np.ndarray:
        m, n = self.canvas.margin, self.o.size
        return world[m:m + n, m:m + n]

    def write_raster(self, path: Path, rgb: np.ndarray, tags: dict, window=None) -> None:
        """Write (rows, cols, 3) uint8 at the base grid (or a column window of it), in the
        output CRS; 0 is nodata."""
        transform = self.transform
        if window is not None:
            transform = transform @ Affine.translation(window, 0)
        data = np.ascontiguousarray(rgb.transpose(2, 0, 1))
        if self.crs != self.natural:
            dst_t, w, h = rasterio.warp.calculate_default_transform(
                self.natural, self.crs, data.shape[2], data.shape[1],
                *rasterio.transform.array_bounds(data.shape[1], data.shape[2], transform))
            out = np.zeros((3, h, w), np.uint8)
            rasterio.warp.reproject(data, out, src_transform=transform, src_crs=self.natural,
                                    dst_transform=dst_t, dst_crs=self.crs, src_nodata=0,
                                    dst_nodata=0, resampling=rasterio.warp.Resampling.bilinear)
            data, transform = out, dst_t
        write_cog(path, data, transform, self.crs, nodata=0, tags=tags)

    def render_day(self, day: Day, cond: Conditions, clouds: np.ndarray | None) -> np.ndarray:
        world = self.ground.copy()
        for p in day.values():
            stand = self._stand(p)
            sprite = render_sprite(shape_for(p.type), self.canvas.px(stand.e, stand.n),
                                   stand.heading, self.o.gsd, cond.sun_azimuth, cond.sun_elevation,
                                   phase=self._jitter(p)[2])
            paste(world, sprite)
        if clouds is not None:
            sx = int(round(-30 * math.sin(math.radians(cond.sun_azimuth)) / self.o.gsd))
            sy = int(round(30 * math.cos(math.radians(cond.sun_azimuth)) / self.o.gsd))
            shade = np.roll(clouds, (sy, sx), axis=(0, 1))
            world *= 1 - 0.35 * shade[..., None]
            tone = 0.93 + 0.04 * fractal(clouds.shape, self.rng, 8 / self.o.gsd)
            world[:] = world * (1 - clouds[..., None]) + (clouds * tone)[..., None]
        size = self.o.size
        img = cv2.warpAffine(world, _warp_matrix(self.canvas, size, cond), (size, size),
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        img = cv2.GaussianBlur(img, (0, 0), 0.6)
        return _to_dn(img, cond, self.rng)

    def _stand(self, p: Placement):
        base = next(s for s in self.layout.stands if s.id == p.stand)
        de, dn, _ = self._jitter(p)
        return type(base)(base.id, base.zone, base.size, base.e + de, base.n + dn,
                          (base.heading + 3 * de) % 360)

    def _jitter(self, p: Placement) -> tuple[float, float, float]:
        """A small, fixed offset per object and stand (how it happened to park)."""
        r = np.random.default_rng([self.o.seed, *map(ord, p.id + p.stand)])
        return float(r.normal(0, 0.5)), float(r.normal(0, 0.5)), float(r.uniform(0, 2 * math.pi))

    def truth_object(self, p: Placement, clouds: np.ndarray | None, footprint: np.ndarray) -> dict:
        s = self._stand(p)
        shape = shape_for(p.type)
        x, y = self.map_xy(s.e, s.n)
        (lon,), (lat,) = to_lonlat(self.crs, [x], [y])
        col, row = self.canvas.px(s.e, s.n)
        m = self.canvas.margin
        clouded = clouds is not None and clouds[int(row), int(col)] > 0.5
        inside = footprint[min(int(row) - m, self.o.size - 1), min(int(col) - m, self.o.size - 1)]
        return {"id": p.id, "class": object_class(p.type), "type": p.type, "zone": s.zone,
                "stand": p.stand, "x": round(x, 3), "y": round(y, 3), "lon": round(float(lon), 7),
                "lat": round(float(lat), 7), "heading_deg": round(s.heading, 2),
                "length_m": shape.length, "span_m": shape.span,
                "visible": bool(inside and not clouded)}

    def cloud_polygons(self, clouds: np.ndarray) -> list[list[list[float]]]:
        mask = (self.crop(clouds) > 0.5).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        polys = []
        for c in contours:
            c = cv2.approxPolyDP(c, 2, True)[:, 0, :].astype(float)
            if len(c) < 3:
                continue
            xs, ys = self.transform @ (c[:, 0], c[:, 1])
            xs, ys = transform_xy(self.natural, self.crs, xs, ys)
            polys.append([[round(float(a), 3), round(float(b), 3)] for a, b in zip(xs, ys,
                                                                                   strict=True)])
        return polys


def make_series(out: Path, opts: SynthOptions) -> dict:
    """Write the whole series into `out` and return the truth document."""
    if opts.size * opts.gsd < CORE_M:
        raise ValueError(f"--size {opts.size} at --gsd {opts.gsd} covers "
                         f"{opts.size * opts.gsd:.0f} m; the base needs at least {CORE_M:.0f} m")
    s = _Series(out, opts)
    s.write_raster(out / "reference.tif", _to_dn(s.crop(s.ground), None, s.rng),
                   {"TIFFTAG_DATETIME": "2026:01:01 00:00:00"})
    scenario = make_scenario(opts.days, s.layout, s.rng)
    truth_days = []
    for d, day in enumerate(scenario, start=1):
        date = opts.start + dt.timedelta(days=d - 1)
        cond = _conditions(s.rng, d)
        apron = s.layout.stands[2]
        clouds = _cloud(s.canvas, s.rng, (apron.e + 40, apron.n) if d == CLOUD_DAY else
                        tuple(s.rng.uniform(-0.35, 0.35, 2) * s.extent)) if cond.cloud else None
        img = s.render_day(day, cond, clouds)
        footprint = _footprint(opts.size, s.rng)
        img[~footprint] = 0
        stamp = dt.datetime.combine(date, dt.time(8, 30)) + dt.timedelta(minutes=int(
            s.rng.integers(0, 180)))
        tags = {"TIFFTAG_DATETIME": stamp.strftime("%Y:%m:%d %H:%M:%S"),
                "ACQUISITION_DATETIME": stamp.isoformat() + "Z"}
        _write_tiles(s, out / "drops" / date.isoformat(), img, tags)
        prev = scenario[d - 2] if d > 1 else {}
        truth_days.append({
            "date": date.isoformat(), "acquired": tags["ACQUISITION_DATETIME"],
            "objects": [s.truth_object(p, clouds, footprint) for p in day.values()],
            "events": [] if d == 1 else [
                {"kind": kind, **s.truth_object(p, clouds, footprint)}
                for kind, p in events(prev, day)],
            "misregistration": {"shift_m": list(cond.shift_m), "rotation_deg": cond.rotation_deg,
                                "shift_px": [round(cond.shift_m[0] / opts.gsd, 3),
                                             round(-cond.shift_m[1] / opts.gsd, 3)]},
            "radiometry": {k: round(getattr(cond, k), 4) for k in
                           ("sun_azimuth", "sun_elevation", "gain", "offset", "gamma", "haze")},
            "cloud_fraction": round(float((s.crop(clouds) > 0.5).mean()), 4) if cond.cloud else 0.0,
            "clouds": s.cloud_polygons(clouds) if cond.cloud else [],
        })
    truth = {"site": opts.name, "crs": s.crs, "gsd": opts.gsd, "seed": opts.seed,
             "rotation_convention": "counter-clockwise in map view, about the scene centre",
             "shift_convention": "shift_px: reference pixel (x, y) lies at day pixel (x+dx, y+dy)",
             "days": truth_days}
    _write_site(s, out)
    write_json(out / "truth.json", truth)
    return truth


def _write_tiles(s: _Series, folder: Path, img: np.ndarray, tags: dict) -> None:
    k, size = s.o.tiles, s.o.size
    overlap = 48 if k > 1 else 0
    edges = np.linspace(0, size, k + 1).round().astype(int)
    for i in range(k):
        c0, c1 = max(edges[i] - overlap, 0), min(edges[i + 1] + overlap, size)
        s.write_raster(folder / f"tile_{i + 1}.tif", img[:, c0:c1], tags, window=c0)


def _write_site(s: _Series, out: Path) -> None:
    features = []
    for name, poly in s.layout.zones.items():
        half = s.extent / 2
        ring = [(min(max(e, -half), half), min(max(n, -half), half)) for e, n in poly]
        xs, ys = zip(*(s.map_xy(e, n) for e, n in ring), strict=True)
        features.append({"type": "Feature", "properties": {"name": name},
                         "geometry": polygon_geometry(*to_lonlat(s.crs, xs, ys))})
    write_json(out / "zones.geojson", {"type": "FeatureCollection", "features": features})
    site = {"name": s.o.name, "crs": s.crs, "gsd": s.o.gsd, "reference": "reference.tif",
            "zones": "zones.geojson", "field": "military"}  # the renderer draws military types
    write_text(out / "site.yaml", yaml.safe_dump(site, sort_keys=False))
