"""The `detect` command line: one module per subcommand, registered here."""

from __future__ import annotations

import click

from detect import __version__
from detect.cli.aircraft import aircraft
from detect.cli.eval import evaluate
from detect.cli.register import change, register
from detect.cli.report import report
from detect.cli.run import history, run
from detect.cli.synth import synth
from detect.cli.train import train
from detect.cli.watch import watch


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="detect")
def main() -> None:
    """Airbase activity from satellite imagery."""


main.add_command(aircraft)
main.add_command(change)
main.add_command(evaluate)
main.add_command(history)
main.add_command(register)
main.add_command(report)
main.add_command(run)
main.add_command(synth)
main.add_command(train)
main.add_command(watch)
