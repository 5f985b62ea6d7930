"""Alert rules (data in site.yaml, never code), their evaluation, and Apprise delivery.

    rules:
      - name: transports-arrive       # unique name
        metric: arrived               # count | arrived | departed
        types: [Il-76, An-124]        # filter: types (or families), classes or roles
        zone: apron-main              # optional
        op: ">="                      # >=, >, <=, <, ==
        value: 1
      - name: helicopter-surge
        metric: count
        classes: [helicopter]
        change: delta                 # optional: delta or ratio against a baseline ...
        window: 3                     # ... the mean of the last N days (default 1: the day before)
        op: ">="
        value: 2
    notify: ["json://alerts.example.org/hook"]   # Apprise URLs
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path

from detect.errors import DetectError
from detect.identify.catalogue import load_catalogue, types_named
from detect.report.build import PRESENT

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
       "==": operator.eq}
METRICS = ("count", "arrived", "departed")
CHANGES = ("delta", "ratio")


class RuleError(DetectError):
    """A rule that cannot be used: the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    op: str
    value: float
    types: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    zone: str | None = None
    change: str | None = None
    window: int = 1

    def selects(self, obj: dict) -> bool:
        """Whether an object or event passes the rule's filters."""
        if self.zone and obj.get("zone") != self.zone:
            return False
        if self.classes and obj.get("class") not in self.classes:
            return False
        meant = types_named(obj.get("type"))
        if self.types and not {n for t in meant for n in (t.name, t.family)} & set(self.types):
            return False
        return not self.roles or bool({t.role for t in meant} & set(self.roles))


def _list(rule: dict, key: str, where: str, allowed: set[str] | None = None) -> tuple:
    value = rule.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}, field `{key}`: must be a list of names")
    bad = [v for v in value if allowed is not None and v not in allowed]
    if bad:
        raise RuleError(f"{where}, field `{key}`: unknown {', '.join(bad)}")
    return tuple(value)


def parse_rules(raw: list | None, zones: set[str]) -> list[Rule]:
    """Validate the `rules:` list of a site."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RuleError("field `rules`: must be a list of rules")
    cat = load_catalogue().values()
    rules, names = [], set()
    for i, r in enumerate(raw):
        where = f"rule {i + 1}" + (f" ({r.get('name')})" if isinstance(r, dict) else "")
        if not isinstance(r, dict):
            raise RuleError(f"{where}: must be a mapping")
        unknown = set(r) - {"name", "metric", "types", "classes", "roles", "zone", "op",
                            "value", "change", "window"}
        if unknown:
            raise RuleError(f"{where}, field `{sorted(unknown)[0]}`: not a rule field")
        name = r.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise RuleError(f"{where}, field `name`: must be a unique, non-empty name")
        names.add(name)
        if r.get("metric") not in METRICS:
            raise RuleError(f"{where}, field `metric`: must be one of {', '.join(METRICS)}")
        if r.get("op") not in OPS:
            raise RuleError(f"{where}, field `op`: must be one of {', '.join(OPS)}")
        if not isinstance(r.get("value"), int | float) or isinstance(r.get("value"), bool):
            raise RuleError(f"{where}, field `value`: must be a number")
        if r.get("zone") is not None and r["zone"] not in zones:
            raise RuleError(f"{where}, field `zone`: no zone named {r['zone']!r}")
        if r.get("change") is not None and r["change"] not in CHANGES:
            raise RuleError(f"{where}, field `change`: must be delta or ratio")
        window = r.get("window", 1)
        if not isinstance(window, int) or window < 1:
            raise RuleError(f"{where}, field `window`: must be a whole number of days >= 1")
        rules.append(Rule(
            name, r["metric"], r["op"], float(r["value"]),
            _list(r, "types", where, {t.name for t in cat} | {t.family for t in cat}),
            _list(r, "classes", where, {"aircraft", "helicopter", "vehicle"}),
            _list(r, "roles", where, {t.role for t in cat}), r.get("zone"), r.get("change"),
            window))
    return rules


def metric(rule: Rule, objects: list[dict], events: list[dict]) -> tuple[float, list[dict]]:
    """A rule's metric on one day, and the objects or events behind it."""
    if rule.metric == "count":
        hits = [o for o in objects if o["status"] in PRESENT and rule.selects(o)]
    else:
        hits = [e for e in events if e["kind"] == rule.metric and rule.selects(e)]
    return float(len(hits)), hits


def evaluate(rules: list[Rule], objects: list[dict], events: list[dict],
             history_days: list[tuple[list[dict], list[dict]]]) -> list[dict]:
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
                "events": [{k: x.get(k) for k in ("kind", "class", "type", "zone", "lon", "lat",
                                                   "status") if k in x} for x in behind],
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
