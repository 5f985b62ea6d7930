"""`detect run` and `detect history`: the daily job and the history it builds."""

from __future__ import annotations

from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import IsoDate, weights_option

_site = click.option("--site", "site_path", required=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="The site's site.yaml.")
_db = click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
                   help="History database (default: history.sqlite beside site.yaml).")


@click.command()
@click.argument("drop", type=click.Path(exists=True, path_type=Path))
@_site
@click.option("--date", type=IsoDate(), help="Date of the drop (default: from the TIFF tags or "
              "a YYYY-MM-DD in the drop's name).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder (default: reports/YYYY-MM-DD beside site.yaml).")
@_db
@weights_option
@click.option("--conf", type=click.FloatRange(0, 1), default=None,
              help="Detection confidence (default: the operating point in the weights' "
              "model card, weights/detect-obb.json).")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--fail-on-alert", is_flag=True, help="Exit with code 3 when an alert fired.")
@clean_errors
def run(drop: Path, site_path: Path, date, out, db, weights: Path, conf, quiet: bool,
        fail_on_alert: bool) -> None:
    """Process one day's DROP (a folder of tiles, or one image) for a site.

    \b
    Example:
      detect run imagery/sample-base/drops/2026-11-21 --site imagery/sample-base/site.yaml
    """
    from detect.daily import RunOptions, run_day
    from detect.site import load_site

    site = load_site(site_path)

    def progress(stage: str) -> None:
        if not quiet or "failed" in stage:
            click.echo(f"[{drop.name}] {stage}", err=True)

    report, folder = run_day(RunOptions(drop, site, weights, date, out, db, conf), progress)
    if not quiet:
        click.echo(f"[{drop.name}] report: {folder / 'report.md'}", err=True)
    click.echo((folder / "report.md").read_text().rstrip())
    for alert in report["alerts"]:
        click.echo(f"ALERT {alert['rule']}: {alert['metric']} {alert['value']:g} "
                   f"{alert['threshold']}", err=True)
    if fail_on_alert and report["alerts"]:
        raise SystemExit(3)


@click.command()
@_site
@_db
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write counts by type per day as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a stacked plot of counts by type per day (PNG).")
@clean_errors
def history(site_path: Path, db, csv_path, plot) -> None:
    """Counts by type per day from the site's history.

    \b
    Example:
      detect history --site imagery/sample-base/site.yaml --csv counts.csv --plot counts.png
    """
    from detect.history import History
    from detect.report.history import counts_table, write_csv, write_plot
    from detect.site import load_site

    site = load_site(site_path)
    with History(db or site.default_db) as h:
        counts = h.counts_by_type()
    click.echo(counts_table(counts))
    if csv_path:
        write_csv(csv_path, counts)
    if plot:
        write_plot(plot, counts, site.name)
