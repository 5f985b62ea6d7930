"""report.html in a real headless Chromium: every image loads, nothing leaves the file; and
`detect report` re-renders a stored day byte for byte."""

from __future__ import annotations

import base64
import os
import re
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from detect.cli import main
from tests.conftest import DAYS, ROOT, copy_base, run_day

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    with playwright.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"], viewport={"width": 1100, "height": 900})
        yield ctx
        ctx.close()


def test_report_html_loads_every_image_and_stays_offline(sample_run, browser, tmp_path):
    page = browser.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    html = sample_run / "reports" / DAYS[1] / "report.html"
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    widths = page.evaluate("Array.from(document.images).map(i => i.complete ? "
                           "i.naturalWidth : 0)")
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    # UPDATE_DOCS=1 refreshes the README's screenshot
    shot = ROOT / "docs" / "report-day2.png" if os.environ.get("UPDATE_DOCS") else \
        tmp_path / "report-day2.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def _pngs(html: str) -> list[np.ndarray]:
    return [cv2.imdecode(np.frombuffer(base64.b64decode(b), np.uint8), cv2.IMREAD_COLOR)
            for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_event_chips_show_the_object_centred_before_and_after(sample_run):
    html = (sample_run / "reports" / DAYS[1] / "report.html").read_text()
    cards = re.split(r'<div class="card ', html)[1:]
    assert cards
    for body in cards:
        kind = body.split('"')[0]
        before, after = _pngs(body)[:2]
        assert before.shape == after.shape and before.shape[0] == before.shape[1]
        h = before.shape[0]
        centre = np.s_[h // 3:2 * h // 3, h // 3:2 * h // 3]
        moved = np.abs(before[centre].astype(float) - after[centre].astype(float)).mean()
        edge = np.abs(before[:h // 8].astype(float) - after[:h // 8].astype(float)).mean()
        assert moved > 2 * edge + 3, (kind, moved, edge)


def _made_again(base, day: str, fmt: str) -> tuple[bytes, bytes]:
    """A stored day's report as `detect run` wrote it, and as `detect report` makes it."""
    path = base / "reports" / day / f"report.{fmt}"
    written = path.read_bytes()
    path.unlink()
    result = CliRunner().invoke(main, ["report", "--site", str(base / "site.yaml"), "--date",
                                       day, "--format", fmt])
    assert result.exit_code == 0, result.output
    return written, path.read_bytes()


def test_detect_report_is_byte_identical_to_what_run_wrote(sample_run, tmp_path):
    for fmt in ("html", "md", "json"):
        written, made = _made_again(sample_run, DAYS[2], fmt)
        assert made == written, fmt


def test_reports_of_days_run_out_of_order_are_as_detect_report_makes_them(sample_base,
                                                                          tmp_path):
    # day 1 lands last: the counts plot of each later day, not only the next, must show it,
    # and no day's plot may show days after its own
    base = copy_base(sample_base, tmp_path / "base")
    for day in (DAYS[1], DAYS[2], DAYS[0]):
        run_day(base, day)
    for day in DAYS[:3]:
        written, made = _made_again(base, day, "html")
        assert made == written, day


def test_day_two_screenshot_is_committed_and_shown_in_the_readme():
    assert (ROOT / "docs" / "report-day2.png").exists()
    assert "docs/report-day2.png" in (ROOT / "README.md").read_text()


def test_counts_chart_shows_each_stored_day_up_to_the_report_s_own(sample_run):
    from detect.history import History

    with History(sample_run / "history.sqlite") as h:
        counts = h.counts_by_type(until=DAYS[1])
    html = (sample_run / "reports" / DAYS[1] / "report.html").read_text()
    shown = re.findall(r"<title>(\S+) (.+?): (\d+)</title>", html)
    assert shown and {(d, t, int(n)) for d, t, n in shown} == {
        (d, t, n) for d, c in counts.items() for t, n in c.items() if n}
    assert DAYS[2] not in {d for d, _, _ in shown}
