"""PagerDuty REST API v2 responses saved to files: incidents import valid and all-or-none; bad input fails clearly."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

import incident
from incident.analysis.timeline import durations
from incident.core.errors import IncidentError
from incident.io.pagerduty import import_pagerduty, is_pagerduty, pagerduty_history, read_pagerduty

FIXTURES = Path(__file__).parent / "fixtures" / "pagerduty"
INCIDENTS = FIXTURES / "incidents.json"
LOG = FIXTURES / "log_entries.json"


def _body() -> dict:
    return json.loads(INCIDENTS.read_text())


def _write(tmp_path: Path, body, name: str = "incidents.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fixture response (with its log entries) imported and loaded back: {PagerDuty id: Incident}."""
    out = tmp_path_factory.mktemp("pd") / "incidents"
    folders = import_pagerduty(INCIDENTS, out, log_entries=LOG)
    assert len(folders) == 3 and all((f / "incident.yaml").is_file() for f in folders)
    text = (folders[0] / "incident.yaml").read_text()
    assert "the PagerDuty API response" in text and "incident import pagerduty" in text
    by_number = {}
    for folder in folders:
        inc = incident.load(folder)  # every imported incident validates
        by_number[inc.sources[0].title.split(":")[0].split()[-1]] = inc
    return by_number


def test_resolved_incident_milestones_phase_and_durations(loaded):
    inc = loaded["#812"]
    assert inc.status == "resolved" and inc.timezone == "UTC" and inc.severity == "P1"
    assert inc.organisation.name == "Checkout API"
    assert [(m.id, m.kind) for m in inc.milestones] == [
        ("triggered", "detection"), ("acknowledged", "other"), ("resolved", "recovery")]
    assert [(p.start, p.end, p.impact) for p in inc.phases] == [("triggered", "resolved", "major_outage")]
    kinds = {s.id: s.kind for s in inc.sources}
    assert kinds == {"S1": "document", "S2": "ticket", "S3": "log"}
    assert inc.sources[1].url == "https://example-shop.pagerduty.com/incidents/Q1ZR7XKC0A2B3D"
    # only the first acknowledgement counts
    ack = next(m for m in inc.milestones if m.id == "acknowledged")
    assert ack.at == "2025-02-11T08:06:12Z" and "Ana Pereira" in ack.description
    recover = durations(inc).set_index("metric").loc["time_to_recover"]
    assert recover["hours"] == pytest.approx(72 / 60)
    assert {(r.name, r.role) for r in inc.responders} >= {("Ana Pereira", "resolved the incident")}
    assert inc.notes[0].quote == "Rolled back payment-gateway client to 4.18.2; error rate falling."


def test_unresolved_incident_is_ongoing_with_an_open_phase(loaded):
    inc = loaded["#813"]
    assert inc.status == "ongoing"
    assert [m.kind for m in inc.milestones] == ["detection"]
    assert len(inc.phases) == 1 and inc.phases[0].end is None
    assert inc.phases[0].impact == "degraded_performance"  # low urgency
    assert inc.severity == "low urgency"  # no priority: the urgency
    assert [(r.name, r.role) for r in inc.responders] == [("Rui Tanaka", "assignee")]


def test_older_payload_resolved_by_last_status_change(loaded):
    inc = loaded["#790"]
    assert inc.status == "resolved"
    resolved = next(m for m in inc.milestones if m.kind == "recovery")
    assert resolved.at == "2025-01-30T14:45:30+01:00"
    assert durations(inc).set_index("metric").loc["time_to_recover", "hours"] == pytest.approx(45.5 / 60)


def test_ids_are_sanitized_and_kept_apart(tmp_path):
    body = _body()
    twin = copy.deepcopy(body["incidents"][2])
    twin["id"] = "plegacy0900"  # differs from PLEGACY0900 only in case
    body["incidents"].append(twin)
    ids = [d["id"] for d in read_pagerduty(_write(tmp_path, body))]
    assert len(set(ids)) == 4
    assert all(i == i.lower() and i.startswith("pagerduty-2025-") for i in ids)


def test_history_table(tmp_path):
    table = pagerduty_history(INCIDENTS, log_entries=LOG)
    assert list(table["id"]) == ["Q1ZR7XKC0A2B3D", "Q0AB12CD34EF56", "PLEGACY0900"]
    assert table["start"].iloc[2] == pd.Timestamp("2025-01-30T13:00:00Z")
    assert table["ttr"].iloc[0] == pytest.approx(72.0) and table["ttr"].iloc[2] == pytest.approx(45.5)
    assert pd.isna(table["ttr"].iloc[1]) and table["ttd"].isna().all()
    assert table["page"].tolist() == ["Checkout API", "Orders database", "Search"]
    report = table.attrs["import_report"]
    assert report["records"] == 3 and report["unresolved"] == 1 and report["ttr_missing"] == 1
    assert report["priority_missing"] == 2 and report["tta_missing"] == 2


def test_time_to_acknowledge_from_the_first_acknowledgement():
    table = pagerduty_history(INCIDENTS, log_entries=LOG)
    created = {r["id"]: pd.Timestamp(r["created_at"]) for r in json.loads(INCIDENTS.read_text())["incidents"]}
    acks = sorted((pd.Timestamp(e["created_at"]), e["incident"]["id"])
                  for e in json.loads(LOG.read_text())["log_entries"] if e["type"] == "acknowledge_log_entry")
    first = {}
    for at, iid in acks:
        first.setdefault(iid, at)
    expected = [(first[i] - created[i]).total_seconds() / 60 if i in first else None for i in table["id"]]
    assert [None if pd.isna(v) else v for v in table["tta"]] == expected and any(expected)
    assert pagerduty_history(INCIDENTS)["tta"].isna().all()  # without the log entries, no acknowledgement is known


def test_sniff():
    assert is_pagerduty(INCIDENTS.read_bytes()[:4096])
    assert not is_pagerduty(LOG.read_bytes())
    assert not is_pagerduty(b'{"page": {"id": "x"}, "incidents": [{"id": "abc", "name": "n"}]}')  # Statuspage
    assert not is_pagerduty(b"id,title\n1,x\n")
    assert not is_pagerduty(b"\xff\xfe garbage")


def test_hostile_text_kept_as_text(tmp_path):
    body = _body()
    body["incidents"][0]["title"] = "<img src=x onerror=alert(1)> db\x01down\x1b[31m"
    body["incidents"][0]["service"]["summary"] = "<script>alert(2)</script>"
    folders = import_pagerduty(_write(tmp_path, body), tmp_path / "out")
    inc = incident.load(folders[0])
    assert inc.title.startswith("<img src=x onerror=alert(1)>") and "\x01" in inc.title and "\x1b" in inc.title
    assert inc.organisation.name == "<script>alert(2)</script>"


def _error(tmp_path, body, log=None) -> str:
    path = _write(tmp_path, body)
    log_path = _write(tmp_path, log, "log.json") if log is not None else None
    with pytest.raises(IncidentError) as exc:
        read_pagerduty(path, log_path)
    with pytest.raises(IncidentError):
        import_pagerduty(path, tmp_path / "out", log_path)
    assert not (tmp_path / "out").exists()  # all or none
    return str(exc.value)


def test_not_json(tmp_path):
    message = _error(tmp_path, "{not json")
    assert "incidents.json" in message and "not JSON" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "incidents.json"
    path.write_bytes(b'{"incidents": ["\xff"]}')
    with pytest.raises(IncidentError, match="UTF-8"):
        read_pagerduty(path)


@pytest.mark.parametrize("body", [[], {"data": []}, {"incidents": {}}, {"incidents": []}])
def test_wrong_shape(tmp_path, body):
    message = _error(tmp_path, body)
    assert "incidents.json" in message and len(message.splitlines()) == 1


def test_bad_timestamp_names_the_record_and_nothing_is_written(tmp_path):
    body = _body()
    body["incidents"][1]["created_at"] = "yesterday"
    message = _error(tmp_path, body)
    assert len(message.splitlines()) == 1
    assert "incidents.json" in message and "incidents[1] (id 'Q0AB12CD34EF56').created_at" in message
    assert "'yesterday'" in message


def test_resolve_before_trigger_names_the_record(tmp_path):
    body = _body()
    body["incidents"][0]["resolved_at"] = "2025-02-10T08:00:00Z"
    message = _error(tmp_path, body)
    assert "incidents[0] (id 'Q1ZR7XKC0A2B3D')" in message


def test_bad_log_entry_names_the_entry(tmp_path):
    log = json.loads(LOG.read_text())
    log["log_entries"][1]["created_at"] = "2025-13-45T99:00:00Z"
    message = _error(tmp_path, _body(), log)
    assert "log.json" in message and "log_entries[1] (id 'RLOG0002').created_at" in message





def test_resolved_without_any_time_imports_without_a_phase(tmp_path):
    body = _body()
    raw = body["incidents"][2]
    del raw["last_status_change_at"], raw["incident_number"], raw["html_url"]
    raw["title"] = None
    body["incidents"] = [raw]
    folders = import_pagerduty(_write(tmp_path, body), tmp_path / "out")
    inc = incident.load(folders[0])
    assert inc.status == "resolved" and inc.phases == [] and [m.kind for m in inc.milestones] == ["detection"]
    assert inc.title == "(untitled incident)" and [s.kind for s in inc.sources] == ["document"]
    report = pagerduty_history(tmp_path / "incidents.json").attrs["import_report"]
    assert report["resolved_without_time"] == 1 and report["title_missing"] == 1
