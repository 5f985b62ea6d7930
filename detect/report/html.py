"""report.html: one self-contained file (every image embedded, no script, no network) made
from a stored day (`StoredDay`, read from the history by the caller) and the day's stored
images, plus overlay.png. `detect run` and `detect report` both call `render_day`, so their
output is byte-identical."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from detect.atomic import atomic_path, write_text
from detect.dayfiles import DayFiles
from detect.grid import Grid
from detect.history import DayRecord
from detect.report.history import counts_svg
from detect.report.markdown import summary_lines
from detect.site import Site
from detect.tracked import Event, label

OVERLAY_WIDTH = 1200
COLOURS = {"stayed": (62, 138, 43), "arrived": (12, 89, 232), "departed": (77, 30, 166),
           "unknown": (150, 142, 134), "first": (194, 113, 25)}  # BGR


def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    return buf.tobytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(rgb, 0, 255).astype(np.uint8).transpose(1, 2, 0)[..., ::-1])


def _px(grid: Grid, corners) -> np.ndarray:
    c = np.asarray(corners)
    cols, rows = grid.to_pixel(c[:, 0], c[:, 1])
    return np.column_stack([cols, rows]) - 0.5


def overlay(image: np.ndarray, grid: Grid, site: Site, marks: list[tuple[str, list, str]]
            ) -> np.ndarray:
    """The day's overview `image` (RGB, at most OVERLAY_WIDTH wide) with zones and every
    object's outline, coloured by event and labelled."""
    img = _bgr(image)
    scale = img.shape[1] / grid.width
    for z in site.zones:
        for poly in getattr(z.polygon, "geoms", [z.polygon]):
            pts = _px(grid, np.asarray(poly.exterior.coords)) * scale
            cv2.polylines(img, [np.round(pts).astype(np.int32)], True, (200, 120, 30), 1,
                          cv2.LINE_AA)
            x, y = pts.min(axis=0)
            cv2.putText(img, z.name, (int(x) + 3, int(y) + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (200, 120, 30), 1, cv2.LINE_AA)
    for kind, corners, text in marks:
        pts = np.round(_px(grid, corners) * scale).astype(np.int32)
        cv2.polylines(img, [pts], True, COLOURS[kind], 2, cv2.LINE_AA)
        x, y = pts.max(axis=0)
        cv2.putText(img, text, (int(x) + 2, int(y)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    COLOURS[kind], 1, cv2.LINE_AA)
    return img


def change_map(image: np.ndarray, score: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Heat colours of the change `score` over the grey `image`, `unknown` areas hatched, all
    three at the overview's scale."""
    grey = cv2.cvtColor(_bgr(image), cv2.COLOR_BGR2GRAY)
    base = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    score = np.nan_to_num(score, nan=0.0)
    heat = cv2.applyColorMap((score * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    a = np.clip(score * 1.5, 0, 0.85).astype(np.float32)
    out = cv2.blendLinear(base, heat, 1 - a, a)
    rows, cols = np.ogrid[:score.shape[0], :score.shape[1]]
    out[unknown & (((rows + cols) // 4) % 3 == 0)] = (60, 200, 230)
    return out


def chip(day: DayFiles, grid: Grid, corners, size_m: float) -> np.ndarray:
    """A full-resolution square crop of a stored day centred on an object (black off the
    base grid)."""
    c = _px(grid, corners).mean(axis=0)
    half = int(round(size_m / grid.pixel_m / 2))
    r0, c0 = int(round(c[1])) - half, int(round(c[0])) - half
    return _bgr(day.chip((slice(r0, r0 + 2 * half), slice(c0, c0 + 2 * half))))


def _zone_rows(report: dict, previous: dict | None) -> list[dict]:
    zones = []
    before = previous["counts"]["by_zone"] if previous else {}
    for name in sorted(set(report["counts"]["by_zone"]) | set(before)):
        now = Counter(report["counts"]["by_zone"].get(name, {}).get("by_type", {}))
        was = Counter(before.get(name, {}).get("by_type", {}))
        rows = [{"type": t, "count": now[t], "delta": now[t] - was[t]}
                for t in sorted(set(now) | set(was))]
        zones.append({"name": name, "rows": rows})
    return zones


@dataclass(frozen=True)
class StoredDay:
    """What the history holds for a day that its report shows."""

    report: dict
    record: DayRecord
    events: list[Event]
    counts: dict[str, dict[str, int]]  # by type, every day up to this one
    previous: DayRecord | None = None
    previous_report: dict | None = None


def render_day(site: Site, day: StoredDay, today: DayFiles, before: DayFiles | None,
               grid: Grid) -> tuple[str, bytes]:
    """report.html text and overlay.png bytes of a stored day, from its stored rasters (and
    the day before's) on the base `grid`."""
    report, rec, prev, events = day.report, day.record, day.previous, day.events
    marks, cards = [], []
    by_idx = {o.idx: o for o in rec.objects}
    prev_idx = {o.idx: o for o in prev.objects} if prev else {}
    for e in events:
        obj = prev_idx[e.previous] if e.kind == "departed" else by_idx[e.current]
        marks.append((e.kind, obj.corners, label(obj)))
        if e.kind in ("arrived", "departed") and before is not None:
            size = 1.6 * max(obj.length_m or 10, obj.span_m or 10) + 10
            cards.append({
                "kind": e.kind, "label": label(obj), "zone": obj.zone or "-",
                "flags": e.flags,
                "before": _b64(_png(chip(before, grid, obj.corners, size))),
                "after": _b64(_png(chip(today, grid, obj.corners, size))),
                "evidence": obj.props.get("type_evidence", ""),
                "confidence": obj.confidence,
                "type_confidence": obj.type_confidence})
    if prev is None:
        marks = [("first", o.corners, label(o)) for o in rec.objects]
    image = today.overview(OVERLAY_WIDTH)
    over = _png(overlay(image, grid, site, marks))
    picture = change_map(image, *today.change_overview(OVERLAY_WIDTH))
    html = Environment(loader=PackageLoader("detect.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"])).get_template(
        "report.html.j2").render(
        r=report, summary=summary_lines(report),
        zones=_zone_rows(report, day.previous_report),
        overlay=_b64(over), cards=cards, change=_b64(_png(picture)),
        plot=Markup(counts_svg(day.counts, site.name)))
    return html, over


def write_html(folder: Path, html: str, over: bytes) -> None:
    write_text(folder / "report.html", html)
    with atomic_path(folder / "overlay.png") as tmp:
        tmp.write_bytes(over)
