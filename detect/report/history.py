"""Counts by type over all days: a text table, a CSV and a stacked plot (matplotlib)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from detect.atomic import atomic_path, write_text


def _types(counts: dict[str, dict[str, int]]) -> list[str]:
    return sorted({t for day in counts.values() for t in day})


def counts_table(counts: dict[str, dict[str, int]]) -> str:
    types = _types(counts)
    rows = [["date", *types, "total"]]
    rows += [[d, *(str(c.get(t, 0)) for t in types), str(sum(c.values()))]
             for d, c in counts.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


def write_csv(path: Path, counts: dict[str, dict[str, int]]) -> None:
    types = _types(counts)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", *types])
    for d, c in counts.items():
        w.writerow([d, *(c.get(t, 0) for t in types)])
    write_text(path, buf.getvalue())


def counts_plot(counts: dict[str, dict[str, int]], title: str, size=(7, 3),
                font: float = 8) -> bytes:
    """A stacked plot of the counts by type per day, as PNG bytes (matplotlib's Agg canvas,
    without pyplot and its start-up)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dates, types = list(counts), _types(counts)
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if types:
        ax.stackplot(range(len(dates)), [[counts[d].get(t, 0) for d in dates] for t in types],
                     labels=types)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=font - 1)
    ax.set_xticks(range(len(dates)), dates, rotation=30, ha="right", fontsize=font)
    ax.set_ylabel("objects present")
    ax.set_title(f"{title}: counts by type", fontsize=font + 2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def write_plot(path: Path, counts: dict[str, dict[str, int]], title: str) -> None:
    """Write the stacked plot of counts by type per day as a PNG file."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(counts_plot(counts, title, size=(8, 4), font=9))
