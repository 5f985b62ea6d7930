"""Alert rules, Apprise delivery to a local endpoint, --fail-on-alert and the inbox watch."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from detect.alerts import deliver, evaluate
from detect.cli import main
from detect.rules import RuleError, parse_rules
from detect.tracked import Event, TrackedObject
from tests.conftest import DAYS, copy_base, run_day

ZONES = {"apron-main", "shelters", "helipad", "runway"}


def _obj(t, klass="aircraft", zone="apron-main", status="detected"):
    return TrackedObject(0, status, klass, t, zone, 0.9, 0.0, 0.0, 35.0, 35.0, 20.0, None, 0.0,
                         [[0, 0], [1, 0], [1, 1], [0, 1]])


def _evt(kind, t, klass="aircraft", zone="apron-main"):
    return Event.of(kind, _obj(t, klass, zone), [])


def test_threshold_zone_type_family_and_role_filters():
    rules = parse_rules([
        {"name": "transports", "metric": "count", "roles": ["strategic transport"],
         "zone": "apron-main", "op": ">=", "value": 2},
        {"name": "il76-family", "metric": "arrived", "types": ["Il-76"], "op": ">=", "value": 1},
        {"name": "helos-on-pad", "metric": "count", "classes": ["helicopter"],
         "zone": "helipad", "op": ">", "value": 0},
    ], ZONES)
    objects = [_obj("An-124"), _obj("Il-76"), _obj("An-124", zone="shelters"),
               _obj("Ka-52", "helicopter", "apron-main"), _obj("Mi-8", "helicopter",
                                                               status="unknown")]
    fired = {a["rule"]: a for a in evaluate(rules, objects, [_evt("arrived", "Il-78")], [])}
    assert set(fired) == {"transports", "il76-family"}
    assert fired["transports"]["today"] == 2 and len(fired["transports"]["events"]) == 2
    assert fired["il76-family"]["attachments"] == ["report.html", "overlay.png"]


def test_a_look_alike_answer_counts_for_either_type_and_its_role():
    """An object reported "Mi-24/35 or Mi-28" (the two cannot be told apart) counts for a rule
    on either type and on their role, and not for a rule on another type or role."""
    rules = parse_rules([
        {"name": name, "metric": "count", **f, "op": ">=", "value": 1} for name, f in [
            ("mi28", {"types": ["Mi-28"]}), ("hind", {"types": ["Mi-24/35"]}),
            ("attack", {"roles": ["attack helicopter"]}), ("hip", {"types": ["Mi-8"]}),
            ("utility", {"roles": ["utility helicopter"]})]], ZONES)
    fired = evaluate(rules, [_obj("Mi-24/35 or Mi-28", "helicopter")], [], [])
    assert {a["rule"] for a in fired} == {"mi28", "hind", "attack"}


def test_a_rule_counts_a_type_or_role_only_where_the_report_names_it():
    """A type call under 0.8 is a guess the report does not name: a rule on that type passes
    it by, a rule on its role counts it where the role holds 0.8, and so does one on a type
    named surely."""
    rules = parse_rules([
        {"name": name, "metric": "count", **f, "op": ">=", "value": 1} for name, f in [
            ("an124", {"types": ["An-124"]}), ("heavy", {"roles": ["strategic transport"]})]],
        ZONES)
    guess = replace(_obj("An-124"), props={"type_confidence": 0.45, "role":
                                          "strategic transport", "role_confidence": 0.9})
    assert {a["rule"] for a in evaluate(rules, [guess], [], [])} == {"heavy"}
    vague = replace(guess, props={**guess.props, "role_confidence": 0.5})
    assert evaluate(rules, [vague], [], []) == []
    sure = replace(guess, props={**guess.props, "type_confidence": 0.9})
    assert {a["rule"] for a in evaluate(rules, [sure], [], [])} == {"an124", "heavy"}


def test_delta_against_the_day_before_and_ratio_against_a_mean():
    rules = parse_rules([
        {"name": "surge", "metric": "count", "classes": ["aircraft"], "change": "delta",
         "op": ">=", "value": 2},
        {"name": "double", "metric": "count", "classes": ["aircraft"], "change": "ratio",
         "window": 3, "op": ">=", "value": 2},
    ], ZONES)
    day = lambda n: ([_obj("Su-34")] * n, [])  # noqa: E731
    assert evaluate(rules, *day(3), [day(2)]) == []
    fired = {a["rule"]: a for a in evaluate(rules, *day(4), [day(1), day(2), day(3)])}
    assert fired["double"]["baseline"] == 2.0 and fired["double"]["value"] == 2.0
    assert "surge" not in fired  # 4 - 3 = 1 < 2
    fired = {a["rule"] for a in evaluate(rules, *day(5), [day(3)])}
    assert fired == {"surge"}


@pytest.mark.parametrize("rule,message", [
    ({"name": "x", "metric": "speed", "op": ">", "value": 1}, "rule 1 (x), field `metric`"),
    ({"name": "x", "metric": "count", "op": "=>", "value": 1}, "field `op`"),
    ({"name": "x", "metric": "count", "op": ">", "value": 1, "zone": "moon"}, "field `zone`"),
    ({"name": "x", "metric": "count", "op": ">", "value": 1, "types": ["F-35X"]},
     "field `types`: unknown F-35X"),
    ({"name": "x", "metric": "count", "op": ">", "value": "1"}, "field `value`"),
])
def test_bad_rules_are_named_with_their_field(rule, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rules([rule], ZONES)


def test_a_bad_rule_in_site_yaml_stops_the_run_with_a_clear_error(sample_base, tmp_path):
    base = copy_base(sample_base, tmp_path / "base")
    site = yaml.safe_load((base / "site.yaml").read_text())
    site["rules"] = [{"name": "oops", "metric": "count", "op": ">", "value": 1, "zone": "x"}]
    (base / "site.yaml").write_text(yaml.safe_dump(site))
    result = CliRunner().invoke(main, ["run", str(base / "drops" / DAYS[0]), "--site",
                                       str(base / "site.yaml")])
    assert result.exit_code == 1
    assert "rule 1 (oops), field `zone`" in result.output


class _Sink(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def endpoint():
    _Sink.received = []
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_port}/alerts", _Sink.received
    server.shutdown()


def test_apprise_delivers_to_a_local_endpoint_with_the_attachment(endpoint, tmp_path):
    url, received = endpoint
    png = tmp_path / "overlay.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert deliver([url], "sample-base: test", "body text", png) is None
    assert received and received[0]["message"] == "body text"
    assert received[0]["attachments"][0]["filename"] == "overlay.png"


def _with_rules(sample_base, tmp_path, notify):
    base = copy_base(sample_base, tmp_path / "base")
    site = yaml.safe_load((base / "site.yaml").read_text())
    site["rules"] = [{"name": "anything-on-apron", "metric": "count", "zone": "apron-main",
                      "op": ">=", "value": 1}]
    site["notify"] = notify
    (base / "site.yaml").write_text(yaml.safe_dump(site))
    return base


def test_fail_on_alert_exits_3_and_failed_deliveries_are_retried(sample_base, tmp_path,
                                                                  endpoint):
    url, received = endpoint
    dead = "json://127.0.0.1:9/alerts"  # nothing listens on the discard port
    base = _with_rules(sample_base, tmp_path, [dead])
    result = CliRunner().invoke(main, ["run", str(base / "drops" / DAYS[0]), "--site",
                                       str(base / "site.yaml"), "--quiet", "--fail-on-alert"])
    assert result.exit_code == 3, result.output
    report = json.loads((base / "reports" / DAYS[0] / "report.json").read_text())
    assert report["alerts"][0]["rule"] == "anything-on-apron"
    assert json.loads((base / "reports" / DAYS[0] / "alerts.json").read_text())
    con = sqlite3.connect(base / "history.sqlite")
    assert con.execute("SELECT status FROM deliveries").fetchall() == [("failed",)]
    site = yaml.safe_load((base / "site.yaml").read_text())
    site["notify"] = [url]
    (base / "site.yaml").write_text(yaml.safe_dump(site))
    con.execute("UPDATE deliveries SET target = ?", (url,))
    con.commit()
    run_day(base, DAYS[1])
    statuses = con.execute("SELECT date, status FROM deliveries ORDER BY date").fetchall()
    assert statuses == [(DAYS[0], "sent"), (DAYS[1], "sent")]
    assert len(received) == 2 and all(r["attachments"] for r in received)


def test_watch_once_processes_each_drop_once_and_moves_bad_ones_aside(sample_base, tmp_path):
    base = copy_base(sample_base, tmp_path / "base")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day in DAYS:
        shutil.copytree(base / "drops" / day, inbox / day)
    shutil.copytree(base / "drops" / DAYS[0], inbox / "resent-copy")
    (inbox / "2026-11-29").mkdir()
    (inbox / "2026-11-29" / "tile.tif").write_bytes(b"II*\x00broken")
    args = ["watch", str(inbox), "--site", str(base / "site.yaml"), "--once", "--settle", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 4, result.output  # a drop failed
    assert "processed 5, skipped 1, failed 1" in result.output
    assert (inbox / "failed" / "2026-11-29" / "error.txt").read_text().strip()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "processed 0, skipped 6, failed 0" in result.output
    con = sqlite3.connect(base / "history.sqlite")
    assert [r[0] for r in con.execute("SELECT date FROM acquisitions")] == DAYS


def test_the_copyable_workflow_runs_daily_keeps_history_and_skips_stored_days(sample_base,
                                                                                tmp_path):
    wf = yaml.safe_load((Path(__file__).parents[1] / ".github/workflows/detect.yml").read_text())
    assert wf[True]["schedule"][0]["cron"]  # `on:` reads as True in YAML 1.1
    steps = {s.get("name", s.get("uses")): s for s in wf["jobs"]["daily"]["steps"]}
    kept = [s["with"]["path"] for s in steps.values() if "actions/cache" in s.get("uses", "")]
    assert len(kept) == 2 and all("history.sqlite" in k and "reports" in k for k in kept)
    assert any("upload-artifact" in s.get("uses", "") for s in steps.values())
    script = next(s["run"] for s in steps.values() if "--fail-on-alert" in s.get("run", ""))
    base = copy_base(sample_base, tmp_path / "base")
    for day in DAYS[2:]:
        shutil.rmtree(base / "drops" / day)
    env = {**os.environ, "SITE": str(base),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    first = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    stamp = (base / "reports" / DAYS[0] / "report.json").stat().st_mtime_ns
    second = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True,
                            text=True)
    assert second.returncode == 0 and not second.stderr, second.stderr
    assert (base / "reports" / DAYS[0] / "report.json").stat().st_mtime_ns == stamp
    con = sqlite3.connect(base / "history.sqlite")
    assert [r[0] for r in con.execute("SELECT date FROM acquisitions")] == DAYS[:2]


def test_the_docker_image_default_command_runs_the_sample_base(sample_base, tmp_path):
    """The image's CMD, run in a checkout as the image runs it in /app (no Docker daemon is
    needed to check the command itself)."""
    lines = (Path(__file__).parents[1] / "Dockerfile").read_text().splitlines()
    cmd = json.loads(next(ln for ln in lines if ln.startswith("CMD "))[4:])
    assert "pip install ." in "\n".join(lines)  # the runtime install, no [train] extra
    app = tmp_path / "app"
    copy_base(sample_base, app / "imagery" / "sample-base")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(cmd, cwd=app, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    reports = sorted(p.parent.name for p in app.glob("imagery/sample-base/reports/*/report.json"))
    assert reports == DAYS


def test_rules_over_the_sample_base_history_fire_exactly_when_truth_says(sample_run,
                                                                         sample_truth):
    from detect.history import History

    rules = parse_rules([
        {"name": "helicopter-arrives", "metric": "arrived", "classes": ["helicopter"],
         "op": ">=", "value": 1},
        {"name": "shelters-empty-out", "metric": "count", "classes": ["aircraft"],
         "zone": "shelters", "change": "delta", "op": "<=", "value": -1},
    ], ZONES)
    fired, expected = {}, {}
    with History(sample_run / "history.sqlite") as h:
        days = h.dates()
        for i, d in enumerate(days):
            earlier = [(h.day(x).objects, h.events(x)) for x in days[:i]]
            fired[d] = {a["rule"] for a in evaluate(rules, h.day(d).objects, h.events(d),
                                                     earlier)}
    truth = sample_truth["days"]
    for i, day in enumerate(truth):
        want = set()
        if any(e["kind"] == "arrived" and e["class"] == "helicopter" for e in day["events"]):
            want.add("helicopter-arrives")
        if i:
            def shelters(d):
                return sum(o["zone"] == "shelters" and o["class"] == "aircraft"
                           for o in d["objects"])
            if shelters(day) - shelters(truth[i - 1]) <= -1:
                want.add("shelters-empty-out")
        expected[day["date"]] = want
    assert fired == expected
    assert any(expected.values())
