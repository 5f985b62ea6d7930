"""Detection on one raster: load weights, honour an AOI, slice, identify."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import shape
from shapely.ops import unary_union

from detect.detector.model import load_model
from detect.detector.slicing import RasterError, Reader, SliceConfig, detect_raster, native_gsd
from detect.geo import WGS84, reproject_geometry
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


def find_objects(ds, weights: Path, *, aoi=None, conf: float = 0.25, gsd: float | None = None,
                 types: list[str] | None = None, progress: bool = False) -> Objects:
    """Detect objects on an open dataset with the given weights, and identify them."""
    model = load_model(str(weights))
    found = detect_raster(ds, model, gsd=gsd, aoi=aoi, cfg=SliceConfig(conf=conf),
                          progress=progress)
    return identify_objects(found, DatasetImage(ds, Reader(ds)), native_gsd(ds, gsd), types)
