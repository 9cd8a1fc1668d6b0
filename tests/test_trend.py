"""The quarterly trend figure and tables (issue 24): the CI band only over quarters that have a CI, the
line broken and marked where its source changes, the trend from the first quarter where the stage is
known, and the report's tables in full."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from incident.analysis.history import MIN_N_FOR_CI, combine, group_stats, quarterly_trend
from incident.analysis.history_coverage import from_first_known, quarter_sources, source_changes
from incident.io.history_schema import history_frame, shown_stages
from incident.plots.history import plot_quarterly_trend
from incident.report import history as report

# a short history: (quarter's first day, incidents, source); 2024Q2 and 2025Q2 empty, 2024Q3 below MIN_N_FOR_CI
QUARTERS = [("2024-01-01", 12, "pagerduty"), ("2024-07-01", 3, "pagerduty"), ("2024-10-01", 15, "statuspage"),
            ("2025-01-01", 11, "statuspage"), ("2025-07-01", 12, "statuspage")]


@pytest.fixture
def short():
    rng = np.random.default_rng(24)
    rows = [(pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=k), rng.lognormal(4, 1), src)
            for day, n, src in QUARTERS for k in range(n)]
    return history_frame({"id": [str(i) for i in range(len(rows))], "start": [r[0] for r in rows],
                          "ttr": [r[1] for r in rows], "source": [r[2] for r in rows]}, len(rows))


def band_spans(ax) -> list[tuple[float, float]]:
    """The x extent of each CI band piece: filled polygons and lone-quarter bars."""
    spans = []
    for c in ax.collections:
        if isinstance(c, PolyCollection):
            for path in c.get_paths():
                xs = path.vertices[:, 0]
                spans.append((xs.min(), xs.max()))
        elif isinstance(c, LineCollection):
            for seg in c.get_segments():
                spans.append((seg[:, 0].min(), seg[:, 0].max()))
    return sorted(spans)


def runs(has: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True."""
    out, start = [], None
    for i, v in enumerate(list(has) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def test_band_only_over_quarters_with_a_ci(short):
    trend = quarterly_trend(short)
    has = trend["median_ci_low"].notna().to_numpy()
    assert list(trend["n"] >= MIN_N_FOR_CI) == list(has) and not has.all()  # there are gaps to break at
    ax = plot_quarterly_trend(short)
    assert band_spans(ax) == [(float(a), float(b)) for a, b in runs(has)]
    plt.close(ax.figure)


def test_band_on_the_real_history_breaks_at_every_gap(issre, github):
    both = combine([issre, github])
    trend = from_first_known(quarterly_trend(both))
    has = trend["median_ci_low"].notna().to_numpy()
    ax = plot_quarterly_trend(both)
    assert band_spans(ax) == [(float(a), float(b)) for a, b in runs(has)]
    no_ci = set(np.flatnonzero(~has))
    for lo, hi in band_spans(ax):
        assert not any(lo <= q <= hi for q in no_ci)  # never drawn across a quarter without a CI
    plt.close(ax.figure)


def test_a_change_of_source_is_marked_and_breaks_the_line(issre, github, short):
    for table in (combine([issre, github]), short):
        trend = from_first_known(quarterly_trend(table))
        sources = quarter_sources(table)
        changes = source_changes(trend, sources)
        # computed independently: the first quarter of each new set of sources
        labelled = [(i, sources[q]) for i, q in enumerate(trend["quarter"]) if q in sources.index]
        expected = [(i, s) for (i, s), (_, prev) in zip(labelled[1:], labelled[:-1]) if s != prev]
        assert changes == expected and len(changes) == 1
        ax = plot_quarterly_trend(table)
        marks = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert [line.get_xdata()[0] for line in marks] == [pos - 0.5 for pos, _ in changes]
        assert any(f"from here: {changes[0][1]}" == t.get_text() for t in ax.texts)
        for line in ax.lines:
            if line.get_linestyle() == "-":  # a median piece: all on one side of the change
                xs = np.asarray(line.get_xdata(), dtype=float)
                assert (xs < changes[0][0]).all() or (xs >= changes[0][0]).all()
        plt.close(ax.figure)


def test_one_source_is_not_marked(github):
    ax = plot_quarterly_trend(github)
    assert not [line for line in ax.lines if line.get_linestyle() == "--"] and not ax.texts
    plt.close(ax.figure)


def test_trend_starts_where_the_stage_is_known(github):
    full = quarterly_trend(github, "ttm")
    first = full.index[full["n"] > 0][0]
    assert first > 0  # years of quarters without a ttm
    ax = plot_quarterly_trend(github, "ttm")
    assert ax.get_xticklabels()[0].get_text() == full["quarter"][first]
    assert f"from {full['quarter'][first]}" in ax.get_title(loc="left")
    plt.close(ax.figure)
    shown = report.trend(github, "ttm")
    assert list(shown["quarter"]) == list(full["quarter"][first:])  # every quarter from there: none cut
    assert report.trend(github, "ttr")["records"].sum() == len(github)


def test_report_tables_show_everything(issre, github):
    both = combine([issre, github])
    assert len(report.trend(both, "ttr")) == len(quarterly_trend(both, "ttr"))  # all quarters, not the last 12
    for by in ("provider", "quarter"):
        table = report.group(both, by)
        groups = group_stats(both, by)
        assert len(table) == len(groups)
        assert list(table["stage"].unique()) == [report.stage_label(s) for s in shown_stages(both)]
    assert report.trend_stages(both) == ["ttr", "ttm"]
    assert report.trend_stages(github.assign(ttm=np.nan)) == ["ttr"]


def test_coverage_prose_says_maintenance_and_onsets(github):
    view = report.coverage(github)
    k = int((github["impact"] == "maintenance").sum())
    assert view["maintenance"].startswith(f"{k} included")
    html = str(report.prose("coverage", **view))
    o = view["onsets"][0]
    assert f"Time to mitigate (ttm) of github-status from {o['since']} ({o['known']} of the {o['after']}" in html
    hostile = github.assign(source="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in str(report.prose("coverage", **report.coverage(hostile)))  # data, escaped
