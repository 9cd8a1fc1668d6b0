"""Two incidents side by side: durations and costs in a table, levels on one axis.

Both incidents are put on a common clock, hours since each one's own start
(its first `impact` milestone, else its first `detection`, as in
`incident.timeline`), so that "was Weimob's recovery slow compared with
GitLab's?" is read off one table and one figure.

Hours per impact level are measured on the time axis, not summed over
phases: phases of several components overlap, and an hour in which Actions
was down and Pages degraded is one hour of major outage (the worst level
wins). Spans no source reports, and phases that were only planned, are
levels of their own, so every hour of the incident is counted once.

Imprecise times stay ranges. A bound known only to the day may lie anywhere
in that day, and the union of the phases is worked out for every reading of
the bounds that can make it shortest or longest: a level's low is the least
time it can have had, its high the most. No midpoint is given as a value.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from incident.analysis.timeline import (
    DURATIONS, UNKNOWN, coverage_gaps, durations, format_hours, incident_start, phase_end, phase_table,
)
from incident.core.model import Incident

_METRICS = tuple(DURATIONS)  # the standard durations, in their order
PLANNED = "planned"  # a phase between milestones that were only planned or estimated
TOTAL = "total"
# Worst first: where phases overlap, the earlier level takes the hour.
LEVELS = ("major_outage", "partial_outage", "degraded_performance", "under_maintenance", "operational", PLANNED,
          UNKNOWN)
LEVEL_NAMES = {
    "major_outage": "major outage", "partial_outage": "partial outage",
    "degraded_performance": "degraded performance", "under_maintenance": "maintenance",
    "operational": "operational (reported)", PLANNED: "planned, not known to have happened",
    UNKNOWN: "unknown (no source reports)",
}
MIN_RATIO_HOURS = 1 / 60  # a ratio of spans under a minute says more about rounding than about the incidents
NOT_KNOWN = "not known"
_MAX_READINGS = 20_000  # readings of imprecise bounds tried exactly; beyond, simpler (wider) bounds


# -- hours per level ----------------------------------------------------------------
def level_hours(inc: Incident) -> pd.DataFrame:
    """Hours the incident spent at each impact level, the worst level winning where phases overlap.

    Index: the levels present (`LEVELS` order) and `total`, the union of
    everything, each hour once. Columns `hours_min`, `hours_max`: the least
    and most time the sources allow. Levels 'planned' (phases whose bounds
    only were planned or estimated) and 'unknown' (spans no source reports)
    are counted, never dropped.
    """
    pieces, variables = _pieces(inc)
    rows = {}
    if pieces:
        lows, highs = _level_ranges(pieces, variables)
        for level in LEVELS + (TOTAL,):
            if level == TOTAL or any(p[0] == level for p in pieces):
                rows[level] = {"hours_min": lows[level], "hours_max": highs[level]}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["hours_min", "hours_max"]).rename_axis("level")


def level_spans(inc: Incident) -> pd.DataFrame:
    """Where each level lies on the incident's clock (hours since its start), for drawing.

    One row per stretch: `level`, `start`, `end` (hours) and `sure`: True
    where every reading of the sources puts that level there, False where
    only some do (a bound known to the hour or day).
    """
    pieces, variables = _pieces(inc)
    rows = []
    if pieces:
        edges = _edges(pieces, variables)
        if 2 ** len(variables) <= _MAX_READINGS:
            corners = [_labels(pieces, edges, reading) for reading in _corners(variables)]
            seen = [{c[i] for c in corners} for i in range(len(edges) - 1)]
            sure = {lvl: [s == {lvl} for s in seen] for lvl in LEVELS}
            maybe = {lvl: [lvl in s for s in seen] for lvl in LEVELS}
        else:
            sure, maybe = _wide_masks(pieces, variables, edges)
        for level in LEVELS:
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
                if maybe[level][i] or sure[level][i]:
                    rows.append({"level": level, "start": lo, "end": hi, "sure": bool(sure[level][i])})
    out = pd.DataFrame(rows, columns=["level", "start", "end", "sure"])
    return _merge_touching(out)


def _pieces(inc: Incident):
    """Each phase and gap as (level, start, end) on hours since the start.

    A bound is a number (known to the minute) or the name of a variable in
    `variables`: name → (earliest, latest) hours, for bounds known to the hour
    or day. Phases that name the same milestone share its variable, so two
    phases meeting on 'some time on 25 February' meet there in every reading.
    """
    phases = phase_table(inc)
    t0 = _start_time(inc, phases)
    hours = lambda t: (pd.Timestamp(t) - t0).total_seconds() / 3600  # noqa: E731
    variables: dict[str, tuple[float, float]] = {}

    def bound(ref: str | None):
        when = phase_end(inc, ref)  # a reference, or None: an open phase ends where the file stops
        lo, hi = (hours(t) for t in when.bounds())
        if hi - lo < 1e-9 or ref is None:
            return lo
        variables[ref] = (lo, hi)
        return ref

    pieces = []
    for p, status in zip(inc.phases, phases["status"]):
        level = p.impact if status == "happened" else PLANNED
        pieces.append((level, bound(p.start), bound(p.end)))
    for g in coverage_gaps(inc, phases).itertuples():
        pieces.append((UNKNOWN, hours(g.start), hours(g.end_latest)))
    return pieces, variables


def _at(b, reading) -> float:
    return reading[b] if isinstance(b, str) else b


def _labels(pieces, edges, reading) -> list:
    """The worst level over each elementary span between `edges`, for one reading of the bounds."""
    rank = {lvl: k for k, lvl in enumerate(LEVELS)}
    mids = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    best = np.full(len(mids), len(LEVELS))
    for level, s, e in pieces:
        inside = (mids > _at(s, reading)) & (mids < _at(e, reading))
        best = np.where(inside, np.minimum(best, rank[level]), best)
    return [LEVELS[b] if b < len(LEVELS) else None for b in best]


def _edges(pieces, variables) -> list[float]:
    """Every time a bound can take in a reading tried: the fixed times and the variables' ends."""
    points = {b for _, s, e in pieces for b in (s, e) if not isinstance(b, str)}
    points |= {x for lo_hi in variables.values() for x in lo_hi}
    return sorted(points)


def _corners(variables):
    names = sorted(variables)
    for choice in itertools.product(*(variables[n] for n in names)):
        yield dict(zip(names, choice))


def _readings(variables, edges):
    """Readings of the bounds among which the shortest and longest union lie.

    The hours of a level are linear in the bounds while their order stays
    the same, so they are extreme where each bound sits on an end of its
    interval or on another fixed time: trying those is exact.
    """
    names = sorted(variables)
    options = [[x for x in edges if variables[n][0] - 1e-9 <= x <= variables[n][1] + 1e-9] for n in names]
    if math.prod(len(o) for o in options) > _MAX_READINGS:
        return None
    return (dict(zip(names, choice)) for choice in itertools.product(*options))


def _level_ranges(pieces, variables):
    edges = _edges(pieces, variables)
    widths = np.diff(edges)
    lows = dict.fromkeys(LEVELS + (TOTAL,), math.inf)
    highs = dict.fromkeys(LEVELS + (TOTAL,), 0.0)
    readings = _readings(variables, edges)
    if readings is None:
        return _wide_ranges(pieces, variables, edges, widths)
    for reading in readings:
        labels = np.array(_labels(pieces, edges, reading), dtype=object)
        for level in LEVELS + (TOTAL,):
            h = float(widths[(labels != None) if level == TOTAL else (labels == level)].sum())  # noqa: E711
            lows[level], highs[level] = min(lows[level], h), max(highs[level], h)
    return lows, highs


def _wide_masks(pieces, variables, edges):
    """Per level, the stretches between `edges` it surely has and those it possibly has.

    Surely: inside a phase from its latest start to its earliest end, and in
    no worse phase by any reading. Possibly: from the earliest start to the
    latest end, and not surely in a worse level. Wider than trying readings
    (a bound two phases share is taken apart), used when they are too many.
    """
    early = {n: lo for n, (lo, _) in variables.items()}
    late = {n: hi for n, (_, hi) in variables.items()}
    pick = lambda b, side: side[b] if isinstance(b, str) else b  # noqa: E731
    mids = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2

    def covered(levels, first, last):
        inside = np.zeros(len(mids), bool)
        for lvl, s, e in pieces:
            if lvl in levels:
                inside |= (mids > pick(s, first)) & (mids < pick(e, last))
        return inside

    sure, maybe = {}, {}
    for k, level in enumerate(LEVELS):
        worse = set(LEVELS[:k])
        sure[level] = covered({level}, late, early) & ~covered(worse, early, late)
        maybe[level] = covered({level}, early, late) & ~covered(worse, late, early)
    sure[TOTAL], maybe[TOTAL] = covered(set(LEVELS), late, early), covered(set(LEVELS), early, late)
    return sure, maybe


def _wide_ranges(pieces, variables, edges, widths):
    sure, maybe = _wide_masks(pieces, variables, edges)
    return ({lvl: float(widths[m].sum()) for lvl, m in sure.items()},
            {lvl: float(widths[m].sum()) for lvl, m in maybe.items()})


def _merge_touching(spans: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for r in spans.sort_values(["level", "sure", "start"], kind="stable").itertuples(index=False):
        if rows and rows[-1]["level"] == r.level and rows[-1]["sure"] == r.sure and abs(rows[-1]["end"] - r.start) < 1e-9:
            rows[-1]["end"] = r.end
        else:
            rows.append(r._asdict())
    out = pd.DataFrame(rows, columns=["level", "start", "end", "sure"])
    order = {lvl: k for k, lvl in enumerate(LEVELS)}
    return out.sort_values(["level", "start"], key=lambda c: c.map(order) if c.name == "level" else c,
                           kind="stable").reset_index(drop=True)


# -- the table ------------------------------------------------------------------------
def compare_table(a: Incident, b: Incident) -> pd.DataFrame:
    """Durations and costs of two incidents, one row per measure, as a reader writes them.

    Columns: `unit`; one per incident id with the value as text ('3 h 03 min',
    a range '29–53 h', 'not known' where the incident lacks the measure);
    `ratio` (first / second, as text, '—' where it would mislead: either
    side under a minute, or a range reaching down to under a minute); and
    numeric `<id> low` and `<id> high` columns (hours, or the currency) for
    computing, NaN where not known. Hours per level are the union of the
    phases on the time axis (`level_hours`), never a sum of overlapping phases.
    """
    ia, ib = _label(a), _label(b, avoid=_label(a))
    rows: dict[str, dict] = {}
    for inc, col in ((a, ia), (b, ib)):
        for measure, unit, lo, hi, text in _measures(inc):
            row = rows.setdefault(measure, {"unit": unit})
            row[col], row[f"{col} low"], row[f"{col} high"] = text, lo, hi
    # a level neither incident has is no news; 'no source reports' is, even when none
    for level in LEVELS:
        level_row = rows.get(_level_measure(level))
        if level != UNKNOWN and level_row is not None and not any(level_row.get(f"{c} high", 0) > 0 for c in (ia, ib)):
            del rows[_level_measure(level)]
    order = [f"hours {m.replace('_', ' ')}" for m in _METRICS] + [_level_measure(lvl) for lvl in LEVELS + (TOTAL,)]
    index = [m for m in order if m in rows] + sorted(m for m in rows if m not in order)
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(index)
    for col in (ia, ib):
        for part in ("low", "high"):
            if f"{col} {part}" not in table:
                table[f"{col} {part}"] = np.nan
        table[f"{col} low"] = table[f"{col} low"].astype(float)
        table[f"{col} high"] = table[f"{col} high"].astype(float)
        if col not in table:
            table[col] = NOT_KNOWN
        table[col] = table[col].fillna(NOT_KNOWN)
    table["ratio"] = [
        ratio_text(r[f"{ia} low"], r[f"{ia} high"], r[f"{ib} low"], r[f"{ib} high"], hours=r["unit"] == "hours")
        for _, r in table.iterrows()
    ]
    table.index.name = "measure"
    return table[["unit", ia, ib, "ratio", f"{ia} low", f"{ia} high", f"{ib} low", f"{ib} high"]]


def ratio_text(a_lo: float, a_hi: float, b_lo: float, b_hi: float, hours: bool = True) -> str:
    """'7.0×', a range '1.2–3.4×', or '—' when either side is missing, zero or (for hours) under a minute."""
    values = (a_lo, a_hi, b_lo, b_hi)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return "—"
    floor = MIN_RATIO_HOURS if hours else 0.0
    if min(a_lo, b_lo) < floor or min(a_lo, b_lo) <= 0:
        return "—"
    lo, hi = a_lo / b_hi, a_hi / b_lo
    if math.isclose(lo, hi, rel_tol=0.005):
        return f"{_ratio_number(lo)}×"
    return f"{_ratio_number(lo)}–{_ratio_number(hi)}×"


def _ratio_number(r: float) -> str:
    if r >= 10:
        return f"{r:,.0f}"
    if r >= 0.1:
        return f"{r:.1f}" if r >= 1 else f"{r:.2f}"
    return f"{r:.2g}"


def _level_measure(level: str) -> str:
    if level == TOTAL:
        return "hours in total (each hour once)"
    return f"hours {LEVEL_NAMES[level]}" if level in (UNKNOWN, PLANNED) else f"hours in {LEVEL_NAMES[level]}"


def _label(inc: Incident, avoid: str | None = None) -> str:
    return inc.id if inc.id != avoid else f"{inc.id} (2)"


def _measures(inc: Incident):
    """(measure, unit, low, high, text) for one incident."""
    d = durations(inc).set_index("metric")
    for metric in _METRICS:
        if metric in d.index:
            r = d.loc[metric]
            yield (f"hours {metric.replace('_', ' ')}", "hours", float(r["hours_min"]), float(r["hours_max"]),
                   format_hours(r["hours_min"], r["hours_max"]))
    levels = level_hours(inc)
    if len(levels):
        for level in LEVELS:
            lo, hi = levels.loc[level, ["hours_min", "hours_max"]] if level in levels.index else (0.0, 0.0)
            yield _level_measure(level), "hours", float(lo), float(hi), format_hours(lo, hi) if hi > 0 else "none"
        lo, hi = levels.loc[TOTAL, ["hours_min", "hours_max"]]
        yield _level_measure(TOTAL), "hours", float(lo), float(hi), format_hours(lo, hi)
    prov = inc.provision
    if prov is not None:
        yield f"provision ({prov.currency})", prov.currency, float(prov.total), float(prov.total), f"{prov.total:,.0f} {prov.currency}"


# -- phases, one by one -------------------------------------------------------------------
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
