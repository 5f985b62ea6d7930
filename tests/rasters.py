"""Helpers that write small real GeoTIFFs for tests, and measure rendered aircraft."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import rasterio
from rasterio.transform import from_origin

from detect.identify.measure import measure
from detect.synth.shapes import Shape, paste, render_sprite, shape_for

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


FUSELAGES = Path(__file__).parent / "data" / "airbus-fuselage-angles.csv"


def judged_fuselages() -> list[tuple[str, int, float]]:
    """(image, label index, fuselage angle in degrees) of the airliners whose fuselage was
    judged by eye (`data/airbus-fuselage-angles.csv`)."""
    with FUSELAGES.open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [(r["image"], int(r["label"]), float(r["fuselage_deg"])) for r in rows]


def identified_aircraft(path: Path, weights: Path, *priors) -> list:
    """The detector's aircraft on an (unreferenced) Airbus image at 0.5 m, measured and
    identified under each of `priors` (`Objects`, one per prior)."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from detect.detector.raster import detect_objects
    from detect.detector.slicing import Reader
    from detect.identify.objects import DatasetImage, identify_objects

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            found = detect_objects(ds, weights, gsd=0.5)
            planes, source = found[found.klass == "aircraft"], DatasetImage(ds, Reader(ds))
            return [identify_objects(planes, source, 0.5, prior) for prior in priors]


def measured_airliners(root: Path, weights: Path) -> list[tuple[float, dict | None]]:
    """For each judged airliner (`judged_fuselages`), its fuselage angle and the record of the
    detector's aircraft over its label (IoU 0.4 or more; None where there is none), measured
    and identified as at a civil field. An unreferenced image's map is its pixel grid, so a
    heading h lies along the image angle h - 90."""
    from detect.detector.airbus import read_labels
    from detect.detector.train import best_box
    from detect.identify.match import site_prior

    labelled, measured, out = read_labels(root), {}, []
    for name, index, judged in judged_fuselages():
        if name not in measured:
            measured[name], = identified_aircraft(labelled[name].path, weights,
                                                  site_prior(field="civil"))
        objs = measured[name]
        iou, k = best_box(labelled[name].boxes[index], objs.corners, range(len(objs)))
        out.append((judged, objs.records()[k] if iou >= 0.4 else None))
    return out


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


def pair_labels(root: Path, a: str, b: str, matrix: np.ndarray) -> tuple:
    """Labelled aircraft boxes of Airbus image a, and those of b mapped into a's pixels by the
    registration `matrix`, with which of each have no counterpart in the other image (see
    `same_footprint`)."""
    from detect.detector.airbus import read_labels

    labels = read_labels(root)
    ba = labels[a].boxes if a in labels else np.zeros((0, 4))
    bb = labels[b].boxes if b in labels else np.zeros((0, 4))
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    cb = ((bb[:, :2] + bb[:, 2:]) / 2) @ inv[:, :2].T + inv[:, 2] if len(bb) else bb[:, :2]
    shift = cb - (bb[:, :2] + bb[:, 2:]) / 2 if len(bb) else cb
    bb_in_a = bb + np.hstack([shift, shift]) if len(bb) else bb
    same = same_footprint(ba, bb_in_a)
    return ba, bb_in_a, ~same.any(axis=1), ~same.any(axis=0)


def same_footprint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)): which labelled boxes (x0, y0, x1, y1) frame the same aircraft: centres
    within a tenth of the diagonal (at least 8 px), width and height within 15% (at a gate, the
    aircraft that replaced another sits within 8 px but not in the same box)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), bool)
    ca, cb = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
    sa, sb = np.maximum(a[:, 2:] - a[:, :2], 1.0), np.maximum(b[:, 2:] - b[:, :2], 1.0)
    d = np.hypot(*(ca[:, None] - cb[None]).transpose(2, 0, 1))
    gate = centre_gate(sa)[:, None]
    ratio = np.abs(np.log(sa[:, None] / sb[None])).max(axis=2)
    return (d <= gate) & (ratio <= np.log(1.15))


def centre_gate(sizes: np.ndarray) -> np.ndarray:
    """How far (px) the centres of two labelled boxes of one aircraft may lie, for boxes of
    `sizes` (width, height): a tenth of the diagonal, 8 px at least."""
    return np.maximum(8.0, 0.1 * np.hypot(*np.asarray(sizes, float).T))


def change_on_pair(labels: tuple, change) -> tuple[int, int, float]:
    """How a change map of an Airbus pair fares against its `labels` (as `pair_labels` gives
    them): (aircraft on one date only, how many of them touch a change region, fraction of
    the known area more than 10 m from every labelled aircraft that is flagged)."""
    ba, bb, only_a, only_b = labels
    away = np.ones(change.mask.shape, bool)
    for x0, y0, x1, y1 in np.vstack([ba, bb]).astype(int):
        away[max(y0 - 20, 0):y1 + 20, max(x0 - 20, 0):x1 + 20] = False
    total = found = 0
    for boxes, only in ((ba, only_a), (bb, only_b)):
        for x0, y0, x1, y1 in boxes[only].astype(int):
            total += 1
            found += bool(change.mask[max(y0, 0):y1, max(x0, 0):x1].any())
    known = away & ~change.unknown
    return total, found, float(change.mask[known].mean()) if known.any() else 0.0


def pair_site(folder: Path, a: Path, field: str | None = None) -> Path:
    """A site whose reference is image `a`, with one zone: the image less a 64 px border (the
    pairs are offset by up to 50 px, so the zone is seen on both dates); `field` is its
    `field:` (none by default)."""
    from detect.geo import to_lonlat

    with rasterio.open(a) as ds:
        x0, y0, x1, y1 = ds.bounds
        crs = ds.crs.to_string()
    m = 64 * 0.5
    xs, ys = [x0 + m, x1 - m, x1 - m, x0 + m, x0 + m], [y0 + m, y0 + m, y1 - m, y1 - m, y0 + m]
    lon, lat = to_lonlat(crs, xs, ys)
    ring = [[float(u), float(v)] for u, v in zip(lon, lat, strict=True)]
    zone = {"type": "Feature", "properties": {"name": "apron"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}
    (folder / "zones.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                     "features": [zone]}))
    (folder / "site.yaml").write_text(f"name: {folder.name}\ncrs: {crs}\ngsd: 0.5\n"
                                      f"reference: {a.name}\nzones: zones.geojson\n" +
                                      (f"field: {field}\n" if field else ""))
    return folder / "site.yaml"


def airport_series(root: Path, first: str, folder: Path, weights: Path,
                   field: str | None = None) -> list[dict]:
    """The daily run over one real airport on several dates: image `first` the reference and
    the first day, each image of its footprint (offset under 50 px, `overlaps.csv`) a later
    day, in the order listed. The days' reports."""
    import datetime as dt

    from detect.daily import RunOptions, run_day
    from detect.site import load_site

    later = [r["image_b"] for r in same_footprint_pairs(root) if r["image_a"] == first]
    a = write_tif(folder / "a.tif", airbus_rgb(root, first))
    site = load_site(pair_site(folder, a, field))
    reports = []
    for k, name in enumerate([first, *later]):
        day = dt.date(2026, 1, 1 + k)
        drop = folder / "drops" / day.isoformat()
        drop.mkdir(parents=True)
        write_tif(drop / "image.tif", airbus_rgb(root, name))
        reports.append(run_day(RunOptions(drop, site, weights, day))[0])
    return reports


def same_footprint_pairs(root: Path) -> list[dict]:
    """The rows of the Airbus `overlaps.csv` whose two images are offset by under 50 px."""
    with open(root / "overlaps.csv") as f:
        return [r for r in csv.DictReader(f) if abs(float(r["dx_px"])) < 50
                and abs(float(r["dy_px"])) < 50]


def labelled_pairs(root: Path, rows: list[dict]) -> list[dict]:
    """The pairs whose two images both carry labels: an unlabelled image (one of the original
    dataset's extras) says nothing of the aircraft on it, and would make every aircraft of the
    other date an arrival or a departure."""
    from detect.detector.airbus import read_labels

    labels = read_labels(root)
    return [r for r in rows if r["image_a"] in labels and r["image_b"] in labels]


def run_pair(root: Path, row: dict, folder: Path, weights: Path) -> tuple:
    """The daily run on an Airbus pair: image a the reference and the first day, image b the
    next. (site, image a's path, day two's report, the registration matrix of b onto a)."""
    import datetime as dt
    import shutil

    from detect.daily import RunOptions, run_day
    from detect.imagery.compare import load_pair
    from detect.imagery.register import register
    from detect.site import load_site

    days = ("2026-01-01", "2026-01-02")
    for d in days:
        (folder / "drops" / d).mkdir(parents=True)
    a = write_tif(folder / "a.tif", airbus_rgb(root, row["image_a"]))
    shutil.copy(a, folder / "drops" / days[0] / "a.tif")
    b = write_tif(folder / "drops" / days[1] / "b.tif", airbus_rgb(root, row["image_b"]))
    site = load_site(pair_site(folder, a))
    for d in days:
        report, _ = run_day(RunOptions(folder / "drops" / d, site, weights,
                                       dt.date.fromisoformat(d)))
    ra, rb = load_pair(a, b)
    return site, a, report, register(ra.gray, ra.valid, rb.gray, rb.valid).matrix


def measure_rendered(name: str, heading: float, box_length: float, box_span: float,
                     gsd: float = 0.5, blur_px: float = 0.0, helicopter: bool = False,
                     apron: tuple = (0.6, 0.6, 0.6), trailers_m: float = 0.0,
                     sun: tuple[float, float] = (150, 50), reference: bool = True,
                     edge_m: float | None = None, swept: bool = False):
    """A sprite of `name` rendered on an empty apron at `gsd`, blurred by a Gaussian of
    `blur_px` pixels, measured with a detector's box of `box_length` and `box_span` times its
    true size (fuselage and rotor for a helicopter), on an apron of colour `apron`, under a
    `sun` at (azimuth, elevation), against the empty apron unless not `reference`; with
    `trailers_m`, red trailers that long touch its nose and its tail; with `edge_m`, the
    image ends that many metres from its centre (a tight screenshot: past the edge every
    band reads 0, as `detect` reads it); a swing wing `swept` back."""
    size = int(200 / gsd)
    empty = np.ones((size, size, 3), np.float32) * np.float32(apron)
    empty *= 1 + 0.02 * np.random.default_rng(1).standard_normal((size, size, 1)).astype(
        np.float32)
    img = empty.copy()
    shape = shape_for(name, swept)
    centre = (size / 2 + 0.3, size / 2 - 0.4)
    paste(img, render_sprite(shape, centre, heading, gsd, *sun))
    if trailers_m:
        trailer = Shape("trailer", "truck", trailers_m, 3.0, 0.0, 0, (0.7, 0.2, 0.2), 1.0)
        h, off = np.radians(heading), (shape.length + trailers_m) / 2 / gsd
        for k in (-1, 1):
            at = (centre[0] + k * off * np.sin(h), centre[1] - k * off * np.cos(h))
            paste(img, render_sprite(trailer, at, heading, gsd, *sun))
    if blur_px:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    to_dn = lambda a: (255 * np.clip(a, 0, 1) ** 0.625).transpose(2, 0, 1)  # noqa: E731
    if edge_m is not None:
        (x0, x1), (y0, y1) = ((max(int(round(c - edge_m / gsd)), 0), int(round(c + edge_m / gsd)))
                              for c in centre)
        keep = np.zeros(img.shape[:2], bool)
        keep[y0:y1, x0:x1] = True
        img[~keep] = 0
    t = from_origin(0, size * gsd, gsd, gsd)
    x, y = t @ centre
    h = np.radians(heading)
    fwd, right = np.array([np.sin(h), np.cos(h)]), np.array([np.cos(h), -np.sin(h)])
    length, span = shape.length * box_length, shape.span * box_span
    box = np.array([[x, y] + sa * length / 2 * fwd + sb * span / 2 * right
                    for sa, sb in ((1, 1), (1, -1), (-1, -1), (-1, 1))])
    long_axis = heading if length >= span else heading + 90
    return shape, measure(to_dn(img), None, t, box, long_axis % 180, max(length, span),
                          min(length, span), helicopter, gsd,
                          to_dn(empty) if reference else None)
