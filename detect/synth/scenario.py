"""Who stands where on each day: a scripted start that follows a news-like story, then seeded
random comings and goings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.synth.scene import Layout
from detect.synth.shapes import TRUCK


@dataclass(frozen=True)
class Placement:
    """One object on one day: its identity, type and stand."""

    id: str
    type: str
    stand: str


Day = dict[str, Placement]  # stand id -> placement

# Day 1: two An-124 and an Il-76 on the main apron, Su-34s in shelters.
# Day 2: one An-124 has left, another Il-76 and a Ka-52 have arrived, an Su-34 stands on the
# apron to refuel, two trucks are parked by the transports.
# Day 3: (a cloud hides part of the apron) a truck leaves, the Su-34 is back in its shelter,
# an Mi-8 arrives. Day 4: an Il-76 and the Ka-52 leave, an An-26, an Su-24 and an Su-25 arrive.
_SCRIPT: list[dict[str, tuple[str, str]]] = [
    {"T1": ("a1", "An-124"), "T2": ("a2", "An-124"), "T3": ("b1", "Il-76"),
     "S1": ("f1", "Su-34"), "S2": ("f2", "Su-34"), "S3": ("f3", "Su-34"), "S4": ("f4", "Su-34")},
    {"T1": ("a1", "An-124"), "T3": ("b1", "Il-76"), "T4": ("b2", "Il-76"),
     "S1": ("f1", "Su-34"), "S2": ("f2", "Su-34"), "S3": ("f3", "Su-34"), "F1": ("f4", "Su-34"),
     "H1": ("k1", "Ka-52"), "V1": ("v1", TRUCK), "V3": ("v2", TRUCK)},
    {"T1": ("a1", "An-124"), "T3": ("b1", "Il-76"), "T4": ("b2", "Il-76"),
     "S1": ("f1", "Su-34"), "S2": ("f2", "Su-34"), "S3": ("f3", "Su-34"), "S4": ("f4", "Su-34"),
     "H1": ("k1", "Ka-52"), "H2": ("m1", "Mi-8"), "V3": ("v2", TRUCK)},
    {"T1": ("a1", "An-124"), "T2": ("c1", "An-26"), "T3": ("b1", "Il-76"),
     "S1": ("f1", "Su-34"), "S2": ("f2", "Su-34"), "S3": ("f3", "Su-34"), "S4": ("f4", "Su-34"),
     "F1": ("s1", "Su-24"), "F2": ("s2", "Su-25"), "H2": ("m1", "Mi-8")},
]

POOLS = {
    "heavy": ["An-124", "Il-76", "Il-78", "An-26", "An-12", "An-72", "Tu-154", "Il-20", "An-30"],
    "fighter": ["Su-34", "Su-24", "Su-25", "Su-30SM", "Su-35"],
    "heli": ["Ka-52", "Mi-8", "Mi-24", "Mi-28"],
    "vehicle": [TRUCK],
}


def _next_day(prev: Day, layout: Layout, rng: np.random.Generator, serial: list[int]) -> Day:
    """Random day: each object leaves with some probability, free stands fill from the pools."""
    day: Day = {s: p for s, p in prev.items() if rng.random() > 0.3}
    for stand in layout.stands:
        if stand.id not in day and rng.random() < 0.35:
            serial[0] += 1
            kind = POOLS[stand.size][rng.integers(len(POOLS[stand.size]))]
            day[stand.id] = Placement(f"n{serial[0]}", kind, stand.id)
    return day


def make_scenario(days: int, layout: Layout, rng: np.random.Generator) -> list[Day]:
    """Placements for `days` consecutive days."""
    out: list[Day] = []
    serial = [0]
    for d in range(days):
        if d < len(_SCRIPT):
            out.append({s: Placement(i, t, s) for s, (i, t) in _SCRIPT[d].items()})
        else:
            out.append(_next_day(out[-1], layout, rng, serial))
    return out


def events(prev: Day, cur: Day) -> list[tuple[str, Placement]]:
    """Events at each stand: `stayed` when the same object is there on both days, otherwise
    `departed` for the one that was there and `arrived` for the one that is there now."""
    out = []
    for stand in sorted(set(prev) | set(cur)):
        p, c = prev.get(stand), cur.get(stand)
        if p and c and p.id == c.id:
            out.append(("stayed", c))
            continue
        if p:
            out.append(("departed", p))
        if c:
            out.append(("arrived", c))
    return out
