"""Many incidents as one table, and statistics that suit skewed durations.

Incident durations are heavily right-skewed: most incidents are short and a
few last very long. The mean is pulled up by those few and moves a lot when
one more long incident arrives, so a "mean time to recover" says little about
a typical incident or about the bad ones. The statistics here lead with the
median, the 90th percentile and the share within a target, give a bootstrap
confidence interval for the median, and show the mean only beside the median.
docs/history.md defines each statistic and the records it covers.

`history_table` reads any supported source into one table, one row per
incident, with the columns of `incident.io.history_schema.HISTORY_COLUMNS`
(each file format by its reader in `incident.io`, `history_sources.READERS`):
a folder of incident folders, a Statuspage feed, the ISSRE'22 postmortem data
set (file or folder) or GitHub's status history (JSON Lines), or a list of
`Incident`s. The stage durations `ttd`, `tti`, `ttm`, `ttr` are minutes from
the start, NaN where the source does not tell.

For incident files the points follow `incident.timeline`: the start is the
first `impact` milestone (else the first `detection`), then the first
detection, diagnosis and mitigation and the last recovery. For a milestone
known only to the hour or day, durations are the middle of the range its
sources allow and `exact` is False. For a Statuspage feed, `ttd` is NaN: the
first 'investigating' post is when the page told the public, not when the
fault was detected (the older `hours_to_detect` column still gives that post).

The statistics of the stages (`stage_stats`, `group_stats`, `within_targets`,
`quarterly_trend`, `stage_onsets`, `history_summary`) are each written once,
in `incident.analysis.history_stats`, and run here by DuckDB on the table in
memory (`in_memory`), as they run over Parquet files or on Spark
(`incident.analysis.history_engine`). Only the bootstrap CI of the median
works on the values in numpy (`intervals.median_ci`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from incident.core.errors import IncidentError
from incident.core.model import Incident
from incident.io.history_index import indexed_history, rows_table
from incident.io.history_schema import HISTORY_COLUMNS, STAGES, combine, import_report
from incident.io.history_sources import (
    FORMATS, detect_format, feed_files, incident_folders, read_history_file,
)
from incident.io.history_schema import NO_COMPONENT, UNKNOWN_GROUP  # noqa: F401 - the groups' labels, here too
from incident.io.loader import load
from incident.io.statuspage.history import HOURS as _HOURS, feed_history, worst_level
from incident.analysis.timeline import duration_records, incident_start
from incident.analysis import history_stats as hs
from incident.analysis.history_stats import BY_CHOICES, TARGETS, in_memory
from incident.analysis.intervals import (  # noqa: F401 - the CI's constants and methods, where users look for them
    CI_METHODS, LEVEL, MIN_N_FOR_CI, N_BOOT, SEED, median_ci, median_rank_interval,
)

__all__ = [
    "HISTORY_COLUMNS", "STAGES", "FORMATS", "TARGETS", "BY_CHOICES", "history_table", "detect_format", "combine",
    "import_report", "in_memory", "as_ibis", "stage_stats", "within_targets", "group_stats", "group_values",
    "quarterly_trend", "stage_onsets", "history_summary", "summary_data", "duration_stats", "share_over", "ecdf",
    "median_ci", "median_rank_interval", "CI_METHODS", "ci_for", "BOOTSTRAP_MAX_RECORDS",
]

_POINTS = {"detected": "time_to_detect", "mitigated": "time_to_mitigate", "resolved": "time_to_recover"}
_STAGE_METRICS = {"ttd": "time_to_detect", "tti": "time_to_diagnose", "ttm": "time_to_mitigate",
                  "ttr": "time_to_recover"}


def history_table(source: str | Path | Iterable[Incident] | dict, format: str | None = None,
                  index: bool = True) -> pd.DataFrame:
    """One row per incident from any supported source (see the module's doc).

    `source` may be a path (file or folder; its format is detected from its
    content unless `format` names one of FORMATS), a Statuspage feed as the
    dict `read_feed` returns, or an iterable of loaded `Incident`s. The import
    report is in `table.attrs["import_report"]`. Raises IncidentError for bad input.
    A folder of incident folders keeps an index of its rows (`folder_history`)
    unless `index` is False. A folder of feed files (`feed_files`) is read file
    by file, each in its detected format (or `format`), as one table; in a
    folder holding incident folders too, only the incident folders are read
    (`feed_files_not_read` counts the files beside them).
    """
    if isinstance(source, dict):
        return feed_history(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        folders = incident_folders(path) if path.is_dir() and format in (None, "incidents") else []
        if path.is_dir() and not folders and format not in ("incidents", "issre"):
            kinds = {f: format or detect_format(f) for f in feed_files(path)}
            if kinds and (format is not None or set(kinds.values()) != {"issre"}):  # ISSRE files: one data set
                return combine(history_table(f, format=kind) for f, kind in kinds.items())
        fmt = format or ("incidents" if folders else detect_format(path))
        if fmt not in FORMATS:
            raise IncidentError.single(str(path), f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        if fmt != "incidents":
            return read_history_file(path, fmt)
        if not folders:
            raise IncidentError.single(str(path), "not a folder of incidents (no incident.yaml found)")
        if folders == [path]:  # one incident folder: nothing to index
            return incidents_history([load(path)])
        table = folder_history(path, index=index, folders=folders)
        beside = len(feed_files(path))  # often the feed the incidents were imported from: read twice, counted twice
        if beside:
            table.attrs["import_report"]["feed_files_not_read"] = beside
        return table
    return incidents_history(source)


def folder_history(folder: str | Path, index: bool = True, folders: list[Path] | None = None) -> pd.DataFrame:
    """The history table of the incident folders in `folder`, reading only what changed.

    The rows are kept in `folder/.incident-history.parquet`, an index of each
    incident.yaml's row and key (path, size, mtime_ns, inode, ctime_ns); the
    next call reads again only the files added or whose key changed, and
    drops the removed ones (`incident.io.history_index`). The index is a
    cache: unreadable, of another version, or not writable (a read-only
    folder), it is rebuilt or skipped, never trusted; `index` False skips it.
    Every bad file is read again each time and reported: if any is bad,
    IncidentError lists them all (the good rows are indexed first).
    `folders` is `incident_folders(folder)` when the caller has it already.
    """
    return indexed_history(folder, _file_row, index=index, folders=folders)


def _file_row(file: Path) -> dict:
    """The history row of one incident.yaml (IncidentError if it does not validate)."""
    return _incident_row(load(file))


def incidents_history(incidents: Iterable[Incident]) -> pd.DataFrame:
    """The history table of loaded incidents (see the module's doc)."""
    return rows_table([_incident_row(inc) for inc in incidents])


def _incident_row(inc: Incident) -> dict:
    row: dict[str, Any] = {
        "id": inc.id,
        "provider": inc.organisation.name,
        "page": inc.organisation.name,
        "title": inc.title,
        "impact": worst_level(p.impact for p in inc.phases),
        "page_impact": None,
        "exact": True,
    }
    start_id = incident_start(inc)
    if start_id is None:
        return row
    row["start"] = inc.when(start_id).earliest
    table = {d["metric"]: d for d in duration_records(inc)}  # plain records: no DataFrame per incident
    for point, metric in _POINTS.items():
        if metric in table:
            d = table[metric]
            row[point] = inc.when(d["to"]).earliest
            row[_HOURS[point]] = d["hours"]
            row["exact"] = row["exact"] and bool(d["exact"])
    for stage, metric in _STAGE_METRICS.items():
        if metric in table:
            row[stage] = table[metric]["hours"] * 60
            row["exact"] = row["exact"] and bool(table[metric]["exact"])
    return row


# -- statistics for skewed durations -------------------------------------------
def duration_stats(table: pd.DataFrame, by: str | None = "impact", column: str = "hours_to_resolve") -> pd.DataFrame:
    """Count, median, p75, p90, p95 and max of a duration; the mean beside the median.

    One row per value of `by` (None: one row for all), plus 'all'. `mean_to_median`
    shows how far the long tail pulls the mean from a typical incident.
    """
    values = table[[column] + ([by] if by else [])].dropna(subset=[column])
    groups = [("all", values[column])]
    if by:
        groups = [(key, g[column]) for key, g in values.groupby(by, sort=True)] + groups
    rows = [_stats(name, col) for name, col in groups]
    out = pd.DataFrame(rows).set_index("group").rename_axis(by or "group")
    out.attrs["column"] = column
    return out


def _stats(name, col: pd.Series) -> dict:
    q = col.quantile([0.5, 0.75, 0.9, 0.95]) if len(col) else pd.Series(np.nan, index=[0.5, 0.75, 0.9, 0.95])
    median = q[0.5]
    mean = col.mean()
    return {
        "group": name,
        "count": int(col.count()),
        "median": median,
        "p75": q[0.75],
        "p90": q[0.9],
        "p95": q[0.95],
        "max": col.max(),
        "mean": mean,
        "mean_to_median": mean / median if median else np.nan,
    }


def share_over(table: pd.DataFrame, hours: float | Iterable[float], column: str = "hours_to_resolve") -> pd.Series:
    """Share of incidents (with a known duration) that lasted more than `hours`.

    One value per threshold, indexed by the threshold in hours.
    """
    values = table[column].dropna().to_numpy()
    thresholds = np.atleast_1d(np.asarray(hours, dtype=float))
    shares = (values[None, :] > thresholds[:, None]).mean(axis=1) if len(values) else np.full(len(thresholds), np.nan)
    return pd.Series(shares, index=pd.Index(thresholds, name="hours"), name=f"share over ({column})")


def ecdf(durations: pd.Series | np.ndarray | Iterable[float]) -> pd.DataFrame:
    """Empirical CDF: each distinct duration and the share of incidents at or below it."""
    values = pd.Series(durations, dtype=float).dropna().to_numpy()
    if not len(values):
        return pd.DataFrame({"hours": [], "share": []})
    x, counts = np.unique(values, return_counts=True)
    return pd.DataFrame({"hours": x, "share": np.cumsum(counts) / len(values)})


# -- stages as distributions ----------------------------------------------------
# Each statistic is written once, in `history_stats` (ibis): these run it on a pandas table, converted once
# per call (`as_ibis`: pass `in_memory(table)` to several of them to convert it once for all).
BOOTSTRAP_MAX_RECORDS = 100_000  # above: the rank interval (`ci_for`); resampling many large groups takes minutes


def ci_for(table: pd.DataFrame) -> dict:
    """The CI options a history's report uses: the bootstrap (the default) up to BOOTSTRAP_MAX_RECORDS
    records, the rank interval above, which needs no resampling and is what the engines over files give."""
    return {"method": "rank"} if len(table) > BOOTSTRAP_MAX_RECORDS else {}


def as_ibis(table) -> Any:
    """`table` as an ibis table: a pandas history table through `history_stats.in_memory`, an ibis one as is."""
    return table if not isinstance(table, pd.DataFrame) else in_memory(table)


def stage_stats(table, stages: Iterable[str] | None = None, **ci) -> pd.DataFrame:
    """`history_stats.stage_stats` of a history table: one row per stage, N, n, share known, mean, std,
    median, p90 and the median's CI (minutes); `ci` as there (the bootstrap by default)."""
    return hs.stage_stats(as_ibis(table), stages, **ci)


def within_targets(table, targets: dict[str, float] | None = None) -> pd.DataFrame:
    """`history_stats.within_targets`: per stage with a target, n known, how many within (≤ minutes), their share."""
    return hs.within_targets(as_ibis(table), targets)


def group_stats(table, by: str, stages: Iterable[str] | None = None, **ci) -> pd.DataFrame:
    """`history_stats.group_stats`: one row per (group of `by`, stage), groups sorted by name."""
    return hs.group_stats(as_ibis(table), by, stages, **ci)


def quarterly_trend(table, stage: str = "ttr", **ci) -> pd.DataFrame:
    """`history_stats.quarterly_trend`: per UTC quarter from the first to the last, records and `stage`'s
    distribution; records without a start as a last '(unknown)' row."""
    return hs.quarterly_trend(as_ibis(table), stage, **ci)


def stage_onsets(table, stages: Iterable[str] | None = None) -> pd.DataFrame:
    """`history_stats.stage_onsets`: per (source, stage) known only from a date on, that date and the
    records before and after it."""
    return hs.stage_onsets(as_ibis(table), stages)


def group_values(table, by: str, stage: str) -> pd.DataFrame:
    """`history_stats.group_values`: the known values of `stage` and their group of `by` (group, value)."""
    return hs.group_values(as_ibis(table), by, stage)


def history_summary(table: pd.DataFrame, by: str | None = None, **ci) -> dict:
    """The statistics of a history as plain data (what `incident history --json` prints).

    Keys: n, stages (per stage n, mean, median, p90, std, CI in minutes),
    within_targets, import_report, and groups (per group n and its stages) when `by` is given.
    `ci` passes method, level, n_boot, seed and min_n_for_ci to `history_stats`.
    For Parquet files, or another engine, see `incident.analysis.history_engine`.
    """
    t = as_ibis(table)
    return summary_data(len(table), stage_stats(t, **ci), within_targets(t),
                        group_stats(t, by, **ci) if by else None, by,
                        dict(table.attrs.get("import_report", {})), ci)


def summary_data(n: int, stats: pd.DataFrame, targets: pd.DataFrame, groups: pd.DataFrame | None,
                 by: str | None, report: dict, ci: dict) -> dict:
    """The summary dict of `history_summary` from the tables of `stage_stats`, `within_targets`
    and `group_stats`, whichever engine computed them."""
    method = ci.get("method", "bootstrap")
    out = {
        "n": int(n),
        "unit": "minutes",
        "ci": {"method": CI_METHODS[method], "level": ci.get("level", LEVEL),
               **({"resamples": ci.get("n_boot", N_BOOT), "seed": ci.get("seed", SEED)} if method == "bootstrap"
                  else {}),
               "min_n": ci.get("min_n_for_ci", MIN_N_FOR_CI)},
        "stages": {stage: _plain(row) for stage, row in stats.drop(columns="N").iterrows()},
        "within_targets": {stage: _plain(row) for stage, row in targets.iterrows()},
        "import_report": report,
    }
    if by:
        if groups is None:
            raise ValueError("a summary by group needs the groups table (group_stats)")
        out["by"] = by
        out["groups"] = {
            str(name): {"n": int(g["N"].iloc[0]),
                        "stages": {row.stage: _plain(row.drop(["group", "stage", "N"])) for _, row in g.iterrows()}}
            for name, g in groups.groupby("group", sort=False)
        }
    return out


_COUNTS = ("N", "n", "within")


def _plain(row: pd.Series) -> dict:
    """A row as JSON-ready values: ints stay ints, NaN becomes None."""
    out: dict[str, int | float | None] = {}
    for key, value in row.items():
        if key in _COUNTS and pd.notna(value):
            out[key] = int(value)
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            out[key] = None
        else:
            out[key] = float(value)
    return out
