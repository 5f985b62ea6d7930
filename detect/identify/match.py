"""Type likelihoods from measured length and span against the catalogue.

Each candidate type scores a Gaussian likelihood of the measured figures given its catalogue
figures, with the measurement's uncertainty widened by a model tolerance (variants, parked wing
sweep, segmentation of wing tips), a swing-wing type's with its wings swept back where the
sweep read says they are (see `planform`). Posteriors are normalised over the candidates. Types
that cannot be told apart are reported as their family, two look-alikes of different families
(or two of different roles that fit about as well, see `MatchParams.role_margin`) as either of
them. The answer is always the best call, with its probability as `confidence`; where it holds
under `named_at` of the posterior its evidence says it fits several types about as well, and
reports name it only at a confidence they trust (`detect.tracked.label`). Only a measurement
far from every type is `unknown`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from detect.identify.appearance import APPEARANCE_WEIGHTS, look_class
from detect.identify.calibration import Calibration, of_model
from detect.identify.catalogue import AircraftType, load_catalogue
from detect.identify.measure import Measurement, MeasureParams

FIELDS = ("military", "civil", "joint")  # the kinds of airfield a site may declare
Prior = Mapping[str, float]  # prior weight per catalogue type name (1 where absent)


@dataclass(frozen=True)
class MatchParams:
    """What the type call decides by. Distances are in sigmas of the measurement."""

    tolerance: float = 0.03  # relative model tolerance on catalogue figures (variants,
    # parked wing sweep, wing tips; wider: fits looser, calls less sure)
    max_distance: float = 3.5  # beyond this a type does not fit (lower: more `unknown`)
    within_family: float = 0.8  # share of its family's likelihood a type needs to be named
    # over its siblings (else the family is named)
    heli_length_sigma_m: float = 2.0  # added to a helicopter's length sigma: its fuselage is
    # hidden under its rotor
    sweep_cap: float = 2.5  # a sweep fit gone astray counts at most this far (its tail is heavy)
    named_at: float = 0.3  # share of the posterior under which an answer (with its look-alike)
    # is a guess among several types that fit about as well, as its evidence then says
    resolved: float = 2.5  # two types closer than this in sigmas of the pixel alone cannot be
    # told apart (a measurement halfway names the wrong one more than one time in ten)
    role_margin: float = 2.0  # a family is named alone only where it is this many times as
    # likely as any family of another role; else both (either), or none where it already has a
    # look-alike (higher: more "A or B", fewer role errors)
    variant_ends_px: float = 1.5  # pixels more on a length by which variants of one airframe
    # must differ (a stretched nose, a tail sting, a probe, which a coarse pixel loses)
    unlikely: float = 0.1  # prior weight of a type the site makes unlikely: named over a likely
    # one only where its figures fit about ten times better (2.1 sigmas closer)
    off_catalogue_sigmas: float = 2.5  # an aircraft the catalogue lacks, or one misread, is as
    # likely as a listed type this far away (higher: surer calls; 0.95 at 0 sigma, 0.8 at 1.9)
    alternatives: int = 2  # how many other types an answer lists with their probabilities
    radome_seen: float = 0.45  # share of aircraft with a radome whose disc is found (about
    # half: 5 of the tuned real crops' 9 A-50 trials)
    radome_false: float = 0.02  # share of aircraft without one where a disc is found, held
    # above what is seen (none of the tuned crops' 78 found trials of other types, nor of the
    # Airbus training sites' 2356 aircraft) lest one false disc name an A-50 alone
    look_floor: float = 0.2  # share of a look's class probabilities spread evenly over the
    # classes: the look model, learned from few real aircraft, is sure and wrong at times, and a
    # type whose class it rules out keeps this share (higher: the look weighs less)
    edge_sigma_px: float = MeasureParams.edge_sigma_px  # one sigma of a measured edge, pixels

    @property
    def off_catalogue(self) -> float:
        return math.exp(-0.5 * self.off_catalogue_sigmas**2)


def site_prior(types: Sequence[str] | None = None, field: str | None = None,
               mp: MatchParams = MatchParams()) -> Prior | None:
    """The prior a site's `types:` list and `field:` kind put on the catalogue: `unlikely` for
    a type outside the list (by name or family), and for a type only civil operators fly at a
    military field or one only air forces fly at a civil field (the catalogue's `service`;
    `unlikely` squared where both hold); None where neither is given. A prior weighs the call
    and never forbids it: an aircraft that fits only an unlikely type is still named so."""
    if types is None and field in (None, "joint"):
        return None
    prior = {}
    for t in load_catalogue().values():
        weight = 1.0
        if types is not None and t.name not in types and t.family not in types:
            weight *= mp.unlikely
        if (field, t.service) in (("military", "civil"), ("civil", "military")):
            weight *= mp.unlikely
        prior[t.name] = weight
    return prior


# an object's fields that hold its identification
IDENTITY = ("type", "type_level", "type_confidence", "type_alternatives", "type_likeliest",
            "type_evidence", "role", "role_confidence")


@dataclass(frozen=True)
class Identification:
    type: str  # a type, a family, "<family> or <family>" (look-alikes, roles tied) or "unknown"
    level: str  # "type", "family", "either" or "unknown"
    confidence: float
    alternatives: list[dict]  # the likeliest types the answer does not name: type, score
    # (their probability, as `confidence` is the answer's)
    evidence: str
    role: str | None
    family: str | None
    role_confidence: float = 0.0  # the posterior share of the types of `role`
    likeliest: dict | None = None  # the likeliest of what the answer names: of "A or B" the
    # likelier, else the answer itself; type and score (its probability); None where unknown

    def fields(self) -> dict:
        """The identification as an object's `IDENTITY` fields."""
        return dict(zip(IDENTITY, (self.type, self.level, self.confidence, self.alternatives,
                                   self.likeliest, self.evidence, self.role,
                                   self.role_confidence), strict=True))


def planform(t: AircraftType, m: Measurement) -> AircraftType:
    """A type as a measurement shows it: a swing-wing type with its wings swept back (see
    `AircraftType.swept`) where the wing sweep read lies nearer its swept angle than its
    spread one, else as the catalogue lists it. Its sweep tells a swept wing: without it, the
    swept figures fall among other types' misread ones."""
    swept = t.swept()
    if swept is None or m.sweep_deg is None:
        return t
    return swept if abs(m.sweep_deg - swept.sweep_deg) < abs(m.sweep_deg - t.sweep_deg) else t


def distance(m: Measurement, t: AircraftType, mp: MatchParams = MatchParams()) -> float:
    """How many sigmas a measurement lies from a type as it shows it (see `planform`), over
    length (where seen), span and wing sweep (where read); a share of each figure, the
    catalogue's tolerance and the pixel size's error (`Measurement.scale_sigma`), widens its
    sigma."""
    return _planform_distance(m, planform(t, m), mp)


def _planform_distance(m: Measurement, t: AircraftType, mp: MatchParams) -> float:
    share = math.hypot(mp.tolerance, m.scale_sigma)
    s_len = _length_sigma(math.hypot(m.sigma_m, share * t.length_m), t, mp)
    s_span = math.hypot(m.sigma_m, share * t.span_m)
    sweep = 0.0 if m.sweep_deg is None or t.is_helicopter else sweep_distance(
        m.sweep_deg, t.sweep_deg, m.sweep_sigma_deg, mp)
    length = (m.length_m - t.length_m) / s_len if m.length_seen else 0.0
    return math.hypot(length, (m.span_m - t.span_m) / s_span, sweep)


def _fused_distance(ms: Sequence[Measurement], t: AircraftType, mp: MatchParams) -> float:
    """The root mean square of several measurements' distances to a type: the geometric mean
    of their likelihoods, for their errors are not independent (the same stand, the same
    detector, often the same sun), and only a figure that fits every look fits."""
    return math.sqrt(sum(distance(x, t, mp) ** 2 for x in ms) / len(ms))


def radome_odds(ms: Sequence[Measurement], t: AircraftType,
                mp: MatchParams = MatchParams()) -> float:
    """How much likelier the radome's evidence is for type `t` than for a type without one: a
    disc found favours a type with a radome, none found (where it was looked for) counts
    against it; over several measurements, their geometric mean (see `_fused_distance`)."""
    if not t.radome_m:
        return 1.0
    odds = [mp.radome_seen / mp.radome_false if m.radome_m else
            (1 - mp.radome_seen) / (1 - mp.radome_false) for m in ms if m.radome_m is not None]
    return math.exp(sum(map(math.log, odds)) / len(odds)) if odds else 1.0


def look_odds(ms: Sequence[Measurement], t: AircraftType,
              mp: MatchParams = MatchParams()) -> float:
    """How much likelier the looks are for type `t` than for a type of every class alike: its
    look class's probability (`Measurement.looks_like`, `look_floor` of it spread evenly) times
    the number of classes; over several measurements, their geometric mean (see
    `_fused_distance`)."""
    odds = [len(m.looks_like) * ((1 - mp.look_floor) * m.looks_like.get(look_class(t), 0.0) +
                                 mp.look_floor / len(m.looks_like))
            for m in ms if m.looks_like and not t.is_helicopter]
    return math.exp(sum(map(math.log, odds)) / len(odds)) if odds else 1.0


def _earlier(earlier: Sequence[Measurement]) -> str:
    if not earlier:
        return ""
    figures = ", ".join(f"{x.length_m:.1f} x {x.span_m:.1f} m" for x in earlier)
    plural = "s" if len(earlier) > 1 else ""
    return f", and on {len(earlier)} earlier day{plural} {figures}"


def _length_sigma(sigma: float, t: AircraftType, mp: MatchParams) -> float:
    """A length's sigma, widened for a helicopter, whose fuselage hides under its rotor."""
    return math.hypot(sigma, mp.heli_length_sigma_m) if t.is_helicopter else sigma


def sweep_distance(a: float, b: float, sigma: float, mp: MatchParams = MatchParams()) -> float:
    """How many sigmas two wing sweeps (degrees) lie apart, counting a fit gone astray at
    most `sweep_cap`."""
    return _robust((a - b) / sigma, mp.sweep_cap)


def _robust(z: float, cap: float) -> float:
    """A residual of `z` sigmas under a Gaussian with an outlier floor: close to |z| near the
    figure, never more than `cap` however far (the likelihood of a fit gone astray)."""
    floor = math.exp(-0.5 * cap**2)
    return math.sqrt(max(-2 * math.log((math.exp(-0.5 * z * z) + floor) / (1 + floor)), 0.0))


def candidates(klass: str) -> list[AircraftType]:
    """Catalogue types an object of detector class `klass` may be."""
    want = "helicopter" if klass == "helicopter" else "fixed-wing"
    return [t for t in load_catalogue().values() if t.klass == want]


def _figures(m: Measurement, helicopter: bool) -> str:
    if helicopter:
        fuselage = f"fuselage {m.length_m:.1f} m" if m.length_seen else \
            "fuselage not told from its shadow or neighbours"
        return f"{fuselage}, rotor {m.span_m:.1f} m"
    sweep = "" if m.sweep_deg is None else f", sweep {m.sweep_deg:.0f} deg"
    dish = f", a radome {m.radome_m:.1f} m across" if m.radome_m else ""
    seen = ""
    if m.looks_like:
        top = max(m.looks_like, key=m.looks_like.get)
        seen = f", looks like {top} ({m.looks_like[top]:.2f})"
    return f"length {m.length_m:.1f} m, span {m.span_m:.1f} m{sweep}{dish}{seen}"


def identify(m: Measurement, klass: str, prior: Prior | None = None,
             earlier: Sequence[Measurement] = (), mp: MatchParams = MatchParams(),
             calibration: Calibration | None = None) -> Identification:
    """The most likely type (or family, or unknown) for a measured object, each type's
    likelihood weighed by its `prior` (see `site_prior`), with the posterior share of its
    role; with `earlier` measurements of the same object (see `detect.identify.sightings`),
    over all of them. The probabilities of the answer, its likeliest and its alternatives are
    calibrated by `calibration` (see `detect.identify.calibration`; by default the shipped
    look-class model's)."""
    cal = of_model(APPEARANCE_WEIGHTS) if calibration is None else calibration
    ident, post, total = _identified(m, klass, prior, earlier, mp)
    listed = total / (total + mp.off_catalogue)  # the chance it is a catalogue type at all
    cat = load_catalogue()
    share = sum(p for name, p in post.items() if cat[name].role == ident.role)
    families = set(ident.type.split(" or ")) if ident.level in ("family", "either") else set()
    others = sorted((n for n in post if n != ident.type and cat[n].family not in families),
                    key=lambda n: -post[n])  # the types the answer does not name
    ident = replace(ident, confidence=round(cal(ident.confidence * listed), 3),
                    role_confidence=round(share * listed, 3) if ident.role else 0.0,
                    alternatives=[{"type": n, "score": round(cal(post[n] * listed), 3)}
                                  for n in others[:mp.alternatives]])
    return replace(ident, likeliest=_likeliest(ident, post, listed, cal))


def _likeliest(ident: Identification, post: dict[str, float], listed: float,
               cal: Calibration) -> dict | None:
    """The likeliest of what an answer names, with its calibrated probability: of "A or B"
    the family whose types hold more of the posterior (each type's `post` times `listed`),
    else the answer itself."""
    if ident.level == "unknown":
        return None
    if ident.level != "either":
        return {"type": ident.type, "score": ident.confidence}
    cat = load_catalogue()
    held = {f: sum(p for n, p in post.items() if cat[n].family == f)
            for f in ident.type.split(" or ")}
    top = max(held, key=held.get)
    return {"type": top, "score": round(cal(held[top] * listed), 3)}


def catalogue_fit(m: Measurement, klass: str, prior: Prior | None = None,
                  mp: MatchParams = MatchParams()) -> float:
    """How likely the measurement is under the catalogue: each family's likelihood (its
    likeliest member's, weighed by `prior`, the radome and the look), summed, and that of an
    aircraft the catalogue lacks (`off_catalogue`)."""
    return _identified(m, klass, prior, (), mp)[2] + mp.off_catalogue


def _identified(m: Measurement, klass: str, prior: Prior | None,
                earlier: Sequence[Measurement], mp: MatchParams
                ) -> tuple[Identification, dict[str, float], float]:
    """`identify`'s answer, the posterior of every candidate type, and the summed (prior
    weighed) likelihood of their families."""
    helicopter = klass == "helicopter"
    types = candidates(klass)
    weight = {t.name: (prior or {}).get(t.name, 1.0) for t in types}
    scale = f", scale +-{m.scale_sigma:.0%}" if m.scale_sigma else ""
    measured = _figures(m, helicopter) + f" (+-{m.sigma_m:.1f} m{scale})" + _earlier(earlier)
    if klass == "vehicle" or not types:
        return Identification("unknown", "unknown", 0.0, [], measured, None, None), {}, 0.0
    looks = [m, *earlier]
    d = {t.name: _fused_distance(looks, t, mp) for t in types}
    like = {t.name: weight[t.name] * math.exp(-0.5 * d[t.name] ** 2) *
            radome_odds(looks, t, mp) * look_odds(looks, t, mp) for t in types}
    types = [planform(t, m) for t in types]  # as today's look shows each, quoted so
    # a family is as likely as its likeliest member, however many variants the catalogue lists
    fit: dict[str, float] = {}
    summed: dict[str, float] = {}
    for t in types:
        fit[t.family] = max(fit.get(t.family, 0.0), like[t.name])
        summed[t.family] = summed.get(t.family, 0.0) + like[t.name]
    total = sum(fit.values())
    share = {t.name: like[t.name] / max(summed[t.family], 1e-300) for t in types}
    post = {t.name: fit[t.family] / total * share[t.name] if total > 0 else 0.0 for t in types}
    ranked = sorted(types, key=lambda t: (-fit[t.family], -like[t.name], d[t.name]))
    best = ranked[0]
    if d[best.name] > mp.max_distance:
        near = ", ".join(f"{t.name} is {t.length_m:g} x {t.span_m:g}" for t in ranked[:2])
        return Identification("unknown", "unknown", 0.0, [],
                              f"{measured}; nothing in the catalogue fits (nearest: {near})",
                              None, None), post, total
    family = fit[best.family] / total
    ref = _ref(best, m)
    rival, tied = _beside(best, [t for t in ranked if weight[t.name] >= weight[best.name]], d,
                          fit, m, mp)
    third = rival and _other_role(ranked, d, fit, {best.family, rival.family}, mp)
    note = ""
    if third or family + (0.0 if rival is None else fit[rival.family] / total) < mp.named_at:
        shown = _family_leaders(ranked)[:3]
        note = "; it fits several types about as well (" + ", ".join(
            _ref(t, m) for t in shown + [t for t in (rival, third) if t and t not in shown]) + ")"
    if rival is not None:
        either = " or ".join(sorted((best.family, rival.family)))
        why = "the figures fit both about as well, and their roles differ" if tied else \
            "the two cannot be told apart at this resolution"
        return Identification(either, "either", round(family + fit[rival.family] / total, 3),
                              [], f"{measured}; {ref}, {_ref(rival, m)} ({why}){note}",
                              best.role if best.role == rival.role else None, None), post, total
    members = [t for t in types if t.family == best.family]
    if len(members) > 1 and (share[best.name] < mp.within_family or not all(
            _resolved(best, t, m, mp, mp.variant_ends_px) for t in members if t is not best)):
        roles = {t.role for t in members}
        return Identification(best.family, "family", round(family, 3), [],
                              f"{measured}; {ref} ({'/'.join(t.name for t in members)} cannot "
                              f"be told apart here){note}", best.role if len(roles) == 1 else None,
                              best.family), post, total
    return Identification(best.name, "type", round(post[best.name], 3), [],
                          f"{measured}; {ref}{note}", best.role, best.family), post, total


def _beside(best: AircraftType, ranked: list[AircraftType], d: dict[str, float],
            fit: dict[str, float], m: Measurement, mp: MatchParams
            ) -> tuple[AircraftType | None, bool]:
    """The type whose family is reported beside the likeliest's, if any: a look-alike (see
    `_lookalikes`), else one of another role about as likely (see `_other_role`); and
    whether it is the latter."""
    lookalike = next((t for t in ranked if t.family != best.family
                      and d[t.name] <= mp.max_distance and _lookalikes(best, t, m, mp)), None)
    if lookalike is not None:
        return lookalike, False
    tied = _other_role(ranked, d, fit, {best.family}, mp)
    return tied, tied is not None


def _other_role(ranked: list[AircraftType], d: dict[str, float], fit: dict[str, float],
                named: set[str], mp: MatchParams) -> AircraftType | None:
    """The likeliest type outside the `named` families, of a role none of their members has,
    that fits within `role_margin` of the likeliest family: then the figures do not settle the
    role, and naming one would risk the costliest error (a fighter called a bomber)."""
    roles = {t.role for t in ranked if t.family in named}
    top = max(fit[f] for f in named)
    return next((t for t in ranked if t.family not in named and t.role not in roles
                 and d[t.name] <= mp.max_distance and mp.role_margin * fit[t.family] >= top),
                None)


def _family_leaders(ranked: list[AircraftType]) -> list[AircraftType]:
    """The first-ranked type of each family, in rank order."""
    leaders: dict[str, AircraftType] = {}
    for t in ranked:
        leaders.setdefault(t.family, t)
    return list(leaders.values())


def _lookalikes(a: AircraftType, b: AircraftType, m: Measurement, mp: MatchParams) -> bool:
    """Whether no measurement here tells two types apart: they are the same size within the
    catalogue's tolerance (Mi-24 and Mi-28; Il-76 and Tu-95, whose sweeps differ, where no
    sweep was measured), or closer than the image resolves (a Su-34 is 1.4 m longer than a
    Su-27: 1.4 pixels at 1 m)."""
    if _dish_tells(a, b, m):
        return False
    same = all(abs(x - y) <= mp.tolerance * max(x, y) for x, y in ((a.length_m, b.length_m),
                                                                (a.span_m, b.span_m)))
    if same and not (_swept(a, m) and abs(a.sweep_deg - b.sweep_deg) > m.sweep_sigma_deg):
        return True
    return not _resolved(a, b, m, mp)


def _dish_tells(a: AircraftType, b: AircraftType, m: Measurement) -> bool:
    """Whether a radome found tells two types apart: one has one, the other not."""
    return bool(m.radome_m) and bool(a.radome_m) != bool(b.radome_m)


def _swept(t: AircraftType, m: Measurement) -> bool:
    """Whether a wing sweep was measured that bears on type `t`."""
    return m.sweep_deg is not None and not t.is_helicopter


def _resolved(a: AircraftType, b: AircraftType, m: Measurement, mp: MatchParams,
              ends: float = 0.0) -> bool:
    """Whether the figures of two types differ by `resolved` sigmas of the pixel alone (with
    `ends` pixels more on a length, and the pixel size's own error) and of the sweep, where
    measured."""
    if m.pixel_m is None or _dish_tells(a, b, m):
        return True
    edge = math.hypot(mp.edge_sigma_px * m.pixel_m, m.scale_sigma * a.span_m)
    length = (a.length_m - b.length_m) / _length_sigma(math.hypot(
        math.hypot(mp.edge_sigma_px, ends) * m.pixel_m, m.scale_sigma * a.length_m), a, mp) \
        if m.length_seen else 0.0
    sweep = (a.sweep_deg - b.sweep_deg) / m.sweep_sigma_deg if _swept(a, m) else 0.0
    return math.hypot(length, (a.span_m - b.span_m) / edge, sweep) >= mp.resolved


def _ref(t: AircraftType, m: Measurement) -> str:
    """A type's catalogue figures, as the evidence quotes them."""
    sweep = "" if m.sweep_deg is None or t.is_helicopter else f", {t.sweep_deg:g} deg"
    wings = " (wings swept)" if t.is_swept else ""
    return f"{t.name} is {t.length_m:g} x {t.span_m:g}{sweep}{wings}"
