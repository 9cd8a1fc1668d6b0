"""Two incidents side by side: durations and costs in a table, phases on one axis.

Both incidents are put on a common clock, hours since each one's own start
(its first `impact` milestone, else its first `detection`, as in
`incident.timeline`), so that "was Weimob's recovery slow compared with
GitLab's?" is read off one table and one figure. Imprecise times stay ranges:
the table gives the middle of each range and the range itself, the figure
draws the uncertain part of a phase lighter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident.core.model import Incident
from incident.analysis.timeline import durations, format_hours, incident_start, phase_table

_METRICS = ("time_to_detect", "time_to_diagnose", "time_to_mitigate", "time_to_recover")
_LEVELS = ("major_outage", "partial_outage", "degraded_performance", "under_maintenance")


def compare_table(a: Incident, b: Incident) -> pd.DataFrame:
    """Durations (hours) and costs of two incidents, one row per measure.

    Columns: `unit`, one per incident id (the middle of the range the sources
    allow), `ratio` (first / second) and one `<id> range` column each, as
    text ('29–53 h'). Phase hours are summed per impact level; phases of
    different components may overlap. A measure an incident lacks is NaN.
    """
    ia, ib = _label(a), _label(b, avoid=_label(a))
    rows: dict[str, dict] = {}
    for inc, col in ((a, ia), (b, ib)):
        for measure, unit, value, text in _measures(inc):
            row = rows.setdefault(measure, {"unit": unit})
            row[col] = value
            row[f"{col} range"] = text
    table = pd.DataFrame.from_dict(rows, orient="index")
    for col in (ia, ib, f"{ia} range", f"{ib} range"):
        if col not in table:
            table[col] = np.nan if "range" not in col else ""
    table[ia] = table[ia].astype(float)
    table[ib] = table[ib].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = np.where(table[ib] > 0, table[ia] / table[ib], np.nan)
    order = [f"hours {m.replace('_', ' ')}" for m in _METRICS] + [f"hours in {lvl.replace('_', ' ')}" for lvl in _LEVELS]
    table = table.loc[[m for m in order if m in table.index] + sorted(m for m in table.index if m not in order)]
    table.index.name = "measure"
    table = table[["unit", ia, ib, "ratio", f"{ia} range", f"{ib} range"]]
    table[[f"{ia} range", f"{ib} range"]] = table[[f"{ia} range", f"{ib} range"]].fillna("")
    return table


def _label(inc: Incident, avoid: str | None = None) -> str:
    return inc.id if inc.id != avoid else f"{inc.id} (2)"


def _measures(inc: Incident):
    """(measure, unit, value, range text) for one incident."""
    d = durations(inc).set_index("metric")
    for metric in _METRICS:
        if metric in d.index:
            r = d.loc[metric]
            yield f"hours {metric.replace('_', ' ')}", "hours", r["hours"], format_hours(r["hours_min"], r["hours_max"])
    phases = phase_table(inc)
    for level in _LEVELS:
        at_level = phases[phases["impact"] == level]
        if len(at_level):
            lo, hi = at_level["hours_min"].sum(), at_level["hours_max"].sum()
            yield f"hours in {level.replace('_', ' ')}", "hours", (lo + hi) / 2, format_hours(lo, hi)
    prov = inc.provision
    if prov is not None:
        yield f"provision ({prov.currency})", prov.currency, prov.total, f"{prov.total:,.0f} {prov.currency}"


def phase_hours(inc: Incident) -> pd.DataFrame:
    """The incident's phases in hours since its start: earliest and latest bounds.

    Columns: phase, impact, component, start_min, start_max, end_min, end_max.
    """
    phases = phase_table(inc)
    t0 = _start_time(inc, phases)
    out = pd.DataFrame({"phase": phases["phase"], "impact": phases["impact"], "component": phases["component"]})
    for col, src in (("start_min", "start"), ("start_max", "start_latest"), ("end_min", "end"), ("end_max", "end_latest")):
        out[col] = (phases[src] - t0).dt.total_seconds() / 3600 if len(phases) else pd.Series(dtype=float)
    return out


def _start_time(inc: Incident, phases: pd.DataFrame) -> pd.Timestamp:
    start_id = incident_start(inc)
    if start_id is not None:
        return pd.Timestamp(inc.when(start_id).earliest)
    if len(phases):
        return phases["start"].min()
    return pd.Timestamp(inc.when(inc.milestones[0].id).earliest) if inc.milestones else pd.Timestamp(0, tz="UTC")
