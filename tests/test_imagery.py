"""Ingest, co-registration, normalisation and change on real GeoTIFFs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject

from detect.cli import main
from detect.grid import Grid
from detect.imagery import normalise
from detect.imagery.align import RegistrationError, align
from detect.imagery.change import detect_change, fraction_in, fraction_of_object, likeness
from detect.imagery.compare import compare, load_pair
from detect.imagery.ingest import drop_files, ingest, reference_scene
from detect.imagery.register import register
from detect.track import TrackParams
from tests.rasters import (
    ORIGIN,
    UTM,
    airbus_rgb,
    change_on_pair,
    labelled_pairs,
    pair_labels,
    same_footprint_pairs,
    transformed,
    write_tif,
)

IMAGE = "0263270b-e3ee-41dc-aeef-43ff77e66d5b.jpg"


@pytest.fixture(scope="module")
def real_ref(airbus, tmp_path_factory):
    rgb = airbus_rgb(airbus, IMAGE, size=1536)
    return rgb, write_tif(tmp_path_factory.mktemp("ref") / "ref.tif", rgb)


def test_known_shifts_on_real_imagery_are_recovered_to_a_tenth_of_a_pixel(real_ref, tmp_path):
    rgb, ref_path = real_ref
    rng = np.random.default_rng(4)
    errors, rot_errors = [], []
    for k in range(5):
        shift = rng.uniform(-60, 60, 2)
        rot = rng.uniform(-1, 1)
        img, true = transformed(rgb, shift, rot, rng.uniform(0.7, 1.3), rng.uniform(-30, 30),
                                rng)
        path = write_tif(tmp_path / f"t{k}.tif", img, nodata=0)
        result = CliRunner().invoke(main, ["register", str(ref_path), str(path)])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["success"]
        errors.append(np.hypot(*(np.array(report["shift_px"]) - true)))
        rot_errors.append(abs(report["rotation_deg"] - rot))
    assert np.median(errors) <= 0.1 and max(errors) <= 0.2, errors
    assert max(rot_errors) <= 0.02, rot_errors


def test_real_multi_date_pairs_register_within_half_a_pixel(airbus, tmp_path):
    for row in same_footprint_pairs(airbus)[:4]:
        a = write_tif(tmp_path / "a.tif", airbus_rgb(airbus, row["image_a"]))
        b = write_tif(tmp_path / "b.tif", airbus_rgb(airbus, row["image_b"]))
        ref, day = load_pair(a, b)
        report = register(ref.gray, ref.valid, day.gray, day.valid).report()
        assert report["success"] and report["residual_rmse_px"] <= 0.5, (row, report)


def test_real_pairs_flag_the_aircraft_that_came_or_went_and_little_else(airbus, tmp_path):
    total = found = 0
    flagged = []
    for row in labelled_pairs(airbus, same_footprint_pairs(airbus)[::4]):  # 21 pairs
        a = write_tif(tmp_path / "a.tif", airbus_rgb(airbus, row["image_a"]))
        b = write_tif(tmp_path / "b.tif", airbus_rgb(airbus, row["image_b"]))
        _, aligned, change = compare(a, b)
        labels = pair_labels(airbus, row["image_a"], row["image_b"],
                             aligned.registration.matrix)
        t, f, fl = change_on_pair(labels, change)
        total, found = total + t, found + f
        flagged.append(fl)
    assert total > 20 and found >= 0.9 * total
    assert np.median(flagged) < 0.05


def test_another_airliner_at_the_gate_is_unlike_the_one_that_left(airbus, tmp_path):
    """A real pair (Airbus 90c365f8 and eeb3f271, looked at by eye): at one gate a white
    airliner gave way to a blue-bodied one whose labelled box is within 7% of its size, at
    another a smaller airliner took a larger one's place; two others stayed, their shadows
    moved. Over the two dates' boxes, the images of the first two correlate under
    `alike_min` in grey level (0.33 and 0.17) and under `alike_colour_min` in colour (0.39
    and 0.16), those of the last two over `alike_min` (0.79 and 0.58)."""
    ids = ("90c365f8-18b6-4230-be74-cd856a1ba98f.jpg",
           "eeb3f271-15f5-4977-a921-f4636efc6434.jpg")
    ref, aligned, _ = compare(*(write_tif(tmp_path / i, airbus_rgb(airbus, i)) for i in ids))
    ba, bb, _, _ = pair_labels(airbus, *ids, aligned.registration.matrix)

    def alike(x, y):  # over both dates' labelled boxes nearest (x, y) on date a
        boxes = [bx[np.argmin(np.hypot(*((bx[:, :2] + bx[:, 2:]) / 2 - (x, y)).T))]
                 for bx in (ba, bb)]
        (x0, y0), (x1, y1) = np.min([q[:2] for q in boxes], 0), np.max([q[2:] for q in boxes], 0)
        return likeness(ref.rgb, aligned.rgb, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))

    swapped = [alike(530, 857), alike(1764, 392)]
    stayed = [alike(1868, 141), alike(797, 990)]
    tp = TrackParams()
    assert all(g < tp.alike_min and c < tp.alike_colour_min for g, c in swapped), swapped
    assert all(g > tp.alike_min for g, _ in stayed), stayed


def test_drop_in_another_crs_is_reprojected_not_rejected(real_ref, tmp_path):
    rgb, ref_path = real_ref
    src_t = from_origin(*ORIGIN, 0.5, 0.5)
    dst_t, w, h = calculate_default_transform(UTM, "EPSG:3857", rgb.shape[2], rgb.shape[1],
                                              *rasterio.transform.array_bounds(
                                                  rgb.shape[1], rgb.shape[2], src_t))
    out = np.zeros((3, h, w), np.uint8)
    reproject(rgb, out, src_transform=src_t, src_crs=UTM, dst_transform=dst_t,
              dst_crs="EPSG:3857", resampling=Resampling.cubic, dst_nodata=0)
    merc = write_tif(tmp_path / "merc.tif", out, crs="EPSG:3857", transform=dst_t, nodata=0)
    ref, day = load_pair(ref_path, merc)
    report = register(ref.gray, ref.valid, day.gray, day.valid).report()
    assert report["success"]
    assert np.hypot(*report["shift_px"]) < 0.5 and abs(report["rotation_deg"]) < 0.05


def test_tiles_mosaic_onto_the_base_grid(real_ref, tmp_path):
    rgb, ref_path = real_ref
    t = from_origin(*ORIGIN, 0.5, 0.5)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_tif(drop / "a.tif", rgb[:, :, :900], transform=t, nodata=0)
    write_tif(drop / "b.tif", rgb[:, :, 700:], transform=t @ rasterio.Affine.translation(700, 0),
              nodata=0)
    ref = reference_scene(ref_path)
    day = ingest(drop_files(drop), ref.grid)
    assert day.valid.all()
    assert np.abs(day.rgb - rgb).max() <= 1
    assert [s["file"] for s in day.sources] == ["a.tif", "b.tif"]


def test_single_band_and_16_bit_drops_are_read_as_rgb(real_ref, tmp_path):
    rgb, ref_path = real_ref
    ref = reference_scene(ref_path)
    gray16 = (rgb.mean(axis=0) * 40).astype(np.uint16)
    day = ingest([write_tif(tmp_path / "g.tif", gray16)], ref.grid)
    assert day.rgb.shape == (3, *ref.grid.shape) and day.rgb.max() <= 255
    assert np.corrcoef(day.rgb[0].ravel(), rgb.mean(axis=0).ravel())[0, 1] > 0.99


def test_bad_inputs_give_clear_errors(real_ref, tmp_path):
    rgb, ref_path = real_ref
    far = write_tif(tmp_path / "far.tif", rgb, transform=from_origin(600000, 4000000, 0.5, 0.5))
    tiny = write_tif(tmp_path / "tiny.tif", rgb[:, :1, :1])
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00" + b"\x00" * 64)
    empty = write_tif(tmp_path / "empty.tif", np.zeros_like(rgb), nodata=0)
    cases = {far: "does not overlap", corrupt: "cannot read", empty: "no valid pixels"}
    for target, message in cases.items():
        result = CliRunner().invoke(main, ["register", str(ref_path), str(target)])
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["register", str(tiny), str(ref_path)])
    assert result.exit_code == 1 and "too small" in result.output


def test_fully_clouded_day_fails_registration_cleanly(real_ref, tmp_path):
    rgb, ref_path = real_ref
    cloud = np.full_like(rgb, 250)
    cloud += np.random.default_rng(0).integers(0, 3, cloud.shape, dtype=np.uint8)
    path = write_tif(tmp_path / "cloud.tif", cloud)
    ref, day = load_pair(ref_path, path)
    with pytest.raises(RegistrationError, match="registration failed"):
        align(ref, day)
    result = CliRunner().invoke(main, ["change", str(ref_path), str(path)])
    assert result.exit_code == 1 and "registration failed" in result.output


def test_normalisation_recovers_gain_and_offset_despite_changes():
    rng = np.random.default_rng(0)
    ref = rng.uniform(20, 200, (3, 200, 200)).astype(np.float32)
    day = ref * np.array([1.2, 0.9, 1.1])[:, None, None] + np.array([-10, 5, 20])[:, None, None]
    day[:, :40, :40] = 255  # a changed area
    n = normalise.fit(day, ref, np.ones((200, 200), bool))
    assert np.allclose(n.gain, 1 / np.array([1.2, 0.9, 1.1]), atol=0.01)
    assert np.abs(n.apply(day)[:, 50:, 50:] - ref[:, 50:, 50:]).max() < 1.5


def test_change_finds_arrivals_and_keeps_clouds_unknown(sample_base, sample_truth):
    ref = reference_scene(sample_base / "reference.tif")
    day3 = sample_truth["days"][2]
    day = ingest(drop_files(sample_base / "drops" / day3["date"]), ref.grid)
    aligned = align(ref, day)
    assert aligned.cloud_fraction > 0.02
    result = detect_change(ref.rgb, aligned.rgb, aligned.valid, aligned.cloud, ref.grid)
    assert not (result.mask & result.unknown).any()
    grid: Grid = ref.grid
    for obj in day3["objects"]:
        col, row = grid.to_pixel(obj["x"], obj["y"])
        r, c = int(row), int(col)
        if obj["visible"]:
            assert result.mask[r - 3:r + 4, c - 3:c + 4].any(), obj["type"]
        else:
            assert result.unknown[r, c], obj["type"]
    apron_free = result.mask[600:640, 100:140]  # bare apron, far from every stand
    assert apron_free.mean() < 0.05


def test_haze_over_part_of_the_day_is_not_change_but_an_object_under_it_is(sample_base):
    ref = reference_scene(sample_base / "reference.tif")
    rows, cols = ref.grid.shape
    haze = np.linspace(0, 50, cols, dtype=np.float32)[None, None, :]  # thickening eastwards
    rng = np.random.default_rng(3)
    day = np.clip(ref.rgb * (1 - haze / 400) + haze + rng.normal(0, 2, ref.rgb.shape), 0, 255)
    r, c = rows // 2, cols - 150
    day[:, r:r + 10, c:c + 40] = 120  # a 20 x 5 m vehicle in the haziest part
    valid = ref.valid.copy()
    result = detect_change(ref.rgb, day.astype(np.float32), valid, np.zeros_like(valid), ref.grid)
    assert result.mask[r:r + 10, c:c + 40].mean() > 0.8
    result.mask[r - 10:r + 20, c - 10:c + 50] = False
    assert result.mask[valid].mean() < 0.005


def test_change_at_an_object_is_measured_on_its_own_pixels_not_its_box(sample_base):
    """A pale aircraft that left fills a sixth of its box: over the box the change is under
    the level that counts as change, over the aircraft's own pixels (those that stood out on
    either day) it is well over it; an aircraft that stayed shows none."""
    ref = reference_scene(sample_base / "reference.tif")
    rng = np.random.default_rng(5)
    before = np.clip(ref.rgb + rng.normal(0, 2, ref.rgb.shape), 0, 255).astype(np.float32)
    r, c = 600, 600
    box = np.array([[c - 5, r - 5], [c + 85, r - 5], [c + 85, r + 85], [c - 5, r + 85]], float)
    for dc in (0, 200):  # two aircraft: a 40 m fuselage and a 40 m wing, 4 m wide, pale
        before[:, r + 36:r + 44, c + dc:c + dc + 80] += 13
        before[:, r:r + 80, c + dc + 30:c + dc + 38] += 13
    after = np.clip(ref.rgb + rng.normal(0, 2, ref.rgb.shape), 0, 255).astype(np.float32)
    after[:, :, c + 190:c + 290] = before[:, :, c + 190:c + 290]  # the second one stayed
    valid = ref.valid.copy()
    change = detect_change(before, after, valid, np.zeros_like(valid), ref.grid)
    days = [before, after]
    changed_at = TrackParams().changed_at
    assert fraction_in(change.faint, box) < changed_at
    assert fraction_of_object(change.faint, box, days) > 3 * changed_at
    assert fraction_of_object(change.faint, box + [200, 0], days) < 0.02


def test_a_thin_object_is_change_whether_it_came_or_went(sample_base):
    """A thing three pixels wide (a fighter's fuselage at 1 m per pixel) is as much change when
    it leaves as when it arrives: the one-pixel misregistration tolerance must not match the
    place it left to the apron beside it."""
    ref = reference_scene(sample_base / "reference.tif")
    rng = np.random.default_rng(7)
    empty = np.clip(ref.rgb + rng.normal(0, 2, ref.rgb.shape), 0, 255).astype(np.float32)
    with_it = empty.copy()
    r, c = 600, 600
    with_it[:, r:r + 3, c:c + 40] += 30
    valid = ref.valid.copy()
    none = np.zeros_like(valid)
    came = detect_change(empty, with_it, valid, none, ref.grid)
    went = detect_change(with_it, empty, valid, none, ref.grid)
    assert came.faint[r:r + 3, c:c + 40].mean() > 0.8
    assert went.faint[r:r + 3, c:c + 40].mean() > 0.8


def test_a_registered_day_is_the_same_before_and_after_the_detector_is_loaded(sample_base):
    """Loading the detector may set OpenCV's threads: the first run in a process (which
    registers before it loads the detector) must give the figures of any later one."""
    code = (
        "import hashlib, sys\n"
        "from pathlib import Path\n"
        "from detect.imagery.align import align\n"
        "from detect.imagery.ingest import drop_files, ingest, reference_scene\n"
        "base = Path(sys.argv[1])\n"
        "ref = reference_scene(base / 'reference.tif')\n"
        "day = ingest(drop_files(base / 'drops' / '2026-11-21'), ref.grid)\n"
        "print(hashlib.sha256(align(ref, day).rgb.tobytes()).hexdigest())\n")
    loaded = ("from detect.detector.model import DEFAULT_WEIGHTS, load_model\n"
              "load_model(str(DEFAULT_WEIGHTS))\n")
    first, later = (subprocess.run([sys.executable, "-c", pre + code, str(sample_base)],
                                   capture_output=True, text=True, check=True).stdout
                    for pre in ("", loaded))
    assert first == later
