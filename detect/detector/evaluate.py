"""`detect eval`: detection quality on a labelled folder in the Airbus layout.

A detection of class aircraft matches a labelled box when the IoU of its axis-aligned bounds
with the box is at least 0.5, or when each contains the other's centre (an axis-aligned label
is a poor fit for a rotated aircraft's oriented box). Matching is greedy by confidence, one
label per detection. AP50 is the VOC all-points average precision. Truncated aircraft at the
border are ignored: finding them is not rewarded, missing them is not penalised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from tqdm import tqdm

from detect.detector.airbus import read_labels
from detect.detector.model import MODEL_GSD, load_model
from detect.detector.slicing import SliceConfig, detect_raster


@dataclass
class EvalResult:
    ap50: float
    precision: float
    recall: float
    mean_count_error: float
    max_count_error: float
    images: int
    labels: int

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


def _matches(box: np.ndarray, corners: np.ndarray) -> bool:
    x0, y0, x1, y1 = box
    d = np.array([*corners.min(axis=0), *corners.max(axis=0)])
    iw = max(0.0, min(x1, d[2]) - max(x0, d[0]))
    ih = max(0.0, min(y1, d[3]) - max(y0, d[1]))
    inter = iw * ih
    iou = inter / ((x1 - x0) * (y1 - y0) + (d[2] - d[0]) * (d[3] - d[1]) - inter)
    cx, cy = corners.mean(axis=0)
    lx, ly = (x0 + x1) / 2, (y0 + y1) / 2
    mutual = (x0 <= cx <= x1 and y0 <= cy <= y1) and (d[0] <= lx <= d[2] and d[1] <= ly <= d[3])
    return iou >= 0.5 or mutual


def average_precision(scores: np.ndarray, hits: np.ndarray, n_labels: int) -> float:
    """VOC all-points AP from detection scores and whether each hit a label."""
    if n_labels == 0:
        return float("nan")
    order = np.argsort(-scores)
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = tp / n_labels
    precision = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


@dataclass
class ImageResult:
    """Aircraft detections of one image scored against its labels (truncated ones ignored)."""

    scores: np.ndarray
    hits: np.ndarray
    labels: int


def collect(data: Path, weights: Path, names: list[str] | None = None,
            progress: bool = False) -> list[ImageResult]:
    """Run the detector once per labelled image (all of them, or `names`) at a low
    confidence, and match its aircraft to the labels."""
    model = load_model(str(weights))
    labelled = read_labels(data)
    names = sorted(labelled) if names is None else names
    out = []
    for name in tqdm(names, desc="eval", unit="image", disable=not progress):
        item = labelled[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(item.path) as ds:
                found = detect_raster(ds, model, gsd=MODEL_GSD, cfg=SliceConfig(conf=0.05))
        keep = found.klass == "aircraft"
        corners, scores = found.corners[keep], found.confidence[keep]
        used = np.zeros(len(item.boxes), bool)
        hits, ignored = np.zeros(len(scores), bool), np.zeros(len(scores), bool)
        for i in np.argsort(-scores):
            for j, box in enumerate(item.boxes):
                if not used[j] and _matches(box, corners[i]):
                    used[j] = True
                    hits[i] = not item.truncated[j]
                    ignored[i] = bool(item.truncated[j])
                    break
        out.append(ImageResult(scores[~ignored], hits[~ignored], int((~item.truncated).sum())))
    return out


def summarise(images: list[ImageResult], conf: float) -> EvalResult:
    """AP50 over all images; precision, recall and count errors at `conf`."""
    scores = np.concatenate([r.scores for r in images])
    hits = np.concatenate([r.hits for r in images])
    n_labels = sum(r.labels for r in images)
    errors = [abs(int((r.scores >= conf).sum()) - r.labels) for r in images]
    sure = scores >= conf
    tp = int((hits & sure).sum())
    return EvalResult(average_precision(scores, hits, n_labels), tp / max(int(sure.sum()), 1),
                      tp / max(n_labels, 1), float(np.mean(errors)), float(np.max(errors)),
                      len(images), n_labels)


def evaluate(data: Path, weights: Path, conf: float = 0.25, names: list[str] | None = None,
             progress: bool = False) -> EvalResult:
    """Evaluate weights on labelled images (all of them, or `names`)."""
    return summarise(collect(data, weights, names, progress), conf)
