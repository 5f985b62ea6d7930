"""The `detect` command line: one module per subcommand, registered here."""

from __future__ import annotations

import logging

import click

from detect import __version__
from detect.cli.aircraft import aircraft
from detect.cli.batch import batch
from detect.cli.eval import evaluate
from detect.cli.register import change, register
from detect.cli.report import report
from detect.cli.run import history, run
from detect.cli.synth import synth
from detect.cli.train import train, train_appearance, train_side
from detect.cli.watch import watch


class _EchoHandler(logging.Handler):
    """Log records to the current stderr, warnings and errors marked as such."""

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        click.echo(text, err=True)


def configure_logging(verbose: int, quiet: bool) -> None:
    """Progress (INFO) to stderr by default; `-q` warnings only, `-v` debug detail."""
    logger = logging.getLogger("detect")
    handler = _EchoHandler()
    fmt = "%(asctime)s %(name)s: %(message)s" if verbose else "%(message)s"
    handler.setFormatter(logging.Formatter(fmt, "%H:%M:%S"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="detect")
@click.option("-v", "--verbose", count=True, help="Log more detail (timestamps, debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
def main(verbose: int, quiet: bool) -> None:
    """Airbase activity from satellite imagery."""
    configure_logging(verbose, quiet)


main.add_command(aircraft)
main.add_command(batch)
main.add_command(change)
main.add_command(evaluate)
main.add_command(history)
main.add_command(register)
main.add_command(report)
main.add_command(run)
main.add_command(synth)
main.add_command(train)
main.add_command(train_side)
main.add_command(train_appearance)
main.add_command(watch)
