"""`type_confidence` calibrated on real aircraft: a logistic map of the identification's own
probability (Platt scaling), `calibrated = 1 / (1 + exp(-(slope * logit(p) + intercept)))`.

The identification's probability follows from its model of the measurement, which real
imagery departs from (shadows, cut crops, few real aircraft learned), so its calls at 0.8 are
right less often than 80 times in 100. The map is fitted on the real crops' tuned part, each
crop judged out of fold (`detect train-appearance`), and it is monotone: it changes no call,
only how sure each says it is. It travels in the look-class model's card, for it calibrates
the identification that model takes part in; a card without one (a fold model) leaves the
probability as it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np

KEY = "type_confidence calibration"  # where a look-class model's card holds the map


@dataclass(frozen=True)
class Calibration:
    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, p: float) -> float:
        """The calibrated probability of a call the identification gives probability `p`."""
        if p <= 0.0 or p >= 1.0:
            return p
        z = self.slope * math.log(p / (1 - p)) + self.intercept
        return 1 / (1 + math.exp(-z))

    def card(self, calls: int) -> dict:
        """The map as a card entry, with the number of calls it was fitted on."""
        return {KEY: {**asdict(self), "calls": calls}}


def fit(confidence: np.ndarray, right: np.ndarray, steps: int = 50) -> Calibration:
    """The map under which calls with probability `confidence` (0-1, exclusive) were right
    (`right`, 0/1) most likely: a logistic regression on their log-odds (Newton's method)."""
    p = np.clip(np.asarray(confidence, float), 1e-4, 1 - 1e-4)
    x = np.column_stack([np.log(p / (1 - p)), np.ones_like(p)])
    y = np.asarray(right, float)
    w = np.array([1.0, 0.0])
    for _ in range(steps):
        q = 1 / (1 + np.exp(-x @ w))
        hessian = x.T @ (x * (q * (1 - q))[:, None]) + 1e-9 * np.eye(2)
        w -= np.linalg.solve(hessian, x.T @ (q - y))
    return Calibration(float(w[0]), float(w[1]))


@cache
def of_model(weights: Path) -> Calibration:
    """The map in the card beside the look-class model at `weights`; none (the identity)
    where the card holds none."""
    card = weights.with_suffix(".json")
    entry = json.loads(card.read_text()).get(KEY) if card.exists() else None
    return Calibration(entry["slope"], entry["intercept"]) if entry else Calibration()
