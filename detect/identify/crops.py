"""Real type-labelled aircraft imagery (`../shared/data/ru-aircraft-crops`): the crops, split
into a part identification may learn and be tuned on and a part only reported, and the MAR20
sample's oriented boxes.

Within each type, in file order, the first, third, fifth ... crop is the part identification
may be tuned on (`tune`), the others are only reported (`report`). The tuned crops of each type
fall in folds 0 and 1 by turns, so that a model learned without one fold can be judged on it.
The MAR20 sample is not among the crops and is learned from whole.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detect.identify.catalogue import get_type

# the crops' labels -> the catalogue's types any of which is the right answer
TRUTH = {"Su-27_or_Su-35": ("Su-27", "Su-35"), "Su-30_or_Su-34": ("Su-30SM", "Su-34"),
         "Tu-22M": ("Tu-22M3",)}
MAR20_TYPES = {"A1": "Su-35", "A2": "C-130", "A19": "Su-34"}  # MAR20 codes the catalogue has


@dataclass(frozen=True)
class Crop:
    path: Path
    label: str
    part: str  # "tune" or "report"
    fold: int = -1  # a tuned crop's fold, 0 or 1 (-1: reported)

    @property
    def types(self) -> tuple[str, ...]:
        return TRUTH.get(self.label, (self.label,))

    def right(self, answer: str) -> bool:
        """Whether an answer names one of the crop's types or their family (either of "A or
        B" counts)."""
        names = {n for t in self.types for n in (t, get_type(t).family)}
        return bool(names & set(answer.split(" or ")))

    def role(self) -> str:
        return get_type(self.types[0]).role

    @property
    def extent_m(self) -> float:
        return extent_m(self.types)


def extent_m(types: tuple[str, ...]) -> float:
    """The catalogue's larger extent (a box's long side), averaged over the types."""
    return float(np.mean([max(get_type(t).length_m, get_type(t).span_m) for t in types]))


def read_crops(root: Path) -> list[Crop]:
    """The crops listed in `root/labels.csv`, each with its part."""
    with open(root / "labels.csv") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: (r["type"], r["file"]))
    out, seen = [], {}
    for r in rows:
        k = seen[r["type"]] = seen.get(r["type"], -1) + 1
        part, fold = ("tune", k // 2 % 2) if k % 2 == 0 else ("report", -1)
        out.append(Crop(root / r["file"], r["type"], part, fold))
    return out


def read_mar20(root: Path) -> list[tuple[Path, str, np.ndarray]]:
    """The MAR20 sample's aircraft of catalogue types: image, type and box corners (4, 2) in
    image pixels."""
    out = []
    for xml in sorted((root / "mar20-sample" / "annotations").rglob("*.xml")):
        tree = ET.parse(xml).getroot()
        image = next((root / "mar20-sample" / "images").rglob(tree.findtext("filename")))
        for obj in tree.iter("object"):
            if (name := MAR20_TYPES.get(obj.findtext("name"))) is None:
                continue
            box = obj.find("robndbox")
            corners = [[float(box.findtext(f"x_{c}")), float(box.findtext(f"y_{c}"))]
                       for c in ("left_top", "right_top", "right_bottom", "left_bottom")]
            out.append((image, name, np.array(corners)))
    return out
