"""Watching an inbox of drops: each new drop folder is processed once, in date order, when it is
complete; a drop that fails is moved to `INBOX/failed/` with an `error.txt`. What was processed
is known from the history (files by content hash), so restarts and re-deliveries under another
name are harmless."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from detect.daily import DATE_IN_NAME, RunOptions, run_day
from detect.history import History
from detect.imagery.ingest import drop_files, file_hash

FAILED = "failed"


@dataclass
class WatchResult:
    processed: list[str]
    skipped: list[str]
    failed: list[str]


def _drops(inbox: Path) -> list[Path]:
    """Candidate drop folders, oldest date first (date in the name, else modification time)."""
    folders = [p for p in inbox.iterdir() if p.is_dir() and p.name != FAILED
               and not p.name.startswith(".")]

    def key(p: Path):
        m = DATE_IN_NAME.search(p.name)
        return (m.group(1) if m else "9999", p.stat().st_mtime, p.name)

    return sorted(folders, key=key)


def is_settled(drop: Path, seconds: float) -> bool:
    """True when no file of the drop changed in the last `seconds`."""
    newest = max((p.stat().st_mtime for p in drop.rglob("*")), default=drop.stat().st_mtime)
    return time.time() - newest >= seconds


def _fail(drop: Path, inbox: Path, error: str) -> None:
    dest = inbox / FAILED / drop.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(exist_ok=True)
    shutil.move(str(drop), dest)
    (dest / "error.txt").write_text(error + "\n")


def scan(inbox: Path, opts: RunOptions, settle: float = 5.0,
         log: Callable[[str], None] = print) -> WatchResult:
    """Process every complete, new drop in the inbox once."""
    result = WatchResult([], [], [])
    db = opts.db or opts.site.default_db
    for drop in _drops(inbox):
        if not is_settled(drop, settle):
            log(f"{drop.name}: still arriving, later")
            continue
        try:
            hashes = [file_hash(f) for f in drop_files(drop)]
        except Exception as exc:  # an unreadable drop is moved aside, never fatal
            _fail(drop, inbox, str(exc))
            result.failed.append(drop.name)
            log(f"{drop.name}: failed: {exc}")
            continue
        with History(db) as history:
            done = history.date_of_sources(hashes)
        if done:
            result.skipped.append(drop.name)
            log(f"{drop.name}: already processed as {done}, skipped")
            continue
        try:
            run_day(RunOptions(drop, opts.site, opts.weights, None, None, opts.db, opts.conf))
        except Exception as exc:  # one bad drop must not stop the watch
            _fail(drop, inbox, f"{exc.__class__.__name__}: {exc}")
            result.failed.append(drop.name)
            log(f"{drop.name}: failed: {exc}")
            continue
        result.processed.append(drop.name)
        log(f"{drop.name}: processed")
    return result
