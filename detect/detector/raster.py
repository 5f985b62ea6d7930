"""Detection on one raster: load weights, honour an AOI, slice, keep each class at its
operating confidence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from shapely.geometry import shape
from shapely.ops import unary_union

from detect.detector.model import load_model, operating_conf
from detect.detector.slicing import RasterError, SliceConfig, detect_raster
from detect.geo import WGS84, reproject_geometry
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
