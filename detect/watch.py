"""Watching an inbox of drops: each new drop (a folder of tiles, or a STAC Item or
ItemCollection as a .json file) is processed once, in date order, when it is complete; a drop
that fails is moved to `INBOX/failed/` with an `error.txt` (`NAME.error.txt` beside a file).
What was processed is known from the history (files by content hash), so restarts and
re-deliveries under another name are harmless. A drop that is, or holds, a link leading out
of the inbox is refused and left where it is."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from detect.daily import DATE_IN_NAME, RunOptions, drop_inputs, run_day
from detect.errors import BusyError
from detect.history import History, HistoryError
from detect.imagery.ingest import file_hash

log = logging.getLogger(__name__)

FAILED = "failed"


@dataclass
class WatchResult:
    processed: list[str]
    skipped: list[str]
    failed: list[str]
    errors: list[str]  # one line per failed drop: its name and why

    def fail(self, name: str, why: str) -> None:
        self.failed.append(name)
        self.errors.append(f"{name}: {why}")
        log.error(self.errors[-1])


def _drops(inbox: Path) -> list[Path]:
    """Candidate drops (folders and STAC .json files), oldest date first (date in the name,
    else modification time)."""
    folders = [p for p in inbox.iterdir() if (p.is_dir() or p.suffix.lower() == ".json")
               and p.name != FAILED and not p.name.startswith(".")]

    def key(p: Path):
        m = DATE_IN_NAME.search(p.name)
        return (m.group(1) if m else "9999", p.stat().st_mtime, p.name)

    return sorted(folders, key=key)


def age(drop: Path) -> float:
    """Seconds since any file of the drop last changed."""
    newest = max((p.lstat().st_mtime for p in _inside(drop)), default=drop.lstat().st_mtime)
    return time.time() - newest


def _inside(drop: Path) -> list[Path]:
    return list(drop.rglob("*")) if drop.is_dir() else []


def leaves(drop: Path, inbox: Path) -> bool:
    """True when the drop, or a file in it, is a link to somewhere outside the inbox."""
    root = inbox.resolve()
    return any(not p.resolve().is_relative_to(root) for p in [drop, *_inside(drop)])


def _fail(drop: Path, inbox: Path, error: str) -> None:
    """Move a failed drop to INBOX/failed/ with the error beside it."""
    dest = inbox / FAILED / drop.name
    if dest.is_dir():
        shutil.rmtree(dest)
    dest.parent.mkdir(exist_ok=True)
    shutil.move(str(drop), dest)
    note = dest / "error.txt" if dest.is_dir() else dest.with_name(f"{dest.name}.error.txt")
    note.write_text(error + "\n")


def scan(inbox: Path, opts: RunOptions, settle: float = 5.0, wait: bool = False,
         move_failed: bool = True) -> WatchResult:
    """Process every complete, new drop in the inbox once. A drop that changed within
    `settle` seconds is still arriving: left for a later scan, or with `wait`, waited for.
    A failed drop is moved aside (`move_failed`) or left where it is. A damaged or busy
    history stops the scan (it is no drop's fault)."""
    result = WatchResult([], [], [], [])
    db = opts.db or opts.site.default_db
    for drop in _drops(inbox):
        if leaves(drop, inbox):
            result.fail(drop.name, "refused: it links to files outside the inbox")
            continue
        left = settle - age(drop)
        while wait and left > 0:
            log.info("%s: still arriving, waiting %.0f s", drop.name, left)
            time.sleep(left)
            left = settle - age(drop)
        if left > 0:
            log.info("%s: still arriving, later", drop.name)
            continue
        try:
            hashes = [file_hash(f) for f in drop_inputs(drop, opts.site).files]
            with History(db) as history:
                done = history.date_of_sources(hashes)
            if done:
                result.skipped.append(drop.name)
                log.info("%s: already processed as %s, skipped", drop.name, done)
                continue
            run_day(RunOptions(drop, opts.site, opts.weights, None, None, opts.db, opts.conf))
        except (HistoryError, BusyError):
            raise
        except Exception as exc:  # one bad drop must not stop the watch
            if move_failed:
                _fail(drop, inbox, f"{exc.__class__.__name__}: {exc}")
            result.fail(drop.name, f"failed: {exc}")
            continue
        result.processed.append(drop.name)
        log.info("%s: processed", drop.name)
    return result
