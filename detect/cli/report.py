"""`detect report`: re-render a stored day from the history, without rerunning anything."""

from __future__ import annotations

from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import IsoDate


@click.command()
@click.option("--site", "site_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", required=True, type=IsoDate())
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json"]), default="html",
              show_default=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path))
@clean_errors
def report(site_path: Path, date, fmt: str, db) -> None:
    """Re-render the report of a stored day into its report folder and print its path.

    \b
    Example:
      detect report --site imagery/sample-base/site.yaml --date 2026-11-21 --format html
    """
    from detect.atomic import write_json, write_text
    from detect.daily import day_folder, reference_of, render_html
    from detect.history import History, writer_lock
    from detect.report.markdown import render_markdown
    from detect.site import load_site

    site = load_site(site_path)
    day = date.isoformat()
    db = db or site.default_db
    with writer_lock(db), History(db) as history:
        folder = day_folder(site, history, day)
        stored = history.report(day)
        if fmt == "json":
            write_json(folder / "report.json", stored)
        elif fmt == "md":
            write_text(folder / "report.md", render_markdown(stored))
        else:
            ref = reference_of(site)
            render_html(site, history, day, ref)
    click.echo(str(folder / f"report.{fmt}"))
