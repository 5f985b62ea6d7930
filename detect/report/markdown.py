"""report.md: the short analyst summary a person pastes into a message."""

from __future__ import annotations

from collections import Counter


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}s" if n != 1 and word == "vehicle" else f"{n} {word}"


def _what(counter: Counter, times: str = " x ") -> str:
    return _join([f"{n}{times}{t}" if t != "vehicle" else _plural(n, "vehicle")
                  for t, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))])


def summary_lines(report: dict) -> list[str]:
    """The summary sentences, shared by report.md and report.html."""
    lines = []
    zones = report["counts"]["by_zone"]
    on = [f"{_what(Counter(z['by_type']))} on {name}" for name, z in zones.items()]
    lines.append(("On the base: " + "; ".join(on) + ".") if on else "Nothing on the base.")
    if report["previous_date"]:
        moves = []
        for kind in ("departed", "arrived"):
            c = Counter(e["named"] for e in report["events"] if e["kind"] == kind)
            if c:
                moves.append(f"{_what(c, ' ')} {kind}")
        stayed = sum(e["kind"] == "stayed" for e in report["events"])
        head = f"Since {report['previous_date']}: "
        lines.append(head + ("; ".join(moves) if moves else "no arrivals or departures")
                     + f"; {stayed} stayed.")
        unknown = Counter(e["named"] for e in report["events"] if e["kind"] == "unknown")
        if unknown:
            lines.append(f"Not visible today (cloud or outside the image): {_what(unknown, ' ')}"
                         " seen before; their fate is unknown.")
        for flag, text in (("recovered", "not detected today but nothing changed there, kept "
                            "as stayed"), ("suspect", "detected today where nothing changed, "
                                           "check before relying on it")):
            c = Counter(e["named"] for e in report["events"] if flag in e["flags"])
            if c:
                lines.append(f"{_what(c, ' ')} {text}.")
    else:
        lines.append("First day in the history: no events.")
    for a in report.get("alerts", []):
        lines.append(f"ALERT {a['rule']}: {a['metric']}"
                     f"{' ' + a['change'] if a['change'] else ''} = {a['value']:g} "
                     f"({a['threshold']}).")
    return lines


def render_markdown(report: dict) -> str:
    acq = report["acquisition"]
    reg = acq["registration"]
    lines = [f"# {report['site']}: {report['date']}", ""]
    lines += summary_lines(report)
    lines += ["", f"Total aircraft and helicopters: {report['total_aircraft']}.", "",
              f"Acquisition: {len(acq['sources'])} file(s), registered with "
              f"{reg['tie_points']} tie points at {reg['residual_rmse_px']} px RMSE "
              f"(shift {reg['shift_px'][0]:.1f}, {reg['shift_px'][1]:.1f} px, rotation "
              f"{reg['rotation_deg']:.2f} deg); cloud {100 * acq['cloud_fraction']:.1f}%, "
              f"unseen {100 * acq['unknown_fraction']:.1f}% of the base.",
              f"Detector weights: {report['detector']['weights']}; detect "
              f"{report['tool_version']}.", ""]
    return "\n".join(lines)
