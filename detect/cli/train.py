"""`detect train`, `detect train-side` and `detect train-appearance`: the detector's weights,
the fuselage-side model and the look-class model, learned from real imagery (the Airbus set split
by site, the typed crops' tune part) and rendered aircraft."""

from __future__ import annotations

from pathlib import Path

import click

from detect.cli.errors import clean_errors

DATA = click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
                    default=Path("../shared/data/airbus-aircraft"), show_default=True,
                    help="Airbus-layout folder: images/, annotations.csv, sites.csv.")
DETECTOR = click.option("--weights", type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path), default=None,
                        help="The detector whose boxes it learns to read [default: the "
                        "shipped one].")
RENDERED = click.option("--rendered", type=click.IntRange(100, 100000), default=4000,
                        show_default=True, help="Rendered aircraft to learn from.")


def _model_out(default: str):
    return click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                        default=Path(default), show_default=True,
                        help="Working folder (the looks, cached; the model and its card).")


def _install(example: str):
    return click.option("--install", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help=f"Copy the model and its card here (e.g. {example}).")


@click.command()
@DATA
@click.option("--base", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="DOTA-trained Ultralytics OBB weights to start from.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("runs/train"), show_default=True,
              help="Working folder (dataset, checkpoints); re-running resumes from it.")
@click.option("--epochs", type=click.IntRange(1, 1000), default=3, show_default=True)
@click.option("--imgsz", type=click.IntRange(320, 2048), default=640, show_default=True)
@click.option("--batch", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--install", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Copy the final weights here when training ends (e.g. weights/detect-obb.pt).")
@clean_errors
def train(data: Path, base: Path, out: Path, epochs: int, imgsz: int, batch: int,
          install: Path | None) -> None:
    """Fine-tune BASE on DATA and write checkpoints under OUT (resumable).

    \b
    Example:
      detect train --base yolov8n-obb.pt --epochs 3 --install weights/detect-obb.pt
    """
    from detect.detector.model import require_train

    require_train("detect train")
    from detect.detector.train import TrainOptions, install_weights
    from detect.detector.train import train as run_training

    final = run_training(TrainOptions(data=data, base=base, out=out, epochs=epochs, imgsz=imgsz,
                                      batch=batch))
    click.echo(f"trained weights: {final}", err=True)
    if install:
        install_weights(final, install)
        click.echo(f"installed: {install}", err=True)


@click.command("train-side")
@DATA
@DETECTOR
@_model_out("runs/side")
@RENDERED
@click.option("--epochs", type=click.IntRange(1, 10000), default=300, show_default=True,
              help="Full-batch passes of the linear layer's training.")
@_install("weights/fuselage-side.onnx")
@clean_errors
def train_side(data: Path, weights: Path | None, out: Path, rendered: int, epochs: int,
               install: Path | None) -> None:
    """Train the model that tells which side of its box an aircraft's fuselage lies along.

    \b
    Example:
      detect train-side --install weights/fuselage-side.onnx
    """
    from detect.detector.model import DEFAULT_WEIGHTS, require_train

    require_train("detect train-side")
    from detect.identify.side_train import SideOptions
    from detect.identify.side_train import train_side as run_training

    card = run_training(SideOptions(data=data, weights=weights or DEFAULT_WEIGHTS, out=out,
                                    rendered=rendered, epochs=epochs))
    _finish(card, out / "fuselage-side", install)


def _finish(card: dict, trained: Path, install: Path | None) -> None:
    """Print a trained model's validation accuracy and install it where asked."""
    from detect.identify.side_train import install_model

    for source, accuracy in card["validation accuracy"].items():
        click.echo(f"validation accuracy, {source}: {accuracy:.3f}", err=True)
    if oof := card.get("out of fold"):
        click.echo(f"out of fold, {oof['on']}: accuracy {oof['accuracy']:.3f}, log loss "
                   f"{oof['log loss']:.3f}", err=True)
    if fit := card.get("type_confidence calibration"):
        click.echo(f"type_confidence calibration: slope {fit['slope']:.3f}, intercept "
                   f"{fit['intercept']:.3f} ({fit['calls']} calls)", err=True)
    if install:
        install_model(trained, install)
        click.echo(f"installed: {install}", err=True)


@click.command("train-appearance")
@DATA
@click.option("--crops", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("../shared/data/ru-aircraft-crops"), show_default=True,
              help="Typed real aircraft: labels.csv, crops/, mar20-sample/.")
@DETECTOR
@_model_out("runs/appearance")
@RENDERED
@click.option("--steps", type=click.IntRange(1, 100000), default=300, show_default=True,
              help="Training steps of the model's last (linear) layer.")
@click.option("--weight-decay", type=click.FloatRange(0, min_open=True), default=0.3,
              show_default=True,
              help="How hard the layer is held small; compare the card's out-of-fold log loss.")
@_install("weights/appearance.onnx")
@clean_errors
def train_appearance(data: Path, crops: Path, weights: Path | None, out: Path, rendered: int,
                     steps: int, weight_decay: float, install: Path | None) -> None:
    """Train the model that tells what class of aircraft a look shows.

    \b
    Example:
      detect train-appearance --install weights/appearance.onnx
    """
    from detect.detector.model import DEFAULT_WEIGHTS, require_train

    require_train("detect train-appearance")
    from detect.identify.appearance_train import AppearanceOptions
    from detect.identify.appearance_train import train_appearance as run_training

    card = run_training(AppearanceOptions(data=data, crops=crops, out=out, rendered=rendered,
                                          weights=weights or DEFAULT_WEIGHTS, steps=steps,
                                          weight_decay=weight_decay))
    _finish(card, out / "appearance", install)
