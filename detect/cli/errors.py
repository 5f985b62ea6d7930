"""Turn expected failures into one clean line and a non-zero exit, never a traceback."""

from __future__ import annotations

import errno
import functools

import click

from detect.errors import DetectError

# what to do about a file-system error, by errno
_OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free space and run again",
    errno.EDQUOT: "the disk quota is exhausted: free space and run again",
    errno.EACCES: "permission denied: make it writable or choose another folder",
    errno.EPERM: "permission denied: make it writable or choose another folder",
    errno.EROFS: "the file system is read-only: choose another folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "it is a folder, not a file: choose another path",
}


def os_message(exc: OSError) -> str:
    """One line for a file-system error: the path, the cause and what to do."""
    where = exc.filename or "a file"
    advice = _OS_ADVICE.get(exc.errno, exc.strerror or str(exc))
    return f"cannot write or read {where}: {advice}"


class _Failed(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def clean_errors(fn):
    """Report a `DetectError` (exit code its own), a file-system or raster error as
    `Error: ...` in one line."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import rasterio.errors

        try:
            return fn(*args, **kwargs)
        except DetectError as exc:
            raise _Failed(str(exc), exc.exit_code) from exc
        except rasterio.errors.RasterioError as exc:
            raise _Failed(f"cannot read raster: {exc}") from exc
        except OSError as exc:
            raise _Failed(os_message(exc)) from exc

    return wrapper
