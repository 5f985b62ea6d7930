"""`detect register` and `detect change`: co-registration and change between two images."""

from __future__ import annotations

import json
from pathlib import Path

import click

from detect.cli.errors import clean_errors

_existing = click.Path(exists=True, dir_okay=False, path_type=Path)
_out = click.Path(dir_okay=False, path_type=Path)


def _emit(report: dict, path: Path | None) -> None:
    from detect.atomic import write_json

    if path:
        write_json(path, report)
    else:
        click.echo(json.dumps(report, indent=2))


@click.command()
@click.argument("reference", type=_existing)
@click.argument("target", type=_existing)
@click.option("-o", "--output", type=_out, help="Write TARGET resampled onto REFERENCE's grid.")
@click.option("--json", "json_path", type=_out, help="Write the quality report here.")
@clean_errors
def register(reference: Path, target: Path, output: Path | None, json_path: Path | None) -> None:
    """Co-register TARGET onto REFERENCE and report the quality (JSON on stdout).

    shift_px [dx, dy]: the reference pixel (x, y) lies at target pixel (x+dx, y+dy), measured
    at the reference centre; rotation_deg is counter-clockwise in map view.

    \b
    Example:
      detect register reference.tif day.tif -o day_registered.tif --json report.json
    """
    from detect.imagery.compare import load_pair, write_registered
    from detect.imagery.register import register as run

    ref, day = load_pair(reference, target)
    reg = run(ref.gray, ref.valid, day.gray, day.valid)
    if output:
        write_registered(output, ref, day, reg)
    _emit(reg.report(), json_path)


@click.command()
@click.argument("before", type=_existing)
@click.argument("after", type=_existing)
@click.option("-o", "--output", type=_out, help="Change score raster (float32 COG, 0..1).")
@click.option("--geojson", type=_out, help="Change regions as GeoJSON (WGS84).")
@click.option("--json", "json_path", type=_out, help="Write the summary here.")
@clean_errors
def change(before: Path, after: Path, output: Path | None, geojson: Path | None,
           json_path: Path | None) -> None:
    """Register and normalise AFTER onto BEFORE, then map what changed.

    \b
    Example:
      detect change day1.tif day2.tif -o change.tif --geojson regions.geojson
    """
    from detect.imagery.compare import compare, regions_geojson, write_score

    ref, aligned, result = compare(before, after)
    if output:
        write_score(output, result)
    if geojson:
        from detect.atomic import write_json

        write_json(geojson, regions_geojson(result))
    _emit({**result.summary(), "cloud_fraction": round(aligned.cloud_fraction, 5),
           "registration": aligned.registration.report(),
           "normalisation": aligned.normalisation.report()}, json_path)
