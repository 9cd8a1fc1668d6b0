"""incident.io API v2 responses saved to files: incidents import valid and all-or-none; bad input fails clearly."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import incident
from incident.analysis.timeline import durations
from incident.core.errors import IncidentError
from incident.io.incidentio import import_incidentio, incidentio_history, is_incidentio, read_incidentio
from incident.io.pagerduty import is_pagerduty

FIXTURES = Path(__file__).parent / "fixtures" / "incidentio"
INCIDENTS = FIXTURES / "incidents.json"
UPDATES = FIXTURES / "incident_updates.json"
DATA = Path(__file__).parent.parent / "data"


def _body() -> dict:
    return json.loads(INCIDENTS.read_text(encoding="utf-8"))


def _updates() -> dict:
    return json.loads(UPDATES.read_text(encoding="utf-8"))


def _write(tmp_path: Path, body, name: str = "incidents.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stamp(raw: dict, name: str) -> str | None:
    """The fixture record's value of the timestamp called `name`, read straight from the JSON."""
    for item in raw["incident_timestamp_values"]:
        if item["incident_timestamp"]["name"] == name:
            return (item.get("value") or {}).get("value")
    return None


def _minutes(a: str, b: str) -> float:
    return (_time(b) - _time(a)).total_seconds() / 60


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fixture response (with its updates) imported and loaded back: {reference: Incident}."""
    out = tmp_path_factory.mktemp("iio") / "incidents"
    folders = import_incidentio(INCIDENTS, out, updates=UPDATES)
    assert len(folders) == len(_body()["incidents"])
    text = (folders[0] / "incident.yaml").read_text(encoding="utf-8")
    assert "the incident.io API response" in text and "incident import incidentio" in text
    by_reference = {}
    for folder in folders:
        inc = incident.load(folder)  # every imported incident validates
        by_reference[inc.sources[1].ticket] = inc
    return by_reference


def test_closed_incident_with_every_timestamp(loaded):
    raw = _body()["incidents"][0]
    inc = loaded["INC-41"]
    assert inc.status == "resolved" and inc.severity == "Critical" and inc.timezone == "UTC"
    assert [(m.id, m.kind) for m in inc.milestones] == [
        ("impact-started", "impact"), ("reported", "detection"), ("acknowledged", "other"),
        ("mitigated", "mitigation"), ("resolved", "recovery"), ("t1-closed-at", "other")]
    ms = inc.milestones_by_id
    assert ms["acknowledged"].title == "Acknowledged" and ms["acknowledged"].at == _stamp(raw, "Accepted at")
    assert ms["mitigated"].at == _stamp(raw, "Fixed at") and ms["resolved"].at == _stamp(raw, "Resolved at")
    # one phase per affected service, from the impact to the resolution; Critical is a major outage
    assert [(p.component, p.start, p.end, p.impact) for p in inc.phases] == [
        ("Checkout API", "impact-started", "resolved", "major_outage"),
        ("Payments gateway", "impact-started", "resolved", "major_outage")]
    assert inc.organisation.name == "Checkout API"
    assert inc.sources[1].url == raw["permalink"] and {s.kind for s in inc.sources} == {"document", "ticket", "log"}
    recover = durations(inc).set_index("metric").loc["time_to_recover", "hours"]
    assert recover == pytest.approx(_minutes(_stamp(raw, "Impact started"), _stamp(raw, "Resolved at")) / 60)
    assert {(r.name, r.role) for r in inc.responders} >= {("Ana Pereira", "Incident Lead"), ("Rui Tanaka", "Reporter")}
    assert not any(r.role == "Communications Lead" for r in inc.responders)  # the role is unassigned
    quotes = [n.quote for n in inc.notes if n.quote]
    assert quotes == [u["message"] for u in _updates()["incident_updates"] if u["incident_id"] == raw["id"]]
    assert any("'Root cause category': Change / deploy" in n.text for n in inc.notes)


def test_live_incident_is_ongoing_with_an_open_phase(loaded):
    raw = _body()["incidents"][1]
    inc = loaded["INC-42"]
    assert inc.status == "ongoing" and inc.severity == "Major"
    assert [m.kind for m in inc.milestones] == ["impact", "detection", "other"]  # "Fixed at" has no value yet
    assert inc.milestones_by_id["acknowledged"].at == _stamp(raw, "Acknowledged at")
    assert [(p.component, p.end, p.impact) for p in inc.phases] == [("Orders database", None, "partial_outage")]
    assert [(r.name, r.role) for r in inc.responders][0] == ("Rui Tanaka", "Incident Lead")


def test_missing_stages_stay_unknown(loaded):
    raw = _body()["incidents"][2]
    inc = loaded["INC-43"]
    assert inc.status == "resolved" and inc.severity is None
    # no "Impact started": the start is the detection; the unknown timestamp is kept under its own name
    assert [(m.kind, m.title) for m in inc.milestones] == [
        ("detection", "Reported"), ("other", "Customer comms sent at"), ("recovery", "Resolved")]
    assert inc.milestones[0].at == _stamp(raw, "Reported at")  # kept with its offset
    assert [(p.start, p.end, p.impact, p.component) for p in inc.phases] == [
        ("reported", "resolved", "partial_outage", None)]  # no default severity: no level claimed beyond partial


def test_declined_incident_is_kept_without_a_phase(loaded):
    inc = loaded["INC-44"]
    assert inc.status == "resolved" and inc.phases == []
    assert [m.title for m in inc.milestones] == ["Reported", "Declined at"]
    assert any("category declined" in n.text for n in inc.notes)


def test_closed_without_resolved_timestamp_takes_the_closing_update(loaded):
    raw = _body()["incidents"][4]
    closing = next(u for u in _updates()["incident_updates"]
                   if u["incident_id"] == raw["id"] and u["new_incident_status"]["category"] == "closed")
    inc = loaded["INC-45"]
    resolved = inc.milestones_by_id["resolved"]
    assert resolved.at == closing["created_at"] and resolved.sources == ["S3"]
    assert [p.component for p in inc.phases] == ["Media uploads", "Seller app"]  # from "Affected products"


def test_without_updates_a_closed_incident_has_no_resolution(tmp_path):
    data = {d["sources"][1]["ticket"]: d for d in read_incidentio(INCIDENTS)}
    assert [m["kind"] for m in data["INC-45"]["milestones"]] == ["impact", "detection", "mitigation"]
    assert data["INC-45"]["phases"] == [] and not any(s["kind"] == "log" for s in data["INC-45"]["sources"])
    report = incidentio_history(INCIDENTS).attrs["import_report"]
    assert report["resolved_without_time"] == 1 and "updates_of_other_incidents" not in report


def test_history_values_come_from_the_timestamps():
    body, updates = _body(), _updates()
    table = incidentio_history(INCIDENTS, updates=UPDATES)
    assert list(table["id"]) == [r["id"] for r in body["incidents"]]
    assert table["source"].eq("incidentio").all()
    for row, raw in zip(table.itertuples(), body["incidents"]):
        impact, reported = _stamp(raw, "Impact started"), _stamp(raw, "Reported at") or raw["created_at"]
        start = impact or reported
        assert row.start == pd.Timestamp(start)
        assert row.detected == pd.Timestamp(reported)
        if impact:
            assert row.ttd == pytest.approx(_minutes(impact, reported))
        else:
            assert pd.isna(row.ttd)  # never 0 for an unknown impact start
        ack = _stamp(raw, "Accepted at") or _stamp(raw, "Acknowledged at")
        assert (row.tta == pytest.approx(_minutes(start, ack))) if ack else pd.isna(row.tta)
        assert (row.acknowledged == pd.Timestamp(ack)) if ack else pd.isna(row.acknowledged)
        fix = _stamp(raw, "Fixed at") or _stamp(raw, "Stabilised at")
        assert (row.ttm == pytest.approx(_minutes(start, fix))) if fix else pd.isna(row.ttm)
        resolved = _stamp(raw, "Resolved at")
        if resolved is None and raw["incident_status"]["category"] == "closed":
            resolved = next(u["created_at"] for u in updates["incident_updates"] if u["incident_id"] == raw["id"]
                            and u["new_incident_status"]["category"] == "closed")
        assert (row.ttr == pytest.approx(_minutes(start, resolved))) if resolved else pd.isna(row.ttr)
        assert row.hours_to_resolve == pytest.approx(row.ttr / 60, nan_ok=True)
    assert table["components"].iloc[0] == ["Checkout API", "Payments gateway"]
    assert table["page"].iloc[2] == "incident.io" and table["page_impact"].iloc[0] == "Critical"
    assert list(table["impact"]) == ["unknown", "unknown", "unknown", "declined", "unknown"]


def test_history_import_report_counts_gaps_and_disagreements():
    body = _body()
    table = incidentio_history(INCIDENTS, updates=UPDATES)
    report = table.attrs["import_report"]
    incidents = body["incidents"]
    assert report["records"] == len(incidents)
    categories = [r["incident_status"]["category"] for r in incidents]
    assert report["unresolved"] == sum(c in ("live", "triage", "paused") for c in categories)
    assert report["declined"] == categories.count("declined")
    assert report["impact_start_missing"] == sum(_stamp(r, "Impact started") is None for r in incidents)
    for stage in ("ttd", "tta", "ttm", "ttr"):
        assert report[f"{stage}_missing"] == int(table[stage].isna().sum())
    assert report["timestamp_without_value"] == 1 and report["timestamp_other_name"] == 1
    assert report["resolved_from_update"] == 1 and report["updates_of_other_incidents"] == 1
    # "Lasted" stated by incident.io against resolved - start from the timestamps, more than a minute apart
    disagreeing = 0
    for raw, ttr in zip(incidents, table["ttr"]):
        for metric in raw["duration_metrics"]:
            if metric["duration_metric"]["name"] == "Lasted" and abs(metric["value_seconds"] / 60 - ttr) > 1:
                disagreeing += 1
    assert disagreeing == 1 and report["ttr_metric_disagrees"] == disagreeing
    assert "ttm_metric_disagrees" not in report  # "Time to fix" and "Time to stabilise" agree


def test_a_metric_without_its_stage_is_counted_unchecked(tmp_path):
    body = _body()
    body["incidents"][1]["duration_metrics"] = [
        {"duration_metric": {"id": "M1", "name": "Time to resolve"}, "value_seconds": 600},
        {"duration_metric": {"id": "M2", "name": "Time in Slack"}, "value_seconds": 60}]
    report = incidentio_history(_write(tmp_path, body)).attrs["import_report"]
    assert report["ttr_metric_unchecked"] == 1 and report["duration_metric_other"] == 1


def test_test_mode_and_unknown_names_are_kept(tmp_path):
    body = _body()
    raw = body["incidents"][0]
    raw["mode"] = "test"
    raw["incident_status"]["category"] = "some_new_category"  # the API may add categories
    raw["incident_timestamp_values"].append(
        {"incident_timestamp": {"id": "X", "name": "\u00c9scalad\u00e9 at <b>", "rank": 99},
         "value": {"value": "2025-03-04T09:40:00Z"}})
    table = incidentio_history(_write(tmp_path, body))
    assert table["impact"].iloc[0] == "test"
    assert table.attrs["import_report"]["mode_test"] == 1
    assert table.attrs["import_report"]["status_category_unknown"] == 1
    inc = incident.load(import_incidentio(tmp_path / "incidents.json", tmp_path / "out")[0])
    assert inc.status == "resolved"  # the unknown category with a "Resolved at"
    assert "\u00c9scalad\u00e9 at <b>" in [m.title for m in inc.milestones]


def test_sniff():
    assert is_incidentio(INCIDENTS.read_bytes()[:4096]) and is_incidentio(UPDATES.read_bytes())
    assert not is_pagerduty(INCIDENTS.read_bytes())  # PagerDuty's sniff leaves incident.io alone
    others = [Path(__file__).parent / "fixtures" / "pagerduty" / "incidents.json",
              Path(__file__).parent / "fixtures" / "pagerduty" / "log_entries.json",
              *sorted((DATA / "samples" / "statuspage").glob("*.json")),
              DATA / "history" / "github-status" / "incidents.jsonl",
              DATA / "history" / "issre22" / "template.json"]
    for path in others:
        assert not is_incidentio(path.read_bytes()[:65_536]), path
    opsgenie = b'{"data": [{"id": "70413a06", "tinyId": "1791", "message": "CPU", "status": "closed"}], "took": 0.6}'
    assert not is_incidentio(opsgenie)
    assert not is_incidentio(b"id,title\n1,x\n") and not is_incidentio(b"\xff\xfe garbage")


def test_hostile_text_kept_as_text(tmp_path):
    body = _body()
    raw = body["incidents"][0]
    raw["name"] = "<img src=x onerror=alert(1)> db\x01down\x1b[31m"
    raw["custom_field_entries"][0]["values"][0]["value_catalog_entry"]["name"] = "<script>alert(2)</script>"
    raw["incident_role_assignments"][0]["assignee"]["name"] = "x" * 1_000_000
    updates = _updates()
    updates["incident_updates"][0]["message"] = "**bold** <a href='javascript:x'>y</a>\u2028`{{ 7*7 }}`"
    folders = import_incidentio(_write(tmp_path, body), tmp_path / "out", _write(tmp_path, updates, "u.json"))
    inc = incident.load(folders[0])
    assert inc.title.startswith("<img src=x onerror=alert(1)>") and "\x01" in inc.title and "\x1b" in inc.title
    assert inc.organisation.name == "<script>alert(2)</script>"
    assert inc.phases[0].component == "<script>alert(2)</script>"
    assert "**bold** <a href='javascript:x'>y</a>\u2028`{{ 7*7 }}`" in [n.quote for n in inc.notes]
    lead = next(r for r in inc.responders if r.role == "Incident Lead")
    assert set(lead.name) == {"x"} and len(lead.name) == 20_000  # cut to the format's longest text, kept


def test_a_one_megabyte_name_is_data(tmp_path):
    body = _body()
    body["incidents"][2]["name"] = "<" * 1_000_000
    data = read_incidentio(_write(tmp_path, body))
    assert data[2]["title"] == "<" * 20_000
    assert incidentio_history(tmp_path / "incidents.json")["title"].iloc[2] == "<" * 1_000_000


def _error(tmp_path, body, updates=None) -> str:
    path = _write(tmp_path, body)
    updates_path = _write(tmp_path, updates, "updates.json") if updates is not None else None
    with pytest.raises(IncidentError) as exc:
        read_incidentio(path, updates_path)
    with pytest.raises(IncidentError):
        import_incidentio(path, tmp_path / "out", updates_path)
    with pytest.raises(IncidentError):
        incidentio_history(path, updates_path)
    assert not (tmp_path / "out").exists()  # all or none
    return str(exc.value)


def test_not_json(tmp_path):
    message = _error(tmp_path, '{"incidents": [')
    assert "incidents.json" in message and "not JSON" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "incidents.json"
    path.write_bytes(b'{"incidents": ["\xff"]}')
    with pytest.raises(IncidentError, match="UTF-8"):
        read_incidentio(path)


@pytest.mark.parametrize("body", [[], {"data": []}, {"incidents": {}}, {"incidents": []}, "null"])
def test_wrong_shape(tmp_path, body):
    message = _error(tmp_path, body)
    assert "incidents.json" in message and len(message.splitlines()) == 1


def test_updates_given_as_incidents_says_so(tmp_path):
    message = _error(tmp_path, _updates())
    assert "incident updates response" in message and "GET /v2/incidents" in message


def test_bad_created_at_names_file_record_and_field(tmp_path):
    body = _body()
    body["incidents"][1]["created_at"] = "yesterday"
    message = _error(tmp_path, body)
    assert len(message.splitlines()) == 1
    assert "incidents.json" in message and "incidents[1] (id '01HV9P0R7S2T4U6V8W0X1Y3Z42').created_at" in message
    assert "'yesterday'" in message


def test_bad_timestamp_value_names_the_timestamp(tmp_path):
    body = _body()
    body["incidents"][0]["incident_timestamp_values"][3]["value"]["value"] = "2025-13-45T99:00:00Z"
    body["incidents"][2]["incident_timestamp_values"][0]["incident_timestamp"] = {"id": "T", "name": 7}
    message = _error(tmp_path, body)
    lines = message.splitlines()
    assert len(lines) == 2
    assert "incidents[0] (id '01HV7K2M4Q9N3B5C8D1E6F0A41').incident_timestamp_values[3].value.value" in lines[0]
    assert "incident_timestamp_values[0].incident_timestamp.name: expected text, got 7" in lines[1]


@pytest.mark.parametrize("field, value, where", [
    ("incident_status", None, "incident_status"),
    ("incident_status", {"name": "Live"}, "incident_status.category"),
    ("severity", "Critical", "severity"),
    ("duration_metrics", [{"duration_metric": {"name": "Lasted"}, "value_seconds": "long"}],
     "duration_metrics[0].value_seconds"),
    ("custom_field_entries", [{"custom_field": {"name": "Service"}, "values": [{"value_option": "x"}]}],
     "custom_field_entries[0].values[0].value_option"),
    ("incident_role_assignments", [{"assignee": {"name": "A"}}], "incident_role_assignments[0].role"),
    ("name", ["list"], "name"),
])
def test_wrong_field_types_name_the_field(tmp_path, field, value, where):
    body = _body()
    body["incidents"][3][field] = value
    message = _error(tmp_path, body)
    assert f"incidents[3] (id '01HW0A0B0C0D0E0F0G0H0J0K44').{where}:" in message


def test_bad_update_names_the_update(tmp_path):
    updates = _updates()
    updates["incident_updates"][1]["created_at"] = "2025-03-04 09:58"
    del updates["incident_updates"][2]["incident_id"]
    message = _error(tmp_path, _body(), updates)
    assert "updates.json" in message and "incident_updates[1] (id '01HV7K3U00000000000000U002').created_at" in message
    assert "incident_updates[2] (id '01HV7K3U00000000000000U003').incident_id" in message


def test_resolution_before_impact_names_the_record(tmp_path):
    body = _body()
    body["incidents"][0]["incident_timestamp_values"][4]["value"]["value"] = "2025-03-04T09:00:00Z"
    path = _write(tmp_path, body)
    with pytest.raises(IncidentError) as exc:
        import_incidentio(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    message = str(exc.value)
    assert "incidents[0] (id '01HV7K2M4Q9N3B5C8D1E6F0A41')" in message and "before the incident's start" in message
    # the history keeps the record, the negative duration left out and counted (history_schema.exclude_negative)
    table = incidentio_history(path)
    assert pd.isna(table["ttr"].iloc[0]) and table.attrs["import_report"]["ttr_negative"] == 1


def test_one_bad_record_writes_nothing_even_into_an_existing_folder(tmp_path):
    out = tmp_path / "out"
    first = import_incidentio(INCIDENTS, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    body = _body()
    body["incidents"][0]["name"] = "renamed"
    body["incidents"][4]["created_at"] = "2025-03-08T11:05:00"  # no offset
    with pytest.raises(IncidentError, match=r"incidents\[4\].*created_at"):
        import_incidentio(_write(tmp_path, body), out, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before and len(first) == 5





def test_a_reopened_live_incident_stays_ongoing(tmp_path):
    body = _body()
    raw = body["incidents"][1]
    resolved_once = "2025-03-05T22:20:00Z"
    raw["incident_timestamp_values"][4]["value"] = {"value": resolved_once}  # "Resolved at", before a reopening
    path = _write(tmp_path, body)
    inc = incident.load(import_incidentio(path, tmp_path / "out")[1])
    assert inc.status == "ongoing" and inc.phases[0].end is None
    assert [(m.kind, m.title, m.at) for m in inc.milestones if m.title == "Resolved at"] == [
        ("other", "Resolved at", resolved_once)]
    table = incidentio_history(path)
    assert pd.isna(table["ttr"].iloc[1]) and table.attrs["import_report"]["reopened_after_resolution"] == 1
