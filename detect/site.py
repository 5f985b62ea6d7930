"""`Site`: the base's configuration (site.yaml and its zones), validated on load.

    name: sample-base          # the base's name
    crs: EPSG:32636            # the base grid's CRS
    gsd: 0.5                   # metres per pixel of the base grid
    reference: reference.tif   # the reference image (relative to site.yaml), or `first`
    zones: zones.geojson       # named polygons (WGS84), property `name`
    types: [An-124, Il-76]     # optional: the types (or families) expected: a prior, the others
                               # are named only where they fit ten times better
    field: military            # optional: military, civil or joint (default): a prior against
                               # the civil types at a military field and the other way round
    rules: [...]               # optional: alert rules (see detect.rules)
    notify: [json://host/path] # optional: Apprise URLs that fired alerts are sent to
    stac_asset: visual         # optional: the asset key of STAC items to read (default: the
                               # assets with role visual, else data; see detect.imagery.stac)

Any other key is an error (a misspelt `rules:` must not drop every rule silently). Zones are
valid polygons in WGS84 longitude/latitude, unless the GeoJSON declares its CRS with a `crs`
member (`{"type": "name", "properties": {"name": "EPSG:32636"}}`, as QGIS writes it).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import Point, shape
from shapely.ops import unary_union
from shapely.validation import explain_validity

from detect.errors import DetectError
from detect.geo import WGS84, reproject_geometry
from detect.identify.catalogue import types_named
from detect.identify.match import FIELDS, Prior, site_prior
from detect.rules import RuleError, parse_rules


class SiteError(DetectError):
    """A site.yaml that cannot be used; the message names the file and field."""


@dataclass
class Zone:
    name: str
    polygon: object  # shapely geometry in the site CRS


@dataclass
class Site:
    path: Path
    name: str
    crs: str
    gsd: float
    reference: Path | None  # None: adopt the first clear day
    zones: list[Zone]
    types: list[str] | None = None
    rules: list = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    airfield: str | None = None  # `field:` military, civil or joint
    stac_asset: str | None = None  # the asset key of STAC items to read

    @property
    def prior(self) -> Prior | None:
        """The prior `types:` and `field:` put on identification (see `site_prior`)."""
        return site_prior(self.types, self.airfield)

    @property
    def area(self):
        """The union of the zones (shapely, in the site CRS): where the base is looked at."""
        return unary_union([z.polygon for z in self.zones])

    @property
    def folder(self) -> Path:
        return self.path.parent

    def zone_of(self, x: float, y: float) -> str | None:
        """The zone containing a map point (the first listed wins), else None."""
        p = Point(x, y)
        return next((z.name for z in self.zones if z.polygon.contains(p)), None)

    @property
    def default_db(self) -> Path:
        return self.folder / "history.sqlite"

    @property
    def reports(self) -> Path:
        return self.folder / "reports"


FIELDS_KNOWN = ("name", "crs", "gsd", "reference", "zones", "types", "field", "rules",
                "notify", "stac_asset")


def _fail(path: Path, msg: str):
    raise SiteError(f"{path}: {msg}")


def _check_keys(path: Path, raw: dict) -> None:
    for key in raw:
        if key not in FIELDS_KNOWN:
            near = difflib.get_close_matches(str(key), FIELDS_KNOWN, n=1)
            hint = f"did you mean `{near[0]}`? " if near else ""
            _fail(path, f"unknown field `{key}`: {hint}known fields: {', '.join(FIELDS_KNOWN)}")


def load_site(path: str | Path) -> Site:
    """Read and validate a site.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        _fail(path, f"cannot read: {exc}")
    if not isinstance(raw, dict):
        _fail(path, "must be a mapping of fields (name, crs, gsd, reference, zones)")
    _check_keys(path, raw)
    for key in ("name", "crs", "gsd", "reference", "zones"):
        if key not in raw:
            _fail(path, f"missing field `{key}`")
    try:
        crs = CRS.from_user_input(raw["crs"]).to_string()
    except CRSError:
        _fail(path, f"field `crs`: unknown CRS {raw['crs']!r}")
    gsd = raw["gsd"]
    if not isinstance(gsd, int | float) or not 0 < gsd <= 10:
        _fail(path, f"field `gsd`: must be metres per pixel in (0, 10], got {gsd!r}")
    reference = None
    if raw["reference"] != "first":
        reference = path.parent / str(raw["reference"])
        if not reference.is_file():
            _fail(path, f"field `reference`: {reference} does not exist (or write `first`)")
    zones = _zones(path, path.parent / str(raw["zones"]), crs)
    types = raw.get("types")
    if types is not None:
        if not isinstance(types, list) or not types:
            _fail(path, "field `types`: must be a list of catalogue types or families")
        bad = [t for t in types if not types_named(str(t))]
        if bad:
            _fail(path, f"field `types`: not in the catalogue: {', '.join(map(str, bad))}")
    airfield = raw.get("field")
    if airfield is not None and airfield not in FIELDS:
        _fail(path, f"field `field`: must be one of {', '.join(FIELDS)}, got {airfield!r}")
    try:
        rules = parse_rules(raw.get("rules"), {z.name for z in zones})
    except RuleError as exc:
        _fail(path, str(exc))
    notify = raw.get("notify") or []
    if not isinstance(notify, list) or not all(isinstance(u, str) for u in notify):
        _fail(path, "field `notify`: must be a list of Apprise URLs")
    stac_asset = raw.get("stac_asset")
    if stac_asset is not None and not isinstance(stac_asset, str):
        _fail(path, f"field `stac_asset`: must be an asset key, got {stac_asset!r}")
    return Site(path, str(raw["name"]), crs, float(gsd), reference, zones, types, rules,
                notify, raw, airfield, stac_asset)


def _zones(site_path: Path, path: Path, crs: str) -> list[Zone]:
    def fail(msg: str):
        _fail(site_path, f"field `zones`: {path}: {msg}")

    try:
        data = json.loads(path.read_text())
        features = data["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"cannot read it as a GeoJSON FeatureCollection ({exc})")
    declared = _declared_crs(data, fail)
    zones = []
    for i, f in enumerate(features):
        name = (f.get("properties") or {}).get("name")
        if not name:
            fail(f"feature {i} has no `name` property")
        geom = _polygon(f.get("geometry"), f"zone {name!r}", declared, fail)
        zones.append(Zone(name, reproject_geometry(geom, declared or WGS84, crs)))
    if not zones:
        fail("holds no zones")
    return zones


def _declared_crs(data: dict, fail) -> str | None:
    """The CRS a GeoJSON declares with a `crs` member, else None (WGS84)."""
    if "crs" not in data:
        return None
    try:
        return CRS.from_user_input(data["crs"]["properties"]["name"]).to_string()
    except (CRSError, KeyError, TypeError):
        fail(f"cannot use its `crs` member {data['crs']!r}: write "
             '{"type": "name", "properties": {"name": "EPSG:CODE"}}')


def _polygon(geometry, what: str, declared: str | None, fail):
    """A zone's geometry, checked: a valid, non-empty (multi)polygon in range of WGS84
    unless the file declares another CRS."""
    try:
        geom = shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        fail(f"{what}: not a GeoJSON geometry ({exc})")
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        fail(f"{what}: must be a Polygon or MultiPolygon, got {geom.geom_type}")
    if not geom.is_valid:
        fail(f"{what}: not a valid polygon ({explain_validity(geom)}); fix it, e.g. in QGIS "
             "with Vector > Geometry Tools > Fix Geometries")
    minx, miny, maxx, maxy = geom.bounds
    in_range = max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90
    if declared is None and not in_range:
        fail(f"{what}: coordinates ({minx:.6g}, {miny:.6g}) are not WGS84 longitude/latitude; "
             "are they projected metres? Reproject the zones to WGS84 or declare their CRS "
             'with a `crs` member: {"type": "name", "properties": {"name": "EPSG:CODE"}}')
    return geom
