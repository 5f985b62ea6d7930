"""Sliced oriented-box detection with the project's weights, on real and synthetic rasters."""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.warp import Resampling, calculate_default_transform, reproject

from detect.cli import main
from detect.detector.airbus import read_labels
from detect.detector.model import DEFAULT_WEIGHTS, load_model, onnx_twin, read_card
from detect.detector.slicing import SliceConfig, detect_raster, merge_seams
from detect.find import find_objects
from detect.synth.shapes import paste, render_sprite, shape_for
from tests.rasters import UTM, airbus_rgb, write_tif

IMAGE = "0263270b-e3ee-41dc-aeef-43ff77e66d5b.jpg"


def test_real_image_finds_its_labelled_aircraft(airbus, tmp_path):
    item = read_labels(airbus)[IMAGE]
    path = write_tif(tmp_path / "real.tif", airbus_rgb(airbus, IMAGE))
    out = tmp_path / "found.geojson"
    result = CliRunner().invoke(main, ["aircraft", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    feats = json.loads(out.read_text())["features"]
    with rasterio.open(path) as ds:
        centres = [~ds.transform @ tuple(np.mean(_utm(f), axis=0)) for f in feats
                   if f["properties"]["class"] == "aircraft"]
    found = 0
    for x0, y0, x1, y1 in item.boxes[~item.truncated]:
        found += any(x0 <= cx <= x1 and y0 <= cy <= y1 for cx, cy in centres)
    assert found >= 0.9 * (~item.truncated).sum(), (found, len(item.boxes))
    props = feats[0]["properties"]
    assert {"class", "confidence", "length_m", "width_m", "heading_deg", "type",
            "type_confidence", "type_alternatives", "type_likeliest", "type_evidence"} <= set(props)


def _utm(feature):
    from detect.geo import transform_xy

    ring = np.asarray(feature["geometry"]["coordinates"][0][:4])
    x, y = transform_xy("EPSG:4326", UTM, ring[:, 0], ring[:, 1])
    return np.column_stack([x, y])


def _scene(names_at, size=1400, gsd=0.5):
    """Synthetic apron with aircraft at given pixel positions, as (3, rows, cols) uint8."""
    rng = np.random.default_rng(0)
    img = np.full((size, size, 3), 0.6, np.float32)
    img *= 1 + 0.03 * rng.standard_normal((size, size, 1)).astype(np.float32)
    for name, (col, row), heading in names_at:
        paste(img, render_sprite(shape_for(name), (col, row), heading, gsd, 150, 50))
    return (255 * np.clip(img, 0, 1) ** 0.625).astype(np.uint8).transpose(2, 0, 1)


def test_an_aircraft_cut_by_a_slice_seam_is_one_object(tmp_path):
    # slices are 640 px every 480 px: the first slice ends at column 640, right through it
    data = _scene([("An-124", (640, 300), 90.0)])
    path = write_tif(tmp_path / "seam.tif", data)
    with rasterio.open(path) as ds:
        objs = find_objects(ds, DEFAULT_WEIGHTS)
    planes = objs[objs.klass == "aircraft"]
    assert len(planes) == 1, planes.records()
    assert 60 < planes.length_m[0] < 85


def test_seam_pieces_of_one_aircraft_are_joined():
    whole = np.array([[100, 10], [260, 10], [260, 150], [100, 150]], float)
    left = np.array([[100, 12], [180, 12], [180, 148], [100, 148]], float)
    right = np.array([[175, 10], [260, 10], [260, 150], [175, 150]], float)
    keep, corners = merge_seams(np.stack([left, right]), np.array([0.9, 0.8]),
                                np.array(["aircraft", "aircraft"], object),
                                np.array([True, True]))
    assert len(keep) == 1
    assert np.allclose(corners[0].min(axis=0), whole.min(axis=0), atol=2)
    assert np.allclose(corners[0].max(axis=0), whole.max(axis=0), atol=2)


def test_geographic_and_web_mercator_copies_give_the_same_size(sample_base, tmp_path):
    src = sample_base / "drops" / "2026-11-20" / "tile_1.tif"
    lengths = {}
    for crs in ("EPSG:32636", "EPSG:4326", "EPSG:3857"):
        path = tmp_path / f"{crs[5:]}.tif"
        with rasterio.open(src) as ds:
            data = ds.read()
            if crs == "EPSG:32636":
                t, out = ds.transform, data
            else:
                t, w, h = calculate_default_transform(ds.crs, crs, ds.width, ds.height,
                                                      *ds.bounds)
                out = np.zeros((3, h, w), np.uint8)
                reproject(data, out, src_transform=ds.transform, src_crs=ds.crs,
                          dst_transform=t, dst_crs=crs, resampling=Resampling.bilinear,
                          src_nodata=0, dst_nodata=0)
        write_tif(path, out, crs=crs, transform=t, nodata=0)
        with rasterio.open(path) as ds:
            objs = find_objects(ds, DEFAULT_WEIGHTS)
        planes = objs[objs.klass == "aircraft"]
        lonlat = planes.lonlat().mean(axis=1)
        order = np.lexsort((np.round(lonlat[:, 1], 4), np.round(lonlat[:, 0], 3)))
        lengths[crs] = np.array([max(r["length_m"], r["span_m"]) for r in
                                 planes.records()])[order]
    base = lengths["EPSG:32636"]
    assert len(base) >= 3
    # a resampled copy is another image to the detector, whose box may move by a few percent
    # (and a near-square aircraft may be read across in one copy, so its larger figure is
    # compared); a size taken in map units would be off by 23% in EPSG:3857 here (35 N), and
    # far more in degrees
    for crs in ("EPSG:4326", "EPSG:3857"):
        assert len(lengths[crs]) == len(base), lengths
        assert np.all(np.abs(lengths[crs] / base - 1) <= 0.06), lengths


def test_pixel_image_needs_gsd_and_then_reports_pixel_coordinates(tmp_path):
    import cv2

    png = tmp_path / "screenshot.png"
    cv2.imwrite(str(png), _scene([("An-124", (300, 300), 0.0)], size=600).transpose(1, 2, 0))
    result = CliRunner().invoke(main, ["aircraft", str(png)])
    assert result.exit_code == 1 and "--gsd" in result.output
    result = CliRunner().invoke(main, ["aircraft", str(png), "--gsd", "0.5"])
    assert result.exit_code == 0, result.output
    collection = json.loads(result.output)
    assert collection["coordinates"] == "pixel"
    ring = np.asarray(collection["features"][0]["geometry"]["coordinates"][0])
    assert 200 < ring[:, 0].mean() < 400 and 200 < ring[:, 1].mean() < 400


def test_16_bit_single_band_images_are_handled(tmp_path):
    gray = _scene([("An-124", (300, 300), 45.0)], size=600).mean(axis=0)
    path = write_tif(tmp_path / "g16.tif", (gray * 50).astype(np.uint16))
    result = CliRunner().invoke(main, ["aircraft", str(path)])
    assert result.exit_code == 0, result.output
    assert any(f["properties"]["class"] == "aircraft"
               for f in json.loads(result.output)["features"])


@pytest.mark.parametrize("case", ["missing", "corrupt"])
def test_bad_weights_give_a_clear_error(tmp_path, case):
    path = write_tif(tmp_path / "a.tif", _scene([], size=300))
    weights = tmp_path / "w.pt"
    if case == "corrupt":
        weights.write_bytes(b"not a checkpoint")
    result = CliRunner().invoke(main, ["aircraft", str(path), "--weights", str(weights)])
    assert result.exit_code == 1 and "weights" in result.output
    assert "Traceback" not in result.output


def test_aoi_outside_the_image_is_an_error(tmp_path):
    path = write_tif(tmp_path / "a.tif", _scene([], size=300))
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "Polygon", "coordinates": [[[10, 10], [10.1, 10],
                                                                    [10.1, 10.1], [10, 10]]]}))
    result = CliRunner().invoke(main, ["aircraft", str(path), "--aoi", str(aoi)])
    assert result.exit_code == 1 and "AOI does not overlap" in result.output


def test_slices_cover_the_region_with_overlap():
    from rasterio.windows import Window

    from detect.detector.slicing import slice_windows

    cfg = SliceConfig()
    wins = slice_windows(Window(0, 0, 2000, 1000), cfg.size - cfg.overlap, cfg.size)
    cols = sorted({w.col_off for w in wins})
    assert cols[0] == 0 and cols[-1] + cfg.size == 2000
    assert all(b - a <= cfg.size - cfg.overlap for a, b in zip(cols, cols[1:], strict=False))


@pytest.mark.train
@pytest.mark.parametrize("conf", [0.25, 0.05])
def test_onnxruntime_decoding_gives_the_pytorch_detections(sample_base, tmp_path, conf):
    pt = DEFAULT_WEIGHTS.with_suffix(".pt")
    assert onnx_twin(pt) == DEFAULT_WEIGHTS
    plain = tmp_path / pt.name  # the same weights without a twin: PyTorch through Ultralytics
    shutil.copyfile(pt, plain)
    assert onnx_twin(plain) is None
    found = []
    for weights in (DEFAULT_WEIGHTS, plain):
        with rasterio.open(sample_base / "drops" / "2026-11-21" / "tile_1.tif") as ds:
            found.append(detect_raster(ds, load_model(str(weights)), cfg=SliceConfig(conf=conf)))
    onnx, torch = found
    assert len(onnx) == len(torch) >= 5
    order = [np.lexsort(o.corners.mean(axis=1).T) for o in found]
    assert np.abs(onnx.corners[order[0]] - torch.corners[order[1]]).max() < 0.1  # map metres
    assert np.abs(onnx.confidence[order[0]] - torch.confidence[order[1]]).max() < 0.01
    assert (onnx.klass[order[0]] == torch.klass[order[1]]).all()


@pytest.mark.skipif(find_spec("ultralytics") is not None,
                    reason="the runtime install (no [train] extra) is what this checks")
def test_training_commands_in_the_runtime_install_name_the_extra(sample_base, tmp_path):
    plain = tmp_path / "w.pt"  # PyTorch weights without an ONNX twin
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".pt"), plain)
    tile = sample_base / "drops" / "2026-11-21" / "tile_1.tif"
    for args in (["train", "--base", str(plain), "--data", str(tmp_path)],
                 ["train-side", "--data", str(tmp_path)],
                 ["train-appearance", "--data", str(tmp_path), "--crops", str(tmp_path)],
                 ["eval", "--data", str(tmp_path), "--weights", str(plain)],
                 ["aircraft", str(tile), "--weights", str(plain)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, result.output
        assert "pip install 'detect[train]'" in result.output
        assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_a_stale_onnx_twin_is_never_run(tmp_path):
    for suffix in (".pt", ".onnx"):
        shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(suffix), tmp_path / f"w{suffix}")
    card = read_card(DEFAULT_WEIGHTS)
    (tmp_path / "w.json").write_text(json.dumps(card))
    assert onnx_twin(tmp_path / "w.pt") == tmp_path / "w.onnx"
    card["onnx"]["exported_from_sha256"] = "0" * 64  # exported from other weights
    (tmp_path / "w.json").write_text(json.dumps(card))
    assert onnx_twin(tmp_path / "w.pt") is None
