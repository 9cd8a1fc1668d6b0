"""The history statistics on three engines: in memory, DuckDB or Spark over Parquet files.

    history_summary(table_or_paths, by="provider")                        # in memory ("pandas")
    history_summary("history.parquet", by="provider", engine="duckdb")    # DuckDB, out of core
    history_summary(["a.parquet", "b.parquet"], engine="spark")           # Spark (local here, a cluster there)

One signature, one result (the dict of `incident.analysis.history.history_summary`),
and one set of statistics: those of `incident.analysis.history_stats`, each
written once as an ibis expression. The engines differ only in where the
table is and who runs them:

- "pandas" (the default): the table is read into memory by pandas, from any
  format `history_table` reads (of a Parquet file only the columns the
  statistics need), and DuckDB runs the statistics on it in this process
  (`history_stats.in_memory`). The only engine with the bootstrap CI of the
  median, which resamples the values in memory. Fine up to a few million
  incidents (docs/history.md gives the measured limits).
- "duckdb": DuckDB reads the Parquet files itself, only the columns a
  statistic needs, within a memory limit, spilling to a temporary folder
  when it must.
- "spark": Spark runs them, for histories beyond one machine.

DuckDB's memory limit and threads (`duckdb_settings`): the arguments
`memory_limit` and `threads` (`incident history --memory-limit 4GB --threads 2`),
else the environment variables INCIDENT_DUCKDB_MEMORY and INCIDENT_DUCKDB_THREADS,
else MEMORY_FRACTION of the machine's physical memory (`physical_memory`:
os.sysconf where the system has it, else psutil if installed, else
MEMORY_LIMIT) and every core (os.cpu_count). Running out of that memory is an
IncidentError naming the limit and how to raise it, never DuckDB's traceback.
Spark takes the threads as its local cores and the memory limit as its
driver's memory when this process starts it.

The engines agree within float rounding on counts, means, standard
deviations, medians and p90s (both exact, with numpy's linear interpolation:
`quantile_cont` in DuckDB, `percentile` in Spark), shares within the targets
and groups (tests/test_history_engine.py and tests/test_history_stats_engines.py,
on the real data, against numpy). Over files their CI of the median is the
distribution-free order-statistic interval (`intervals.median_rank_interval`),
which the in-memory engine gives too with `method="rank"`.

Which engine: `choose_engine` keeps pandas unless the Parquet sources' footers
say they hold more than BOOTSTRAP_MAX_RECORDS rows (where the CI is the rank
interval anyway) or more than the pandas engine's memory budget
(`history_parquet.MAX_MEMORY_ROWS`): a few MB of Parquet can hold tens of
millions of identical rows. An engine's errors (a damaged file, a file it
cannot read, running out of its memory limit) become one IncidentError naming
the file.

Every engine says what the statistics cover (`incident.analysis.history_coverage`):
whether scheduled maintenance windows are in (`exclude_maintenance` sets them
aside) and how many, and the stages a source gives only from some date on.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterable

import pandas as pd

from incident.core.errors import IncidentError
from incident.core.extras import available, optional
from incident.io.history_parquet import HistoryFile, error_text, inspect_history, is_parquet, read_history
from incident.io.history_schema import STAGES, combine
from incident.analysis import history_stats as hs
from incident.analysis.history_stats import MEMORY_LIMIT, THREADS, in_memory  # where the machine cannot tell
from incident.analysis.history import BOOTSTRAP_MAX_RECORDS, BY_CHOICES, history_table, summary_data

__all__ = ["ENGINES", "choose_engine", "history_summary", "load_history", "columns_for", "report_columns",
           "duckdb_settings",
           "physical_memory", "onsets_data"]

ENGINES = ("pandas", "duckdb", "spark")
ENGINE_NAMES = {"pandas": "pandas", "duckdb": "DuckDB", "spark": "Spark"}
MEMORY_FRACTION = 0.5  # of physical memory: DuckDB's cap by default, room left for pandas and the rest of the machine
MEMORY_SETTING = "INCIDENT_DUCKDB_MEMORY"  # the environment variable that sets another cap ("8GB")
THREADS_SETTING = "INCIDENT_DUCKDB_THREADS"  # the environment variable that sets DuckDB's threads ("2")
MEMORY_OPTION, THREADS_OPTION = "--memory-limit", "--threads"  # how `incident history` names them

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
    the columns the statistics need); the DuckDB and Spark engines read Parquet
    files (`write_history`, or `incident history SOURCE --save FILE.parquet`).
    `ci` as for `distribution`; their CI method is "rank" (the only one
    there), the pandas engine's default "bootstrap".
    Raises IncidentError for a bad source (and for the bootstrap asked of DuckDB),
    ValueError for a bad option. `memory_limit` and `threads` are DuckDB's (`duckdb_settings`).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if by is not None and by not in BY_CHOICES:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(BY_CHOICES)}")
    if engine == "pandas":
        table = source if isinstance(source, pd.DataFrame) else load_history(source, _with_coverage(by))
        return _summary(in_memory(table), by, exclude_maintenance, dict(table.attrs.get("import_report", {})), ci)
    ci.setdefault("method", "rank")
    infos = parquet_sources(source, _with_coverage(by))
    files = [info.path for info in infos]
    if ci["method"] != "rank":  # an IncidentError (a ValueError too): the command says it in one line
        raise IncidentError.single(files[0], f"the {ENGINE_NAMES[engine]} engine gives the rank interval of the median (--ci rank); "
                                             "the bootstrap needs the values in memory: use --engine pandas")
    memory, threads = duckdb_settings(memory_limit, threads, files[0])
    with _engine_errors(engine, files, memory):
        con = _connect(engine, memory, threads, files[0])
        try:  # the footers were checked by parquet_sources
            return _summary(hs.history_table(files, con, checked=True), by, exclude_maintenance, _reports(infos), ci)
        finally:
            if engine == "duckdb":
                con.disconnect()


def _summary(t, by: str | None, exclude_maintenance: bool, report: dict, ci: dict) -> dict:
    """The summary of the ibis table `t`, whichever engine runs it, with what it covers."""
    if "maintenance_excluded" in report:  # a table that `history_coverage.exclude_maintenance` filtered already
        maintenance = {"included": False, "records": int(report["maintenance_excluded"])}
    else:
        count = int(t.filter(hs.is_maintenance(t)).count().execute())
        maintenance = {"included": not exclude_maintenance, "records": count}
        if exclude_maintenance:
            t = t.filter(~hs.is_maintenance(t))
            report = {**report, "maintenance_excluded": count}
    stages = hs.shown_stages(t)
    stats = hs.stage_stats(t, stages, **ci)
    n = int(stats["N"].iloc[0]) if len(stats) else int(t.count().execute())
    groups = hs.group_stats(t, by, stages, **ci) if by else None
    return {**summary_data(n, stats, hs.within_targets(t), groups, by, report, ci),
            "maintenance": maintenance, "stage_onsets": onsets_data(hs.stage_onsets(t, stages))}


def _connect(engine: str, memory: str, threads: int, source: str):
    """An ibis connection to `engine` with the memory limit and threads; one line if DuckDB refuses the limit."""
    if engine == "spark":
        optional("pyspark", "the Spark engine", source)
        return hs.connect("pyspark", memory_limit=_spark_memory(memory), threads=threads)
    import duckdb

    try:
        return hs.connect("duckdb", memory_limit=memory, threads=threads)
    except duckdb.Error as exc:  # a memory limit DuckDB cannot read
        raise IncidentError.single(source, f"cannot start DuckDB with memory limit {memory!r} "
                                           f"({MEMORY_OPTION} or {MEMORY_SETTING}, e.g. 4GB): {error_text(exc)}") from None


def _spark_memory(memory: str) -> str:
    """DuckDB's size text ('4GB', '500MB', '4 GiB') as Spark's ('4g', '500m'): the driver's memory."""
    digits = "".join(c for c in memory if c.isdigit() or c == ".")
    unit = next((c for c in memory.upper() if c in "KMGT"), "M")
    return f"{max(1, int(float(digits or 1)))}{unit.lower()}"


class _engine_errors:
    """An engine's errors as one IncidentError naming the file: out of memory names the option that raises it."""

    def __init__(self, engine: str, files: list[str], memory: str):
        self.engine, self.files, self.memory = engine, files, memory

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        # the engines' own deprecation notices (pyspark on pandas 3, ibis on DuckDB 2) are not the user's
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ibis")
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        return self

    def __exit__(self, kind, exc, tb):
        self._warnings.__exit__(kind, exc, tb)
        if exc is None or isinstance(exc, IncidentError) or not isinstance(exc, Exception):
            return False
        text = error_text(exc)
        name = type(exc).__name__
        if self.engine == "duckdb" and (name == "OutOfMemoryException" or "out of memory" in text.lower()):
            raise IncidentError.single(_named(self.files, ""), out_of_memory(self.memory)) from None
        if _is_engine_error(exc):
            raise IncidentError.single(_named(self.files, text), f"the {ENGINE_NAMES[self.engine]} engine cannot "
                                                                 f"read it: {text}") from None
        return False


def _is_engine_error(exc: BaseException) -> bool:
    """Whether `exc` comes from DuckDB or Spark (their own exception classes), not from a bug of ours."""
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("duckdb", "_duckdb", "pyspark", "py4j")


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

    The pandas engine is kept unless the sources are all Parquet and hold more
    than BOOTSTRAP_MAX_RECORDS rows (read from their footers, nothing else):
    there the CI is the rank interval anyway, and DuckDB reading the files
    gives the same statistics in a fraction of the memory (docs/history.md),
    unless the bootstrap (`ci`) or `save` asks for the table in memory. Above
    the pandas engine's memory budget (`HistoryFile.fits_in_memory`) DuckDB
    is the only way; either switch comes with a note saying so.
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
        if len(infos) == len(paths) and total.rows > BOOTSTRAP_MAX_RECORDS and ci != "bootstrap" and save is None:
            return "duckdb", f"{total.rows:,} rows: using the DuckDB engine over the files (median CI by rank)"
        return engine, None
    largest = max(infos, key=lambda i: (i.rows, i.nbytes)).path
    if len(infos) < len(paths):
        why = "the DuckDB engine reads only Parquet: save the other sources with --save first"
    elif save is not None:
        why = "--save builds the table in memory: summarise the Parquet files with --engine duckdb, without --save"
    elif ci == "bootstrap":
        why = "the bootstrap CI needs the values in memory: use --ci rank (the DuckDB engine's)"
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


def columns_for(by: str | None) -> list[str]:
    """The columns the statistics (grouped by `by`) read: the stages and the group's key."""
    return list(STAGES) + (_KEY_COLUMNS.get(by, [by.replace("-", "_")]) if by else [])


def _with_coverage(by: str | None) -> list[str]:
    return list(dict.fromkeys(columns_for(by) + COVERAGE_COLUMNS))


def report_columns(group_by: Iterable[str] = ()) -> list[str]:
    """The columns the history report reads of a saved Parquet history: the stages, what its title and
    coverage say, and each grouping's key (a million incidents' titles and ids are not read)."""
    return list(dict.fromkeys([*_with_coverage(None), "provider", *(c for by in group_by for c in columns_for(by))]))


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
        raise ValueError("the DuckDB and Spark engines read Parquet files: write the table with write_history first")
    paths = [source] if isinstance(source, (str, Path)) else list(source)
    if not paths:
        raise IncidentError.single("<history>", "no history source given")
    files = []
    for path in paths:
        if not is_parquet(path):
            raise IncidentError.single(str(path), "the DuckDB and Spark engines read Parquet history files; "
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
