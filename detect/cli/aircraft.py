"""`detect aircraft`: oriented boxes of aircraft, helicopters and vehicles on one image."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click

from detect.cli.errors import clean_errors
from detect.cli.options import weights_option
from detect.errors import DetectError


@click.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@weights_option
@click.option("--aoi", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GeoJSON polygon(s) (WGS84) to restrict the search to.")
@click.option("--conf", type=click.FloatRange(0, 1), default=None,
              help="Minimum detection confidence for every class (default: each class at the "
                   "operating confidence of the weights' model card, as `detect run` uses).")
@click.option("--gsd", type=click.FloatRange(0.01, 100), default=None,
              help="Metres per pixel (required for images without georeferencing).")
@click.option("--gsd-error", type=click.FloatRange(0, 0.5), default=0.0, show_default=True,
              metavar="SHARE",
              help="One-sigma error of the pixel size as a share (0.1 for a screenshot's scale "
                   "judged by eye): sizes then weigh less, and shape more, in the type call.")
@click.option("--field", "airfield", type=click.Choice(["military", "civil", "joint"]),
              default="joint", show_default=True,
              help="The kind of airfield: a prior against civil types at a military field "
                   "and the other way round.")
@click.option("--types", default=None, metavar="A,B,...",
              help="Types or families expected, comma-separated: a prior, not a filter.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the GeoJSON here instead of stdout.")
@clean_errors
def aircraft(image: Path, weights: Path, aoi: Path | None, conf: float | None, gsd: float | None,
             gsd_error: float, airfield: str, types: str | None, output: Path | None) -> None:
    """Find aircraft, helicopters and vehicles on IMAGE and write them as GeoJSON.

    \b
    Example:
      detect aircraft imagery/sample-base/drops/2026-11-20/tile_1.tif -o planes.geojson
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    from detect.atomic import write_json
    from detect.detector.raster import load_aoi
    from detect.find import find_objects
    from detect.identify.catalogue import types_named
    from detect.identify.match import site_prior

    expected = [t.strip() for t in types.split(",")] if types else None
    bad = [t for t in expected or [] if not types_named(t)]
    if bad:
        raise DetectError(f"--types: not in the catalogue: {', '.join(bad)}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            ds = rasterio.open(image)
        except rasterio.errors.RasterioIOError as exc:
            raise DetectError(f"cannot open {image}: not a readable image ({exc})") from exc
        with ds:
            region = load_aoi(aoi, ds) if aoi else None
            objects = find_objects(ds, weights, aoi=region, conf=conf, gsd=gsd,
                                   prior=site_prior(expected, airfield), scale_sigma=gsd_error,
                                   progress=True)
    collection = objects.to_geojson()
    if output:
        write_json(output, collection)
        click.echo(f"{len(objects)} objects -> {output}", err=True)
    else:
        click.echo(json.dumps(collection, indent=2))
