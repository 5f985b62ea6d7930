"""Identify an object that stayed over its sightings of the days before, where they agree.

One look at 1 m per pixel measures an aircraft to a metre or two, and its type with it; the
same aircraft on the same stand seen again measures within its errors, and the looks together
tell the type better. A sighting that disagrees with today's (a look-alike that replaced the
aircraft overnight, a silhouette grown into a shadow) ends the chain: only the agreeing ones
count. Unless the type the earlier sightings name still fits today's look: then today's is
the poorer look (read across under a low sun, grown into a shadow), not another aircraft,
and they all count. Vehicles, which have no type, are not followed.

A tracked object (`detect.tracked`) carries its own measurement in its props (`length_m`, `span_m`,
`size_sigma_m`, `sweep_deg`, `sweep_sigma_deg`, `length_seen`) and, once followed, the earlier
agreeing sightings it was identified over (`sightings`, newest first) with the identification
of its own day under `measured_identity` (see `detect.track`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import takewhile

from detect.identify.catalogue import types_named
from detect.identify.match import IDENTITY, Prior, distance, identify, sweep_distance
from detect.identify.measure import FIGURES, Measurement
from detect.tracked import TrackedObject


@dataclass(frozen=True)
class SightingParams:
    """Which earlier sightings an object is identified over."""

    max_sightings: int = 3  # today's and the two before it
    agree_sigmas: float = 2.0  # two sightings of one object: length, span and sweep within
    # this many sigmas of both (lower: chains end sooner)
    still_fits: float = 3.0  # sigmas within which the type earlier sightings name still fits
    # today's look (higher: a swap on a stand is kept as one aircraft more often)


_FIGURES = tuple(k for k in FIGURES if k != "heading_deg")  # what a sighting keeps
_LATER = ("radome_m", "looks_like")  # figures that rows measured before they were kept lack


def sighting(props: dict) -> dict | None:
    """An object's own measurement, as a sighting (None for rows measured before sightings
    were kept)."""
    if any(k not in props for k in _FIGURES if k not in _LATER):
        return None
    return {k: props.get(k) for k in _FIGURES}


def measurement(s: dict, pixel_m: float) -> Measurement:
    """A sighting as a `Measurement` at `pixel_m` metres per pixel."""
    return Measurement.from_figures(s, pixel_m)


def agree(a: Measurement, b: Measurement, sp: SightingParams = SightingParams()) -> bool:
    """Whether two measurements may be one object: span (and length, where both saw the
    fuselage) within `agree_sigmas` of their combined uncertainty, and so is the wing sweep
    where both read it (a Su-24, 16 deg, where a Su-34 of about its size stood, 42)."""
    tol = sp.agree_sigmas * math.hypot(a.sigma_m, b.sigma_m)
    length = not (a.length_seen and b.length_seen) or abs(a.length_m - b.length_m) <= tol
    return length and _sweeps_apart(a, b) <= sp.agree_sigmas and \
        abs(a.span_m - b.span_m) <= tol


def _sweeps_apart(a: Measurement, b: Measurement) -> float:
    """How many sigmas of both looks two measured wing sweeps lie apart (see
    `match.sweep_distance`); none where either look read no sweep."""
    if a.sweep_deg is None or b.sweep_deg is None:
        return 0.0
    return sweep_distance(a.sweep_deg, b.sweep_deg, math.hypot(a.sweep_sigma_deg,
                                                                b.sweep_sigma_deg))


def separation(a: Measurement, b: Measurement, share: float) -> float:
    """How many sigmas of both looks two measurements lie apart, over span, length (where
    both saw the fuselage) and wing sweep (where both read it; see `match.sweep_distance`);
    a length or span within `share` of the figure counts as none."""
    sigma = math.hypot(a.sigma_m, b.sigma_m)

    def z(x: float, y: float) -> float:
        return abs(x - y) / sigma if abs(x - y) > share * max(x, y) else 0.0

    length = z(a.length_m, b.length_m) if a.length_seen and b.length_seen else 0.0
    return math.hypot(length, z(a.span_m, b.span_m), _sweeps_apart(a, b))


def _still_named(today: Measurement, earlier: list[Measurement], klass: str,
                 prior: Prior | None, sp: SightingParams) -> str | None:
    """What the earlier sightings name together (a type, a family, or either of two), where a
    type of it fits today's look within `still_fits`; else None. An aircraft read across under
    a low sun lies closer to what its earlier looks named than another aircraft on its stand
    does."""
    named = identify(earlier[0], klass, prior, earlier[1:]).type
    fits = any(distance(today, t) <= sp.still_fits for t in types_named(named))
    return named if fits else None


def _counted(today: Measurement, looks: list[tuple[dict, Measurement]], klass: str,
             prior: Prior | None, sp: SightingParams
             ) -> tuple[list[tuple[dict, Measurement]], str | None]:
    """The earlier looks that count with today's: those that agree with it, up to the first
    that does not; or all of them where what they name still fits today's look, which is
    returned too (see `_still_named`)."""
    agreeing = list(takewhile(lambda look: agree(today, look[1], sp), looks))
    if agreeing or not looks:
        return agreeing, None
    named = _still_named(today, [m for _, m in looks], klass, prior, sp)
    return (looks, named) if named else ([], None)


def chain(before: TrackedObject) -> list[dict]:
    """The sightings an object of the day before hands on, newest first: those it was
    followed over, else its own."""
    props = before.props
    if "sightings" in props:
        return list(props["sightings"])
    own = sighting(props)
    return [own] if own else []


def follow(before: TrackedObject, now: TrackedObject, whole: bool, pixel_m: float,
           prior: Prior | None = None, sp: SightingParams = SightingParams()
           ) -> TrackedObject:
    """`now`, the same object as `before` (the day before), identified over its own sighting
    and the agreeing ones before it, or all of them where the type they name still fits
    today's look (`sightings` then holds them all). A row not seen `whole` today (its
    measurement is cut) hands the earlier sightings on, and its identification stays as it
    is."""
    if now.klass == "vehicle":
        return now
    earlier = chain(before)[:sp.max_sightings - 1]
    props = now.props
    if not whole:
        return replace(now, props={**props, "sightings": earlier})
    own = sighting(props)
    if own is None:
        return now
    today = measurement(own, pixel_m)
    looks = [(s, measurement(s, pixel_m)) for s in earlier]
    agreeing, named = _counted(today, looks, now.klass, prior, sp)
    if not agreeing:
        return now
    ident = identify(today, now.klass, prior, [m for _, m in agreeing])
    if named:
        ident = replace(ident, evidence=f"{ident.evidence}; today's look lies beyond two sigmas "
                        f"of the earlier ones, but the {named} they name still fits it")
    own_identity = {k: props.get(k) for k in IDENTITY}
    return replace(now, type=ident.type,
                   props={**props, **ident.fields(),
                          "sightings": [own, *(s for s, _ in agreeing)],
                          "measured_identity": own_identity})
