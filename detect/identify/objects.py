"""Identify every object of an `Objects` container from the image it was found on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from detect.identify.appearance import APPEARANCE_WEIGHTS
from detect.identify.calibration import Calibration, of_model
from detect.identify.match import IDENTITY, Identification, Prior, catalogue_fit, identify
from detect.identify.measure import FIGURES, Measurement, box_measurement, measure
from detect.objects import Objects


class DatasetImage:
    """A rasterio dataset read in a window around each object (memory stays small)."""

    def __init__(self, ds, reader):
        self.ds, self.reader = ds, reader
        self.crs = ds.crs.to_string() if ds.crs else None

    def around(self, corners: np.ndarray):
        cols, rows = ~self.ds.transform @ (corners[:, 0], corners[:, 1])
        pad = 0.6 * max(np.ptp(cols), np.ptp(rows)) + 16
        c0, r0 = int(cols.min() - pad), int(rows.min() - pad)
        size = int(max(np.ptp(cols), np.ptp(rows)) + 2 * pad)
        win = Window(c0, r0, size, size)
        img = self.reader.read(win, size).transpose(2, 0, 1).astype(np.float32)
        return img, window_transform(win, self.ds.transform), None


def identified(m: Measurement, klass: str, prior: Prior | None,
               calibration: Calibration | None = None) -> tuple[Measurement, Identification]:
    """An aircraft's measurement read along the side of its box that more likely holds the
    fuselage, and its identification. Each reading is as likely as the fuselage-side model
    says (`Measurement.fuselage_p`; even odds where it was not asked) times how well its
    figures fit the catalogue's types as `prior` weighs them (`catalogue_fit`): the box's
    proportions tell its side only through the types the aircraft may be, for an airliner's
    span never much exceeds its length and a straight-winged transport's does. Its
    probabilities are calibrated by `calibration` (by default the shipped look-class model's,
    see `detect.identify.calibration`)."""
    if klass != "aircraft" or not m.ok:
        return m, identify(m, klass, prior, calibration=calibration)
    turned = m.read_across()
    side = 0.5 if m.fuselage_p is None else m.fuselage_p
    odds = (1 - side) * catalogue_fit(turned, klass, prior) / (
        side * catalogue_fit(m, klass, prior))
    if odds <= 1:
        return m, identify(m, klass, prior, calibration=calibration)
    other = identify(turned, klass, prior, calibration=calibration)
    return turned, replace(other, evidence=f"{other.evidence}; read across the box's other "
                                           f"side, {odds:.1f} times likelier over the "
                                           "catalogue's types")


def identify_objects(objects: Objects, source, gsd: float, prior: Prior | None = None,
                     scale_sigma: float = 0.0, look_model: Path = APPEARANCE_WEIGHTS
                     ) -> Objects:
    """Add measured size, heading and type fields to each object (types weighed by `prior`,
    see `detect.identify.match.site_prior`; `scale_sigma`, the relative error of `gsd`;
    `look_model`, the look-class model's weights, whose card calibrates the type's
    probabilities).
    `source.around(corners)` gives the image around an object's box, its pixel->map transform
    and the empty reference on the same pixels (None where there is none)."""
    if not len(objects):
        return objects
    fields: dict[str, list] = {k: [] for k in (*FIGURES, *IDENTITY)}
    calibration = of_model(look_model)
    lengths, widths, axes = objects.length_m, objects.width_m, objects.axis_deg
    for i in range(len(objects)):
        box = float(lengths[i]), float(widths[i])
        if objects.klass[i] == "vehicle":  # no planform to measure: the box is the figure
            m = box_measurement(*box, float(axes[i]), gsd)
        else:
            image, transform, reference = source.around(objects.corners[i])
            m = measure(image, source.crs, transform, objects.corners[i], float(axes[i]), *box,
                        objects.klass[i] == "helicopter", gsd, reference,
                        look_model=look_model)
        m, ident = identified(replace(m, scale_sigma=scale_sigma), objects.klass[i], prior,
                              calibration)
        for key, value in (*m.figures().items(), *ident.fields().items()):
            fields[key].append(value)
    extra = dict(objects.extra)
    for k, v in fields.items():
        arr = np.empty(len(v), dtype=object)
        arr[:] = v
        extra[k] = arr
    return Objects(objects.corners, objects.klass, objects.confidence, objects.crs, objects.gsd,
                   extra)
