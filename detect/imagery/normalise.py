"""Radiometric normalisation: find no-change pixels, fit a per-band linear mapping of the day
onto the reference, so that sun, haze and sensor differences are not change.

No-change pixels are found the way IR-MAD weights them, simplified: iterate a per-band robust
linear fit, score each pixel by its chi-square of standardised residuals over all bands, and
keep the pixels below a chi-square quantile as invariant for the next fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NormaliseParams:
    """What the normalisation decides by."""

    sample: int = 50_000  # pixels the fit samples (two figures a band are fixed to 1e-3)
    iterations: int = 6  # fits at most, each on the pixels the last one found unchanged
    keep_chi2: float = 11.345  # a pixel's chi-square (3 bands) under which it is unchanged:
    # the 99% quantile (higher: more pixels kept, changed ones among them)
    min_pixels: int = 100  # fewer usable pixels than this: no fit, the day is kept as it is


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


def fit(day: np.ndarray, ref: np.ndarray, mask: np.ndarray, seed: int = 0,
        params: NormaliseParams = NormaliseParams()) -> Normalisation:
    """Fit day -> reference per band on pixels where `mask` (both valid, not cloud) holds."""
    idx = np.flatnonzero(mask.ravel())
    if idx.size < params.min_pixels:
        return Normalisation(np.ones(day.shape[0]), np.zeros(day.shape[0]), 0.0)
    if idx.size > params.sample:
        idx = np.random.default_rng(seed).choice(idx, params.sample, replace=False)
    x = day.reshape(day.shape[0], -1)[:, idx].astype(float)
    y = ref.reshape(ref.shape[0], -1)[:, idx].astype(float)
    keep = np.ones(idx.size, bool)
    for _ in range(params.iterations):
        gain, offset = _line(x[:, keep], y[:, keep])
        resid = y - (gain[:, None] * x + offset[:, None])
        sigma = 1.4826 * np.median(np.abs(resid[:, keep] - np.median(resid[:, keep], axis=1,
                                                                       keepdims=True)), axis=1)
        chi2 = np.sum((resid / np.maximum(sigma, 1e-6)[:, None]) ** 2, axis=0)
        new = chi2 < params.keep_chi2
        if new.sum() < params.min_pixels or np.array_equal(new, keep):
            break
        keep = new
    return Normalisation(gain, offset, float(keep.mean()))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band (row), the least-squares line y = gain * x + offset."""
    mx, my = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    dx = x - mx
    gain = np.einsum("ij,ij->i", dx, y - my) / np.maximum(np.einsum("ij,ij->i", dx, dx), 1e-12)
    return gain, my[:, 0] - gain * mx[:, 0]
