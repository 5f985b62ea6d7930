"""The only module that imports Ultralytics. It first makes Ultralytics work offline: settings
in a folder the tool owns, a local TTF where Ultralytics looks for Arial.ttf, no hub calls."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "detect-obb.pt"
FALLBACK_CONF = 0.25
# The detector's classes, by the DOTA class names the weights carry.
CLASS_OF = {"plane": "aircraft", "helicopter": "helicopter", "large vehicle": "vehicle"}
MODEL_GSD = 0.5  # metres per pixel the weights were trained at (Airbus Pleiades imagery)
MODEL_IMGSZ = 640  # model pixels per slice the weights were trained on


def read_card(weights: Path) -> dict:
    """The weights' machine-readable model card `<weights>.json` (empty when there is none)."""
    meta = Path(weights).with_suffix(".json")
    return json.loads(meta.read_text()) if meta.is_file() else {}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def operating_conf(weights: Path) -> dict[str, float]:
    """The confidence per class that the weights' model card recommends for counting
    (`<weights>.json`: `conf` for aircraft, chosen on the training sites, and `conf_by_class`
    for the others), else 0.25."""
    card = read_card(weights)
    by_class = {k: FALLBACK_CONF for k in CLASS_OF.values()} | card.get("conf_by_class", {})
    return by_class | {"aircraft": float(card.get("conf", FALLBACK_CONF))}


def home() -> Path:
    """The tool's own folder for settings and caches (DETECT_HOME, else ~/.cache/detect)."""
    return Path(os.environ.get("DETECT_HOME", Path.home() / ".cache" / "detect"))


def prepare_offline() -> Path:
    """Point Ultralytics at our settings folder and give it a font, so it never downloads."""
    cfg = home() / "ultralytics"
    font = cfg / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        font.parent.mkdir(parents=True, exist_ok=True)
        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        shutil.copyfile(src, font)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ.setdefault("YOLO_VERBOSE", "False")
    return cfg


class WeightsError(Exception):
    """Weights that are missing or cannot be loaded."""


def onnx_twin(weights: Path) -> Path | None:
    """The ONNX export installed beside `weights` (onnxruntime runs it about twice as fast as
    PyTorch on a CPU), when the card says it was exported from exactly these weights."""
    twin = Path(weights).with_suffix(".onnx")
    made_from = read_card(weights).get("onnx", {}).get("exported_from_sha256")
    if not twin.is_file() or made_from != sha256(weights) or find_spec("onnxruntime") is None:
        return None
    return twin


@cache
def load_model(path: str):
    """Load Ultralytics OBB weights from a local file (never from a hub), through their ONNX
    twin where there is one."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights not found: {p} (pass --weights PATH to a local .pt file)")
    prepare_offline()
    from ultralytics import YOLO

    try:
        model = YOLO(str(onnx_twin(p) or p), task="obb")
        _ = model.names
    except Exception as exc:  # Ultralytics raises many kinds for a bad file
        raise WeightsError(f"cannot load weights {p}: {exc.__class__.__name__}: {exc}") from exc
    # the first prediction sets up the predictor (and imports torchvision): do it here
    model.predict(np.zeros((MODEL_IMGSZ, MODEL_IMGSZ, 3), np.uint8), imgsz=MODEL_IMGSZ,
                  verbose=False)
    return model


def predict_obb(model, images: list, conf: float, imgsz: int) -> list[tuple]:
    """Run the OBB model on RGB uint8 slices. Per slice: corners (n, 4, 2) in slice pixels,
    confidence (n,) and class names (n,) of the classes the product reports."""
    bgr = [im[..., ::-1] for im in images]
    out = []
    for r in model.predict(bgr, imgsz=imgsz, conf=conf, verbose=False, batch=len(bgr)):
        names = [model.names[int(c)] for c in r.obb.cls.tolist()]
        keep = [i for i, n in enumerate(names) if n in CLASS_OF]
        corners = r.obb.xyxyxyxy.cpu().numpy()[keep].reshape(-1, 4, 2)
        out.append((corners, r.obb.conf.cpu().numpy()[keep],
                    [CLASS_OF[names[i]] for i in keep]))
    return out
