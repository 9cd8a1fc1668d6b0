"""GitHub's status history read as one meaning of each number (issue 24): what `duration_minutes` is,
how retroactive incidents are marked, maintenance windows in or out, and `ttm` known only from a date on.

Every expected figure is counted here from the raw records, independently of the importer.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from incident.analysis.history import group_stats, quarterly_trend, stage_onsets
from incident.analysis.history_coverage import exclude_maintenance, from_first_known, maintenance_note, quarter
from incident.analysis.history_engine import history_summary
from incident.io.history_parquet import write_history


def minutes(a: str, b: str) -> float:
    return (pd.Timestamp(b) - pd.Timestamp(a)).total_seconds() / 60


def test_duration_minutes_is_the_postmortem_window_else_the_page_window(github_raw):
    """What the file's `duration_minutes` means, checked on every record, so the importer's counts are right."""
    for r in github_raw:
        window = r.get("impact_window")
        start, end = (window["start_at"], window["end_at"]) if window else (r["started_at"], r["resolved_at"])
        assert r["duration_minutes"] == round(minutes(start, end)), r["id"]
        if window:
            assert window["source"] == "postmortem" and window["context"] in " ".join(u["message"] for u in r["updates"])


def test_retroactive_incidents_and_disagreements_counted_right(github, github_raw):
    report = github.attrs["import_report"]
    retro = [r["status_sequence"] == ["Resolved"] for r in github_raw]
    # how the feed marks them: one post, already 'Resolved', dated by that post
    for r, is_retro in zip(github_raw, retro):
        assert is_retro == all(u["status"] == "Resolved" for u in r["updates"])
        if is_retro:
            assert r["started_at"] == r["resolved_at"]
    page = np.array([minutes(r["started_at"], r["resolved_at"]) for r in github_raw])
    stated = np.array([r["duration_minutes"] for r in github_raw], dtype=float)
    in_text = [is_retro and r["duration_minutes"] > 0 for r, is_retro in zip(github_raw, retro)]
    assert report["retroactive_without_duration"] == sum(retro)
    assert report["retroactive_window_in_text_only"] == sum(in_text) > 0
    assert all(r.get("impact_window") for r, t in zip(github_raw, in_text) if t)  # the window is the text's
    # a retroactive record whose text states a window disagrees with the page, which gives none
    disagree = int((np.abs(stated - page) >= 1).sum())
    assert report["duration_minutes_disagrees"] == disagree
    assert disagree == sum(bool(r.get("impact_window")) and abs(r["duration_minutes"] - p) >= 1
                           for r, p in zip(github_raw, page))
    assert github.loc[np.array(retro), "ttr"].isna().all()  # the page gives them no duration: never 0, never the text's


def test_maintenance_windows_in_by_default_and_out_on_request(github, github_raw):
    maintenance = [r["impact"] == "maintenance" for r in github_raw]
    out = exclude_maintenance(github)
    assert len(out) == len(github) - sum(maintenance) and (out["impact"] != "maintenance").all()
    assert out.attrs["import_report"]["maintenance_excluded"] == sum(maintenance)
    assert maintenance_note(github) == {"included": True, "records": sum(maintenance)}
    assert maintenance_note(out) == {"included": False, "records": sum(maintenance)}
    # the windows run from the announcement ('Scheduled') to 'Completed': days, and they move the mean
    first = [r["updates"][0]["status"] for r, m in zip(github_raw, maintenance) if m]
    assert set(first) == {"Scheduled"}
    kept = [minutes(r["started_at"], r["resolved_at"]) for r, m, t in zip(github_raw, maintenance, github["ttr"])
            if not m and not np.isnan(t)]
    summary = history_summary(github, exclude_maintenance=True)
    assert summary["stages"]["ttr"]["mean"] == pytest.approx(np.mean(kept))
    assert summary["maintenance"] == {"included": False, "records": sum(maintenance)}
    assert history_summary(github)["stages"]["ttr"]["mean"] > summary["stages"]["ttr"]["mean"]


def test_cli_says_whether_maintenance_windows_are_in(github, github_file, github_raw, tmp_path):
    k = sum(r["impact"] == "maintenance" for r in github_raw)
    text = run_cli("history", github_file)
    assert text.returncode == 0 and f"scheduled maintenance windows: {k:,} included" in text.stdout
    out = run_cli("history", github_file, "--exclude-maintenance", "--json")
    data = json.loads(out.stdout)
    assert data["maintenance"] == {"included": False, "records": k}
    assert data["n"] == len(github_raw) - k and data["import_report"]["maintenance_excluded"] == k
    # the DuckDB engine says the same over a saved history
    saved = write_history(github, tmp_path / "g.parquet")
    sql = json.loads(run_cli("history", saved, "--engine", "duckdb", "--exclude-maintenance", "--json").stdout)
    assert sql["maintenance"] == data["maintenance"] and sql["n"] == data["n"]
    assert sql["stages"]["ttr"]["mean"] == pytest.approx(data["stages"]["ttr"]["mean"])


def test_ttm_known_only_from_the_first_monitoring_post(github, github_raw):
    monitoring = [r for r in github_raw if any(u["status"] == "Monitoring" for u in r["updates"])]
    since = min(pd.Timestamp(r["started_at"]) for r in monitoring)
    onsets = stage_onsets(github)
    assert list(onsets["stage"]) == ["ttm"]  # ttr is known from the first record on; ttd and tti never
    row = onsets.iloc[0]
    assert row["source"] == "github-status" and row["since"] == since
    assert row["before"] == sum(pd.Timestamp(r["started_at"]) < since for r in github_raw)
    assert row["known"] == len(monitoring) and row["after"] == len(github_raw) - row["before"]
    # its trend starts in that quarter
    trend = from_first_known(quarterly_trend(github, "ttm"))
    assert trend["quarter"].iloc[0] == str(since.tz_localize(None).to_period("Q"))
    assert trend["n"].sum() == len(monitoring)


def test_cli_notes_when_ttm_starts(github_file, github):
    row = stage_onsets(github).iloc[0]
    done = run_cli("history", github_file)
    assert f"note: ttm of github-status is known only from {row['since']:%Y-%m-%d} on" in done.stdout
    assert f"none of the {row['before']:,} records before gives it, {row['known']:,} of the {row['after']:,}" \
           in done.stdout
    data = json.loads(run_cli("history", github_file, "--json").stdout)
    assert data["stage_onsets"] == [{"source": "github-status", "stage": "ttm", "since": f"{row['since']:%Y-%m-%d}",
                                     "before": int(row["before"]), "after": int(row["after"]),
                                     "known": int(row["known"])}]


def test_by_year(github, github_file):
    years = github["start"].dt.year.astype(str)
    groups = group_stats(github, "year")
    ttr = groups[groups["stage"] == "ttr"].set_index("group")
    assert list(ttr.index) == sorted(set(years))
    for year, row in ttr.iterrows():
        part = github[years == year]
        assert row["N"] == len(part) and row["median"] == pytest.approx(part["ttr"].median())
    data = json.loads(run_cli("history", github_file, "--by", "year", "--json").stdout)
    assert {k: v["n"] for k, v in data["groups"].items()} == years.value_counts().sort_index().to_dict()
    assert sorted(quarter(github["start"]).str[:4].unique()) == sorted(data["groups"])


def test_a_stage_often_unknown_is_no_late_onset():
    """A run of early records without a stage counts as a late start only where it could not be chance."""
    from incident.analysis.history_coverage import ONSET_CHANCE, is_onset

    assert is_onset(681, 138, 74)  # GitHub's ttm: 681 records before the first 'Monitoring', then 74 of 138
    assert not is_onset(16, 9_999_984, 2_000_587)  # known for 1 record in 5: 16 without it is chance (0.8 ** 16)
    assert 0.8 ** 16 > ONSET_CHANCE and not is_onset(9, 100, 100)  # fewer than ONSET_MIN_BEFORE: never
