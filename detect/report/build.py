"""report.json: the documented, versioned record of one day (schema_version 1).

Fields: site, date, previous_date, acquisition (acquired, sources, registration,
normalisation, cloud_fraction, unknown_fraction), counts (by_type, by_class, by_zone with
total and by_type), total_aircraft (aircraft and helicopters present), events (kind, class,
type, zone, lon, lat, confidence, flags), event_counts, changes (changed_fraction,
unknown_fraction, regions, changed_area_m2), alerts (rule, metric, value, threshold, events,
attachments), detector (weights), tool_version.
"""

from __future__ import annotations

from collections import Counter

from detect import __version__
from detect.tracked import Event, TrackedObject, label

SCHEMA_VERSION = 1
PRESENT = ("detected", "recovered")


def counts(objects: list[TrackedObject]) -> dict:
    present = [o for o in objects if o.status in PRESENT]
    by_zone: dict[str, Counter] = {}
    for o in present:
        by_zone.setdefault(o.zone or "outside zones", Counter())[label(o)] += 1
    return {
        "by_type": dict(sorted(Counter(label(o) for o in present).items())),
        "by_class": dict(sorted(Counter(o.klass for o in present).items())),
        "by_zone": {z: {"total": sum(c.values()), "by_type": dict(sorted(c.items()))}
                    for z, c in sorted(by_zone.items())},
        "unseen": sum(o.status == "unknown" for o in objects),
    }


def _event_row(e: Event) -> dict:
    return {"kind": e.kind, "class": e.klass, "type": e.type, "named": label(e),
            "zone": e.zone, "lon": round(e.lon, 7), "lat": round(e.lat, 7),
            "confidence": None if e.confidence is None else round(e.confidence, 4),
            "flags": e.flags}


def build_report(site: str, date: str, previous: str | None, acquisition: dict,
                 objects: list[TrackedObject], events: list[Event], changes: dict, weights: str,
                 alerts: list[dict] | None = None, timings: dict | None = None) -> dict:
    """The day's report.json. `timings`: wall seconds per stage of the run that made it, up to
    writing the report (the history's commit and the HTML page come after)."""
    c = counts(objects)
    rows = [_event_row(e) for e in events]
    return {
        "schema_version": SCHEMA_VERSION,
        "site": site,
        "date": date,
        "previous_date": previous,
        "acquisition": acquisition,
        "counts": c,
        "total_aircraft": c["by_class"].get("aircraft", 0) + c["by_class"].get("helicopter", 0),
        "events": rows,
        "event_counts": dict(sorted(Counter(r["kind"] for r in rows).items())),
        "changes": changes,
        "alerts": alerts or [],
        "detector": {"weights": weights},
        "timings": timings or {},
        "tool_version": __version__,
    }
