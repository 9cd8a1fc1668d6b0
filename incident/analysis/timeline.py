"""Milestones, phases and the standard durations of an incident, as tables.

Imprecise times stay imprecise: a milestone known only to the day spans that
whole day, and a duration that starts or ends on it is a range
(`hours_min`..`hours_max`). `hours` is the middle of that range, given so that
tables sort and plot; `hours_min` and `hours_max` are the facts.
"""

from __future__ import annotations

import pandas as pd

from incident.core.model import Incident
from incident.core.times import When, span_hours

# Which milestones each standard duration spans (see docs/format.md).
# The incident starts at its first `impact` milestone, or else its first
# `detection`; each duration ends at the first (or, for recovery, the last)
# milestone of the named kind.
DURATIONS = {
    "time_to_detect": ("detection", "first"),
    "time_to_diagnose": ("diagnosis", "first"),
    "time_to_mitigate": ("mitigation", "first"),
    "time_to_recover": ("recovery", "last"),
}


def milestone_table(inc: Incident) -> pd.DataFrame:
    """One row per milestone, in time order.

    `time` is the start of what the source allows and `time_latest` its end:
    equal for times known to the minute, a whole day apart for a date.
    """
    rows = []
    for m in inc.milestones:
        w = inc.when(m.id)
        lo, hi = w.bounds()
        rows.append(
            {
                "id": m.id,
                "time": pd.Timestamp(lo),
                "time_latest": pd.Timestamp(hi),
                "precision": w.precision,
                "approximate": w.approximate,
                "when": w.label(),
                "kind": m.kind,
                "title": m.title,
                "description": m.description,
                "sources": ", ".join(m.sources),
            }
        )
    table = pd.DataFrame(rows, columns=_MILESTONE_COLUMNS)
    if rows:
        table["time"] = _local(table["time"], inc)
        table["time_latest"] = _local(table["time_latest"], inc)
    return table.sort_values(["time", "time_latest"], kind="stable").reset_index(drop=True)


_MILESTONE_COLUMNS = [
    "id", "time", "time_latest", "precision", "approximate", "when", "kind", "title", "description", "sources",
]


def phase_table(inc: Incident) -> pd.DataFrame:
    """One row per phase: its bounds and its duration range in hours."""
    rows = []
    for p in inc.phases:
        start, end = inc.when(p.start), inc.when(p.end)
        lo, hi = span_hours(start, end)
        rows.append(
            {
                "phase": p.name,
                "id": p.id,
                "component": p.component,
                "impact": p.impact,
                "start": pd.Timestamp(start.bounds()[0]),
                "start_latest": pd.Timestamp(start.bounds()[1]),
                "end": pd.Timestamp(end.bounds()[0]),
                "end_latest": pd.Timestamp(end.bounds()[1]),
                "start_label": start.label(),
                "end_label": end.label(),
                "hours_min": lo,
                "hours_max": hi,
                "hours": (lo + hi) / 2,
                "description": p.description,
            }
        )
    table = pd.DataFrame(rows, columns=_PHASE_COLUMNS)
    for col in ("start", "start_latest", "end", "end_latest"):
        if rows:
            table[col] = _local(table[col], inc)
    return table


_PHASE_COLUMNS = [
    "phase", "id", "component", "impact", "start", "start_latest", "end", "end_latest",
    "start_label", "end_label", "hours_min", "hours_max", "hours", "description",
]


def incident_start(inc: Incident) -> str | None:
    """Id of the milestone the incident's durations count from."""
    for kind in ("impact", "detection"):
        ms = [m for m in inc.milestones if m.kind == kind]
        if ms:
            return min(ms, key=lambda m: inc.when(m.id).earliest).id
    return None


def durations(inc: Incident) -> pd.DataFrame:
    """Time to detect, diagnose, mitigate and recover, as hour ranges.

    Each row names the milestones it spans; a metric whose end milestone is
    missing is left out rather than guessed.
    """
    start_id = incident_start(inc)
    rows = []
    if start_id is not None:
        start = inc.when(start_id)
        for metric, (kind, which) in DURATIONS.items():
            ms = sorted((m for m in inc.milestones if m.kind == kind), key=lambda m: inc.when(m.id).earliest)
            if not ms:
                continue
            end_m = ms[0] if which == "first" else ms[-1]
            end = inc.when(end_m.id)
            lo, hi = span_hours(start, end)
            rows.append(
                {
                    "metric": metric,
                    "from": start_id,
                    "to": end_m.id,
                    "from_when": start.label(),
                    "to_when": end.label(),
                    "hours_min": lo,
                    "hours_max": hi,
                    "hours": (lo + hi) / 2,
                    "exact": start.exact and end.exact,
                }
            )
    return pd.DataFrame(rows, columns=["metric", "from", "to", "from_when", "to_when", "hours_min", "hours_max", "hours", "exact"])


def window_hours(start: When, end: When) -> float:
    """Hours between two points, which must be known to the minute."""
    if not (start.exact and end.exact):
        raise ValueError(f"a window needs exact times, got {start.label()} → {end.label()}")
    return (end.earliest - start.earliest).total_seconds() / 3600


def compensated_window(inc: Incident) -> tuple[When, When, float]:
    """Start, end and hours of the cash scheme's compensated failure time."""
    cash = inc.compensation.cash if inc.compensation else None
    if cash is None:
        raise ValueError(f"incident {inc.id!r} has no cash compensation scheme")
    start, end = inc.when(cash.window_start), inc.when(cash.window_end)
    return start, end, window_hours(start, end)


def format_hours(lo: float, hi: float) -> str:
    """'182 h' for an exact span, '29–53 h' for a range."""
    if abs(hi - lo) < 1e-9:
        return f"{lo:,.1f} h".replace(".0 h", " h")
    return f"{lo:,.0f}–{hi:,.0f} h"


def _local(col: pd.Series, inc: Incident) -> pd.Series:
    """Times as one timezone-aware column in the incident's zone."""
    return pd.to_datetime(col, utc=True).dt.tz_convert(inc.timezone)
