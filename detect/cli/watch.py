"""`detect watch`: process new drops as they land in an inbox folder."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
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
@click.option("--once", is_flag=True, help="Scan once, waiting for drops still arriving, "
              "and exit.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path))
@weights_option
@click.option("--json", "as_json", is_flag=True, help="Print each scan's result as one JSON "
              "line on stdout.")
@clean_errors
def watch(inbox: Path, site_path: Path, interval: float, settle: float, once: bool, db,
          weights: Path, as_json: bool) -> None:
    """Process each new drop folder in INBOX once, in date order; failures go to
    INBOX/failed/ with an error.txt.

    \b
    Exit codes (with --once): 0 every drop done or skipped, 1 error, 4 a drop failed.

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
        result = scan(inbox, opts, settle, wait=once)
        if as_json:
            click.echo(json.dumps(asdict(result)))
        elif once:
            click.echo(f"processed {len(result.processed)}, skipped {len(result.skipped)}, "
                       f"failed {len(result.failed)}")
        if once:
            raise SystemExit(4 if result.failed else 0)
        time.sleep(interval)
