"""The change evidence at an object's box (`detect.track.Evidence`), read from the stored days
in a window around the box: the day-over-day change and both days' images, and, where the day
before could not see, today against the empty reference, worked out on the box's sector."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from detect.dayfiles import FAINT, UNKNOWN, DayFiles, Images, Layers
from detect.imagery.change import Change, ChangeParams, fraction_in, fraction_of_object, likeness
from detect.sectorwise import Base, reference_change
from detect.track import Evidence


@dataclass(frozen=True)
class Around:
    """Both days and the change over a window around a box, and the box in its pixels."""

    before: Images
    today: Images
    change: Layers
    corners: np.ndarray


def evidence(before: DayFiles, today: DayFiles, base: Base, cp: ChangeParams = ChangeParams()
             ) -> Evidence:
    """Evidence from today's stored change against the day before (see `Change`), measured
    over the object's own pixels (see `fraction_of_object`)."""
    grid = base.grid
    pad = cp.ring_px + cp.alike_search_px + 2  # read around a box: its ring, the likeness
    # search and the box's rounding to whole pixels

    @lru_cache(maxsize=1024)
    def around(key: bytes) -> Around:
        px = np.frombuffer(key).reshape(-1, 2)
        (c0, r0), (c1, r1) = np.floor(px.min(axis=0)), np.ceil(px.max(axis=0))
        c0, r0 = max(int(c0) - pad, 0), max(int(r0) - pad, 0)
        c1, r1 = min(int(c1) + pad + 1, grid.width), min(int(r1) + pad + 1,
                                                                 grid.height)
        window = slice(r0, max(r1, r0)), slice(c0, max(c1, c0))
        return Around(before.images(window), today.images(window), today.layers(window),
                      px - [c0, r0])

    def at(corners: np.ndarray) -> Around:
        c, r = grid.to_pixel(corners[:, 0], corners[:, 1])
        return around(np.ascontiguousarray(np.column_stack([c, r]) - 0.5).tobytes())

    def changed(corners: np.ndarray) -> float:
        a = at(corners)
        return fraction_of_object(a.change.layer(FAINT), a.corners,
                                  [a.before.rgb, a.today.rgb], cp)

    def unseen(corners: np.ndarray) -> float:
        a = at(corners)
        return fraction_in(a.today.unseen | ~a.today.valid, a.corners)

    def alike(corners: np.ndarray) -> tuple[float, float]:
        a = at(corners)
        return likeness(a.before.rgb, a.today.rgb, a.corners, cp)

    return Evidence(changed=changed,
                    unknown=lambda c: fraction_in(at(c).change.layer(UNKNOWN), at(c).corners),
                    unseen=unseen, occupied=_occupied(today, base, cp), alike=alike)


def _occupied(today: DayFiles, base: Base, cp: ChangeParams):
    """How much of a box is unlike the empty reference today, from its sector's change against
    the reference (one sector's held at a time: asked for only where the day before could
    not see)."""
    @lru_cache(maxsize=1)
    def bare(k: int) -> tuple[Change, Images]:
        s = base.sectors[k]
        images = today.images(s.window, sector=True)
        return reference_change(base.scene(s.grid), images), images

    def occupied(corners: np.ndarray) -> float:
        k = int(base.sector_of(corners[None])[0])
        (change, images), s = bare(k), base.sectors[k]
        cols, rows = base.grid.to_pixel(corners[:, 0], corners[:, 1])
        px = np.column_stack([cols - s.col0, rows - s.row0]) - 0.5
        return fraction_of_object(change.faint, px, [images.rgb], cp)

    return occupied
