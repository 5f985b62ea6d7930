"""Top-down aircraft, helicopter and truck sprites at true scale, shaded and with a sun-cast shadow.

Shapes are evaluated analytically in the object's own frame (u forward along the fuselage, v to
starboard, metres) on a supersampled pixel grid, so edges are anti-aliased at any ground sample
distance and any heading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from detect.identify.catalogue import get_type

SUPERSAMPLE = 3
TRUCK = "truck"

# Paint of each role family (reflectance, RGB).
_PAINT = {
    "transport": (0.74, 0.75, 0.76),
    "airliner": (0.86, 0.86, 0.87),
    "fighter": (0.56, 0.61, 0.66),
    "attack": (0.50, 0.50, 0.43),
    "helicopter": (0.30, 0.33, 0.24),
    "attack helicopter": (0.26, 0.28, 0.26),
    "truck": (0.34, 0.38, 0.27),
}
_BLADES = {"Ka-52": 3, "Ka-27": 3, "Mi-26": 8}  # coaxial rotors park aligned


@dataclass(frozen=True)
class Shape:
    """What the renderer needs to know about one object type."""

    name: str
    kind: str  # "large", "fighter", "helicopter" or "truck"
    length: float
    span: float
    sweep: float
    engines: int
    paint: tuple[float, float, float]
    height: float  # metres above ground that casts the shadow
    blades: int = 0
    radome: float = 0.0  # diameter of a radome's disc above the fuselage


def shape_for(type_name: str, swept: bool = False) -> Shape:
    """The drawable shape of a catalogue type (or the synthetic `truck`); of a swing-wing
    type, with its wings swept back where `swept`."""
    if type_name == TRUCK:
        return Shape(TRUCK, "truck", 10.0, 2.5, 0.0, 0, _PAINT["truck"], 3.0)
    t = get_type(type_name)
    if swept:
        if (back := t.swept()) is None:
            raise ValueError(f"{type_name} has no swing wing to sweep")
        return replace(shape_for(type_name), span=back.span_m, sweep=back.sweep_deg)
    if t.is_helicopter:
        paint = _PAINT["attack helicopter" if t.role == "attack helicopter" else "helicopter"]
        return Shape(t.name, "helicopter", t.length_m, t.span_m, 0.0, t.engines, paint, 3.5,
                     _BLADES.get(t.name, 5))
    if t.span_m < 25:
        paint = _PAINT["attack" if t.name == "Su-25" else "fighter"]
        return Shape(t.name, "fighter", t.length_m, t.span_m, t.sweep_deg, t.engines, paint, 2.0)
    paint = _PAINT["airliner" if t.role == "airliner" else "transport"]
    return Shape(t.name, "large", t.length_m, t.span_m, t.sweep_deg, t.engines, paint, 4.5,
                 radome=t.radome_m)


@dataclass
class Sprite:
    """A rendered object: coverage and colour of the body, coverage of its shadow, placed at
    (row0, col0) in the destination image."""

    alpha: np.ndarray
    rgb: np.ndarray
    shadow: np.ndarray
    row0: int
    col0: int


def _trapezoid(u, v, root_le, root_chord, tip_chord, half_span, sweep_deg, centre=0.0):
    a = np.abs(v - centre)
    le = root_le - a * math.tan(math.radians(sweep_deg))
    chord = root_chord + (tip_chord - root_chord) * (a / half_span)
    return (a <= half_span) & (u <= le) & (u >= le - chord)


def _tail(u, v, length, root_chord, tip_chord, half_span, sweep_deg):
    """Horizontal tail planes whose tips end exactly at the fuselage's end (the aircraft's
    overall length stays the catalogue length)."""
    root_le = -length / 2 + half_span * math.tan(math.radians(sweep_deg)) + tip_chord
    return _trapezoid(u, v, root_le, root_chord, tip_chord, half_span, sweep_deg)


def _capsule(u, v, u0, v0, length, radius):
    """A nacelle: a cylinder with rounded ends, along u."""
    du = np.clip(np.abs(u - u0) - (length / 2 - radius), 0, None)
    return du**2 + (v - v0) ** 2 <= radius**2


def _fuselage(u, v, length, radius, nose_frac, tail_frac):
    nose = length / 2 - u
    tail = u + length / 2
    ln, lt = nose_frac * length, tail_frac * length
    r = np.full_like(u, radius)
    x = np.clip(nose / ln, 0, 1)
    r = np.where(nose < ln, radius * np.sqrt(x * (2 - x)), r)
    r = np.where(tail < lt, radius * (0.3 + 0.7 * np.clip(tail / lt, 0, 1)), r)
    inside = (np.abs(v) <= r) & (nose >= 0) & (tail >= 0)
    return inside, np.clip(v / np.maximum(r, 1e-6), -1, 1)


def _cylinder_shade(nv, light):
    """Lambert shading of a cylinder along u: the surface normal is (0, nv, sqrt(1-nv^2))."""
    _, lv, lz = light
    return 0.45 + 0.65 * np.clip(nv * lv + np.sqrt(1 - nv**2) * lz, 0, None)


def _large(s: Shape, u, v, light):
    L, B = s.length, s.span
    R = 0.045 * L
    body, nv = _fuselage(u, v, L, R, 0.1, 0.3)
    flat = 0.45 + 0.65 * light[2]
    wing_le = 0.12 * L
    wing = _trapezoid(u, v, wing_le, 0.17 * L, 0.05 * L, B / 2, s.sweep)
    tail = _tail(u, v, L, 0.12 * L, 0.05 * L, 0.19 * B, s.sweep + 8)
    parts = [(wing | tail, flat, 1.0), (body, _cylinder_shade(nv, light), 1.0)]
    nl, rn = max(3.0, 0.1 * L), max(0.6, 0.024 * L)
    if s.engines == 3:
        pods = [(-0.3 * L, R + rn), (-0.3 * L, -R - rn)]
    else:
        fractions = (0.33, 0.6) if s.engines >= 4 else (0.36,)
        pods = []
        for fr in fractions:
            off = fr * B / 2
            u0 = wing_le - off * math.tan(math.radians(s.sweep)) + 0.35 * nl
            pods += [(u0, off), (u0, -off)]
    for u0, v0 in pods:
        pod = _capsule(u, v, u0, v0, nl, rn)
        parts.append((pod, _cylinder_shade(np.clip((v - v0) / rn, -1, 1), light), 0.8))
        if s.sweep < 10:  # turboprop: a dark propeller disc edge-on ahead of the nacelle
            prop = (np.abs(u - u0 - nl / 2 - 0.2) < 0.2) & (np.abs(v - v0) < 0.07 * L)
            parts.append((prop, flat, 0.35))
    fin = (np.abs(v) < 0.35) & (u < -0.3 * L) & (u > -0.5 * L)
    cockpit = (u > 0.42 * L) & (u < 0.46 * L) & (np.abs(v) < 0.6 * R)
    parts += [(fin, flat, 0.75), (cockpit & body, flat, 0.25)]
    if s.radome:  # a flat dish on struts over the fuselage, just aft of the wing
        parts.append(((u + 0.1 * L) ** 2 + v**2 <= (s.radome / 2) ** 2, flat, 0.5))
    return parts


def _fighter(s: Shape, u, v, light):
    L, B = s.length, s.span
    R = 0.075 * L
    body, nv = _fuselage(u, v, L, R, 0.18, 0.15)
    flat = 0.45 + 0.65 * light[2]
    wing = _trapezoid(u, v, 0.1 * L, 0.42 * L, 0.08 * L, B / 2, s.sweep)
    tail = _tail(u, v, L, 0.2 * L, 0.07 * L, 0.34 * B, 45)
    fins = ((np.abs(np.abs(v) - 0.09 * B) < 0.25) & (u < -0.25 * L) & (u > -0.47 * L))
    canopy = (u > 0.18 * L) & (u < 0.3 * L) & (np.abs(v) < 0.45 * R)
    return [(wing | tail, flat, 0.95), (body, _cylinder_shade(nv, light), 1.0),
            (fins, flat, 0.7), (canopy, flat, 0.2)]


def _helicopter(s: Shape, u, v, light, phase: float):
    Lf, D = s.length, s.span
    flat = 0.45 + 0.65 * light[2]
    half_w = 0.08 * Lf
    cabin_u = (u - 0.12 * Lf) / (0.38 * Lf)
    cabin = cabin_u**2 + (v / half_w) ** 2 <= 1
    nv = np.clip(v / (half_w * np.sqrt(np.clip(1 - cabin_u**2, 1e-6, 1))), -1, 1)
    boom = (u > -0.5 * Lf) & (u < -0.1 * Lf) & (np.abs(v) < 0.03 * Lf + 0.02 * (u + 0.5 * Lf))
    stab = (np.abs(u + 0.4 * Lf) < 0.03 * Lf) & (np.abs(v) < 0.12 * Lf)
    hub_u = 0.08 * Lf
    du, dv = u - hub_u, v
    blades = np.zeros(u.shape, bool)
    chord = max(0.45, 0.026 * D)
    for k in range(s.blades):
        a = phase + 2 * math.pi * k / s.blades
        along = du * math.cos(a) + dv * math.sin(a)
        across = -du * math.sin(a) + dv * math.cos(a)
        blades |= (along >= 0) & (along <= D / 2) & (np.abs(across) <= chord / 2)
    hub = du**2 + dv**2 <= (0.04 * D) ** 2
    return [(boom | stab, flat, 0.9), (cabin, _cylinder_shade(nv, light), 1.0),
            (blades | hub, flat, 0.3)]


def _truck(s: Shape, u, v, light):
    flat = 0.45 + 0.65 * light[2]
    body = (np.abs(u) <= s.length / 2) & (np.abs(v) <= s.span / 2)
    cab = body & (u > s.length / 2 - 2.4)
    return [(body, flat, 1.0), (cab, flat, 0.7), (cab & (u > s.length / 2 - 0.8), flat, 0.4)]


def _parts(s: Shape, u, v, light, phase):
    if s.kind == "large":
        return _large(s, u, v, light)
    if s.kind == "fighter":
        return _fighter(s, u, v, light)
    if s.kind == "helicopter":
        return _helicopter(s, u, v, light, phase)
    return _truck(s, u, v, light)


def _frame(e, n, heading_deg):
    h = math.radians(heading_deg)
    return e * math.sin(h) + n * math.cos(h), e * math.cos(h) - n * math.sin(h)


def render_sprite(shape: Shape, centre_px: tuple[float, float], heading_deg: float, gsd: float,
                  sun_azimuth: float, sun_elevation: float, phase: float = 0.0) -> Sprite:
    """Render `shape` with its centre at pixel (col, row) `centre_px`, nose towards `heading_deg`
    (clockwise from north), lit by a sun at the given azimuth and elevation (degrees)."""
    az, el = math.radians(sun_azimuth), math.radians(sun_elevation)
    sun_e, sun_n = math.sin(az) * math.cos(el), math.cos(az) * math.cos(el)
    lu, lv = _frame(sun_e, sun_n, heading_deg)
    light = (lu, lv, math.sin(el))
    reach = shape.height / math.tan(el)  # shadow length on the ground
    half = int(math.ceil((math.hypot(shape.length, shape.span) / 2 + reach) / gsd)) + 2
    cx, cy = centre_px
    col0, row0 = int(math.floor(cx)) - half, int(math.floor(cy)) - half
    size = 2 * half + 1
    grid = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    cols, rows = np.meshgrid(col0 + grid, row0 + grid)
    e, n = (cols - cx) * gsd, (cy - rows) * gsd
    u, v = _frame(e, n, heading_deg)
    colour = np.zeros(u.shape + (3,), np.float32)
    cover = np.zeros(u.shape, bool)
    for mask, shade, tone in _parts(shape, u, v, light, phase):
        colour[mask] = (np.asarray(shape.paint) * tone)[None, :] * np.broadcast_to(
            shade, u.shape)[mask][:, None]
        cover |= mask
    # The shadow is the silhouette moved away from the sun by `reach` metres.
    su, sv = _frame(e + sun_e / math.cos(el) * reach, n + sun_n / math.cos(el) * reach,
                    heading_deg)
    shadow = np.zeros(u.shape, bool)
    for mask, _, _ in _parts(shape, su, sv, light, phase):
        shadow |= mask

    def down(a):
        return a.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, *a.shape[2:]).mean(axis=(1, 3))

    alpha = down(cover.astype(np.float32))
    rgb = down(colour) / np.maximum(alpha, 1e-6)[..., None]
    return Sprite(alpha, rgb.astype(np.float32), down(shadow.astype(np.float32)), row0, col0)


def paste(image: np.ndarray, sprite: Sprite, shadow_strength: float = 0.55) -> None:
    """Composite a sprite into a float RGB image in place (shadow first, then body)."""
    h, w = image.shape[:2]
    r0, c0 = max(sprite.row0, 0), max(sprite.col0, 0)
    r1 = min(sprite.row0 + sprite.alpha.shape[0], h)
    c1 = min(sprite.col0 + sprite.alpha.shape[1], w)
    if r0 >= r1 or c0 >= c1:
        return
    sl = (slice(r0 - sprite.row0, r1 - sprite.row0), slice(c0 - sprite.col0, c1 - sprite.col0))
    dst = image[r0:r1, c0:c1]
    dst *= 1 - shadow_strength * sprite.shadow[sl][..., None]
    a = sprite.alpha[sl][..., None]
    dst[:] = dst * (1 - a) + sprite.rgb[sl] * a
