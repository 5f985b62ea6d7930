"""The records a day's run hands from identification to the report: `TrackedObject`, one object
of a day as tracked and stored, and `Event`, what became of an object since the day before.

Both are typed and frozen; they become dicts only at the edges: the history's rows (`row`,
`from_row`), detections.geojson (`features`) and report.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from detect.geo import polygon_geometry, to_lonlat
from detect.identify.catalogue import types_named
from detect.objects import Objects

NAMED_AT = 0.8  # the confidence at which reports and alerts name a type (or a role)


def _column(name: str) -> str:
    """The stored name of a field: `klass` is stored and published as `class`."""
    return "class" if name == "klass" else name


def _field(column: str) -> str:
    """The field a stored column holds."""
    return "klass" if column == "class" else column


@dataclass(frozen=True)
class TrackedObject:
    """One object of a day. `props` are its published properties (detections.geojson): the
    detector's fields, its measurement and identification (`detect.identify`), and once
    followed over days, its earlier `sightings` and `measured_identity`
    (`detect.identify.sightings`)."""

    idx: int  # the object's number on its day
    status: str  # detected (seen today), recovered (missed where nothing changed) or unknown
    # (unseen today: cloud, nodata, outside the drop), the last two carried from the day before
    klass: str  # aircraft, helicopter or vehicle
    type: str | None  # the reported type (a type, family, "A or B", or "unknown")
    zone: str | None  # the site's zone it stands in, None outside every zone
    confidence: float  # the detector's
    x: float  # box centre in the base grid's CRS
    y: float
    lon: float  # box centre in WGS84
    lat: float
    length_m: float  # measured length (ground metres; the box's long side where unmeasured)
    span_m: float | None  # measured wing or rotor span (None where unmeasured)
    heading_deg: float  # nose direction, clockwise from north
    corners: list[list[float]]  # the box's four corners in the base grid's CRS
    props: dict = field(default_factory=dict)

    @property
    def type_confidence(self) -> float | None:
        return self.props.get("type_confidence")

    @property
    def role(self) -> str | None:
        return self.props.get("role")

    @property
    def role_confidence(self) -> float | None:
        return self.props.get("role_confidence")

    def row(self) -> dict:
        """The history's row: `COLUMNS`, `corners` and `props`."""
        return {_column(f.name): getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: dict) -> TrackedObject:
        return cls(**{f.name: row.get(_column(f.name)) for f in fields(cls)})


COLUMNS = tuple(_column(f.name) for f in fields(TrackedObject)
                if f.name not in ("corners", "props"))  # the history's plain columns


def tracked(objects: Objects, zone_of: Callable[[float, float], str | None]
            ) -> list[TrackedObject]:
    """A day's detected objects (in a CRS) as tracked objects, in the zones `zone_of` tells."""
    centres = objects.centres
    lon, lat = to_lonlat(objects.crs, centres[:, 0], centres[:, 1]) if len(objects) else ([], [])
    out = []
    for i, props in enumerate(objects.records()):
        x, y = (float(v) for v in centres[i])
        out.append(TrackedObject(
            i, "detected", props["class"], props.get("type"), zone_of(x, y),
            props["confidence"], x, y, float(lon[i]), float(lat[i]), props["length_m"],
            props.get("span_m"), props["heading_deg"], objects.corners[i].round(3).tolist(),
            props))
    return out


def features(objects: list[TrackedObject], crs: str) -> dict:
    """detections.geojson: each object's props with its status and zone, in WGS84."""
    feats = []
    for o in objects:
        c = np.asarray(o.corners)
        feats.append({"type": "Feature", "properties": {**o.props, "status": o.status,
                                                        "zone": o.zone},
                      "geometry": polygon_geometry(*to_lonlat(crs, c[:, 0], c[:, 1]))})
    return {"type": "FeatureCollection", "features": feats}


EVENT_COLUMNS = ("kind", "class", "type", "zone", "lon", "lat", "confidence")  # an event's
# plain columns in the history, after its number and date


@dataclass(frozen=True)
class Event:
    """What became of an object between the day before and today. Events read back from the
    history carry no type or role confidence."""

    kind: str  # stayed, arrived, departed or unknown (unseen today)
    klass: str
    type: str | None
    zone: str | None
    lon: float
    lat: float
    confidence: float | None  # the detector's, of the object the event is about
    flags: list[str]  # recovered (missed, nothing changed), suspect (new, nothing changed),
    # not visible
    previous: int | None = None  # the object's idx the day before
    current: int | None = None  # its idx today (carried objects get a new one)
    type_confidence: float | None = None
    role: str | None = None
    role_confidence: float | None = None

    @classmethod
    def of(cls, kind: str, obj: TrackedObject, flags: list[str], previous: int | None = None,
           current: int | None = None) -> Event:
        return cls(kind, obj.klass, obj.type, obj.zone, obj.lon, obj.lat, obj.confidence,
                   flags, previous, current, obj.type_confidence, obj.role,
                   obj.role_confidence)

    @property
    def detail(self) -> dict[str, int]:
        """The objects the event links, by their idx: `previous`, `current` or both."""
        return {k: v for k, v in (("previous", self.previous), ("current", self.current))
                if v is not None}

    def row(self) -> dict:
        """The history's row (without its number and date): `EVENT_COLUMNS`' own, `flags`
        and `detail`."""
        return {**{c: getattr(self, _field(c)) for c in EVENT_COLUMNS}, "flags": self.flags,
                "detail": self.detail}

    @classmethod
    def from_row(cls, row: dict) -> Event:
        detail = row.get("detail", {})
        return cls(**{_field(c): row.get(c) for c in EVENT_COLUMNS},
                   flags=row.get("flags", []), previous=detail.get("previous"),
                   current=detail.get("current"))


def label(obj: TrackedObject | Event, named_at: float = NAMED_AT) -> str:
    """What a summary calls an object (or an event's object): its type (family, or either of
    two) where its identification holds `named_at` of the posterior, else its role where that
    does, else `unknown <class>`; a vehicle is a `vehicle`. One without a type confidence
    (an event read back from the history) is named by its type."""
    if obj.klass == "vehicle":
        return "vehicle"
    if obj.type and obj.type != "unknown" and (obj.type_confidence is None
                                               or obj.type_confidence >= named_at):
        return obj.type
    if obj.role and (obj.role_confidence or 0.0) >= named_at:
        return obj.role
    return f"unknown {obj.klass}"


def named_roles(obj: TrackedObject | Event) -> set[str]:
    """The roles of what a report names an object (`label`): its named type's (or types'),
    else its named role; none where it names neither."""
    named = label(obj)
    return {t.role for t in types_named(named)} or ({named} if named == obj.role else set())
