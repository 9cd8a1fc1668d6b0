"""The same statistics on pandas and on DuckDB over Parquet: equal on the real data and on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import history_scale

from incident.analysis.history import BY_CHOICES, history_summary as pandas_summary, median_rank_interval, stage_stats
from incident.analysis.intervals import rank_fractions
from incident.analysis.history_engine import history_summary
from incident.core.errors import IncidentError
from incident.io.history_parquet import write_history
from incident.io.history_schema import combine


@pytest.fixture(scope="module")
def saved(issre, github, tmp_path_factory):
    both = combine([issre, github])
    return both, write_history(both, tmp_path_factory.mktemp("engine") / "history.parquet")


def flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def assert_same(a: dict, b: dict) -> None:
    fa, fb = flat(a), flat(b)
    assert set(fa) == set(fb)
    for key, value in fa.items():
        other = fb[key]
        if isinstance(value, float) and isinstance(other, float):
            assert math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9), key
        else:
            assert value == other, key


@pytest.mark.parametrize("by", [None, *BY_CHOICES])
def test_duckdb_equals_pandas_on_the_real_histories(saved, by):
    """n, mean, std, median, p90, within-target shares and the rank CI, per stage and per group."""
    table, path = saved
    sql = history_summary(path, by=by, engine="duckdb")
    assert_same(sql, history_summary(table, by=by, method="rank"))  # the pandas engine, on the table in memory
    coverage = ("maintenance", "stage_onsets")  # what the engines add to the library's summary
    assert_same({k: v for k, v in sql.items() if k not in coverage}, pandas_summary(table, by=by, method="rank"))
    assert_same(sql, history_summary(path, by=by, method="rank"))  # pandas reading the Parquet file
    if by == "provider":
        assert sql["groups"]["Azure"]["n"] == 242 and sql["groups"]["GitHub"]["stages"]["ttr"]["n"] == 790


def rank_ci(values) -> tuple[float, float]:
    """The rank CI of the median of `values` as the statistics compute it (DuckDB, on a table in memory)."""
    row = stage_stats(pd.DataFrame({"ttr": np.asarray(values, dtype=float)}), ["ttr"], method="rank").loc["ttr"]
    return row["median_ci_low"], row["median_ci_high"]


def test_rank_interval_by_hand():
    assert median_rank_interval(10) == (2, 9)  # P(B ≤ 1) = 11/1024 ≤ 2.5% < P(B ≤ 2)
    assert median_rank_interval(100) == (40, 61)  # the textbook interval for n = 100
    assert rank_ci(np.arange(10.0, 0.0, -1)) == (2.0, 9.0)  # the order statistics, whatever the row order
    assert rank_ci([5.0, np.nan] * 6 + [1.0] * 5) == (1.0, 5.0)
    low, high = rank_fractions(100)
    assert np.quantile(np.arange(100.0), [low, high]) == pytest.approx([39.0, 60.0])
    x = np.random.default_rng(2).lognormal(4, 1.5, 100_001)
    lo, hi = rank_ci(x)
    ordered = np.sort(x)
    assert (lo, hi) == (ordered[median_rank_interval(len(x))[0] - 1], ordered[median_rank_interval(len(x))[1] - 1])
    assert lo < np.median(x) < hi


def test_benchmark_generator_and_both_engines_agree(tmp_path):
    bench = history_scale()
    path = bench.write_synthetic(tmp_path / "synthetic.parquet", 10_000, chunk=3_000)
    table = bench.synthetic_history(10_000)
    assert len(table) == 10_000 and table["id"].is_unique
    assert 0.3 < table["ttd"].notna().mean() < 0.5 and table["ttr"].notna().mean() > 0.95
    assert set(table["provider"]) == set(bench.PROVIDERS) and table["start"].dt.year.between(2015, 2025).all()
    for by in (None, "provider", "component", "quarter"):
        sql = history_summary(path, by=by, engine="duckdb")
        assert_same(sql, history_summary(path, by=by, method="rank"))
    groups = history_summary(path, by="component", engine="duckdb")["groups"]
    assert len(groups) == 51  # 50 components and (none)


def test_bad_engine_options(saved, tmp_path, issre_dir, monkeypatch):
    table, path = saved
    monkeypatch.chdir(tmp_path)
    history_summary(path, by="component", engine="duckdb")
    with pytest.raises(ValueError, match="unknown engine"):
        history_summary(path, engine="presto")
    with pytest.raises(ValueError, match="bootstrap needs the values in memory"):
        history_summary(path, engine="duckdb", method="bootstrap")
    with pytest.raises(ValueError, match="write the table"):
        history_summary(table, engine="duckdb")
    with pytest.raises(IncidentError, match="read Parquet"):
        history_summary(issre_dir, engine="duckdb")
    with pytest.raises(ValueError, match="cannot group by"):
        history_summary(path, by="colour", engine="duckdb")
    assert list(tmp_path.iterdir()) == []  # DuckDB spilled nothing into the working folder
