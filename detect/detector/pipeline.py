"""Detection on one raster: load weights, honour an AOI, slice, identify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from shapely.geometry import shape
from shapely.ops import unary_union

from detect.detector.model import load_model, operating_conf
from detect.detector.slicing import RasterError, Reader, SliceConfig, detect_raster, native_gsd
from detect.geo import WGS84, reproject_geometry
from detect.identify.match import Prior
from detect.identify.pipeline import DatasetImage, identify_objects
from detect.objects import Objects


def load_aoi(path: Path, ds):
    """Union of the polygons of a GeoJSON file (WGS84), in the dataset's CRS."""
    try:
        data = json.loads(Path(path).read_text())
        feats = data.get("features", [data]) if data.get("type") == "FeatureCollection" or \
            "geometry" in data else [{"geometry": data}]
        geom = unary_union([shape(f["geometry"]) for f in feats])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RasterError(f"cannot read AOI {path}: not a GeoJSON polygon ({exc})") from exc
    if ds.crs is None:
        return geom
    return reproject_geometry(geom, WGS84, ds.crs)


def detect_objects(ds, weights: Path, *, aoi=None, conf: float | None = None,
                   gsd: float | None = None, progress: bool = False) -> Objects:
    """Detect objects on an open dataset: every class at `conf`, or by default each class at
    the operating confidence of the weights' model card."""
    by_class = operating_conf(weights) if conf is None else None
    floor = min(by_class.values()) if by_class else conf
    found = detect_raster(ds, load_model(str(weights)), gsd=gsd, aoi=aoi,
                          cfg=SliceConfig(conf=floor), progress=progress)
    if by_class:
        found = found[found.confidence >= np.array([by_class[k] for k in found.klass])]
    return found


def find_objects(ds, weights: Path, *, aoi=None, conf: float | None = None,
                 gsd: float | None = None, prior: Prior | None = None,
                 scale_sigma: float = 0.0, progress: bool = False) -> Objects:
    """Detect objects on an open dataset with the given weights, and identify them (their
    sizes known to `scale_sigma`, the relative error of the pixel size)."""
    found = detect_objects(ds, weights, aoi=aoi, conf=conf, gsd=gsd, progress=progress)
    return identify_objects(found, DatasetImage(ds, Reader(ds)), native_gsd(ds, gsd), prior,
                            scale_sigma)
