"""`detect train-side`: train the fuselage-side model of `detect.identify.side`.

Its looks come from two sources. Real airliners: the detector's aircraft on the Airbus training
sites whose box is at least `long_box` times longer one way than the other, which on a
civil airport puts the fuselage along the long side (the stubbiest airliners, the A380 and the
B747, span at most 1.10 times their length). Rendered aircraft: every fixed-wing type of the
catalogue (transports whose span exceeds their length among them) at a random pixel size,
heading, sun and apron, with a box a detector might draw. The validation sites are kept out for
reporting. The model (PyTorch, exported to ONNX) answers the same for a look's mirror images
and the opposite for it transposed: both are built into it.
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
    epochs: int = 20
    seed: int = 0


def side_look(c: np.ndarray, box_length: float, box_width: float) -> np.ndarray:
    """The fuselage-side model's look at a measurement chip (see `detect.identify.side.look`)."""
    return look(c, box_length, box_width, MeasureParams.chip_res_m)


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


def _network():
    """The model: a small CNN `g` scored on the look's four mirror images, minus the same on
    it transposed (logit of the fuselage along the columns)."""
    import torch
    from torch import nn

    def block(a: int, b: int) -> list:
        return [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2)]

    class Side(nn.Module):
        def __init__(self):
            super().__init__()
            self.g = nn.Sequential(*block(1, 12), *block(12, 24), *block(24, 48),
                                   nn.Conv2d(48, 48, 3, padding=1), nn.ReLU(),
                                   nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(48, 1))

        def mirrored(self, x):
            return sum(self.g(torch.flip(x, d) if d else x) for d in ((), (2,), (3,), (2, 3))) / 4

        def forward(self, x):
            return self.mirrored(x) - self.mirrored(x.transpose(2, 3))

    return Side()


def _along(logits, y):
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y)


def fit(x: np.ndarray, y: np.ndarray, epochs: int, seed: int, network=_network, loss=_along):
    """Train a `network()` on looks `x` labelled `y` by `loss(logits, labels)` (by default the
    side model: 1 where the fuselage runs along the long side), each look with a little
    noise."""
    import torch

    torch.manual_seed(seed)
    net = network()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 4e-3, total_steps=epochs * (
        (len(x) + 127) // 128))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), desc="training", unit="epoch"):
        net.train()
        for idx in torch.randperm(len(x), generator=gen).split(128):
            xb = xt[idx] + 0.1 * torch.randn(xt[idx].shape, generator=gen)
            batch_loss = loss(net(xb), yt[idx])
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.no_grad():
        p = net(torch.from_numpy(x))[:, 0].numpy() > 0
    return float(np.mean(p == (y > 0.5))) if len(y) else float("nan")


def export(net, dest: Path, shape: tuple[int, ...] = (1, LOOK_PX, LOOK_PX)) -> None:
    """Write the network as ONNX (input `look`, (n, *shape); output `logit`)."""
    import torch

    with atomic_path(dest) as tmp:
        torch.onnx.export(net, torch.zeros(1, *shape), str(tmp), dynamo=False,
                          input_names=["look"], output_names=["logit"],
                          dynamic_axes={"look": {0: "n"}, "logit": {0: "n"}})


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
    net = fit(x, y, opts.epochs, opts.seed)
    card = {"options": {"data": str(opts.data), "detector": opts.weights.name,
                        "detector_sha256": sha256(opts.weights), "rendered": opts.rendered,
                        "long_box": opts.long_box, "turned": opts.turned,
                        "epochs": opts.epochs, "seed": opts.seed},
            "looks": {"real airliners (Airbus training sites)": len(d["xr"]),
                      "rendered": len(d["xs"])},
            "validation accuracy": {
                "real airliners (Airbus validation sites)": accuracy(net, d["vr"], np.ones(
                    len(d["vr"]))),
                "rendered (another seed)": accuracy(net, d["vs"], d["vys"])}}
    export(net, opts.out / "fuselage-side.onnx")
    write_json(opts.out / "fuselage-side.json", card)
    return card


def install_model(trained: Path, dest: Path) -> None:
    """Copy a trained model (`trained` with .onnx) and its card (.json) to `dest` with those
    suffixes, atomically."""
    for suffix in (".onnx", ".json"):
        with atomic_path(dest.with_suffix(suffix)) as tmp:
            tmp.write_bytes(trained.with_suffix(suffix).read_bytes())
