"""Measure an object beyond its oriented box: segment its silhouette (apart from its shadow and
the apron), find the fuselage axis, tell nose from tail, and measure length and span with an
uncertainty that follows from the pixel size and the segmentation."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from detect.geo import GEOD, to_lonlat, transform_xy
from detect.identify.appearance import APPEARANCE_WEIGHTS, looks_like, rgb_look
from detect.identify.side import along_long_side, look
from detect.imagery.change import nearest_squared_difference, robust_sigma


@dataclass(frozen=True)
class MeasureParams:
    """How an object is measured from its image. Shares are of the box's extent unless said."""

    chip_res_m: float = 0.25  # chips are resampled to this many metres per pixel
    found_at: float = 0.2  # share of its contrast an object is found at (faint parts kept)
    edges_at: float = 0.3  # and its extents read at (a blurred edge nearer its true place)
    edge_sigma_px: float = 0.7  # one sigma of an extent read off the image, in pixels
    box_short: float = 0.1  # a detector's box runs up to this much short: a longer silhouette
    # is taken up to this far past it (further, it may have grown into its shadow's rim)
    grown_sigma: float = 0.5  # share of a silhouette's excess past that that is one sigma
    lost_sigma: float = 0.25  # share of a lesser excess, or of a shortfall, that is one sigma
    trim_to: float = 0.85  # a box is cut to all that differs from the apron where that is at
    # least this share of it; a silhouette shorter than this has lost parts
    grown_share: float = 1.3  # a silhouette longer than this share of its box
    grown_m: float = 2.0  # plus this many metres has grown into a neighbour or shadow
    whole_share: float = 0.9  # a silhouette this share of its box or more is whole (its sweep
    # is read)
    rotor_tips_px: float = 1.2  # pixels of faint blade tips the detector's box misses
    min_fuselage_to_rotor: float = 0.6  # a helicopter fuselage under this share of its rotor
    # is no fuselage (the stubbiest, the Ka-27, has 0.72)
    blades_px: int = 5  # chip pixels (1.25 m) opened away from a helicopter: wider than a blade
    rim_fill: float = 0.6  # a dark body found only as a rim fills less than this of its outline
    sweep_scatter_m: float = 0.3  # a leading edge whose slices scatter about their line by more
    # (median) is not one straight edge, and no sweep is read from it
    paint_apart: float = 8.0  # a body's paint is told from the apron where its chroma stands
    # this many sigmas of the apron's from the reference's (a share of paint then reads to an
    # eighth; lower: shaded pale wings are cut)
    chroma_floor: float = 1e-3  # the least chroma noise taken (8-bit rounding alone gives 6e-4)
    symmetry_margin: float = 0.1  # all that differs from the apron gives the axis alone where
    # this much more of it mirrors onto itself than of the silhouette
    radome_round: float = 0.7  # how round an edge must be to be a radome's disc (the Hough
    # transform's perfectness, 0-1; higher: fewer discs found, surer ones)
    radome_size: tuple[float, float] = (0.12, 0.3)  # a radome's diameter, as a share of the
    # aircraft's larger extent (the A-50's 10.5 m dish is 0.21 of its 50.5 m span)
    radome_off: float = 0.12  # its centre lies within this share of the extent of the
    # aircraft's centre (a dish sits on the fuselage just aft of the wing)


@dataclass(frozen=True)
class Measurement:
    length_m: float
    span_m: float
    heading_deg: float  # nose direction, clockwise from north
    sigma_m: float  # one-sigma uncertainty of length and span
    ok: bool  # False when no silhouette could be segmented (box figures are used)
    sweep_deg: float | None = None  # leading-edge sweep of the wings
    sweep_sigma_deg: float = 5.0  # its one-sigma uncertainty
    length_seen: bool = True  # False for a helicopter whose fuselage could not be segmented
    pixel_m: float | None = None  # the ground sample distance it was measured at
    scale_sigma: float = 0.0  # one-sigma relative error of that pixel size (a screenshot's
    # scale judged by eye), which scales length and span alike
    radome_m: float | None = None  # the diameter of a radome's disc found on the aircraft; 0
    # where one was looked for and none found, None where none was looked for
    looks_like: dict[str, float] | None = None  # the probability of each look class
    # (`detect.identify.appearance`); None where the aircraft was not looked at
    fuselage_p: float | None = None  # the fuselage-side model's probability that the fuselage
    # runs along `length_m` (`detect.identify.side`); None where it was not asked

    def figures(self) -> dict:
        """The measurement as an object's fields (`FIGURES`), rounded as stored."""
        return {"length_m": round(self.length_m, 2), "span_m": round(self.span_m, 2),
                "heading_deg": round(self.heading_deg, 1), "size_sigma_m": round(self.sigma_m, 2),
                "sweep_deg": None if self.sweep_deg is None else round(self.sweep_deg, 1),
                "sweep_sigma_deg": round(self.sweep_sigma_deg, 2),
                "length_seen": bool(self.length_seen),
                "radome_m": None if self.radome_m is None else round(self.radome_m, 1),
                "looks_like": self.looks_like}

    def read_across(self) -> Measurement:
        """The measurement with length and span swapped and the heading turned a right angle
        (its sweep, read along the wrong axis, dropped)."""
        return replace(self, length_m=self.span_m, span_m=self.length_m, sweep_deg=None,
                       heading_deg=(self.heading_deg + 90) % 360,
                       fuselage_p=None if self.fuselage_p is None else 1 - self.fuselage_p)

    @classmethod
    def from_figures(cls, f: dict, pixel_m: float) -> Measurement:
        """A measurement from an object's (or a sighting's) fields at `pixel_m` metres per
        pixel; a sighting keeps no heading, which identification does not use."""
        return cls(f["length_m"], f["span_m"], f.get("heading_deg", 0.0), f["size_sigma_m"],
                   True, f["sweep_deg"], f["sweep_sigma_deg"], f["length_seen"], pixel_m,
                   radome_m=f.get("radome_m"), looks_like=f.get("looks_like"))


FIGURES = ("length_m", "span_m", "heading_deg", "size_sigma_m", "sweep_deg", "sweep_sigma_deg",
           "length_seen", "radome_m", "looks_like")  # an object's fields that hold its
# measurement


def box_measurement(box_length: float, box_width: float, axis_deg: float,
                    gsd: float) -> Measurement:
    """The oriented box's own figures, for objects without a silhouette to refine them."""
    return Measurement(box_length, box_width, axis_deg, 0.1 * box_length + gsd, False,
                       pixel_m=gsd)


def _metre_vectors(crs, transform, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel displacement for one ground metre east and one north at map point (x, y)."""
    if crs is None:
        inv = ~transform  # map units are metres: one metre east is (1, 0), north is (0, 1)
        return np.array([inv.a, inv.d]), np.array([inv.b, inv.e])
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
         size_m: float, res: float = MeasureParams.chip_res_m) -> np.ndarray:
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


def object_chip(image: np.ndarray, crs, transform, corners: np.ndarray, axis_deg: float,
                box_length: float, box_width: float, res: float = MeasureParams.chip_res_m
                ) -> np.ndarray:
    """The chip an object is measured in: centred on its box (`corners`, map coordinates),
    columns along its long side (`axis_deg`), 1.5 times its longer side and 6 m across."""
    return chip(image, crs, transform, tuple(corners.mean(axis=0)), axis_deg,
                1.5 * max(box_length, box_width) + 6, res)


@dataclass(frozen=True)
class Silhouette:
    """An object's pixels in a chip: `found` at `found_at` of its contrast, `edges` at
    `edges_at`, both without shadow; `unlike`, all that differs from the empty reference at
    `found_at`, dark paint (and shadow) included (None without a reference)."""

    found: np.ndarray
    edges: np.ndarray
    unlike: np.ndarray | None
    dark: bool = False  # a dark body found only as its blurred rim: `edges` are the dark
    # shape it makes with its shadow, where that is half as dark as at its darkest
    painted: bool = False  # told from apron and shadow by its paint's colour (see `_paint`)


def silhouette(c: np.ndarray, ref: np.ndarray | None, pixel: float = 1.0,
               p: MeasureParams = MeasureParams()) -> Silhouette:
    """The object's pixels in a chip whose image pixels span `pixel` chip pixels, cut at a
    fraction of its contrast: contrast is the colour distance to the reference chip (the
    empty base, nearest colour within half an image pixel, for misregistration) when there
    is one, else to the chip's border (the apron). Shadow is darker and the same colour, and
    so is its blurred rim (see `_penumbra`), told from the object where the object is mostly
    not as dark; the component at the centre is kept. Cutting at a fraction of the contrast
    keeps blur from growing the object. A dark body blurred into one shape with its shadow
    is found only as a rim around it (see `Silhouette.dark`). Where the body's paint differs
    in colour from the apron, a pixel is the object's where half of it or more is paint (see
    `_paint`): a faint tip is kept, and a shadow's rim, darker without the colour, is not,
    however dark the body (`Silhouette.painted`)."""
    n = c.shape[0]
    ring = np.ones((n, n), bool)
    b = max(2, n // 8)
    ring[b:-b, b:-b] = False
    if ref is None:
        seen = _seen(c, pixel)
        if (ring & seen).any():  # the apron is what the image shows at the chip's edge
            ring = ring & seen
        bg = np.broadcast_to(np.median(c[ring], axis=0), c.shape)
        dist = np.where(seen, np.linalg.norm(c - bg, axis=-1), 0.0)
    else:  # nearest reference colour within half a pixel: a painted line off by one is apron
        bg = ref
        dist = np.sqrt(nearest_squared_difference(np.moveaxis(ref, -1, 0),
                                                  np.moveaxis(c, -1, 0),
                                                  int(round(0.5 * pixel))))
    noise = robust_sigma(dist[ring])
    ratio = c.mean(axis=-1) / np.maximum(bg.mean(axis=-1), 1.0)
    chroma = c / np.maximum(c.sum(axis=-1, keepdims=True), 1) - bg / np.maximum(
        bg.sum(axis=-1, keepdims=True), 1)
    neutral = np.abs(chroma).max(axis=-1) < 0.04
    shadow = (ratio < 0.8) & neutral
    lit = dist[b:-b, b:-b][~shadow[b:-b, b:-b]]
    contrast = float(np.percentile(lit, 98)) if lit.size else 0.0
    bare = dist < 2.5 * noise
    # what is bare apron is known only against the empty reference
    offset = None if ref is None else _cast_offset(shadow, bare, n // 6)
    proven = np.zeros_like(shadow)
    if offset is not None:
        proven = np.roll(shadow, (-offset[0], -offset[1]), axis=(0, 1)) & ~bare & ~shadow

    def cut(level: float) -> np.ndarray:
        return (dist > max(5 * noise, level * contrast)) | proven

    foreign = painted = np.zeros_like(shadow)
    if ref is not None:
        dim = ratio < 0.95  # a little darker than the apron: a blurred shadow rim, or a dark body
        body = _central(cut(p.found_at) & ~shadow)
        dim_body = body.any() and np.mean(~dim[body]) < 0.25  # a body as dark as the rim
        # ... and found only as its rim, a hollow outline: a `Silhouette.dark`
        if dim_body and body.sum() < p.rim_fill * _filled_area(body):
            unlike = _central(cut(p.found_at))
            core = _central(ratio < (1 + np.percentile(ratio[unlike], 5)) / 2)
            if core.sum() >= 12:
                return Silhouette(body, core, unlike, True)
        elif body.any() and not dim_body and offset is not None:
            shadow = shadow | _penumbra(shadow, bare, proven, dim & neutral, offset,
                                        int(round(pixel)))
        paint = _paint(chroma, ratio, body, ring, p) if body.any() else None
        if paint is not None:
            painted = paint >= 0.5
            foreign = (ratio < 1) & ~painted  # shadow and its rim, darker without the colour

    def object_at(level: float) -> np.ndarray:
        core = _central(cut(level) & ~shadow)
        return _joined((core | painted) & ~foreign, core)

    return Silhouette(object_at(p.found_at), object_at(p.edges_at),
                      None if ref is None else _central(cut(p.found_at)), painted=painted.any())


def _seen(c: np.ndarray, pixel: float) -> np.ndarray:
    """The chip's pixels inside the image: past its edge (and where it holds no data) every
    band reads 0, and the image pixel next to that is blurred into it."""
    k = 2 * int(math.ceil(pixel)) + 1
    return cv2.erode((c.max(axis=-1) > 0).astype(np.uint8), np.ones((k, k), np.uint8)) > 0


def _joined(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The components of `mask` that hold a pixel of `seed`."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return np.isin(labels, np.unique(labels[seed & mask]))


def _paint(chroma: np.ndarray, ratio: np.ndarray, body: np.ndarray, ring: np.ndarray,
           p: MeasureParams) -> np.ndarray | None:
    """Each pixel's share of its area that is the body's paint, where the paint differs in
    colour from the apron (see `paint_apart`), else None. A pixel's chroma against the reference
    is the paint's times the share of its light that comes from the paint: apron, shadow and
    their blurred mix have none. The body's brightness turns that share of light into one of
    area."""
    tint = np.median(chroma[body], axis=0)
    apron = chroma[ring]
    noise = math.hypot(*(robust_sigma(apron[:, k], p.chroma_floor)
                         for k in range(apron.shape[1])))
    if np.linalg.norm(tint) < p.paint_apart * noise:
        return None
    light = chroma @ tint / float(tint @ tint)
    pure = body & (light >= 0.8)
    bright = float(np.median(ratio[pure if pure.sum() >= 12 else body]))
    return light * ratio / bright if bright > 0 else None


def _penumbra(shadow: np.ndarray, bare: np.ndarray, proven: np.ndarray, dim: np.ndarray,
              offset: tuple[int, int], reach: int) -> np.ndarray:
    """A cast shadow's blurred outer rim, which at 1 m per pixel grew large aircraft by 2-5 m
    (a fin's or tailplane's shadow beyond the tail): `dim` pixels (a little darker than the
    apron, of its colour) where the object's outline (its pixels within `reach` of apron or
    shadow) lands when moved by the cast `offset`, for the shadow's far edge is the object's
    edge moved away from the sun, and with bare apron one offset further on. One offset on
    from any pixel of the object lies its own shadow, so a grey body beside its shadow stays."""
    near = cv2.dilate((bare | shadow).astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    outline = ~bare & ~shadow & near.astype(bool)
    beyond = np.roll(bare, (-offset[0], -offset[1]), axis=(0, 1))
    return dim & np.roll(outline, offset, axis=(0, 1)) & beyond & ~proven


def _filled_area(mask: np.ndarray) -> int:
    """How many pixels `mask` covers with its holes filled (background pixels that no
    4-connected path joins to the border)."""
    edged = np.pad(mask, 1).astype(np.uint8)
    return edged.size - cv2.floodFill(edged, None, (0, 0), 1, flags=4)[0]


def _central(mask: np.ndarray) -> np.ndarray:
    """The components of a mask at the chip's centre, thin markings opened away."""
    n = mask.shape[0]
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h = max(2, n // 10)
    centre = labels[n // 2 - h:n // 2 + h, n // 2 - h:n // 2 + h]
    ids = [i for i in np.unique(centre) if i and stats[i, cv2.CC_STAT_AREA] > 4]
    return np.isin(labels, ids)


def _cast_offset(shadow: np.ndarray, bare: np.ndarray, reach: int) -> tuple[int, int] | None:
    """Where the object's shadow falls, as a (rows, cols) offset in chip pixels, up to `reach`.
    A shadow is the object moved away from the sun: moved back by the offset, shadow pixels
    land on the object, neither on bare apron nor on shadow. The offset is the shift that
    lands the fewest there; None where no shift fits (no shadow to speak of)."""
    if shadow.sum() < 30:
        return None
    size = 2 * shadow.shape[0]
    dark = np.fft.rfft2(shadow.astype(np.float32), (size, size))
    blocked = np.fft.rfft2((bare | shadow).astype(np.float32), (size, size))
    # misses[d]: how many shadow pixels x have a bare or dark x - d (FFT cross-correlation)
    misses = np.fft.irfft2(dark * np.conj(blocked), (size, size))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    cost = misses[dy % size, dx % size] / shadow.sum()
    cost[(dy**2 + dx**2 > reach**2) | (dy**2 + dx**2 < 4)] = np.inf
    k = np.unravel_index(np.argmin(cost), cost.shape)
    return (int(dy[k]), int(dx[k])) if cost[k] <= 0.35 else None


def _extent(coords: np.ndarray) -> float:
    """Extent in pixels of pixel coordinates (edge to edge)."""
    return float(coords.max() - coords.min() + 1)


def _mirror_scores(mask: np.ndarray, pts: np.ndarray, centre: np.ndarray,
                   angles: np.ndarray) -> np.ndarray:
    """Per angle, the fraction of silhouette pixels whose mirror image across the line
    through `centre` at that angle (chip pixel coordinates) is also silhouette."""
    rows, cols = mask.shape
    edged = np.pad(mask, 1)  # a mirror image off the chip lands on its empty edge
    cos, sin = np.cos(angles), np.sin(angles)
    rel = pts - centre
    twice = 2 * (rel @ np.stack([cos, sin]))
    x = np.clip(np.rint(centre[0] + twice * cos - rel[:, :1]), -1, cols).astype(np.intp)
    y = np.clip(np.rint(centre[1] + twice * sin - rel[:, 1:]), -1, rows).astype(np.intp)
    return edged[y + 1, x + 1].mean(axis=0)


def fuselage_axis(mask: np.ndarray, also: np.ndarray | None = None,
                  margin: float = MeasureParams.symmetry_margin) -> tuple[float, np.ndarray]:
    """The line an aircraft is mirror-symmetric about: its angle in the chip (radians, from
    the column axis towards the row axis) and a point on it (the silhouette's centroid).
    With `also`, the angle is the one both masks are most symmetric about, each through its
    own centroid; or, where `also` is clearly the more symmetric (by `margin`), the one
    it alone is: the silhouette is then not the aircraft's shape (a pale body found in pieces
    with its shadow's rim)."""
    clouds = []
    for m in (mask,) if also is None else (mask, also):
        rows, cols = np.nonzero(m)
        pts = np.column_stack([cols, rows]).astype(float)
        clouds.append((m, pts, pts.mean(axis=0), pts[:: max(1, len(pts) // 4000)]))
    centre = clouds[0][2]
    coarse = np.radians(np.arange(0, 180, 2.0))
    scores = np.array([_mirror_scores(m, s, c, coarse) for m, _, c, s in clouds])
    if len(clouds) == 2 and scores[1].max() > scores[0].max() + margin:
        clouds, scores = clouds[1:], scores[1:]

    fine = coarse[np.argmax(scores.sum(axis=0))] + np.radians(np.arange(-2, 2.01, 0.25))
    fit = sum(_mirror_scores(m, p, c, fine) for m, p, c, _ in clouds)
    return float(fine[np.argmax(fit)]), centre


def _sweep(t: np.ndarray, s: np.ndarray, half_span: float, p: MeasureParams) -> float | None:
    """Leading-edge sweep (degrees) from the most forward silhouette pixel of each slice of
    the outer wings (t forward, s across, chip pixels); robust to nacelles (Theil-Sen). None
    where too few slices, or ones that are not one straight edge (see `sweep_scatter_m`)."""
    a = np.abs(s)
    bins = np.arange(0.7 * half_span, 0.95 * half_span, 1.0)  # outer wing, beyond the tail
    xs, les = [], []
    for b in bins:
        sel = (a >= b) & (a < b + 1)
        if sel.any():
            xs.append(b)
            les.append(t[sel].max())
    if len(xs) < 5:
        return None
    slope, intercept = _theil_sen(np.asarray(les), np.asarray(xs))
    scatter = np.median(np.abs(np.asarray(les) - intercept - slope * np.asarray(xs)))
    if scatter * p.chip_res_m > p.sweep_scatter_m:
        return None
    return float(math.degrees(math.atan(max(-slope, 0.0))))


def _theil_sen(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """The Theil-Sen line through (x, y): the median of the pairwise slopes, and the intercept
    through the medians (as scipy.stats.theilslopes, without importing scipy.stats)."""
    dx, dy = x[:, None] - x, y[:, None] - y
    slope = float(np.median(dy[dx > 0] / dx[dx > 0]))
    return slope, float(np.median(y) - slope * np.median(x))


def _end_widths(t: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Silhouette width across the fuselage in the last 15% of its length at each end."""
    lo, hi = t.min(), t.max()
    cut = 0.15 * (hi - lo)
    low, high = s[t <= lo + cut], s[t >= hi - cut]
    return float(np.ptp(low)) if low.size else 0.0, float(np.ptp(high)) if high.size else 0.0


def _nose_forward(t: np.ndarray, s: np.ndarray, p: MeasureParams) -> bool:
    """True when the nose is towards +t. An aircraft's tail carries the wide horizontal
    stabiliser while its nose tapers; where both ends look alike, the wing decides: seen from
    the nose, the leading edge of a swept or tapered wing sweeps back more than the trailing
    edge seen from the tail."""
    low, high = _end_widths(t, s)
    if max(low, high) > 1.5 * max(min(low, high), 1.0):
        return low > high
    half = _extent(s) / 2
    fwd, back = _sweep(t, s, half, p), _sweep(-t, -s, half, p)
    if fwd is not None and back is not None:
        return fwd >= back
    return low >= high


def _projected(pts: np.ndarray, centre: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of points (n, 2: column, row) along the axis at angle `a` through
    `centre`, and across it (chip pixels)."""
    rel = pts - centre
    return rel @ np.array([math.cos(a), math.sin(a)]), rel @ np.array([-math.sin(a),
                                                                        math.cos(a)])


def _along_across(mask: np.ndarray, centre: np.ndarray, a: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of a mask's pixels along the axis at angle `a` through `centre`, and
    across it (chip pixels)."""
    rows, cols = np.nonzero(mask)
    return _projected(np.column_stack([cols, rows]), centre, a)


def _figures(sil: Silhouette, p: MeasureParams, side: float
             ) -> tuple[float, float, float, np.ndarray, float | None]:
    """(length, span, axis angle pointing to the nose, a point on the axis, sweep) of a
    silhouette, in chip pixels and radians. An aircraft's axis is the line both its
    silhouette and all that differs from the apron are symmetric about (a dark grey fuselage
    passes for shadow, and straight wings alone are as symmetric across as along), where that
    lies within 45 degrees of the chip's axis `side` (0: its columns, pi/2: its rows) the
    fuselage runs along, else `side` itself. Its extents are its `edges`'."""
    body = sil.found
    a, centre = fuselage_axis(body, sil.unlike, p.symmetry_margin)
    if abs((a - side + math.pi / 2) % math.pi - math.pi / 2) > math.pi / 4:
        a = side
    t, s = _along_across(body, centre, a)
    if not _nose_forward(t, s, p):
        a, t, s = a + math.pi, -t, -s
    sweep = _sweep(t, s, _extent(s) / 2, p)
    if sil.edges.sum() >= 12:
        t, s = _along_across(sil.edges, centre, a)
    return _extent(t), _extent(s), a, centre, sweep


def measure(image: np.ndarray, crs, transform, corners: np.ndarray, axis_deg: float,
            box_length: float, box_width: float, helicopter: bool, gsd: float,
            reference: np.ndarray | None = None, p: MeasureParams = MeasureParams(),
            look_model: Path = APPEARANCE_WEIGHTS) -> Measurement:
    """Measure one object from `image` (bands, rows, cols) whose pixel->map transform is
    `transform`; `corners` are the object's box corners in map coordinates, `axis_deg` the
    azimuth of its long side. `reference`, the empty base on the same pixels, makes the
    silhouette far cleaner when it is given.

    The fuselage-side model tells which side of the box is the fuselage (see
    `detect.identify.side`), and the look-class model at `look_model` what it looks like
    (`looks_like`, see `detect.identify.appearance`), both from the box as the detector drew
    it; the silhouette tells where the nose is and the wing sweep (where it is whole), and the
    extents with the box (see `extents`), the box first cut to all that differs from the apron
    (see `_trimmed`); their disagreement widens the uncertainty. A dark shape
    (`Silhouette.dark`) gives the extents alone: around it the detector's box runs as long as
    the blurred rim. So does a painted one (`Silhouette.painted`), neither grown beyond the box
    nor under `trim_to` of it, where it lost parts: its paint outlines it more closely than a
    box that may run wide over its shadow. A helicopter lies along a side of its box (see
    `_helicopter_heading`)."""
    res = p.chip_res_m
    c = object_chip(image, crs, transform, corners, axis_deg, box_length, box_width, res)
    r = None if reference is None else object_chip(reference, crs, transform, corners,
                                                   axis_deg, box_length, box_width, res)
    sil = silhouette(c, r, gsd / res, p)
    if helicopter:
        fuselage = _fuselage(sil.found, p) * res if sil.found.sum() >= 12 else None
        return _helicopter(fuselage, box_length, box_width,
                           _helicopter_heading(sil, axis_deg, p), gsd, p)
    if sil.found.sum() < 12:
        return box_measurement(box_length, box_width, axis_deg, gsd)
    on_long = float(along_long_side(look(c, box_length, box_width, res)[None])[0])
    fuselage_on_long = on_long >= 0.5
    seen = looks_like(rgb_look(c, box_length, box_width, res)[None], look_model)[0]
    sil_length, sil_span, a, centre, sweep = _figures(sil, p, 0.0 if fuselage_on_long
                                                      else math.pi / 2)
    sil_length, sil_span = sil_length * res, sil_span * res
    if sil.unlike is not None:
        box_length, box_width = _trimmed((box_length, box_width), sil.unlike, p)
    length, span = (box_length, box_width) if fuselage_on_long else (box_width, box_length)
    base = axis_deg if fuselage_on_long else axis_deg + 90
    sil_heading = axis_deg + math.degrees(a)
    heading = min((base, base + 180), key=lambda h: abs((h - sil_heading + 180) % 360 - 180))
    sigma = _sigma((sil_length, sil_span), (length, span), gsd, p)
    if sil.dark:
        (length, span), whole = (sil_length, sil_span), False
    elif sil.painted and all(p.trim_to * b <= x and not _grown(x, b, p)
                             for x, b in ((sil_length, length), (sil_span, span))):
        (length, span), whole = (sil_length, sil_span), True
    else:
        (length, span), whole = extents((sil_length, sil_span), (length, span), p)
    return Measurement(float(length), float(span), float(heading % 360), float(sigma), True,
                       sweep if whole else None, sweep_sigma(gsd, span), pixel_m=gsd,
                       radome_m=radome(c, max(length, span) / res, (a, centre), p) * res,
                       looks_like=seen, fuselage_p=max(on_long, 1 - on_long))


def radome(image: np.ndarray, extent_px: float, axis: tuple[float, np.ndarray],
           p: MeasureParams = MeasureParams()) -> float:
    """The diameter (chip pixels) of the largest round disc of a radome's size (`radome_size`)
    centred on the aircraft (`radome_off`; the chip is centred on it) and on its fuselage (a
    dish is mounted on it: its centre within its own radius of the fuselage `axis`, an angle
    in the chip and a point on the line), found by the Hough transform over the edges of its
    grey image; 0 where there is none."""
    grey = image.mean(axis=2)
    lo, hi = np.percentile(grey, [1, 99])
    u8 = np.clip((grey - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    small, large = (share * extent_px / 2 for share in p.radome_size)
    found = cv2.HoughCircles(u8, cv2.HOUGH_GRADIENT_ALT, 1.5, 10, param1=300,
                             param2=p.radome_round, minRadius=int(small),
                             maxRadius=int(math.ceil(large)))
    if found is None:
        return 0.0
    discs = found[0]
    a, on_axis = axis
    off_axis = np.abs(_projected(discs[:, :2], on_axis, a)[1])
    centre = (np.array(u8.shape[::-1]) - 1) / 2
    near = [r for (x, y, r), off in zip(discs, off_axis, strict=True)
            if math.dist((x, y), centre) <= p.radome_off * extent_px and off <= r]
    return 2 * float(max(near)) if near else 0.0


def _sigma(sil: tuple[float, float], box: tuple[float, float], gsd: float,
           p: MeasureParams) -> float:
    """One sigma of the extents: a pixel's edge, and the silhouette's disagreement with the
    box (see `grown_sigma`, `lost_sigma`)."""
    parts = ((p.grown_sigma if s > (1 + p.box_short) * b else p.lost_sigma) * (s - b)
             for s, b in zip(sil, box, strict=True))
    return math.hypot(p.edge_sigma_px * gsd, *parts)


def sweep_sigma(gsd: float, span: float) -> float:
    """One sigma of a measured sweep (degrees): 4 deg of planform variety and parked flaps,
    and a pixel over the span's length for the Theil-Sen fit of a dozen slices. The errors
    have a heavy tail (a fit read off a shadow or a neighbour; see `MatchParams.sweep_cap`)."""
    return math.hypot(4.0, math.degrees(math.atan(gsd / span)))


def extents(sil: tuple[float, float], box: tuple[float, float],
            p: MeasureParams = MeasureParams()) -> tuple[tuple[float, float], bool]:
    """Length and span from the silhouette's and the box's (see `_extent_of`), and whether the
    silhouette is whole, so that its sweep can be read. A silhouette grown past the box into a
    neighbour or a shadow one way (see `_grown`) is trusted neither way: the box stands."""
    if any(_grown(s, b, p) for s, b in zip(sil, box, strict=True)):
        return box, False
    whole = all(s >= p.whole_share * b for s, b in zip(sil, box, strict=True))
    return (_extent_of(sil[0], box[0], p), _extent_of(sil[1], box[1], p)), whole


def _trimmed(box: tuple[float, float], unlike: np.ndarray, p: MeasureParams
             ) -> tuple[float, float]:
    """A box's length and width, each cut to the extent along it (the chip's columns and rows)
    of all that differs from the empty apron, shadow included (`Silhouette.unlike`), where that
    is at least `trim_to` of it. A detector's box may run past the object by a pixel or two,
    and more (3.5 m on a 15 m span at 1 m per pixel); shorter still, parts of the object
    were lost to the apron."""
    rows, cols = np.nonzero(unlike)
    seen = (_extent(cols) * p.chip_res_m, _extent(rows) * p.chip_res_m)
    return tuple(u if p.trim_to * b <= u < b else b for u, b in zip(seen, box, strict=True))


def _grown(silhouette: float, box: float, p: MeasureParams) -> bool:
    """Whether a silhouette's extent has grown beyond its box's into a neighbour or a shadow:
    longer than `grown_share` of it plus `grown_m` (the detector's boxes run short, but not
    that short)."""
    return silhouette > p.grown_share * box + p.grown_m


def _extent_of(silhouette: float, box: float, p: MeasureParams) -> float:
    """One extent from a silhouette not grown beyond the box (see `extents`). The detector's
    boxes run short (more on the span of large transports), so a longer silhouette is taken,
    up to `box_short` past the box. A shorter one has lost parts (a shaded wing taken for
    shadow): from `trim_to` of it the two are averaged, else the box is taken."""
    if silhouette >= box:
        return min(silhouette, (1 + p.box_short) * box)
    if silhouette >= p.trim_to * box:
        return (silhouette + box) / 2
    return box


def _fuselage(found: np.ndarray, p: MeasureParams) -> float:
    """A helicopter's body length (chip pixels) along the line it is most mirror-symmetric
    about, its rotor blades opened away: the fuselage where the body was segmented. A dark
    body passes for shadow, leaving blade fragments, and then this is no fuselage (too short,
    or none: the rotor alone tells the type)."""
    body = _opened(found, p.blades_px)
    a, centre = fuselage_axis(body)
    return _extent(_along_across(body, centre, a)[0])


def _helicopter_heading(sil: Silhouette, axis_deg: float, p: MeasureParams) -> float:
    """A helicopter's heading, along the side of its box (`axis_deg` runs along the long
    side, the chip's columns) nearest the principal axis of all that differs from the apron
    with its blades opened away: its body and the body's cast shadow (the same shape moved),
    long along the fuselage. (Its blades break the mirror symmetry an aircraft's axis is found
    by, its dark paint passes for shadow, and its box is near square where the rotor spans the
    fuselage.) The nose is at the end away from the thin tail boom, which skews the body."""
    rows, cols = np.nonzero(_opened(sil.found if sil.unlike is None else sil.unlike,
                                    p.blades_px))
    if cols.size < 3:
        return axis_deg
    vector = np.linalg.eigh(np.cov(np.vstack([cols, rows]).astype(float)))[1][:, -1]
    on_rows = abs(vector[1]) > abs(vector[0])  # the fuselage lies along the box's short side
    t, base = (rows, axis_deg + 90) if on_rows else (cols, axis_deg)
    return base if np.mean((t - t.mean()) ** 3) <= 0 else base + 180


def _opened(mask: np.ndarray, k: int) -> np.ndarray:
    """A mask with its parts thinner than `k` chip pixels opened away, or all of it where
    next to nothing would be left."""
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    return opened.astype(bool) if opened.sum() > 20 else mask


def _helicopter(fuselage: float | None, box_length: float, box_width: float, heading: float,
                gsd: float, p: MeasureParams) -> Measurement:
    """A helicopter's figures: the rotor disc spans the box's shorter side (the longer, along
    the fuselage for most, also holds the tail boom; a near-square box may lie either way, see
    `_helicopter_heading`), with the faint blade tips the box misses; the fuselage comes
    from the silhouette, unless none was segmented (None), or it is far too short for any
    helicopter (a dark body taken for its own shadow) or grown beyond the box, and so not
    seen."""
    rotor = min(box_length, box_width) + p.rotor_tips_px * gsd
    seen = fuselage is not None and p.min_fuselage_to_rotor * rotor <= fuselage and not _grown(
        fuselage, max(box_length, box_width), p)
    return Measurement(float(fuselage if seen else max(box_length, box_width)), float(rotor),
                       float(heading % 360), p.edge_sigma_px * gsd + 0.03 * rotor,
                       fuselage is not None, None, length_seen=seen, pixel_m=gsd)

