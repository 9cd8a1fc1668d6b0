"""Milestones, phases and the standard durations of an incident, as tables.

Imprecise times stay imprecise: a milestone known only to the day spans that
whole day, and a duration that starts or ends on it is a range
(`hours_min`..`hours_max`). `hours` is the middle of that range, given so that
tables sort and plot; `hours_min` and `hours_max` are the facts.

What was only planned or estimated is not an event: the standard durations
count from and to milestones that happened, and every table carries each
milestone's `status` so that a figure or a report can say "planned". Where the
phases leave part of the incident uncovered, `coverage_gaps` says so instead
of letting the span drop out of every total.
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher

import pandas as pd

from incident.core.model import Incident, Milestone
from incident.core.times import When, span_hours
from incident.io.loader import duration_start

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
    return inc.memo("milestone_table", lambda: _milestone_table(inc))


def _milestone_table(inc: Incident) -> pd.DataFrame:
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
                "status": m.status,
                "title": m.title,
                "description": m.description,
                "quote": m.quote,
                "sources": ", ".join(m.sources),
            }
        )
    table = pd.DataFrame(rows, columns=_MILESTONE_COLUMNS)
    if rows:
        table["time"] = _local(table["time"], inc)
        table["time_latest"] = _local(table["time_latest"], inc)
    return table.sort_values(["time", "time_latest"], kind="stable").reset_index(drop=True)


_MILESTONE_COLUMNS = [
    "id", "time", "time_latest", "precision", "approximate", "when", "kind", "status", "title", "description",
    "quote", "sources",
]
UNKNOWN = "unknown"  # the impact level of a span no source reports
GAP_NAME = "No source reports this span"


def status_of(inc: Incident, ref: str) -> str:
    """'happened', 'planned' or 'estimate' for a milestone id; a time written out happened."""
    m = inc.milestones_by_id.get(ref)
    return m.status if m is not None else "happened"


def phase_table(inc: Incident, gaps: bool = False) -> pd.DataFrame:
    """One row per phase: its bounds, its duration range in hours and its status.

    A phase between two planned (or estimated) milestones is itself only
    planned: `status` is the least certain status of its bounds. With
    `gaps`, the spans no phase covers (`coverage_gaps`) are rows too, in time
    order, with impact 'unknown'. Built once per incident.
    """
    return inc.memo(("phase_table", gaps), lambda: _phase_table(inc, gaps))


def _phase_table(inc: Incident, gaps: bool) -> pd.DataFrame:
    rows = []
    for p in inc.phases:
        start, end = inc.when(p.start), phase_end(inc, p.end)
        lo, hi = span_hours(start, end)
        statuses = {status_of(inc, p.start), status_of(inc, p.end) if p.end else "happened"}
        rows.append(
            {
                "phase": p.name,
                "id": p.id,
                "component": p.component,
                "impact": p.impact,
                "status": next((s for s in ("estimate", "planned") if s in statuses), "happened"),
                "start": pd.Timestamp(start.bounds()[0]),
                "start_latest": pd.Timestamp(start.bounds()[1]),
                "end": pd.Timestamp(end.bounds()[0]),
                "end_latest": pd.Timestamp(end.bounds()[1]),
                "start_label": start.label(),
                "end_label": end.label() if p.end else ongoing_label(inc),
                "start_iso": start.iso(),
                "end_iso": end.iso() if p.end else ongoing_label(inc),
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
    if gaps:
        found = coverage_gaps(inc, table)
        if len(found):
            table = pd.concat([table, found], ignore_index=True)
            table = table.sort_values(["start", "end"], kind="stable").reset_index(drop=True)
    return table


def phase_end(inc: Incident, ref: str | None) -> When:
    """Where a phase ends: its end, or for an open phase (an ongoing incident) the latest moment the file knows."""
    if ref is not None:
        return inc.when(ref)
    as_of = inc.as_of()
    if as_of is None:  # cannot happen: a valid incident has a dated source
        raise ValueError(f"incident {inc.id!r} has an open phase and no date to count it to")
    return as_of


def ongoing_label(inc: Incident) -> str:
    """'ongoing (as of 2024-05-02 10:00)': how an open phase's end is written."""
    as_of = inc.as_of()
    return f"ongoing (as of {as_of.label()})" if as_of is not None else "ongoing"


_PHASE_COLUMNS = [
    "phase", "id", "component", "impact", "status", "start", "start_latest", "end", "end_latest",
    "start_label", "end_label", "start_iso", "end_iso", "hours_min", "hours_max", "hours", "description",
]


def coverage_span(inc: Incident, phases: pd.DataFrame | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The stretch the phases should cover: from the first phase's start to the last end.

    The end is the latest of the phases' ends and the end of the compensated
    window, when the incident has one (money is paid for that whole window).
    """
    phases = phase_table(inc) if phases is None else phases
    if phases.empty:
        return None
    start, end = phases["start"].min(), phases["end_latest"].max()
    if inc.compensation and inc.compensation.cash:
        w_start, w_end = inc.when(inc.compensation.cash.window_start), inc.when(inc.compensation.cash.window_end)
        start = min(start, pd.Timestamp(w_start.earliest).tz_convert(inc.timezone))
        end = max(end, pd.Timestamp(w_end.bounds()[1]).tz_convert(inc.timezone))
    return start, end


def coverage_gaps(inc: Incident, phases: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spans inside `coverage_span` that no phase can cover, as phase rows of impact 'unknown'.

    A phase covers everything between its earliest possible start and its
    latest possible end, so a gap is a span no reading of the sources puts
    in any phase: "no source reports this span".
    """
    phases = phase_table(inc) if phases is None else phases
    span = coverage_span(inc, phases)
    if span is None:
        return pd.DataFrame(columns=_PHASE_COLUMNS)
    rows, cursor = [], span[0]
    for start, end in sorted(zip(phases["start"], phases["end_latest"])):
        if start > cursor:
            rows.append(_gap_row(cursor, start, inc))
        cursor = max(cursor, end)
    if span[1] > cursor:
        rows.append(_gap_row(cursor, span[1], inc))
    return pd.DataFrame(rows, columns=_PHASE_COLUMNS)


def _gap_row(start: pd.Timestamp, end: pd.Timestamp, inc: Incident) -> dict:
    hours = (end - start).total_seconds() / 3600
    return {
        "phase": GAP_NAME, "id": None, "component": None, "impact": UNKNOWN, "status": "unreported",
        "start": start, "start_latest": start, "end": end, "end_latest": end,
        "start_label": f"{start:%Y-%m-%d %H:%M}", "end_label": f"{end:%Y-%m-%d %H:%M}",
        "start_iso": start.isoformat(timespec="minutes"), "end_iso": end.isoformat(timespec="minutes"),
        "hours_min": hours, "hours_max": hours, "hours": hours,
        "description": "No source reports what users saw in this span; it is left out of no total.",
    }


def incident_start(inc: Incident) -> str | None:
    """Id of the milestone the incident's durations count from: the first impact that happened, else the
    first detection. The rule is `incident.io.loader.duration_start`, which validation checks against."""
    return duration_start(inc)


IMPACT_METRIC = "customer_impact"  # from the start to the milestone marked `ends_impact`
NOT_KNOWN = "not known"


def durations(inc: Incident) -> pd.DataFrame:
    """Time to detect, diagnose, mitigate and recover, and customer impact, as hour ranges.

    Each row names the milestones it spans; a metric whose end milestone is
    missing is left out rather than guessed, and so is one `duration_spans`
    refuses (a span from a milestone to itself, or between two milestones
    read from the same source sentence). Only milestones that happened
    count: a planned go-live or an estimate is not a recovery. `basis` says
    where the start came from: an `impact` milestone, or the first
    `detection` when no source says when the impact began.
    """
    return inc.memo("durations", lambda: _durations(inc))


_DURATION_COLUMNS = ["metric", "from", "to", "from_when", "to_when", "hours_min", "hours_max", "hours", "exact", "basis"]
_SPAN_COLUMNS = _DURATION_COLUMNS + ["known", "reason", "start_note"]


def _durations(inc: Incident) -> pd.DataFrame:
    return pd.DataFrame(duration_records(inc), columns=_DURATION_COLUMNS)


def duration_records(inc: Incident) -> list[dict]:
    """`durations` as plain records, one dict a metric: for many incidents at once, without a DataFrame each."""
    return inc.memo("duration_records", lambda: [r for r in _duration_spans(inc) if r["known"]])


def duration_spans(inc: Incident) -> pd.DataFrame:
    """Every standard duration whose end the sources give, known or not, with the reason when it is not.

    A duration is "not known" (`known` false, hours NaN, `reason` in words)
    when its two ends are the same milestone (no impact milestone, so time
    to detect would run from the detection to itself), when both ends were
    read from the same sentence of the same source (an impact time made from
    a detection report measures nothing), or, for customer impact, when no
    source says when the impact began.
    """
    return inc.memo("duration_spans", lambda: pd.DataFrame(_duration_spans(inc), columns=_SPAN_COLUMNS))


def _duration_spans(inc: Incident) -> list[dict]:
    start_id = incident_start(inc)
    if start_id is None:
        return []
    start_m = inc.milestones_by_id[start_id]
    start = inc.when(start_id)
    basis = start_m.kind  # "impact", or "detection" when no source says when the impact began
    start_note = _start_note(inc, start_m)
    ends: list[tuple[str, str | None, str]] = [(metric, kind, which) for metric, (kind, which) in DURATIONS.items()]
    ends.append((IMPACT_METRIC, None, "last"))
    rows = []
    for metric, kind, which in ends:
        if kind is None:
            ms = [m for m in inc.milestones if m.ends_impact and m.status == "happened"]
        else:
            ms = [m for m in inc.milestones if m.kind == kind and m.status == "happened"]
        if not ms:
            continue
        ms.sort(key=lambda m: inc.when(m.id).earliest)
        end_m = ms[0] if which == "first" else ms[-1]
        end = inc.when(end_m.id)
        reason = _refusal(inc, metric, start_m, end_m)
        lo, hi = span_hours(start, end) if reason is None else (math.nan, math.nan)
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
                "basis": basis,
                "known": reason is None,
                "reason": reason,
                "start_note": start_note,
            }
        )
    return rows


def _start_note(inc: Incident, start: Milestone) -> str:
    """Where a start that is not a plain impact report came from, in words; '' for one that is."""
    if start.kind != "impact":
        return f"counted from the first {start.kind} ({start.id}): no source says when the impact began"
    for m in inc.milestones:
        if m.kind == "detection" and m.id != start.id and (source := same_sentence(start, m)):
            return f"the start ({start.id}) is read from {source}'s report of the detection ({m.id})"
    return ""


def _refusal(inc: Incident, metric: str, start: Milestone, end: Milestone) -> str | None:
    """Why the span start → end measures nothing, or None when it is a duration."""
    if start.id == end.id:
        return (f"no source says when the impact began; the span would run from {start.kind} {start.id!r} "
                "to itself")
    if metric == IMPACT_METRIC and start.kind != "impact":
        return f"no source says when the impact began (the first {start.kind}, {start.id!r}, is not its start)"
    shared = same_sentence(start, end)
    if shared:
        return (f"{start.id!r} and {end.id!r} were both read from the same sentence of {shared}: "
                "the sources do not say how far apart they are")
    return None


SHARED_WORDS = 5  # quotes that share a run of this many words are read as parts of one sentence


def same_sentence(a: Milestone, b: Milestone) -> str | None:
    """The source both milestones cite when their quotes come from one sentence of it, else None.

    Two quotes are of one sentence when one holds the other, or when they
    share a run of `SHARED_WORDS` words ("we detected that spammers were
    hammering the database" and "spammers were hammering the database by
    creating snippets"); case, spacing and punctuation aside.
    """
    common = [s for s in a.sources if s in b.sources]
    if not (common and a.quote and b.quote):
        return None
    wa, wb = _words(a.quote), _words(b.quote)
    if not (wa and wb):
        return None
    run = SequenceMatcher(None, wa, wb, autojunk=False).find_longest_match(0, len(wa), 0, len(wb)).size
    return common[0] if run >= min(SHARED_WORDS, len(wa), len(wb)) else None


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def window_hours(start: When, end: When) -> float:
    """Hours between two points, which must be known to the minute (counted in UTC)."""
    if not (start.exact and end.exact):
        raise ValueError(f"a window needs exact times, got {start.label()} → {end.label()}")
    return span_hours(start, end)[0]


def compensated_window(inc: Incident) -> tuple[When, When, float]:
    """Start, end and hours of the cash scheme's compensated failure time."""
    cash = inc.compensation.cash if inc.compensation else None
    if cash is None:
        raise ValueError(f"incident {inc.id!r} has no cash compensation scheme")
    start, end = inc.when(cash.window_start), inc.when(cash.window_end)
    return start, end, window_hours(start, end)


def window_note(inc: Incident) -> str:
    """' (to a planned time)' when the compensated window ends on a milestone that did not happen."""
    cash = inc.compensation.cash if inc.compensation else None
    if cash is None:
        return ""
    status = status_of(inc, cash.window_end)
    if status == "happened":
        return ""
    title = inc.milestones_by_id[cash.window_end].title.split(";")[0].strip()
    if title.lower().startswith(status[:7]):  # "Planned end of ...": say it as it is
        return f" (to the {title[0].lower()}{title[1:]})"
    return f" (to {'a planned' if status == 'planned' else 'an estimated'} time: {title})"


RANGE_UNITS = {"min": 1 / 60, "h": 1.0, "d": 24.0}  # hours in one unit a range is written in


def format_hours(lo: float, hi: float | None = None, unit: str | None = None) -> str:
    """A duration as a person writes it: '8 min', '3 h 03 min', '24 h 14 min', '8 d 14 h'; a range as '29–53 h'.

    An exact span keeps its minutes, whatever its length (24 h 14 min is
    not "1 d"). A range (a bound known only to the hour or day) is written
    in one unit for both ends, rounded outward: `unit` ('min', 'h', 'd';
    see `range_unit`) so that the rows of one table agree, else the unit
    its upper end suits. NaN is "not known".
    """
    hi = lo if hi is None else hi
    if math.isnan(lo) or math.isnan(hi):
        return NOT_KNOWN
    if abs(hi - lo) < 1 / 120:  # under half a minute apart: one value
        return _one_duration((lo + hi) / 2)
    unit = unit or _suited_unit(hi)
    per = RANGE_UNITS[unit]
    return f"{math.floor(lo / per + 1e-9):,}–{math.ceil(hi / per - 1e-9):,} {unit}"


def _suited_unit(hours: float) -> str:
    return "min" if hours < 1 else "h" if hours < 72 else "d"


def range_unit(ranges) -> str | None:
    """One unit for every range of a table, so that '44–68 h' is not beside '2–4 d': the unit the shortest range
    suits (none is written coarser than the sources allow). `ranges` holds (low, high) pairs; None if no range."""
    spans = [hi for lo, hi in ranges if not (math.isnan(lo) or math.isnan(hi)) and abs(hi - lo) >= 1 / 120]
    return _suited_unit(min(spans)) if spans else None


def _one_duration(hours: float) -> str:
    """'45 s', '27 min', '24 h 14 min', '7 d 1 h', '2 d 3 h 05 min': the minute is kept from an hour up."""
    seconds = round(max(hours, 0.0) * 3600)
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    if h < 48:
        return f"{h} h {m:02d} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" + (f" {m:02d} min" if m else "")


def _local(col: pd.Series, inc: Incident) -> pd.Series:
    """Times as one timezone-aware column in the incident's zone."""
    return pd.to_datetime(col, utc=True).dt.tz_convert(inc.timezone)
