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

The card also carries the calibration of `type_confidence` (`detect.identify.calibration`),
fitted on the tuned crops' trials (`detect.identify.trials`) each identified with the fold
model learned without it.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from detect.atomic import atomic_path, write_json
from detect.detector.model import sha256
from detect.identify import calibration
from detect.identify.appearance import CLASSES, LOOK_PX, look_class, rgb_look
from detect.identify.backbone import backbone, export, features, fit_full_batch, stored
from detect.identify.catalogue import get_type
from detect.identify.crops import read_crops
from detect.identify.measure import MeasureParams
from detect.identify.side_train import real_looks, rendered_looks
from detect.identify.trials import run_trials
from detect.identify.typed import Variants, typed_looks


@dataclass(frozen=True)
class AppearanceOptions:
    data: Path  # the Airbus-layout folder
    crops: Path  # the ru-aircraft-crops folder
    weights: Path  # the detector whose boxes the model learns to read
    out: Path
    rendered: int = 4000  # rendered aircraft to learn from (and a fifth as many to validate)
    typed: Variants = Variants()  # how each real military aircraft is looked at
    airliner_every: int = 2  # real airliners from every this many Airbus training images
    turned: float = 30.0  # half of the rendered aircraft's boxes are off by up to this many
    # degrees
    steps: int = 300  # full-batch steps of the linear layer's training
    weight_decay: float = 0.3  # the one of 0.001-3 whose models, each learned without half of
    # the tune crops, gave that half's looks their class with the least log loss (out of fold)
    seed: int = 0


def appearance_look(c: np.ndarray, box_length: float, box_width: float) -> np.ndarray:
    """The appearance model's look at a measurement chip, stored as 8-bit."""
    return stored(rgb_look(c, box_length, box_width, MeasureParams.chip_res_m))


def military_looks(opts: AppearanceOptions) -> tuple[list[np.ndarray], list[str], list[int]]:
    """Looks at the crops' tune part and the MAR20 sample, their look classes and folds (see
    `detect.identify.typed.typed_looks`)."""
    looks, classes, folds = [], [], []
    for seen, types, fold in typed_looks(opts.crops, opts.weights, opts.typed, opts.seed,
                                         appearance_look):
        looks += seen
        classes += [look_class(get_type(types[0]))] * len(seen)
        folds += [fold] * len(seen)
    return looks, classes, folds


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
    fit_full_batch(list(head.parameters()), lambda: torch.nn.functional.cross_entropy(
        head(x), t, weight=weight, label_smoothing=0.1), opts.steps, opts.weight_decay)
    return head.eval(), mean, scale


def log_probabilities(fitted: tuple, f: np.ndarray) -> np.ndarray:
    """The log probability of each class for features `f`, by a head as `fit_head` returns it
    (the layer and its standardisation)."""
    import torch

    head, mean, scale = fitted
    with torch.no_grad():
        logits = head(torch.from_numpy(((f - mean) / scale).astype(np.float32)))
        return torch.log_softmax(logits, dim=1).numpy()


def fold_heads(f: np.ndarray, y: np.ndarray, fold: np.ndarray, opts: AppearanceOptions
               ) -> list[tuple]:
    """For folds 0 and 1 of the tune crops, a head (see `fit_head`) learned from all looks but
    that fold's."""
    return [fit_head(f[fold != k], y[fold != k], opts) for k in (0, 1)]


def out_of_fold(f: np.ndarray, y: np.ndarray, fold: np.ndarray, heads: list[tuple]) -> dict:
    """How well the model tells real military aircraft it never learned: each fold's looks
    given their classes by the head learned without them (`fold_heads`). The share whose
    likeliest class is right, and the mean log loss (lower: truer probabilities), over both
    folds."""
    right, loss = [], []
    for k, fitted in enumerate(heads):
        p = log_probabilities(fitted, f[fold == k])
        t = y[fold == k].astype(int)
        right += list(p.argmax(axis=1) == t)
        loss += list(-p[np.arange(len(t)), t])
    return {"looks": len(right), "accuracy": float(np.mean(right)),
            "log loss": float(np.mean(loss))}


def accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    """The share of 8-bit looks `x` whose likeliest class is `y`."""
    if not len(y):
        return float("nan")
    return float(np.mean(features(net, x).argmax(axis=1) == y))


def _labels(classes: list[str]) -> np.ndarray:
    return np.array([CLASSES.index(c) for c in classes], np.float32)


def cached_looks(opts: AppearanceOptions):
    """Every look the model learns from or is validated on, collected once and cached as
    `out/looks.npz`: `xm`, `ym`, `fm` real military looks, classes and folds (in
    `typed_looks`' order, `typed.variants` looks an aircraft); `xa` real airliners; `xs`, `ys`
    rendered; `va` validation-site airliners; `vs`, `vys` rendered of another seed."""
    from detect.detector.airbus import split_by_site
    from detect.identify.catalogue import load_catalogue

    cat = load_catalogue()
    opts.out.mkdir(parents=True, exist_ok=True)
    cached = opts.out / "looks.npz"
    if not cached.exists() or "fm" not in np.load(cached).files:  # none, or without folds
        train, val = split_by_site(opts.data)
        xm, cm, fm = military_looks(opts)
        xa = real_looks(opts.data, opts.weights, train[::opts.airliner_every], 0.0, opts.seed,
                        look_of=appearance_look)
        va = real_looks(opts.data, opts.weights, val, 0.0, opts.seed, look_of=appearance_look)
        xs, _, ns = rendered_looks(opts.rendered, opts.seed, opts.turned, appearance_look)
        vs, _, vn = rendered_looks(opts.rendered // 5, opts.seed + 1, opts.turned,
                                   appearance_look)
        with atomic_path(cached) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f, xm=np.stack(xm), ym=_labels(cm), fm=np.array(fm), xa=xa, va=va, xs=xs,
                ys=_labels([look_class(cat[n]) for n in ns]), vs=vs,
                vys=_labels([look_class(cat[n]) for n in vn]))
    return np.load(cached)


def learned_looks(d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The looks of `cached_looks` the model learns from, in order: real military, real
    airliners (`civil`), rendered; their classes, and their folds (-1 but for a tuned crop's)."""
    x = np.concatenate([d["xm"], d["xa"], d["xs"]])
    y = np.concatenate([d["ym"], np.full(len(d["xa"]), CLASSES.index("civil"), np.float32),
                        d["ys"]])
    fold = np.concatenate([d["fm"], np.full(len(d["xa"]) + len(d["xs"]), -1)])
    return x, y, fold


def train_appearance(opts: AppearanceOptions) -> dict:
    """Collect the looks (`cached_looks`), train, and write `out/appearance.onnx` with its
    card `out/appearance.json` (classes, sources, validation accuracy, and the out-of-fold
    figures on real military aircraft, see `out_of_fold`), and the two models each learned
    without one fold, `out/appearance-fold0.onnx` and `-fold1.onnx` (with their classes), to
    judge identification out of fold by."""
    d = cached_looks(opts)
    x, y, fold = learned_looks(d)
    civil = CLASSES.index("civil")
    body = backbone(opts.weights)
    f = features(body, x)
    head, mean, scale = fit_head(f, y, opts)
    net = appearance_network(body, head, mean, scale)
    heads = fold_heads(f, y, fold, opts)
    for k, fitted in enumerate(heads):
        export(appearance_network(body, *fitted), opts.out / f"appearance-fold{k}.onnx",
               (3, LOOK_PX, LOOK_PX))
        write_json(opts.out / f"appearance-fold{k}.json",
                   {"classes": list(CLASSES), "learned without": f"fold {k} of the tune crops"})
    counts = np.bincount(y.astype(int), minlength=len(CLASSES))
    card = {"classes": list(CLASSES),
            "options": {"data": str(opts.data), "crops": str(opts.crops),
                        "detector": opts.weights.name, "detector_sha256": sha256(opts.weights),
                        "rendered": opts.rendered, "typed": asdict(opts.typed),
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
                "rendered (another seed)": accuracy(net, d["vs"], d["vys"])},
            "out of fold": {"on": "real military: the crops' tune part in two folds by "
                                  "aircraft, each judged by a head learned without it",
                            **out_of_fold(f, y, fold, heads)}}
    card.update(calibrated(opts))
    export(net, opts.out / "appearance.onnx", (3, LOOK_PX, LOOK_PX))
    write_json(opts.out / "appearance.json", card)
    return card


def calibrated(opts: AppearanceOptions) -> dict:
    """The calibration of `type_confidence` as a card entry: fitted on the calls other than
    unknown of the tuned crops' trials, each crop looked at by the fold model in `opts.out`
    learned without it (whose card holds no calibration, so that the probabilities are the
    identification's own)."""
    tuned = [c for c in read_crops(opts.crops) if c.part == "tune"]
    folds = {k: opts.out / f"appearance-fold{k}.onnx" for k in (0, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        trials = run_trials(tuned, Path(tmp), fold_models=folds, weights=opts.weights)
    calls = [t for t in trials if t.found and t.answer != "unknown"]
    fitted = calibration.fit(np.array([t.confidence for t in calls]),
                             np.array([t.crop.right(t.answer) for t in calls]))
    return fitted.card(len(calls))
