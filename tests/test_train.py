"""Training data for `detect train`: synthetic labels at the model's pixel size, real labels
turned to the fuselage."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from detect.detector.airbus import read_labels
from detect.detector.model import DEFAULT_WEIGHTS, MODEL_GSD
from detect.detector.train import fuselage, oriented_from_label, synthetic_labels
from detect.identify.appearance import CLASSES, look_class, looks_like
from detect.identify.appearance_train import (
    AppearanceOptions,
    appearance_look,
    appearance_network,
    fit_head,
    fold_heads,
    log_probabilities,
    out_of_fold,
)
from detect.identify.backbone import axis_backbone, backbone, export, features
from detect.identify.catalogue import get_type
from detect.identify.side import along_long_side
from detect.identify.side_train import SideOptions, fit_side, rendered_looks, side_network
from detect.synth.series import SynthOptions, make_series
from detect.track import axis_diff
from tests.rasters import judged_fuselages


def test_a_coarse_synthetic_series_is_taught_at_the_models_pixel_size(tmp_path):
    """A 1 m series is read as `detect` reads it, at 0.5 m: its image doubles and each label
    lands where the same aircraft is labelled on the 0.5 m series of the same seed (moved by
    the two days' different misregistration), at the same size in metres."""
    labels, shifts = {}, {}
    for gsd in (0.5, 1.0):
        root = tmp_path / str(gsd)
        make_series(root, SynthOptions(days=1, seed=5, gsd=gsd, size=int(512 / gsd), tiles=1))
        ((_, image, labels[gsd]),) = synthetic_labels(root)
        assert image.shape[:2] == (int(512 / MODEL_GSD),) * 2
        day = json.loads((root / "truth.json").read_text())["days"][0]
        shifts[gsd] = np.array(day["misregistration"]["shift_m"]) * [1, -1] / MODEL_GSD
    assert len(labels[0.5]) == len(labels[1.0]) >= 5
    moved = shifts[1.0] - shifts[0.5]
    for (k5, c5), (k1, c1) in zip(labels[0.5], labels[1.0], strict=True):
        assert k5 == k1
        assert np.abs(c1 - c5 - moved).max() < 0.1


def test_a_real_airliners_training_box_lies_along_its_fuselage(airbus):
    """`detect train` turns each human label box to the aircraft's fuselage, found in the
    image: on 31 airliners of the held-out sites, whose fuselage was judged by eye, it lies
    within 15 degrees for 27 (the four others are dark or red-painted, or their wing outshines
    the fuselage); and the oriented box it teaches has the label as its bounds (within 10%: near
    45 degrees, where the bounds alone do not fix the box, its sides are the silhouette's)."""
    labelled = read_labels(airbus)
    judged = judged_fuselages()
    close = 0
    for name, index, angle in judged:
        item = labelled[name]
        label = item.boxes[index]
        theta, ratio = fuselage(cv2.imread(str(item.path)), label)
        close += axis_diff(math.degrees(theta), angle) <= 15
        box = oriented_from_label(label, theta, ratio)
        bounds = np.r_[box.min(axis=0), box.max(axis=0)]
        assert np.abs(bounds - label).max() <= 0.1 * np.ptp(label.reshape(2, 2), axis=0).max()
    assert close >= 26, f"{close} of {len(judged)} fuselages within 15 degrees"


@pytest.mark.train
def test_the_fuselage_side_model_runs_the_same_in_onnxruntime_as_it_trained(tmp_path):
    """`detect train-side`'s network, trained briefly and exported, gives through onnxruntime
    (the runtime, no PyTorch) the probabilities PyTorch gives."""
    import torch

    looks, along, _ = rendered_looks(24, 3, SideOptions.turned)
    body = axis_backbone(DEFAULT_WEIGHTS)
    opts = SideOptions(tmp_path, DEFAULT_WEIGHTS, tmp_path, epochs=5)
    net = side_network(body, *fit_side(features(body, looks), along, opts))
    export(net, tmp_path / "side.onnx", looks.shape[1:])
    x = looks.astype(np.float32) / 255
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(x))[:, 0]).numpy()
    np.testing.assert_allclose(along_long_side(x, tmp_path / "side.onnx"), expected,
                               atol=1e-4)


@pytest.mark.train
def test_the_appearance_model_runs_the_same_in_onnxruntime_as_it_trained(tmp_path):
    """`detect train-appearance`'s model (the detector's backbone and a briefly trained linear
    layer), exported, gives through onnxruntime the class probabilities PyTorch gives, under
    the classes of its card."""
    import torch

    looks, _, names = rendered_looks(24, 3, SideOptions.turned, appearance_look)
    y = np.array([CLASSES.index(look_class(get_type(n))) for n in names], np.float32)
    body = backbone(DEFAULT_WEIGHTS)
    opts = AppearanceOptions(tmp_path, tmp_path, DEFAULT_WEIGHTS, tmp_path, steps=5)
    net = appearance_network(body, *fit_head(features(body, looks), y, opts))
    export(net, tmp_path / "look.onnx", looks.shape[1:])
    (tmp_path / "look.json").write_text(json.dumps({"classes": list(CLASSES)}))
    x = looks.astype(np.float32) / 255
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(x)), dim=1).numpy()
    got = looks_like(x, tmp_path / "look.onnx")
    np.testing.assert_allclose([[p[c] for c in CLASSES] for p in got], expected, atol=2e-3)


@pytest.mark.train
def test_the_out_of_fold_figures_judge_looks_the_model_never_learned(tmp_path):
    """`out_of_fold` judges each fold by the head `fold_heads` learned without it: looks whose
    classes are noise (random features, random classes) are learned by heart by a head that
    sees them, and named at chance out of fold, while looks whose class shows in their
    features are named out of fold too."""
    rng = np.random.default_rng(0)
    n = 120
    y = rng.integers(0, len(CLASSES), n).astype(np.float32)
    fold = np.arange(n) % 2
    noise = rng.normal(size=(n, 448))
    opts = AppearanceOptions(tmp_path, tmp_path, DEFAULT_WEIGHTS, tmp_path)
    assert out_of_fold(noise, y, fold, fold_heads(noise, y, fold, opts))["accuracy"] < 0.25
    learned = log_probabilities(fit_head(noise, y, opts), noise)
    assert np.mean(learned.argmax(axis=1) == y) > 0.9
    shown = noise + rng.normal(size=(len(CLASSES), 448))[y.astype(int)]
    assert out_of_fold(shown, y, fold, fold_heads(shown, y, fold, opts))["accuracy"] > 0.9
