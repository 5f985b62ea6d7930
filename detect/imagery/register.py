"""Co-registration of a day onto the reference, the way AROSICS splits it: estimate (coarse
feature matching, then a grid of local sub-pixel phase-correlation tie points) -> filter
(reliability, RANSAC) -> fit (affine) -> warp (resample only).

All models map a reference pixel (x, y) to the target pixel where the same ground lies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True)
class RegisterParams:
    """What registration decides by."""

    coarse_max_px: int = 1024  # coarse matching runs on images no larger than this
    orb_features: int = 5000  # ORB keypoints a coarse image may give
    match_ratio: float = 0.8  # a match is kept where its distance is under this share of the
    # second best's (Lowe's ratio test; lower: fewer, surer matches)
    coarse_ransac_px: float = 3.0  # coarse RANSAC tolerance, in coarse pixels
    scale_range: tuple[float, float] = (0.8, 1.25)  # a coarse model scaling outside this is
    # a wrong match, not the same ground
    min_texture: float = 2.0  # a tie-point window flatter than this (DN, standard deviation)
    # has nothing to correlate
    min_reliability: float = 0.2  # phase-correlation peak response of a usable tie point
    fine_ransac_px: float = 0.5  # tie-point RANSAC tolerance, in pixels
    min_tie_points: int = 10  # fewer inliers than this: registration failed
    max_rmse_px: float = 1.0  # a residual above this: registration failed
    iterations: int = 4  # tie-point rounds at most, each on the last round's warp,
    converged_px: float = 0.01  # until the model moves no corner of the image by more than this


@dataclass
class Registration:
    """An affine model (reference pixel -> target pixel) and how well it is supported."""

    matrix: np.ndarray  # 2 x 3
    tie_points: int
    residual_rmse_px: float
    success: bool
    shape: tuple[int, int]  # reference (rows, cols)
    coarse_inliers: int = 0
    ties: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))  # x, y, tx, ty, inlier
    model: str = "affine"

    def report(self) -> dict:
        """The quality report: shift at the reference centre, rotation (counter-clockwise in
        map view), scale, tie points, residual RMSE and success."""
        h, w = self.shape
        c = np.array([(w - 1) / 2, (h - 1) / 2, 1.0])
        dx, dy = self.matrix @ c - c[:2]
        a = self.matrix[:, :2]
        return {
            "model": self.model,
            "shift_px": [round(float(dx), 4), round(float(dy), 4)],
            "rotation_deg": round(-math.degrees(math.atan2(a[1, 0], a[0, 0])), 5),
            "scale": round(math.sqrt(abs(np.linalg.det(a))), 6),
            "tie_points": int(self.tie_points),
            "residual_rmse_px": round(float(self.residual_rmse_px), 4),
            "coarse_inliers": int(self.coarse_inliers),
            "success": bool(self.success),
        }


def _to_u8(gray: np.ndarray, valid: np.ndarray) -> np.ndarray:
    v = gray[valid]
    lo, hi = np.percentile(v, [1, 99]) if v.size else (0, 255)
    out = np.clip((gray - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    out[~valid] = 0
    return cv2.createCLAHE(2.0, (8, 8)).apply(out)


def coarse(ref: np.ndarray, ref_valid: np.ndarray, tgt: np.ndarray, tgt_valid: np.ndarray,
           rp: RegisterParams = RegisterParams()) -> tuple[np.ndarray | None, int]:
    """Shift, rotation and scale from ORB feature matches (RANSAC), at reduced resolution, so
    large offsets (hundreds of pixels) are found. Returns (2x3 model or None, inliers)."""
    f = max(1.0, max(ref.shape) / rp.coarse_max_px)

    def prep(img, valid):
        small = cv2.resize(_to_u8(img, valid), None, fx=1 / f, fy=1 / f,
                           interpolation=cv2.INTER_AREA)
        m = cv2.resize(valid.astype(np.uint8), (small.shape[1], small.shape[0]),
                       interpolation=cv2.INTER_NEAREST)
        return small, cv2.erode(m, np.ones((9, 9), np.uint8))

    orb = cv2.ORB_create(nfeatures=rp.orb_features, fastThreshold=10)
    (a, am), (b, bm) = prep(ref, ref_valid), prep(tgt, tgt_valid)
    ka, da = orb.detectAndCompute(a, am)
    kb, db = orb.detectAndCompute(b, bm)
    if da is None or db is None or len(ka) < 8 or len(kb) < 8:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [m for m, *n in pairs if n and m.distance < rp.match_ratio * n[0].distance]
    if len(good) < 8:
        return None, 0
    src = np.float32([ka[m.queryIdx].pt for m in good]) * f
    dst = np.float32([kb[m.trainIdx].pt for m in good]) * f
    model, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                             ransacReprojThreshold=rp.coarse_ransac_px * f,
                                             maxIters=5000)
    n = int(inl.sum()) if inl is not None else 0
    if model is None or n < 8:
        return None, n
    scale = math.hypot(model[0, 0], model[1, 0])
    low, high = rp.scale_range
    return (model, n) if low < scale < high else (None, n)


def _window_size(shape: tuple[int, int]) -> int:
    return 128 if min(shape) >= 1024 else 64


def tie_points(ref: np.ndarray, ref_valid: np.ndarray, warped: np.ndarray,
               warped_valid: np.ndarray, spacing: int | None = None,
               min_texture: float = RegisterParams.min_texture) -> np.ndarray:
    """Local sub-pixel shifts on a regular grid: rows of (x, y, dx, dy, reliability), where the
    reference pixel (x, y) is found at warped pixel (x+dx, y+dy)."""
    win = _window_size(ref.shape)
    spacing = spacing or max(win // 2, min(ref.shape) // 16)
    hann = cv2.createHanningWindow((win, win), cv2.CV_32F)
    h, w = ref.shape
    rows = []
    for cy in range(win // 2, h - win // 2 + 1, spacing):
        for cx in range(win // 2, w - win // 2 + 1, spacing):
            sl = np.s_[cy - win // 2:cy + win // 2, cx - win // 2:cx + win // 2]
            if not (ref_valid[sl].all() and warped_valid[sl].all()):
                continue
            a, b = ref[sl], warped[sl]
            if a.std() < min_texture or b.std() < min_texture:
                continue
            # copies: OpenCV 5 applies the window to its inputs in place
            (dx, dy), resp = cv2.phaseCorrelate(a.copy(), b.copy(), hann)
            rows.append((cx - 0.5, cy - 0.5, dx, dy, resp))
    return np.asarray(rows, float).reshape(-1, 5)


def _apply(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return xy @ m[:, :2].T + m[:, 2]


def _fit(src: np.ndarray, dst: np.ndarray, tolerance_px: float
         ) -> tuple[np.ndarray | None, np.ndarray]:
    """RANSAC affine fit, then least squares on the inliers."""
    model, inl = cv2.estimateAffine2D(src.astype(np.float32), dst.astype(np.float32),
                                      method=cv2.RANSAC, ransacReprojThreshold=tolerance_px,
                                      maxIters=4000, confidence=0.999)
    if model is None:
        return None, np.zeros(len(src), bool)
    inl = inl.ravel().astype(bool)
    a = np.hstack([src[inl], np.ones((inl.sum(), 1))])
    sol, *_ = np.linalg.lstsq(a, dst[inl], rcond=None)
    return np.ascontiguousarray(sol.T), inl


def warp_gray(img: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a target image onto the reference pixels through `matrix`."""
    return cv2.warpAffine(img, np.ascontiguousarray(matrix, np.float64), (shape[1], shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_valid(valid: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return warp_gray(valid.astype(np.float32), matrix, shape) > 0.999


def register(ref: np.ndarray, ref_valid: np.ndarray, tgt: np.ndarray, tgt_valid: np.ndarray,
             rp: RegisterParams = RegisterParams()) -> Registration:
    """Register `tgt` onto `ref` (2-D float arrays with validity masks)."""
    ref = ref.astype(np.float32)
    tgt = tgt.astype(np.float32)
    start, n_coarse = coarse(ref, ref_valid, tgt, tgt_valid, rp)
    matrix = start if start is not None else np.array([[1.0, 0, 0], [0, 1.0, 0]])
    ties, inl = np.zeros((0, 5)), np.zeros(0, bool)
    rmse = float("inf")
    for _ in range(rp.iterations):
        warped = warp_gray(tgt, matrix, ref.shape)
        t = tie_points(ref, ref_valid, warped, warp_valid(tgt_valid, matrix, ref.shape),
                       min_texture=rp.min_texture)
        t = t[(t[:, 4] >= rp.min_reliability) & (np.hypot(t[:, 2], t[:, 3]) <
                                                  _window_size(ref.shape) / 4)]
        if len(t) < rp.min_tie_points:
            break
        src = t[:, :2]
        dst = _apply(matrix, src + t[:, 2:4])
        new, inl = _fit(src, dst, rp.fine_ransac_px)
        if new is None or inl.sum() < rp.min_tie_points:
            break
        corners = np.array([[0, 0], [ref.shape[1], 0], [0, ref.shape[0]],
                            [ref.shape[1], ref.shape[0]]], float)
        change = np.abs(_apply(new, corners) - _apply(matrix, corners)).max()
        matrix, ties = new, np.column_stack([src, dst, inl])
        rmse = float(np.sqrt(np.mean(np.sum((_apply(matrix, src[inl]) - dst[inl]) ** 2,
                                            axis=1))))
        if change < rp.converged_px:
            break
    n = int(ties[:, 4].sum()) if len(ties) else 0
    return Registration(matrix, n, rmse if n else float("nan"),
                        n >= rp.min_tie_points and rmse <= rp.max_rmse_px, ref.shape, n_coarse,
                        ties)
