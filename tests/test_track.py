"""Day-over-day matching: optimal assignment and the change map as evidence."""

from __future__ import annotations

import numpy as np

from detect.track import Evidence, events, match


def _obj(idx, x, y, t="Il-76", klass="aircraft", heading=0.0, length=46.6):
    h = length / 2
    return {"idx": idx, "x": x, "y": y, "class": klass, "type": t, "zone": "apron-main",
            "lon": 35.0, "lat": 35.0, "confidence": 0.9, "heading_deg": heading,
            "length_m": length, "span_m": 50.0, "status": "detected",
            "corners": [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h]]}


def _evidence(changed=0.0, unknown=0.0, unseen=None, occupied=0.0):
    unseen = unknown if unseen is None else unseen
    return Evidence(changed=lambda c: changed, unknown=lambda c: unknown,
                    unseen=lambda c: unseen, occupied=lambda c: occupied)


def test_assignment_is_optimal_not_greedy():
    # greedy would pair prev 0 with cur 0 (1 m) and leave prev 1 unmatched
    prev = [_obj(0, 0, 0), _obj(1, -3.5, 0)]
    cur = [_obj(0, -1, 0), _obj(1, 3.0, 0)]
    assert sorted(match(prev, cur, 1.0)) == [(0, 1), (1, 0)]


def test_a_missed_aircraft_where_nothing_changed_has_stayed_recovered():
    evts, carried = events([_obj(0, 0, 0)], [], _evidence(changed=0.0), 1.0)
    assert [(e["kind"], e["flags"]) for e in evts] == [("stayed", ["recovered"])]
    assert carried[0]["status"] == "recovered"


def test_a_missed_aircraft_where_the_ground_changed_departed():
    evts, carried = events([_obj(0, 0, 0)], [], _evidence(changed=0.8), 1.0)
    assert [e["kind"] for e in evts] == ["departed"] and carried == []


def test_objects_under_cloud_are_unknown_never_departed():
    evts, carried = events([_obj(0, 0, 0)], [], _evidence(changed=0.8, unknown=0.9), 1.0)
    assert [e["kind"] for e in evts] == ["unknown"]
    assert carried[0]["status"] == "unknown"


def test_after_a_clouded_day_the_empty_reference_decides():
    # yesterday's view was clouded (no day-over-day evidence), today is clear
    gone, _ = events([_obj(0, 0, 0)], [], _evidence(unknown=1.0, unseen=0.0, occupied=0.0), 1)
    here, _ = events([_obj(0, 0, 0)], [], _evidence(unknown=1.0, unseen=0.0, occupied=0.9), 1)
    assert [e["kind"] for e in gone] == ["departed"]
    assert [(e["kind"], e["flags"]) for e in here] == [("stayed", ["recovered"])]


def test_a_new_detection_where_nothing_changed_is_suspect():
    evts, _ = events([], [_obj(0, 0, 0)], _evidence(changed=0.0), 1.0)
    assert [(e["kind"], e["flags"]) for e in evts] == [("arrived", ["suspect"])]
    evts, _ = events([], [_obj(0, 0, 0)], _evidence(changed=0.6), 1.0)
    assert [(e["kind"], e["flags"]) for e in evts] == [("arrived", [])]


def test_a_different_class_or_a_far_stand_is_not_the_same_object():
    prev = [_obj(0, 0, 0), _obj(1, 100, 0, "Ka-52", "helicopter", length=13.5)]
    cur = [_obj(0, 0, 0, "Mi-8", "helicopter", length=18.2), _obj(1, 160, 0)]
    evts, _ = events(prev, cur, _evidence(changed=0.5), 1.0)
    assert _kinds(evts) == {"departed": 2, "arrived": 2}


def _kinds(evts):
    out: dict[str, int] = {}
    for e in evts:
        out[e["kind"]] = out.get(e["kind"], 0) + 1
    return out


def test_metres_per_unit_scales_the_gate():
    prev, cur = [_obj(0, 0, 0)], [_obj(0, 0.0002, 0)]  # degrees: 22 m, beyond the 12 m gate
    assert match(prev, cur, 111_000.0) == []
    assert match(prev, cur, 1.0) == [(0, 0)]
    assert np.isfinite(prev[0]["x"])
