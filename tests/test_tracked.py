"""The typed records of a day: stored in the history and read back as they were."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from detect.history import DayRecord, History
from detect.tracked import COLUMNS, EVENT_COLUMNS, Event, TrackedObject, label

PLANE = TrackedObject(
    3, "detected", "aircraft", "Il-76", "apron-main", 0.91, 500.5, 600.25, 35.1, 35.2, 46.1,
    50.2, 271.5, [[0.0, 0.0], [46.1, 0.0], [46.1, 50.2], [0.0, 50.2]],
    {"class": "aircraft", "type": "Il-76", "type_confidence": 0.86, "role": "heavy transport",
     "role_confidence": 0.97, "sightings": [{"length_m": 46.0, "span_m": 50.1}]})


def test_objects_and_events_read_back_from_the_history_as_they_were_stored(tmp_path):
    arrived = Event.of("arrived", PLANE, ["suspect"], current=PLANE.idx)
    with History(tmp_path / "h.sqlite") as h, h.transaction():
        h.put_day(DayRecord("2026-11-20", None, [], {}, 0.0, "image.tif", [PLANE]), "now")
        h.put_events("2026-11-20", None, [arrived])
    with History(tmp_path / "h.sqlite") as h:
        assert h.day("2026-11-20").objects == [PLANE]
        (back,) = h.events("2026-11-20")
    # the history keeps no identification confidences for events: named by their type
    assert back == Event("arrived", "aircraft", "Il-76", "apron-main", 35.1, 35.2, 0.91,
                         ["suspect"], None, 3)
    assert back.detail == {"current": 3} and label(back) == label(arrived) == "Il-76"


def test_the_history_columns_are_the_records_fields(tmp_path):
    History(tmp_path / "h.sqlite").close()
    conn = sqlite3.connect(tmp_path / "h.sqlite")
    stored = [r[1] for r in conn.execute("PRAGMA table_info(objects)")]
    assert stored == ["date", *COLUMNS, "corners", "props"]
    assert set(PLANE.row()) == {*COLUMNS, "corners", "props"}
    stored = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    assert stored == ["date", "idx", "previous_date", *EVENT_COLUMNS, "flags", "detail"]


def test_a_summary_names_a_type_only_at_its_confidence():
    unsure = replace(PLANE, props={**PLANE.props, "type_confidence": 0.5})
    vague = replace(unsure, props={**unsure.props, "role_confidence": 0.5})
    assert [label(o) for o in (PLANE, unsure, vague)] == [
        "Il-76", "heavy transport", "unknown aircraft"]
