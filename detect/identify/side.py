"""Which side of its box an aircraft's fuselage lies along, by a small learned model.

A detector's box does not say which of its sides is the fuselage: a transport's span is longer
than its length, and the boxes around real airliners often run short of the wings. The model
looks at the box's neighbourhood stretched to a square (so that the box's own proportions, which
would tell an airliner's side and mislead on a transport's, are not seen) and tells a fuselage,
a tube with a tail at one end that the aircraft is mirror-symmetric about, from a wing. It
answers the same for a look and its mirror images and the opposite for the look transposed, by
construction (see `detect.identify.side_train`). It is trained by `detect train-side` on real
airliners of the Airbus training sites and on rendered aircraft of every catalogue type.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from detect.detector.model import WEIGHTS_DIR

SIDE_WEIGHTS = WEIGHTS_DIR / "fuselage-side.onnx"
LOOK_PX = 40  # the look's side in pixels
LOOK_SPAN = 1.4  # it spans this many times the box's length and width, about its centre


def look(c: np.ndarray, box_length: float, box_width: float, res: float) -> np.ndarray:
    """The model's input, (1, LOOK_PX, LOOK_PX) float32, from a measurement chip (rows, cols,
    bands; columns along the box's long side, the box at its centre, `res` metres a pixel):
    the box's neighbourhood, `LOOK_SPAN` times its length along the columns and its width
    along the rows, averaged down to a square, grey (past the image's edge, the median),
    standardised."""
    n = c.shape[0]
    half_u = min(LOOK_SPAN * box_length / res, n) / 2
    half_v = min(LOOK_SPAN * box_width / res, n) / 2
    mid = n / 2
    u0, u1 = int(round(mid - half_u)), int(round(mid + half_u))
    v0, v1 = int(round(mid - half_v)), int(round(mid + half_v))
    part = c[max(v0, 0):v1, max(u0, 0):u1]
    grey = part.mean(axis=2).astype(np.float32)
    blank = ~part.any(axis=2)  # past an image's edge (a screenshot's) every band reads 0
    if blank.any() and not blank.all():
        grey[blank] = np.median(grey[~blank])
    x = cv2.resize(grey, (LOOK_PX, LOOK_PX), interpolation=cv2.INTER_AREA)
    x = (x - np.median(x)) / max(float(x.std()), 1.0)
    return np.clip(x, -6, 6)[None].astype(np.float32)


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
