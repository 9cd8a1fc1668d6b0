"""The history statistics written once in ibis: on DuckDB over files, in memory, and on Spark (local mode).

The reference is plain pandas and numpy (`reference_stats`, median CI by
rank). DuckDB's `quantile_cont` and Spark's exact `percentile` interpolate as
numpy does, so every figure agrees within float rounding on every engine;
Spark's `approx_percentile` is checked against its documented rank error. The
Spark tests start one local JVM for the module (skipped where pyspark or java
is missing).
"""

from __future__ import annotations

import math
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from conftest import history_scale
from reference_stats import reference, reference_stages
from incident.analysis import history as pandas_stats
from incident.analysis import history_stats as ib
from incident.analysis.history_engine import history_summary
from incident.core.errors import IncidentError
from incident.io.history_parquet import write_history
from incident.io.history_schema import combine

pytestmark = [  # pyspark 4.3 and ibis 12 about pandas 3: their concern, not a result of ours
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning"),
]
FLOAT = {"check_dtype": False, "rtol": 1e-9, "atol": 1e-9}
SPARK_GROUPS = ("provider", "component", "mitigation", "quarter")  # a list key, a split key, a time key


@pytest.fixture(scope="module")
def histories(issre_dir, github_file, tmp_path_factory):
    """The real histories as pandas (read by `history_table`) and as Parquet files: each, and both in one."""
    folder = tmp_path_factory.mktemp("ibis")
    issre = pandas_stats.history_table(issre_dir)
    github = pandas_stats.history_table(github_file)
    both = combine([issre, github])
    parts = [write_history(issre, folder / "issre.parquet"), write_history(github, folder / "github.parquet")]
    return both, write_history(both, folder / "both.parquet"), parts


@pytest.fixture(scope="module")
def duck(histories):
    return ib.history_table(histories[1], ib.connect("duckdb", memory_limit="500MB"))


def flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def assert_same_summary(a: dict, b: dict) -> None:
    fa, fb = flat(a), flat(b)
    assert set(fa) == set(fb)
    for key, value in fa.items():
        if isinstance(value, float) and isinstance(fb[key], float):
            assert math.isclose(value, fb[key], rel_tol=1e-9, abs_tol=1e-9), key
        else:
            assert value == fb[key], key


# -- DuckDB ------------------------------------------------------------------------
def test_duckdb_stage_stats_equal_the_reference(histories, duck):
    table = histories[0]
    out = ib.stage_stats(duck)
    pd.testing.assert_frame_equal(out, reference_stages(table, out.index), **FLOAT)
    pd.testing.assert_frame_equal(out, pandas_stats.stage_stats(table, method="rank"), **FLOAT)  # in memory
    assert out.loc["ttr", "n"] == table["ttr"].notna().sum() and out["N"].eq(len(table)).all()
    assert out.loc["ttr", "median_ci_low"] < out.loc["ttr", "median"] < out.loc["ttr", "median_ci_high"]
    # tta, asked for though no record knows it: counted, with no statistic
    tta = ib.stage_stats(duck, ["tta"]).loc["tta"]
    assert tta["n"] == 0 and tta[["mean", "median", "median_ci_low"]].isna().all()


@pytest.mark.parametrize("by", pandas_stats.BY_CHOICES)
def test_duckdb_group_stats_equal_the_reference(histories, duck, by):
    out = ib.group_stats(duck, by)
    expected = reference(histories[0], by, ib.shown_stages(duck))
    pd.testing.assert_frame_equal(out, expected, **FLOAT)
    pd.testing.assert_frame_equal(out, pandas_stats.group_stats(histories[0], by, method="rank"), **FLOAT)
    assert out["median_ci_low"].notna().any()  # the rank CI, from order statistics numbered in DuckDB


def test_duckdb_targets_trend_and_summary_equal_pandas(histories, duck):
    table, path, _ = histories
    pd.testing.assert_frame_equal(ib.within_targets(duck), pandas_stats.within_targets(table), **FLOAT)
    pd.testing.assert_frame_equal(ib.quarterly_trend(duck), pandas_stats.quarterly_trend(table, method="rank"),
                                  **FLOAT)
    for by in (None, "provider", "component"):
        summary = history_summary(path, by=by, engine="duckdb")  # the engine's summary runs these expressions
        del summary["maintenance"], summary["stage_onsets"]  # what it covers: tests/test_github_feed.py
        assert_same_summary(summary, pandas_stats.history_summary(table, by=by, method="rank"))
    assert summary["import_report"] == table.attrs["import_report"]


def test_duckdb_reads_several_files_as_one(histories):
    table, _, parts = histories
    t = ib.history_table(parts, "duckdb")
    pd.testing.assert_frame_equal(ib.stage_stats(t), pandas_stats.stage_stats(table, method="rank"), **FLOAT)


def test_duckdb_equals_the_reference_on_synthetic_data_with_tta(tmp_path):
    """The benchmark's generator: every stage known somewhere (tta shown), 51 component groups, CIs everywhere."""
    bench = history_scale()
    path = bench.write_synthetic(tmp_path / "synthetic.parquet", 20_000, chunk=7_000)
    table = pandas_stats.history_table(path)  # the file itself, read by pandas
    t = ib.history_table(path, "duckdb")
    stats = ib.stage_stats(t)
    assert list(stats.index) == list(pandas_stats.STAGES)
    pd.testing.assert_frame_equal(stats, reference_stages(table, pandas_stats.STAGES), **FLOAT)
    pd.testing.assert_frame_equal(stats, pandas_stats.stage_stats(table, method="rank"), **FLOAT)
    groups = ib.group_stats(t, "component")
    pd.testing.assert_frame_equal(groups, reference(table, "component", pandas_stats.STAGES), **FLOAT)
    assert groups["group"].nunique() == 51 and groups["median_ci_low"].notna().all()


def test_bad_input(histories, issre_dir, tmp_path):
    _, path, _ = histories
    with pytest.raises(IncidentError, match="read Parquet history files"):
        ib.history_table([issre_dir / "README.md"], "duckdb")
    with pytest.raises(ValueError, match="cannot group by"):
        ib.group_stats(ib.history_table(path, "duckdb"), "colour")
    with pytest.raises(ValueError, match="unknown engine"):
        ib.connect("spark")
    with pytest.raises(ValueError, match="unknown stage"):
        ib.stage_stats(ib.history_table(path, "duckdb"), ["ttx"])


# -- Spark, local mode ------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark(histories):
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark not installed: the Spark engine is not tested (pip install 'incident[spark]')")
    if shutil.which("java") is None:
        pytest.skip("java not on PATH: Spark cannot start, the Spark engine is not tested")
    t0 = time.perf_counter()
    con = ib.connect("pyspark", threads=2)
    print(f"Spark session started in {time.perf_counter() - t0:.1f} s")
    yield con
    con.disconnect()


@pytest.fixture(scope="module")
def sparked(spark, histories):
    return ib.history_table(histories[1], spark)


@pytest.mark.slow  # a JVM starts: `make test` runs it, `make test-fast` leaves it out
def test_spark_stage_stats_equal_pandas(histories, sparked):
    """Counts equal, means and std within float rounding, median and p90 by Spark's exact `percentile`."""
    table = histories[0]
    out = ib.stage_stats(sparked)
    want = pandas_stats.stage_stats(table, method="rank")
    assert out[["N", "n"]].values.tolist() == want[["N", "n"]].values.tolist()
    pd.testing.assert_frame_equal(out, want, **FLOAT)
    pd.testing.assert_frame_equal(ib.within_targets(sparked), pandas_stats.within_targets(table), **FLOAT)


@pytest.mark.slow
@pytest.mark.parametrize("by", SPARK_GROUPS)
def test_spark_group_stats_equal_pandas(histories, sparked, by):
    pd.testing.assert_frame_equal(ib.group_stats(sparked, by),
                                  pandas_stats.group_stats(histories[0], by, method="rank"), **FLOAT)


@pytest.mark.slow
def test_spark_reads_several_files_and_approximates_within_its_bound(histories, spark):
    """Two files as one table; `approx_percentile` (accuracy 10000) gives a value whose rank
    is within n/10000 (+1 for ties and rounding) of the exact rank."""
    table, _, parts = histories
    t = ib.history_table(parts, spark)
    approx = ib.stage_stats(t, ["ttd", "ttr"], approx=True)
    exact = pandas_stats.stage_stats(table, ["ttd", "ttr"], method="rank")
    assert approx[["N", "n"]].values.tolist() == exact[["N", "n"]].values.tolist()
    cis = ["median_ci_low", "median_ci_high"]  # order statistics: exact, approx or not
    pd.testing.assert_frame_equal(approx[cis], exact[cis], **FLOAT)
    for stage in ("ttd", "ttr"):
        values = np.sort(table[stage].dropna().to_numpy())
        n = len(values)
        for q, column in ((0.5, "median"), (0.9, "p90")):
            got = approx.loc[stage, column]
            assert got in values  # an order statistic, never interpolated
            lowest, highest = np.searchsorted(values, got, "left"), np.searchsorted(values, got, "right")
            slack = n / 10_000 + 1
            assert lowest - slack <= q * n <= highest + slack, (stage, q, got)


@pytest.mark.slow
def test_the_spark_engine_summarises_as_duckdb_does(histories, spark):
    """`incident history --engine spark` and `--engine duckdb` give one summary: counts equal, the rest
    within float rounding, coverage (maintenance, stage onsets) included."""
    _, path, _ = histories
    on_spark = history_summary(path, by="provider", engine="spark", exclude_maintenance=True)
    on_duckdb = history_summary(path, by="provider", engine="duckdb", exclude_maintenance=True)
    assert on_spark["maintenance"] == on_duckdb["maintenance"] and on_spark["maintenance"]["records"] > 0
    assert on_spark["stage_onsets"] == on_duckdb["stage_onsets"] and on_spark["n"] == on_duckdb["n"]
    assert_same_summary(on_spark, on_duckdb)
