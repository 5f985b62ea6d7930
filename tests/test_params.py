"""Tuned values live in the stages' frozen parameter objects, passed in, not in module globals."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from rasterio.transform import from_origin

from detect.grid import Grid
from detect.identify.match import MatchParams
from detect.identify.measure import MeasureParams
from detect.identify.sightings import SightingParams
from detect.imagery.change import ChangeParams, detect_change
from detect.imagery.normalise import NormaliseParams
from detect.imagery.register import RegisterParams
from detect.track import TrackParams

PACKAGE = Path(__file__).resolve().parents[1] / "detect"
PARAMS = (ChangeParams, MatchParams, MeasureParams, NormaliseParams, RegisterParams,
          SightingParams, TrackParams)
# Numeric module globals that decide nothing about the imagery: facts of the weights and of
# Ultralytics' post-processing (kept equal for the two inference paths), formats, resources,
# sentinels, the picture sizes and the synthetic renderer's scene.
FIXED = {
    "daily.py": {"ZONE_MARGIN_M"},  # how much imagery around the zones is kept
    "detector/model.py": {"FALLBACK_CONF", "MODEL_GSD", "MODEL_IMGSZ"},
    "detector/onnx_obb.py": {"IOU", "MAX_DET", "MAX_NMS", "CLASS_OFFSET", "PAD_VALUE"},
    "detector/slicing.py": {"CACHE_MB", "MASK_PX"},
    "identify/side.py": {"LOOK_PX", "LOOK_SPAN"},  # the side model's input, fixed by its weights
    "identify/appearance.py": {"LOOK_PX", "LOOK_SPAN"},  # the look model's input, likewise
    "identify/trials.py": {"GSDS", "SCALE_ERROR", "ORIGIN"},  # the real crops' protocol (#34)
    "geotiff.py": {"DEFLATE_LEVEL"},
    "history.py": {"BUSY_TIMEOUT_S"},
    "imagery/ingest.py": {"BLOCK_ROWS"},
    "report/build.py": {"SCHEMA_VERSION"},
    "tracked.py": {"NAMED_AT"},  # the confidence a report names a type at: the contract's bar
    "report/html.py": {"OVERLAY_WIDTH"},
    "synth/scene.py": {"CORE_M"},
    "synth/series.py": {"MAX_SHIFT_M", "MAX_ROTATION_DEG", "CLOUD_DAY"},
    "synth/shapes.py": {"SUPERSAMPLE"},
    "track.py": {"INFEASIBLE"},
}


def _numeric(value: ast.expr) -> bool:
    try:
        v = ast.literal_eval(value)
    except ValueError:
        return False
    items = v if isinstance(v, tuple) else (v,)
    return bool(items) and all(isinstance(x, int | float) and not isinstance(x, bool)
                               for x in items)


def numeric_globals(path: Path) -> set[str]:
    """The names a module binds at its top level to a number (or a tuple of numbers)."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else \
            node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and node.value is not None and _numeric(node.value):
            out.add(target.id)
    return out


def test_no_tuned_number_is_a_module_global():
    found = {str(p.relative_to(PACKAGE)): names for p in sorted(PACKAGE.rglob("*.py"))
             if (names := numeric_globals(p))}
    stray = {m: sorted(left) for m, n in found.items() if (left := n - FIXED.get(m, set()))}
    assert not stray, f"tuned values belong in a parameter object: {stray}"
    stale = {m: sorted(gone) for m, n in FIXED.items() if (gone := n - found.get(m, set()))}
    assert not stale, stale


@pytest.mark.parametrize("params", PARAMS, ids=lambda c: c.__name__)
def test_parameter_objects_are_frozen_with_every_default_set(params):
    default = params()
    assert dataclasses.is_dataclass(default) and params.__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(default, dataclasses.fields(params)[0].name, 0)


def test_change_params_passed_in_decide_what_is_change():
    rng = np.random.default_rng(0)
    grid = Grid("EPSG:32636", from_origin(500000, 4000000, 0.5, 0.5), 256, 256)
    ref = np.clip(100 + rng.normal(0, 3, (3, 256, 256)), 0, 255).astype(np.float32)
    day = ref + rng.normal(0, 1, ref.shape).astype(np.float32)
    day[:, 100:130, 100:140] += 60  # a 15 x 20 m bright object arrived
    known, unknown = np.ones((256, 256), bool), np.zeros((256, 256), bool)
    assert len(detect_change(ref, day, known, unknown, grid).regions) == 1
    stricter = ChangeParams(min_region_m2=400.0)  # larger than the object: a speck
    assert detect_change(ref, day, known, unknown, grid, stricter).regions == []
