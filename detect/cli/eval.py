"""`detect eval`: AP50, precision, recall and count error on a labelled folder."""

from __future__ import annotations

import json
from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import weights_option


@click.command(name="eval")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False,
                                                       path_type=Path),
              help="Airbus-layout folder: images/ and annotations.csv.")
@weights_option
@click.option("--conf", type=click.FloatRange(0, 1), default=0.25, show_default=True,
              help="Confidence at which precision, recall and counts are taken.")
@click.option("--split", type=click.Choice(["all", "val", "train"]), default="all",
              show_default=True, help="Images to use: all, or one side of the by-site split.")
@clean_errors
def evaluate(data: Path, weights: Path, conf: float, split: str) -> None:
    """Evaluate detector weights on labelled images (JSON on stdout).

    \b
    Example:
      detect eval --data ../shared/data/airbus-aircraft --split val
    """
    from detect.detector.airbus import split_by_site
    from detect.detector.evaluate import evaluate as run

    names = None
    if split != "all":
        train, val = split_by_site(data)
        names = val if split == "val" else train
    result = run(data, weights, conf, names, progress=True)
    click.echo(json.dumps({"weights": str(weights), "split": split, **result.as_dict()},
                          indent=2))
