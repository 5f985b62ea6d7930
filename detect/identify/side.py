"""Which side of its box an aircraft's fuselage lies along, by a small learned model.

A detector's box does not say which of its sides is the fuselage: a transport's span is longer
than its length, and the boxes around real airliners often run short of the wings. The model
looks at the box's neighbourhood in colour stretched to a square (so that the box's own
proportions, which would tell an airliner's side and mislead on a transport's, are not seen)
and tells a fuselage, a tube with a tail at one end that the aircraft is mirror-symmetric
about, from a wing. It runs the detector's backbone over the look and its mirror images, and
over the same transposed, and a linear layer without bias weighs the difference of their mean
features (`detect.identify.backbone.axis_backbone`): so it answers the same for a look's mirror
images and the opposite for it transposed, by construction, and what the detector learned from
thousands of real aircraft carries over. It is trained by `detect train-side` on real airliners
of the Airbus training sites and on rendered aircraft of every catalogue type (see
`detect.identify.side_train`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from detect.detector.model import WEIGHTS_DIR

SIDE_WEIGHTS = WEIGHTS_DIR / "fuselage-side.onnx"
LOOK_PX = 96  # the look's side in pixels
LOOK_SPAN = 1.4  # it spans this many times the box's length and width, about its centre


def rgb_window(c: np.ndarray, along_px: float, across_px: float, px: int) -> np.ndarray:
    """(3, px, px) float32 in 0-1: the window of a measurement chip (rows, cols, bands in
    0-255) `along_px` chip pixels along its columns and `across_px` along its rows about its
    centre (cut at the chip's edge), averaged down to a square; a grey chip in three bands."""
    n = c.shape[0]
    half_u, half_v = min(along_px, n) / 2, min(across_px, n) / 2
    u0, u1 = int(round(n / 2 - half_u)), int(round(n / 2 + half_u))
    v0, v1 = int(round(n / 2 - half_v)), int(round(n / 2 + half_v))
    part = np.clip(c[max(v0, 0):v1, max(u0, 0):u1, :3], 0, 255).astype(np.float32)
    if part.shape[2] == 1:
        part = np.repeat(part, 3, axis=2)
    return (cv2.resize(part, (px, px), interpolation=cv2.INTER_AREA) / 255).transpose(2, 0, 1)


def look(c: np.ndarray, box_length: float, box_width: float, res: float) -> np.ndarray:
    """The model's input, (3, LOOK_PX, LOOK_PX) float32 in 0-1, from a measurement chip
    (columns along the box's long side, the box at its centre, `res` metres a pixel): the box's
    neighbourhood, `LOOK_SPAN` times its length along the columns and its width along the rows,
    averaged down to a square."""
    return rgb_window(c, LOOK_SPAN * box_length / res, LOOK_SPAN * box_width / res, LOOK_PX)


@cache
def session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def along_long_side(looks: np.ndarray, weights: Path = SIDE_WEIGHTS) -> np.ndarray:
    """The probability, for each look (n, 1, LOOK_PX, LOOK_PX), that the fuselage runs along
    the box's long side (the look's columns)."""
    s = session(Path(weights))
    logit = s.run(None, {s.get_inputs()[0].name: looks.astype(np.float32)})[0].reshape(-1)
    return 1 / (1 + np.exp(-logit))
