"""The SQLite history: acquisitions, objects, events and each day's report. The only module
that speaks SQL. Each day is written in one transaction; re-writing a day replaces it."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from detect.errors import BusyError, DetectError
from detect.tracked import COLUMNS, EVENT_COLUMNS, Event, TrackedObject

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS acquisitions (
    date TEXT PRIMARY KEY, acquired TEXT, sources TEXT NOT NULL, registration TEXT NOT NULL,
    cloud_fraction REAL NOT NULL, image TEXT NOT NULL, written TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    sha256 TEXT NOT NULL, date TEXT NOT NULL REFERENCES acquisitions(date) ON DELETE CASCADE,
    file TEXT NOT NULL, PRIMARY KEY (sha256, date));
CREATE TABLE IF NOT EXISTS objects (
    date TEXT NOT NULL REFERENCES acquisitions(date) ON DELETE CASCADE, idx INTEGER NOT NULL,
    status TEXT NOT NULL, class TEXT NOT NULL, type TEXT, zone TEXT, confidence REAL,
    x REAL, y REAL, lon REAL, lat REAL, length_m REAL, span_m REAL, heading_deg REAL,
    corners TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (date, idx));
CREATE TABLE IF NOT EXISTS events (
    date TEXT NOT NULL REFERENCES acquisitions(date) ON DELETE CASCADE, idx INTEGER NOT NULL,
    previous_date TEXT, kind TEXT NOT NULL, class TEXT, type TEXT, zone TEXT,
    lon REAL, lat REAL, confidence REAL, flags TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (date, idx));
CREATE TABLE IF NOT EXISTS reports (
    date TEXT PRIMARY KEY REFERENCES acquisitions(date) ON DELETE CASCADE,
    report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    date TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, attempted TEXT NOT NULL, PRIMARY KEY (date, rule, target));
"""

EVENTS = ("idx", "previous_date", *EVENT_COLUMNS)


# what to do about an SQLite error, by a phrase of its message
_ADVICE = (
    (("not a database", "malformed", "corrupt"),
     "is damaged: restore it from a backup, or move it aside to start a new history"),
    (("locked", "busy"), "is locked by another program: wait for it to finish and run again"),
    (("readonly", "read-only"), "is read-only: make it and its folder writable"),
    (("full",), "cannot grow, the disk is full: free space and run again"),
    (("unable to open",), "cannot be opened: check that its folder exists and is writable"),
)
BUSY_TIMEOUT_S = 30.0  # how long a statement waits for another program's write lock


class HistoryError(DetectError):
    """A history database that cannot be read or written."""


def _history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    text = str(exc).lower()
    advice = next((a for phrases, a in _ADVICE if any(p in text for p in phrases)), str(exc))
    return HistoryError(f"history {path} {advice} ({exc})")


class _Rows(list):
    """A query's rows, fetched at once so that a damaged page fails where it is caught."""

    def fetchone(self):
        return self[0] if self else None


class _Connection:
    """An SQLite connection whose errors become `HistoryError`s naming the file."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = self._guard(sqlite3.connect, path, timeout=BUSY_TIMEOUT_S,
                                isolation_level=None)
        self.conn.row_factory = sqlite3.Row

    def _guard(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error as exc:
            raise _history_error(self.path, exc) from exc

    def execute(self, sql: str, params=()) -> _Rows:
        return self._guard(lambda: _Rows(self.conn.execute(sql, params).fetchall()))

    def executemany(self, sql: str, rows) -> None:
        self._guard(self.conn.executemany, sql, rows)

    def executescript(self, sql: str) -> None:
        self._guard(self.conn.executescript, sql)

    def close(self) -> None:
        self.conn.close()


@contextmanager
def writer_lock(path: str | Path, wait: bool = True) -> Iterator[None]:
    """Hold the one-writer lock of the history at `path` (a file beside it): a second run on
    the same base waits for the first (or, with `wait` False, fails with `BusyError`)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise BusyError(f"another run is writing {path}: try again when it has finished "
                            "(or leave out --no-wait to wait for it)") from None
        log.warning("another run is writing %s: waiting for it to finish", path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@dataclass
class DayRecord:
    """Everything stored for one day."""

    date: str
    acquired: str | None
    sources: list[dict]
    registration: dict
    cloud_fraction: float
    image: str  # path of the day's aligned image, relative to the site folder
    objects: list[TrackedObject]


class History:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = _Connection(self.path)
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """One atomic write: everything inside commits together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # -- writing (call inside a transaction) --------------------------------------------
    def put_day(self, rec: DayRecord, written: str) -> None:
        """Insert a day, replacing whatever was stored for that date."""
        c = self.conn
        c.execute("DELETE FROM acquisitions WHERE date = ?", (rec.date,))
        c.execute("INSERT INTO acquisitions VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (rec.date, rec.acquired, json.dumps(rec.sources), json.dumps(rec.registration),
                   rec.cloud_fraction, rec.image, written))
        c.executemany("INSERT INTO sources VALUES (?, ?, ?)",
                      [(s["sha256"], rec.date, s["file"]) for s in rec.sources])
        rows = [o.row() for o in rec.objects]
        c.executemany(
            f"INSERT INTO objects VALUES (?, {', '.join('?' * len(COLUMNS))}, ?, ?)",
            [(rec.date, *(r[k] for k in COLUMNS), json.dumps(r["corners"]),
              json.dumps(r["props"])) for r in rows])

    def put_events(self, date: str, previous_date: str | None, events: list[Event]) -> None:
        """Replace a day's events (against `previous_date`)."""
        self.conn.execute("DELETE FROM events WHERE date = ?", (date,))
        rows = [{**e.row(), "idx": i, "previous_date": previous_date}
                for i, e in enumerate(events)]
        self.conn.executemany(
            f"INSERT INTO events VALUES (?, {', '.join('?' * len(EVENTS))}, ?, ?)",
            [(date, *(e[k] for k in EVENTS), json.dumps(e["flags"]),
              json.dumps(e["detail"])) for e in rows])

    def put_report(self, date: str, report: dict) -> None:
        self.conn.execute("INSERT OR REPLACE INTO reports VALUES (?, ?)",
                          (date, json.dumps(report)))

    def record_delivery(self, date: str, rule: str, target: str, status: str,
                        error: str | None, attempted: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
                          (date, rule, target, status, error, attempted))

    # -- reading ----------------------------------------------------------------------------
    def dates(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT date FROM acquisitions ORDER BY date")]

    def previous_date(self, date: str) -> str | None:
        row = self.conn.execute("SELECT max(date) FROM acquisitions WHERE date < ?",
                                (date,)).fetchone()
        return row[0]

    def date_of_sources(self, hashes: list[str]) -> str | None:
        """A stored date whose drop had exactly these file hashes."""
        for (date,) in self.conn.execute("SELECT DISTINCT date FROM sources"):
            stored = {r[0] for r in self.conn.execute(
                "SELECT sha256 FROM sources WHERE date = ?", (date,))}
            if stored == set(hashes):
                return date
        return None

    def day(self, date: str) -> DayRecord | None:
        row = self.conn.execute("SELECT * FROM acquisitions WHERE date = ?", (date,)).fetchone()
        if row is None:
            return None
        return DayRecord(date, row["acquired"], json.loads(row["sources"]),
                         json.loads(row["registration"]), row["cloud_fraction"], row["image"],
                         [TrackedObject.from_row(r) for r in
                          self._rows("objects", COLUMNS, ("corners", "props"), date)])

    def events(self, date: str) -> list[Event]:
        return [Event.from_row(r) for r in
                self._rows("events", EVENTS, ("flags", "detail"), date)]

    def _rows(self, table: str, columns: tuple[str, ...], encoded: tuple[str, ...],
              date: str) -> list[dict]:
        """A day's rows of `table` in index order: `columns` as stored, then the JSON-encoded
        `encoded` ones decoded."""
        rows = self.conn.execute(f"SELECT * FROM {table} WHERE date = ? ORDER BY idx", (date,))
        return [{**{k: r[k] for k in columns}, **{k: json.loads(r[k]) for k in encoded}}
                for r in rows]

    def report(self, date: str) -> dict | None:
        row = self.conn.execute("SELECT report FROM reports WHERE date = ?", (date,)).fetchone()
        return json.loads(row[0]) if row else None

    def counts_by_type(self, until: str | None = None) -> dict[str, dict[str, int]]:
        """Per date (up to and including `until`, when given): present objects (detected or
        recovered) by type."""
        out: dict[str, dict[str, int]] = {d: {} for d in self.dates() if not until or d <= until}
        for r in self.conn.execute(
                "SELECT date, coalesce(type, class), count(*) FROM objects WHERE status != "
                "'unknown' AND (?1 IS NULL OR date <= ?1) GROUP BY 1, 2 ORDER BY 1, 2", (until,)):
            out[r[0]][r[1]] = r[2]
        return out

    def pending_deliveries(self) -> list[dict]:
        """Deliveries not yet sent (new, or failed before: they are retried)."""
        return [dict(r) for r in self.conn.execute(
            "SELECT * FROM deliveries WHERE status != 'sent' ORDER BY date, rule, target")]
