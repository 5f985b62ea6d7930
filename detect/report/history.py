"""Counts by type over all days: a text table, a CSV, a stacked plot (matplotlib, PNG) and a
stacked bar chart (SVG, drawn here: the HTML report embeds it without matplotlib's start-up)."""

from __future__ import annotations

import csv
import io
from html import escape
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


def write_plot(path: Path, counts: dict[str, dict[str, int]], title: str) -> None:
    """Write a stacked plot of the counts by type per day as a PNG file (matplotlib's Agg
    canvas, without pyplot and its start-up)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dates, types = list(counts), _types(counts)
    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if types:
        ax.stackplot(range(len(dates)), [[counts[d].get(t, 0) for d in dates] for t in types],
                     labels=types)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_xticks(range(len(dates)), dates, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("objects present")
    ax.set_title(f"{title}: counts by type", fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})


# matplotlib's "tab10" colours, which the PNG plot cycles through too
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def counts_svg(counts: dict[str, dict[str, int]], title: str) -> str:
    """A stacked bar per day of the counts by type, as an SVG element (700 units wide: bars
    left, the legend right), each bar's part titled with its date, type and count."""
    dates, types = list(counts), _types(counts)
    top = max([sum(c.values()) for c in counts.values()] + [1])
    x0, y0, width, height = 50, 30, 480, 200  # the plot area
    step = width / max(len(dates), 1)
    tall = max(300, y0 + 14 * len(types) + 10)  # room for the legend
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 700 {tall}" width="700" '
           f'height="{tall}" font-family="sans-serif" font-size="10" role="img">',
           f'<text x="{x0}" y="18" font-size="13">{escape(title)}: counts by type</text>',
           f'<line x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" y2="{y0 + height}" '
           'stroke="#444"/>',
           f'<text x="12" y="{y0 + height / 2}" transform="rotate(-90 12 {y0 + height / 2})" '
           'text-anchor="middle">objects present</text>']
    for k in range(5):
        v = round(top * k / 4)
        y = y0 + height - height * v / top
        out.append(f'<text x="{x0 - 4}" y="{y + 3:.1f}" text-anchor="end">{v}</text>')
    for i, d in enumerate(dates):
        x, base = x0 + i * step + 0.15 * step, y0 + height
        for j, t in enumerate(types):
            h = height * counts[d].get(t, 0) / top
            if h:
                out.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{0.7 * step:.1f}" '
                           f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                           f'<title>{escape(d)} {escape(t)}: {counts[d][t]}</title></rect>')
                base -= h
        cx = x + 0.35 * step
        out.append(f'<text x="{cx:.1f}" y="{y0 + height + 12}" text-anchor="end" '
                   f'transform="rotate(-30 {cx:.1f} {y0 + height + 12})">{escape(d)}</text>')
    for j, t in enumerate(types):
        y = y0 + 14 * j
        out.append(f'<rect x="550" y="{y}" width="10" height="10" '
                   f'fill="{PALETTE[j % len(PALETTE)]}"/>'
                   f'<text x="565" y="{y + 9}">{escape(t)}</text>')
    return "\n".join(out + ["</svg>"])
