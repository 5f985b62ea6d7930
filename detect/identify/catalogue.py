"""The aircraft type catalogue shipped with the package (one CSV row per type)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

CIVIL_ROLES = frozenset({"airliner", "business jet"})  # the roles only civil aircraft fly


@dataclass(frozen=True)
class AircraftType:
    """One catalogue row. For helicopters `length_m` is the fuselage, `span_m` the rotor."""

    name: str
    family: str
    klass: str  # "fixed-wing" or "helicopter"
    role: str
    length_m: float
    span_m: float
    sweep_deg: float
    engines: int
    service: str  # who flies it: "military", "civil" or "both" (a field's prior, see
    # `detect.identify.match.site_prior`)
    source: str
    radome_m: float = 0.0  # the diameter of a radome's disc above the fuselage, if it has one
    swept_span_m: float = 0.0  # a swing wing's span swept fully back (0: a fixed wing); a
    # swing-wing aircraft is parked with its wings spread or swept
    swept_deg: float = 0.0  # and its leading-edge sweep then

    @property
    def is_helicopter(self) -> bool:
        return self.klass == "helicopter"

    @property
    def is_swept(self) -> bool:
        """Whether these are a swing-wing type's figures with its wings swept back."""
        return bool(self.swept_span_m) and self.span_m == self.swept_span_m

    def swept(self) -> AircraftType | None:
        """A swing-wing type with its wings swept back (`swept_span_m`, `swept_deg`); None
        for a fixed wing."""
        if not self.swept_span_m:
            return None
        return replace(self, span_m=self.swept_span_m, sweep_deg=self.swept_deg)


@cache
def load_catalogue() -> dict[str, AircraftType]:
    """All catalogue types by name."""
    text = files("detect.identify").joinpath("catalogue.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        r["name"]: AircraftType(
            name=r["name"],
            family=r["family"],
            klass=r["class"],
            role=r["role"],
            length_m=float(r["length_m"]),
            span_m=float(r["span_m"]),
            sweep_deg=float(r["sweep_deg"]),
            engines=int(r["engines"]),
            service=r["service"],
            source=r["source"],
            radome_m=float(r["radome_m"] or 0),
            swept_span_m=float(r["swept_span_m"] or 0),
            swept_deg=float(r["swept_deg"] or 0),
        )
        for r in rows
    }


def get_type(name: str) -> AircraftType:
    """One type by name, with an error that lists the known names."""
    catalogue = load_catalogue()
    if name not in catalogue:
        raise KeyError(f"unknown aircraft type {name!r}; known: {', '.join(sorted(catalogue))}")
    return catalogue[name]


@cache
def types_named(label: str | None) -> tuple[AircraftType, ...]:
    """The catalogue types a reported label stands for: a type (a name that is both is the
    type), a family's members, or those of either of two ("Mi-24/35 or Mi-28");
    none for `unknown` or None."""
    cat = load_catalogue()
    return tuple(t for name in (label or "").split(" or ")
                 for t in ([cat[name]] if name in cat else
                           [t for t in cat.values() if t.family == name]))
