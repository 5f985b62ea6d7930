"""`detect train`: fine-tune the DOTA-trained OBB weights on the real Airbus imagery.

The Airbus labels are axis-aligned boxes, which must not be taught as such. Each labelled
aircraft takes its orientation from its own fuselage in the image (see `fuselage`), else from
the base model's matching oriented box, and its extent from the human label (the oriented
rectangle whose bounding box is the label); a labelled aircraft with neither is painted out
of the training crop. The base model's confident
helicopters and large vehicles are kept as pseudo-labels so those classes stay alive.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rasterio
import yaml
from rasterio.errors import NotGeoreferencedWarning
from tqdm import tqdm

from detect.atomic import atomic_path, write_json
from detect.detector.airbus import Labelled, read_labels, split_by_site
from detect.detector.model import (
    MODEL_GSD,
    MODEL_IMGSZ,
    load_model,
    prepare_offline,
    read_card,
    sha256,
)
from detect.detector.slicing import SliceConfig, detect_raster
from detect.imagery.change import standing_out

DOTA_IDS = {"aircraft": 0, "vehicle": 9, "helicopter": 11}


@dataclass(frozen=True)
class TrainOptions:
    data: Path
    base: Path
    out: Path
    epochs: int = 3
    imgsz: int = 640
    batch: int = 8
    crop_stride: int = 480
    empty_keep: int = 4  # keep one crop in this many without any label
    # one synthetic series (`detect synth`, seeds 100+) per entry, at that ground sample
    # distance and resampled to the model's, as `detect` reads coarser or finer imagery
    synthetic: tuple[float, ...] = (0.5,) * 6 + (1.0,) * 4 + (0.3,) * 2


def _aabb(c: np.ndarray) -> np.ndarray:
    return np.array([*c.min(axis=0), *c.max(axis=0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def best_box(label: np.ndarray, corners: np.ndarray, among) -> tuple[float, int]:
    """Of the oriented boxes `among` (indices into `corners`), the one whose bounds overlap the
    label box (x0, y0, x1, y1) most: its IoU and index, (0.0, -1) where there is none."""
    return max(((_iou(label, _aabb(corners[i])), i) for i in among), default=(0.0, -1))


def fuselage(img: np.ndarray, label: np.ndarray, ring: int = 4) -> tuple[float, float] | None:
    """The fuselage's angle (radians, from the image's x axis towards y) of the aircraft a
    label box (x0, y0, x1, y1) frames in an RGB image, and its length over its span; None
    where too little of it stands out. Its pixels are those brighter than the apron, the
    median of a `ring` around the box, and standing out from it (`standing_out`: a shadow is
    darker); its fuselage is their `fuselage_line`."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = np.round(label).astype(int)
    a0, b0 = max(x0 - ring, 0), max(y0 - ring, 0)
    around = img[b0:min(y1 + ring, h), a0:min(x1 + ring, w)].astype(np.float32)
    inside = np.zeros(around.shape[:2], bool)
    inside[y0 - b0:y1 - b0, x0 - a0:x1 - a0] = True
    brighter = around.mean(axis=2) > np.median(around[~inside], axis=0).mean()
    found = inside & brighter & standing_out(around.transpose(2, 0, 1), inside)
    if found.sum() < 30:
        return None
    theta, point = fuselage_line(found, 0.1)
    rows, cols = np.nonzero(found)
    rel = np.column_stack([cols, rows]) - point
    along = rel @ [math.cos(theta), math.sin(theta)]
    across = rel @ [-math.sin(theta), math.cos(theta)]
    return theta, float(np.ptp(along) + 1) / float(np.ptp(across) + 1)


def fuselage_line(mask: np.ndarray, share: float) -> tuple[float, np.ndarray]:
    """The line along which a band `share` of the silhouette's size wide holds the most of
    it, at any angle and offset: its angle (radians, from the column axis towards the row
    axis) and a point on it. A fuselage and its tail lie on one line, so this is the fuselage
    where its wings are swept or thinner than it, and a wing lost against the apron does not
    turn it, as it turns an axis of symmetry."""
    rows, cols = np.nonzero(mask)
    pts = np.column_stack([cols, rows]).astype(float)[:: max(1, len(rows) // 4000)]
    width = share * max(np.ptp(pts, axis=0)) + 1
    angles = np.radians(np.arange(0.0, 180.0, 1.0))
    across = np.sort(pts @ np.stack([-np.sin(angles), np.cos(angles)]), axis=0)
    ends = np.stack([np.searchsorted(across[:, k], across[:, k] + width, side="right")
                     for k in range(len(angles))], axis=1)
    first, k = np.unravel_index(np.argmax(ends - np.arange(len(pts))[:, None]), ends.shape)
    offset = (across[first, k] + across[ends[first, k] - 1, k]) / 2
    normal = np.array([-np.sin(angles[k]), np.cos(angles[k])])
    centre = pts.mean(axis=0)
    return float(angles[k]), centre + (offset - centre @ normal) * normal


def oriented_from_label(label: np.ndarray, theta: float, ratio: float) -> np.ndarray:
    """The rectangle at angle `theta` whose axis-aligned bounds are the label box; where that
    is ill-posed (near 45 degrees), the one with sides in `ratio` (along over across)."""
    c, s = abs(math.cos(theta)), abs(math.sin(theta))
    W, H = label[2] - label[0], label[3] - label[1]
    det = c * c - s * s
    if abs(det) > 0.3:  # solve W = a c + b s, H = a s + b c
        a, b = (W * c - H * s) / det, (H * c - W * s) / det
    else:
        b = (W + H) / ((1 + ratio) * (c + s))
        a = ratio * b
    a, b = max(a, 2.0), max(b, 2.0)
    centre = np.array([(label[0] + label[2]) / 2, (label[1] + label[3]) / 2])
    rect = ((float(centre[0]), float(centre[1])), (float(a), float(b)), math.degrees(theta))
    return cv2.boxPoints(rect).astype(float)


def _box_axis(corners: np.ndarray) -> tuple[float, float]:
    """The angle of an oriented box's first side and that side over the other."""
    d01, d12 = corners[1] - corners[0], corners[2] - corners[1]
    return math.atan2(d01[1], d01[0]), float(np.hypot(*d01) / max(np.hypot(*d12), 1e-6))


def derive_labels(item: Labelled, img: np.ndarray, model
                  ) -> tuple[list[tuple[int, np.ndarray]], list[np.ndarray]]:
    """Oriented labels (DOTA class id, corners in pixels) and boxes to paint out of an image
    (RGB or BGR)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(item.path) as ds:
            found = detect_raster(ds, model, gsd=MODEL_GSD, cfg=SliceConfig(conf=0.05))
    planes = [i for i in range(len(found)) if found.klass[i] == "aircraft"]
    labels, paint = [], []
    used: set[int] = set()
    for lab in item.boxes:
        best = best_box(lab, found.corners, [i for i in planes if i not in used])
        if best[0] >= 0.4:
            used.add(best[1])
        axis = fuselage(img, lab)
        if axis is None and best[0] >= 0.4:
            axis = _box_axis(found.corners[best[1]])
        if axis is None:
            paint.append(lab)
        else:
            labels.append((0, oriented_from_label(lab, *axis)))
    for i in range(len(found)):
        if found.klass[i] != "aircraft" and found.confidence[i] >= 0.5:
            box = _aabb(found.corners[i])
            if all(_iou(box, lab) < 0.1 for lab in item.boxes):
                labels.append((DOTA_IDS[found.klass[i]], found.corners[i]))
    return labels, paint


def _starts(length: int, size: int, stride: int) -> list[int]:
    """Crop offsets every `stride` pixels, the last one flush with the far edge."""
    last = max(length - size, 0)
    return sorted(set(range(0, last + 1, stride)) | {last})


def _write_crops(name: str, img: np.ndarray, labels, paint, folder: Path, opts: TrainOptions,
                 keep_empty: bool) -> int:
    img = img.copy()
    fill = np.median(img.reshape(-1, 3), axis=0)
    for x0, y0, x1, y1 in paint:
        img[int(y0):int(math.ceil(y1)), int(x0):int(math.ceil(x1))] = fill
    size, n = opts.imgsz, 0
    h, w = img.shape[:2]
    for r in _starts(h, size, opts.crop_stride):
        for c in _starts(w, size, opts.crop_stride):
            rows = []
            for cls, corners in labels:
                local = corners - [c, r]
                inside = np.clip(local, 0, size)
                area = cv2.contourArea(local.astype(np.float32))
                if area <= 0 or cv2.contourArea(inside.astype(np.float32)) < 0.6 * area:
                    continue
                rows.append(f"{cls} " + " ".join(f"{v / size:.6f}" for v in inside.ravel()))
            if not rows and not keep_empty:
                continue
            keep_empty = False
            stem = f"{Path(name).stem}_{r}_{c}"
            cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), img[r:r + size, c:c + size])
            (folder / "labels" / f"{stem}.txt").write_text("\n".join(rows) + ("\n" if rows
                                                                               else ""))
            n += 1
    return n


def synthetic_labels(root: Path) -> list[tuple[str, np.ndarray, list]]:
    """Images and oriented labels of a synthetic series at the model's ground sample distance
    (resampled as `detect` reads them): (name, RGB image, labels), each label's box from truth
    (true centre moved by the day's misregistration, heading, length, span; a helicopter's box
    spans its rotor)."""
    from rasterio.merge import merge

    from detect.synth.series import object_class
    from detect.synth.shapes import shape_for

    truth = json.loads((root / "truth.json").read_text())
    out = []
    for day in truth["days"]:
        srcs = [rasterio.open(p) for p in sorted((root / "drops" / day["date"]).glob("*.tif"))]
        img, transform = merge(srcs, nodata=0)
        for ds in srcs:
            ds.close()
        with rasterio.open(root / "reference.tif") as ref:
            cx = (ref.bounds.left + ref.bounds.right) / 2
            cy = (ref.bounds.bottom + ref.bounds.top) / 2
        mis = day["misregistration"]
        scale = abs(transform.a) / MODEL_GSD
        th = math.radians(mis["rotation_deg"])
        labels = []
        for o in day["objects"]:
            if not o["visible"]:
                continue
            dx, dy = o["x"] - cx, o["y"] - cy
            x = cx + dx * math.cos(th) - dy * math.sin(th) + mis["shift_m"][0]
            y = cy + dx * math.sin(th) + dy * math.cos(th) + mis["shift_m"][1]
            col, row = ~transform @ (x, y)
            shape = shape_for(o["type"])
            length, width, along = shape.length, shape.span, 0.0
            if shape.kind == "helicopter":
                hub = 0.08 * shape.length
                lo, hi = min(-shape.length / 2, hub - shape.span / 2), max(shape.length / 2,
                                                                          hub + shape.span / 2)
                length, along = hi - lo, (hi + lo) / 2
            h = math.radians(o["heading_deg"] - mis["rotation_deg"])
            col += along * math.sin(h) / abs(transform.a)
            row -= along * math.cos(h) / abs(transform.a)
            angle = math.degrees(h) - 90  # OpenCV box angle for the long side along heading
            rect = ((col, row), (length / abs(transform.a), width / abs(transform.a)), angle)
            labels.append((DOTA_IDS[object_class(o["type"])],
                           cv2.boxPoints(rect).astype(float) * scale))
        out.append((f"synth_{root.name}_{day['date']}.png",
                    _resample(img.transpose(1, 2, 0)[..., ::-1], scale), labels))
    return out


def _resample(img: np.ndarray, scale: float) -> np.ndarray:
    """An image scaled by `scale` (bilinear up, area-averaged down, as rasterio reads it)."""
    if scale == 1.0:
        return np.ascontiguousarray(img)
    size = (int(round(img.shape[1] * scale)), int(round(img.shape[0] * scale)))
    return cv2.resize(np.ascontiguousarray(img), size,
                      interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)


def _synthetic(opts: TrainOptions, folder: Path) -> int:
    from detect.synth.series import SynthOptions, make_series

    crops = 0
    for i, gsd in enumerate(opts.synthetic):
        root = opts.out / "synthetic" / f"seed{100 + i}"
        if not (root / "truth.json").exists():  # 512 m square whatever the pixel size
            make_series(root, SynthOptions(days=6, seed=100 + i, gsd=gsd,
                                           size=int(round(512 / gsd)), tiles=1))
        for name, img, labels in synthetic_labels(root):
            crops += _write_crops(name, img, labels, [], folder, opts, True)
    return crops


def prepare_dataset(opts: TrainOptions) -> Path:
    """Write the YOLO OBB dataset (crops and oriented labels) and its data.yaml."""
    model = load_model(str(opts.base))
    labelled = read_labels(opts.data)
    train, val = split_by_site(opts.data)
    root = opts.out / "dataset"
    stats = {}
    for split, names in (("train", train), ("val", val)):
        folder = root / split
        (folder / "images").mkdir(parents=True, exist_ok=True)
        (folder / "labels").mkdir(parents=True, exist_ok=True)
        crops = painted = derived = 0
        for k, name in enumerate(tqdm(names, desc=f"labels {split}", unit="image")):
            img = cv2.imread(str(labelled[name].path))
            labels, paint = derive_labels(labelled[name], img, model)
            crops += _write_crops(name, img, labels, paint, folder, opts, k % opts.empty_keep == 0)
            painted, derived = painted + len(paint), derived + len(labels)
        stats[split] = {"images": len(names), "crops": crops, "labels": derived,
                        "painted_out": painted}
    stats["train"]["synthetic_crops"] = _synthetic(opts, root / "train")
    names = load_model(str(opts.base)).names
    (root / "data.yaml").write_text(yaml.safe_dump({
        "path": str(root.resolve()), "train": "train/images", "val": "val/images",
        "names": {int(k): v for k, v in names.items()}}))
    (root / "stats.json").write_text(json.dumps(stats, indent=2))
    return root / "data.yaml"


def _finished(checkpoint: Path) -> bool:
    """Ultralytics marks a checkpoint of a completed training with epoch -1."""
    import torch

    return torch.load(checkpoint, map_location="cpu", weights_only=False).get("epoch", -1) == -1


def train(opts: TrainOptions, resume: bool = True) -> Path:
    """Fine-tune (resuming from the last checkpoint when there is one); returns the weights
    of the final epoch."""
    prepare_offline()
    from ultralytics import YOLO

    data = opts.out / "dataset" / "data.yaml"
    if not data.exists():
        data = prepare_dataset(opts)
    last = opts.out / "runs" / "finetune" / "weights" / "last.pt"
    if resume and last.exists():
        if not _finished(last):
            YOLO(str(last)).train(resume=True)
    else:
        YOLO(str(opts.base)).train(
            data=str(data), epochs=opts.epochs, imgsz=opts.imgsz, batch=opts.batch, device="cpu",
            workers=2, project=str((opts.out / "runs").resolve()), name="finetune",
            exist_ok=True, flipud=0.5, fliplr=0.5, mosaic=0.5, degrees=0.0, patience=50,
            plots=False, verbose=False, amp=False)
    return last  # the final epoch: picking "best" by validation mAP would select on val


def install_weights(trained: Path, dest: Path) -> None:
    """Copy trained weights into place (atomically), with their ONNX twin beside them."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(trained, tmp)
    export_onnx(dest)


def export_onnx(weights: Path) -> Path:
    """Export `weights` to ONNX beside them (any batch and image size) and record in their
    card (`<weights>.json`) which weights it was exported from, so a stale twin is never run."""
    prepare_offline()
    from ultralytics import YOLO

    weights = Path(weights)
    with tempfile.TemporaryDirectory(dir=weights.parent) as tmp:
        copy = Path(tmp) / weights.name
        shutil.copyfile(weights, copy)
        exported = Path(YOLO(str(copy), task="obb").export(
            format="onnx", imgsz=MODEL_IMGSZ, dynamic=True, simplify=True))
        twin = weights.with_suffix(".onnx")
        with atomic_path(twin) as part:
            shutil.move(exported, part)
    card = read_card(weights) | {"onnx": {"file": twin.name,
                                          "exported_from_sha256": sha256(weights)}}
    write_json(weights.with_suffix(".json"), card)
    return twin
