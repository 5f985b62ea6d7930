"""Alert rules: data in site.yaml, never code, validated when the site loads.

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

from detect.errors import DetectError
from detect.identify.catalogue import load_catalogue, types_named
from detect.tracked import Event, TrackedObject, label, named_roles

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

    def selects(self, obj: TrackedObject | Event) -> bool:
        """Whether an object or event passes the rule's filters, by what the report names it
        (`label`): a type or role is matched only at the confidence the report names it at."""
        if self.zone and obj.zone != self.zone:
            return False
        if self.classes and obj.klass not in self.classes:
            return False
        meant = types_named(label(obj))
        if self.types and not {n for t in meant for n in (t.name, t.family)} & set(self.types):
            return False
        return not self.roles or bool(named_roles(obj) & set(self.roles))


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
