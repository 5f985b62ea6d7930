"""Real overhead crops of typed aircraft (`detect.identify.crops`) as identification trials at
a known pixel size, for calibrating `type_confidence` and for the tests and the bench.

The crops carry no ground sample distance. Each is given the one that makes the detector's box
around its aircraft (found on a margin, `detect.identify.typed.detected_box`) as long as its
type's catalogue figures (the larger of length and span, the box's long side), times a seeded
random factor in [0.85, 1.15], so that size alone cannot decide; it is then resampled to the
trial's metres per pixel, set on a margin of its own border colour, written as a georeferenced
GeoTIFF and run through detection and identification, at a military field
(`site_prior(field="military")`) and with the pixel size's error declared (`detect aircraft
--gsd-error`, the factor's standard deviation), as an analyst would run it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import rasterio
from rasterio.transform import from_origin
from tqdm import tqdm

from detect.detector.model import DEFAULT_WEIGHTS
from detect.find import find_objects
from detect.geotiff import write_cog
from detect.identify.appearance import APPEARANCE_WEIGHTS
from detect.identify.crops import Crop
from detect.identify.match import site_prior
from detect.identify.typed import (
    Variants,
    box_sides,
    central_aircraft,
    detected_box,
    on_margin,
    resized,
)

GSDS = (0.3, 0.5, 0.7)
SCALE_ERROR = 0.15  # the random factor on a crop's pixel size lies within 1 -+ this
SCALE_SIGMA = SCALE_ERROR / 3**0.5  # its standard deviation, declared to identification
MARGIN_M = Variants.margin_m  # ground metres of border colour set around a crop
MILITARY = site_prior(field="military")  # the crops show military airbases
CRS = "EPSG:32631"  # the trials' map projection (metres)
ORIGIN = (500000.0, 5000000.0)  # and their upper left corner in it


@dataclass
class Trial:
    crop: Crop
    gsd: float
    factor: float
    found: bool
    answer: str
    confidence: float
    alternatives: list[str]
    length_m: float | None
    span_m: float | None
    radome_m: float | None = None
    level: str = "unknown"  # the answer's type_level: type, family, either (A or B) or unknown
    likeliest: str = "unknown"  # the answer's `type_likeliest` (of "A or B", the likelier)

    @classmethod
    def lost(cls, crop: Crop, gsd: float, factor: float = 1.0) -> Trial:
        """A trial whose aircraft the detector did not find."""
        return cls(crop, gsd, factor, False, "not found", 0.0, [], None, None)

    def likeliest_right(self) -> bool:
        """Whether the likeliest of what the answer names is right."""
        return self.crop.right(self.likeliest)

    def taken_for(self, label: str) -> bool:
        """Whether the likeliest of what the answer names is the crop label `label`'s type
        and not the crop's own (as a family both share is)."""
        return replace(self.crop, label=label).right(self.likeliest) and not self.likeliest_right()


def box_px(crop: Crop, weights: Path = DEFAULT_WEIGHTS) -> float | None:
    """The long side, in the crop's pixels, of the detector's box around its aircraft
    (`detect.identify.typed.detected_box`)."""
    box = detected_box(cv2.imread(str(crop.path))[..., ::-1], crop.extent_m, weights)
    return None if box is None else box_sides(box)[0]


def trial(crop: Crop, gsd: float, long_px: float, folder: Path, seed: int = 0,
          look_model: Path = APPEARANCE_WEIGHTS, weights: Path = DEFAULT_WEIGHTS) -> Trial:
    """Identify the crop's aircraft at `gsd` metres per pixel (its scale off by a seeded
    factor), its look read by the look-class model at `look_model`."""
    rng = np.random.default_rng([seed, zlib.crc32(crop.path.name.encode()), round(gsd * 10)])
    factor = float(rng.uniform(1 - SCALE_ERROR, 1 + SCALE_ERROR))
    crop_gsd = crop.extent_m / long_px * factor
    rgb = cv2.imread(str(crop.path))[..., ::-1]
    scene = on_margin(resized(rgb, crop_gsd / gsd), round(MARGIN_M / gsd))
    path = folder / f"trial_{gsd}.tif"
    write_cog(path, scene.transpose(2, 0, 1), from_origin(*ORIGIN, gsd, gsd), CRS)
    with rasterio.open(path) as ds:
        found = find_objects(ds, weights, prior=MILITARY, scale_sigma=SCALE_SIGMA,
                             look_model=look_model)
        centre = np.array(ds.transform @ (ds.width / 2, ds.height / 2))
    i = central_aircraft(found, centre)
    if i is None:
        return Trial.lost(crop, gsd, factor)
    rec = found.records()[i]
    alts = [a["type"] for a in rec.get("type_alternatives") or []]
    return Trial(crop, gsd, factor, True, rec["type"], float(rec["type_confidence"]), alts,
                 rec["length_m"], rec.get("span_m"), rec.get("radome_m"), rec["type_level"],
                 (rec["type_likeliest"] or {"type": "unknown"})["type"])


def run_trials(crops: list[Crop], folder: Path, gsds=GSDS,
               fold_models: dict[int, Path] | None = None,
               weights: Path = DEFAULT_WEIGHTS) -> list[Trial]:
    """Every crop at every pixel size; a crop whose aircraft the detector never finds is a
    trial lost at every size. A crop of a fold in `fold_models` is looked at by the look-class
    model given for it (one learned without that fold), any other by the shipped one."""
    out = []
    for crop in tqdm(crops, desc="crop trials", unit="crop"):
        long_px = box_px(crop, weights)
        look_model = (fold_models or {}).get(crop.fold, APPEARANCE_WEIGHTS)
        for gsd in gsds:
            out.append(trial(crop, gsd, long_px, folder, look_model=look_model, weights=weights)
                       if long_px else Trial.lost(crop, gsd))
    return out
