"""Two incidents side by side: Weimob 2020 against GitLab 2017."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

import incident
from conftest import ROOT, run_cli
from incident.analysis.timeline import phase_table
from incident.analysis.compare import compare_table, level_hours, level_spans, phase_hours, ratio_text
from incident.plots import plot_compare

GITLAB = ROOT / "data" / "gitlab-2017"


@pytest.fixture(scope="module")
def gitlab():
    return incident.load(GITLAB)


def test_gitlab_incident_is_sourced(gitlab):
    assert gitlab.timezone == "Etc/UTC"
    urls = {s.id: s.url for s in gitlab.sources}
    assert urls["S1"] == "https://about.gitlab.com/blog/2017/02/10/postmortem-of-database-outage-of-january-31/"
    assert gitlab.sources_by_id["S1"].date == "2017-02-10"
    m = gitlab.milestones_by_id
    assert (m["replication-paged"].at, m["removal-stopped"].at, m["back-online"].at) == (
        "2017-01-31 22:00", "2017-01-31 23:27", "2017-02-01 18:14")
    assert m["wrong-directory-removed"].approximate and m["snapshot-taken"].approximate
    assert any("5,000 projects, 5,000 comments and 700" in f.text.replace("\n", " ") for f in gitlab.impact)


def test_compare_table_weimob_gitlab(weimob, gitlab):
    table = compare_table(weimob, gitlab)
    assert list(table.columns) == ["unit", "weimob-2020", "gitlab-2017", "ratio", "weimob-2020 low",
                                   "weimob-2020 high", "gitlab-2017 low", "gitlab-2017 high"]
    recover = table.loc["hours time to recover"]
    assert recover["weimob-2020 low"] == recover["weimob-2020 high"] == pytest.approx(169.0)  # 02-23 19:00 → 03-01 20:00
    assert recover["gitlab-2017 low"] == pytest.approx(24 + 14 / 60)  # 01-31 18:00 → 02-01 18:14 UTC
    assert recover["weimob-2020"] == "7 d 1 h" and recover["ratio"] == "7.0×"
    major = table.loc["hours in major outage"]
    assert major["gitlab-2017"] == "18 h 47 min"  # 23:27 → 18:14
    assert major["weimob-2020"] == "29–53 h"  # service back some time on 02-25: a range, no midpoint
    assert (major["weimob-2020 low"], major["weimob-2020 high"]) == (29.0, 53.0)
    assert major["ratio"] == "1.5–2.8×"  # 29 / 18.78 .. 53 / 18.78
    # partial outage from that same moment on 02-25 to 03-01 20:00: the two phases meet on one milestone
    partial = table.loc["hours in partial outage"]
    assert (partial["weimob-2020 low"], partial["weimob-2020 high"]) == (116.0, 140.0)
    assert partial["gitlab-2017"] == "none" and partial["ratio"] == "—"
    # the 26 hours from the data found to the planned go-live: no source reports them, and they stay counted
    assert table.loc["hours unknown (no source reports)", "weimob-2020 low"] == pytest.approx(26.0)
    assert table.loc["hours planned, not known to have happened", "weimob-2020"] == "11 h"
    total = table.loc["hours in total (each hour once)"]
    assert total["weimob-2020 low"] == pytest.approx(169 + 26 + 11)
    # S2: "we detected spammers hammering the database" at 18:00: GitLab's impact time was read from its detection
    # sentence, so its time to detect is not known, not 0 s (issue 22)
    detect = table.loc["hours time to detect"]
    assert detect["gitlab-2017"] == "not known" and detect["ratio"] == "—"
    assert np.isnan(detect["gitlab-2017 low"])
    provision = table.loc["provision (CNY)"]
    assert provision["weimob-2020"] == "150,000,000 CNY" and provision["gitlab-2017"] == "not known"
    assert provision["weimob-2020 low"] == 150_000_000
    assert list(table.index[:4]) == [f"hours time to {x}" for x in ("detect", "diagnose", "mitigate", "recover")]
    text = table[["weimob-2020", "gitlab-2017", "ratio"]]
    assert not text.isna().any().any() and "nan" not in text.to_string().lower()


@pytest.fixture(scope="module")
def github(tmp_path_factory):
    """The 37-minute GitHub incident of 2024-09-16 (Actions and Pages), imported as a user would."""
    out = tmp_path_factory.mktemp("gh")
    done = run_cli("import", "statuspage", "data/samples/statuspage/githubstatus-incidents-2024-09-16.json", "-o", out)
    assert done.returncode == 0, done.stderr
    return incident.load(out / "github-2024-09-16-69sb0f8lydp4")


def _worst_level_seconds(inc) -> dict[str, int]:
    """Seconds at each level by counting every second: the worst phase covering it wins."""
    import pandas as pd

    rank = ["major_outage", "partial_outage", "degraded_performance", "under_maintenance"]
    spans = [(pd.Timestamp(inc.when(p.start).earliest), pd.Timestamp(inc.when(p.end).earliest), p.impact)
             for p in inc.phases]
    t0, t1 = min(s for s, _, _ in spans), max(e for _, e, _ in spans)
    grid = pd.date_range(t0, t1, freq="1s")[:-1] + pd.Timedelta(milliseconds=500)
    counts = dict.fromkeys(rank, 0)
    for t in grid:
        levels = [lvl for s, e, lvl in spans if s <= t < e]
        if levels:
            counts[min(levels, key=rank.index)] += 1
    return counts


def test_union_of_a_statuspage_incident_is_its_real_span(github):
    # four phases of two components overlap: summed, they make 59 minutes of a 37-minute incident
    assert phase_table(github)["hours_max"].sum() > 0.95
    hours = level_hours(github)
    first = min(github.when(p.start).earliest for p in github.phases)
    last = max(github.when(p.end).earliest for p in github.phases)
    span = (last - first).total_seconds() / 3600
    assert hours.loc["total", "hours_min"] == pytest.approx(span) == pytest.approx(hours.loc["total", "hours_max"])
    assert 0.62 < span < 0.63  # 21:31:02.8 → 22:08:39.3
    assert hours.drop("total")["hours_min"].sum() == pytest.approx(span)
    counted = _worst_level_seconds(github)
    assert hours.loc["major_outage", "hours_min"] * 3600 == pytest.approx(counted["major_outage"], abs=2)
    assert hours.loc["partial_outage", "hours_min"] * 3600 == pytest.approx(counted["partial_outage"], abs=2)
    table = compare_table(github, incident.load(GITLAB))
    assert table.loc["hours in total (each hour once)", github.id] == "38 min"
    assert table.loc["hours in major outage", github.id] == "18 min"
    assert table.loc["hours in partial outage", github.id] == "20 min"
    # a detection 0.08 s after the start gives no ratio, nor does a side of zero
    assert "hours time to detect" not in table.index  # neither knows it (GitLab's would be 0 s, see issue 22)
    assert table.loc["hours in major outage", "ratio"] == "0.016×"


def test_ratios_are_guarded():
    assert ratio_text(2.0, 2.0, 1.0, 1.0) == "2.0×"
    assert ratio_text(0.08 / 3600, 0.08 / 3600, 1.0, 1.0) == "—"  # under a minute
    assert ratio_text(1.0, 1.0, 0.0, 5.0) == "—"  # a range that includes zero
    assert ratio_text(1.0, 1.0, float("nan"), float("nan")) == "—"
    assert ratio_text(29, 53, 10, 10) == "2.9–5.3×"


def test_level_spans_draw_the_union(weimob, gitlab):
    spans = level_spans(gitlab)
    assert set(spans["level"]) == {"major_outage", "degraded_performance"} and spans["sure"].all()
    spans = level_spans(weimob)
    sure = spans[spans["sure"]].assign(h=lambda d: d["end"] - d["start"]).groupby("level")["h"].sum()
    assert sure["major_outage"] == pytest.approx(29.0) and sure["partial_outage"] == pytest.approx(116.0)
    unsure = spans[~spans["sure"]]
    assert set(unsure["level"]) == {"major_outage", "partial_outage"}  # 02-25, the day service came back
    assert (unsure["end"] - unsure["start"]).tolist() == pytest.approx([24.0, 24.0])


def test_phase_hours_since_start(gitlab):
    ph = phase_hours(gitlab).set_index("phase")
    outage = ph.loc["GitLab.com down for database recovery"]
    assert outage["start_min"] == pytest.approx(5 + 27 / 60)
    assert outage["end_max"] == pytest.approx(24 + 14 / 60)


def test_plot_compare(weimob, gitlab):
    before = dict(mpl.rcParams)
    fig, ax = plt.subplots()
    assert plot_compare(weimob, gitlab, ax=ax) is ax
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:3] == ["weimob-2020", "major outage: 29–53 h", "partial outage: 4–6 d"]
    assert "unknown (no source reports): 26 h" in labels  # exact hours under two days keep their unit
    assert labels[-2:] == ["major outage: 18 h 47 min", "degraded performance: 5 h 27 min"]
    assert ax.get_xlabel() == "days since the incident's start"  # Weimob's week sets the unit
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith("level:weimob-2020:major_outage")]
    assert sum(b.get_width() for b in bars) == pytest.approx(53 / 24)  # 29 h sure, 24 h lighter
    unknown = [p for p in ax.patches if p.get_gid() == "level:weimob-2020:unknown"]
    assert unknown and all(p.get_hatch() for p in unknown)
    assert dict(mpl.rcParams) == before
    plt.close(fig)


def test_plot_compare_picks_minutes_for_short_incidents(github, gitlab):
    ax = plot_compare(github, gitlab)
    assert ax.get_xlabel() == "hours since the incident's start"
    plt.close(ax.figure)
    ax = plot_compare(github, github)
    assert ax.get_xlabel() == "minutes since the incident's start"
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith(f"level:{github.id}:")]
    assert sum(b.get_width() for b in bars) == pytest.approx(2 * level_hours(github).loc["total", "hours_min"] * 60)
    plt.close(ax.figure)


def test_cli_compare(tmp_path):
    out = tmp_path / "cmp.png"
    done = run_cli("compare", "data/weimob-2020", "data/gitlab-2017", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "hours time to recover" in done.stdout and out.stat().st_size > 10_000
    assert "1.5–2.8×" in done.stdout and "nan" not in done.stdout.lower()
    done = run_cli("compare", "data/weimob-2020", tmp_path / "missing")
    assert done.returncode == 2 and "no such file" in done.stderr
