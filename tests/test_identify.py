"""The catalogue, silhouette measurement on rendered aircraft, and type matching."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio

from detect.identify.appearance import APPEARANCE_WEIGHTS, CLASSES, look_class, looks_like
from detect.identify.appearance_train import appearance_look
from detect.identify.calibration import KEY, Calibration, fit, of_model
from detect.identify.catalogue import get_type, load_catalogue
from detect.identify.match import MatchParams, identify, look_odds, site_prior
from detect.identify.measure import Measurement, extents, measure, radome, sweep_sigma
from detect.identify.objects import identified
from detect.identify.side import along_long_side
from detect.identify.side_train import SideOptions, rendered_looks
from detect.identify.sightings import follow
from detect.objects import Objects
from detect.synth.shapes import shape_for
from detect.tracked import TrackedObject
from tests.rasters import measure_rendered

PALE = Path(__file__).parent / "data" / "pale-transports"
MILITARY = site_prior(field="military")  # the renderer's bases are military fields
RAW = Calibration()  # the identity: the identification's own probabilities


def test_catalogue_has_sourced_rows_and_the_reference_figures():
    cat = load_catalogue()
    assert len(cat) >= 35
    assert all(t.source.strip() for t in cat.values())
    for name, length, span in [("An-124", 69.1, 73.3), ("Il-76", 46.6, 50.5),
                               ("An-26", 23.8, 29.2), ("Su-34", 23.3, 14.7),
                               ("Tu-154", 47.9, 37.6), ("C-17", 53.0, 51.8),
                               ("C-130", 29.8, 40.4), ("Mi-8", 18.2, 21.3)]:
        assert (cat[name].length_m, cat[name].span_m) == (length, span)
    for name in ["Il-78", "A-50", "Su-30SM", "Su-35", "MiG-31", "Ka-52", "Mi-26", "B747"]:
        assert name in cat
    swing = {t.name: (t.swept_span_m, t.swept_deg) for t in cat.values() if t.swept_span_m}
    assert swing == {"Tu-160": (35.6, 65), "Tu-22M3": (23.3, 65), "Su-24": (10.4, 69)}
    assert all("swept" in cat[name].source for name in swing)


def _m(length, span, sweep=None, sigma=0.6):
    return Measurement(length, span, 0.0, sigma, True, sweep)


def test_an124_and_il76_are_never_confused():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = identify(_m(69.1 + rng.normal(0, 0.8), 73.3 + rng.normal(0, 0.8),
                        32 + rng.normal(0, 2)), "aircraft")
        b = identify(_m(46.6 + rng.normal(0, 0.8), 50.5 + rng.normal(0, 0.8),
                        25 + rng.normal(0, 2)), "aircraft")
        assert a.type == "An-124"
        # a sweep a few degrees over the Il-76's fits a Tu-95 (35 deg) about as well: both
        assert "Il-76" in b.type.split(" or ") and "An-124" not in b.type, b


def test_indistinguishable_types_are_reported_as_their_family():
    r = identify(_m(21.9, 14.9), "aircraft")
    assert r.level == "family" and r.type == "Flanker"
    assert "cannot be told apart" in r.evidence and "Su-27" in r.evidence


def test_an_object_far_from_every_type_is_unknown_with_its_measurements():
    r = identify(_m(120.0, 12.0), "aircraft")
    assert r.type == "unknown" and r.level == "unknown"
    assert "length 120.0 m" in r.evidence


def test_an_aircraft_read_across_that_fits_nothing_is_identified_the_other_way_round():
    """A Su-34 whose fuselage's side of the box was misread (14.7 m long, 23.3 m span) fits no
    type; read the other way it is named, its figures turned with it, and its evidence says
    so. One that fits a type as measured is left as it is."""
    across = Measurement(14.7, 23.3, 30.0, 0.6, True, sweep_deg=20.0, pixel_m=1.0)
    assert identify(across, "aircraft", MILITARY).type == "unknown"
    m, ident = identified(across, "aircraft", MILITARY)
    assert "Su-34" in ident.type.split(" or ") and "read across" in ident.evidence
    assert (m.length_m, m.span_m, m.heading_deg, m.sweep_deg) == (23.3, 14.7, 120.0, None)
    along = Measurement(23.3, 14.7, 30.0, 0.6, True, pixel_m=1.0)
    assert identified(along, "aircraft", MILITARY)[0] is along


def test_figures_that_fit_several_types_about_as_well_are_a_guess_that_says_so():
    """An An-124 cut by the drop's edge on its first day: its fuselage not told from the grey
    apron, the box's figures stand with a wide uncertainty, and several types fit about as
    well. The answer is the best call at its low probability, its evidence says so and names
    the candidates, and no summary names it (`detect.tracked.label` asks 0.8)."""
    r = identify(_m(62.8, 65.3, sigma=11.9), "aircraft")
    assert r.type != "unknown" and r.confidence < 0.5, r
    assert "fits several types about as well" in r.evidence
    for name in ("A330", "A350-900", "An-124"):
        assert name in r.evidence
    sure = identify(_m(69.1, 73.3, sigma=1.0), "aircraft")
    assert sure.type == "An-124" and "fits several" not in sure.evidence


def test_an_answer_lists_the_two_likeliest_types_it_does_not_name():
    """`type_alternatives`: the next two types by probability, never one the answer already
    names (a family's members, either family of an "A or B"), each less likely than it."""
    cat = load_catalogue()
    for figures in ((69.1, 73.3), (46.6, 50.5), (21.9, 14.7), (62.8, 65.3, None, 11.9)):
        r = identify(_m(*figures), "aircraft")
        names = [a["type"] for a in r.alternatives]
        scores = [a["score"] for a in r.alternatives]
        assert len(names) == 2 and scores == sorted(scores, reverse=True), r
        assert not {cat[n].family for n in names} & set(r.type.split(" or ")), r
        assert all(s <= r.confidence for s in scores) or r.type == "unknown", r


def test_the_sites_types_and_field_weigh_the_call_without_forbidding_one():
    """A B737-900ER and a Tu-22M3 are the same size (42.1 x 35.8 and 42.5 x 34.3 m): a
    military field names the bomber, a civil one the airliner, a joint one both. A Su-24
    measured to its own figures is a Su-24 whatever the site expects."""
    tie = _m(42.3, 35.0, sigma=1.0)
    assert set(identify(tie, "aircraft").type.split(" or ")) == {"B737-900ER", "Tu-22M"}
    assert identify(tie, "aircraft", site_prior(field="military")).type == "Tu-22M3"
    assert identify(tie, "aircraft", site_prior(field="civil")).type == "B737-900ER"
    assert identify(tie, "aircraft", site_prior(field="joint")).level == "either"
    for prior in (site_prior(["Su-34", "An-124"]), site_prior(field="civil")):
        assert identify(_m(22.7, 17.6), "aircraft", prior).type == "Su-24"
    only = identify(_m(23.0, 16.0, sigma=1.0), "aircraft", site_prior(["Su-34"]))
    assert only.type == "Su-34", only
    assert identify(_m(17.0, 21.3), "helicopter", site_prior(["Mi-8"])).type == "Mi-8"


def test_common_airliners_at_an_airport_are_in_the_catalogue():
    cat = load_catalogue()
    for name in ("A319", "A320", "A321", "B737-700", "B737-800", "B737-900ER", "B757-200",
                 "B767-300ER", "B787-9", "A330", "A350-900", "B777", "E190", "CRJ900",
                 "ATR 72", "Dash 8-400", "G650"):
        assert cat[name].role in ("airliner", "business jet"), name
    las_vegas = identify(_m(33.6, 35.8, sigma=0.5), "aircraft", site_prior(field="civil"))
    assert "B737-700" in las_vegas.type.split(" or ")


def _scaled(name: str, factor: float, scale_sigma: float) -> Measurement:
    """A type's figures read at a pixel size off by `factor`, its sweep read true."""
    t = load_catalogue()[name]
    return Measurement(t.length_m * factor, t.span_m * factor, 0.0, 0.6, True, t.sweep_deg,
                       4.5, True, 0.5, scale_sigma)


def test_a_pixel_size_known_only_roughly_weighs_size_less_and_shape_more():
    military = site_prior(field="military")
    # an Il-76 read 13% large fits a Tu-160 by size alone: with the scale's error declared
    # that is no longer a confident call (the identification's own probability, uncalibrated)
    sure = identify(_scaled("Il-76", 1.13, 0.0), "aircraft", military, calibration=RAW)
    rough = identify(_scaled("Il-76", 1.13, 0.087), "aircraft", military, calibration=RAW)
    assert sure.type == "Tu-160" and sure.confidence >= 0.8
    assert rough.type != "Tu-160" and rough.confidence < 0.8
    # a Tu-22M3 read 10% large is an airliner by size; its sweep (read) names it
    assert identify(_scaled("Tu-22M3", 1.1, 0.0), "aircraft", military).type != "Tu-22M3"
    named = identify(_scaled("Tu-22M3", 1.1, 0.087), "aircraft", military)
    assert named.type == "Tu-22M3" and "scale +-9%" in named.evidence


def test_a_calibration_fitted_on_calls_recovers_how_often_they_were_right():
    """Calls whose probability overstates how often they are right (as on real imagery) give
    a map that brings them down: fitted on 2000 calls drawn under a known map, it recovers
    it, and calls at 0.9 come out at what they were right."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.99, 2000)
    truth = Calibration(0.6, 0.2)
    right = rng.uniform(size=p.size) < np.array([truth(x) for x in p])
    fitted = fit(p, right)
    assert abs(fitted.slope - 0.6) < 0.1 and abs(fitted.intercept - 0.2) < 0.15, fitted
    assert abs(fitted(0.9) - truth(0.9)) < 0.03
    assert RAW(0.9) == pytest.approx(0.9)


def test_a_calibration_changes_no_call_only_how_sure_it_is():
    """The map is monotone: the answer, its alternatives and their order stay; each
    probability is the map's of the identification's own."""
    m = _scaled("Il-76", 1.05, 0.087)
    raw = identify(m, "aircraft", MILITARY, calibration=RAW)
    humble = Calibration(0.6, 0.2)
    cal = identify(m, "aircraft", MILITARY, calibration=humble)
    assert (cal.type, cal.level) == (raw.type, raw.level)
    assert [a["type"] for a in cal.alternatives] == [a["type"] for a in raw.alternatives]
    assert cal.confidence == pytest.approx(humble(raw.confidence), abs=2e-3)
    assert cal.likeliest["score"] == pytest.approx(humble(raw.likeliest["score"]), abs=2e-3)


def test_the_shipped_look_model_carries_a_calibration_fitted_on_real_calls(tmp_path):
    """The shipped card holds the map `detect train-appearance` fitted on the tuned real
    crops' calls out of fold, which on real imagery makes the identification humbler; a card
    without one (a fold model's) leaves the probabilities as they are."""
    card = json.loads(APPEARANCE_WEIGHTS.with_suffix(".json").read_text())[KEY]
    assert card["calls"] >= 60 and 0 < card["slope"] < 1
    assert of_model(APPEARANCE_WEIGHTS)(0.9) < 0.9
    bare = tmp_path / "fold.onnx"
    bare.with_suffix(".json").write_text(json.dumps({"classes": list(CLASSES)}))
    assert of_model(bare) == RAW


def test_evidence_reads_like_an_analyst():
    r = identify(_m(68.7, 72.6), "aircraft")
    assert r.evidence.startswith("length 68.7 m, span 72.6 m")
    assert "An-124 is 69.1 x 73.3" in r.evidence


@pytest.mark.parametrize("name,heading", [
    ("An-124", 30.0), ("Il-76", 200.0), ("Su-34", 90.0), ("Su-24", 135.0), ("Tu-154", 45.0),
    ("An-26", 300.0)])
def test_rendered_aircraft_measure_to_their_true_size_heading_and_sweep(name, heading):
    shape, m = measure_rendered(name, heading, 0.97, 1.02)
    assert m.ok
    assert abs(m.length_m - shape.length) <= 3.0, m
    assert abs(m.span_m - shape.span) <= 1.0, m
    assert abs((m.heading_deg - heading + 180) % 360 - 180) <= 3, m
    assert abs(m.sweep_deg - shape.sweep) <= 5, m


@pytest.mark.parametrize("name", ["Su-24", "Tu-22M3", "Tu-160"])
@pytest.mark.parametrize("gsd", [0.3, 0.5])
def test_a_rendered_swing_wing_parked_swept_reads_its_sweep_and_is_named(name, gsd):
    """A swing wing swept back reads its own sweep (65-69 deg), and with it its type. (The
    fuselage-side model never learned swept wings: at some headings it reads them across,
    and then no sweep is read.)"""
    shape, m = measure_rendered(name, 30.0, 0.97, 1.02, gsd=gsd, blur_px=0.8, swept=True)
    assert abs(m.span_m - shape.span) <= 1.0 and abs(m.sweep_deg - shape.sweep) <= 5, m
    assert identify(m, "aircraft", MILITARY).type == name


@pytest.mark.parametrize("reference", [True, False])
def test_a_radome_is_found_on_an_a50_and_names_it_apart_from_its_il76_airframe(reference):
    """The A-50's 10.5 m dish over an Il-76 airframe is the evidence that tells it from the
    Il-76 and Il-78 (its figures are theirs within 3 m), and from the C-17 and Tu-95 that
    share its size; an Il-76 shows none."""
    _, dish = measure_rendered("A-50", 120.0, 1.0, 1.0, reference=reference)
    _, plain = measure_rendered("Il-76", 120.0, 1.0, 1.0, reference=reference)
    assert abs(dish.radome_m - 10.5) <= 1.5 and plain.radome_m == 0.0, (dish, plain)
    named = identify(dish, "aircraft", MILITARY)
    assert named.type == "A-50" and "a radome 1" in named.evidence, named
    assert "A-50" not in identify(plain, "aircraft", MILITARY).type


def test_a_disc_beside_the_fuselage_is_no_radome():
    """A dish is mounted on the fuselage: a round disc of a dish's size near the aircraft's
    centre is its radome where it lies on the fuselage's axis, and not where it lies more than
    its radius off it (ground equipment beside a parked airliner, as on the Airbus training
    sites)."""
    import cv2

    def chip(fuselage_row: int) -> tuple[np.ndarray, tuple[float, np.ndarray]]:
        c = np.full((240, 240, 3), 90, np.uint8)
        cv2.rectangle(c, (40, fuselage_row - 8), (200, fuselage_row + 8), (200,) * 3, -1)
        cv2.circle(c, (120, 140), 16, (235,) * 3, -1)  # 20 px from the chip's centre
        return c.astype(np.float32), (0.0, np.array([120.0, fuselage_row]))

    on, its_axis = chip(140)
    assert abs(radome(on, 200.0, its_axis) - 32) <= 5
    beside, its_axis = chip(120)
    assert radome(beside, 200.0, its_axis) == 0.0
    assert radome(beside, 200.0, (0.0, np.array([120.0, 140.0]))) > 0  # on a line through it


def test_a_radome_weighs_the_call_only_where_it_was_looked_for():
    """A disc found favours the type that carries one; none found where one was looked for
    counts against it (a dish is found on about half the real A-50s); a measurement that
    never looked (a box's figures) says nothing of it."""
    def call(radome):
        return identify(Measurement(49.6, 50.5, 0.0, 1.0, True, 25.0, 5.0, pixel_m=0.5,
                                    scale_sigma=0.087, radome_m=radome), "aircraft", MILITARY)
    found, none, unlooked = call(10.5), call(0.0), call(None)
    assert found.type == "A-50" and found.confidence >= 0.8, found
    share = {r.type: r for r in (none, unlooked)}
    assert "A-50" not in none.type and "A-50" not in unlooked.type, share
    assert found.confidence > unlooked.confidence


def test_an_aircraft_in_a_tight_screenshot_is_measured_from_the_image_not_past_its_edge():
    """Without a reference, the apron is the colour at the chip's edge. A screenshot cut a few
    metres around the aircraft leaves that edge past the image, where every band reads 0:
    it is neither apron nor aircraft, and the aircraft measures as in a wide one."""
    for name, heading in (("Su-34", 90.0), ("Il-76", 200.0)):
        shape, wide = measure_rendered(name, heading, 1.0, 1.0, reference=False)
        _, tight = measure_rendered(name, heading, 1.0, 1.0, reference=False,
                                    edge_m=0.6 * max(shape.length, shape.span))
        assert abs(tight.span_m - wide.span_m) <= 1.0 and abs(
            tight.length_m - wide.length_m) <= 1.5, (wide, tight)
        assert abs(tight.span_m - shape.span) <= 1.5, tight


def test_a_fighter_is_measured_full_size_where_the_detectors_box_runs_short():
    """The detector's boxes of fighters run 7% short (Su-34: 21.7 m for 23.3); the silhouette
    against the reference gives the whole length, and the type."""
    shape, m = measure_rendered("Su-34", 270.0, 0.93, 0.95)
    assert abs(m.length_m - shape.length) <= 0.7, m
    assert abs(m.span_m - shape.span) <= 0.5, m
    assert identify(m, "aircraft", MILITARY).type == "Su-34"


def test_a_blurred_fighter_is_measured_close_to_its_size():
    """At 1 m per pixel through a soft sensor (0.8 px blur) an edge is smeared over metres;
    its extents taken at 30% of the contrast stay near the true edge: on average over four
    headings a Su-34 and a Su-24 measure at most 1.3 m too wide (at 20% of the contrast, 1.8 m,
    and a Su-34 (14.7 m) looked like a Su-24 (17.6 m))."""
    excess = [m.span_m - shape.span for name in ("Su-34", "Su-24") for h in (0, 70, 135, 250)
              for shape, m in [measure_rendered(name, h, 1.0, 1.0, gsd=1.0, blur_px=0.8)]]
    assert np.mean(excess) <= 1.3, excess


def test_a_blurred_fighter_keeps_its_role():
    """At 1 m per pixel a Su-34 measures a metre or so wider than its 14.7 m, towards the Su-24's
    17.6 m, but its wing sweep, read to a few degrees even there, is 42 deg against the Su-24's
    16: neither is taken for the other (with the sweep trusted to only 25 deg at 1 m, three of
    four Su-34s were Su-24s)."""
    for name, role in (("Su-34", "fighter"), ("Su-24", "attack")):
        for h in (0, 70, 135, 250):
            _, m = measure_rendered(name, h, 1.0, 1.0, gsd=1.0, blur_px=0.8)
            assert identify(m, "aircraft", MILITARY).role == role, (name, h, m)


def test_a_dark_fighter_merged_with_its_shadow_at_1_m_is_measured_from_the_dark_shape():
    """At 1 m per pixel a dark-painted Su-25 and its shadow blur into one dark shape, and what
    differs from the apron without being as dark as a shadow is only its blurred rim, which
    read 18 x 15.7 m (a Su-57's length): the shape's extents at half its darkness are the
    aircraft's, where the detector's box (here 20% long) is no help."""
    for h in (0, 135):
        shape, m = measure_rendered("Su-25", h, 1.2, 1.1, gsd=1.0, blur_px=0.8)
        assert abs(m.length_m - shape.length) <= 1.0 and abs(m.span_m - shape.span) <= 1.0, m
        assert identify(m, "aircraft", MILITARY).type == "Su-25"


def test_a_shadows_blurred_rim_does_not_grow_a_transport_at_1_m():
    """At 1 m per pixel the blurred rim of a transport's shadow, a little darker than the
    apron, passed for the aircraft: with the sun abeam an An-124 or an Il-76 measured 4.5-5.0
    m too wide, and an An-26 5.4 m too long, an An-148. The rim, where the aircraft's outline
    lands moved by the cast offset, is shadow."""
    excess = [m.span_m - shape.span for name in ("An-124", "Il-76") for h in (60, 240)
              for shape, m in [measure_rendered(name, h, 1.0, 1.0, gsd=1.0, blur_px=0.8)]]
    assert np.mean(excess) <= 1.5, excess
    shape, m = measure_rendered("An-26", 60, 1.0, 1.0, gsd=1.0, blur_px=0.8)
    assert abs(m.length_m - shape.length) <= 1.0, m
    assert identify(m, "aircraft", MILITARY).type == "An-24/26"


def test_a_silhouette_grown_into_its_shadow_does_not_name_another_role():
    """Under a low sun (azimuth 230 deg, elevation 35) at 1 m per pixel, shadow rims grew an
    An-12's silhouette to 38.0 and 40.8 m long (its length is 33.1; an Il-20's, 35.8) and a
    Su-34's to 24.7 x 18.3 m (a Su-24 is 22.7 x 17.6). The box, here exact, is shorter:
    a silhouette running more than 10% past it counts half its excess as one sigma, and
    each is named beside its rival (either), not as the rival, of another role."""
    for name, heading in (("An-12", 45), ("An-12", 225), ("Su-34", 135)):
        _, m = measure_rendered(name, heading, 1.0, 1.0, gsd=1.0, blur_px=0.8, sun=(230, 35))
        assert name in identify(m, "aircraft", MILITARY).type.split(" or "), (name, heading, m)


def test_a_fighter_in_a_box_too_wide_is_measured_to_what_differs_from_the_apron():
    """At 1 m per pixel the detector's box around a Su-35 (21.9 x 15.3 m) ran 3.5 m too wide
    on the synthetic series (18.8 m, a Su-24's 17.6 is nearer), and the silhouette's span, a
    little shorter, was averaged with it. The box is first cut to all that differs from the
    apron, shadow included: at 0.5 m a Su-35 and a Su-30SM in boxes 20-25% too wide (18.4 m)
    read their own spans to two pixels, Flankers, where they were Su-24s."""
    for name, heading, wide in (("Su-35", 178.0, 1.2), ("Su-30SM", 90.0, 1.25)):
        shape, m = measure_rendered(name, heading, 1.0, wide)
        assert abs(m.span_m - shape.span) <= 1.0, (name, m)  # two pixels; the box: 3.1-3.7
        assert identify(m, "aircraft", MILITARY).type == "Flanker", (name, m)


def test_a_fighter_is_measured_to_its_paint_not_to_its_shadows_rim():
    """At 1 m per pixel under a sun ahead of it (azimuth 170 deg, elevation 41), a Su-35's
    silhouette ran 2.2 m past its tail into the blurred rim of its fins' shadow, as dim as
    its grey body, and in a box 20% too wide it read 24.3 x 17.0 m swept 52 deg, a Su-24 (the
    bench's last role error). A pixel is the object's where half of it or more is the paint's
    colour, and the rim, darker without it, is not: it reads its own size to a pixel."""
    for heading, sun in ((178.0, (170, 41)), (270.0, (150, 50))):
        shape, m = measure_rendered("Su-35", heading, 1.05, 1.2, gsd=1.0, blur_px=0.8, sun=sun)
        assert abs(m.length_m - shape.length) <= 1.0, m
        assert abs(m.span_m - shape.span) <= 1.0, m
        assert "Flanker" in identify(m, "aircraft", MILITARY).type.split(" or "), m


def test_a_wing_lost_against_concrete_of_its_own_grey_gives_no_sweep():
    """At 1 m per pixel, on concrete of its own grey, an An-12's outer wings break into
    pieces whose forward-most pixels read a 34 deg sweep (its is 6), and an Il-76's 35 (its is
    25; 35 is a Tu-95's): pieces that are not one straight edge give no sweep, and the size
    decides (the An-12, read 34.5 x 37.8 m, as well as the Il-20 beside it: either)."""
    for name, heading in (("An-12", 250), ("Il-76", 0)):
        _, m = measure_rendered(name, heading, 1.0, 1.0, gsd=1.0, blur_px=0.8,
                                apron=shape_for(name).paint)
        assert m.sweep_deg is None, m
        assert name in identify(m, "aircraft", MILITARY).type.split(" or "), m


def test_a_fighter_measured_wide_at_1_m_is_told_by_its_sweep():
    """Blur and shadow widen a Su-34 at 1 m per pixel (17.0 m for 14.7 on the synthetic series):
    its 45 deg sweep, read to about 5 deg there, keeps it from the straight-winged Su-24 (22.7 x
    17.6 m, 16 deg); trusted to only 25 deg, twelve Su-34s at 1 m were Su-24s."""
    m = Measurement(23.0, 17.0, 0.0, 0.9, True, 45.0, sweep_sigma(1.0, 17.0))
    assert identify(m, "aircraft", MILITARY).role == "fighter"


def test_a_silhouette_grown_into_a_neighbour_is_trusted_neither_way():
    """An Il-76 (46.6 x 50.5 m) whose silhouette ran into the aircraft beside it measured
    58.0 x 80.2 m: the span is rejected for the box's, and so now is the length (58.0 m made
    it a C-17, 53.0 long); a silhouette within bounds is taken."""
    assert extents((58.0, 80.2), (46.3, 50.5)) == ((46.3, 50.5), False)
    assert extents((47.0, 51.0), (46.3, 50.5)) == ((47.0, 51.0), True)


def test_a_sweep_fit_gone_astray_does_not_outweigh_a_size_that_fits():
    """One sweep in ten is read off a shadow or a neighbour, tens of degrees out: a fighter
    of exactly a Su-34's size is a Su-34 even so, not `unknown` (nor a Su-24 for a closer
    sweep)."""
    assert identify(_m(23.3, 14.7, 5, sigma=0.5), "aircraft").type == "Su-34"


def test_a_helicopter_whose_fuselage_was_not_seen_is_told_by_its_rotor():
    hidden = Measurement(15.5, 14.6, 0.0, 0.6, True, None, length_seen=False)
    r = identify(hidden, "helicopter")
    assert r.type == "Ka-52", r
    assert r.evidence.startswith("fuselage not told from its shadow or neighbours, rotor 14.6 m")


@pytest.mark.parametrize("gsd", [0.3, 0.5, 1.0])
def test_a_rotor_is_measured_whole_where_the_box_misses_the_blade_tips(gsd):
    """The detector's box misses a rotor's faint blade tips, about 1.2 pixels in all (on fresh
    synthetic series, rotors 0.5 / 0.57 / 1.28 m short at 0.3 / 0.5 / 1.0 m): a Mi-8's rotor
    measures its 21.3 m from a box that short (the box's long side, along the fuselage, spans
    the whole rotor)."""
    shape, m = measure_rendered("Mi-8", 30.0, 21.3 / 18.2, 1 - 1.2 * gsd / 21.3, gsd=gsd,
                                helicopter=True)
    assert abs(m.span_m - shape.span) <= 0.1, m
    assert identify(m, "helicopter").type == "Mi-8"


@pytest.mark.parametrize("name", ["Mi-8", "Mi-24", "Ka-52"])
def test_a_helicopters_heading_lies_along_its_fuselage(name):
    """Rotor blades break the mirror symmetry an aircraft's axis is found by, and a dark body
    passes for shadow: taken from the body's mirror axis, a helicopter's heading lay across
    its fuselage in 12 of these 36 views with the box 1 m longer along it. Nor does the box
    tell where the rotor spans the fuselage: with it near square, 0.7 m longer across, its
    long side lay across in all 36. The body and its shadow, blades opened away, lie along."""
    s = shape_for(name)
    for gsd in (0.3, 0.5, 1.0):
        for along, across in ((s.span + 1.0, s.span - 1.2 * gsd), (s.span - 0.3, s.span + 0.4)):
            for heading in (30.0, 120.0, 200.0, 290.0):
                _, m = measure_rendered(name, heading, along / s.length, across / s.span,
                                        gsd=gsd, blur_px=0.5, helicopter=True)
                assert abs((m.heading_deg - heading + 90) % 180 - 90) <= 3, (along, gsd, m)


@pytest.mark.parametrize("name,answer", [("Mi-24", "Mi-24/35 or Mi-28"), ("Mi-8", "Mi-8")])
def test_a_helicopter_grown_into_its_neighbours_is_told_by_its_rotor(name, answer):
    """Trailers touching its nose and tail grew a Mi-24's silhouette to 32 m and a Mi-8's to
    38 m, and both were `unknown`. A fuselage grown beyond the box (by over 30% + 2 m, as for an
    aircraft's extents) is not seen; the rotor tells the type."""
    s = shape_for(name)
    _, m = measure_rendered(name, 30.0, s.span / s.length, 1.0, gsd=0.3, helicopter=True,
                            apron=(0.45, 0.5, 0.7), trailers_m=12.0)
    assert not m.length_seen, m
    assert identify(m, "helicopter").type == answer


def test_a_ka52_whose_rotor_measures_long_is_not_named_a_ka27():
    """The box takes a rotor a metre long (15.7 m for the Ka-52's 14.5, nearer the Ka-27's
    15.8); the fuselage, 14.9 m, is the Ka-52's (13.5) and far from the stubby Ka-27's (11.3):
    read to the 2 m that segmented fuselages reach, it makes the two about as likely, and as
    their roles differ both are reported (trusted to 3 m, three of 14 Ka-52s at 0.5 m were
    named Ka-27s, utility helicopters). Measured true, the Ka-52 is named."""
    r = identify(Measurement(14.9, 15.7, 0.0, 0.82, True, pixel_m=0.5), "helicopter")
    assert (r.type, r.level, r.role) == ("Ka-27 or Ka-50/52", "either", None), r
    assert "their roles differ" in r.evidence
    r = identify(Measurement(13.5, 14.5, 0.0, 0.82, True, pixel_m=0.5), "helicopter")
    assert (r.type, r.role) == ("Ka-52", "attack helicopter"), r


def test_a_mi8_that_fits_the_attack_helicopters_about_as_well_is_named_by_no_summary():
    """A Mi-8 at 1 m per pixel whose box was 17.2 m across (its rotor is 21.3 m), its fuselage
    grown with blade stubs, and on the day before 20.1 x 19.7 m: over both days the Mi-24 and
    Mi-28 (look-alikes, attack helicopters) fit under twice as well as the Mi-8 (a utility
    helicopter). Naming the pair outright would be a role error: the best call holds under 0.8,
    as does its role, so no summary names either, and its evidence names all three."""
    today = Measurement(22.7, 18.3, 0.0, 1.25, True, pixel_m=1.0)
    before = Measurement(20.1, 19.7, 0.0, 1.29, True, pixel_m=1.0)
    r = identify(today, "helicopter", None, [before])
    assert r.confidence < 0.8 and r.role_confidence < 0.8, r
    assert "fits several types about as well" in r.evidence
    assert all(name in r.evidence for name in ("Mi-8", "Mi-24", "Mi-28")), r.evidence
    assert identify(Measurement(17.5, 17.3, 0.0, 1.25, True, pixel_m=1.0),
                    "helicopter").type == "Mi-24/35 or Mi-28"


def test_types_closer_than_the_measurement_resolves_are_reported_as_their_family():
    r = identify(_m(25.0, 29.4, 7, sigma=0.4), "aircraft")  # An-26 23.8, An-30 24.3 long
    assert (r.level, r.type) == ("family", "An-24/26")


def test_family_members_a_few_pixels_apart_are_named_only_where_the_pixel_resolves_them():
    """An Il-38 is 3.7 m longer than an Il-20 and as wide: 7 pixels at 0.5 m, where either is
    named, but at 1 m, where the Il-20's length read a median 3.7 m long (its tailplane's
    shadow), only the family is, with no role (reconnaissance or patrol); and so an A-50,
    3 m longer than an Il-76 or Il-78 (transport, tanker or AEW)."""
    for length, name in ((36.2, "Il-20"), (39.3, "Il-38")):
        m = Measurement(length, 37.4, 0.0, 0.5, True, 0.0, sweep_sigma(0.5, 37.4), pixel_m=0.5)
        assert identify(m, "aircraft", MILITARY).type == name
    for length, family in ((38.5, "Il-18/20/38"), (49.4, "Il-76")):
        span = 50.5 if family == "Il-76" else 37.4
        m = Measurement(length, span, 0.0, 0.9, True, 25.0 if family == "Il-76" else 0.0,
                        sweep_sigma(1.0, span), pixel_m=1.0)
        r = identify(m, "aircraft", MILITARY)
        assert (r.type, r.level, r.role) == (family, "family", None), r
        assert "cannot be told apart here" in r.evidence


def test_a_family_of_many_variants_does_not_outvote_a_type_of_its_own():
    r = identify(_m(23.2, 14.7, 42, sigma=0.7), "aircraft")  # Su-34, beside 3 Flankers
    assert r.type == "Su-34", r


def test_types_of_one_size_from_two_families_are_reported_as_either():
    """A Mi-24 and a Mi-28 are the same size (17.5 x 17.3 and 17.0 x 17.2 m): naming one is a
    coin toss, so the answer is both, with the role they share; an Il-76 and a Tu-95 too,
    where no wing sweep was measured, with no role (transport or bomber)."""
    for fuselage in (17.0, 17.5):
        r = identify(Measurement(fuselage, 17.25, 0.0, 0.5, True), "helicopter")
        assert (r.type, r.level, r.role) == ("Mi-24/35 or Mi-28", "either", "attack helicopter")
        assert "cannot be told apart" in r.evidence
    r = identify(_m(46.4, 50.3, None, sigma=0.6), "aircraft")
    assert (r.type, r.level, r.role) == ("Il-76 or Tu-95", "either", None)


def test_an_answer_says_which_of_what_it_names_is_likeliest():
    """`type_likeliest`: of an "A or B" answer the family its evidence favours (here the look),
    with that family's probability, a share of the answer's; of any other answer the answer
    itself; none for `unknown`."""
    for favoured in ("Il-76", "Tu-95"):
        look = {c: 0.4 / (len(CLASSES) - 1) for c in CLASSES} | {favoured: 0.6}
        r = identify(replace(_m(46.4, 50.3, None, sigma=0.6), looks_like=look), "aircraft")
        assert (r.type, r.likeliest["type"]) == ("Il-76 or Tu-95", favoured), r
        assert r.confidence / 2 < r.likeliest["score"] < r.confidence, r
    sure = identify(_m(69.1, 73.3, 32), "aircraft")
    assert sure.likeliest == {"type": "An-124", "score": sure.confidence}
    assert identify(_m(150.0, 20.0), "aircraft").likeliest is None


def test_types_closer_than_a_pixel_or_two_are_reported_as_either_at_that_resolution():
    """A Su-34 is 1.4 m longer than a Su-27 and as wide: 2.8 pixels at 0.5 m, where it is
    named, but 1.4 pixels at 1 m, where a measurement a pixel long named the Flanker for the
    Su-34 (16 of 30 on the synthetic series): there it is reported as either, as a fighter,
    unless the measurement is beyond fitting the other."""
    exact = Measurement(23.3, 14.7, 0.0, 0.4, True, 42.0, sweep_sigma(0.5, 14.7), pixel_m=0.5)
    assert identify(exact, "aircraft").type == "Su-34"
    for length in (22.6, 23.3):
        m = Measurement(length, 15.0, 0.0, 0.8, True, 42.0, sweep_sigma(1.0, 15.0), pixel_m=1.0)
        r = identify(m, "aircraft", MILITARY)
        assert (r.type, r.level, r.role) == ("Flanker or Su-34", "either", "fighter"), r
        assert "cannot be told apart at this resolution" in r.evidence
    longer = Measurement(26.0, 14.7, 0.0, 0.7, True, 42.0, sweep_sigma(1.0, 14.7), pixel_m=1.0)
    assert identify(longer, "aircraft").type == "Su-34"  # MiG-31 and Flankers: no fit


def test_the_wing_sweep_tells_types_of_one_size_apart():
    # an Il-76 and a Tu-95 are the same size: only the wing sweep (25 vs 35 deg) tells them
    assert identify(_m(46.4, 50.3, 25, sigma=0.6), "aircraft").family == "Il-76"
    assert identify(_m(46.4, 50.3, 35, sigma=0.6), "aircraft").type == "Tu-95"


@pytest.mark.parametrize("name, span, sweep, pixel", [("Tu-160", 35.6, 65.0, 1.0),
                                                     ("Tu-22M3", 23.3, 65.0, 1.0),
                                                     ("Su-24", 10.4, 69.0, 0.5)])
def test_a_swing_wing_parked_swept_is_named_where_its_sweep_says_so(name, span, sweep, pixel):
    """Swing-wing aircraft are often parked with their wings swept back (a Tu-160 then spans
    35.6 m for 55.7, swept 65 deg for 20): read so, with its sweep, it is named, and the
    evidence quotes it swept. Without a sweep read, the swept figures alone name nothing."""
    t = get_type(name)
    swept = Measurement(t.length_m, span, 0.0, pixel, True, sweep, sweep_sigma(pixel, span),
                        pixel_m=pixel)
    r = identify(swept, "aircraft", MILITARY)
    assert (r.type, r.level) == (name, "type"), r
    assert f"{name} is {t.length_m:g} x {span:g}, {sweep:g} deg (wings swept)" in r.evidence
    assert name not in identify(replace(swept, sweep_deg=None), "aircraft", MILITARY).type
    spread = identify(replace(swept, span_m=t.span_m, sweep_deg=t.sweep_deg), "aircraft",
                      MILITARY)
    assert spread.type == name and "swept" not in spread.evidence, spread


def _row(length: float, span: float, sigma: float = 1.0, sweep: float | None = None,
         pixel: float | None = None) -> TrackedObject:
    """An object of the daily run measured `length` x `span` m to `sigma` m, with a
    `sweep` read to 4.3 deg or none, at `pixel` m per pixel (else `sigma`), identified on its
    own."""
    own = {"length_m": length, "span_m": span, "size_sigma_m": sigma, "sweep_deg": sweep,
           "sweep_sigma_deg": 4.3, "length_seen": True}
    r = identify(Measurement(length, span, 0.0, sigma, True, sweep, 4.3, True, pixel or sigma),
                 "aircraft")
    own |= {"type": r.type, "type_level": r.level, "type_confidence": r.confidence,
            "type_alternatives": r.alternatives, "type_evidence": r.evidence, "role": r.role}
    return TrackedObject(0, "detected", "aircraft", r.type, None, 0.9, 0.0, 0.0, 35.0, 35.0,
                         length, span, 0.0, [[0, 0], [1, 0], [1, 1], [0, 1]], own)


def test_an_aircraft_that_stayed_is_identified_over_its_agreeing_sightings():
    """At 1 m per pixel a Su-34 (23.3 x 14.7 m) measured a metre and more too wide, 23.3 x 16.6,
    is as wide as a Su-24 (17.6 m), an attack aircraft, on its own; seen on the same stand the
    two days before at 23.1 x 15.2 and 23.4 x 15.0 (within its errors of today's), over the
    three it is a fighter of the Su-34's size, and the evidence lists every look."""
    today = _row(23.3, 16.6)
    assert today.type == "Su-24"
    before = follow(_row(23.4, 15.0), _row(23.1, 15.2), True, 1.0)
    now = follow(before, today, True, 1.0)
    assert (now.type, now.props["role"]) == ("Flanker or Su-34", "fighter"), now
    assert "on 2 earlier days 23.1 x 15.2 m, 23.4 x 15.0 m" in now.props["type_evidence"]
    assert now.props["measured_identity"]["type"] == "Su-24"  # its own day's, kept
    assert len(now.props["sightings"]) == 3


def test_a_poorer_look_of_an_aircraft_that_stayed_is_identified_over_its_earlier_ones():
    """At 1 m per pixel under a low sun an Il-76 (46.6 x 50.5 m) was read across, its axis 90
    deg off, at 49.7 x 44.8 m to 2.5 m: on its own an Il-62 (53.1 x 43.2), an airliner, and
    beyond two sigmas of its looks of the two days before (47.5 x 50.5 and 50.3 x 51.0). The
    Il-76 those name still fits today's look: it is the poorer look, not another aircraft,
    and over all three the Il-76 it is, with every look in the evidence."""
    today = _row(49.7, 44.8, 2.5)
    assert today.type == "Il-62"
    before = follow(_row(50.3, 51.0, 1.2), _row(47.5, 50.5, 0.8), True, 1.0)
    now = follow(before, today, True, 1.0)
    assert now.type == "Il-76", now
    evidence = now.props["type_evidence"]
    assert "on 2 earlier days 47.5 x 50.5 m, 50.3 x 51.0 m" in evidence
    assert evidence.endswith("today's look lies beyond two sigmas of the earlier ones, but the "
                             "Il-76 they name still fits it"), evidence
    assert now.props["measured_identity"]["type"] == "Il-62"
    assert len(now.props["sightings"]) == 3


def test_a_straight_winged_aircraft_where_a_swept_one_stood_is_not_named_as_that_one():
    """At 1 m per pixel a Tu-154 (47.9 x 37.6 m, 35 deg) read 48.3 x 38.9 and 48.9 x 39.1 m
    on two days; on the next an Il-20 (35.9 x 37.4 m, straight wings) stood on its stand,
    read 40.3 x 37.1 m to 3.1 m (grown into its shadow) with a sweep of 0 deg: beyond two
    sigmas of the earlier looks, and 3.4 sigmas from the Tu-154 they name. It is another
    aircraft, identified on its own, never an airliner."""
    tu154 = follow(_row(48.3, 38.9, 2.5, 35.5, 1.0), _row(48.9, 39.1, 2.5, 32.9, 1.0), True,
                   1.0)
    assert tu154.type == "Tu-154"
    now = follow(tu154, _row(40.3, 37.1, 3.1, 0.0, 1.0), True, 1.0)
    assert "sightings" not in now.props, now
    assert now.type == "Il-18/20/38", now


def test_an_aircraft_as_large_as_the_one_before_it_but_swept_otherwise_is_another():
    """At 1 m per pixel a Su-34 (23.3 x 14.7 m, 42 deg) read 23.3 x 15.5 and 23.1 x 16.1 m,
    swept 45 and 46 deg, on two days; on the next a Su-24 (22.7 x 17.6 m, wings spread to 16
    deg) stood on its stand, read 24.1 x 18.1 m to 1.2 m, swept 20 deg. Its size agrees with
    the earlier looks within two sigmas, its sweep does not: it is another aircraft,
    identified on its own (over all three looks it was a Flanker or Su-34)."""
    su34 = follow(_row(23.3, 15.5, 0.75, 44.6, 1.0), _row(23.1, 16.1, 1.07, 45.6, 1.0), True,
                  1.0)
    now = follow(su34, _row(24.1, 18.1, 1.19, 20.2, 1.0), True, 1.0)
    assert "sightings" not in now.props, now
    assert now.type == "Su-24", now


def test_a_swing_wing_that_swept_its_wings_overnight_is_the_same_aircraft():
    """At 1 m per pixel a Tu-160 read 54.3 x 55.2 and 53.8 x 56.0 m with its wings spread (20
    deg) on two days, and 54.0 x 35.9 m swept 64 deg on the next: not the earlier looks'
    size, but the Tu-160 they name, its wings swept back, fits it. It is the same aircraft,
    identified over all three."""
    spread = follow(_row(54.3, 55.2, 1.0, 20.5, 1.0), _row(53.8, 56.0, 1.0, 19.0, 1.0), True,
                    1.0)
    assert spread.type == "Tu-160"
    now = follow(spread, _row(54.0, 35.9, 1.0, 64.0, 1.0), True, 1.0)
    assert now.type == "Tu-160" and len(now.props["sightings"]) == 3, now
    assert now.props["type_evidence"].endswith("the Tu-160 they name still fits it"), now


def test_a_look_alike_that_replaced_an_aircraft_overnight_is_identified_on_its_own():
    """At 0.5 m per pixel a sighting that disagrees with today's beyond two sigmas (a Su-24
    yesterday, 17.5 m wide, where a Su-34 stands today, 14.7 m) is another aircraft: it ends
    the chain, and nothing before it counts either. A row seen only in part today hands the
    earlier sightings on without adding its own cut one."""
    su24 = follow(_row(22.7, 17.6, 0.5), _row(22.8, 17.5, 0.5), True, 0.5)
    now = follow(su24, _row(23.3, 14.7, 0.5), True, 0.5)
    assert now.type == "Su-34" and "sightings" not in now.props, now
    cut = follow(su24, _row(15.0, 9.0, 0.5), False, 0.5)
    assert cut.props["sightings"] == su24.props["sightings"][:2]
    assert cut.type == _row(15.0, 9.0, 0.5).type


@pytest.mark.parametrize("case", json.loads((PALE / "cases.json").read_text())["cases"],
                         ids=lambda c: c["name"])
def test_a_pale_transport_found_in_pieces_is_measured_along_its_fuselage(case):
    """At 1 m per pixel a pale An-30 or An-26 on pale concrete under a low sun (synthetic
    seed 200, cut by tests/data/pale-transports/cut.py) is found only in pieces with its
    shadow's rim, which are as symmetric across the fuselage as along it: it was measured
    across, 29.3 x 28.2 and 30.5 x 24.5 m: "An-148 or An-72/74" and An-148, an airliner. All
    that differs from the apron, the aircraft and its shadow, is a clear cross about its axis."""
    with rasterio.open(PALE / f"{case['name']}.tif") as ds:
        image, transform, crs = ds.read().astype(np.float32), ds.transform, ds.crs.to_string()
    with rasterio.open(PALE / f"{case['name']}-reference.tif") as ds:
        reference = ds.read().astype(np.float32)
    box = Objects(np.asarray(case["box"])[None], np.array(["aircraft"]), np.ones(1), crs)
    m = measure(image, crs, transform, box.corners[0], float(box.axis_deg[0]),
                float(box.length_m[0]), float(box.width_m[0]), False, 1.0, reference)
    assert abs((m.heading_deg - case["heading_deg"] + 90) % 180 - 90) <= 10, m
    assert m.span_m > m.length_m, m
    assert "An-24/26" in identify(m, "aircraft", MILITARY).type.split(" or "), m


def test_the_appearance_model_tells_rendered_classes_alike_however_turned():
    """On rendered aircraft of every fixed-wing type, the look model names the class of a fifth
    of the looks or more (one in 14 by chance: it learned `civil` from real airliners, and
    takes most rendered ones for a military class; see weights/README.md) and gives the same
    probabilities for a look turned by right angles or mirrored (which side of the box is the
    fuselage does not matter to it)."""
    looks, _, names = rendered_looks(60, 7, SideOptions.turned, appearance_look)
    looks = looks.astype(np.float32) / 255
    p = looks_like(looks)
    assert all(set(q) == set(CLASSES) and abs(sum(q.values()) - 1) < 0.01 for q in p)
    right = [max(q, key=q.get) == look_class(get_type(n)) for q, n in zip(p, names, strict=True)]
    assert np.mean(right) >= 0.2, np.mean(right)
    table = [[q[c] for c in CLASSES] for q in p]
    for turned in (looks[..., ::-1], looks.transpose(0, 1, 3, 2)):
        np.testing.assert_allclose([[q[c] for c in CLASSES] for q in looks_like(turned.copy())],
                                   table, atol=0.002)


def test_a_look_weighs_the_type_call_but_never_rules_a_type_out():
    """A look sure of a class makes its types likelier than the others by the number of
    classes over `look_floor`, never by more, and a measurement not looked at weighs nothing;
    the evidence says what it looked like."""
    mp = MatchParams()
    sure = {c: float(c == "Tu-95") for c in CLASSES}
    m = replace(measure_rendered("Tu-95", 30.0, 1.0, 1.0)[1], looks_like=sure)
    tu95, il76 = get_type("Tu-95"), get_type("Il-76")
    assert look_odds([m], tu95) / look_odds([m], il76) == pytest.approx(
        (1 - mp.look_floor) * len(CLASSES) / mp.look_floor + 1)
    assert look_odds([replace(m, looks_like=None)], tu95) == 1.0
    assert look_odds([m], get_type("Mi-8")) == 1.0
    assert "looks like Tu-95 (1.00)" in identify(m, "aircraft").evidence


def test_the_fuselage_side_model_tells_a_fuselage_from_a_wing_either_way_round():
    """On rendered aircraft of every fixed-wing type (transports whose span is the longer
    among them) the model finds the fuselage's side of the box, answers alike for a look's
    mirror images and the other side for the look transposed."""
    looks, along, _ = rendered_looks(60, 7, SideOptions.turned)
    looks = looks.astype(np.float32) / 255
    p = along_long_side(looks)
    assert 0 < along.mean() < 1
    assert np.mean((p >= 0.5) == (along > 0.5)) >= 0.95
    for mirrored in (looks[..., ::-1], looks[..., ::-1, :]):
        np.testing.assert_allclose(along_long_side(mirrored.copy()), p, atol=1e-4)
    np.testing.assert_allclose(along_long_side(looks.transpose(0, 1, 3, 2).copy()), 1 - p,
                               atol=1e-4)
