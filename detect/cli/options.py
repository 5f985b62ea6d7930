"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


class IsoDate(click.ParamType):
    """A YYYY-MM-DD date."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date of the form YYYY-MM-DD", param, ctx)


class EpsgCode(click.ParamType):
    """A CRS written as EPSG:CODE."""

    name = "EPSG:CODE"

    def convert(self, value, param, ctx):
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(value)
        except CRSError:
            self.fail(f"{value!r} is not a known CRS (write it as EPSG:CODE)", param, ctx)
        return value.upper()


class Drop(click.ParamType):
    """A drop: an existing folder or file, or an http(s) URL of a STAC Item."""

    name = "DROP"

    def convert(self, value, param, ctx):
        text = str(value)
        if text.startswith(("http://", "https://")):
            return text
        return click.Path(exists=True, path_type=Path).convert(value, param, ctx)


def weights_option(fn):
    """`--weights PATH`, defaulting to the project's own trained weights."""
    from detect.detector.model import DEFAULT_WEIGHTS

    return click.option("--weights", type=click.Path(dir_okay=False, path_type=Path),
                        default=DEFAULT_WEIGHTS, show_default="weights/detect-obb.onnx",
                        help="OBB weights: an ONNX export, or Ultralytics .pt weights (these "
                             "need the [train] extra unless their ONNX twin lies beside them)."
                        )(fn)
