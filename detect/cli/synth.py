"""`detect synth`: write a synthetic airbase series."""

from __future__ import annotations

from pathlib import Path

import click

from detect.cli.options import EpsgCode, IsoDate


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--days", type=click.IntRange(1, 365), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--gsd", type=click.FloatRange(0.1, 2.0), default=0.5, show_default=True,
              help="Ground sample distance in metres per pixel.")
@click.option("--size", type=click.IntRange(64, 40000), default=1024, show_default=True,
              help="Scene width and height in pixels.")
@click.option("--crs", type=EpsgCode(), default=None,
              help="CRS of the tiles (default: the UTM zone of the base).")
@click.option("--tiles", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Overlapping tiles per daily drop.")
@click.option("--start", type=IsoDate(), default="2026-11-20", show_default=True,
              help="Date of the first day.")
@click.option("--center", type=(float, float), default=(35.948, 35.401), show_default=True,
              metavar="LON LAT", help="Where on Earth the base lies.")
@click.option("--force", is_flag=True, help="Write into a non-empty OUT_DIR.")
def synth(out_dir: Path, days, seed, gsd, size, crs, tiles, start, center, force) -> None:
    """Write a synthetic airbase observed on DAYS consecutive days into OUT_DIR.

    \b
    Example:
      detect synth imagery/sample-base --days 5 --seed 7
    """
    from detect.synth.series import SynthOptions, make_series

    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise click.UsageError(f"{out_dir} is not empty; use --force to write into it anyway")
    opts = SynthOptions(days=days, seed=seed, gsd=gsd, size=size, crs=crs, tiles=tiles,
                        start=start, lon=center[0], lat=center[1])
    try:
        truth = make_series(out_dir, opts)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    n = sum(len(d["objects"]) for d in truth["days"])
    click.echo(f"wrote {days} days ({n} objects) to {out_dir}", err=True)
