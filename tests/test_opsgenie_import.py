"""Opsgenie API responses saved to files: alerts and incidents import valid and all-or-none; bad input fails clearly."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import incident
from incident.analysis.timeline import durations
from incident.core.errors import MAX_PROBLEMS, IncidentError
from incident.io.history_schema import HISTORY_COLUMNS
from incident.io.opsgenie import import_opsgenie, is_opsgenie, opsgenie_history, read_opsgenie
from incident.io.pagerduty import is_pagerduty

FIXTURES = Path(__file__).parent / "fixtures" / "opsgenie"
ALERTS = FIXTURES / "alerts.json"
INCIDENTS = FIXTURES / "incidents.json"
TIMELINE = FIXTURES / "timeline.json"


def _body(path: Path = ALERTS) -> dict:
    return json.loads(path.read_text())


def _write(tmp_path: Path, body, name: str = "alerts.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _minutes(a: str, b: str) -> float:
    return (_at(b) - _at(a)).total_seconds() / 60


def _load_all(folders) -> dict:
    """{tinyId: Incident}, every folder loaded back (so every imported incident validates)."""
    out = {}
    for folder in folders:
        inc = incident.load(folder)
        out[inc.sources[0].title.split(":")[0].split("#")[-1]] = inc
    return out


@pytest.fixture(scope="module")
def alerts(tmp_path_factory):
    folders = import_opsgenie(ALERTS, tmp_path_factory.mktemp("og") / "alerts")
    assert len(folders) == len(_body()["data"])
    text = (folders[0] / "incident.yaml").read_text()
    assert "the Opsgenie API response" in text and "incident import opsgenie" in text
    return _load_all(folders)


@pytest.fixture(scope="module")
def incidents(tmp_path_factory):
    folders = import_opsgenie(INCIDENTS, tmp_path_factory.mktemp("og") / "incidents", timeline=TIMELINE)
    assert len(folders) == len(_body(INCIDENTS)["data"])
    return _load_all(folders)


# -- alerts ---------------------------------------------------------------------------
def test_closed_acknowledged_alert(alerts):
    raw = _body()["data"][0]
    inc = alerts[raw["tinyId"]]
    assert inc.status == "resolved" and inc.severity == raw["priority"] and inc.timezone == "UTC"
    assert inc.id == f"opsgenie-alert-{raw['createdAt'][:10]}-{raw['tinyId']}"
    assert [(m.id, m.kind) for m in inc.milestones] == [
        ("created", "detection"), ("acknowledged", "other"), ("resolved", "recovery")]
    by_id = {m.id: m for m in inc.milestones}
    assert by_id["acknowledged"].title == "Acknowledged"
    created = _at(raw["createdAt"])
    assert _at(by_id["acknowledged"].at) == created + timedelta(milliseconds=raw["report"]["ackTime"])
    assert _at(by_id["resolved"].at) == created + timedelta(milliseconds=raw["report"]["closeTime"])
    assert [(p.start, p.end, p.impact) for p in inc.phases] == [("created", "resolved", "major_outage")]
    recover = durations(inc).set_index("metric").loc["time_to_recover", "hours"]
    assert recover == pytest.approx(raw["report"]["closeTime"] / 3_600_000, abs=1e-6)
    roles = {(r.name, r.role) for r in inc.responders}
    assert (raw["report"]["acknowledgedBy"], "acknowledged the alert") in roles
    assert (raw["report"]["closedBy"], "closed the alert") in roles
    assert ("Payments", "team responder") in roles
    assert raw["source"] in inc.summary and all(t in inc.summary for t in raw["tags"])
    assert [s.kind for s in inc.sources] == ["document"]  # an alerts list has no web link


def test_open_alerts_are_ongoing_with_an_open_phase(alerts):
    acked, fresh = (alerts[r["tinyId"]] for r in _body()["data"][1:3])
    for inc in (acked, fresh):
        assert inc.status == "ongoing" and len(inc.phases) == 1 and inc.phases[0].end is None
    assert [m.kind for m in acked.milestones] == ["detection", "other"]
    assert [m.kind for m in fresh.milestones] == ["detection"]
    assert acked.phases[0].impact == "partial_outage" and fresh.phases[0].impact == "degraded_performance"


def test_closed_alert_without_times_keeps_the_stage_unknown(alerts):
    raw = _body()["data"][3]
    inc = alerts[raw["tinyId"]]
    assert "report" not in raw and "priority" not in raw  # the fixture's record missing times
    assert inc.status == "resolved" and inc.phases == [] and [m.kind for m in inc.milestones] == ["detection"]
    assert inc.severity is None and "no priority given" in inc.summary


def test_alert_history_computed_from_the_fields():
    records = _body()["data"]
    table = opsgenie_history(ALERTS)
    assert list(table.columns) == HISTORY_COLUMNS
    assert list(table["id"]) == [r["id"] for r in records]
    start = pd.to_datetime(pd.Series([r["createdAt"] for r in records]), utc=True, format="ISO8601")
    assert (table["start"] == start).all()
    reports = [r.get("report") or {} for r in records]
    ack_ms = np.array([rep.get("ackTime", np.nan) for rep in reports], dtype=float)
    close_ms = np.array([rep.get("closeTime", np.nan) if r["status"] == "closed" else np.nan
                         for r, rep in zip(records, reports)], dtype=float)
    np.testing.assert_allclose(table["tta"], ack_ms / 60_000, rtol=0, atol=1e-9)
    np.testing.assert_allclose(table["ttr"], close_ms / 60_000, rtol=0, atol=1e-9)
    np.testing.assert_allclose(table["hours_to_resolve"], close_ms / 3_600_000, rtol=0, atol=1e-9)
    known = ~np.isnan(ack_ms)
    assert (table["acknowledged"][known] == start[known] + pd.to_timedelta(ack_ms[known], unit="ms")).all()
    assert table["acknowledged"][~known].isna().all() and table["ttd"].isna().all()
    assert table["page_impact"].tolist() == [r.get("priority") for r in records]
    report = table.attrs["import_report"]
    assert report["records"] == report["alerts"] == len(records)
    assert report["unresolved"] == sum(r["status"] == "open" for r in records)
    assert report["resolved_without_time"] == sum(r["status"] == "closed" and np.isnan(c)
                                                  for r, c in zip(records, close_ms))
    assert report["tta_missing"] == int((~known).sum()) and report["ttr_missing"] == int(np.isnan(close_ms).sum())
    assert report["priority_missing"] == sum("priority" not in r for r in records)


# -- incidents with their timeline ----------------------------------------------------
def test_resolved_incident_with_timeline(incidents):
    raw = _body(INCIDENTS)["data"][0]
    entries = {e["id"]: e for e in _body(TIMELINE)[raw["id"]]["data"]["entries"]}
    inc = incidents[raw["tinyId"]]
    assert inc.status == "resolved" and inc.severity == "P1"
    assert [(m.id, m.kind) for m in inc.milestones] == [
        ("impact_started", "impact"), ("created", "detection"), ("acknowledged", "other"), ("resolved", "recovery")]
    by_id = {m.id: m for m in inc.milestones}
    ack, resolve = entries["ZGF0YTEy"], entries["ZGF0YTE1"]  # the acknowledging and the resolving entry
    assert by_id["acknowledged"].at == ack["eventTime"] and ack["actor"]["name"] in by_id["acknowledged"].description
    assert by_id["resolved"].at == resolve["eventTime"]  # the timeline wins over impactEndDate
    assert by_id["impact_started"].at == raw["impactStartDate"]
    assert [(p.start, p.end) for p in inc.phases] == [("impact_started", "resolved")]
    assert {s.id: s.kind for s in inc.sources} == {"S1": "document", "S2": "ticket", "S3": "log"}
    assert inc.sources[1].url == raw["links"]["web"]
    quotes = [n.quote for n in inc.notes if n.quote]
    assert quotes == [entries["ZGF0YTEz"]["description"]["content"]]  # the hidden note is left out
    assert any("region: eu-west-1" in n.text for n in inc.notes)  # extraProperties kept as text
    assert ("Rui Tanaka", "acknowledged the incident") in {(r.name, r.role) for r in inc.responders}


def test_open_and_timeless_incidents(incidents):
    open_raw, closed_raw = _body(INCIDENTS)["data"][1:3]
    inc = incidents[open_raw["tinyId"]]
    assert inc.status == "ongoing" and inc.phases[0].end is None and inc.phases[0].impact == "degraded_performance"
    closed = incidents[closed_raw["tinyId"]]
    assert closed.status == "resolved" and closed.phases == [] and [m.kind for m in closed.milestones] == ["detection"]


def test_incident_history_with_timeline():
    records = _body(INCIDENTS)["data"]
    timeline = _body(TIMELINE)
    table = opsgenie_history(INCIDENTS, timeline=TIMELINE)
    first = records[0]
    entries = {e["id"]: e for e in timeline[first["id"]]["data"]["entries"]}
    assert table["tta"].iloc[0] == pytest.approx(_minutes(first["createdAt"], entries["ZGF0YTEy"]["eventTime"]))
    assert table["ttr"].iloc[0] == pytest.approx(_minutes(first["createdAt"], entries["ZGF0YTE1"]["eventTime"]))
    assert table[["tta", "ttr"]].iloc[1:].isna().all().all()
    assert table["components"].tolist() == [r["impactedServices"] for r in records]
    report = table.attrs["import_report"]
    assert report["incidents"] == len(records) and report["timeline_without_record"] == 0
    assert report["resolved_without_time"] == 1 and report["service_missing"] == 1
    # without the timeline, the resolution falls back to impactEndDate and nothing is acknowledged
    bare = opsgenie_history(INCIDENTS)
    assert bare["ttr"].iloc[0] == pytest.approx(_minutes(first["createdAt"], first["impactEndDate"]))
    assert bare["tta"].isna().all()


def test_one_bare_timeline_response_for_one_incident(tmp_path):
    body = _body(INCIDENTS)
    body["data"] = body["data"][:1]
    single = _body(TIMELINE)[body["data"][0]["id"]]
    data = read_opsgenie(_write(tmp_path, body, "incidents.json"), _write(tmp_path, single, "timeline.json"))
    assert "acknowledged" in [m["id"] for m in data[0]["milestones"]]
    message = _error(tmp_path, _body(INCIDENTS), timeline=single, name="incidents.json")
    assert "timeline.json" in message and "names no incident" in message


def test_timeline_keyed_by_tiny_id(tmp_path):
    raw = _body(INCIDENTS)["data"][0]
    timeline = {raw["tinyId"]: _body(TIMELINE)[raw["id"]], "no-such-incident": {"data": {"entries": []}}}
    path = _write(tmp_path, timeline, "timeline.json")
    data = read_opsgenie(INCIDENTS, path)
    assert "acknowledged" in [m["id"] for m in data[0]["milestones"]]
    assert opsgenie_history(INCIDENTS, path).attrs["import_report"]["timeline_without_record"] == 1


# -- ids, detection -------------------------------------------------------------------
def test_ids_kept_apart_when_tiny_ids_repeat(tmp_path):
    body = _body()
    twin = copy.deepcopy(body["data"][0])
    twin["id"] = "a-different-alert"
    body["data"].append(twin)  # the same tinyId (Opsgenie reuses them) on another alert
    ids = [d["id"] for d in read_opsgenie(_write(tmp_path, body))]
    assert len(set(ids)) == len(ids) and all(i == i.lower() and i.startswith("opsgenie-alert-2025-") for i in ids)


def test_sniff():
    assert is_opsgenie(ALERTS.read_bytes()[:4096]) and is_opsgenie(INCIDENTS.read_bytes())
    assert not is_opsgenie(TIMELINE.read_bytes())
    assert not is_pagerduty(ALERTS.read_bytes()) and not is_pagerduty(INCIDENTS.read_bytes())
    root = Path(__file__).parent.parent
    others = [FIXTURES.parent / "pagerduty" / "incidents.json", FIXTURES.parent / "pagerduty" / "log_entries.json",
              *sorted((root / "data").rglob("*.json"))[:40], *sorted((root / "data").rglob("*.jsonl"))[:5],
              *sorted((FIXTURES.parent / "csv").glob("*"))]
    assert len(others) > 5 and not any(is_opsgenie(p.read_bytes()[:65_536]) for p in others if p.is_file())
    assert not is_opsgenie(b'{"data": {"entries": []}}') and not is_opsgenie(b"\xff\xfe garbage")


# -- hostile text ------------------------------------------------------------------------
def test_hostile_text_kept_as_data(tmp_path):
    body = _body()
    raw = body["data"][0]
    raw["message"] = "<img src=x onerror=alert(1)> db\x01down\x1b[31m | *bold* [x](javascript:alert(1))"
    raw["owner"] = "<script>alert(2)</script>"
    raw["tags"] = ["</td><td>", "{{ 7*7 }}"]
    body["data"][1]["message"] = "A" * 1_000_000  # 1 MB
    folders = import_opsgenie(_write(tmp_path, body), tmp_path / "out")
    loaded = [incident.load(f) for f in folders]
    first, big = loaded[0], loaded[1]
    assert first.title.startswith("<img src=x onerror=alert(1)>") and "\x01" in first.title and "\x1b" in first.title
    assert ("<script>alert(2)</script>", "owner") in {(r.name, r.role) for r in first.responders}
    assert "{{ 7*7 }}" in first.summary
    assert big.title == "A" * 20_000  # capped at the model's limit, not refused


def test_hostile_timeline_note(tmp_path):
    timeline = _body(TIMELINE)
    raw = _body(INCIDENTS)["data"][0]
    note = timeline[raw["id"]]["data"]["entries"][2]
    note["description"]["content"] = "<b>x</b>\x00\u2028" + "n" * 1_000_000
    folders = import_opsgenie(INCIDENTS, tmp_path / "out", _write(tmp_path, timeline, "timeline.json"))
    inc = _load_all(folders)[raw["tinyId"]]
    assert len(inc.notes[0].text) == 20_000 and inc.notes[0].quote is None and "<b>x</b>" in inc.notes[0].text


# -- bad input ---------------------------------------------------------------------------
def _error(tmp_path, body, timeline=None, name: str = "alerts.json", history: bool = True) -> str:
    path = _write(tmp_path, body, name)
    timeline_path = _write(tmp_path, timeline, "timeline.json") if timeline is not None else None
    with pytest.raises(IncidentError) as exc:
        read_opsgenie(path, timeline_path)
    with pytest.raises(IncidentError):
        import_opsgenie(path, tmp_path / "out", timeline_path)
    if history:
        with pytest.raises(IncidentError):
            opsgenie_history(path, timeline_path)
    assert not (tmp_path / "out").exists()  # all or none
    return str(exc.value)


def test_not_json(tmp_path):
    message = _error(tmp_path, "{not json")
    assert "alerts.json" in message and "not JSON" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "alerts.json"
    path.write_bytes(b'{"data": ["\xff"]}')
    with pytest.raises(IncidentError, match="UTF-8"):
        read_opsgenie(path)


@pytest.mark.parametrize("body", [[], {"incidents": []}, {"data": {}}, {"data": []}, {"data": [1]}])
def test_wrong_shape(tmp_path, body):
    message = _error(tmp_path, body)
    assert "alerts.json" in message and len(message.splitlines()) == 1


def test_bad_time_names_file_record_and_field(tmp_path):
    body = _body()
    body["data"][2]["createdAt"] = "yesterday"
    message = _error(tmp_path, body)
    assert len(message.splitlines()) == 1
    assert "alerts.json" in message and "data[2] (tinyId '2212').createdAt" in message and "'yesterday'" in message


@pytest.mark.parametrize("value", ["3 min", -5, True, [1], float("inf"), 10 ** 20])
def test_milliseconds_not_a_number(tmp_path, value):
    body = _body()
    body["data"][0]["report"]["ackTime"] = value
    message = _error(tmp_path, json.dumps(body))  # Infinity: Python's json reads it
    assert "alerts.json" in message and "data[0] (tinyId '2207').report.ackTime" in message


def test_bad_status_and_kinds_mixed(tmp_path):
    body = _body()
    body["data"][1]["status"] = "resolved"  # an incident's status in an alerts list
    assert "data[1] (tinyId '2211').status" in _error(tmp_path, body)
    mixed = _body()
    mixed["data"].append(_body(INCIDENTS)["data"][0])
    assert "mixes alerts" in _error(tmp_path, mixed)


def test_bad_timeline_entry_names_the_entry(tmp_path):
    timeline = _body(TIMELINE)
    incident_id = _body(INCIDENTS)["data"][0]["id"]
    timeline[incident_id]["data"]["entries"][1]["eventTime"] = "2025-13-45T99:00:00Z"
    message = _error(tmp_path, _body(INCIDENTS), timeline=timeline, name="incidents.json")
    assert "timeline.json" in message and f"['{incident_id}'].data.entries[1] (id 'ZGF0YTEy').eventTime" in message


def test_timeline_with_alerts_refused(tmp_path):
    assert "incidents list" in _error(tmp_path, _body(), timeline=_body(TIMELINE))


def test_recovery_before_creation_names_the_record(tmp_path):
    body = _body(INCIDENTS)
    body["data"][2]["impactEndDate"] = "2025-02-27T10:00:00Z"  # closed, no timeline: the end is impactEndDate
    message = _error(tmp_path, body, name="incidents.json", history=False)
    assert "data[2] (tinyId '309')" in message and "as an incident" in message
    table = opsgenie_history(tmp_path / "incidents.json")  # the table keeps the record, without a duration
    assert pd.isna(table["ttr"].iloc[2]) and table.attrs["import_report"]["ttr_negative"] == 1


def test_duplicate_ids_and_capped_problems(tmp_path):
    body = _body()
    body["data"].append(copy.deepcopy(body["data"][0]))
    assert "more than once" in _error(tmp_path, body)
    many = {"data": [{"id": f"A{i}", "tinyId": str(i), "status": "new"} for i in range(500)]}
    assert len(_error(tmp_path, many).splitlines()) == MAX_PROBLEMS


def test_one_bad_record_writes_nothing(tmp_path):
    out = tmp_path / "out"
    import_opsgenie(ALERTS, out)
    before = sorted(p.name for p in out.iterdir())
    body = _body()
    body["data"][0]["message"] = "changed"
    body["data"][3]["updatedAt"] = 12
    with pytest.raises(IncidentError, match=r"data\[3\] \(tinyId '2190'\)\.updatedAt"):
        import_opsgenie(_write(tmp_path, body), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before
    assert "changed" not in (out / before[0] / "incident.yaml").read_text()
