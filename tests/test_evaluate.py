"""`detect eval`: VOC AP50, precision, recall and count error."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from detect.cli import main
from detect.detector.airbus import read_sites, split_by_site
from detect.detector.evaluate import average_precision


def test_average_precision_is_the_voc_all_points_area():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    hits = np.array([True, False, True, True])
    # precision envelope: 1 up to recall 1/3, then 3/4 up to recall 1
    assert abs(average_precision(scores, hits, 3) - (1 / 3 + 2 / 3 * 0.75)) < 1e-9
    assert average_precision(scores, np.zeros(4, bool), 3) == 0.0


def test_split_is_by_site_never_by_image(airbus):
    train, val = split_by_site(airbus)
    sites = read_sites(airbus)
    assert train and val
    assert not {sites[n] for n in train} & {sites[n] for n in val}


def test_eval_on_a_labelled_folder(airbus, tmp_path):
    one = sorted(split_by_site(airbus)[1])[0]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / one).symlink_to(airbus / "images" / one)
    rows = [ln for ln in (airbus / "annotations.csv").read_text().splitlines()
            if ln.startswith("id,") or one in ln]
    (tmp_path / "annotations.csv").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(main, ["eval", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["images"] == 1 and report["labels"] > 0
    assert report["ap50"] >= 0.9 and report["recall"] >= 0.9
