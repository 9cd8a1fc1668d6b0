"""A Statuspage feed as a history table: one row per incident, the stages from its updates.

The same points as importing the feed and loading the incidents, computed on
the feed's frames at once (`feed_frames`), so that a feed of a hundred
thousand updates becomes a table in well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from incident.io.history_schema import history_frame
from incident.io.statuspage.feed import COMPONENT_LEVELS
from incident.io.statuspage.frames import feed_frames, read_feed_frames

__all__ = ["feed_history", "frames_history", "worst_level"]

HOURS = {"detected": "hours_to_detect", "mitigated": "hours_to_mitigate", "resolved": "hours_to_resolve"}
_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_MINUTE = 60_000_000_000


def worst_level(levels: Iterable[str]) -> str | None:
    """The worst outage level among `levels` ('operational' is no outage)."""
    rank = [COMPONENT_LEVELS.index(level) for level in levels if level in COMPONENT_LEVELS]
    worst = max(rank, default=0)
    return COMPONENT_LEVELS[worst] if worst > 0 else None


def feed_history(feed: dict | str | Path) -> pd.DataFrame:
    """The history table of a Statuspage feed (dict or file), from its frames.

    Gives the same points as importing the feed and loading the incidents:
    start is `started_at`; detected the first 'investigating' update, unless
    the page dated the incident by that very post (within a minute);
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
    posted = first("investigating")
    same = (posted != nat) & (start != nat) & (np.abs(posted - start) < _NS_PER_MINUTE)
    points = {
        "start": start,
        # a start set by the first post says nothing of when the fault was detected (as on import)
        "detected": np.where(same, nat, posted),
        "mitigated": _fill(first("monitoring"), field("monitoring_at"), nat),
        "resolved": _fill(last("resolved"), field("resolved_at"), nat),
    }
    table = {
        "id": incidents["id"].to_numpy(),
        "source": np.full(n, "statuspage", dtype=object),
        "provider": incidents["page"].to_numpy(),
        "page": incidents["page"].to_numpy(),
        "title": incidents["name"].to_numpy(),
        "impact": incidents["impact"].to_numpy(),
        "page_impact": incidents["page_impact"].to_numpy(),
    }
    for point, ns in points.items():
        table[point] = pd.to_datetime(ns.view("datetime64[ns]"), utc=True)  # int64 min is NaT
        if point != "start":
            hours = (ns - start) / _NS_PER_HOUR
            table[HOURS[point]] = np.where((ns == nat) | (start == nat), np.nan, hours)
    identified = first("identified")
    table["tti"] = np.where((identified == nat) | (start == nat), np.nan, (identified - start) / _NS_PER_HOUR * 60)
    table["ttm"] = table["hours_to_mitigate"] * 60
    table["ttr"] = table["hours_to_resolve"] * 60
    # ttd stays NaN: the first 'investigating' post is not the detection of the fault
    report = {"records": n, "ttd_not_in_feed": n,
              **{f"{stage}_missing": int(np.isnan(table[stage]).sum()) for stage in ("tti", "ttm", "ttr")}}
    return history_frame(table, n, report)


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
