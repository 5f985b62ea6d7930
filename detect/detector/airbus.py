"""The Airbus Aircraft Detection layout: `images/*.jpg`, `annotations.csv` (axis-aligned pixel
boxes), `sites.csv` (which images show the same airport)."""

from __future__ import annotations

import ast
import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Labelled:
    """One labelled image: its axis-aligned aircraft boxes (x0, y0, x1, y1) and which of them
    are truncated at the border."""

    path: Path
    boxes: np.ndarray
    truncated: np.ndarray


def read_labels(root: Path) -> dict[str, Labelled]:
    """Labelled images by file name (images without any label row are left out)."""
    boxes: dict[str, list] = defaultdict(list)
    trunc: dict[str, list] = defaultdict(list)
    with open(root / "annotations.csv", newline="") as f:
        for row in csv.DictReader(f):
            pts = np.asarray(ast.literal_eval(row["geometry"]), float)
            boxes[row["image_id"]].append([*pts.min(axis=0), *pts.max(axis=0)])
            trunc[row["image_id"]].append(row["class"] == "Truncated_airplane")
    return {k: Labelled(root / "images" / k, np.asarray(v), np.asarray(trunc[k]))
            for k, v in boxes.items() if (root / "images" / k).exists()}


def read_sites(root: Path) -> dict[str, str]:
    """Airport site of each image."""
    with open(root / "sites.csv", newline="") as f:
        return {r["image_id"]: r["site"] for r in csv.DictReader(f)}


def split_by_site(root: Path) -> tuple[list[str], list[str]]:
    """Train and validation image names, split by airport site (every fifth site, starting with
    the third, is validation), so that no airport is in both."""
    sites = read_sites(root)
    names = sorted(set(sites.values()))
    val_sites = set(names[2::5])
    labelled = read_labels(root)
    train = sorted(k for k in labelled if sites.get(k) not in val_sites)
    val = sorted(k for k in labelled if sites.get(k) in val_sites)
    return train, val
