"""Day-over-day events: match today's objects to the previous day's with an optimal assignment,
and use the change map as evidence for what the detector did not see.

- matched: `stayed`;
- previous object unmatched: `unknown` where today's view there is clouded, nodata or outside
  the drop; `stayed` flagged `recovered` where nothing changed (the detector missed it);
  otherwise `departed`. Where the previous day could not see the place (its cloud), today's
  view against the empty reference decides: still occupied is `recovered`, bare is `departed`;
- today's object unmatched: `arrived`, flagged `suspect` where nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

UNKNOWN_AT = 0.3  # fraction of an object's box unseen today that makes its fate unknown
CHANGED_AT = 0.1  # fraction of an object's box changed that counts as change there
INFEASIBLE = 1e6


@dataclass
class Evidence:
    """Fractions of a box (map-coordinate corners) that the change maps flag."""

    changed: Callable[[np.ndarray], float]  # changed since the previous day
    unknown: Callable[[np.ndarray], float]  # unseen on either day: no day-over-day evidence
    unseen: Callable[[np.ndarray], float]  # unseen today (cloud, nodata, outside the drop)
    occupied: Callable[[np.ndarray], float]  # unlike the empty reference today


def _axis_diff(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


def cost_matrix(prev: list[dict], cur: list[dict], metres_per_unit: float) -> np.ndarray:
    """Matching cost of each (previous, current) pair; INFEASIBLE beyond the gates."""
    cost = np.full((len(prev), len(cur)), INFEASIBLE)
    for i, p in enumerate(prev):
        for j, c in enumerate(cur):
            if p["class"] != c["class"]:
                continue
            size = max(p["length_m"] or 1, c["length_m"] or 1, 1.0)
            dist = metres_per_unit * float(np.hypot(p["x"] - c["x"], p["y"] - c["y"]))
            gate = max(4.0, 0.25 * size)
            if dist > gate:
                continue
            dsize = abs((p["length_m"] or 0) - (c["length_m"] or 0)) / size
            if dsize > 0.35:
                continue
            heading = _axis_diff(p["heading_deg"] or 0, c["heading_deg"] or 0) / 30.0
            same = 0.0 if p.get("type") == c.get("type") else 0.5
            cost[i, j] = dist / gate + heading + dsize + same
    return cost


def match(prev: list[dict], cur: list[dict], metres_per_unit: float) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs under the gates (scipy's linear_sum_assignment)."""
    if not prev or not cur:
        return []
    cost = cost_matrix(prev, cur, metres_per_unit)
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] < INFEASIBLE]


def _event(kind: str, obj: dict, flags: list[str], **detail) -> dict:
    return {"kind": kind, "class": obj["class"], "type": obj.get("type"), "zone": obj.get("zone"),
            "lon": obj["lon"], "lat": obj["lat"], "confidence": obj.get("confidence"),
            "flags": flags, "detail": detail}


def events(prev: list[dict], cur: list[dict], evidence: Evidence,
           metres_per_unit: float) -> tuple[list[dict], list[dict]]:
    """Events against the previous day, and the previous objects carried into today (recovered
    ones as present, unknown ones as unseen) so that tomorrow can still match them."""
    pairs = match(prev, cur, metres_per_unit)
    matched_prev = {i for i, _ in pairs}
    matched_cur = {j for _, j in pairs}
    out, carried = [], []
    next_idx = max((c["idx"] for c in cur), default=-1) + 1
    for i, j in pairs:
        out.append(_event("stayed", cur[j], [], previous=prev[i]["idx"], current=cur[j]["idx"]))
    for i, p in enumerate(prev):
        if i in matched_prev:
            continue
        corners = np.asarray(p["corners"])
        if evidence.unknown(corners) > UNKNOWN_AT:  # no day-over-day evidence here
            still = evidence.occupied(corners) > UNKNOWN_AT
        else:
            still = evidence.changed(corners) < CHANGED_AT
        if evidence.unseen(corners) > UNKNOWN_AT:
            out.append(_event("unknown", p, ["not visible"], previous=p["idx"], current=next_idx))
            carried.append({**p, "status": "unknown", "idx": next_idx})
            next_idx += 1
        elif still:
            out.append(_event("stayed", p, ["recovered"], previous=p["idx"], current=next_idx))
            carried.append({**p, "status": "recovered", "idx": next_idx})
            next_idx += 1
        else:
            out.append(_event("departed", p, [], previous=p["idx"]))
    for j, c in enumerate(cur):
        if j in matched_cur:
            continue
        box = np.asarray(c["corners"])
        quiet = evidence.unknown(box) <= UNKNOWN_AT and evidence.changed(box) < CHANGED_AT
        flags = ["suspect"] if quiet else []
        out.append(_event("arrived", c, flags, current=c["idx"]))
    return out, carried
