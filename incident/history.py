"""Many incidents as one table, and statistics that suit skewed durations.

Incident durations are heavily right-skewed: most incidents are short and a
few last very long. The mean is pulled up by those few and moves a lot when
one more long incident arrives, so a "mean time to recover" says little about
a typical incident or about the bad ones. The median, the upper percentiles
and the share of incidents over a threshold describe the distribution;
`duration_stats` gives the mean only beside the median, for comparison.

`history_table` takes a folder of incident folders, a Statuspage feed, or a
list of `Incident`s, and gives one row per incident with the same columns:

    id, page, title, impact, page_impact, start, detected, mitigated, resolved,
    hours_to_detect, hours_to_mitigate, hours_to_resolve, exact

Times are UTC. The points follow `incident.timeline`: the start is the first
`impact` milestone (else the first `detection`), then the first detection, the
first mitigation and the last recovery. For a milestone known only to the hour
or day, hours are the middle of the range its sources allow and `exact` is
False. `impact` is the worst outage level of the incident's phases (or, for a
feed, of its component statuses); `page_impact` is a status page's own rating.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import IncidentError
from .loader import INCIDENT_FILE, load
from .model import Incident
from .statuspage import COMPONENT_LEVELS, feed_frames, read_feed_frames
from .timeline import durations, incident_start

HISTORY_COLUMNS = [
    "id", "page", "title", "impact", "page_impact", "start", "detected", "mitigated", "resolved",
    "hours_to_detect", "hours_to_mitigate", "hours_to_resolve", "exact",
]
_POINTS = {"detected": "time_to_detect", "mitigated": "time_to_mitigate", "resolved": "time_to_recover"}
_HOURS = {"detected": "hours_to_detect", "mitigated": "hours_to_mitigate", "resolved": "hours_to_resolve"}
_NS_PER_HOUR = 3_600_000_000_000


def history_table(source: str | Path | Iterable[Incident] | dict) -> pd.DataFrame:
    """One row per incident, from a folder of incidents, a feed, or Incidents.

    `source` may be a folder whose subfolders hold incident.yaml, a
    Statuspage incidents.json (path, or the dict `read_feed` returns), or an
    iterable of loaded `Incident`s. Raises IncidentError for bad input.
    """
    if isinstance(source, dict):
        return feed_history(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_file() and path.suffix.lower() == ".json":
            return feed_history(path)
        if path.is_dir():
            return incidents_history(load(f) for f in incident_folders(path))
        raise IncidentError.single(str(path), "not a folder of incidents nor a Statuspage .json feed")
    return incidents_history(source)


def incident_folders(folder: str | Path) -> list[Path]:
    """The folders holding an incident.yaml, the folder itself or one level down."""
    folder = Path(folder)
    if (folder / INCIDENT_FILE).is_file():
        return [folder]
    return sorted(p.parent for p in folder.glob(f"*/{INCIDENT_FILE}"))


def incidents_history(incidents: Iterable[Incident]) -> pd.DataFrame:
    """The history table of loaded incidents (see the module's doc)."""
    rows = [_incident_row(inc) for inc in incidents]
    table = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return _typed(table)


def _incident_row(inc: Incident) -> dict:
    row = {
        "id": inc.id,
        "page": inc.organisation.name,
        "title": inc.title,
        "impact": worst_level(p.impact for p in inc.phases),
        "page_impact": None,
        "exact": True,
    }
    start_id = incident_start(inc)
    if start_id is None:
        return row
    row["start"] = pd.Timestamp(inc.when(start_id).earliest)
    table = durations(inc).set_index("metric")
    for point, metric in _POINTS.items():
        if metric in table.index:
            d = table.loc[metric]
            row[point] = pd.Timestamp(inc.when(d["to"]).earliest)
            row[_HOURS[point]] = d["hours"]
            row["exact"] = row["exact"] and bool(d["exact"])
    return row


def worst_level(levels: Iterable[str]) -> str | None:
    """The worst outage level among `levels` ('operational' is no outage)."""
    rank = [COMPONENT_LEVELS.index(level) for level in levels if level in COMPONENT_LEVELS]
    worst = max(rank, default=0)
    return COMPONENT_LEVELS[worst] if worst > 0 else None


def feed_history(feed: dict | str | Path) -> pd.DataFrame:
    """The history table of a Statuspage feed (dict or file), from its frames.

    Gives the same points as importing the feed and loading the incidents:
    start is `started_at`; detected the first 'investigating' update;
    mitigated the first 'monitoring' update, else `monitoring_at`; resolved
    the last 'resolved' update, else `resolved_at`.
    """
    incidents, updates = feed_frames(feed) if isinstance(feed, dict) else read_feed_frames(feed)
    return frames_history(incidents, updates)


def frames_history(incidents: pd.DataFrame, updates: pd.DataFrame) -> pd.DataFrame:
    """The history table of the (incidents, updates) frames of a feed."""
    n = len(incidents)
    when = updates["created_at"].to_numpy("datetime64[ns]").view(np.int64)
    position = updates["incident"].to_numpy()
    status = updates["status"].astype(object).to_numpy()

    def first(name: str) -> np.ndarray:
        return _reduce(when, position, status == name, n, np.minimum)

    def last(name: str) -> np.ndarray:
        return _reduce(when, position, status == name, n, np.maximum)

    def field(col: str) -> np.ndarray:
        return incidents[col].to_numpy("datetime64[ns]").view(np.int64)

    nat = np.iinfo(np.int64).min
    first_update = _reduce(when, position, np.ones(len(when), bool), n, np.minimum)
    start = _fill(_fill(field("started_at"), field("created_at"), nat), first_update, nat)
    points = {
        "start": start,
        "detected": first("investigating"),
        "mitigated": _fill(first("monitoring"), field("monitoring_at"), nat),
        "resolved": _fill(last("resolved"), field("resolved_at"), nat),
    }
    table = pd.DataFrame(
        {
            "id": incidents["id"],
            "page": incidents["page"],
            "title": incidents["name"],
            "impact": incidents["impact"],
            "page_impact": incidents["page_impact"],
        }
    )
    for point, ns in points.items():
        table[point] = pd.to_datetime(ns.view("datetime64[ns]"), utc=True)  # int64 min is NaT
        if point != "start":
            hours = (ns - start) / _NS_PER_HOUR
            table[_HOURS[point]] = np.where((ns == nat) | (start == nat), np.nan, hours)
    table["exact"] = True
    return _typed(table[HISTORY_COLUMNS])


def _reduce(values: np.ndarray, groups: np.ndarray, mask: np.ndarray, n: int, ufunc) -> np.ndarray:
    """Per group min or max of `values` where `mask`; NaT (int64 min) for none."""
    nat = np.iinfo(np.int64).min
    init = np.iinfo(np.int64).max if ufunc is np.minimum else nat
    out = np.full(n, init, dtype=np.int64)
    ok = mask & (values != nat)
    ufunc.at(out, groups[ok], values[ok])
    out[out == np.iinfo(np.int64).max] = nat
    return out


def _fill(values: np.ndarray, fallback: np.ndarray, nat: int) -> np.ndarray:
    return np.where(values == nat, fallback, values)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    for col in ("start", "detected", "mitigated", "resolved"):
        table[col] = pd.to_datetime(table[col], utc=True).astype("datetime64[ns, UTC]")
    for col in ("hours_to_detect", "hours_to_mitigate", "hours_to_resolve"):
        table[col] = pd.to_numeric(table[col]).astype(float)
    table["impact"] = table["impact"].fillna("unknown")
    table["exact"] = table["exact"].astype(bool)
    return table.reset_index(drop=True)


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
