"""STAC in and out: a day's images from a STAC Item or ItemCollection (a JSON file or an
http(s) URL, read with pystac), and a STAC Item describing a processed day.

Which assets are images: the asset the site names (`stac_asset:` in site.yaml); else every
asset with the role `visual`; else every asset with the role `data`; in each case only assets
whose media type is a GeoTIFF, COG or JPEG 2000 (or that give none). Asset hrefs may be local
paths, http(s) URLs (read through GDAL's /vsicurl/ in windows, never downloaded whole) or
s3:// URLs (credentials from the usual AWS environment variables).
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import pystac
from pystac.utils import make_absolute_href

from detect.errors import DetectError

IMAGE_TYPES = {str(pystac.MediaType.COG), str(pystac.MediaType.GEOTIFF),
               str(pystac.MediaType.TIFF), str(pystac.MediaType.JPEG2000)}
ROLES = ("visual", "data")
# GDAL's HTTP reads: retries with backoff on transient errors (429, 5xx), no directory listing
REMOTE_ENV = {"GDAL_HTTP_MAX_RETRY": "4", "GDAL_HTTP_RETRY_DELAY": "1",
              "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
              "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.jp2,.TIF,.TIFF"}


class StacError(DetectError):
    """A STAC Item or ItemCollection that cannot be used as a drop."""


@dataclass(frozen=True)
class StacDrop:
    """The images of one day from STAC Items."""

    hrefs: list[str]  # absolute: local paths or URLs
    date: dt.date
    items: list[dict]  # per item: id, collection and the asset hrefs used (for report.json)


def is_stac(drop: str | Path) -> bool:
    """Whether a drop names STAC JSON (a .json file or an http(s) URL) rather than tiles."""
    text = str(drop)
    return text.startswith(("http://", "https://")) or text.lower().endswith(".json")


def read_stac(source: str | Path, asset_key: str | None = None) -> StacDrop:
    """The images and date of the Item or ItemCollection at `source`; every item must be
    of one date (one drop is one day)."""
    source = str(source)
    data = _read_json(source)
    try:
        if data.get("type") == "FeatureCollection":
            items = list(pystac.ItemCollection.from_dict(data, preserve_dict=False))
        else:
            items = [pystac.Item.from_dict(data, preserve_dict=False)]
    except (pystac.STACError, pystac.STACTypeError, KeyError, TypeError,
            ValueError, AttributeError) as exc:
        raise StacError(f"{source} is not a STAC Item or ItemCollection ({exc})") from exc
    if not items:
        raise StacError(f"{source} holds no STAC items: is the search empty?")
    dates = sorted({_date(item, source) for item in items})
    if len(dates) > 1:
        raise StacError(f"{source} holds items of {len(dates)} dates "
                        f"({', '.join(map(str, dates))}): give one date's items per drop")
    used, hrefs = [], []
    for item in items:
        assets = [make_absolute_href(a.href, source) for a in _images(item, asset_key, source)]
        used.append({"id": item.id, "collection": item.collection_id, "assets": assets})
        hrefs += assets
    return StacDrop(hrefs, dates[0], used)


def _read_json(source: str, tries: int = 4, delay_s: float = 1.0) -> dict:
    """The JSON at `source`, retried with doubling delays on transient HTTP errors (429, 5xx,
    no connection)."""
    for attempt in range(tries):
        try:
            return pystac.StacIO.default().read_json(source)
        except Exception as exc:  # pystac wraps an HTTP or file error in a bare Exception
            cause = exc.__cause__ or exc
            code = getattr(cause, "code", None)
            transient = isinstance(cause, urllib.error.URLError) and (
                code is None or code == 429 or code >= 500)
            if not transient or attempt == tries - 1:
                raise StacError(f"cannot read STAC {source}: {cause}") from exc
            time.sleep(delay_s * 2 ** attempt)


def _date(item: pystac.Item, source: str) -> dt.date:
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise StacError(f"{source}: item {item.id} has no datetime")
    return when.date()


def _images(item: pystac.Item, key: str | None, source: str) -> list[pystac.Asset]:
    def image(a: pystac.Asset) -> bool:
        return a.media_type is None or a.media_type in IMAGE_TYPES

    if key is not None:
        if key not in item.assets:
            raise StacError(f"{source}: item {item.id} has no asset {key!r} (it has "
                            f"{', '.join(item.assets)}); fix `stac_asset:` in site.yaml")
        return [item.assets[key]]
    for role in ROLES:
        found = [a for a in item.assets.values() if role in (a.roles or []) and image(a)]
        if found:
            return found
    raise StacError(f"{source}: item {item.id} has no image asset with the role visual or "
                    f"data (assets: {', '.join(item.assets)}); name one with `stac_asset:` "
                    "in site.yaml")


def day_item(report: dict, base_geometry: dict, bbox: list[float]) -> dict:
    """The STAC Item of a processed day (hrefs relative to its report folder): the base's
    geometry, the acquisition time (else the date), the report's counts as properties."""
    when = dt.datetime.fromisoformat(report["acquisition"]["acquired"] or report["date"])
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    events: dict[str, int] = {}
    for e in report["events"]:
        events[e["kind"]] = events.get(e["kind"], 0) + 1
    item = pystac.Item(
        id=f"{report['site']}-{report['date']}", geometry=base_geometry, bbox=bbox,
        datetime=when, properties={
            "title": f"{report['site']}: activity on {report['date']}",
            "detect:site": report["site"], "detect:total_aircraft": report["total_aircraft"],
            "detect:by_type": report["counts"]["by_type"],
            "detect:by_class": report["counts"]["by_class"], "detect:events": events,
            "detect:alerts": [a["rule"] for a in report["alerts"]]})
    assets = {"report": ("./report.json", pystac.MediaType.JSON, "metadata"),
              "report-html": ("./report.html", pystac.MediaType.HTML, "overview"),
              "detections": ("./detections.geojson", pystac.MediaType.GEOJSON, "data"),
              "image": ("./image.tif", pystac.MediaType.COG, "visual")}
    for key, (href, media, role) in assets.items():
        item.add_asset(key, pystac.Asset(href, media_type=media, roles=[role]))
    return item.to_dict(include_self_link=False, transform_hrefs=False)


def write_catalog(items: list[Path], folder: Path, site: str) -> Path:
    """A self-contained STAC catalog in `folder` of the days whose item.json are `items`;
    asset hrefs point at the report folders, relative to the catalog's copies."""
    catalog = pystac.Catalog(id=site, description=f"detect: daily activity reports of {site}")
    for path in items:
        item = pystac.Item.from_file(str(path))
        for asset in item.assets.values():
            asset.href = asset.get_absolute_href()
        catalog.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return folder / "catalog.json"
