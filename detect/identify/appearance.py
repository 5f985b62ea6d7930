"""What an aircraft looks like, by a small learned model over the detector's own features.

The model's look is the aircraft's box neighbourhood in colour, a square 1.4 times the box's
long side scaled to `LOOK_PX` (so it sees shape, not size). It runs the detector's backbone
(its convolutional layers, as `detect train` left them) over the look, averages the features of
its eight right-angle turns and mirrors (so which side of the box is the fuselage does not
matter), and a linear layer gives the probability of each look class: a type, or a few types
no look tells apart, for which real imagery was learned from; `civil` for airliners and
business jets; `other` for every other type, learned from rendered aircraft only (see
`detect.identify.appearance_train`). Trained with classes weighed equally, its probabilities
stand for likelihoods, and identification weighs each type's fit by its class's (see
`detect.identify.match.look_odds`), beside size, sweep and radome.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from detect.detector.model import WEIGHTS_DIR
from detect.identify.catalogue import CIVIL_ROLES, AircraftType
from detect.identify.side import rgb_window, session

APPEARANCE_WEIGHTS = WEIGHTS_DIR / "appearance.onnx"
LOOK_PX = 96  # the look's side in pixels
LOOK_SPAN = 1.4  # it spans this many times the box's long side, about its centre
# the look classes learned from real imagery, and the catalogue types each stands for
GROUPS = {"A-50": ("A-50",), "Il-76": ("Il-76", "Il-78"), "Tu-95": ("Tu-95",),
          "Tu-160": ("Tu-160",), "Tu-22M": ("Tu-22M3",), "C-130": ("C-130",),
          "Su-24": ("Su-24",), "Su-25": ("Su-25",), "MiG-29": ("MiG-29",), "MiG-31": ("MiG-31",),
          "Flanker": ("Su-27", "Su-35"), "Su-30/34": ("Su-30SM", "Su-34")}
CLASSES = (*GROUPS, "civil", "other")


def look_class(t: AircraftType) -> str:
    """The look class a catalogue type belongs to."""
    group = next((g for g, names in GROUPS.items() if t.name in names), None)
    return group or ("civil" if t.role in CIVIL_ROLES else "other")


def rgb_look(c: np.ndarray, box_length: float, box_width: float, res: float) -> np.ndarray:
    """The model's input, (3, LOOK_PX, LOOK_PX) float32 in 0-1, from a measurement chip (rows,
    cols, bands in 0-255, the box at its centre, `res` metres a pixel): the square `LOOK_SPAN`
    times the box's long side about its centre, averaged down."""
    side = LOOK_SPAN * max(box_length, box_width) / res
    return rgb_window(c, side, side, LOOK_PX)


@cache
def _classes(weights: Path) -> tuple[str, ...]:
    """The classes the model at `weights` answers, in order, from its card."""
    return tuple(json.loads(weights.with_suffix(".json").read_text())["classes"])


def looks_like(looks: np.ndarray, weights: Path = APPEARANCE_WEIGHTS) -> list[dict[str, float]]:
    """For each look (n, 3, LOOK_PX, LOOK_PX), the probability of each look class."""
    s = session(Path(weights))
    logits = s.run(None, {s.get_inputs()[0].name: looks.astype(np.float32)})[0]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    names = _classes(Path(weights))
    return [{c: round(float(q), 3) for c, q in zip(names, row, strict=True)} for row in p]
