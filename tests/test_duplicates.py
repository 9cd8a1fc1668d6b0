"""One outage, one row: a preliminary report superseded by the final one under the same id is dropped and counted."""

from __future__ import annotations

import json

from incident.io.issre import final_reports, read_issre


def test_the_final_rca_of_azure_20180904_1_is_kept(issre, issre_raw):
    reports = [rec for rid, rec in issre_raw if rid == "azure-20180904-1"]
    assert sorted(r["title"] for r in reports) == ["RCA - South Central US", "South Central US - Preliminary RCA"]
    final = next(r for r in reports if "Preliminary" not in r["title"])
    rows = issre[issre["id"].str.startswith("azure-20180904-1")]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["title"] == final["title"] and row["ttr"] == final["duration"] == 5148
    assert row["mitigation_actions"] == final["mitigation"]["label"]
    assert issre.attrs["import_report"]["preliminary_report_superseded"] == 1
    assert issre.attrs["import_report"]["records"] == len(issre_raw) == len(issre) + 1


def _write(tmp_path, name: str, records: dict):
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_the_final_is_kept_whichever_comes_first(tmp_path):
    final = {"time": "09/04/2018", "title": "RCA - somewhere", "duration": 100}
    prelim = {"time": "09/04/2018", "title": "somewhere - Preliminary RCA", "duration": 90}
    _write(tmp_path, "a.json", {"x-1": final})
    _write(tmp_path, "b.json", {"x-1": prelim, "x-2": {"time": "09/05/2018", "title": "other", "duration": 5}})
    table = read_issre(tmp_path)
    assert table["id"].tolist() == ["x-1", "x-2"] and table["ttr"].tolist() == [100, 5]
    assert table.attrs["import_report"]["preliminary_report_superseded"] == 1


def test_two_reports_of_one_id_neither_preliminary_are_both_kept(tmp_path):
    """Nothing says which is the outage's final word: both stay, the second renamed and counted."""
    _write(tmp_path, "a.json", {"x-1": {"time": "01/01/2020", "title": "RCA one", "duration": 10}})
    _write(tmp_path, "b.json", {"x-1": {"time": "02/01/2020", "title": "RCA two", "duration": 20}})
    table = read_issre(tmp_path)
    assert table["id"].tolist() == ["x-1", "x-1#2"]
    report = table.attrs["import_report"]
    assert report["duplicate_id"] == 1 and "preliminary_report_superseded" not in report


def test_final_reports_alone():
    recs = [(None, "a", {"title": "Preliminary RCA"}), (None, "b", {"title": "Preliminary RCA"}),
            (None, "a", {"title": "Final RCA"})]
    kept, dropped = final_reports(recs)
    assert [(rid, rec["title"]) for _, rid, rec in kept] == [("b", "Preliminary RCA"), ("a", "Final RCA")]
    assert dropped == 1  # `b` has only a preliminary report: it is the only word on that outage, kept
