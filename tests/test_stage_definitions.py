"""ISSRE'22 stages: the paper's phases become minutes from the start, or stay unknown; contradictions are counted.

Li et al. define time to identify as the time taken "after detecting a fault"
and the duration as including detection, identification and mitigation: the
three are consecutive phases. The history table gives every stage in minutes
from the start. Checked here against an independent reading of the real
files with plain `json`.
"""

from __future__ import annotations

import argparse
import json
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from incident.cli.history import add_parser  # noqa: E402
from incident.io.issre import (  # noqa: E402
    CONTRADICTION, LABELLED_DEFINITIONS, read_issre, read_issre_stages, stages_from_start,
)
from incident.plots.history import plot_group_comparison, plot_stage_ecdf  # noqa: E402

KEYS = {"ttd": "detection time", "tti": "identification time", "ttm": "fix time", "ttr": "duration"}
NAN = math.nan


@pytest.fixture(scope="module")
def kept(issre_raw):
    """(id, labelled minutes) of the records the table keeps (the superseded preliminary report is not)."""
    return [(rid, {s: NAN if r[k] is None else float(r[k]) for s, k in KEYS.items()})
            for rid, r in issre_raw if "Preliminary RCA" not in r["title"]]


def test_the_labels_follow_the_papers_definitions():
    assert LABELLED_DEFINITIONS == {"ttd": "from_start", "tti": "phase", "ttm": "phase", "ttr": "from_start"}


def test_the_data_mix_readings_as_the_issue_found(issre_raw):
    """7 of 37 records put detection after identification, 10 of 42 identification after mitigation:
    impossible for times from the start, so the labels cannot all be read that way."""
    v = [{s: r[k] for s, k in KEYS.items()} for _, r in issre_raw]
    both = [x for x in v if x["ttd"] is not None and x["tti"] is not None]
    assert (len(both), sum(x["ttd"] > x["tti"] for x in both)) == (37, 7)
    both = [x for x in v if x["tti"] is not None and x["ttm"] is not None]
    assert (len(both), sum(x["tti"] > x["ttm"] for x in both)) == (42, 10)


def test_phases_summed_from_the_start_on_a_real_record(issre):
    """azure-20190702-1: 55 + 0 + 125 = 180, exactly its duration."""
    row = issre.set_index("id").loc["azure-20190702-1"]
    assert (row.ttd, row.tti, row.ttm, row.ttr) == (55, 55, 180, 180)
    assert stages_from_start(55.0, 0.0, 125.0, 180.0) == ({"ttd": 55, "tti": 55, "ttm": 180, "ttr": 180}, False)


def test_a_contradicting_record_keeps_only_what_every_reading_agrees_on(issre):
    """gcnet-18016 gives 33, 25, 36 and a duration of 41: the phases sum to 94 > 41."""
    start, contradicts = stages_from_start(33.0, 25.0, 36.0, 41.0)
    assert contradicts and start["ttd"] == 33 and start["ttr"] == 41
    assert math.isnan(start["tti"]) and math.isnan(start["ttm"])
    row = issre.set_index("id").loc["gcnet-18016"]
    assert row.ttd == 33 and np.isnan(row.tti) and np.isnan(row.ttm)
    # detected after the end: no reading fits, the time to detect is not kept either
    start, contradicts = stages_from_start(91.0, NAN, NAN, 50.0)
    assert contradicts and math.isnan(start["ttd"])


def test_a_phase_without_every_earlier_phase_is_no_time_from_the_start():
    start, contradicts = stages_from_start(NAN, 19.0, 30.0, 70.0)
    assert not contradicts and all(math.isnan(start[s]) for s in ("ttd", "tti", "ttm"))
    start, _ = stages_from_start(5.0, NAN, 30.0, 70.0)
    assert start["ttd"] == 5 and math.isnan(start["tti"]) and math.isnan(start["ttm"])


def test_every_stage_of_the_table_is_minutes_from_the_start(issre):
    """Times from one start are ordered: detected ≤ identified ≤ mitigated ≤ resolved, wherever both are known."""
    v = issre[["ttd", "tti", "ttm", "ttr"]]
    for a, b in (("ttd", "tti"), ("tti", "ttm"), ("ttm", "ttr"), ("ttd", "ttr"), ("ttd", "ttm"), ("tti", "ttr")):
        assert not (v[a] > v[b]).any(), (a, b)


def test_conversion_and_counts_match_an_independent_reading(issre, kept):
    report = issre.attrs["import_report"]
    table = issre.set_index("id")
    contradicting = tti_only = ttm_only = 0
    for rid, x in kept:
        phases = [x[s] for s in ("ttd", "tti", "ttm") if not math.isnan(x[s])]
        row = table.loc[rid]
        if not math.isnan(x["ttr"]) and sum(phases) > x["ttr"]:
            contradicting += 1
            assert np.isnan(row.tti) and np.isnan(row.ttm), rid
            continue
        np.testing.assert_equal([row.ttd, row.tti, row.ttm, row.ttr],
                                [x["ttd"], x["ttd"] + x["tti"], x["ttd"] + x["tti"] + x["ttm"], x["ttr"]])
        tti_only += not math.isnan(x["tti"]) and math.isnan(x["ttd"])
        ttm_only += not math.isnan(x["ttm"]) and (math.isnan(x["ttd"]) or math.isnan(x["tti"]))
    assert report[CONTRADICTION] == contradicting == 35
    assert (report["tti_phase_only"], report["ttm_phase_only"]) == (tti_only, ttm_only) == (4, 54)
    assert "stage_longer_than_duration" not in report  # one kind now: the phases exceed the duration


def test_stages_view_shows_labelled_and_converted_side_by_side(issre_dir, issre):
    view = read_issre_stages(issre_dir)
    assert view["id"].tolist() == issre["id"].tolist()
    np.testing.assert_array_equal(view[["ttd", "tti", "ttm", "ttr"]].to_numpy(),
                                  issre[["ttd", "tti", "ttm", "ttr"]].to_numpy())
    assert (view["reading"] == CONTRADICTION).sum() == issre.attrs["import_report"][CONTRADICTION]
    # what the table leaves unknown, the view still shows as labelled
    row = view.set_index("id").loc["gcnet-18016"]
    assert (row.detect, row.identify, row.mitigate, row.duration) == (33, 25, 36, 41)


def test_negative_labels_are_not_summed(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"x-1": {"time": "01/02/2020", "detection time": -5, "identification time": 10,
                                        "fix time": 20, "duration": 60}}))
    table = read_issre(path)
    assert np.isnan(table["ttd"].iloc[0]) and np.isnan(table["tti"].iloc[0]) and np.isnan(table["ttm"].iloc[0])
    report = table.attrs["import_report"]
    assert report["ttd_negative"] == 1 and report["tti_phase_only"] == report["ttm_phase_only"] == 1


def test_axes_say_minutes_from_the_start(issre):
    fig, axes = plt.subplots(2)
    try:
        assert "minutes from the start" in plot_stage_ecdf(issre, ax=axes[0]).get_xlabel()
        assert "minutes from the start" in plot_group_comparison(issre, "provider", ax=axes[1]).get_xlabel()
    finally:
        plt.close(fig)


def test_the_cli_shows_the_contradicting_records(issre_dir, capsys):
    parser = argparse.ArgumentParser(prog="incident")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["history", str(issre_dir)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "minutes from the start" in out
    line = next(line for line in out.splitlines() if CONTRADICTION in line)
    assert line.split()[-1] == "35"


def test_each_flagged_record_is_marked_in_the_table(issre_dir):
    """`stage_flag` marks the records the import report counts: a contradiction, or a phase without its start."""
    from incident.analysis.history import history_table

    table = history_table(issre_dir)
    report = table.attrs["import_report"]
    flags = table["stage_flag"].dropna().str.split(",").explode().value_counts()
    for kind in ("phases_exceed_duration", "tti_phase_only", "ttm_phase_only"):
        assert flags[kind] == report[kind], kind
    contradicting = table[table["stage_flag"] == "phases_exceed_duration"]
    assert contradicting[["tti", "ttm"]].isna().all().all() and contradicting["ttr"].notna().all()
    assert table.loc[table["stage_flag"].isna(), "ttr"].notna().sum() > 0
