"""Day-over-day matching: optimal assignment and the change map as evidence."""

from __future__ import annotations

from detect.track import Evidence, events, match
from detect.tracked import TrackedObject


def _obj(idx, x, y, t="Il-76", klass="aircraft", heading=0.0, length=46.6, unit=1.0,
         props=None):
    h = length / 2 / unit  # corners in map units of `unit` metres
    return TrackedObject(idx, "detected", klass, t, "apron-main", 0.9, x, y, 35.0, 35.0, length,
                         50.0, heading,
                         [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h]],
                         props or {})


def _evidence(changed=0.0, unknown=0.0, unseen=None, occupied=0.0, alike=(1.0, 1.0)):
    unseen = unknown if unseen is None else unseen
    return Evidence(changed=lambda c: changed, unknown=lambda c: unknown,
                    unseen=lambda c: unseen, occupied=lambda c: occupied,
                    alike=lambda c: alike)


def test_assignment_is_optimal_not_greedy():
    # greedy would pair prev 0 with cur 0 (1 m) and leave prev 1 unmatched
    prev = [_obj(0, 0, 0), _obj(1, -3.5, 0)]
    cur = [_obj(0, -1, 0), _obj(1, 3.0, 0)]
    assert sorted(match(prev, cur, 1.0, 0.5)) == [(0, 1), (1, 0)]


def test_a_missed_aircraft_where_nothing_changed_has_stayed_recovered():
    evts, carried, _ = events([_obj(0, 0, 0)], [], _evidence(changed=0.0), 1.0, 0.5)
    assert [(e.kind, e.flags) for e in evts] == [("stayed", ["recovered"])]
    assert carried[0].status == "recovered"


def test_a_missed_aircraft_where_the_ground_changed_departed():
    evts, carried, _ = events([_obj(0, 0, 0)], [], _evidence(changed=0.8), 1.0, 0.5)
    assert [e.kind for e in evts] == ["departed"] and carried == []


def test_objects_under_cloud_are_unknown_never_departed():
    evts, carried, _ = events([_obj(0, 0, 0)], [], _evidence(changed=0.8, unknown=0.9), 1.0, 0.5)
    assert [e.kind for e in evts] == ["unknown"]
    assert carried[0].status == "unknown"


def test_after_a_clouded_day_the_empty_reference_decides():
    # yesterday's view was clouded (no day-over-day evidence), today is clear
    bare = _evidence(unknown=1.0, unseen=0.0, occupied=0.0)
    still = _evidence(unknown=1.0, unseen=0.0, occupied=0.9)
    gone, *_ = events([_obj(0, 0, 0)], [], bare, 1.0, 0.5)
    here, *_ = events([_obj(0, 0, 0)], [], still, 1.0, 0.5)
    assert [e.kind for e in gone] == ["departed"]
    assert [(e.kind, e.flags) for e in here] == [("stayed", ["recovered"])]


def test_a_new_detection_where_nothing_changed_is_suspect():
    evts, *_ = events([], [_obj(0, 0, 0)], _evidence(changed=0.0), 1.0, 0.5)
    assert [(e.kind, e.flags) for e in evts] == [("arrived", ["suspect"])]
    evts, *_ = events([], [_obj(0, 0, 0)], _evidence(changed=0.6), 1.0, 0.5)
    assert [(e.kind, e.flags) for e in evts] == [("arrived", [])]


def test_a_different_class_or_a_far_stand_is_not_the_same_object():
    prev = [_obj(0, 0, 0), _obj(1, 100, 0, "Ka-52", "helicopter", length=13.5)]
    cur = [_obj(0, 0, 0, "Mi-8", "helicopter", length=18.2), _obj(1, 160, 0)]
    evts, *_ = events(prev, cur, _evidence(changed=0.5), 1.0, 0.5)
    assert _kinds(evts) == {"departed": 2, "arrived": 2}


def _kinds(evts):
    out: dict[str, int] = {}
    for e in evts:
        out[e.kind] = out.get(e.kind, 0) + 1
    return out


def test_metres_per_unit_scales_the_gate():
    deg = 111_000.0
    prev, cur = [_obj(0, 0, 0, unit=deg)], [_obj(0, 0.0002, 0, unit=deg)]
    assert match(prev, cur, deg, 0.5) == []  # 22 m apart, beyond the 12 m gate
    prev, cur = [_obj(0, 0, 0)], [_obj(0, 0.0002, 0)]
    assert match(prev, cur, 1.0, 0.5) == [(0, 0)]


def test_another_type_on_the_same_stand_is_a_departure_and_an_arrival():
    # an An-72 (28.1 x 31.9 m) left and an An-12 (33.1 x 38 m) took its stand: their boxes differ
    # by more than one aircraft's box differs from day to day
    prev, cur = [_obj(0, 0, 0, "An-72", length=31.9)], [_obj(0, 0.5, 0, "An-12", length=38.0)]
    evts, carried, _ = events(prev, cur, _evidence(changed=0.05), 1.0, 0.5)
    assert _kinds(evts) == {"departed": 1, "arrived": 1} and carried == []
    same = [_obj(0, 0.5, 0, "An-72", length=33.0)]  # the same aircraft, box 1.1 m longer
    assert _kinds(events(prev, same, _evidence(), 1.0, 0.5)[0]) == {"stayed": 1}


def test_a_look_alike_answer_matches_either_of_its_types():
    """A Mi-24 reported "Mi-24/35 or Mi-28" today is yesterday's Mi-24, not the Mi-8 beside it
    that is nearer: a label naming the type is the same type (it paid the 0.5 of another)."""
    heli = {"klass": "helicopter", "length": 17.5}
    prev = [_obj(0, 0, 0, "Mi-24", **heli), _obj(1, 3, 0, "Mi-8", **heli)]
    cur = [_obj(0, 2.4, 0, "Mi-24/35 or Mi-28", **heli), _obj(1, 0.6, 0, "Mi-8", **heli)]
    assert sorted(match(prev, cur, 1.0, 0.5)) == [(0, 0), (1, 1)]


def test_a_box_seen_through_cloud_edges_may_be_blurred():
    prev, cur = [_obj(0, 0, 0, length=46.6)], [_obj(0, 0.5, 0, length=56.0)]
    assert _kinds(events(prev, cur, _evidence(), 1.0, 0.5)[0]) == {"departed": 1, "arrived": 1}
    hazy = _evidence(unknown=0.1, unseen=0.1)
    assert _kinds(events(prev, cur, hazy, 1.0, 0.5)[0]) == {"stayed": 1}


def test_an_object_seen_in_part_keeps_the_type_it_had_and_its_own_is_restored():
    """Under a cloud edge today's silhouette is cut: the Il-76 seen whole yesterday must not
    become a C-17 overnight. Tracked again against a day without it, it is its own again."""
    def plane(t):
        return _obj(0, 0.5, 0, t, props={"type": t, "type_evidence": f"looks like an {t}"})

    prev = [plane("Il-76")]
    hazy = _evidence(unknown=0.1, unseen=0.1)
    evts, _, today = events(prev, [plane("C-17")], hazy, 1.0, 0.5)
    assert [(e.kind, e.type) for e in evts] == [("stayed", "Il-76")]
    assert today[0].type == today[0].props["type"] == "Il-76"
    assert today[0].props["type_evidence"].startswith("partly hidden today")
    assert events(prev, [plane("C-17")], _evidence(), 1.0, 0.5)[2][0].type == "C-17"
    _, _, again = events([], today, hazy, 1.0, 0.5)
    assert again[0].type == again[0].props["type"] == "C-17"
    assert "measured_identity" not in again[0].props


def test_sightings_handed_on_are_dropped_when_tracked_again():
    """A row seen in part that kept its own type (the same as the day before's) carries the
    earlier sightings it was handed; tracked again against a day without it (an earlier day
    inserted), it is its own again and carries none."""
    seen = {"length_m": 46.6, "span_m": 50.5, "size_sigma_m": 0.6, "sweep_deg": 25.0,
            "sweep_sigma_deg": 4.1, "length_seen": True}
    row = _obj(0, 0.5, 0, "Il-76", props={"type": "Il-76", "sightings": [seen]})
    _, _, again = events([], [row], _evidence(), 1.0, 0.5)
    assert again[0].type == "Il-76" and "sightings" not in again[0].props, again


def test_a_missed_object_is_not_recovered_where_another_now_stands():
    prev, cur = [_obj(0, 0, 0, length=46.6)], [_obj(0, 1, 0, length=20.0)]
    evts, carried, _ = events(prev, cur, _evidence(changed=0.0), 1.0, 0.5)
    assert _kinds(evts) == {"departed": 1, "arrived": 1} and carried == []


def _measured(t, length, span, sigma=0.3, sweep=None, **at):
    """An aircraft of reported type `t` with its own measurement in its props; its detector box
    is the same whatever it measured (the boxes of an Il-76 and a Tu-154 can be alike)."""
    seen = {"length_m": length, "span_m": span, "size_sigma_m": sigma, "sweep_deg": sweep,
            "sweep_sigma_deg": 4.1, "length_seen": True}
    return _obj(0, at.get("x", 0.0), 0, t, props={"type": t, **seen})


def test_another_type_measured_apart_on_the_same_box_is_a_departure_and_an_arrival():
    """A Tu-154 (47.9 x 37.6 m) took the stand an Il-76 (46.6 x 50.5 m) left, and the detector
    framed both alike: the measurements, 10 m apart in span, tell two aircraft. The same
    Il-76 measured within its errors, or one reported as another type but measured alike,
    stayed; so did one seen today only in part, whose figures are cut."""
    prev = [_measured("Il-76", 47.0, 50.8)]
    swapped = [_measured("Tu-154", 49.4, 40.2, x=0.5)]
    evts, carried, _ = events(prev, swapped, _evidence(changed=0.05), 1.0, 0.3)
    assert _kinds(evts) == {"departed": 1, "arrived": 1} and carried == []
    for same in (_measured("Il-76", 46.6, 50.2, x=0.5), _measured("Tu-95", 46.9, 50.5, x=0.5)):
        assert _kinds(events(prev, [same], _evidence(), 1.0, 0.3)[0]) == {"stayed": 1}
    cut = _evidence(unknown=0.1, unseen=0.1)
    assert _kinds(events(prev, swapped, cut, 1.0, 0.3)[0]) == {"stayed": 1}


def test_a_narrower_fighter_swept_further_on_the_same_box_is_a_departure_and_an_arrival():
    """A Su-30SM (21.9 x 14.7 m, 42 deg) took the stand a Su-24 (22.7 x 17.6 m, 16 deg) left
    (0.3 m seed 12: measured 22.6 x 17.5 m, 17 deg, then 21.8 x 15.5 m, 40 deg). The span,
    3.5 sigmas of both looks apart, and the sweep, 23 deg apart, together tell two aircraft;
    the same span with the sweep alike or unread does not."""
    prev = [_measured("Su-24", 22.6, 17.53, 0.37, sweep=17.2)]
    swapped = [_measured("Flanker", 21.76, 15.52, 0.44, sweep=40.2, x=0.5)]
    evts, _, _ = events(prev, swapped, _evidence(changed=0.05), 1.0, 0.3)
    assert _kinds(evts) == {"departed": 1, "arrived": 1}
    for sweep in (19.0, None):
        alike = [_measured("Flanker", 21.76, 15.52, 0.44, sweep=sweep, x=0.5)]
        assert _kinds(events(prev, alike, _evidence(), 1.0, 0.3)[0]) == {"stayed": 1}


def test_an_aircraft_read_across_the_next_day_stayed():
    """An An-26 (23.8 x 29.2 m) measured along its fuselage one day and across it the next (its
    box's side called the other way: 29.0 x 23.9 m, named an ATR 72) is the same aircraft,
    not a departure and an arrival (a Tu-154 where an Il-76 stood is two however read: see
    the test above)."""
    prev = [_measured("An-24/26", 23.8, 29.2)]
    across = [_measured("ATR 72", 29.0, 23.9, x=0.5)]
    assert _kinds(events(prev, across, _evidence(changed=0.05), 1.0, 1.0)[0]) == {"stayed": 1}


def test_an_aircraft_whose_image_is_unlike_on_the_same_box_is_a_departure_and_an_arrival():
    """At a gate an A320 (37.6 x 35.8 m) gave way to a B737-800 (39.5 x 35.8 m), or to
    another A320: the boxes and the measurements are alike, the images there are not, in
    grey level nor in colour. Alike in either (a shading turned with the sun changes the
    grey level only), or seen through cloud edges, or at 1 m per pixel, it stayed."""
    prev = [_obj(0, 0, 0, "A320", length=37.6)]
    unlike = (0.2, 0.5)
    for t in ("B737-800", "A320"):
        other = [_obj(0, 0.5, 0, t, length=39.0)]
        evts, carried, _ = events(prev, other, _evidence(changed=0.05, alike=unlike), 1.0, 0.5)
        assert _kinds(evts) == {"departed": 1, "arrived": 1} and carried == []
    for evidence in (_evidence(alike=(0.8, 0.5)), _evidence(alike=(0.2, 0.9)),
                     _evidence(unknown=0.1, unseen=0.0, alike=unlike)):
        assert _kinds(events(prev, other, evidence, 1.0, 0.5)[0]) == {"stayed": 1}
    assert _kinds(events(prev, other, _evidence(alike=unlike), 1.0, 1.0)[0]) == {"stayed": 1}
