"""Find and identify the objects on one raster: the detector's boxes, measured and typed."""

from __future__ import annotations

from pathlib import Path

from detect.detector.raster import detect_objects
from detect.detector.slicing import Reader, native_gsd
from detect.identify.appearance import APPEARANCE_WEIGHTS
from detect.identify.match import Prior
from detect.identify.objects import DatasetImage, identify_objects
from detect.objects import Objects


def find_objects(ds, weights: Path, *, aoi=None, conf: float | None = None,
                 gsd: float | None = None, prior: Prior | None = None,
                 scale_sigma: float = 0.0, progress: bool = False,
                 look_model: Path = APPEARANCE_WEIGHTS) -> Objects:
    """Detect objects on an open dataset with the given weights, and identify them (their
    sizes known to `scale_sigma`, the relative error of the pixel size; their looks read by
    the look-class model at `look_model`)."""
    found = detect_objects(ds, weights, aoi=aoi, conf=conf, gsd=gsd, progress=progress)
    return identify_objects(found, DatasetImage(ds, Reader(ds)), native_gsd(ds, gsd), prior,
                            scale_sigma, look_model)
