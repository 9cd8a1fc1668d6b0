"""Stage statistics on the real histories, checked against numpy and plain counts."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import incident.analysis.history as hist
import incident.analysis.intervals as intervals
from incident.analysis.history import (
    MIN_N_FOR_CI, TARGETS, group_stats, history_summary, median_ci, quarterly_trend, stage_stats, within_targets,
)
from incident.io.history_schema import combine


@pytest.fixture(scope="module")
def both(issre, github):
    return combine([issre, github])


@pytest.fixture
def tiny():
    """Three incidents: one stage fully known, one partly, one never."""
    return pd.DataFrame({
        "id": ["a", "b", "c"], "provider": ["X", "X", "Y"], "components": [["api"], [], ["api", "web"]],
        "impact": ["minor", "major", "minor"], "root_cause_l1": ["internal causes", None, "external causes"],
        "root_cause_l2": ["software bugs", None, None], "mitigation": ["rollback", None, "restart"],
        "start": pd.to_datetime(["2024-01-05", "2024-07-01", "2024-07-09"], utc=True),
        "ttd": [0.5, np.nan, 3.0], "tti": [np.nan] * 3, "ttm": [4.0, 20.0, 8.0], "ttr": [30.0, 600.0, 45.0],
    })


def test_stage_stats_match_numpy(issre):
    stats = stage_stats(issre)
    for stage in ("ttd", "tti", "ttm", "ttr"):
        known = issre[stage].dropna().to_numpy()
        row = stats.loc[stage]
        assert row["N"] == 355 and row["n"] == len(known)
        assert row["median"] == np.median(known)
        assert row["p90"] == pytest.approx(np.percentile(known, 90))
        assert row["mean"] == pytest.approx(known.mean()) and row["std"] == pytest.approx(known.std(ddof=1))
        assert row["median_ci_low"] <= row["median"] <= row["median_ci_high"]
    assert stats.loc["tti", "n"] == 15 and stats.loc["ttd", "median"] == 8.0


def test_median_ci_seeded_and_reproducible(issre):
    ttm = issre["ttm"]
    first, again = median_ci(ttm, seed=3), median_ci(ttm, seed=3)
    assert first == again
    assert first[0] <= ttm.median() <= first[1]
    assert median_ci(ttm, seed=4) != first or median_ci(ttm, seed=5) != first  # the seed matters
    assert median_ci([]) == (np.nan, np.nan) or all(np.isnan(median_ci([])))
    wide, narrow = median_ci(ttm, level=0.99), median_ci(ttm, level=0.5)
    assert wide[0] <= narrow[0] <= narrow[1] <= wide[1]


def test_median_ci_large_n_rank_draw_agrees_with_resampling(monkeypatch):
    """Above EXACT_ABOVE the median's rank is drawn from its exact law: same interval as resampling."""
    x = np.random.default_rng(1).lognormal(4, 1.5, size=20_001)
    rank_draw = median_ci(x, n_boot=4000)
    monkeypatch.setattr(intervals, "EXACT_ABOVE", 10**9)
    resampled = median_ci(x, n_boot=4000)
    spread = resampled[1] - resampled[0]
    assert rank_draw[0] == pytest.approx(resampled[0], abs=0.1 * spread)
    assert rank_draw[1] == pytest.approx(resampled[1], abs=0.1 * spread)
    assert rank_draw[0] < np.median(x) < rank_draw[1]


def test_no_ci_below_threshold(issre):
    aws = issre[issre["provider"] == "AWS"]
    stats = stage_stats(aws)
    assert stats.loc["ttd", "n"] < MIN_N_FOR_CI and np.isnan(stats.loc["ttd", "median_ci_low"])
    assert stats.loc["ttr", "n"] == 14 and not np.isnan(stats.loc["ttr", "median_ci_low"])


def test_within_targets_counts(both):
    table = within_targets(both)
    for stage, limit in TARGETS.items():
        known = both[stage].dropna()
        assert table.loc[stage, "n"] == len(known)
        assert table.loc[stage, "within"] == (known <= limit).sum()
        assert table.loc[stage, "share"] == pytest.approx((known <= limit).mean())
    assert table.loc["ttd", "n"] == 70  # GitHub gives no ttd: only ISSRE records count


def test_quarterly_trend_counts_every_record(github, issre):
    trend = quarterly_trend(github)
    assert trend["records"].sum() == 819
    assert trend["n"].sum() == github["ttr"].notna().sum()
    quarters = pd.PeriodIndex(trend["quarter"], freq="Q")
    assert (quarters[1:] - quarters[:-1] == 1 * quarters.freq).all()  # no quarter skipped
    assert trend["quarter"].iloc[0] == "2022Q1" and trend["quarter"].iloc[-1] == "2026Q3"
    has_ci = trend["median_ci_low"].notna()
    assert (trend.loc[has_ci, "n"] >= MIN_N_FOR_CI).all() and (trend.loc[~has_ci, "n"] < MIN_N_FOR_CI).all()
    q = github["start"].dt.tz_localize(None).dt.to_period("Q").astype(str)
    row = trend.set_index("quarter").loc["2024Q3"]
    assert row["median"] == github.loc[q == "2024Q3", "ttr"].median()
    assert quarterly_trend(issre, "ttm")["records"].sum() == 355


def test_group_stats_cover_every_record(issre, github):
    by_provider = group_stats(issre, "provider")
    assert by_provider.query("stage == 'ttr'").set_index("group")["N"].to_dict() == {"AWS": 14, "Azure": 242,
                                                                                   "Google": 99}
    google = by_provider.query("group == 'Google' and stage == 'ttm'").iloc[0]
    known = issre.loc[issre["provider"] == "Google", "ttm"].dropna()
    assert (google["n"], google["median"]) == (len(known), known.median())
    assert google["mean"] == pytest.approx(known.mean()) and google["std"] == pytest.approx(known.std())
    for by in ("root-cause", "root-cause-l1", "impact", "quarter", "detection"):
        groups = group_stats(issre, by).query("stage == 'ttr'")
        assert groups["N"].sum() == 355, by
    # a record is in the group of each of its mitigation actions (tests/test_mitigation_groups.py)
    groups = group_stats(issre, "mitigation").query("stage == 'ttr'")
    assert groups["N"].sum() == sum(len(m.split("+")) if m else 1 for m in issre["mitigation"]) > 355
    assert "internal causes / software bugs" in set(group_stats(issre, "root-cause")["group"])
    components = group_stats(github, "component").query("stage == 'ttr'").set_index("group")
    names = {c for cs in github["components"] for c in cs}
    assert set(components.index) == names | {"(none)"}
    assert components.loc["Actions", "N"] == sum("Actions" in cs for cs in github["components"])
    with pytest.raises(ValueError, match="cannot group by"):
        group_stats(issre, "colour")


def test_summary_is_json_without_nan(both):
    data = history_summary(both, by="impact")
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["stages"]["ttd"]["n"] == 70
    assert sum(g["n"] for g in data["groups"].values()) == len(both)


def test_tiny_history(tiny):
    stats = stage_stats(tiny)
    assert stats.loc["ttd", "n"] == 2 and stats.loc["ttd", "median"] == 1.75
    assert stats.loc["tti", "n"] == 0 and np.isnan(stats.loc["tti", "median"])
    assert np.isnan(stats.loc["ttr", "median_ci_low"])  # 3 < MIN_N_FOR_CI
    assert within_targets(tiny).loc["ttm", "within"] == 2
    assert list(quarterly_trend(tiny)["records"]) == [1, 0, 2]  # 2024Q1, an empty Q2, Q3
    assert set(group_stats(tiny, "component")["group"]) == {"api", "web", "(none)"}
    json.dumps(history_summary(tiny, by="root-cause"), allow_nan=False)


def test_figures_real_and_tiny(both, tiny, tmp_path):
    from incident.plots.history import plot_group_comparison, plot_quarterly_trend, plot_stage_ecdf

    for table in (both, tiny):
        fig, axes = plt.subplots(1, 3, figsize=(18, 5))
        assert plot_stage_ecdf(table, ax=axes[0]) is axes[0]
        assert plot_group_comparison(table, "provider", ax=axes[1]) is axes[1]
        assert plot_quarterly_trend(table, ax=axes[2]) is axes[2]
        fig.canvas.draw()
        labels = [t.get_text() for t in axes[0].get_xticklabels()]
        assert labels and not any("$" in t or "mathdefault" in t for t in labels)
        fig.savefig(tmp_path / "history.png")
        plt.close(fig)


def test_a_group_of_one_is_drawn_and_counts_are_whole(issre):
    from incident.plots.history import plot_quarterly_trend, plot_stage_ecdf

    three = issre.head(3)
    ax = plot_stage_ecdf(three)
    drawn = [l for l in ax.lines if " (n=" in l.get_label()]
    for line in drawn:
        ys = np.asarray(line.get_ydata(), dtype=float)
        assert ys[0] == 0 and ys[-1] == 1  # a step from 0 to 1 even for a single value
    known = {stage: int(three[stage].notna().sum()) for stage in ("ttd", "tti", "ttm", "ttr")}
    assert len(drawn) == sum(1 for n in known.values() if n)
    plt.close(ax.figure)
    ax = plot_quarterly_trend(three)
    counts = ax.figure.axes[1]
    ticks = counts.get_yticks()
    assert np.allclose(ticks, np.round(ticks))  # whole incidents, never 0.25 steps
    plt.close(ax.figure)


def test_a_large_history_reports_the_rank_interval():
    """Above BOOTSTRAP_MAX_RECORDS records the report's CI is the rank interval, and its prose says so."""
    import pandas as pd

    from incident.analysis.history import BOOTSTRAP_MAX_RECORDS, ci_for
    from incident.report.history import prose

    small, large = pd.DataFrame(index=range(BOOTSTRAP_MAX_RECORDS)), pd.DataFrame(index=range(BOOTSTRAP_MAX_RECORDS + 1))
    assert ci_for(small) == {} and ci_for(large) == {"method": "rank"}
    assert "percentile bootstrap" in prose("stages", **ci_for(small))
    text = prose("stages", **ci_for(large))
    assert "order-statistic interval" in text and "percentile bootstrap" not in text and f"{BOOTSTRAP_MAX_RECORDS:,}" in text


def test_the_readme_states_the_rank_threshold():
    from conftest import ROOT
    from incident.analysis.history import BOOTSTRAP_MAX_RECORDS

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"above {BOOTSTRAP_MAX_RECORDS:,} incidents, gives the median's rank interval" in readme
    assert f"is chosen by itself above {BOOTSTRAP_MAX_RECORDS:,} rows" in readme  # `choose_engine`'s threshold


def test_the_docs_state_both_intervals_of_the_pooled_ttr(both):
    """docs/history.md quotes the bootstrap and the rank interval of ttr over both real histories."""
    from conftest import ROOT

    boot = stage_stats(both, ["ttr"]).loc["ttr"]
    rank = stage_stats(both, ["ttr"], method="rank").loc["ttr"]
    quoted = (f"(ttr, both histories: {rank['median_ci_low']:.0f}–{rank['median_ci_high']:.0f} against "
              f"{boot['median_ci_low']:.0f}–{boot['median_ci_high']:.0f}")  # the rank interval, then the bootstrap
    docs = " ".join((ROOT / "docs" / "history.md").read_text(encoding="utf-8").split())
    assert quoted in docs
