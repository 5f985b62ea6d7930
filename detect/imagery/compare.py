"""Two-image workflows behind `detect register` and `detect change`, and their outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detect.geo import WGS84, oriented, reproject_geometry
from detect.geotiff import write_cog
from detect.imagery.align import Aligned, align
from detect.imagery.change import Change, detect_change
from detect.imagery.ingest import IngestError, Scene, ingest, reference_scene
from detect.imagery.register import Registration, warp_gray, warp_valid


def load_pair(reference: Path, target: Path) -> tuple[Scene, Scene]:
    """The reference on its own grid and the target reprojected onto it."""
    ref = reference_scene(reference)
    if ref.grid.width < 32 or ref.grid.height < 32:
        raise IngestError(f"{reference} is {ref.grid.width} x {ref.grid.height} px: too small to "
                          "register (need at least 32 x 32)")
    return ref, ingest([target], ref.grid)


def write_registered(path: Path, ref: Scene, day: Scene, reg: Registration) -> None:
    """The target resampled onto the reference grid (uint8 RGB, 0 = nodata)."""
    shape = ref.grid.shape
    rgb = np.stack([warp_gray(b, reg.matrix, shape) for b in day.rgb])
    valid = warp_valid(day.valid, reg.matrix, shape)
    out = np.clip(np.round(rgb), 1, 255).astype(np.uint8)
    out[:, ~valid] = 0
    write_cog(path, out, ref.grid.transform, ref.grid.crs, nodata=0)


def compare(before: Path, after: Path) -> tuple[Scene, Aligned, Change]:
    ref, day = load_pair(before, after)
    aligned = align(ref, day)
    return ref, aligned, detect_change(ref.rgb, aligned.rgb, aligned.valid, aligned.cloud,
                                       ref.grid)


def write_score(path: Path, result: Change) -> None:
    """The change score as a float32 COG (NaN where unknown)."""
    write_cog(path, result.score[None].astype(np.float32), result.grid.transform,
              result.grid.crs, nodata=float("nan"))


def regions_geojson(result: Change) -> dict:
    """Change regions as a WGS84 FeatureCollection with their ground area and mean score."""
    features = [{"type": "Feature",
                 "properties": {"area_m2": round(r.area_m2, 1), "score": round(r.score, 3)},
                 "geometry": oriented(reproject_geometry(r.polygon, result.grid.crs, WGS84, 7))}
                for r in result.regions]
    return {"type": "FeatureCollection", "features": features}
