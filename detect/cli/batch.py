"""`detect batch`: many bases at once, each base's days in order, bases in parallel on Dask."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import weights_option


@click.command()
@click.argument("site_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="Worker processes of the local Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Run on an existing Dask scheduler "
              "(e.g. tcp://10.0.0.5:8786) instead of a local cluster.")
@weights_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@clean_errors
def batch(site_dirs: tuple[Path, ...], workers: int, scheduler: str | None, weights: Path,
          as_json: bool) -> None:
    """Process every new drop of each SITE_DIR (site.yaml beside a drops/ or inbox/ folder of
    dated drop folders or STAC items): days in date order, bases in parallel.

    \b
    Exit codes: 0 every drop done or skipped, 1 error, 4 a drop failed.

    \b
    Example:
      detect batch bases/hmeimim bases/engels --workers 2
    """
    from tqdm import tqdm

    from detect.batch import run_batch, table

    with tqdm(total=len(site_dirs), unit="base", desc="batch", disable=as_json) as bar:
        def done(result) -> None:
            bar.update()
            with bar.external_write_mode():
                for error in result.errors:
                    click.echo(f"{result.base}: {error}", err=True)

        results = run_batch(list(site_dirs), weights, workers, scheduler, done)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results]))
    else:
        for line in table(results):
            click.echo(line)
    if any(r.failed for r in results):
        raise SystemExit(4)
