"""Looks at the typed real military aircraft (`detect.identify.crops`): the crops' tune part in
the detector's box and the MAR20 sample in its labelled boxes, each given the pixel size that
makes its box its type's catalogue size (off by up to `scale_error`), resampled into
`gsd_range` and boxed as a detector may, for the models that learn from them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from tqdm import tqdm

from detect.identify.crops import extent_m, read_crops, read_mar20
from detect.identify.measure import object_chip

UTM, UTM_ORIGIN = "EPSG:32637", (500000.0, 4000000.0)  # where a crop is set to be detected


@dataclass(frozen=True)
class Variants:
    """How each typed real aircraft is looked at."""

    variants: int = 16  # looks at each
    scale_error: float = 0.15  # its pixel size is set from its type's size within 1 -+ this
    gsd_range: tuple[float, float] = (0.3, 0.8)  # and it is resampled into this range
    margin_m: float = 40.0  # ground metres of border colour set around a crop (as the crops'
    # trials set it)
    probe_gsd: float = 0.5  # metres a pixel at which the detector first finds a crop's aircraft
    turned: float = 30.0  # half of the boxes are off their aircraft by up to this many degrees


def box_sides(corners: np.ndarray) -> tuple[float, float, float]:
    """Long side, short side and the long side's azimuth (degrees, map coordinates north up)
    of a box's corners (4, 2)."""
    a, b = corners[1] - corners[0], corners[2] - corners[1]
    long, short = (a, b) if np.hypot(*a) >= np.hypot(*b) else (b, a)
    return float(np.hypot(*long)), float(np.hypot(*short)), math.degrees(
        math.atan2(long[0], long[1])) % 180


def detected_box(rgb: np.ndarray, extent_m: float, weights: Path, opts: Variants = Variants()
                 ) -> np.ndarray | None:
    """The corners (image pixels) of the detector's aircraft nearest the image's centre, the
    image read as if its aircraft filled most of it (`extent_m` over 0.8 of its side),
    resampled to `opts.probe_gsd` and set on `opts.margin_m` of its border colour (a crop's
    aircraft reaches its edges, where the detector would miss it)."""
    from detect.detector.raster import detect_objects

    gsd = opts.probe_gsd
    k = extent_m / (0.8 * max(rgb.shape[:2])) / gsd  # probe pixels per image pixel
    pad = round(opts.margin_m / gsd)
    image = on_margin(resized(rgb, k), pad)
    h, w = image.shape[:2]
    transform = from_origin(*UTM_ORIGIN, gsd, gsd)
    with MemoryFile() as mem, mem.open(driver="GTiff", width=w, height=h, count=3,
                                       dtype="uint8", crs=UTM, transform=transform) as ds:
        ds.write(image.transpose(2, 0, 1))
        found = detect_objects(ds, weights, conf=0.05)
    i = central_aircraft(found, np.array(transform @ (w / 2, h / 2)))
    if i is None:
        return None
    cols, rows = ~transform @ (found.corners[i][:, 0], found.corners[i][:, 1])
    return (np.stack([cols, rows], axis=1) - pad) / k


def central_aircraft(objects, centre: np.ndarray) -> int | None:
    """The index of the aircraft in `objects` whose box centre lies nearest `centre` (map
    coordinates), if any."""
    planes = np.flatnonzero(objects.klass == "aircraft")
    if not len(planes):
        return None
    d = np.linalg.norm(objects.corners[planes].mean(axis=1) - centre, axis=1)
    return int(planes[np.argmin(d)])


def resized(rgb: np.ndarray, k: float) -> np.ndarray:
    """`rgb` scaled by `k` (averaged down, or interpolated up)."""
    size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)


def on_margin(rgb: np.ndarray, pad: int) -> np.ndarray:
    """`rgb` set on `pad` pixels of its median border colour each side."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                              value=np.median(border, axis=0).tolist())


def variant_looks(rgb: np.ndarray, corners: np.ndarray, extent_m: float,
                  rng: np.random.Generator, opts: Variants, margin: bool, look_of
                  ) -> list[np.ndarray]:
    """`opts.variants` looks (`look_of(chip, box_length, box_width)`) at the aircraft in box
    `corners` (image pixels) of `rgb`: each at a pixel size that makes the box `extent_m` long
    (within `scale_error`), resampled into `gsd_range`, with `margin`: set on `margin_m` of its
    border colour first, and boxed as a detector may (off by up to `turned` degrees)."""
    out = []
    long_px = box_sides(corners)[0]
    for _ in range(opts.variants):
        gsd = rng.uniform(*opts.gsd_range)
        k = extent_m / long_px * rng.uniform(1 - opts.scale_error, 1 + opts.scale_error) / gsd
        pad = round(opts.margin_m / gsd) if margin else 0
        image = on_margin(resized(rgb, k), pad)
        t = from_origin(0, image.shape[0] * gsd, gsd, gsd)
        cols, rows = (corners * k + pad).T
        mapped = np.stack(t @ (cols, rows), axis=1)
        long, short, axis = box_sides(mapped)
        long, short = long * rng.uniform(0.9, 1.05), short * rng.uniform(0.85, 1.05)
        axis += rng.choice([rng.normal(0, 3), rng.uniform(-opts.turned, opts.turned)])
        c = object_chip(image.transpose(2, 0, 1).astype(np.float32), None, t, mapped, axis,
                        long, short)
        out.append(look_of(c, long, short))
    return out


def typed_looks(crops: Path, weights: Path, opts: Variants, seed: int, look_of
                ) -> list[tuple[list[np.ndarray], tuple[str, ...], int]]:
    """For each typed real aircraft the detector (`weights`) finds, or the MAR20 sample
    labels, its looks (`variant_looks`), its catalogue types and its fold (`Crop.fold`; the
    MAR20 sample's -1, always learned from), in file order (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    for crop in tqdm([c for c in read_crops(crops) if c.part == "tune"],
                     desc="real military crops", unit="crop"):
        rgb = cv2.imread(str(crop.path))[..., ::-1]
        box = detected_box(rgb, crop.extent_m, weights, opts)
        if box is not None:
            out.append((variant_looks(rgb, box, crop.extent_m, rng, opts, True, look_of),
                         crop.types, crop.fold))
    for path, name, box in tqdm(read_mar20(crops), desc="MAR20 aircraft", unit="aircraft"):
        rgb = cv2.imread(str(path))[..., ::-1]
        out.append((variant_looks(rgb, box, extent_m((name,)), rng, opts, False, look_of),
                    (name,), -1))
    return out
