"""Many bases at once on Dask: each base's days run in date order in one task (its history is
sequential), bases run in parallel as tasks on a `dask.distributed` cluster, a LocalCluster
of worker processes by default or an existing scheduler. A failed drop is counted and does
not stop the others; what the history already holds is skipped."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from detect.errors import DetectError


@dataclass
class BaseResult:
    base: str
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def inbox_of(site_dir: Path) -> Path:
    """Where a base's drops are: `drops/` (the layout `detect synth` writes) or `inbox/`."""
    for name in ("drops", "inbox"):
        if (site_dir / name).is_dir():
            return site_dir / name
    raise DetectError(f"{site_dir} has neither a drops/ nor an inbox/ folder")


def run_base(site_dir: Path, weights: Path) -> BaseResult:
    """Every new drop of one base, in date order; failed drops stay where they are."""
    from detect.daily import RunOptions
    from detect.site import load_site
    from detect.watch import scan

    started = time.perf_counter()
    result = BaseResult(site_dir.name)
    try:
        site = load_site(site_dir / "site.yaml")
        scanned = scan(inbox_of(site_dir), RunOptions(site_dir, site, weights), settle=0,
                       move_failed=False)
    except DetectError as exc:
        result.failed, result.errors = 1, [str(exc)]
    else:
        result.done, result.skipped = len(scanned.processed), len(scanned.skipped)
        result.failed, result.errors = len(scanned.failed), scanned.errors
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def run_batch(site_dirs: list[Path], weights: Path, workers: int = 2,
              scheduler: str | None = None,
              done: Callable[[BaseResult], None] = lambda r: None) -> list[BaseResult]:
    """Run the bases as parallel Dask tasks; `done` is called as each base finishes. The
    results come back in the order of `site_dirs`."""
    from dask.distributed import as_completed

    with _client(workers, scheduler) as client:
        futures = {client.submit(run_base, d.resolve(), weights.resolve(), pure=False): i
                   for i, d in enumerate(site_dirs)}
        results: list[BaseResult | None] = [None] * len(site_dirs)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done(results[futures[future]])
    return results


@contextmanager
def _client(workers: int, scheduler: str | None) -> Iterator:
    """A client of the scheduler at `scheduler`, or of a new LocalCluster of `workers`
    single-threaded processes (onnxruntime and GDAL each get a core)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with tempfile.TemporaryDirectory(prefix="detect-dask-") as scratch, \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, local_directory=scratch) as cluster, \
            Client(cluster) as client:
        yield client


def table(results: list[BaseResult]) -> Iterator[str]:
    """The closing table: base, days done, skipped, failed, seconds."""
    width = max([len(r.base) for r in results] + [4])
    yield f"{'base':<{width}}  done  skipped  failed  seconds"
    for r in results:
        yield f"{r.base:<{width}}  {r.done:>4}  {r.skipped:>7}  {r.failed:>6}  {r.seconds:>7.1f}"
