"""The `detect` command line: one module per subcommand, registered here."""

from __future__ import annotations

import click

from detect import __version__
from detect.cli.synth import synth


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="detect")
def main() -> None:
    """Airbase activity from satellite imagery."""


main.add_command(synth)
