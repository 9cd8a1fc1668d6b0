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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from incident.core.errors import IncidentError, capped
from incident.core.extras import available
from incident.core.model import Incident
from incident.io.history_schema import (
    HISTORY_COLUMNS, OPTIONAL_STAGES, STAGES, combine, exclude_negative, history_frame, import_report, shown_stages,
)
from incident.io.history_parquet import read_history, write_history
from incident.io.history_sources import (
    FORMATS, detect_format, feed_files, incident_folders, read_history_file,
)
from incident.io.issre import GROUP_SEPARATOR
from incident.io.loader import INCIDENT_FILE, load
from incident.io.statuspage.history import HOURS as _HOURS, feed_history, worst_level
from incident.analysis.timeline import duration_records, incident_start

__all__ = [
    "HISTORY_COLUMNS", "STAGES", "FORMATS", "TARGETS", "history_table", "detect_format", "combine",
    "import_report", "stage_stats", "within_targets", "median_ci", "group_stats", "by_component",
    "group_key", "by_mitigation", "quarterly_trend", "history_summary", "summary_data", "duration_stats", "share_over", "ecdf",
    "median_rank_ci", "median_rank_interval", "rank_fractions", "CI_METHODS", "ci_for", "BOOTSTRAP_MAX_RECORDS",
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


INDEX_FILE = ".incident-history.parquet"
INDEX_VERSION = "1"  # bump when the rows an incident gives change: older indexes are then rebuilt
# A file rewritten in place to the same size with its mtime restored (a checkout, `touch -r`, a sync
# tool) keeps path, size and mtime; its ctime still moves, and a file replaced by a rename has a new inode.
_FILE_KEYS = ["path", "size", "mtime_ns", "inode", "ctime_ns"]  # an index of other keys is rebuilt (`_read_index`)


def folder_history(folder: str | Path, index: bool = True, folders: list[Path] | None = None) -> pd.DataFrame:
    """The history table of the incident folders in `folder`, reading only what changed.

    Loading and validating an incident.yaml takes milliseconds; a folder of
    thousands takes minutes. So the rows are kept in `folder/.incident-history.parquet`
    (INDEX_FILE), one per incident.yaml with its path, size, mtime_ns, inode and
    ctime_ns; the next call reads again only the files added or whose key changed,
    and drops the removed ones. The index is a cache: unreadable, of another
    version, or not writable (a read-only folder), it is rebuilt or skipped,
    never trusted; without pyarrow (the `history` extra) it is not kept.
    Every bad file is read again each time and reported: if any is bad,
    IncidentError lists them all (the good rows are indexed first).
    `folders` is `incident_folders(folder)` when the caller has it already.
    """
    folder = Path(folder)
    index = index and available("pyarrow.parquet")
    files = [f / INCIDENT_FILE for f in (incident_folders(folder) if folders is None else folders)]
    seen = pd.DataFrame([_file_key(folder, f) for f in files], columns=_FILE_KEYS)
    old = _read_index(folder) if index else None
    if old is not None:
        kept = old.merge(seen, on=_FILE_KEYS, how="inner")
    else:
        kept = incidents_history([]).assign(**{k: [] for k in _FILE_KEYS})
    fresh = set(seen["path"]) - set(kept["path"])
    todo = [(file, key) for file, key in zip(files, seen.itertuples(index=False)) if key.path in fresh]
    rows: list[dict] = []
    keys, bad, problems = [], set(), []
    for (file, key), (row, error) in zip(todo, _rows_of([file for file, _ in todo])):
        if error is None:
            assert row is not None  # _row_of gives a row or an error, never neither
            rows.append(row)
            keys.append(key)
        else:
            bad.add(key.path)
            problems += error.problems
    new = _rows_frame(rows, negatives=False).assign(**{k: [getattr(key, k) for key in keys] for k in _FILE_KEYS})
    table = pd.concat([t for t in (kept, new) if len(t)] or [new], ignore_index=True)
    table = table.set_index("path").reindex([p for p in seen["path"] if p not in bad])
    table = table.reset_index()
    if index and (rows or old is None or len(old) != len(table)):
        _write_index(folder, table)
    if problems:
        raise IncidentError(capped(problems))
    out = table.drop(columns=_FILE_KEYS)
    report = _incidents_report(out)  # the index keeps the rows as the files give them; negatives go here
    report.update(exclude_negative(out))
    out.attrs = {"import_report": report}
    return out


def _rows_of(files: list[Path]) -> list[tuple[dict | None, IncidentError | None]]:
    """(history row, None) or (None, the file's IncidentError) for each file, in order.

    In this process, one file after another: a few milliseconds a file, paid
    once per file thanks to the folder's index. A pool of two workers was
    measured (3,000 files, two cores): with `spawn` or `forkserver` each
    worker imports the stack again (1.5 to 3 CPU-s more in all) and the wall
    time went from 30% faster to 50% slower with the machine's load; only a
    forked pool was reliably faster, and fork is neither portable nor safe
    beside threads.
    """
    return [_row_of(f) for f in files]


def _row_of(file: Path) -> tuple[dict | None, IncidentError | None]:
    try:
        return _incident_row(load(file)), None
    except IncidentError as exc:
        return None, exc


def _file_key(folder: Path, file: Path) -> tuple[str, int, int, int, int]:
    st = file.stat()
    return file.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns


def _read_index(folder: Path) -> pd.DataFrame | None:
    path = folder / INDEX_FILE
    if not path.is_file():
        return None
    try:
        table = read_history(path)
    except IncidentError:
        return None  # a damaged index is rebuilt, not trusted
    if table.attrs.get("metadata", {}).get("index_version") != INDEX_VERSION or \
            list(table.columns) != HISTORY_COLUMNS + _FILE_KEYS:
        return None
    return table


def _write_index(folder: Path, table: pd.DataFrame) -> None:
    table = table.copy()
    table.attrs = {"import_report": _incidents_report(table)}
    try:
        write_history(table, folder / INDEX_FILE, metadata={"index_version": INDEX_VERSION})
    except OSError:
        pass  # a folder we may read but not write: the history is still right, only the next load is slower


def _incidents_report(table: pd.DataFrame) -> dict[str, int]:
    return {"records": len(table), **{f"{stage}_missing": int(table[stage].isna().sum()) for stage in shown_stages(table)}}


def incidents_history(incidents: Iterable[Incident]) -> pd.DataFrame:
    """The history table of loaded incidents (see the module's doc)."""
    return _rows_frame([_incident_row(inc) for inc in incidents])


def _rows_frame(rows: list[dict], negatives: bool = True) -> pd.DataFrame:
    columns = {col: [row.get(col) for row in rows] for col in HISTORY_COLUMNS if col != "components"}
    columns["source"] = ["incidents"] * len(rows)
    report = {"records": len(rows), **{f"{stage}_missing": sum(row.get(stage) is None for row in rows)
                                       for stage in STAGES if stage not in OPTIONAL_STAGES}}
    return history_frame(columns, len(rows), report, negatives=negatives)


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
TARGETS = {"ttd": 1.0, "tti": 5.0, "ttm": 10.0}  # minutes: detect in 1, identify in 5, mitigate in 10
MIN_N_FOR_CI = 10  # fewer known values than this: no confidence interval (it would be mostly noise)
N_BOOT = 2000
SEED = 16  # the number: any fixed seed makes the intervals reproducible
LEVEL = 0.95
EXACT_ABOVE = 10_000  # more values than this: the bootstrap draws each resample's median rank directly
BY_CHOICES = ("provider", "root-cause", "root-cause-l1", "mitigation", "component", "impact", "quarter",
              "source", "detection", "year")
UNKNOWN_GROUP = "(unknown)"
NO_COMPONENT = "(none)"


def median_ci(values, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median of `values` (NaNs left out).

    Method: `n_boot` resamples of the known values, drawn with replacement by
    `numpy.random.default_rng(seed)`; the interval is the (1 − level)/2 and
    (1 + level)/2 quantiles of the resamples' medians. Same seed, same interval.
    The draws are one (resamples × n) index array, chunked to bound memory.
    Above EXACT_ABOVE values, drawing n indices per resample is needlessly slow:
    each resample's (lower) median rank k is drawn instead from its exact
    distribution, P(rank ≤ k) = P(Binomial(n, k/n) ≥ ⌈n/2⌉), by inverting that
    CDF at seeded uniforms — the same bootstrap, without the n-fold cost.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    if n <= EXACT_ABOVE:
        medians = np.empty(n_boot)
        chunk = max(1, 4_000_000 // n)
        for lo in range(0, n_boot, chunk):
            hi = min(n_boot, lo + chunk)
            medians[lo:hi] = np.median(x[rng.integers(0, n, size=(hi - lo, n))], axis=1)
    else:
        ordered = np.sort(x)
        k = np.arange(1, n + 1)
        from scipy.special import bdtrc  # binomial survival function

        cdf = bdtrc((n + 1) // 2 - 1, n, k / n)
        medians = ordered[np.minimum(np.searchsorted(cdf, rng.random(n_boot)), n - 1)]
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


BOOTSTRAP_MAX_RECORDS = 100_000  # above: the rank interval (`ci_for`); resampling many large groups takes minutes


def ci_for(table: pd.DataFrame) -> dict:
    """The CI options a history's report uses: the bootstrap (the default) up to BOOTSTRAP_MAX_RECORDS
    records, the rank interval above, which needs no resampling and is what DuckDB gives."""
    return {"method": "rank"} if len(table) > BOOTSTRAP_MAX_RECORDS else {}


CI_METHODS = {
    "bootstrap": "percentile bootstrap of the median",
    "rank": "binomial order-statistic interval of the median",
}


def median_rank_interval(n: int, level: float = LEVEL) -> tuple[int, int]:
    """The 1-based ranks (l, u) of the distribution-free CI of a median of `n` values: [x₍l₎, x₍u₎].

    The number of values below the true median is Binomial(n, ½); l is the
    (1 − level)/2 quantile of that law (at least 1) and u = n + 1 − l, so that
    [x₍l₎, x₍u₎] covers the true median with probability at least `level`.
    Only ranks: an engine that can take two quantiles of the values computes
    it without resampling (DuckDB does, see `history_engine`).
    """
    if n < 1:
        raise ValueError("no values: no rank interval")
    low = max(1, _binom_ppf((1 - level) / 2, n))
    return low, n + 1 - low


def _binom_ppf(q: float, n: int) -> int:
    """The smallest k with P(Binomial(n, ½) ≤ k) ≥ q (scipy.special, not the slow-to-import scipy.stats)."""
    from scipy.special import bdtr, bdtrik

    target = q * (1 - 1e-12)  # P(X ≤ 5) for n = 11 is ½ exactly, computed as 0.49999999999999978
    k = int(max(0.0, bdtrik(q, n, 0.5)))  # the continuous inverse: the answer is within a step of it
    while bdtr(k, n, 0.5) < target:
        k += 1
    while k > 0 and bdtr(k - 1, n, 0.5) >= target:
        k -= 1
    return k


def rank_fractions(n: int, level: float = LEVEL) -> tuple[float, float]:
    """The ranks of `median_rank_interval` as quantile fractions (r − 1)/(n − 1), for linear quantiles."""
    low, high = median_rank_interval(n, level)
    return ((low - 1) / (n - 1), (high - 1) / (n - 1)) if n > 1 else (0.0, 0.0)


def median_rank_ci(values, level: float = LEVEL) -> tuple[float, float]:
    """Distribution-free CI of the median of `values` (NaNs left out): the order statistics of
    `median_rank_interval`. No resampling, so it needs only two quantiles of the values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if not len(x):
        return (np.nan, np.nan)
    low, high = median_rank_interval(len(x), level)
    part = np.partition(x, [low - 1, high - 1])
    return float(part[low - 1]), float(part[high - 1])


def distribution(values, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = SEED,
                 min_n_for_ci: int = MIN_N_FOR_CI, method: str = "bootstrap") -> dict:
    """n known, mean, std, median, p90 and the median's CI of `values` (NaN = unknown).

    `method` is "bootstrap" (`median_ci`) or "rank" (`median_rank_ci`, which
    the DuckDB engine computes too).
    """
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; one of {', '.join(CI_METHODS)}")
    x = np.asarray(values, dtype=float)
    known = x[~np.isnan(x)]
    n = len(known)
    if n:
        median, p90 = np.percentile(known, [50, 90])  # linear interpolation, as pandas' quantile
        mean, std = known.mean(), known.std(ddof=1) if n > 1 else np.nan
    else:
        median = p90 = mean = std = np.nan
    if n < min_n_for_ci:
        low, high = np.nan, np.nan
    elif method == "rank":
        low, high = median_rank_ci(known, level)
    else:
        low, high = median_ci(known, level, n_boot, seed)
    return {"N": len(x), "n": n, "mean": float(mean), "std": float(std), "median": float(median),
            "p90": float(p90), "median_ci_low": low, "median_ci_high": high}


def stage_stats(table: pd.DataFrame, stages: Iterable[str] | None = None, **ci) -> pd.DataFrame:
    """One row per stage: N records, n with the stage known, mean, std, median, p90, median CI (minutes).

    Every statistic but N covers only the records where the stage is known.
    `stages` defaults to `shown_stages(table)` (tta only where a record knows it).
    `ci` passes level, n_boot, seed, min_n_for_ci to `median_ci`.
    """
    stages = shown_stages(table) if stages is None else stages
    rows = {stage: distribution(table[stage].to_numpy(dtype=float), **ci) for stage in stages}
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("stage")
    out.insert(2, "share_known", out["n"] / out["N"].where(out["N"] > 0))
    return out


def within_targets(table: pd.DataFrame, targets: dict[str, float] | None = None) -> pd.DataFrame:
    """Per stage with a target: n known, how many within the target (≤, minutes), and their share of n."""
    targets = TARGETS if targets is None else targets
    rows = {}
    for stage, limit in targets.items():
        known = table[stage].dropna().to_numpy(dtype=float)
        within = int((known <= limit).sum())
        rows[stage] = {"target_minutes": float(limit), "n": len(known), "within": within,
                       "share": within / len(known) if len(known) else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("stage")


def by_component(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (incident, component): incidents without a component under '(none)'.

    An incident touching three components counts in each of their groups, so
    the groups' counts add up to more than the incidents.
    """
    exploded = table.assign(component=table["components"].map(lambda c: list(c) if len(c) else [NO_COMPONENT]))
    return exploded.explode("component", ignore_index=True)


def by_mitigation(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (incident, mitigation group): incidents without one under '(unknown)'.

    `mitigation` joins a record's groups with '+' (`incident.io.issre.GROUP_SEPARATOR`):
    a record that rolled back and restarted counts in both groups, as the
    ISSRE'22 paper counts it, so the groups' counts add up to more than the incidents.
    """
    groups = table["mitigation"].map(lambda m: m.split(GROUP_SEPARATOR) if isinstance(m, str) and m else [UNKNOWN_GROUP])
    return table.assign(mitigation_group=groups).explode("mitigation_group", ignore_index=True)


def quarter(start: pd.Series) -> pd.Series:
    """'2024Q3' for each start time (UTC quarter); '(unknown)' where the start is missing."""
    q = start.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("Q").astype(str)
    return q.where(start.notna(), UNKNOWN_GROUP)


def group_key(table: pd.DataFrame, by: str) -> tuple[pd.DataFrame, pd.Series]:
    """The rows to group (exploded for 'component' and 'mitigation') and their group label, one of BY_CHOICES.

    A record whose key is missing goes to '(unknown)', so every record is in a group.
    """
    if by == "component":
        rows = by_component(table)
        return rows, rows["component"]
    if by == "mitigation":
        rows = by_mitigation(table)
        return rows, rows["mitigation_group"]
    if by == "quarter":
        return table, quarter(table["start"])
    if by == "year":  # UTC calendar year, as text: '2024'
        start = table["start"].dt.tz_convert("UTC")
        return table, start.dt.year.astype("Int64").astype(str).where(start.notna(), UNKNOWN_GROUP).astype(object)
    if by == "root-cause":
        l1, l2 = table["root_cause_l1"], table["root_cause_l2"]
        key = l1.where(l2.isna(), l1.astype(object) + " / " + l2.astype(object))
    elif by == "root-cause-l1":
        key = table["root_cause_l1"]
    elif by in BY_CHOICES:
        key = table[by]
    else:
        raise ValueError(f"cannot group by {by!r}; one of {', '.join(BY_CHOICES)}")
    return table, key.astype(object).where(key.notna(), UNKNOWN_GROUP)


def group_stats(table: pd.DataFrame, by: str, stages: Iterable[str] | None = None, **ci) -> pd.DataFrame:
    """Tidy per-group distributions: one row per (group, stage) with N, n, mean, std, median, p90, CI.

    `stages` defaults to `shown_stages(table)`.
    Groups are sorted by name; `N` is the group's records, the rest covers the
    records where the stage is known (see `distribution`).
    """
    stages = shown_stages(table) if stages is None else stages
    rows, key = group_key(table, by)
    out = []
    for name, group in rows.groupby(key.to_numpy(), sort=True):
        for stage in stages:
            out.append({"group": name, "stage": stage, **distribution(group[stage].to_numpy(dtype=float), **ci)})
    columns = ["group", "stage", "N", "n", "mean", "std", "median", "p90", "median_ci_low", "median_ci_high"]
    return pd.DataFrame(out, columns=columns)


def quarterly_trend(table: pd.DataFrame, stage: str = "ttr", **ci) -> pd.DataFrame:
    """Per calendar quarter (UTC), every quarter from the first to the last: records, n known,
    mean, median, p90 and the median's CI where n ≥ MIN_N_FOR_CI.

    `records` counts every record of the quarter, known stage or not; records
    without a start are one last '(unknown)' row, so `records` sums to the table's length.
    """
    q = quarter(table["start"])
    known = table["start"].dropna()
    index = []
    if len(known):
        span = known.dt.tz_localize(None).dt.to_period("Q")
        index = [str(p) for p in pd.period_range(span.min(), span.max(), freq="Q")]
    if (q == UNKNOWN_GROUP).any():
        index.append(UNKNOWN_GROUP)
    values = table[stage].to_numpy(dtype=float)
    groups = pd.Series(np.arange(len(table))).groupby(q.to_numpy()).indices
    rows = []
    for name in index:
        d = distribution(values[groups.get(name, [])], **ci)
        rows.append({"quarter": name, "records": d.pop("N"), **d})
    return pd.DataFrame(rows, columns=["quarter", "records", "n", "mean", "std", "median", "p90",
                                       "median_ci_low", "median_ci_high"])


def history_summary(table: pd.DataFrame, by: str | None = None, **ci) -> dict:
    """The statistics of a history as plain data (what `incident history --json` prints).

    Keys: n, stages (per stage n, mean, median, p90, std, CI in minutes),
    within_targets, import_report, and groups (per group n and its stages) when `by` is given.
    `ci` passes level, n_boot, seed, min_n_for_ci and method to `distribution`.
    For a Parquet file, or the DuckDB engine, see `incident.analysis.history_engine`.
    """
    return summary_data(len(table), stage_stats(table, **ci), within_targets(table),
                        group_stats(table, by, **ci) if by else None, by,
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
