"""Incidents from a CSV export (incident.io.csv_export): conversion, history, refusals, all or none."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

import incident
from incident.core.errors import IncidentError
from incident.io.csv_export import CsvColumns, csv_history, import_csv, read_csv_incidents

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
EXPORT = FIXTURES / "incidents.csv"


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _one_problem(exc: pytest.ExceptionInfo) -> str:
    assert len(exc.value.problems) == 1, str(exc.value)
    return str(exc.value.problems[0])


def test_every_row_imports_and_validates(tmp_path):
    folders = import_csv(EXPORT, tmp_path / "out")
    assert len(folders) == 6  # never a row dropped
    loaded = [incident.load(f) for f in folders]
    first = loaded[0]
    assert first.title == "Checkout API returning 502s" and first.severity == "SEV1"
    assert [(m.id, m.kind) for m in first.milestones] == [
        ("started", "impact"), ("detected", "detection"), ("acknowledged", "other"),
        ("mitigated", "mitigation"), ("resolved", "recovery")]
    assert first.milestones[0].at == "2024-03-01T13:05:00+00:00"  # kept as written
    (phase,) = first.phases
    assert (phase.start, phase.end, phase.component) == ("started", "resolved", "checkout")
    (source,) = first.sources
    assert source.kind == "document" and source.url is None and "line 2" in (source.locator or "")
    assert [n.text for n in first.notes] == ["team: payments", "postmortem: https://wiki.example.com/pm/1042"]


def test_offsets_normalised_and_ids_kept_apart():
    data = {d["title"]: d for d in read_csv_incidents(EXPORT)}
    assert data["Delayed email notifications"]["milestones"][0]["at"] == "2024-03-15T06:00:00-05:00"
    assert data["Dashboard blank for some tenants"]["milestones"][0]["at"] == "2024-03-20 16:00:00Z"
    a, b = data["Dashboard blank for some tenants"]["id"], data["Duplicate id that slugs the same as INC-1046"]["id"]
    assert a != b  # 'INC-1046' and 'inc-1046' slug alike
    assert read_csv_incidents(EXPORT)[0]["id"] == read_csv_incidents(EXPORT)[0]["id"]  # stable


def test_missing_stage_leaves_the_milestone_out(tmp_path):
    data = read_csv_incidents(FIXTURES / "missing_stage.csv")
    assert len(data) == 2
    assert [m["id"] for m in data[0]["milestones"]] == ["started", "mitigated", "resolved"]
    ongoing = data[1]
    assert ongoing["status"] == "ongoing"
    assert [m["id"] for m in ongoing["milestones"]] == ["started", "detected"]
    assert "end" not in ongoing["phases"][0]  # open: the incident is not over
    for folder in import_csv(FIXTURES / "missing_stage.csv", tmp_path / "out"):
        incident.load(folder)
    report = csv_history(FIXTURES / "missing_stage.csv").attrs["import_report"]
    assert report["records"] == 2 and report["detected_missing"] == 1 and report["resolved_missing"] == 1


def test_phase_ends_at_mitigation_without_resolution(tmp_path):
    path = _write(tmp_path / "m.csv", [["id", "started_at", "mitigated_at"],
                                       ["X-1", "2024-01-01T10:00:00Z", "2024-01-01T10:20:00Z"]])
    (data,) = read_csv_incidents(path)
    assert data["phases"][0]["end"] == "mitigated" and data["title"] == "Incident X-1"


def test_history_stage_minutes():
    h = csv_history(EXPORT)
    assert list(h["ttd"][:5]) == [7.0, 20.0, 1.0, 90.0, 5.0]
    assert list(h["ttr"]) == [90.0, 150.0, 85.0, 180.0, 45.0, 30.0]
    assert h["ttm"][0] == 45.0 and math.isnan(h["ttm"][3]) and math.isnan(h["ttd"][5])
    assert h["tti"].isna().all()
    assert list(h["tta"][:2]) == [10.0, 22.0]  # acknowledged_at minus started_at
    assert h["hours_to_resolve"][0] == 1.5
    assert h["components"][0] == ["checkout"]
    report = h.attrs["import_report"]
    assert report["records"] == 6 and report["mitigated_missing"] == 2 and report["detected_missing"] == 1


def test_naive_times_refused_without_a_zone_in_one_line():
    with pytest.raises(IncidentError) as exc:
        read_csv_incidents(FIXTURES / "naive.csv")
    line = _one_problem(exc)
    assert "naive.csv:2:" in line and "'started_at'" in line and "no UTC offset" in line and "timezone=" in line


def test_naive_times_read_in_the_given_zone_across_dst(tmp_path):
    data = read_csv_incidents(FIXTURES / "naive.csv", timezone="Europe/Berlin")
    assert data[0]["timezone"] == "Europe/Berlin" and data[0]["milestones"][0]["at"] == "2024-03-30 23:30:00"
    h = csv_history(FIXTURES / "naive.csv", timezone="Europe/Berlin")
    assert h["ttr"][0] == 210.0  # 23:30 CET to 04:00 CEST: the clocks went forward an hour
    assert h["ttd"][1] == 4.0
    for folder in import_csv(FIXTURES / "naive.csv", tmp_path / "out", timezone="Europe/Berlin"):
        incident.load(folder)


def test_unknown_timezone_refused():
    with pytest.raises(IncidentError, match="unknown time zone"):
        read_csv_incidents(FIXTURES / "naive.csv", timezone="Mars/Olympus")


def test_other_format_refused_with_an_example(tmp_path):
    with pytest.raises(IncidentError) as exc:
        import_csv(FIXTURES / "bad_format.csv", tmp_path / "out")
    line = _one_problem(exc)
    assert "bad_format.csv:3:" in line and "'started_at'" in line and "2024-03-01T14:05:00+01:00" in line
    assert not (tmp_path / "out").exists()  # all or none: the good row is not written either


def test_resolved_before_start_refused_and_nothing_written(tmp_path):
    path = _write(tmp_path / "neg.csv", [["id", "started_at", "resolved_at"],
                                         ["OK-1", "2024-01-01T10:00:00Z", "2024-01-01T11:00:00Z"],
                                         ["BAD-1", "2024-01-02T10:00:00Z", "2024-01-02T09:00:00Z"]])
    with pytest.raises(IncidentError) as exc:
        import_csv(path, tmp_path / "out")
    line = _one_problem(exc)
    assert "neg.csv:3:" in line and "'resolved_at'" in line and "is before the incident's start" in line
    assert not (tmp_path / "out").exists()
    assert csv_history(path).attrs["import_report"]["ttr_negative"] == 1  # the history counts it instead


def test_custom_columns(tmp_path):
    cols = CsvColumns(id="Incident #", title="subject", started="Opened", resolved=("Resolved", "Closed"))
    (data,) = read_csv_incidents(FIXTURES / "custom_columns.csv", cols, organisation="Example Corp")
    assert data["title"] == "Disk full on db-3" and data["organisation"]["name"] == "Example Corp"
    assert [m["id"] for m in data["milestones"]] == ["started", "resolved"]
    assert csv_history(FIXTURES / "custom_columns.csv", cols)["ttr"][0] == 90.0
    with pytest.raises(IncidentError, match="no column for the incident's started"):
        read_csv_incidents(FIXTURES / "custom_columns.csv", CsvColumns(id="Incident #"))


def test_hostile_text_kept_as_text(tmp_path):
    (folder, _) = import_csv(FIXTURES / "hostile.csv", tmp_path / "out")
    inc = incident.load(folder)
    assert inc.title == "<img src=x onerror=alert(1)>"
    assert inc.notes[0].text.startswith("comment: bell\x07 escape\x1b[31m")
    assert "<script>alert(1)</script>" in inc.notes[0].text


def test_huge_field_refused_naming_its_column(tmp_path):
    path = _write(tmp_path / "huge.csv", [["id", "title", "started_at"], ["H-1", "small", "2024-02-01T10:00:00Z"],
                                          ["H-2", "x" * 1_000_000, "2024-02-02T10:00:00Z"]])
    with pytest.raises(IncidentError) as exc:
        import_csv(path, tmp_path / "out")
    line = _one_problem(exc)
    assert "huge.csv:3:" in line and "'title'" in line and "10,000" in line
    assert not (tmp_path / "out").exists()
    mid = _write(tmp_path / "mid.csv", [["id", "title", "started_at"], ["H-1", "y" * 50_000, "2024-02-01T10:00:00Z"]])
    with pytest.raises(IncidentError, match=r"mid.csv:2: column 'title': a field of 50,000"):
        read_csv_incidents(mid)


@pytest.mark.parametrize("rows, expected", [
    ([["id", "started_at"], ["A", "2024-01-01T10:00Z"], ["A", "2024-01-02T10:00Z"]], ":3: column 'id': the id 'A' is also on line 2"),
    ([["id", "started_at"], ["", "2024-01-01T10:00Z"]], ":2: column 'id': no incident id"),
    ([["id", "started_at"], ["A", "2024-01-01T10:00Z", "extra"]], ":2: expected 2 fields as in the header, found 3"),
    ([["id", "id", "started_at"]], ":1: column 'id': two columns have this name"),
    ([["id", "started_at"]], ":1: no incidents"),
    ([["id", "started_at"], ["A", "2024-02-30T10:00Z"]], ":2: column 'started_at':"),
])
def test_bad_rows_one_problem_each(tmp_path, rows, expected):
    path = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(IncidentError) as exc:
        read_csv_incidents(path)
    assert expected in _one_problem(exc)


def test_empty_file_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="the file is empty"):
        read_csv_incidents(path)


def test_many_bad_rows_capped(tmp_path):
    rows = [["id", "started_at"]] + [[f"R{i}", "yesterday"] for i in range(500)]
    with pytest.raises(IncidentError) as exc:
        read_csv_incidents(_write(tmp_path / "many.csv", rows))
    assert len(exc.value.problems) == 50 and "reading stopped" in exc.value.problems[-1].message
