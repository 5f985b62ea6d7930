"""The static airbase: layout in metres about the scene centre, and its textured ground image."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CORE_M = 480.0  # the layout needs a scene at least this wide


@dataclass(frozen=True)
class Stand:
    """A parking position: where objects of one size class stand, nose towards `heading`."""

    id: str
    zone: str
    size: str  # "heavy", "fighter", "heli" or "vehicle"
    e: float
    n: float
    heading: float


@dataclass
class Layout:
    """Zones (name -> polygon in metres about the scene centre, east/north) and stands."""

    zones: dict[str, list[tuple[float, float]]]
    stands: list[Stand]


def _rect(e0, n0, e1, n1):
    return [(e0, n0), (e1, n0), (e1, n1), (e0, n1)]


def base_layout(extent_m: float) -> Layout:
    """The base: a runway along the south, a parallel taxiway, the main apron, a row of shelters,
    a helipad and hangars. Coordinates are metres east/north of the scene centre."""
    half = extent_m / 2
    zones = {
        "runway": _rect(-half, -205, half, -160),
        "apron-main": _rect(-225, -100, 115, 60),
        "shelters": _rect(140, -100, 235, 60),
        "helipad": _rect(140, 85, 235, 185),
    }
    apron, shelters = "apron-main", "shelters"
    stands = [Stand(f"T{i + 1}", apron, "heavy", -180 + 78 * i, -25, 180) for i in range(4)]
    stands += [Stand(f"F{i + 1}", apron, "fighter", -200 + 30 * i, 40, 180) for i in range(2)]
    stands += [Stand(f"V{i + 1}", apron, "vehicle", -143 + 78 * i, 30, 90) for i in range(4)]
    stands += [Stand(f"S{i + 1}", shelters, "fighter", 195, 38 - 38 * i, 270) for i in range(4)]
    stands += [Stand(f"H{i + 1}", "helipad", "heli", 165 + 45 * i, 135, 200) for i in range(2)]
    return Layout(zones, stands)


class Canvas:
    """A float RGB image over the scene plus a margin, addressed in metres about the centre."""

    def __init__(self, extent_m: float, gsd: float, margin_px: int):
        self.gsd, self.margin = gsd, margin_px
        self.size = int(round(extent_m / gsd)) + 2 * margin_px
        self.half = extent_m / 2

    def px(self, e: float, n: float) -> tuple[float, float]:
        """(col, row) of a point given in metres east/north of the centre."""
        return ((e + self.half) / self.gsd + self.margin, (self.half - n) / self.gsd + self.margin)

    def mask(self, polygons, width_m: float = 0.0) -> np.ndarray:
        """Anti-aliased coverage (0..1) of filled polygons, or of polylines `width_m` wide."""
        out = np.zeros((self.size, self.size), np.uint8)
        pts = [np.round(np.array([self.px(e, n) for e, n in p]) * 16).astype(np.int32)
               for p in polygons]
        if width_m:
            thick = max(1, int(round(width_m / self.gsd)))
            cv2.polylines(out, pts, False, 255, thick, cv2.LINE_AA, shift=4)
        else:
            cv2.fillPoly(out, pts, 255, cv2.LINE_AA, shift=4)
        return out.astype(np.float32) / 255


def fractal(shape: tuple[int, int], rng: np.random.Generator, cell_px: float,
            octaves: int = 4) -> np.ndarray:
    """Smooth value noise of roughly unit variance, features about `cell_px` wide."""
    h, w = shape
    out = np.zeros(shape, np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = int(h / cell_px) + 3, int(w / cell_px) + 3
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp**2
        amp, cell_px = amp * 0.5, max(cell_px / 2, 1.0)
    return out / np.sqrt(total)


def _blend(img, cover, colour, texture=None):
    c = np.asarray(colour, np.float32)[None, None, :]
    if texture is not None:
        c = c * (1 + texture[..., None])
    img[:] = img * (1 - cover[..., None]) + c * cover[..., None]


def ground_image(layout: Layout, canvas: Canvas, rng: np.random.Generator) -> np.ndarray:
    """The textured empty base: grass and soil, asphalt, concrete with slab joints, markings,
    earth revetments around the shelters, hangars and helipads."""
    shape = (canvas.size, canvas.size)
    g = canvas.gsd
    img = np.empty(shape + (3,), np.float32)
    soil = np.clip(fractal(shape, rng, 120 / g) * 1.5, 0, 1)
    grass_tex = 0.12 * fractal(shape, rng, 6 / g) + 0.025 * rng.standard_normal(shape)
    img[:] = np.array([0.34, 0.37, 0.22], np.float32)
    _blend(img, soil, (0.56, 0.49, 0.38))
    img *= 1 + grass_tex[..., None].astype(np.float32)
    z, h = layout.zones, canvas.half
    stain = 0.05 * fractal(shape, rng, 25 / g) + 0.01 * rng.standard_normal(shape)
    asphalt = [z["runway"], _rect(-h, -135, h, -115), _rect(-160, -160, -135, -115),
               _rect(120, -160, 145, -115)]
    _blend(img, canvas.mask(asphalt), (0.30, 0.30, 0.31), stain.astype(np.float32))
    concrete = [z["apron-main"], _rect(-60, -118, 0, -100), _rect(115, -100, 160, 60),
                z["helipad"], _rect(160, 60, 190, 85)]
    joints = np.zeros(shape, np.float32)
    step = max(2, int(round(7.5 / g)))
    joints[::step, :] = 0.08
    joints[:, ::step] = 0.08
    _blend(img, canvas.mask(concrete), (0.62, 0.62, 0.60), (stain - joints).astype(np.float32))
    _markings(img, layout, canvas)
    _shelters(img, layout, canvas, stain)
    for e0 in (-225, -160):
        roof = canvas.mask([_rect(e0, 95, e0 + 55, 150)])
        _blend(img, canvas.mask([_rect(e0 + 4, 89, e0 + 59, 95), _rect(e0 + 55, 89, e0 + 59, 146)]),
               (0.12, 0.12, 0.12))
        ridges = 0.06 * np.sin(np.arange(canvas.size) * g * 2 * np.pi / 1.5)[None, :]
        _blend(img, roof, (0.66, 0.67, 0.66), np.broadcast_to(ridges, shape) + 0.3 * stain)
    return img


def _markings(img, layout, canvas):
    h = canvas.half
    dashes = [[(e, -182.5), (e + 30, -182.5)] for e in np.arange(-h, h, 60)]
    _blend(img, canvas.mask(dashes, 0.9), (0.85, 0.85, 0.83))
    _blend(img, canvas.mask([[(-h, -162), (h, -162)], [(-h, -203), (h, -203)]], 0.9),
           (0.85, 0.85, 0.83))
    taxi = [[(-h, -125), (h, -125)], [(-30, -125), (-30, -100)]]
    _blend(img, canvas.mask(taxi, 0.5), (0.78, 0.66, 0.22))
    leads = [[(s.e, s.n + 30), (s.e, s.n - 40)] for s in layout.stands if s.size == "heavy"]
    _blend(img, canvas.mask(leads, 0.5), (0.78, 0.66, 0.22))
    for s in layout.stands:
        if s.size == "heli":
            t = np.linspace(0, 2 * np.pi, 48)
            ring = [list(zip(s.e + 22 * np.cos(t), s.n + 22 * np.sin(t), strict=True))]
            _blend(img, canvas.mask(ring, 0.8), (0.88, 0.88, 0.86))
def _shelters(img, layout, canvas, stain):
    """Earth revetments: a U of berms around each shelter bay, open towards the taxi lane."""
    for s in layout.stands:
        if s.zone != "shelters":
            continue
        e, n = s.e, s.n
        berms = [_rect(e - 20, n + 14, e + 22, n + 20), _rect(e - 20, n - 20, e + 22, n - 14),
                 _rect(e + 16, n - 20, e + 22, n + 20)]
        _blend(img, canvas.mask(berms), (0.55, 0.47, 0.35), 0.5 * stain)
        lit = [_rect(e - 20, n + 17, e + 22, n + 20), _rect(e - 20, n - 17, e + 19, n - 14)]
        _blend(img, 0.5 * canvas.mask(lit), (0.66, 0.58, 0.45))
