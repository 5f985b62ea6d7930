"""The detector's backbone as a frozen feature extractor for the small models of
identification (`detect.identify.side`, `detect.identify.appearance`), and their export.

The backbone is the detector's convolutional layers up to its last (SPPF) block, as `detect
train` left them. A look's features are the mean over the image of three of their outputs
(strides 8, 16 and 32), taken for the look's eight right-angle turns and mirrors: the first
four keep the look's axes (it and its mirror images), the last four are it transposed. Needs
PyTorch (training only): the models run through onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from detect.atomic import atomic_path


def _turns(x) -> list:
    """A batch of looks turned by right angles and mirrored: the eight of each, its mirror
    images first, then the same of it transposed."""
    import torch

    return [torch.flip(y, d) if d else y for y in (x, x.transpose(2, 3))
            for d in ((), (2,), (3,), (2, 3))]


def _backbone(detector: Path, pool):
    """A frozen module giving `pool(features of each of the look's eight turns)`."""
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
            return pool(out)

    net = Backbone().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def backbone(detector: Path):
    """The features averaged over the look's eight turns: alike however the look is turned."""
    return _backbone(detector, lambda out: sum(out) / len(out))


def axis_backbone(detector: Path):
    """The features of the look and its mirror images less those of it transposed: alike for
    a look's mirror images, negated for it transposed (which of its axes is which)."""
    return _backbone(detector, lambda out: sum(out[:4]) / 4 - sum(out[4:]) / 4)


def stored(look: np.ndarray) -> np.ndarray:
    """A look in 0-1 as 8-bit, as the training looks are kept (`features` reads them back)."""
    return np.round(look * 255).astype(np.uint8)


def features(net, looks: np.ndarray) -> np.ndarray:
    """What `net` (a backbone, or a whole model) gives for 8-bit looks (n, 3, px, px), in
    batches."""
    import torch

    out = []
    with torch.no_grad():
        for i in tqdm(range(0, len(looks), 64), desc="features", unit="batch"):
            out.append(net(torch.from_numpy(looks[i:i + 64].astype(np.float32) / 255)).numpy())
    return np.concatenate(out)


def fit_full_batch(params: list, loss, steps: int, weight_decay: float) -> None:
    """Adam (learning rate 0.01) on `loss()`, a loss over all the looks at once, `steps`
    times: the small models learn a linear layer over features computed once."""
    import torch

    opt = torch.optim.Adam(params, 1e-2, weight_decay=weight_decay)
    for _ in tqdm(range(steps), desc="training", unit="step"):
        value = loss()
        opt.zero_grad()
        value.backward()
        opt.step()


def export(net, dest: Path, shape: tuple[int, ...]) -> None:
    """Write the network as ONNX (input `look`, (n, *shape); output `logit`)."""
    import torch

    with atomic_path(dest) as tmp:
        torch.onnx.export(net, torch.zeros(1, *shape), str(tmp), dynamo=False,
                          input_names=["look"], output_names=["logit"],
                          dynamic_axes={"look": {0: "n"}, "logit": {0: "n"}})
