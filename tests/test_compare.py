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
from incident.analysis.compare import compare_table, phase_hours
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
    assert list(table.columns) == ["unit", "weimob-2020", "gitlab-2017", "ratio", "weimob-2020 range", "gitlab-2017 range"]
    recover = table.loc["hours time to recover"]
    assert recover["weimob-2020"] == pytest.approx(206.0)  # 02-23 19:00 → 03-03 09:00 Beijing
    assert recover["gitlab-2017"] == pytest.approx(24 + 14 / 60)  # 01-31 18:00 → 02-01 18:14 UTC
    assert recover["ratio"] == pytest.approx(206 / (24 + 14 / 60))
    major = table.loc["hours in major outage"]
    assert major["gitlab-2017"] == pytest.approx(18 + 47 / 60)  # 23:27 → 18:14
    assert major["weimob-2020 range"] == "29–53 h"  # service back some time on 02-25
    assert major["weimob-2020"] == pytest.approx(41.0)
    assert table.loc["hours time to detect", "gitlab-2017"] == pytest.approx(4.0)
    assert np.isnan(table.loc["hours time to detect", "weimob-2020"])
    provision = table.loc["provision (CNY)"]
    assert provision["weimob-2020"] == 150_000_000 and np.isnan(provision["gitlab-2017"])
    assert list(table.index[:4]) == [f"hours time to {x}" for x in ("detect", "diagnose", "mitigate", "recover")]


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
    assert labels[0] == "weimob-2020: Full outage" and labels[-1] == "gitlab-2017: GitLab.com down for database recovery"
    assert ax.get_xlabel() == "hours since the incident's start"
    assert dict(mpl.rcParams) == before
    plt.close(fig)


def test_cli_compare(tmp_path):
    out = tmp_path / "cmp.png"
    done = run_cli("compare", "data/weimob-2020", "data/gitlab-2017", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "hours time to recover" in done.stdout and out.stat().st_size > 10_000
    done = run_cli("compare", "data/weimob-2020", tmp_path / "missing")
    assert done.returncode == 2 and "no such file" in done.stderr
