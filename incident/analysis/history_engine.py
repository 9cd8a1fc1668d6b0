"""The history statistics on two engines: pandas in memory, or DuckDB over Parquet files.

    history_summary(table_or_paths, by="provider")                        # pandas
    history_summary("history.parquet", by="provider", engine="duckdb")    # DuckDB

One signature, one result (the dict of `incident.analysis.history.history_summary`).
The pandas engine holds the whole table in memory: fine up to a few million
incidents (docs/history.md gives the measured limits). The DuckDB engine runs
SQL over Parquet files: it reads only the columns a statistic needs, row group
by row group, within a memory limit, spilling to a temporary folder when it
must, so a history larger than memory is summarised on one machine.

DuckDB's memory limit and threads (`duckdb_settings`): the arguments
`memory_limit` and `threads` (`incident history --memory-limit 4GB --threads 2`),
else the environment variables INCIDENT_DUCKDB_MEMORY and INCIDENT_DUCKDB_THREADS,
else MEMORY_FRACTION of the machine's physical memory (`physical_memory`:
os.sysconf where the system has it, else psutil if installed, else
MEMORY_LIMIT) and every core (os.cpu_count). Running out of that memory is an
IncidentError naming the limit and how to raise it, never DuckDB's traceback.

What each engine computes is the same statistic, defined once in
`incident.analysis.history`: N, n known, mean, std (sample), median and p90
(linear interpolation: DuckDB's `quantile_cont` is numpy's and pandas'
default), shares within the targets, groups keyed as `group_key` keys them.
They agree within float rounding (tests/test_history_engine.py, on the real data).

Which engine: `choose_engine` keeps pandas unless the Parquet sources' footers
say they hold more than the pandas engine's memory budget
(`history_parquet.MAX_MEMORY_ROWS`): a few MB of Parquet can hold tens of
millions of identical rows. Errors of DuckDB (a damaged file, a file it cannot
read, running out of its memory limit) become one IncidentError naming the file.

Both engines say what the statistics cover (`incident.analysis.history_coverage`):
whether scheduled maintenance windows are in (`exclude_maintenance` sets them
aside) and how many, and the stages a source gives only from some date on.

The median's confidence interval: the bootstrap needs the values in memory,
so it is pandas-only. The DuckDB engine gives the distribution-free
order-statistic interval (`median_rank_ci`): two quantiles per group at ranks
set by the binomial law, which pandas computes too with `method="rank"`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from incident.core.errors import IncidentError
from incident.core.extras import available, optional
from incident.io.history_parquet import HistoryFile, error_text, inspect_history, is_parquet, read_history
from incident.io.history_schema import OPTIONAL_STAGES, STAGES, combine
from incident.io.issre import GROUP_SEPARATOR
from incident.analysis.history_coverage import (
    MAINTENANCE, ONSET_MIN_BEFORE, exclude_maintenance as without_maintenance, maintenance_note, stage_onsets,
)
from incident.analysis.history import (
    BY_CHOICES, LEVEL, MIN_N_FOR_CI, NO_COMPONENT, TARGETS, UNKNOWN_GROUP, history_summary as pandas_summary,
    history_table, median_rank_interval, rank_fractions, summary_data,
)

__all__ = ["ENGINES", "choose_engine", "history_summary", "load_history", "columns_for", "connect", "sql_stage_stats",
           "sql_within_targets", "sql_group_stats", "duckdb_settings", "physical_memory", "onsets_data"]

ENGINES = ("pandas", "duckdb")
MEMORY_LIMIT = "2GB"  # DuckDB's cap where the machine's memory cannot be read: beyond it, it spills or fails cleanly
MEMORY_FRACTION = 0.5  # of physical memory: DuckDB's cap by default, room left for pandas and the rest of the machine
MEMORY_SETTING = "INCIDENT_DUCKDB_MEMORY"  # the environment variable that sets another cap ("8GB")
THREADS_SETTING = "INCIDENT_DUCKDB_THREADS"  # the environment variable that sets DuckDB's threads ("2")
MEMORY_OPTION, THREADS_OPTION = "--memory-limit", "--threads"  # how `incident history` names them
THREADS = 2  # where os.cpu_count cannot tell

_KEY_COLUMNS = {"component": ["components"], "quarter": ["start"], "year": ["start"],
                "root-cause": ["root_cause_l1", "root_cause_l2"], "root-cause-l1": ["root_cause_l1"]}
# read besides the stages: what the summary says it covers (maintenance windows, stages known only from a date)
COVERAGE_COLUMNS = ["source", "start", "impact", "page_impact"]


def history_summary(source, by: str | None = None, engine: str = "pandas", exclude_maintenance: bool = False,
                    memory_limit: str | None = None, threads: int | None = None, **ci) -> dict:
    """`incident.analysis.history.history_summary` of `source`, computed by `engine`, and what it covers.

    Besides that summary's keys: `maintenance` ({'included', 'records'}: the
    maintenance windows in the statistics, or set aside with
    `exclude_maintenance`) and `stage_onsets` (`onsets_data`: stages a source
    gives only from some date on).

    `source`: a history table (pandas only), or a path or list of paths. The
    pandas engine reads any format `history_table` reads (of a Parquet file only
    the columns the statistics need); the DuckDB engine reads Parquet files
    (`write_history`, or `incident history SOURCE --save FILE.parquet`).
    `ci` as for `distribution`; the DuckDB engine's CI method is "rank" (the
    default there), the pandas engine's default "bootstrap".
    Raises IncidentError for a bad source (and for the bootstrap asked of DuckDB),
    ValueError for a bad option. `memory_limit` and `threads` are DuckDB's (`duckdb_settings`).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if by is not None and by not in BY_CHOICES:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(BY_CHOICES)}")
    if engine == "pandas":
        table = source if isinstance(source, pd.DataFrame) else load_history(source, _with_coverage(by))
        if exclude_maintenance:
            table = without_maintenance(table)
        return {**pandas_summary(table, by, **ci), "maintenance": maintenance_note(table),
                "stage_onsets": onsets_data(stage_onsets(table))}
    ci.setdefault("method", "rank")
    infos = parquet_sources(source, _with_coverage(by))
    files = [info.path for info in infos]
    if ci["method"] != "rank":  # an IncidentError (a ValueError too): the command says it in one line
        raise IncidentError.single(files[0], "the DuckDB engine gives the rank interval of the median (--ci rank); "
                                             "the bootstrap needs the values in memory: use --engine pandas")
    level, min_n = ci.get("level", LEVEL), ci.get("min_n_for_ci", MIN_N_FOR_CI)
    duckdb = optional("duckdb", "the DuckDB engine", files[0])
    memory, threads = duckdb_settings(memory_limit, threads, files[0])
    report = _reports(infos)
    try:
        with connect(memory, threads, source=files[0]) as con:
            maintenance = view(con, files, exclude_maintenance)
            n = con.execute("SELECT count(*) FROM history").fetchone()[0]
            stages = view_stages(con)
            stats = sql_stage_stats(con, stages, level=level, min_n_for_ci=min_n)
            targets = sql_within_targets(con)
            groups = sql_group_stats(con, by, stages, level=level, min_n_for_ci=min_n) if by else None
            onsets = sql_stage_onsets(con, stages)
    except duckdb.OutOfMemoryException:
        raise IncidentError.single(_named(files, ""), out_of_memory(memory)) from None
    except duckdb.Error as exc:
        text = error_text(exc)
        if "out of memory" in text.lower():  # raised as another class by some operators
            raise IncidentError.single(_named(files, text), out_of_memory(memory)) from None
        raise IncidentError.single(_named(files, text), f"the DuckDB engine cannot read it: {text}") from None
    if exclude_maintenance:
        report["maintenance_excluded"] = maintenance
    return {**summary_data(n, stats, targets, groups, by, report, ci),
            "maintenance": {"included": not exclude_maintenance, "records": int(maintenance)},
            "stage_onsets": onsets_data(onsets)}


def out_of_memory(memory: str) -> str:
    """The one line said when DuckDB runs out of its memory limit `memory`."""
    return (f"DuckDB ran out of memory within its memory limit of {memory}: raise it with {MEMORY_OPTION} "
            f"(or the environment variable {MEMORY_SETTING}), e.g. {MEMORY_OPTION} 8GB")


def onsets_data(onsets: pd.DataFrame) -> list[dict]:
    """`stage_onsets` as JSON-ready records: source, stage, since (ISO date), before, after, known."""
    return [{"source": str(r.source), "stage": str(r.stage), "since": pd.Timestamp(r.since).strftime("%Y-%m-%d"),
             "before": int(r.before), "after": int(r.after), "known": int(r.known)} for r in onsets.itertuples()]


def choose_engine(sources, engine: str = "pandas", ci: str | None = None, format: str | None = None,
                  save=None) -> tuple[str, str | None]:
    """The engine to summarise `sources` (paths) on, and a note when it is not `engine`.

    The pandas engine is kept unless the Parquet sources hold more rows or
    bytes together than its memory budget (`HistoryFile.fits_in_memory`, read
    from their footers, nothing else): then DuckDB, with a note saying so.
    IncidentError when that cannot be: a source DuckDB does not read (not
    Parquet), `save` (the table would be built in memory), the bootstrap CI
    (`ci`), or duckdb not installed; and for a Parquet source whose footer is bad.
    """
    if engine != "pandas" or format not in (None, "parquet"):
        return engine, None
    paths = [str(p) for p in ([sources] if isinstance(sources, (str, Path)) else sources)]
    infos = [inspect_history(p) for p in paths if is_parquet(p)]
    if not infos:
        return engine, None
    total = HistoryFile("", sum(i.rows for i in infos), sum(i.nbytes for i in infos))
    if total.fits_in_memory():
        return engine, None
    largest = max(infos, key=lambda i: (i.rows, i.nbytes)).path
    if len(infos) < len(paths):
        why = "the DuckDB engine reads only Parquet: save the other sources with --save first"
    elif save is not None:
        why = "--save builds the table in memory: summarise the Parquet files with --engine duckdb, without --save"
    elif ci == "bootstrap":
        why = "the bootstrap CI needs the values in memory: use --ci rank (the DuckDB engine's)"
    elif not available("duckdb"):
        why = "the DuckDB engine would read them, but needs duckdb: pip install 'incident[history]'"
    else:
        return "duckdb", f"{total.rows:,} rows: using the DuckDB engine (median CI by rank)"
    raise IncidentError.single(largest, f"{total.too_large()}; {why}")


def _named(files: list[str], text: str) -> str:
    """The file an error message of DuckDB is about: the one it names, else the files given."""
    for f in files:
        if f in text:
            return f
    return files[0] if len(files) == 1 else f"{files[0]} (and {len(files) - 1} more)"


def physical_memory() -> int | None:
    """The machine's physical memory in bytes: os.sysconf where the system has it, else psutil, else None."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, ValueError, OSError):  # no os.sysconf (Windows), or a name this system lacks
        pass
    if available("psutil"):
        try:
            import psutil

            return int(psutil.virtual_memory().total)
        except (ImportError, OSError, AttributeError):  # a psutil that cannot read this system
            pass
    return None


def default_memory_limit() -> str:
    """MEMORY_FRACTION of physical memory, in MB ('7936MB'), or MEMORY_LIMIT where it cannot be read."""
    total = physical_memory()
    return f"{max(1, int(total * MEMORY_FRACTION) // 1_000_000)}MB" if total else MEMORY_LIMIT


def duckdb_settings(memory_limit: str | None = None, threads: int | str | None = None,
                    source: str = "<history>") -> tuple[str, int]:
    """DuckDB's (memory limit, threads): the arguments, else the environment variables, else the machine's.

    The memory limit is DuckDB's text ('4GB', '500MB'), checked when DuckDB
    starts (`connect`); threads must be a whole number ≥ 1, else IncidentError
    naming where it came from.
    """
    memory = (memory_limit or "").strip() or os.environ.get(MEMORY_SETTING, "").strip() or default_memory_limit()
    if threads is not None and str(threads).strip():
        raw, where = str(threads).strip(), THREADS_OPTION
    else:
        raw, where = os.environ.get(THREADS_SETTING, "").strip(), THREADS_SETTING
    if not raw:
        return memory, os.cpu_count() or THREADS
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise IncidentError.single(source, f"{where} must be a whole number of threads, at least 1; got {raw!r}")
    return memory, count


def _memory_limit() -> str:
    return duckdb_settings()[0]


def columns_for(by: str | None) -> list[str]:
    """The columns the statistics (grouped by `by`) read: the stages and the group's key."""
    return list(STAGES) + (_KEY_COLUMNS.get(by, [by.replace("-", "_")]) if by else [])


def _with_coverage(by: str | None) -> list[str]:
    return list(dict.fromkeys(columns_for(by) + COVERAGE_COLUMNS))


def load_history(source, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """One history table from a path or a list of paths of any format (of Parquet files only `columns`)."""
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise IncidentError.single("<history>", "no history source given")
    return combine(read_history(p, columns) if is_parquet(p) else history_table(p) for p in paths)


def parquet_sources(source, columns: Iterable[str] | None = None) -> list[HistoryFile]:
    """The Parquet files of `source` (a path or paths), each footer checked (`inspect_history`,
    `columns` present and of their types); IncidentError otherwise. No memory budget: DuckDB streams."""
    if isinstance(source, pd.DataFrame):
        raise ValueError("the DuckDB engine reads Parquet files: write the table with write_history first")
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise IncidentError.single("<history>", "no history source given")
    files = []
    for path in paths:
        if not is_parquet(path):
            raise IncidentError.single(str(path), "the DuckDB engine reads Parquet history files; "
                                                  "save one with `incident history SOURCE --save FILE.parquet`")
        files.append(inspect_history(path, columns))
    return files


def _reports(infos: list[HistoryFile]) -> dict[str, int]:
    parts = []
    for info in infos:
        part = pd.DataFrame()
        part.attrs["import_report"] = info.import_report
        parts.append(part)
    return combine(parts).attrs["import_report"]


# -- DuckDB ----------------------------------------------------------------------
class connect:
    """A DuckDB connection capped at `memory_limit` and `threads` (defaults: `duckdb_settings`),
    spilling to a temporary folder
    that is removed on exit (DuckDB's default would be a .tmp folder in the working directory).

    IncidentError naming the `history` extra if duckdb is not installed
    (`source`: what the connection is for, named in that message).
    """

    def __init__(self, memory_limit: str | None = None, threads: int | None = None, source: str = "<history>"):
        self.memory_limit, self.threads = duckdb_settings(memory_limit, threads, source)
        self.source = source

    def __enter__(self):
        duckdb = optional("duckdb", "the DuckDB engine", self.source)
        self._spill = tempfile.TemporaryDirectory(prefix="incident-duckdb-")
        try:
            self.con = duckdb.connect(config={"memory_limit": self.memory_limit, "threads": self.threads,
                                              "temp_directory": self._spill.name})
        except duckdb.Error as exc:  # a memory limit DuckDB cannot read, from $INCIDENT_DUCKDB_MEMORY
            self._spill.cleanup()
            raise IncidentError.single(self.source, f"cannot start DuckDB with memory limit {self.memory_limit!r} "
                                                    f"({MEMORY_OPTION} or {MEMORY_SETTING}, e.g. 4GB): "
                                                    f"{error_text(exc)}") from None
        self.con.execute("SET TimeZone = 'UTC'")  # quarters are UTC calendar quarters, as in pandas
        return self.con

    def __exit__(self, *exc):
        self.con.close()
        self._spill.cleanup()


def view(con, files: list[str], exclude_maintenance: bool = False) -> int:
    """The view `history` over the Parquet `files` (their union, by column name); the maintenance windows' count.

    With `exclude_maintenance` the view leaves them out (as `history_coverage.exclude_maintenance`).
    """
    con.read_parquet(files, union_by_name=True).create_view("history_all")
    maintenance = (f"coalesce(impact = {_text(MAINTENANCE)}, false) OR "
                   f"coalesce(page_impact = {_text(MAINTENANCE)}, false)")
    where = f" WHERE NOT ({maintenance})" if exclude_maintenance else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW history AS SELECT * FROM history_all{where}")
    return int(con.execute(f"SELECT count(*) FILTER (WHERE {maintenance}) FROM history_all").fetchone()[0])


def sql_stage_onsets(con, stages: Iterable[str]) -> pd.DataFrame:
    """`history_coverage.stage_onsets` of the view `history` in SQL."""
    rows = []
    for stage in stages:
        frame = con.execute(
            f"WITH first AS (SELECT source, min(start) FILTER (WHERE {stage} IS NOT NULL) AS since "
            f"FROM history GROUP BY source) "
            f"SELECT h.source, f.since, count(*) FILTER (WHERE h.start < f.since) AS before, "
            f"count(*) FILTER (WHERE h.start >= f.since) AS after, "
            f"count(*) FILTER (WHERE h.start >= f.since AND h.{stage} IS NOT NULL) AS known "
            f"FROM history h JOIN first f ON h.source IS NOT DISTINCT FROM f.source "
            f"WHERE f.since IS NOT NULL GROUP BY h.source, f.since ORDER BY h.source").df()
        for r in frame.itertuples(index=False):
            if r.before >= ONSET_MIN_BEFORE:
                rows.append({"source": r.source, "stage": stage, "since": pd.Timestamp(r.since, tz="UTC")
                             if pd.Timestamp(r.since).tz is None else pd.Timestamp(r.since),
                             "before": int(r.before), "after": int(r.after), "known": int(r.known)})
    out = pd.DataFrame(rows, columns=["source", "stage", "since", "before", "after", "known"])
    return out.sort_values(["source"], kind="stable", ignore_index=True)


def view_stages(con) -> list[str]:
    """`shown_stages` of the view `history`: an optional stage only where a file has it and a record knows it."""
    names = {row[0] for row in con.execute("DESCRIBE history").fetchall()}
    return [s for s in STAGES if s not in OPTIONAL_STAGES
            or (s in names and con.execute(f"SELECT count({s}) FROM history").fetchone()[0] > 0)]


def _key_sql(by: str) -> str:
    """The SQL of `group_key`'s label for `by`, over the view `history` (component: unnested)."""
    unknown = _text(UNKNOWN_GROUP)
    if by == "component":
        return (f"unnest(CASE WHEN components IS NULL OR len(components) = 0 THEN [{_text(NO_COMPONENT)}] "
                f"ELSE components END)")
    if by == "quarter":
        return f"CASE WHEN start IS NULL THEN {unknown} ELSE year(start) || 'Q' || quarter(start) END"
    if by == "mitigation":  # a record in each of its groups, as `by_mitigation`
        sep = _text(GROUP_SEPARATOR)
        return (f"unnest(CASE WHEN mitigation IS NULL OR mitigation = '' THEN [{unknown}] "
                f"ELSE string_split(mitigation, {sep}) END)")
    if by == "year":
        return f"CASE WHEN start IS NULL THEN {unknown} ELSE CAST(year(start) AS VARCHAR) END"
    if by == "root-cause":
        expr = "CASE WHEN root_cause_l2 IS NULL THEN root_cause_l1 ELSE root_cause_l1 || ' / ' || root_cause_l2 END"
    elif by == "root-cause-l1":
        expr = "root_cause_l1"
    elif by in BY_CHOICES:
        expr = f'"{by}"'
    else:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(BY_CHOICES)}")
    return f"coalesce({expr}, {unknown})"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_stage_stats(con, stages: Iterable[str] | None = None, level: float = LEVEL,
                    min_n_for_ci: int = MIN_N_FOR_CI) -> pd.DataFrame:
    """`stage_stats` of the view `history` in SQL, the CI by `median_rank_ci`; stages default to `view_stages`."""
    groups = _grouped(con, "'all'", view_stages(con) if stages is None else stages, level, min_n_for_ci)
    out = groups.drop(columns="group").set_index("stage")
    out.insert(2, "share_known", out["n"] / out["N"].where(out["N"] > 0))
    return out


def sql_group_stats(con, by: str, stages: Iterable[str] | None = None, level: float = LEVEL,
                    min_n_for_ci: int = MIN_N_FOR_CI) -> pd.DataFrame:
    """`group_stats` of the view `history` in SQL: one row per (group, stage), groups sorted by name."""
    return _grouped(con, _key_sql(by), view_stages(con) if stages is None else stages, level, min_n_for_ci)


def _grouped(con, key: str, stages: Iterable[str], level: float, min_n_for_ci: int) -> pd.DataFrame:
    # One query per stage: a median holds its group's values in memory, so one
    # stage at a time bounds that to one column.
    parts = []
    for stage in stages:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW keyed AS SELECT {key} AS grp, {stage} AS v FROM history")
        frame = con.execute(
            "SELECT grp, records, known, mean, std, q[1] AS median, q[2] AS p90 FROM ("
            "SELECT grp, count(*) AS records, count(v) AS known, avg(v) AS mean, stddev_samp(v) AS std, "
            "quantile_cont(v, [0.5, 0.9]) AS q FROM keyed GROUP BY grp)").df()
        frame = frame.rename(columns={"records": "N", "known": "n"})  # SQL names ignore case: N is n
        ci = _rank_cis(con, frame, level, min_n_for_ci)
        frame["median_ci_low"] = [ci.get(g, (np.nan, np.nan))[0] for g in frame["grp"]]
        frame["median_ci_high"] = [ci.get(g, (np.nan, np.nan))[1] for g in frame["grp"]]
        frame.insert(1, "stage", stage)
        parts.append(frame.rename(columns={"grp": "group"}))
    out = pd.concat(parts, ignore_index=True)
    out["group"] = out["group"].astype(object)
    out = out.sort_values(["group", "stage"], key=_stage_order, kind="stable", ignore_index=True)
    out[["N", "n"]] = out[["N", "n"]].astype(int)
    for col in ("mean", "std", "median", "p90", "median_ci_low", "median_ci_high"):
        out[col] = out[col].astype(float)
    return out[["group", "stage", "N", "n", "mean", "std", "median", "p90", "median_ci_low", "median_ci_high"]]


def _stage_order(col: pd.Series) -> pd.Series:
    return col.map({s: i for i, s in enumerate(STAGES)}) if col.name == "stage" else col


FILTER_MAX_GROUPS = 8  # up to this many groups, one scan of filtered quantiles; beyond, one sort


def _rank_cis(con, frame: pd.DataFrame, level: float, min_n_for_ci: int) -> dict:
    """Per group with n ≥ min_n_for_ci, the order statistics x₍l₎, x₍u₎ of `median_rank_interval`.

    The ranks depend on each group's n, and a quantile's fraction must be a
    constant in SQL: for a few groups, one filtered `quantile_cont` per group
    in one scan; for many (components, quarters), that scan would be repeated
    per group, so the values are numbered in one sort instead (row_number per
    group) and the two ranked rows of each group kept.
    """
    wanted = [(g, int(n)) for g, n in zip(frame["grp"], frame["n"]) if n >= min_n_for_ci]
    if not wanted:
        return {}
    if len(wanted) <= FILTER_MAX_GROUPS:
        cols = ", ".join("quantile_cont(v, [{!r}, {!r}]) FILTER (WHERE grp = {})".format(
            *rank_fractions(n, level), _text(str(g))) for g, n in wanted)
        row = con.execute(f"SELECT {cols} FROM keyed").fetchone()
        return {g: (float(r[0]), float(r[1])) for (g, _), r in zip(wanted, row)}
    ranks = pd.DataFrame([(g, *median_rank_interval(n, level)) for g, n in wanted], columns=["grp", "low", "high"])
    con.register("ranks", ranks)
    try:
        rows = con.execute(
            "SELECT k.grp, k.v, k.r = ranks.low, k.r = ranks.high FROM ("
            "SELECT grp, v, row_number() OVER (PARTITION BY grp ORDER BY v) AS r FROM keyed WHERE v IS NOT NULL) k "
            "JOIN ranks ON k.grp = ranks.grp WHERE k.r = ranks.low OR k.r = ranks.high").fetchall()
    finally:
        con.unregister("ranks")
    out: dict = {g: [np.nan, np.nan] for g, _ in wanted}
    for g, v, is_low, is_high in rows:
        if is_low:
            out[g][0] = float(v)
        if is_high:
            out[g][1] = float(v)
    return {g: tuple(v) for g, v in out.items()}


def sql_within_targets(con, targets: dict[str, float] | None = None) -> pd.DataFrame:
    """`within_targets` of the view `history` in SQL: n known, within (≤), share."""
    targets = TARGETS if targets is None else targets
    cols = ", ".join(f"count({s}), count(*) FILTER (WHERE {s} <= {float(t)!r})" for s, t in targets.items())
    row = con.execute(f"SELECT {cols} FROM history").fetchone()
    rows = {}
    for i, (stage, limit) in enumerate(targets.items()):
        n, within = int(row[2 * i]), int(row[2 * i + 1])
        rows[stage] = {"target_minutes": float(limit), "n": n, "within": within,
                       "share": within / n if n else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("stage")
