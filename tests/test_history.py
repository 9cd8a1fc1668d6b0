"""Incident history: one row per incident from any source; statistics checked by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

import incident
from conftest import ROOT
from incident.core.errors import IncidentError
from incident.analysis.history import HISTORY_COLUMNS, duration_stats, ecdf, history_table, share_over
from incident.plots import plot_duration_ecdf, plot_duration_histogram
from incident.io.statuspage import import_statuspage, read_feed

SAMPLES = ROOT / "data" / "samples" / "statuspage"
GITHUB = SAMPLES / "githubstatus-incidents-2024-09-16.json"
DISCORD = SAMPLES / "discordstatus-incidents-2022-02-15.json"


def test_feed_history_one_row_per_incident():
    table = history_table(GITHUB)
    assert list(table.columns) == HISTORY_COLUMNS
    row = table.set_index("id").loc["github-2024-09-16-69sb0f8lydp4"]
    assert (row["page"], row["impact"], row["page_impact"]) == ("GitHub", "major_outage", "major")
    # the page dated the incident by its first post (85 ms apart): detection is not known from the feed
    assert pd.isna(row["detected"]) and np.isnan(row["hours_to_detect"])
    assert row["resolved"] == pd.Timestamp("2024-09-16T22:08:39.333Z")
    assert (row["resolved"] - row["start"]).total_seconds() / 60 == pytest.approx(37.610, abs=0.001)  # from started_at
    assert round(row["hours_to_resolve"] * 60, 1) == 37.6
    assert np.isnan(row["hours_to_mitigate"])  # no monitoring update, monitoring_at null


def test_discord_mitigation_from_monitoring_at():
    row = history_table(DISCORD).iloc[0]
    assert row["mitigated"] == pd.Timestamp("2022-02-15T21:21:55.183Z")
    assert row["hours_to_mitigate"] * 60 == pytest.approx(7.624, abs=0.001)
    assert row["impact"] == "degraded_performance"


@pytest.mark.parametrize("feed", [GITHUB, DISCORD], ids=["github", "discord"])
def test_bulk_path_matches_imported_incidents(tmp_path, feed):
    """The DataFrame path and the one-model-per-incident path agree, column for column.

    Except where they must differ: `source`, and `ttd`, which a feed leaves
    unknown (its first 'investigating' post is not detection) while imported
    incident files have that post as their detection milestone.
    """
    bulk = history_table(feed)
    assert history_table(read_feed(feed)).equals(bulk)
    import_statuspage(feed, tmp_path)
    from_files = history_table(tmp_path)
    differ = ["page_impact", "source", "ttd"]
    pd.testing.assert_frame_equal(
        from_files.drop(columns=differ).sort_values("id").reset_index(drop=True),
        bulk.drop(columns=differ).sort_values("id").reset_index(drop=True),
    )
    assert bulk["ttd"].isna().all() and set(bulk["source"]) == {"statuspage"}


def test_history_of_incident_files():
    table = history_table([incident.load(ROOT / "data" / "weimob-2020"), incident.load(ROOT / "data" / "gitlab-2017")])
    weimob, gitlab = table.set_index("id").loc[["weimob-2020", "gitlab-2017"]].itertuples()
    assert weimob.start == pd.Timestamp("2020-02-23 11:00", tz="UTC")  # services fail ~19:00 Beijing
    assert weimob.hours_to_resolve == pytest.approx(169.0)  # data found 2020-03-01 20:00 (the go-live was planned)
    assert not weimob.exact  # 'new users back' is known to the day only
    assert gitlab.hours_to_resolve == pytest.approx(24 + 14 / 60)  # 18:00 → 18:14 next day
    assert gitlab.exact and gitlab.impact == "major_outage"


def test_history_of_a_folder_and_bad_sources(tmp_path):
    import_statuspage(GITHUB, tmp_path)
    assert len(history_table(tmp_path)) == 2
    with pytest.raises(IncidentError, match="not a folder of incidents"):
        history_table(tmp_path / "nothing.csv")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(IncidentError, match="not a folder of incidents"):
        history_table(tmp_path / "notes.csv")


@pytest.fixture
def small():
    """Seven incidents whose statistics are easy to work out by hand."""
    return pd.DataFrame(
        {
            "impact": ["minor"] * 4 + ["major"] * 3,
            "hours_to_resolve": [1.0, 2.0, 3.0, 10.0, 4.0, 8.0, np.nan],
        }
    )


def test_duration_stats_by_hand(small):
    stats = duration_stats(small, by="impact")
    assert list(stats.index) == ["major", "minor", "all"]
    minor = stats.loc["minor"]
    assert minor["count"] == 4
    assert minor["median"] == 2.5  # (2 + 3) / 2
    assert minor["p75"] == pytest.approx(4.75)  # linear: 3 + 0.25 × (10 − 3)
    assert minor["p90"] == pytest.approx(7.9)  # 3 + 0.7 × 7
    assert minor["max"] == 10 and minor["mean"] == 4.0
    assert minor["mean_to_median"] == pytest.approx(1.6)
    assert stats.loc["major", "count"] == 2  # the unknown duration is left out
    everything = stats.loc["all"]
    assert everything["count"] == 6 and everything["median"] == 3.5 and everything["mean"] == pytest.approx(28 / 6)


def test_share_over_and_ecdf_by_hand(small):
    shares = share_over(small, [2, 3.5, 10])
    assert list(shares.round(4)) == [round(4 / 6, 4), 0.5, 0.0]  # strictly over
    curve = ecdf(small["hours_to_resolve"])
    assert list(curve["hours"]) == [1, 2, 3, 4, 8, 10]
    assert list(curve["share"].round(4)) == [round(k / 6, 4) for k in range(1, 7)]
    assert list(ecdf([2, 2, 5])["share"].round(4)) == [round(2 / 3, 4), 1.0]


def test_plots_draw_on_given_axes_and_keep_rc(small):
    before = dict(mpl.rcParams)
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_duration_ecdf(small, ax=left) is left
    assert plot_duration_histogram(small, ax=right) is right
    assert left.get_xscale() == "log" and right.get_xscale() == "log"
    assert len(left.get_lines()) >= 2
    assert dict(mpl.rcParams) == before
    plt.close(fig)
    ax = plot_duration_ecdf(history_table(GITHUB), by=None)
    assert ax.get_legend_handles_labels()[1] == ["all (n=2)"]
    plt.close(ax.figure)


def test_notebook_runs_from_the_repo_root():
    """tests/test_notebooks.py runs it from notebooks/; users also start Jupyter at the root."""
    path = ROOT / "notebooks" / "04-incident-history.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
