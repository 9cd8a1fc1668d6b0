"""The history statistics, written once as ibis expressions, run by DuckDB or Spark where the data are.

    t = in_memory(table)                               # a pandas history table, on DuckDB in this process
    t = history_table(["a.parquet", "b.parquet"], connect("duckdb", memory_limit="500MB"))  # out of core
    t = history_table(paths, connect("pyspark"))       # Spark: local[threads] here, a cluster's session there
    stage_stats(t); group_stats(t, "provider"); within_targets(t); quarterly_trend(t); stage_onsets(t)

`incident.analysis.history` calls them on a pandas table (`in_memory`), and
`incident.analysis.history_engine.history_summary` on Parquet files, so that
each figure of `incident history` and of the history report comes from one
expression, whatever the size or the engine.

Each statistic (N, n known, mean, sample std, median, p90, the median's CI,
shares within the targets, the groups of `group_label`, the stages known only
from a date on) is an ibis expression over a table with the history schema
(`HISTORY_COLUMNS`). ibis compiles it to the engine's SQL and the engine runs
it where the data are; only the small result (one row per group and stage)
comes back as pandas. Only the bootstrap CI of the median needs the values
themselves (`intervals.median_ci`, numpy): it is offered where they are in
memory already (`in_memory` tables, which number their rows so that each
group's values come back in the table's order and the seeded resamples are
reproducible); over files the CI is the rank interval.

Quantiles, as compiled by ibis 12 (`ibis.to_sql(expr, dialect=...)`):

- DuckDB: `quantile_cont(v, q)`, exact, interpolating linearly between the
  order statistics at (n - 1)q: numpy's and pandas' default, so DuckDB equals
  numpy within float rounding. `approx=True` runs `approx_quantile` (a
  T-Digest, whose error DuckDB does not bound).
- Spark: `percentile(v, q)`, exact, with the same linear interpolation
  (https://spark.apache.org/docs/latest/api/sql/#percentile); it holds each
  group's distinct values with their counts in one executor's memory.
  `approx=True` runs `approx_percentile(v, q)` with its default accuracy
  10000: the result is a value of the column whose rank is within n/10000 of
  the exact rank (https://spark.apache.org/docs/latest/api/sql/#approx_percentile).

The median's CI is [x(l), x(u)], the order statistics at the ranks
`intervals.median_rank_interval` gives for each group's n (exact on both
engines, `approx` or not): the known values of each group are numbered in
the engine (`row_number()` over the group, ordered by value) and the rows
ranked l and u kept. Only the ranks, one pair per group, are computed in
Python (the binomial law has no SQL function) and sent to the engine as a
small table.

One query per stage: a median holds its group's
values, so one stage at a time bounds that to one column.

Spark reads Parquet timestamps in nanoseconds only as integers
(`spark.sql.legacy.parquet.nanosAsLong`, set by `connect`): `history_table`
turns them back into timestamps, so quarters are the same on both engines.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from incident.core.errors import IncidentError
from incident.core.extras import optional
from incident.io.history_parquet import arrow_columns, inspect_history, is_parquet
from incident.io.issre import GROUP_SEPARATOR
from incident.io.history_schema import NO_COMPONENT, OPTIONAL_STAGES, STAGES, TIME_COLUMNS, UNKNOWN_GROUP
from incident.analysis.history_coverage import MAINTENANCE, is_onset
from incident.analysis.intervals import CI_METHODS, LEVEL, MIN_N_FOR_CI, N_BOOT, SEED, median_ci, median_rank_interval

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["ENGINES", "BY_CHOICES", "TARGETS", "connect", "history_table", "in_memory", "shown_stages", "group_label",
           "group_values", "stage_stats", "group_stats", "within_targets", "quarterly_trend", "is_maintenance",
           "stage_onsets"]

TARGETS = {"ttd": 1.0, "tti": 5.0, "ttm": 10.0}  # minutes: detect in 1, identify in 5, mitigate in 10
BY_CHOICES = ("provider", "root-cause", "root-cause-l1", "mitigation", "component", "impact", "quarter",
              "source", "detection", "year")
ROW = "_row"  # the row number `in_memory` adds: each group's values in the table's order, for the bootstrap
ENGINES = ("duckdb", "pyspark")
MEMORY_LIMIT = "2GB"  # DuckDB's cap where none is given; Spark's is its driver memory, set before the JVM starts
THREADS = 2  # where none is given and os.cpu_count cannot tell
SPARK_LOGGING = Path(__file__).with_name("spark-log4j2.properties")  # errors only: no start-up notices
_STATS = ["N", "n", "mean", "std", "median", "p90", "median_ci_low", "median_ci_high"]


def _ibis(engine: str, source: str):
    """ibis, with the engine's client: pyspark is an extra (`optional` names it if missing), DuckDB is not."""
    if engine == "pyspark":
        optional("pyspark", "the Spark engine", source)
    import ibis

    return ibis


def connect(engine: str = "duckdb", memory_limit: str | None = None, threads: int | None = None,
            session: Any = None):
    """An ibis connection to `engine`, one of ENGINES.

    DuckDB: in memory, capped at `memory_limit` (default MEMORY_LIMIT) and
    `threads` (default THREADS), spilling to a temporary folder removed with
    the connection. Spark: `session` if given (a cluster's), else a local
    session of `threads` cores ("local[2]") without its web UI, with as many
    shuffle partitions as cores, `memory_limit` as the driver's memory and
    SPARK_LOGGING as its log configuration (both effective only when this
    call starts the JVM). Both run in UTC, so that
    quarters are UTC calendar quarters as in pandas.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    ibis = _ibis(engine, "<history>")
    threads = threads or THREADS
    if engine == "duckdb":
        spill = tempfile.mkdtemp(prefix="incident-ibis-")
        con = ibis.duckdb.connect(memory_limit=memory_limit or MEMORY_LIMIT, threads=threads, temp_directory=spill)
        weakref.finalize(con, shutil.rmtree, spill, True)
        return con
    if session is None:
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(f"local[{threads}]").appName("incident")
                   .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", str(threads))
                   .config("spark.ui.showConsoleProgress", "false")  # no progress bar over the command's output
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={SPARK_LOGGING.as_uri()}"))
        if memory_limit:
            builder = builder.config("spark.driver.memory", memory_limit)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    # write_history stores timestamp[ns]; Spark reads those only as int64 nanoseconds (see history_table)
    return ibis.pyspark.connect(session, **{"spark.sql.legacy.parquet.nanosAsLong": "true"})


def history_table(paths: str | Path | Iterable[str | Path], con, checked: bool = False) -> ir.Table:
    """The Parquet history files `paths` as one ibis table of `con` (`connect`), their union by column name.

    Each file's footer is checked first (`inspect_history`: a history file, the
    stages of float type), so a bad file is one IncidentError naming it,
    unless the caller has (`checked`). `con` may also be an engine's name,
    connected with the defaults.
    """
    files = [str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not files:
        raise IncidentError.single("<history>", "no history source given")
    for f in [] if checked else files:
        if not is_parquet(f):
            raise IncidentError.single(f, "the ibis engines read Parquet history files; "
                                          "save one with `incident history SOURCE --save FILE.parquet`")
        inspect_history(f, [s for s in STAGES if s not in OPTIONAL_STAGES])
    con = connect(con) if isinstance(con, str) else con
    ibis = _ibis(con.name, files[0])
    if con.name == "duckdb":
        t = con.read_parquet(files, union_by_name=True)
    else:
        tables = [con.read_parquet(f) for f in files]
        if len(tables) > 1:  # a file written before `tta` existed lacks it: null there
            schema = {c: t.schema()[c] for t in tables for c in t.columns}
            tables = [t.select(**{c: t[c] if c in t.columns else ibis.null(kind) for c, kind in schema.items()})
                      for t in tables]
        t = ibis.union(*tables) if len(tables) > 1 else tables[0]
    return _wall_times(t)


def in_memory(table: pd.DataFrame) -> ir.Table:
    """A pandas history table (any of its columns) as an ibis table on DuckDB, in this process.

    The columns keep the types of the stored history (`arrow_columns`), so the
    statistics see the same table as from a Parquet file; a ROW column numbers
    the rows, for the bootstrap (`_intervals`). DuckDB reads the Arrow data in
    place: ibis' default DuckDB connection, in memory.
    """
    ibis = _ibis("duckdb", "<history>")
    data = arrow_columns(table)
    data = data.append_column(ROW, _arange(len(table)))
    return _wall_times(ibis.memtable(data))


def _arange(n: int):
    import pyarrow as pa

    return pa.array(np.arange(n, dtype=np.int64))


def _wall_times(t: ir.Table) -> ir.Table:
    times = {c: _utc_timestamp(t[c]) for c in TIME_COLUMNS if c in t.columns and not _wall_time(t[c].type())}
    return t.mutate(**times) if times else t


def _wall_time(kind) -> bool:
    return kind.is_timestamp() and kind.timezone is None


def _utc_timestamp(column: ir.Column) -> ir.TimestampColumn:
    """A time column as a timestamp of UTC wall time, whatever the engine read from timestamp[ns, UTC].

    A timestamp without a time zone, because ibis 12 with sqlglot 30 refuses
    to take the year or quarter of a TIMESTAMPTZ on DuckDB. Spark reads it as
    int64 nanoseconds, turned into a timestamp to the second (ibis 12 compiles
    only seconds to Spark's `from_unixtime`): the statistics use the times
    only for quarters and years, the stages are minutes already. DuckDB 2.0
    reads it as TIMESTAMPTZ_NS, a type ibis 12 does not know (older DuckDB as
    TIMESTAMPTZ): either is cast to a plain TIMESTAMP in the connection's
    time zone, which ibis sets to UTC.
    """
    if column.type().is_integer():
        return (column // 1_000_000_000).as_timestamp("s")
    return column.cast("timestamp")


def shown_stages(t: ir.Table) -> list[str]:
    """`history_schema.shown_stages` of an ibis table: every stage but an optional one no record knows."""
    return [s for s in STAGES if s not in OPTIONAL_STAGES or (s in t.columns and int(t[s].count().execute()) > 0)]


def group_label(t: ir.Table, by: str) -> ir.Value:
    """`history.group_key`'s label for `by` as an ibis expression: '(unknown)' where the key is missing.

    For 'component' the label is the list of components unnested (one row per
    component, '(none)' for an incident without any), for 'mitigation' its
    groups likewise; for 'quarter' '2024Q3' and for 'year' '2024', the UTC
    calendar quarter or year of the start.
    """
    import ibis

    if by == "component":
        none = ibis.literal([NO_COMPONENT], type="array<string>")
        return ibis.ifelse(t.components.isnull() | (t.components.length() == 0), none, t.components).unnest()
    if by == "mitigation":  # a record's groups joined by '+': one row per group, as `history.by_mitigation`
        unknown = ibis.literal([UNKNOWN_GROUP], type="array<string>")
        groups = t.mitigation.re_split(re.escape(GROUP_SEPARATOR))  # a regex: Spark's split takes one
        return ibis.ifelse(t.mitigation.isnull() | (t.mitigation == ""), unknown, groups).unnest()
    if by == "quarter":
        key = t.start.year().cast("string") + "Q" + t.start.quarter().cast("string")
    elif by == "year":
        key = t.start.year().cast("string")
    elif by == "root-cause":
        key = ibis.ifelse(t.root_cause_l2.isnull(), t.root_cause_l1, t.root_cause_l1 + " / " + t.root_cause_l2)
    elif by == "root-cause-l1":
        key = t.root_cause_l1
    elif by in BY_CHOICES:
        key = t[by]
    else:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(BY_CHOICES)}")
    return key.cast("string").fill_null(UNKNOWN_GROUP)


def _ci_options(t: ir.Table, method: str | None = None, level: float = LEVEL, n_boot: int = N_BOOT,
                seed: int = SEED, min_n_for_ci: int = MIN_N_FOR_CI) -> dict:
    """The median CI's options, checked: `method` defaults to the bootstrap where the values are in memory
    (`in_memory`), else to the rank interval, the only one over files."""
    method = method or ("bootstrap" if ROW in t.columns else "rank")
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; one of {', '.join(CI_METHODS)}")
    if method == "bootstrap" and ROW not in t.columns:
        raise ValueError("the bootstrap CI resamples the values in memory: use in_memory(table), or method='rank'")
    return {"method": method, "level": level, "n_boot": n_boot, "seed": seed, "min_n_for_ci": min_n_for_ci}


def _distributions(keyed: ir.Table, ci: dict, approx: bool) -> pd.DataFrame:
    """Per group of `keyed` (columns grp, v, and ROW in memory): N, n, mean, std, median, p90 and the median's CI."""
    v = keyed.v
    quantile = v.approx_quantile if approx else v.quantile
    stats = keyed.group_by("grp").aggregate(
        N=keyed.count(), n=v.count(), mean=v.mean(), std=v.std(how="sample"),
        median=quantile(0.5), p90=quantile(0.9)).execute()
    stats["median_ci_low"], stats["median_ci_high"] = np.nan, np.nan
    wanted = stats[stats["n"] >= ci["min_n_for_ci"]]
    if len(wanted):
        bounds = _bootstrap(keyed, wanted, ci) if ci["method"] == "bootstrap" else _rank_bounds(keyed, wanted, ci)
        at = stats.set_index("grp").index.get_indexer(bounds.index)
        stats.iloc[at, stats.columns.get_indexer(["median_ci_low", "median_ci_high"])] = bounds.to_numpy()
    stats["N"], stats["n"] = stats["N"].astype(int), stats["n"].astype(int)
    for col in _STATS[2:]:
        stats[col] = stats[col].astype(float)
    return stats


def _rank_bounds(keyed: ir.Table, wanted: pd.DataFrame, ci: dict) -> pd.DataFrame:
    """The rank interval of each wanted group: its known values numbered in the engine, the ranks l and u kept."""
    import ibis

    ranks = pd.DataFrame([(g, *median_rank_interval(int(n), ci["level"])) for g, n in zip(wanted["grp"], wanted["n"])],
                         columns=["rgrp", "low", "high"])
    known = keyed.filter(keyed.v.notnull())
    numbered = known.mutate(rank=ibis.row_number().over(group_by="grp", order_by="v") + 1)  # 0-based in ibis
    r = ibis.memtable(ranks)
    picked = (numbered.join(r, numbered.grp == r.rgrp)
              .filter((numbered["rank"] == r.low) | (numbered["rank"] == r.high))
              .select("grp", "v", is_low=numbered["rank"] == r.low, is_high=numbered["rank"] == r.high)
              .execute())
    return pd.DataFrame({"low": picked[picked["is_low"]].set_index("grp")["v"],
                         "high": picked[picked["is_high"]].set_index("grp")["v"]})


def _bootstrap(keyed: ir.Table, wanted: pd.DataFrame, ci: dict) -> pd.DataFrame:
    """The bootstrap interval of each wanted group, from its known values in the table's row order."""
    values = keyed.filter(keyed.v.notnull()).select("grp", "v", ROW).execute()
    values = values[values["grp"].isin(wanted["grp"])].sort_values(ROW, kind="stable")
    rows = {grp: median_ci(part["v"].to_numpy(dtype=float), ci["level"], ci["n_boot"], ci["seed"])
            for grp, part in values.groupby("grp", sort=False)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["low", "high"])


def _grouped(t: ir.Table, key, stages: Iterable[str] | None, ci: dict, approx: bool) -> pd.DataFrame:
    stages = shown_stages(t) if stages is None else list(stages)
    parts = []
    for stage in stages:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        keyed = t.select(grp=key, v=t[stage].cast("float64"), **({ROW: t[ROW]} if ROW in t.columns else {}))
        frame = _distributions(keyed, ci, approx)
        frame.insert(1, "stage", stage)
        parts.append(frame.rename(columns={"grp": "group"}))
    columns = ["group", "stage", *_STATS]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["group"] = out["group"].astype(object)
    order = {s: i for i, s in enumerate(STAGES)}
    out = out.sort_values(["group", "stage"], key=lambda c: c.map(order) if c.name == "stage" else c,
                          kind="stable", ignore_index=True)
    return out[columns]


def stage_stats(t: ir.Table, stages: Iterable[str] | None = None, approx: bool = False, **ci) -> pd.DataFrame:
    """One row per stage: N records, n with the stage known, its share, mean, std, median, p90, median CI (minutes).

    Every statistic but N covers only the records where the stage is known.
    Stages default to `shown_stages(t)` (tta only where a record knows it);
    `ci`: method ("bootstrap" or "rank", `_ci_options`), level, n_boot, seed,
    min_n_for_ci (no CI below). `approx` runs the engines' approximate
    quantiles for the median and p90 (the module's doc says which, and how close).
    """
    import ibis

    stages = shown_stages(t) if stages is None else list(stages)
    out = _grouped(t, ibis.literal("all"), stages, _ci_options(t, **ci), approx)
    out = out.drop(columns="group").set_index("stage").reindex(stages)  # an empty table: N = n = 0
    out[["N", "n"]] = out[["N", "n"]].fillna(0).astype(int)
    out.insert(2, "share_known", out["n"] / out["N"].where(out["N"] > 0))
    return out.rename_axis("stage")


def group_stats(t: ir.Table, by: str, stages: Iterable[str] | None = None, approx: bool = False,
                **ci) -> pd.DataFrame:
    """Tidy per-group distributions: one row per (group, stage), groups sorted by name, as `stage_stats`.

    `N` is the group's records (for 'component' and 'mitigation' a record
    counts in each of its groups, so the groups add up to more than the records).
    """
    return _grouped(t, group_label(t, by), stages, _ci_options(t, **ci), approx)


def group_values(t: ir.Table, by: str, stage: str) -> pd.DataFrame:
    """The known values of `stage` with their group of `by` (columns group, value): what a figure of
    the groups draws, in memory."""
    known = t.filter(t[stage].notnull())
    return known.select(group=group_label(known, by), value=known[stage].cast("float64")).execute()


def within_targets(t: ir.Table, targets: dict[str, float] | None = None) -> pd.DataFrame:
    """`history.within_targets` of `t`: per stage with a target, n known, how many within (≤), their share."""
    targets = TARGETS if targets is None else targets
    counts = {}
    for i, (stage, limit) in enumerate(targets.items()):
        counts[f"n{i}"] = t[stage].count()
        counts[f"w{i}"] = t[stage].count(where=t[stage] <= float(limit))
    row = t.aggregate(**counts).execute().iloc[0] if counts else {}
    rows = {}
    for i, (stage, limit) in enumerate(targets.items()):
        n, within = int(row[f"n{i}"]), int(row[f"w{i}"])
        rows[stage] = {"target_minutes": float(limit), "n": n, "within": within, "share": within / n if n else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("stage")


def quarterly_trend(t: ir.Table, stage: str = "ttr", approx: bool = False, **ci) -> pd.DataFrame:
    """Per calendar quarter (UTC), every quarter from the first to the last: records, n known, mean,
    std, median, p90 and the median's CI (as `stage_stats`).

    `records` counts every record of the quarter, known stage or not, and
    empty quarters have 0; records without a start are one last '(unknown)'
    row, so `records` sums to the table's length.
    """
    found = group_stats(t, "quarter", [stage], approx, **ci).drop(columns="stage")
    found = found.rename(columns={"group": "quarter", "N": "records"}).set_index("quarter")
    quarters = [q for q in found.index if q != UNKNOWN_GROUP]
    index = [str(p) for p in pd.period_range(min(quarters), max(quarters), freq="Q")] if quarters else []
    index += [UNKNOWN_GROUP] if UNKNOWN_GROUP in found.index else []
    out = found.reindex(index)
    out[["records", "n"]] = out[["records", "n"]].fillna(0).astype(int)
    return out.rename_axis("quarter").reset_index()


def is_maintenance(t: ir.Table) -> ir.BooleanColumn:
    """`history_coverage.is_maintenance` of `t`: impact or page impact 'maintenance' (false where missing)."""
    import ibis

    out = ibis.literal(False)
    for col in ("impact", "page_impact"):
        if col in t.columns:
            out = out | (t[col] == MAINTENANCE).fill_null(False)
    return out


def stage_onsets(t: ir.Table, stages: Iterable[str] | None = None) -> pd.DataFrame:
    """`history_coverage.stage_onsets` of `t`: per (source, stage) known only from a date on, the first
    start knowing it and the records before and after (the pairs `history_coverage.is_onset` accepts)."""
    stages = shown_stages(t) if stages is None else list(stages)
    rows: list[dict] = []
    if "source" in t.columns and "start" in t.columns:
        for stage in stages:
            first = (t.filter(t[stage].notnull() & t.start.notnull()).group_by("source")
                     .aggregate(since=t.start.min()))
            joined = t.join(first, "source")
            counts = joined.group_by(["source", "since"]).aggregate(
                before=joined.count(where=joined.start < joined.since),
                after=joined.count(where=joined.start >= joined.since),
                known=joined.count(where=(joined.start >= joined.since) & joined[stage].notnull())).execute()
            for r in counts.sort_values("source", kind="stable").itertuples(index=False):
                if is_onset(int(r.before), int(r.after), int(r.known)):
                    rows.append({"source": r.source, "stage": stage, "since": r.since, "before": int(r.before),
                                 "after": int(r.after), "known": int(r.known)})
    out = pd.DataFrame(rows, columns=["source", "stage", "since", "before", "after", "known"])
    out["since"] = pd.to_datetime(out["since"], utc=True)  # the engines give UTC wall time (`history_table`)
    return out.sort_values(["source"], kind="stable", ignore_index=True)
