"""Bring a day onto its reference: register, warp, find clouds, normalise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.errors import DetectError
from detect.imagery import normalise
from detect.imagery.change import ChangeParams, cloud_mask
from detect.imagery.ingest import Scene
from detect.imagery.normalise import NormaliseParams
from detect.imagery.register import (
    RegisterParams,
    Registration,
    register,
    warp_gray,
    warp_valid,
)


class RegistrationError(DetectError):
    """A day that cannot be registered to the reference."""


@dataclass
class Aligned:
    """A day registered and normalised onto the reference grid."""

    rgb: np.ndarray  # (3, rows, cols) float32, normalised to the reference
    valid: np.ndarray
    cloud: np.ndarray
    registration: Registration
    normalisation: normalise.Normalisation

    @property
    def cloud_fraction(self) -> float:
        return float(self.cloud[self.valid].mean()) if self.valid.any() else 1.0


def align(ref: Scene, day: Scene, rp: RegisterParams = RegisterParams(),
          norm: NormaliseParams = NormaliseParams(), cp: ChangeParams = ChangeParams()
          ) -> Aligned:
    """Register `day` (already on the reference grid) onto `ref` and normalise it."""
    reg = register(ref.gray, ref.valid, day.gray, day.valid, rp)
    if not reg.success:
        r = reg.report()
        raise RegistrationError(
            f"registration failed: {r['tie_points']} good tie points (need "
            f"{rp.min_tie_points}), residual "
            f"{r['residual_rmse_px']} px; the day may be clouded, empty or of another place")
    rgb = np.stack([warp_gray(b, reg.matrix, ref.grid.shape) for b in day.rgb])
    valid = warp_valid(day.valid, reg.matrix, ref.grid.shape) & ref.valid
    first = normalise.fit(rgb, ref.rgb, valid, params=norm)
    cloud = cloud_mask(first.apply(rgb), ref.rgb, valid, ref.grid.pixel_m, cp)
    fitted = normalise.fit(rgb, ref.rgb, valid & ~cloud, params=norm)
    return Aligned(fitted.apply(rgb), valid, cloud, reg, fitted)
