"""Measure an object beyond its oriented box: segment its silhouette (apart from its shadow and
the apron), find the fuselage axis, tell nose from tail, and measure length and span with an
uncertainty that follows from the pixel size and the segmentation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from detect.geo import GEOD, to_lonlat, transform_xy

CHIP_RES_M = 0.25  # chips are resampled to this many metres per pixel


@dataclass(frozen=True)
class Measurement:
    length_m: float
    span_m: float
    heading_deg: float  # nose direction, clockwise from north
    sigma_m: float  # one-sigma uncertainty of length and span
    ok: bool  # False when no silhouette could be segmented (box figures are used)


def _metre_vectors(crs, transform, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel displacement for one ground metre east and one north at map point (x, y)."""
    if crs is None:
        inv = ~transform
        return np.array([inv.a, inv.d]), np.array([-inv.b, -inv.e])
    (lon,), (lat,) = to_lonlat(crs, [x], [y])
    out = []
    for az in (90.0, 0.0):
        lon2, lat2, _ = GEOD.fwd(lon, lat, az, 1.0)
        (mx,), (my,) = transform_xy("EPSG:4326", crs, [lon2], [lat2])
        c0, r0 = ~transform @ (x, y)
        c1, r1 = ~transform @ (mx, my)
        out.append(np.array([c1 - c0, r1 - r0]))
    return out[0], out[1]


def chip(image: np.ndarray, crs, transform, centre: tuple[float, float], axis_deg: float,
         size_m: float, res: float = CHIP_RES_M) -> np.ndarray:
    """A square (rows, cols, bands) chip of `size_m` ground metres around `centre`, u (columns)
    along `axis_deg`, v (rows) to its right, sampled at `res` metres; true in any CRS."""
    pe, pn = _metre_vectors(crs, transform, *centre)
    az = math.radians(axis_deg)
    du = pe * math.sin(az) + pn * math.cos(az)  # pixels per metre along u
    dv = pe * math.cos(az) - pn * math.sin(az)
    c0, r0 = ~transform @ centre
    n = int(round(size_m / res))
    m = np.array([[du[0] * res, dv[0] * res, c0 - (du[0] + dv[0]) * res * n / 2 - 0.5],
                  [du[1] * res, dv[1] * res, r0 - (du[1] + dv[1]) * res * n / 2 - 0.5]])
    bands = [cv2.warpAffine(b.astype(np.float32), m, (n, n), flags=cv2.INTER_LINEAR |
                            cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT) for b in image]
    return np.stack(bands, axis=-1)


def silhouette(c: np.ndarray, ref: np.ndarray | None, level: float) -> np.ndarray:
    """The object's pixels in a chip, cut at `level` (0..1) of its contrast: contrast is the
    colour distance to the reference chip (the empty base) when there is one, else to the
    chip's border (the apron). Shadow (darker, same colour) is excluded; the component at the
    centre is kept. Cutting at a fraction of the contrast keeps blur from growing the object."""
    n = c.shape[0]
    ring = np.ones((n, n), bool)
    b = max(2, n // 8)
    ring[b:-b, b:-b] = False
    bg = ref if ref is not None else np.broadcast_to(np.median(c[ring], axis=0), c.shape)
    dist = np.linalg.norm(c - bg, axis=-1)
    noise = max(1.4826 * float(np.median(np.abs(dist[ring] - np.median(dist[ring])))), 2.0)
    ratio = c.mean(axis=-1) / np.maximum(bg.mean(axis=-1), 1.0)
    chroma = c / np.maximum(c.sum(axis=-1, keepdims=True), 1) - bg / np.maximum(
        bg.sum(axis=-1, keepdims=True), 1)
    shadow = (ratio < 0.8) & (np.abs(chroma).max(axis=-1) < 0.04)
    lit = dist[b:-b, b:-b][~shadow[b:-b, b:-b]]
    contrast = float(np.percentile(lit, 98)) if lit.size else 0.0
    mask = ((dist > max(5 * noise, level * contrast)) & ~shadow).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))  # thin markings
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h = max(2, n // 10)
    centre = labels[n // 2 - h:n // 2 + h, n // 2 - h:n // 2 + h]
    ids = [i for i in np.unique(centre) if i and stats[i, cv2.CC_STAT_AREA] > 4]
    return np.isin(labels, ids)


def _extent(coords: np.ndarray) -> float:
    lo, hi = np.percentile(coords, [0.5, 99.5])
    return float(hi - lo)


def _symmetry(mask: np.ndarray, axis: int) -> float:
    """IoU of the mask with its mirror image across the line through its centroid along
    `axis` (0: the u axis, columns; 1: the v axis, rows)."""
    rows, cols = np.nonzero(mask)
    if axis == 0:
        r0 = int(round(rows.mean()))
        mirrored = np.zeros_like(mask)
        rr = 2 * r0 - rows
        ok = (rr >= 0) & (rr < mask.shape[0])
        mirrored[rr[ok], cols[ok]] = True
    else:
        c0 = int(round(cols.mean()))
        mirrored = np.zeros_like(mask)
        cc = 2 * c0 - cols
        ok = (cc >= 0) & (cc < mask.shape[1])
        mirrored[rows[ok], cc[ok]] = True
    return (mask & mirrored).sum() / max((mask | mirrored).sum(), 1)


def _nose_is_forward(mask: np.ndarray, helicopter: bool) -> bool:
    """Along the fuselage (columns of the chip): True when the nose is at the high-u end.
    An aircraft's tail carries the wide horizontal stabiliser while its nose tapers; a
    helicopter's cabin is the heavy end and its tail boom the thin one."""
    cols = np.nonzero(mask)[1]
    lo, hi = np.percentile(cols, [0.5, 99.5])
    width = mask.sum(axis=0).astype(float)
    span = hi - lo
    low_end = width[int(lo):int(lo + 0.2 * span) + 1]
    high_end = width[int(hi - 0.2 * span):int(hi) + 1]
    if helicopter:
        thick = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
        w = thick.sum(axis=0).astype(float)
        mid = (lo + hi) / 2
        return w[int(mid):].sum() >= w[:int(mid)].sum()
    return low_end.max(initial=0) >= high_end.max(initial=0)


def measure(image: np.ndarray, crs, transform, corners: np.ndarray, axis_deg: float,
            box_length: float, box_width: float, helicopter: bool, gsd: float,
            reference: np.ndarray | None = None) -> Measurement:
    """Measure one object from `image` (bands, rows, cols) whose pixel->map transform is
    `transform`; `corners` are the object's box corners in map coordinates. `reference`, the
    empty base on the same pixels, makes the silhouette far cleaner when it is given."""
    centre = tuple(corners.mean(axis=0))
    size = 1.5 * max(box_length, box_width) + 6
    c = chip(image, crs, transform, centre, axis_deg, size)
    r = None if reference is None else chip(reference, crs, transform, centre, axis_deg, size)
    masks = [silhouette(c, r, level) for level in (0.2, 0.3)]
    if masks[0].sum() < 12 or masks[1].sum() < 6:
        return Measurement(box_length, box_width, axis_deg, 0.1 * box_length + gsd, False)
    dims = []
    for m in masks:
        rows, cols = np.nonzero(m)
        dims.append((_extent(cols) * CHIP_RES_M, _extent(rows) * CHIP_RES_M))
    (eu, ev), (eu2, ev2) = dims
    # The fuselage is the line the aircraft is mirror-symmetric about.
    fuselage_u = _symmetry(masks[0], 0) >= _symmetry(masks[0], 1)
    mask = masks[0] if fuselage_u else masks[0].T
    length, span = (eu, ev) if fuselage_u else (ev, eu)
    seg = 0.5 * math.hypot(eu - eu2, ev - ev2)
    if helicopter:
        span = _rotor_diameter(masks[0]) * CHIP_RES_M
    heading = axis_deg if fuselage_u else axis_deg + 90
    if not _nose_is_forward(mask, helicopter):
        heading += 180
    sigma = math.sqrt((0.7 * gsd) ** 2 + seg**2)
    return Measurement(float(length), float(span), float(heading % 360), float(sigma), True)


def _rotor_diameter(mask: np.ndarray) -> float:
    """Longest extent over all directions: for a helicopter, the rotor's diameter."""
    rows, cols = np.nonzero(mask)
    pts = np.column_stack([cols, rows]).astype(float)
    best = 0.0
    for a in np.radians(np.arange(0, 180, 5)):
        best = max(best, _extent(pts @ np.array([math.cos(a), math.sin(a)])))
    return best
