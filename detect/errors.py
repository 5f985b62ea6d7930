"""`DetectError`: the one base class of the errors a user can act on. The CLI turns each into
one line and an exit code; the message says what went wrong and what to do."""

from __future__ import annotations


class DetectError(Exception):
    """A user-facing error from any stage; `exit_code` is what the CLI exits with."""

    exit_code = 1


class BusyError(DetectError):
    """Another run holds the base's history."""

    exit_code = 5
