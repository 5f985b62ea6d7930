"""`detect watch`: process new drops as they land in an inbox folder."""

from __future__ import annotations

import time
from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import weights_option


@click.command()
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--site", "site_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--interval", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds between scans.")
@click.option("--settle", type=click.FloatRange(0), default=5.0, show_default=True,
              help="A drop is complete when no file changed for this many seconds.")
@click.option("--once", is_flag=True, help="Scan once and exit.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path))
@weights_option
@clean_errors
def watch(inbox: Path, site_path: Path, interval: float, settle: float, once: bool, db,
          weights: Path) -> None:
    """Process each new drop folder in INBOX once, in date order; failures go to
    INBOX/failed/ with an error.txt.

    \b
    Example:
      detect watch /data/inbox --site site.yaml --interval 300
    """
    from detect.daily import RunOptions
    from detect.site import load_site
    from detect.watch import scan

    site = load_site(site_path)
    opts = RunOptions(inbox, site, weights, db=db)
    while True:
        result = scan(inbox, opts, settle, log=lambda m: click.echo(m, err=True))
        if once:
            click.echo(f"processed {len(result.processed)}, skipped {len(result.skipped)}, "
                       f"failed {len(result.failed)}")
            return
        time.sleep(interval)
