"""Cut the fixtures of this folder out of a synthetic series: `python cut.py SERIES` where
SERIES is the output of `detect synth` (seed 200, 1.0 m per pixel, 10 days) after `detect run`
on each of its drops (bench/run's `_series` and `_run_series` make it). For each case, 80 m
windows of the day's registered image and of the reference around the detector's box, and the
box and the truth in `cases.json`."""

import json
import sys
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from detect.geo import transform_xy

CASES = (("2026-11-27", "n7"), ("2026-11-28", "c1"))  # An-30 and An-26, nose south
HALF_M = 40.0


def _box(folder: Path, crs: str, x: float, y: float) -> np.ndarray:
    """Corners (map coordinates) of the detection nearest (x, y)."""
    det = json.loads((folder / "detections.geojson").read_text())
    boxes = []
    for f in det["features"]:
        ring = np.asarray(f["geometry"]["coordinates"][0][:4])
        bx, by = transform_xy("EPSG:4326", crs, ring[:, 0], ring[:, 1])
        boxes.append(np.column_stack([bx, by]))
    return min(boxes, key=lambda b: np.hypot(*(b.mean(axis=0) - (x, y))))


def _cut(src: Path, dst: Path, x: float, y: float) -> None:
    with rasterio.open(src) as ds:
        row, col = ds.index(x - HALF_M, y + HALF_M)
        n = int(2 * HALF_M / ds.res[0])
        win = Window(col, row, n, n)
        untiled = {k: v for k, v in ds.profile.items() if k not in ("blockxsize", "blockysize")}
        profile = untiled | {"width": n, "height": n, "transform": ds.window_transform(win),
                             "tiled": False, "compress": "deflate"}
        with rasterio.open(dst, "w", **profile) as out:
            out.write(ds.read(window=win))


def main(series: Path) -> None:
    here = Path(__file__).parent
    truth = json.loads((series / "truth.json").read_text())
    cases = []
    for date, oid in CASES:
        day = next(d for d in truth["days"] if d["date"] == date)
        o = next(o for o in day["objects"] if o["id"] == oid)
        folder = series / "reports" / date
        box = _box(folder, truth["crs"], o["x"], o["y"])
        name = f"{o['type']}-{date}"
        _cut(folder / "image.tif", here / f"{name}.tif", o["x"], o["y"])
        _cut(series / "reference.tif", here / f"{name}-reference.tif", o["x"], o["y"])
        cases.append({"name": name, "type": o["type"], "heading_deg": o["heading_deg"],
                      "box": box.round(3).tolist()})
    (here / "cases.json").write_text(json.dumps({"crs": truth["crs"], "cases": cases}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
