"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import datetime as dt

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
