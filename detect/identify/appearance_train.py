"""`detect train-appearance`: train the look-class model of `detect.identify.appearance`.

Its looks come from four sources, each look in a box off its aircraft's true size and angle as a
detector's may be:
- real military aircraft: the crops' `tune` part (`detect.identify.crops`; the `report` part is
  never learned from) in the detector's box, and the MAR20 sample in its labelled boxes, each
  given the pixel size that makes its box its type's catalogue size (times up to 15% either way)
  and resampled to 0.3-0.8 m;
- real airliners: the detector's aircraft on every `airliner_every`-th Airbus training-site image
  (class `civil`; the validation sites are kept out);
- rendered aircraft of every fixed-wing catalogue type, each its type's class.
The detector's backbone is kept as it is: its features of each look (averaged over the look's
eight right-angle turns and mirrors) are computed once, and only a linear layer over them is
learned, classes weighing equally in the loss, so that the model's probabilities stand for
likelihoods. A few dozen real military aircraft could not train a network from scratch; the
detector's features, learned from thousands of real aircraft, carry over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from tqdm import tqdm

from detect.atomic import atomic_path, write_json
from detect.detector.model import sha256
from detect.identify.appearance import CLASSES, LOOK_PX, look_class, rgb_look
from detect.identify.catalogue import get_type
from detect.identify.crops import read_crops, read_mar20
from detect.identify.measure import MeasureParams, object_chip
from detect.identify.side_train import export, real_looks, rendered_looks

UTM, UTM_ORIGIN = "EPSG:32637", (500000.0, 4000000.0)  # where a crop is set to be detected


@dataclass(frozen=True)
class AppearanceOptions:
    data: Path  # the Airbus-layout folder
    crops: Path  # the ru-aircraft-crops folder
    weights: Path  # the detector whose boxes the model learns to read
    out: Path
    rendered: int = 4000  # rendered aircraft to learn from (and a fifth as many to validate)
    variants: int = 16  # looks at each real military aircraft
    scale_error: float = 0.15  # its pixel size is set from its type's size within 1 -+ this
    gsd_range: tuple[float, float] = (0.3, 0.8)  # and it is resampled into this range
    margin_m: float = 40.0  # ground metres of border colour set around a crop (as the crops'
    # trials set it)
    airliner_every: int = 2  # real airliners from every this many Airbus training images
    turned: float = 30.0  # half of the boxes are off their aircraft by up to this many degrees
    steps: int = 300  # full-batch steps of the linear layer's training
    weight_decay: float = 1e-3
    seed: int = 0


def _extent_m(types: tuple[str, ...]) -> float:
    """The catalogue's larger extent (a box's long side), averaged over the types."""
    return float(np.mean([max(get_type(t).length_m, get_type(t).span_m) for t in types]))


def _box(corners: np.ndarray) -> tuple[float, float, float]:
    """Long side, short side and the long side's azimuth (degrees, map coordinates north up)
    of a box's corners (4, 2)."""
    a, b = corners[1] - corners[0], corners[2] - corners[1]
    long, short = (a, b) if np.hypot(*a) >= np.hypot(*b) else (b, a)
    return float(np.hypot(*long)), float(np.hypot(*short)), math.degrees(
        math.atan2(long[0], long[1])) % 180


def detected_box(rgb: np.ndarray, extent_m: float, weights: Path) -> np.ndarray | None:
    """The corners (image pixels) of the detector's aircraft nearest the image's centre, the
    image read as if its aircraft filled most of it (`extent_m` over 0.8 of its side)."""
    from detect.detector.raster import detect_objects

    gsd = extent_m / (0.8 * max(rgb.shape[:2]))
    h, w = rgb.shape[:2]
    transform = from_origin(*UTM_ORIGIN, gsd, gsd)
    with MemoryFile() as mem, mem.open(driver="GTiff", width=w, height=h, count=3,
                                       dtype="uint8", crs=UTM, transform=transform) as ds:
        ds.write(rgb.transpose(2, 0, 1))
        found = detect_objects(ds, weights, conf=0.05)
    planes = np.flatnonzero(found.klass == "aircraft")
    if not len(planes):
        return None
    centres = found.corners[planes].mean(axis=1)
    i = planes[np.argmin(np.linalg.norm(centres - transform @ (w / 2, h / 2), axis=1))]
    cols, rows = ~transform @ (found.corners[i][:, 0], found.corners[i][:, 1])
    return np.stack([cols, rows], axis=1)


def _padded(rgb: np.ndarray, pad: int) -> np.ndarray:
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                              value=np.median(border, axis=0).tolist())


def variant_looks(rgb: np.ndarray, corners: np.ndarray, extent_m: float,
                  rng: np.random.Generator, opts: AppearanceOptions, margin: bool
                  ) -> list[np.ndarray]:
    """`opts.variants` looks at the aircraft in box `corners` (image pixels) of `rgb`: each at
    a pixel size that makes the box `extent_m` long (within `scale_error`), resampled into
    `gsd_range`, with `margin`: set on `margin_m` of its border colour first, and boxed as a
    detector may (off by up to `turned` degrees)."""
    out = []
    long_px = _box(corners)[0]
    for _ in range(opts.variants):
        gsd = rng.uniform(*opts.gsd_range)
        k = extent_m / long_px * rng.uniform(1 - opts.scale_error, 1 + opts.scale_error) / gsd
        size = (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if k < 1 else
                           cv2.INTER_LINEAR)
        pad = round(opts.margin_m / gsd) if margin else 0
        image = _padded(small, pad) if margin else small
        t = from_origin(0, image.shape[0] * gsd, gsd, gsd)
        cols, rows = (corners * k + pad).T
        mapped = np.stack(t @ (cols, rows), axis=1)
        long, short, axis = _box(mapped)
        long, short = long * rng.uniform(0.9, 1.05), short * rng.uniform(0.85, 1.05)
        axis += rng.choice([rng.normal(0, 3), rng.uniform(-opts.turned, opts.turned)])
        c = object_chip(image.transpose(2, 0, 1).astype(np.float32), None, t, mapped, axis,
                        long, short)
        out.append(appearance_look(c, long, short))
    return out


def appearance_look(c: np.ndarray, box_length: float, box_width: float) -> np.ndarray:
    """The appearance model's look at a measurement chip, stored as 8-bit."""
    look = rgb_look(c, box_length, box_width, MeasureParams.chip_res_m)
    return np.round(look * 255).astype(np.uint8)


def military_looks(opts: AppearanceOptions) -> tuple[list[np.ndarray], list[str]]:
    """Looks at the crops' tune part and the MAR20 sample, and their look classes."""
    rng = np.random.default_rng(opts.seed)
    looks, classes = [], []
    crops = [c for c in read_crops(opts.crops) if c.part == "tune"]
    for crop in tqdm(crops, desc="real military crops", unit="crop"):
        rgb = cv2.imread(str(crop.path))[..., ::-1]
        extent = _extent_m(crop.types)
        box = detected_box(rgb, extent, opts.weights)
        if box is not None:
            looks += variant_looks(rgb, box, extent, rng, opts, True)
            classes += [look_class(get_type(crop.types[0]))] * opts.variants
    for path, name, box in tqdm(read_mar20(opts.crops), desc="MAR20 aircraft", unit="aircraft"):
        rgb = cv2.imread(str(path))[..., ::-1]
        looks += variant_looks(rgb, box, _extent_m((name,)), rng, opts, False)
        classes += [look_class(get_type(name))] * opts.variants
    return looks, classes


def _turns(x) -> list:
    """A batch of looks turned by right angles and mirrored: the eight of each."""
    import torch

    return [torch.flip(y, d) if d else y for y in (x, x.transpose(2, 3))
            for d in ((), (2,), (3,), (2, 3))]


def backbone(detector: Path):
    """The detector's convolutional layers up to its last (SPPF) block, frozen, giving the mean
    over the image of three of their outputs (strides 8, 16 and 32), over the look's turns."""
    import torch
    from torch import nn
    from ultralytics import YOLO

    layers = YOLO(str(detector.with_suffix(".pt"))).model.float().eval().model[:10]

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = layers

        def forward(self, x):
            out = []
            for y in _turns(x):
                got = []
                for i, layer in enumerate(self.layers):
                    y = layer(y)
                    if i in (4, 6, 9):
                        got.append(y.mean(dim=(2, 3)))
                out.append(torch.cat(got, 1))
            return sum(out) / len(out)

    net = Backbone().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def features(net, looks: np.ndarray) -> np.ndarray:
    """The backbone's features of 8-bit looks (n, 3, LOOK_PX, LOOK_PX), in batches."""
    import torch

    out = []
    with torch.no_grad():
        for i in tqdm(range(0, len(looks), 64), desc="features", unit="batch"):
            out.append(net(torch.from_numpy(looks[i:i + 64].astype(np.float32) / 255)).numpy())
    return np.concatenate(out)


def appearance_network(net, head, mean: np.ndarray, scale: np.ndarray):
    """The model: the backbone's features, standardised, through the linear layer `head`."""
    import torch
    from torch import nn

    class Appearance(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.head = net, head
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))

        def forward(self, x):
            return self.head((self.net(x) - self.mean) / self.scale)

    return Appearance().eval()


def fit_head(f: np.ndarray, y: np.ndarray, opts: AppearanceOptions):
    """A linear layer over standardised features `f` (classes `y`), classes weighing equally,
    and the standardisation (mean, scale)."""
    import torch

    torch.manual_seed(opts.seed)
    mean, scale = f.mean(axis=0), f.std(axis=0) + 1e-6
    x = torch.from_numpy(((f - mean) / scale).astype(np.float32))
    t = torch.from_numpy(y.astype(np.int64))
    counts = np.bincount(y.astype(int), minlength=len(CLASSES))
    weight = torch.from_numpy((len(y) / (len(CLASSES) * np.maximum(counts, 1))).astype(
        np.float32))
    head = torch.nn.Linear(f.shape[1], len(CLASSES))
    opt = torch.optim.Adam(head.parameters(), 1e-2, weight_decay=opts.weight_decay)
    for _ in tqdm(range(opts.steps), desc="training", unit="step"):
        loss = torch.nn.functional.cross_entropy(head(x), t, weight=weight, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return head.eval(), mean, scale


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    """The share of 8-bit looks `x` whose likeliest class is `y`."""
    import torch

    if not len(y):
        return float("nan")
    with torch.no_grad():
        p = np.concatenate([net(torch.from_numpy(x[i:i + 64].astype(np.float32) / 255))
                            .argmax(dim=1).numpy() for i in range(0, len(x), 64)])
    return float(np.mean(p == y))


def _labels(classes: list[str]) -> np.ndarray:
    return np.array([CLASSES.index(c) for c in classes], np.float32)


def train_appearance(opts: AppearanceOptions) -> dict:
    """Collect the looks (cached under `out`), train, and write `out/appearance.onnx` with its
    card `out/appearance.json` (classes, sources, validation accuracy)."""
    from detect.detector.airbus import split_by_site
    from detect.identify.catalogue import load_catalogue

    cat = load_catalogue()
    opts.out.mkdir(parents=True, exist_ok=True)
    cached = opts.out / "looks.npz"
    if not cached.exists():
        train, val = split_by_site(opts.data)
        xm, cm = military_looks(opts)
        xa = real_looks(opts.data, opts.weights, train[::opts.airliner_every], 0.0, opts.seed,
                        look_of=appearance_look)
        va = real_looks(opts.data, opts.weights, val, 0.0, opts.seed, look_of=appearance_look)
        xs, _, ns = rendered_looks(opts.rendered, opts.seed, opts.turned, appearance_look)
        vs, _, vn = rendered_looks(opts.rendered // 5, opts.seed + 1, opts.turned,
                                   appearance_look)
        with atomic_path(cached) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f, xm=np.stack(xm), ym=_labels(cm), xa=xa, va=va, xs=xs,
                ys=_labels([look_class(cat[n]) for n in ns]), vs=vs,
                vys=_labels([look_class(cat[n]) for n in vn]))
    d = np.load(cached)
    civil = CLASSES.index("civil")
    x = np.concatenate([d["xm"], d["xa"], d["xs"]])
    y = np.concatenate([d["ym"], np.full(len(d["xa"]), civil, np.float32), d["ys"]])
    body = backbone(opts.weights)
    head, mean, scale = fit_head(features(body, x), y, opts)
    net = appearance_network(body, head, mean, scale)
    counts = np.bincount(y.astype(int), minlength=len(CLASSES))
    card = {"classes": list(CLASSES),
            "options": {"data": str(opts.data), "crops": str(opts.crops),
                        "detector": opts.weights.name, "detector_sha256": sha256(opts.weights),
                        "rendered": opts.rendered, "variants": opts.variants,
                        "scale_error": opts.scale_error, "gsd_range": list(opts.gsd_range),
                        "margin_m": opts.margin_m,
                        "airliner_every": opts.airliner_every, "turned": opts.turned,
                        "steps": opts.steps, "weight_decay": opts.weight_decay,
                        "seed": opts.seed},
            "looks": {"real military (crops' tune part, MAR20 sample)": len(d["xm"]),
                      "real airliners (Airbus training sites)": len(d["xa"]),
                      "rendered": len(d["xs"])},
            "looks per class": dict(zip(CLASSES, map(int, counts), strict=True)),
            "validation accuracy": {
                "real airliners (Airbus validation sites) as civil": accuracy(
                    net, d["va"], np.full(len(d["va"]), civil)),
                "rendered (another seed)": accuracy(net, d["vs"], d["vys"])}}
    export(net, opts.out / "appearance.onnx", (3, LOOK_PX, LOOK_PX))
    write_json(opts.out / "appearance.json", card)
    return card

