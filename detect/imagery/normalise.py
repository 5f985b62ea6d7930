"""Radiometric normalisation: find no-change pixels, fit a per-band linear mapping of the day
onto the reference, so that sun, haze and sensor differences are not change.

No-change pixels are found the way IR-MAD weights them, simplified: iterate a per-band robust
linear fit, score each pixel by its chi-square of standardised residuals over all bands, and
keep the pixels below the 99% chi-square quantile as invariant for the next fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHI2_3_99 = 11.345  # 99% quantile of chi-square with 3 degrees of freedom
SAMPLE = 50_000  # pixels the fit samples: enough to fix two figures a band to 1e-3


@dataclass
class Normalisation:
    gain: np.ndarray  # per band
    offset: np.ndarray
    no_change_fraction: float

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """gain * band + offset, clipped to 0..255, computed in float64 a band at a time."""
        out = np.empty(rgb.shape, np.float32)
        for band, gain, offset, dest in zip(rgb, self.gain, self.offset, out, strict=True):
            x = band * np.float64(gain)
            x += offset
            np.clip(x, 0, 255, out=x)
            dest[:] = x
        return out

    def report(self) -> dict:
        return {"gain": [round(float(g), 4) for g in self.gain],
                "offset": [round(float(o), 3) for o in self.offset],
                "no_change_fraction": round(self.no_change_fraction, 4)}


def fit(day: np.ndarray, ref: np.ndarray, mask: np.ndarray, iterations: int = 6,
        seed: int = 0) -> Normalisation:
    """Fit day -> reference per band on pixels where `mask` (both valid, not cloud) holds."""
    idx = np.flatnonzero(mask.ravel())
    if idx.size < 100:
        return Normalisation(np.ones(day.shape[0]), np.zeros(day.shape[0]), 0.0)
    if idx.size > SAMPLE:
        idx = np.random.default_rng(seed).choice(idx, SAMPLE, replace=False)
    x = day.reshape(day.shape[0], -1)[:, idx].astype(float)
    y = ref.reshape(ref.shape[0], -1)[:, idx].astype(float)
    keep = np.ones(idx.size, bool)
    for _ in range(iterations):
        gain, offset = _line(x[:, keep], y[:, keep])
        resid = y - (gain[:, None] * x + offset[:, None])
        sigma = 1.4826 * np.median(np.abs(resid[:, keep] - np.median(resid[:, keep], axis=1,
                                                                       keepdims=True)), axis=1)
        chi2 = np.sum((resid / np.maximum(sigma, 1e-6)[:, None]) ** 2, axis=0)
        new = chi2 < CHI2_3_99
        if new.sum() < 100 or np.array_equal(new, keep):
            break
        keep = new
    return Normalisation(gain, offset, float(keep.mean()))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band (row), the least-squares line y = gain * x + offset."""
    mx, my = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    dx = x - mx
    gain = np.einsum("ij,ij->i", dx, y - my) / np.maximum(np.einsum("ij,ij->i", dx, dx), 1e-12)
    return gain, my[:, 0] - gain * mx[:, 0]
