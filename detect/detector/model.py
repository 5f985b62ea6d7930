"""The detector's weights: where they live, their model card, and loading them.

The runtime runs an exported ONNX model through onnxruntime (`detect.detector.onnx_obb`).
PyTorch weights (`.pt`) run through their ONNX twin where the card says it was exported from
exactly them, else through Ultralytics, which only the `[train]` extra installs; this is the
only module that imports Ultralytics, after making it work offline (settings in a folder the
tool owns, a local TTF where it looks for Arial.ttf, no hub calls).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from detect.errors import DetectError


def _weights_dir() -> Path:
    """`detect/weights` in an installed package, else the checkout's `weights/`."""
    packaged = Path(__file__).resolve().parents[1] / "weights"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "weights"


WEIGHTS_DIR = _weights_dir()
DEFAULT_WEIGHTS = WEIGHTS_DIR / "detect-obb.onnx"
TRAIN_EXTRA = "pip install 'detect[train]'"
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


class WeightsError(DetectError):
    """Weights that are missing or cannot be loaded."""


def require_train(what: str) -> None:
    """Fail in one line, naming the extra, where `what` needs Ultralytics and PyTorch."""
    if find_spec("ultralytics") is None or find_spec("torch") is None:
        raise WeightsError(f"{what} needs PyTorch and Ultralytics, which the runtime install "
                           f"leaves out: {TRAIN_EXTRA}")


def onnx_twin(weights: Path) -> Path | None:
    """The ONNX export installed beside PyTorch `weights`, when the card says it was exported
    from exactly these weights."""
    twin = Path(weights).with_suffix(".onnx")
    made_from = read_card(weights).get("onnx", {}).get("exported_from_sha256")
    if not twin.is_file() or made_from != sha256(weights):
        return None
    return twin


@cache
def load_model(path: str):
    """Load OBB weights from a local file (never from a hub): an `.onnx` file, or `.pt`
    weights through their ONNX twin where there is one, else through Ultralytics. The model
    has `names` (class index -> DOTA name) and `predict` (see `OnnxObb.predict`)."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights not found: {p} (pass --weights PATH to a local .onnx or "
                           ".pt file)")
    exported = p if p.suffix == ".onnx" else onnx_twin(p)
    try:
        if exported is not None:
            from detect.detector.onnx_obb import OnnxObb

            return OnnxObb(exported)
        require_train(f"running PyTorch weights without an ONNX twin ({p.name})")
        return UltralyticsObb(p)
    except WeightsError:
        raise
    except Exception as exc:  # onnxruntime and Ultralytics raise many kinds for a bad file
        raise WeightsError(f"cannot load weights {p}: {exc.__class__.__name__}: {exc}") from exc


class UltralyticsObb:
    """PyTorch weights run by Ultralytics' predictor (the `[train]` extra), with the same
    `predict` as `OnnxObb`."""

    def __init__(self, path: Path):
        prepare_offline()
        from ultralytics import YOLO

        self.model = YOLO(str(path), task="obb")
        self.names: dict[int, str] = self.model.names

    def predict(self, images: list[np.ndarray], conf: float, imgsz: int) -> list[tuple]:
        bgr = [im[..., ::-1] for im in images]
        return [(r.obb.xywhr.cpu().numpy().astype(np.float64), r.obb.conf.cpu().numpy(),
                 r.obb.cls.cpu().numpy().astype(int))
                for r in self.model.predict(bgr, imgsz=imgsz, conf=conf, verbose=False,
                                            batch=len(bgr))]


def predict_obb(model, images: list, conf: float, imgsz: int) -> list[tuple]:
    """Run the OBB model on RGB uint8 slices. Per slice: corners (n, 4, 2) in slice pixels,
    confidence (n,) and class names (n,) of the classes the product reports."""
    from detect.detector.onnx_obb import corners

    out = []
    for boxes, conf_, klass in model.predict(images, conf, imgsz):
        names = [model.names[int(c)] for c in klass]
        keep = [i for i, n in enumerate(names) if n in CLASS_OF]
        out.append((corners(boxes[keep]).reshape(-1, 4, 2), np.asarray(conf_)[keep],
                    [CLASS_OF[names[i]] for i in keep]))
    return out
