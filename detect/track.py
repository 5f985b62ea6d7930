"""Day-over-day events: match today's objects to the previous day's with an optimal assignment,
and use the change map as evidence for what the detector did not see.

- matched: `stayed` (two of other types that their measurements tell apart are not matched:
  a Tu-154 on the stand an Il-76 left, framed alike by the detector; nor two aircraft whose
  images there are unlike: another airliner at the gate one left);
- previous object unmatched: `unknown` where today's view there is clouded, nodata or outside
  the drop; `stayed` flagged `recovered` where nothing changed (the detector missed it) and
  nothing else now stands there; otherwise `departed`. Where the previous day could not see the
  place (its cloud), today's view against the empty reference decides: still occupied is
  `recovered`, bare is `departed`;
- today's object unmatched: `arrived`, flagged `suspect` where nothing changed.

A stayed object seen today only in part (cloud, nodata or the drop's edge over part of its
box) keeps the identification it had the day before: its silhouette is cut today, and a
cut-off Il-76 must not become a C-17 overnight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import lap
import numpy as np

from detect.identify.catalogue import types_named
from detect.identify.match import IDENTITY
from detect.identify.sightings import chain, measurement, separation, sighting
from detect.tracked import Event, TrackedObject

INFEASIBLE = 1e6  # the cost of a pair the gates rule out


@dataclass(frozen=True)
class TrackParams:
    """What day-over-day matching and events decide by. Shares are of an object's box."""

    unknown_at: float = 0.3  # share unseen today beyond which an object's fate is unknown
    # (higher: fewer `unknown`, more fates guessed through cloud)
    changed_at: float = 0.1  # share changed that counts as change at an object (higher: more
    # missed objects `recovered` and more new ones `suspect`)
    hazy_at: float = 0.02  # share unseen on either day that makes a box's size uncertain
    hazy_slack: float = 3.0  # such a box's size gate is this many times as wide
    gate_share: float = 0.25  # a centre may move this share of the object's length a day,
    gate_min_m: float = 4.0  # and at least this many metres (wider: more matched)
    size_px: float = 2.0  # a box side may differ by this many pixels plus
    size_share: float = 0.12  # this share for aircraft and helicopters (wider: more matched)
    vehicle_size_share: float = 0.3  # and this share for vehicles, whose small boxes vary more
    turn_deg: float = 30.0  # a pair's turn costs as much as moving a whole gate per this much
    other_type_cost: float = 0.5  # a pair of other reported types costs this much more
    apart_sigmas: float = 4.0  # two aircraft of other types measured this many sigmas of both
    apart_share: float = 0.1  # looks apart are two (a figure within this share counts as none)
    alike_min: float = 0.5  # two aircraft whose days' images correlate under this in grey
    alike_colour_min: float = 0.8  # level and under this in colour are two,
    alike_pixel_m: float = 0.7  # at pixels this fine (metres) or finer


Follow = Callable[[TrackedObject, TrackedObject, bool], TrackedObject]
Likeness = Callable[[np.ndarray], tuple[float, float]]  # of a box's corners: grey, colour


@dataclass
class Evidence:
    """Fractions of a box (map-coordinate corners) that the change maps flag."""

    changed: Callable[[np.ndarray], float]  # changed since the previous day
    unknown: Callable[[np.ndarray], float]  # unseen on either day: no day-over-day evidence
    unseen: Callable[[np.ndarray], float]  # unseen today (cloud, nodata, outside the drop)
    occupied: Callable[[np.ndarray], float]  # unlike the empty reference today
    alike: Likeness  # how alike the two days' images are (correlation of grey and colour)


def axis_diff(a: float, b: float) -> float:
    """Degrees between two undirected lines at angles `a` and `b` (degrees)."""
    d = abs(a - b) % 180
    return min(d, 180 - d)


def _box(corners, metres_per_unit: float) -> tuple[float, float, float]:
    """(long side m, short side m, azimuth of the long side mod 180) of a box's corners. The
    detector's box of the same object is stable from day to day, unlike a silhouette."""
    c = np.asarray(corners, float)
    sides = [c[1] - c[0], c[2] - c[1]]
    lengths = [metres_per_unit * float(np.hypot(*v)) for v in sides]
    k = int(np.argmax(lengths))
    azimuth = float(np.degrees(np.arctan2(sides[k][0], sides[k][1]))) % 180
    return lengths[k], lengths[1 - k], azimuth


def _position_gate(length_m: float, tp: TrackParams) -> float:
    """How far (m) the same object's centre may move from one day to the next."""
    return max(tp.gate_min_m, tp.gate_share * length_m)


def _size_gate(klass: str, size: float, pixel_m: float, tp: TrackParams) -> float:
    """How far (m) the same object's box side may differ from one day to the next (an An-72,
    28 m, and an An-12, 33 m, on the same stand differ)."""
    share = tp.vehicle_size_share if klass == "vehicle" else tp.size_share
    return tp.size_px * pixel_m + share * size


def cost_matrix(prev: list[TrackedObject], cur: list[TrackedObject], metres_per_unit: float,
                pixel_m: float, hazy: frozenset[int] = frozenset(),
                cut: frozenset[int] = frozenset(), alike: Likeness | None = None,
                tp: TrackParams = TrackParams()) -> np.ndarray:
    """Matching cost of each (previous, current) pair; INFEASIBLE beyond the gates: another
    class, centres further apart than `_position_gate`, or box sides further apart than
    `_size_gate` (`hazy_slack` times that for the current objects in `hazy`, seen through
    cloud edges that blur their boxes), or other types measured apart
    (`_measured_apart`), or any two seen clear (not in `hazy`) but unlike (`_unlike`, by
    `alike` of both boxes' corners); neither for the current objects in `cut`, seen today
    only in part.
    A helicopter's box spans its rotor, so its axis says nothing and only aircraft and
    vehicles pay for turning."""
    cost = np.full((len(prev), len(cur)), INFEASIBLE)
    pbox = [_box(p.corners, metres_per_unit) for p in prev]
    cbox = [_box(c.corners, metres_per_unit) for c in cur]
    for i, p in enumerate(prev):
        for j, c in enumerate(cur):
            if p.klass != c.klass:
                continue
            (pl, pw, pa), (cl, cw, ca) = pbox[i], cbox[j]
            gate = _position_gate(max(pl, cl), tp)
            dist = metres_per_unit * float(np.hypot(p.x - c.x, p.y - c.y))
            dsize = max(abs(pl - cl) / _size_gate(p.klass, max(pl, cl), pixel_m, tp),
                        abs(pw - cw) / _size_gate(p.klass, max(pw, cw), pixel_m, tp))
            if dist > gate or dsize > (tp.hazy_slack if j in hazy else 1.0):
                continue
            same = _same_type(p.type, c.type)
            if j not in cut and ((not same and _measured_apart(p, c, pixel_m, tp)) or (
                    j not in hazy and _unlike(p, c, alike, pixel_m, tp))):
                continue
            turn = 0.0 if p.klass == "helicopter" else axis_diff(pa, ca) / tp.turn_deg
            cost[i, j] = dist / gate + turn + dsize + (0.0 if same else tp.other_type_cost)
    return cost


def _same_type(a: str | None, b: str | None) -> bool:
    """Whether two reported types may be one aircraft: the same label, or labels that share a
    catalogue type ("Il-76" and "Il-76 or Tu-95", "Su-27" and "Flanker")."""
    return a == b or bool({t.name for t in types_named(a)} & {t.name for t in types_named(b)})


def _measured_apart(p: TrackedObject, c: TrackedObject, pixel_m: float, tp: TrackParams) -> bool:
    """Whether the measurements tell two aircraft: the previous object's latest sighting (its
    own, or where it was seen in part the one it handed on) and the current object's own lie
    more than `apart_sigmas` of both looks apart over length, span and wing sweep (a Tu-154 on
    the stand an Il-76 left, whose detector boxes are as large; a Su-30SM on a Su-24's,
    measured 2 m narrower, 3.5 sigmas, and swept 23 deg more), however the current one is
    read: which side of its box is the fuselage is a call that may fall the other way from
    one day to the next (`Measurement.read_across`)."""
    a, b = next(iter(chain(p)), None), sighting(c.props)
    if a is None or b is None:
        return False
    before, now = measurement(a, pixel_m), measurement(b, pixel_m)
    return min(separation(before, now, tp.apart_share),
               separation(before, now.read_across(), tp.apart_share)) > tp.apart_sigmas


def _unlike(p: TrackedObject, c: TrackedObject, alike: Likeness | None, pixel_m: float,
            tp: TrackParams) -> bool:
    """Whether two aircraft's days' images over their boxes correlate under `alike_min` in
    grey level and under `alike_colour_min` in colour: another airliner at the gate one left,
    framed and measured alike (a stay whose shading turned with the sun still correlates in
    colour). Only at pixels of `alike_pixel_m` or finer: coarser, a fuselage is a few pixels
    wide, and its shading and blurred shadow turn with the sun."""
    if alike is None or p.klass != "aircraft" or pixel_m > tp.alike_pixel_m:
        return False
    grey, colour = alike(np.vstack([p.corners, c.corners]))
    return grey < tp.alike_min and colour < tp.alike_colour_min


def _taken(p: TrackedObject, cur: list[TrackedObject], metres_per_unit: float,
           tp: TrackParams) -> bool:
    """Whether a current object of any class now stands where `p` stood."""
    gate = _position_gate(_box(p.corners, metres_per_unit)[0], tp)
    return any(metres_per_unit * np.hypot(p.x - c.x, p.y - c.y) <= gate for c in cur)


def match(prev: list[TrackedObject], cur: list[TrackedObject], metres_per_unit: float,
          pixel_m: float, hazy: frozenset[int] = frozenset(), cut: frozenset[int] = frozenset(),
          alike: Likeness | None = None, tp: TrackParams = TrackParams()
          ) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs under the gates."""
    if not prev or not cur:
        return []
    return optimal_pairs(cost_matrix(prev, cur, metres_per_unit, pixel_m, hazy, cut, alike, tp))


def optimal_pairs(cost: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of a cost matrix that pair the most rows and columns under
    INFEASIBLE, and of those the least total cost."""
    _, paired, _ = lap.lapjv(cost, extend_cost=True, cost_limit=INFEASIBLE)
    return [(i, int(j)) for i, j in enumerate(paired) if j >= 0 and cost[i, j] < INFEASIBLE]


def _own_identity(obj: TrackedObject) -> TrackedObject:
    """`obj` with the identification measured on its own day (undoing `_kept_identity` and
    `follow`)."""
    props = obj.props
    own = props.get("measured_identity")
    if own is None and "sightings" not in props:
        return obj
    props = {k: v for k, v in props.items() if k not in ("measured_identity", "sightings")}
    if own is None:
        return replace(obj, props=props)
    return replace(obj, type=own["type"], props={**props, **own})


def _kept_identity(before: TrackedObject, now: TrackedObject) -> TrackedObject:
    """`now`, seen only in part today, with the identification of `before` (the same object
    the day before); its own is kept under `measured_identity`."""
    if before.type in (None, now.type):
        return now
    kept = {k: v for k, v in before.props.items() if k in IDENTITY}
    kept["type_evidence"] = "partly hidden today, identified as on the day before: " + \
        kept.get("type_evidence", "")
    own = {"type": now.type, **{k: v for k, v in now.props.items() if k in IDENTITY}}
    return replace(now, type=before.type,
                   props={**now.props, **kept, "measured_identity": own})


def events(prev: list[TrackedObject], cur: list[TrackedObject], evidence: Evidence,
           metres_per_unit: float, pixel_m: float, follow: Follow | None = None,
           tp: TrackParams = TrackParams()
           ) -> tuple[list[Event], list[TrackedObject], list[TrackedObject]]:
    """Events against the previous day; the previous objects carried into today (recovered
    ones as present, unknown ones as unseen) so that tomorrow can still match them; and
    today's objects, those seen only in part keeping the identification they had, the others
    identified by `follow` (before, now, seen whole) over their earlier sightings.
    `metres_per_unit` converts map units to ground metres; `pixel_m` is the ground sample
    distance the boxes were measured at."""
    cur = [_own_identity(c) for c in cur]
    unknown_now = [evidence.unknown(np.asarray(c.corners)) for c in cur]
    hazy = frozenset(j for j, u in enumerate(unknown_now) if u > tp.hazy_at)
    cut = frozenset(j for j, c in enumerate(cur)
                    if evidence.unseen(np.asarray(c.corners)) > tp.hazy_at)
    pairs = match(prev, cur, metres_per_unit, pixel_m, hazy, cut, evidence.alike, tp)
    for i, j in pairs:
        whole = j not in cut
        if not whole:
            cur[j] = _kept_identity(prev[i], cur[j])
        if follow is not None:
            cur[j] = follow(prev[i], cur[j], whole)
    matched_prev = {i for i, _ in pairs}
    matched_cur = {j for _, j in pairs}
    out, carried = [], []
    next_idx = max((c.idx for c in cur), default=-1) + 1
    for i, j in pairs:
        out.append(Event.of("stayed", cur[j], [], prev[i].idx, cur[j].idx))
    for i, p in enumerate(prev):
        if i in matched_prev:
            continue
        corners = np.asarray(p.corners)
        if evidence.unknown(corners) > tp.unknown_at:  # no day-over-day evidence here
            still = evidence.occupied(corners) > tp.unknown_at
        else:
            still = evidence.changed(corners) < tp.changed_at
        still = still and not _taken(p, cur, metres_per_unit, tp)
        if evidence.unseen(corners) > tp.unknown_at:
            out.append(Event.of("unknown", p, ["not visible"], p.idx, next_idx))
            carried.append(replace(p, status="unknown", idx=next_idx))
            next_idx += 1
        elif still:
            out.append(Event.of("stayed", p, ["recovered"], p.idx, next_idx))
            carried.append(replace(p, status="recovered", idx=next_idx))
            next_idx += 1
        else:
            out.append(Event.of("departed", p, [], p.idx))
    for j, c in enumerate(cur):
        if j in matched_cur:
            continue
        quiet = unknown_now[j] <= tp.unknown_at and \
            evidence.changed(np.asarray(c.corners)) < tp.changed_at
        flags = ["suspect"] if quiet else []
        out.append(Event.of("arrived", c, flags, current=c.idx))
    return out, carried, cur
