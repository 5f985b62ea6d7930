"""`detect train-side`: train the fuselage-side model of `detect.identify.side`.

Its looks come from two sources. Real airliners: the detector's aircraft on the Airbus training
sites whose box is at least `long_box` times longer one way than the other, which on a
civil airport puts the fuselage along the long side (the stubbiest airliners, the A380 and the
B747, span at most 1.10 times their length). Rendered aircraft: every fixed-wing type of the
catalogue (transports whose span exceeds their length among them) at a random pixel size,
heading, sun and apron, with a box a detector might draw. The validation sites are kept out for
reporting. The detector's backbone is kept as it is (`detect.identify.backbone.axis_backbone`:
the look's features less those of it transposed, computed once) and only a linear layer without
bias is learned over them, so that the model (PyTorch, exported to ONNX) answers the same for a
look's mirror images and the opposite for it transposed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin
from tqdm import tqdm

from detect.atomic import atomic_path, write_json
from detect.detector.model import sha256
from detect.identify.backbone import axis_backbone, export, features, fit_full_batch, stored
from detect.identify.catalogue import load_catalogue
from detect.identify.measure import MeasureParams, object_chip
from detect.identify.side import LOOK_PX, look


@dataclass(frozen=True)
class SideOptions:
    data: Path  # the Airbus-layout folder
    weights: Path  # the detector whose boxes the model learns to read
    out: Path
    rendered: int = 4000  # rendered aircraft to learn from (and a fifth as many to validate)
    long_box: float = 1.14  # a box this much longer than wide lies along a real airliner (none
    # spans more than 1.10 times its length)
    turned: float = 30.0  # boxes are also learned from turned by up to this many degrees either
    # way: a detector's box may lie that far off a real aircraft, whose side is still the nearer
    epochs: int = 300  # full-batch passes of the linear layer's training
    weight_decay: float = 1e-4
    seed: int = 0


def side_look(c: np.ndarray, box_length: float, box_width: float) -> np.ndarray:
    """The fuselage-side model's look at a measurement chip (see `detect.identify.side.look`),
    stored as 8-bit."""
    return stored(look(c, box_length, box_width, MeasureParams.chip_res_m))


def real_looks(data: Path, weights: Path, names: list[str], long_box: float, seed: int,
               turns: tuple[float, ...] = (), look_of=side_look) -> np.ndarray:
    """Looks (`look_of(chip, box_length, box_width)`) at the detector's aircraft on the named
    Airbus images whose box is at least `long_box` times longer than wide (the fuselage along
    the long side): each box as drawn and, for each of `turns`, turned by up to that many
    degrees either way (seeded)."""
    from detect.detector.raster import detect_objects
    from detect.detector.slicing import Reader
    from detect.identify.objects import DatasetImage

    out, rng = [], np.random.default_rng(seed)
    for name in tqdm(names, desc="real airliners", unit="image"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(data / "images" / name) as ds:
                found = detect_objects(ds, weights, gsd=0.5)
                planes = found[(found.klass == "aircraft") &
                               (found.length_m >= long_box * found.width_m)]
                source = DatasetImage(ds, Reader(ds))
                for i in range(len(planes)):
                    image, transform, _ = source.around(planes.corners[i])
                    box = float(planes.length_m[i]), float(planes.width_m[i])
                    for turn in (0.0, *(rng.uniform(-t, t) for t in turns)):
                        c = object_chip(image, None, transform, planes.corners[i],
                                        float(planes.axis_deg[i]) + turn, *box)
                        out.append(look_of(c, *box))
    return np.stack(out)


def rendered_looks(n: int, seed: int, turned: float, look_of=side_look
                   ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Looks (`look_of`, as for `real_looks`) at `n` rendered aircraft, whether each one's
    fuselage runs along its box's long side, and their types: each on a plain apron, in a box
    off its true size and angle as a detector's may be (half of them by up to `turned` degrees
    either way)."""
    from detect.synth.shapes import paste, render_sprite, shape_for

    rng = np.random.default_rng(seed)
    types = [t.name for t in load_catalogue().values() if not t.is_helicopter]
    looks, labels, names = [], [], []
    for _ in tqdm(range(n), desc="rendered aircraft", unit="aircraft"):
        names.append(str(rng.choice(types)))
        shape = shape_for(names[-1])
        gsd, heading = rng.uniform(0.25, 1.0), rng.uniform(0, 360)
        size = int((1.6 * max(shape.length, shape.span) + 20) / gsd)
        apron = np.clip(rng.uniform(0.35, 0.75) + rng.normal(0, 0.03, 3), 0, 1)
        img = np.ones((size, size, 3), np.float32) * apron.astype(np.float32)
        img *= 1 + 0.03 * rng.standard_normal((size, size, 1)).astype(np.float32)
        centre = (size / 2 + rng.uniform(-1, 1), size / 2 + rng.uniform(-1, 1))
        paste(img, render_sprite(shape, centre, heading, gsd, rng.uniform(0, 360),
                                 rng.uniform(25, 70)))
        dn = (255 * np.clip(img, 0, 1) ** 0.625).transpose(2, 0, 1)
        t = from_origin(0, size * gsd, gsd, gsd)
        length = shape.length * rng.uniform(0.85, 1.05)
        span = shape.span * rng.uniform(0.8, 1.05)
        along = length >= span
        axis = (heading if along else heading + 90) + rng.choice(
            [rng.normal(0, 3), rng.uniform(-turned, turned)])
        x, y = t @ centre
        a = math.radians(axis)
        u, v = np.array([math.sin(a), math.cos(a)]), np.array([math.cos(a), -math.sin(a)])
        long, short = max(length, span), min(length, span)
        corners = np.array([[x, y] + su * long / 2 * u + sv * short / 2 * v
                            for su, sv in ((1, 1), (1, -1), (-1, -1), (-1, 1))])
        c = object_chip(dn, None, t, corners, axis % 180, long, short)
        looks.append(look_of(c, long, short))
        labels.append(along)
    return np.stack(looks), np.array(labels, np.float32), names


def side_network(net, w: np.ndarray, scale: np.ndarray):
    """The model: the backbone's axis features `net` (see `axis_backbone`), scaled, weighed by
    `w` (the logit of the fuselage along the look's columns)."""
    import torch
    from torch import nn

    class Side(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("w", torch.from_numpy((w / scale).astype(np.float32)[:, None]))

        def forward(self, x):
            return self.net(x) @ self.w

    return Side().eval()


def fit_side(f: np.ndarray, y: np.ndarray, opts: SideOptions) -> tuple[np.ndarray, np.ndarray]:
    """Weights of a linear layer without bias over the axis features `f`, each scaled by its
    spread (not centred: a look transposed must get the opposite logit), learned full-batch
    from `y` (1 where the fuselage runs along the long side), and that scale."""
    import torch

    torch.manual_seed(opts.seed)
    scale = f.std(axis=0) + 1e-6
    x = torch.from_numpy((f / scale).astype(np.float32))
    t = torch.from_numpy(y.astype(np.float32))
    w = torch.zeros(f.shape[1], requires_grad=True)
    fit_full_batch([w], lambda: torch.nn.functional.binary_cross_entropy_with_logits(x @ w, t),
                   opts.epochs, opts.weight_decay)
    return w.detach().numpy(), scale


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    """The share of 8-bit looks `x` whose side `net` reads as `y` says."""
    if not len(y):
        return float("nan")
    return float(np.mean((features(net, x)[:, 0] > 0) == (y > 0.5)))


def train_side(opts: SideOptions) -> dict:
    """Collect the looks (cached under `out`), train, and write `out/fuselage-side.onnx` with
    its card `out/fuselage-side.json` (sources and validation accuracy)."""
    from detect.detector.airbus import split_by_site

    opts.out.mkdir(parents=True, exist_ok=True)
    cached = opts.out / "looks.npz"
    if not cached.exists():
        train, val = split_by_site(opts.data)
        xr = real_looks(opts.data, opts.weights, train, opts.long_box, opts.seed, (opts.turned,))
        vr = real_looks(opts.data, opts.weights, val, opts.long_box, opts.seed)
        xs, ys, _ = rendered_looks(opts.rendered, opts.seed, opts.turned)
        vs, vys, _ = rendered_looks(opts.rendered // 5, opts.seed + 1, opts.turned)
        with atomic_path(cached) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, xr=xr, vr=vr, xs=xs, ys=ys, vs=vs, vys=vys)
    d = np.load(cached)
    x = np.concatenate([d["xr"], d["xs"]])
    y = np.concatenate([np.ones(len(d["xr"]), np.float32), d["ys"]])
    body = axis_backbone(opts.weights)
    net = side_network(body, *fit_side(features(body, x), y, opts))
    card = {"options": {"data": str(opts.data), "detector": opts.weights.name,
                        "detector_sha256": sha256(opts.weights), "rendered": opts.rendered,
                        "long_box": opts.long_box, "turned": opts.turned,
                        "epochs": opts.epochs, "weight_decay": opts.weight_decay,
                        "seed": opts.seed},
            "looks": {"real airliners (Airbus training sites)": len(d["xr"]),
                      "rendered": len(d["xs"])},
            "validation accuracy": {
                "real airliners (Airbus validation sites)": accuracy(net, d["vr"], np.ones(
                    len(d["vr"]))),
                "rendered (another seed)": accuracy(net, d["vs"], d["vys"])}}
    export(net, opts.out / "fuselage-side.onnx", (3, LOOK_PX, LOOK_PX))
    write_json(opts.out / "fuselage-side.json", card)
    return card


def install_model(trained: Path, dest: Path) -> None:
    """Copy a trained model (`trained` with .onnx) and its card (.json) to `dest` with those
    suffixes, atomically."""
    for suffix in (".onnx", ".json"):
        with atomic_path(dest.with_suffix(suffix)) as tmp:
            tmp.write_bytes(trained.with_suffix(suffix).read_bytes())
