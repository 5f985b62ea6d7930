"""Alerts: the site's rules (`detect.rules`) evaluated on a day, and Apprise delivery."""

from __future__ import annotations

from pathlib import Path

from detect.report.build import PRESENT
from detect.rules import OPS, Rule
from detect.tracked import Event, TrackedObject

Day = tuple[list[TrackedObject], list[Event]]  # a day's objects and events


def metric(rule: Rule, objects: list[TrackedObject], events: list[Event]
           ) -> tuple[float, list[TrackedObject] | list[Event]]:
    """A rule's metric on one day, and the objects or events behind it."""
    hits: list[TrackedObject] | list[Event]
    if rule.metric == "count":
        hits = [o for o in objects if o.status in PRESENT and rule.selects(o)]
    else:
        hits = [e for e in events if e.kind == rule.metric and rule.selects(e)]
    return float(len(hits)), hits


def _brief(x: TrackedObject | Event) -> dict:
    """What an alert lists of an object or event behind it."""
    where = {"class": x.klass, "type": x.type, "zone": x.zone, "lon": x.lon, "lat": x.lat}
    if isinstance(x, Event):
        return {"kind": x.kind, **where}
    return {**where, "status": x.status}


def evaluate(rules: list[Rule], objects: list[TrackedObject], events: list[Event],
             history_days: list[Day]) -> list[dict]:
    """Fired alerts for today. `history_days` holds (objects, events) of earlier days, most
    recent last, for the rules that compare against a baseline."""
    fired = []
    for rule in rules:
        value, behind = metric(rule, objects, events)
        shown, baseline = value, None
        if rule.change:
            past = [metric(rule, o, e)[0] for o, e in history_days[-rule.window:]]
            if not past:
                continue
            baseline = sum(past) / len(past)
            if rule.change == "delta":
                shown = value - baseline
            else:
                shown = value / baseline if baseline else (float("inf") if value else 1.0)
        if OPS[rule.op](shown, rule.value):
            fired.append({
                "rule": rule.name, "metric": rule.metric, "change": rule.change,
                "value": shown, "today": value, "baseline": baseline,
                "threshold": f"{rule.op} {rule.value:g}",
                "events": [_brief(x) for x in behind],
                "attachments": ["report.html", "overlay.png"]})
    return fired


def deliver(urls: list[str], title: str, body: str, attachment: Path) -> str | None:
    """Send one alert to every Apprise URL. Returns None on success, else the error."""
    import apprise

    ap = apprise.Apprise()
    for url in urls:
        if not ap.add(url):
            return f"not a usable Apprise URL: {url}"
    attach = apprise.AppriseAttachment(str(attachment)) if attachment.exists() else None
    try:
        ok = ap.notify(body=body, title=title, attach=attach)
    except Exception as exc:  # a delivery failure must never end the run
        return f"{exc.__class__.__name__}: {exc}"
    return None if ok else "delivery failed (see the log)"
