"""Turn the pipeline's own errors into one clean line and a non-zero exit."""

from __future__ import annotations

import functools

import click


class DetectError(Exception):
    """A user-facing error from any stage: the message says what went wrong and what to do."""


def clean_errors(fn):
    """Report expected failures as `Error: ...` with exit code 1, never a traceback."""
    from detect.daily import RunError
    from detect.detector.model import WeightsError
    from detect.detector.slicing import RasterError
    from detect.imagery.align import RegistrationError
    from detect.imagery.ingest import IngestError
    from detect.site import SiteError

    expected = (DetectError, WeightsError, RasterError, IngestError, RegistrationError,
                RunError, SiteError)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except expected as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            import rasterio.errors

            if isinstance(exc, rasterio.errors.RasterioError):
                raise click.ClickException(f"cannot read raster: {exc}") from exc
            raise

    return wrapper
