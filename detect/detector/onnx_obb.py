"""Oriented-box inference through onnxruntime alone: the runtime needs no deep-learning framework.

The exported Ultralytics OBB head gives, per anchor, a box centre and size (model pixels), one
score per class and an angle (radians). Decoding follows Ultralytics' predictor exactly, so the
boxes equal the PyTorch path's: letterbox to the model size, keep each anchor's best class over
the confidence, class-aware non-maximum suppression by probabilistic IoU (Fast-NMS: a box is
dropped where any higher-scoring box of its class overlaps it by more than `IOU`), at most
`MAX_DET` boxes, scaled back to the image.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np

IOU = 0.7  # suppression threshold of Ultralytics' predictor (its `iou` default)
MAX_DET = 300  # boxes kept per image, highest confidence first
MAX_NMS = 30000  # candidates entering suppression, highest confidence first
CLASS_OFFSET = 7680.0  # pixels between classes, so that NMS never compares two classes
PAD_VALUE = 114  # grey of the letterbox border


class OnnxObb:
    """An exported OBB model run by onnxruntime on the CPU."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.names: dict[int, str] = ast.literal_eval(meta["names"])
        self.input = self.session.get_inputs()[0].name

    def predict(self, images: list[np.ndarray], conf: float, imgsz: int
                ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """RGB uint8 images -> per image: boxes (n, 5) as centre x, centre y, width, height
        and angle in image pixels and radians, confidence (n,) and class index (n,)."""
        batch, pads = zip(*(letterbox(im, imgsz) for im in images), strict=True)
        x = np.empty((len(batch), 3, imgsz, imgsz), np.float32)
        for dest, im in zip(x, batch, strict=True):  # one strided copy each, then scale
            dest[:] = im.transpose(2, 0, 1)
        x /= 255.0
        raw = self.session.run(None, {self.input: x})[0]  # (batch, 4 + classes + 1, anchors)
        out = []
        for pred, (scale, dx, dy) in zip(raw, pads, strict=True):
            boxes, score, klass = decode(pred, conf)
            boxes[:, 0] = (boxes[:, 0] - dx) / scale
            boxes[:, 1] = (boxes[:, 1] - dy) / scale
            boxes[:, 2:4] /= scale
            out.append((boxes, score, klass))
        return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Fit `image` into size x size keeping its aspect, centred on grey; returns the image and
    (scale, left pad, top pad)."""
    h, w = image.shape[:2]
    scale = min(size / h, size / w)
    nw, nh = round(w * scale), round(h * scale)
    if (nw, nh) != (w, h):
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (size - nw) / 2, (size - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    out = np.full((size, size, 3), PAD_VALUE, np.uint8)
    out[top:top + nh, left:left + nw] = image
    return out, (scale, left, top)


def decode(pred: np.ndarray, conf: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw head output (4 + classes + 1, anchors) -> kept boxes (n, 5), their
    confidence and class, highest confidence first."""
    pred = pred.T
    scores = pred[:, 4:-1]
    klass = scores.argmax(axis=1)
    best = scores[np.arange(len(pred)), klass]
    keep = best > conf
    boxes = np.concatenate([pred[keep, :4], pred[keep, -1:]], axis=1).astype(np.float64)
    best, klass = best[keep], klass[keep]
    order = np.argsort(-best, kind="stable")[:MAX_NMS]
    boxes, best, klass = boxes[order], best[order], klass[order]
    shifted = boxes.copy()
    shifted[:, :2] += klass[:, None] * CLASS_OFFSET
    kept = fast_nms(shifted, IOU)[:MAX_DET]
    return boxes[kept], best[kept].astype(np.float32), klass[kept]


def fast_nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes (sorted by falling score) that no earlier box overlaps by more
    than `iou` probabilistic IoU."""
    if len(boxes) == 0:
        return np.zeros(0, int)
    over = np.triu(probiou(boxes, boxes), k=1) > iou
    return np.flatnonzero(~over.any(axis=0))


def _covariance(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The covariance (a, c; c, b) of each box's uniform Gaussian."""
    a, b = boxes[:, 2] ** 2 / 12, boxes[:, 3] ** 2 / 12
    cos, sin = np.cos(boxes[:, 4]), np.sin(boxes[:, 4])
    return a * cos**2 + b * sin**2, a * sin**2 + b * cos**2, (a - b) * cos * sin


def probiou(b1: np.ndarray, b2: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Probabilistic IoU (one minus the Hellinger distance of the boxes' Gaussians) of every
    pair of boxes given as (x, y, w, h, angle): (len(b1), len(b2))."""
    x1, y1 = b1[:, :1], b1[:, 1:2]
    x2, y2 = b2[None, :, 0], b2[None, :, 1]
    a1, bb1, c1 = (v[:, None] for v in _covariance(b1))
    a2, bb2, c2 = (v[None] for v in _covariance(b2))
    joint = (a1 + a2) * (bb1 + bb2) - (c1 + c2) ** 2
    t1 = ((a1 + a2) * (y1 - y2) ** 2 + (bb1 + bb2) * (x1 - x2) ** 2) / (joint + eps) * 0.25
    t2 = ((c1 + c2) * (x2 - x1) * (y1 - y2)) / (joint + eps) * 0.5
    det = np.clip(a1 * bb1 - c1**2, 0, None) * np.clip(a2 * bb2 - c2**2, 0, None)
    t3 = np.log(joint / (4 * np.sqrt(det) + eps) + eps) * 0.5
    bd = np.clip(t1 + t2 + t3, eps, 100.0)
    return 1 - np.sqrt(1.0 - np.exp(-bd) + eps)


def corners(boxes: np.ndarray) -> np.ndarray:
    """(n, 5) centre, size and angle -> (n, 4, 2) corner points, in Ultralytics' order."""
    ctr, w, h, t = boxes[:, None, :2], boxes[:, 2:3], boxes[:, 3:4], boxes[:, 4:5]
    cos, sin = np.cos(t), np.sin(t)
    v1 = np.concatenate([w / 2 * cos, w / 2 * sin], axis=1)[:, None]
    v2 = np.concatenate([-h / 2 * sin, h / 2 * cos], axis=1)[:, None]
    return np.concatenate([ctr + v1 + v2, ctr + v1 - v2, ctr - v1 - v2, ctr - v1 + v2], axis=1)
