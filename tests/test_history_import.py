"""Importing real incident histories: ISSRE'22 postmortems and GitHub's status history.

Every count is checked against an independent count made here with plain
`json`, on the real data the project ships (data/history/), or on the shared
copy beside the project when the project's copy is absent.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SHARED
from incident.analysis.history import combine, detect_format, group_stats, history_table
from incident.cli import EXIT_BAD_INPUT, report_problems
from incident.cli.history import add_parser
from incident.core.errors import IncidentError
from incident.io.github_status import read_github_status
from incident.io.history_schema import HISTORY_COLUMNS, import_report
from incident.io.issre import mitigation_category, read_issre

VERIFICATION_TYPOS = {"verificatio", "verifcation", "verificationn", "verififcation"}


# -- ISSRE'22 -----------------------------------------------------------------
def test_issre_every_record_imported(issre, issre_raw):
    assert len(issre_raw) == 356 and len(issre) == 355
    assert list(issre.columns) == HISTORY_COLUMNS
    assert issre["id"].is_unique
    assert issre.attrs["import_report"]["records"] == 356
    # the one id two reports share (preliminary and final RCA): the final is kept (tests/test_duplicates.py)
    raw_ids = [rid for rid, _ in issre_raw]
    twice = {rid for rid in raw_ids if raw_ids.count(rid) > 1}
    assert twice == {"azure-20180904-1"}
    assert issre.attrs["import_report"]["preliminary_report_superseded"] == 1
    assert "duplicate_id" not in issre.attrs["import_report"]
    assert set(issre["id"]) == set(raw_ids)
    assert set(issre["provider"]) == {"Azure", "Google", "AWS"}
    assert issre["provider"].value_counts().to_dict() == {"Azure": 242, "Google": 99, "AWS": 14}
    assert str(issre["start"].dt.tz) == "UTC"


def test_issre_defect_counts_match_an_independent_count(issre, issre_raw):
    # every kind but `records` counts among the kept records: the superseded preliminary report is not one
    recs = [rec for _, rec in issre_raw if "Preliminary RCA" not in rec["title"]]
    assert len(recs) == len(issre)
    report = issre.attrs["import_report"]
    expected = {
        "misspelt_key_service_name": sum("service name" in r and "service_name" not in r for r in recs),
        "misspelt_key_verification": sum(bool(VERIFICATION_TYPOS & set(r)) for r in recs),
        "misspelt_category": sum(any(isinstance(lab, dict) and "softwares bugs" in lab.values()
                                     for lab in (r["root cause"].get("label") or [])) for r in recs),
        "mitigation_null": sum(r["mitigation"] is None for r in recs),
        "root_cause_not_a_label_list": sum("label" not in r["root cause"] for r in recs),
        "ttd_missing": sum(r["detection time"] is None for r in recs),
        "tti_missing": sum(r["identification time"] is None for r in recs),
        "ttm_missing": sum(r["fix time"] is None for r in recs),
        "ttr_missing": sum(r["duration"] is None for r in recs),
        "detection_method_missing": sum(r["detection"].get("method") in (None, "", "unknown") for r in recs),
        "detection_method_variant": sum(r["detection"].get("method") not in (None, "", "unknown", "automate", "manual")
                                        for r in recs),
    }
    assert {k: report.get(k, 0) for k in expected} == expected
    assert expected["misspelt_key_service_name"] == 7 and expected["misspelt_key_verification"] == 4
    assert expected["misspelt_category"] == 1
    assert "softwares bugs" not in set(issre["root_cause_l2"].dropna())
    frame = import_report(issre)
    assert list(frame.columns) == ["kind", "records"] and frame.iloc[0].tolist() == ["records", 356]


def test_issre_stage_times_known_where_given_and_nan_not_zero(issre, issre_raw):
    # ttd and ttr are from the start as labelled; tti and ttm are phases, converted (tests/test_stage_definitions.py)
    keys = {"ttd": "detection time", "ttr": "duration"}
    kept = [r for _, r in issre_raw if "Preliminary RCA" not in r["title"]]
    for stage, key in keys.items():
        given = np.array([np.nan if r[key] is None else r[key] for r in kept], dtype=float)
        np.testing.assert_array_equal(issre[stage].to_numpy(), given)  # same order, NaN where not given
    known = issre[["ttd", "tti", "ttm", "ttr"]].notna().sum().to_dict()
    assert known == {"ttd": 70, "tti": 15, "ttm": 15, "ttr": 353}
    no_tti = issre.set_index("id").loc["azure-20161223-1"]  # a report giving no identification time
    assert np.isnan(no_tti["tti"]) and no_tti["tti"] != 0
    assert (issre["ttd"] == 0).sum() == sum(r["detection time"] == 0 for r in kept) > 0  # real zeros stay
    assert issre["hours_to_resolve"].equals(issre["ttr"] / 60)


def test_issre_labels(issre, issre_raw):
    row = issre.set_index("id").loc["google-GAE-#18003"]  # root cause given bare, mitigation null
    assert row["root_cause_l1"] == "unknown" and row["root_cause_l2"] is None
    assert row["mitigation"] is None and row["mitigation_actions"] == []
    assert set(issre["detection"].dropna()) == {"automated", "manual"}
    assert issre["components"].map(len).gt(0).sum() == sum(
        bool(r.get("service_name") or r.get("service name")) for _, r in issre_raw
        if "Preliminary RCA" not in r["title"])
    assert mitigation_category("roll back the recent deployment") == "rollback"
    assert mitigation_category("Deploy a platform hotfix") == "fix or hotfix"
    assert mitigation_category("something else entirely") == "other"
    assert issre["mitigation"].notna().sum() == 354  # all but the record whose mitigation is null


def test_issre_single_file_and_template_skipped(issre_dir):
    aws = read_issre(issre_dir / "anomaly_collection" / "AWS" / "aws.json")
    assert len(aws) == 14 and set(aws["provider"]) == {"AWS"}
    assert not read_issre(issre_dir)["id"].str.startswith("k8s").any()  # template.json's example record


def test_issre_bad_input_names_file_and_field(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"a-1": {"time": "01/02/2020",\n "duration": }}')
    with pytest.raises(IncidentError) as exc:
        read_issre(bad)
    (p,) = exc.value.problems
    assert p.file == str(bad) and p.line == 2 and "not JSON" in p.message
    bad.write_text("[1, 2]")
    with pytest.raises(IncidentError, match="expected an object of incidents keyed by id"):
        read_issre(bad)
    bad.write_text('{"a-1": {"time": "01/02/2020", "duration": "long"},\n "a-2": {"time": "soon"}}')
    with pytest.raises(IncidentError) as exc:
        read_issre(bad)
    assert [(p.path, p.line) for p in exc.value.problems] == [("a-1.duration", 1), ("a-2.time", 2)]
    with pytest.raises(IncidentError, match="no .json postmortem files"):
        read_issre(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else None


# -- GitHub status history ----------------------------------------------------------
def test_github_every_record_imported(github, github_raw):
    assert len(github_raw) == 819 and len(github) == 819
    assert list(github.columns) == HISTORY_COLUMNS
    assert github["id"].tolist() == [str(r["id"]) for r in github_raw]
    start = pd.to_datetime(pd.Series([r["started_at"] for r in github_raw]), utc=True)
    assert (github["start"] == start).all() and str(github["start"].dt.tz) == "UTC"
    assert set(github["provider"]) == {"GitHub"} and set(github["source"]) == {"github-status"}


def test_github_stages_what_the_feed_can_tell(github, github_raw):
    report = github.attrs["import_report"]
    assert github["ttd"].isna().all() and report["ttd_not_in_feed"] == 819  # never a made-up 0
    assert github["tti"].isna().all()  # GitHub posts no 'Identified' update
    assert not any(u["status"] == "Identified" for r in github_raw for u in r["updates"])
    retro = [all(u["status"] == "Resolved" for u in r["updates"]) for r in github_raw]
    assert sum(retro) == report["retroactive_without_duration"] == 29
    for r, is_retro, ttr in zip(github_raw, retro, github["ttr"]):
        minutes = (pd.Timestamp(r["resolved_at"]) - pd.Timestamp(r["started_at"])).total_seconds() / 60
        assert np.isnan(ttr) if is_retro else ttr == minutes
    monitoring = [min((pd.Timestamp(u["at"]) for u in r["updates"] if u["status"] == "Monitoring"), default=None)
                  for r in github_raw]
    assert github["ttm"].notna().sum() == sum(m is not None for m in monitoring) == 74
    for r, m, ttm in zip(github_raw, monitoring, github["ttm"]):
        if m is not None:
            assert ttm == (m - pd.Timestamp(r["started_at"])).total_seconds() / 60
    assert report["components_missing"] == sum(not r.get("components") for r in github_raw) == 158
    assert report["maintenance"] == sum(r["impact"] == "maintenance" for r in github_raw) == 18
    assert report["components_inferred"] == sum("components_source" in r for r in github_raw)


def test_github_components_explode_cover_every_component(github, github_raw):
    groups = group_stats(github, "component", ["ttr"]).set_index("group")["N"]
    names = {c for r in github_raw for c in r.get("components") or []}
    assert set(groups.index) == names | {"(none)"}
    assert groups.sum() == sum(max(1, len(r.get("components") or [])) for r in github_raw)
    for name in names:
        assert groups[name] == sum(name in (r.get("components") or []) for r in github_raw), name
    assert groups["(none)"] == sum(not r.get("components") for r in github_raw)


def test_github_bad_input_names_line_and_field(tmp_path):
    bad = tmp_path / "incidents.jsonl"
    good = '{"id": "1", "started_at": "2024-01-01T00:00:00Z", "resolved_at": null, "updates": []}'
    bad.write_text(good + "\nnot json\n" + good.replace('"2024-01-01T00:00:00Z"', '"yesterday"') + "\n[1]\n")
    with pytest.raises(IncidentError) as exc:
        read_github_status(bad)
    problems = [(p.line, p.path) for p in exc.value.problems]
    assert (2, "") in problems and (4, "") in problems
    bad.write_text(good + "\n" + good.replace('"2024-01-01T00:00:00Z"', '"yesterday"') + "\n")
    with pytest.raises(IncidentError) as exc:
        read_github_status(bad)
    assert [(p.line, p.path) for p in exc.value.problems] == [(2, "[1].started_at")]
    bad.write_text(good + "\n")
    one = read_github_status(bad)
    assert len(one) == 1 and np.isnan(one["ttr"].iloc[0])  # not resolved yet: unknown, not 0


# -- one table, formats detected --------------------------------------------------
def test_formats_detected_and_one_table(issre_dir, github_file):
    statuspage = ROOT / "data" / "samples" / "statuspage" / "githubstatus-incidents-2024-09-16.json"
    assert detect_format(issre_dir) == "issre"
    assert detect_format(issre_dir / "anomaly_collection" / "AWS" / "aws.json") == "issre"
    assert detect_format(github_file) == "github"
    assert detect_format(statuspage) == "statuspage"
    assert detect_format(ROOT / "data") == "incidents"
    both = combine([history_table(issre_dir), history_table(github_file), history_table(statuspage)])
    assert len(both) == 355 + 819 + 2 and list(both.columns) == HISTORY_COLUMNS
    assert both.attrs["import_report"]["records"] == len(both) + 1  # records read: one superseded report dropped
    assert both.attrs["import_report"]["ttd_missing"] == 285  # summed kind by kind
    with pytest.raises(IncidentError):
        history_table(github_file, format="issre")  # forced, wrong: refused, not misread


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """The `incident` command with `history` registered, as cli.main handles errors."""
    parser = argparse.ArgumentParser(prog="incident")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except IncidentError as exc:
        report_problems(exc)
        code = EXIT_BAD_INPUT
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json(issre_dir, github_file, capsys):
    code, out, _ = _run(["history", str(issre_dir), str(github_file), "--by", "provider", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["n"] == 355 + 819
    assert set(data["stages"]) == {"ttd", "tti", "ttm", "ttr"}
    for stage in data["stages"].values():
        assert {"n", "mean", "median", "p90", "median_ci_low", "median_ci_high"} <= set(stage)
    assert data["stages"]["tti"]["n"] == 15 and data["stages"]["ttd"]["n"] == 70
    assert set(data["within_targets"]) == {"ttd", "tti", "ttm"}
    assert data["import_report"]["misspelt_key_service_name"] == 7
    assert {name: g["n"] for name, g in data["groups"].items()} == {"AWS": 14, "Azure": 242, "GitHub": 819,
                                                                    "Google": 99}


def test_cli_text_and_bad_input(tmp_path, github_file, capsys):
    code, out, _ = _run(["history", str(github_file), "--by", "quarter"], capsys)
    assert code == 0 and "ttr" in out and "2024Q3" in out and "import report" in out
    bad = tmp_path / "x.json"
    bad.write_text('{"a-1": {"time": "soon", "duration": "long"}}')
    code, out, err = _run(["history", str(bad), "--format", "issre"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [f"error: {bad}:1: a-1.time: expected a date MM/DD/YYYY, got 'soon'",
                                f"error: {bad}:1: a-1.duration: expected minutes (a number ≥ 0) or null, got 'long'"]
    code, _, err = _run(["history", str(tmp_path / "missing")], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err


def test_project_copy_is_unchanged_and_keeps_its_licence():
    ours = ROOT / "data" / "history"
    assert (ours / "github-status" / "LICENSE").read_text().startswith("MIT License")
    for readme in (ours / "issre22" / "README.md", ours / "github-status" / "README.md"):
        assert "commit" in readme.read_text() and "nchanged" in readme.read_text()
    pairs = [(ours / "github-status" / "incidents.jsonl", SHARED / "github-status-2022-2026" / "incidents.jsonl"),
             (ours / "issre22" / "template.json", SHARED / "cloud-postmortems-issre22" / "template.json")]
    pairs += [(p, SHARED / "cloud-postmortems-issre22" / p.relative_to(ours / "issre22"))
              for p in sorted((ours / "issre22" / "anomaly_collection").rglob("*.json"))]
    if not SHARED.exists():
        pytest.skip("no shared data beside the project to compare with")
    assert len(pairs) == 37
    for copy, original in pairs:
        assert copy.read_bytes() == original.read_bytes(), copy
