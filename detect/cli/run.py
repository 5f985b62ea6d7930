"""`detect run` and `detect history`: the daily job and the history it builds."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import Drop, IsoDate, weights_option

log = logging.getLogger(__name__)
_site = click.option("--site", "site_path", required=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="The site's site.yaml.")
_db = click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
                   help="History database (default: history.sqlite beside site.yaml).")


@click.command()
@click.argument("drop", type=Drop())
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
@click.option("--quiet", is_flag=True, help="No progress display (as `detect -q run`).")
@click.option("--fail-on-alert", is_flag=True, help="Exit with code 3 when an alert fired.")
@click.option("--no-wait", is_flag=True, help="Fail at once (exit code 5) when another run is "
              "writing the site's history, instead of waiting for it.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary of the day to "
              "stdout instead of the report.")
@clean_errors
def run(drop: Path | str, site_path: Path, date, out, db, weights: Path, conf, quiet: bool,
        fail_on_alert: bool, no_wait: bool, as_json: bool) -> None:
    """Process one day's DROP for a site: a folder of tiles, one image, or a STAC Item or
    ItemCollection (a .json file or an http(s) URL) whose image assets are read in windows.

    \b
    Exit codes: 0 done, 1 error, 3 an alert fired (with --fail-on-alert),
    5 another run holds the history (with --no-wait).

    \b
    Example:
      detect run imagery/sample-base/drops/2026-11-21 --site imagery/sample-base/site.yaml
    """
    from detect.daily import RunOptions, run_day
    from detect.site import load_site

    if quiet:
        logging.getLogger("detect").setLevel(logging.WARNING)
    site = load_site(site_path)
    report, folder = run_day(RunOptions(drop, site, weights, date, out, db, conf,
                                        wait=not no_wait))
    log.info("[%s] report: %s", Path(str(drop)).name, folder / "report.md")
    if as_json:
        click.echo(json.dumps(day_summary(report, folder)))
    else:
        click.echo((folder / "report.md").read_text().rstrip())
    for alert in report["alerts"]:
        log.warning("ALERT %s: %s %g %s", alert["rule"], alert["metric"], alert["value"],
                    alert["threshold"])
    if fail_on_alert and report["alerts"]:
        raise SystemExit(3)


def day_summary(report: dict, folder: Path) -> dict:
    """The machine-readable summary of a processed day that `--json` prints."""
    return {"site": report["site"], "date": report["date"],
            "previous_date": report["previous_date"], "folder": str(folder),
            "total_aircraft": report["total_aircraft"],
            "by_type": report["counts"]["by_type"],
            "events": dict(Counter(e["kind"] for e in report["events"])),
            "alerts": [a["rule"] for a in report["alerts"]]}


@click.command()
@_site
@_db
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write counts by type per day as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a stacked plot of counts by type per day (PNG).")
@click.option("--stac", "stac_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a STAC catalog of every stored day (their item.json) to this folder.")
@clean_errors
def history(site_path: Path, db, csv_path, plot, stac_dir) -> None:
    """Counts by type per day from the site's history.

    \b
    Example:
      detect history --site imagery/sample-base/site.yaml --csv counts.csv --plot counts.png
    """
    from detect.daily import day_folder
    from detect.history import History
    from detect.imagery.stac import write_catalog
    from detect.report.history import counts_table, write_csv, write_plot
    from detect.site import load_site

    site = load_site(site_path)
    with History(db or site.default_db) as h:
        counts = h.counts_by_type()
        items = [day_folder(site, h, d) / "item.json" for d in h.dates()]
    click.echo(counts_table(counts))
    if csv_path:
        write_csv(csv_path, counts)
    if plot:
        write_plot(plot, counts, site.name)
    if stac_dir:
        missing = [p.parent.name for p in items if not p.is_file()]
        if missing:
            log.warning("no item.json for %s (stored by an older version): run those days "
                        "again to include them", ", ".join(missing))
        catalog = write_catalog([p for p in items if p.is_file()], stac_dir, site.name)
        log.info("STAC catalog of %d days: %s", len(items) - len(missing), catalog)
