"""GitHub's status-page history (github.com/mrshu/github-statuses, JSON Lines) as a history table.

One JSON object per line: id, title, started_at, resolved_at, impact
(none/minor/major/critical/maintenance), components[] and updates[]
({at, status, message}), parsed from githubstatus.com's Atom feed.

What the feed can and cannot tell:
- `ttr` is resolved_at − started_at: the window of the page's own posts.
  The file's `duration_minutes` is another window: downtime_end − downtime_start,
  which are the `impact_window` the upstream parser reads out of the postmortem
  text ("On May 25, 2026, between 09:02 UTC and 09:11 UTC, ...": `parse_impact_window`
  in github.com/mrshu/github-statuses, scripts/extract_incidents.py) where it finds
  one, else started_at and resolved_at. Where the two windows differ the record is
  counted (`duration_minutes_disagrees`, against the page's window before any
  retroactive record is set aside) and `duration_minutes` is not used: one
  history, one meaning of `ttr`.
- `ttm` is the first 'Monitoring' update − started_at, where there is one.
- `tti` would be the first 'Identified' update; GitHub posts none, so it is NaN.
- `ttd` is always NaN: started_at is the first 'Investigating' post, i.e. when
  the page told the public, not when GitHub detected the fault. A 0 there
  would be a made-up number.
- A retroactive incident is marked by its updates: one post, already 'Resolved'
  (status_sequence ['Resolved']), with started_at equal to resolved_at. The page
  gives it no duration: its `ttr` is NaN, not 0 (`retroactive_without_duration`).
  Some of them state their window in the postmortem text, so their
  `duration_minutes` is set (`retroactive_window_in_text_only`, also counted as
  disagreeing): that window is not the page's, and is not used.
Scheduled maintenance (impact 'maintenance') is kept and counted: its started_at
is when the window was announced ('Scheduled'), so its `ttr` runs from the
announcement to 'Completed' (`incident.analysis.history_coverage.exclude_maintenance`
sets these records aside); records
without components keep an empty list, those whose components were inferred
by a language model (`components_source`) are counted.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.io.files import read_lines
from incident.io.history_schema import history_frame

SOURCE = "github-status"
PROVIDER = "GitHub"
MAX_FILE_BYTES = 2_000_000_000


def read_github_status(path: str | Path) -> pd.DataFrame:
    """The history table of a github-statuses incidents.jsonl; IncidentError for bad input.

    The file is read a line at a time (`read_lines`) and each record reduced
    to the fields the table needs, so memory follows those fields, not the text.
    """
    path = Path(path)
    return github_status_lines(read_lines(path, MAX_FILE_BYTES, "GitHub status history"), str(path))


def github_status_lines(lines: Iterable[tuple[int, bytes]], file: str = "<github-status>") -> pd.DataFrame:
    """The history table of (line number, bytes) pairs of JSON Lines, consumed one at a time."""
    records, numbers, problems = [], [], []
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8", errors="replace"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(file, "", f"not JSON: {exc.msg}", number))
        except RecursionError:
            problems.append(Problem(file, "", "not usable JSON: values nested too deeply", number))
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            problems.append(Problem(file, "", f"not usable JSON: {str(exc).split(';')[0]}", number))
        else:
            for field, message in _shape_problems(rec):
                rid = rec.get("id") if isinstance(rec, dict) else None
                where = f"[{_shown(rid)}].{field}" if rid is not None else field
                problems.append(Problem(file, where, message, number))
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
        if not problems:
            records.append(_slim(rec))
            numbers.append(number)
    if not problems and not records:
        problems.append(Problem(file, "", "no incidents: expected one JSON object per line"))
    if problems:
        raise IncidentError(capped(problems))
    return github_history(records, file, numbers)


def _slim(rec: dict) -> dict:
    """A checked record with only what the table uses (update messages dropped: most of the bytes)."""
    return {
        "id": rec["id"], "title": rec.get("title"), "started_at": rec["started_at"],
        "resolved_at": rec.get("resolved_at"), "impact": rec.get("impact"), "components": rec.get("components"),
        "components_source": bool(rec.get("components_source")), "duration_minutes": rec.get("duration_minutes"),
        "updates": [{"at": u["at"], "status": u["status"]} for u in rec["updates"]],
    }


def _shown(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _shape_problems(rec: Any) -> list[tuple[str, str]]:
    if not isinstance(rec, dict):
        return [("", f"not a status-page incident: expected a JSON object per line, got {type(rec).__name__}")]
    out = []
    if not isinstance(rec.get("id"), (str, int)) or isinstance(rec.get("id"), bool):
        out.append(("id", "missing incident id"))
    if not isinstance(rec.get("started_at"), str):
        out.append(("started_at", f"expected an ISO 8601 time, got {rec.get('started_at')!r}"))
    if rec.get("resolved_at") is not None and not isinstance(rec["resolved_at"], str):
        out.append(("resolved_at", f"expected an ISO 8601 time or null, got {rec['resolved_at']!r}"))
    if not isinstance(rec.get("updates"), list):
        out.append(("updates", "expected a list of updates"))
    else:
        for j, up in enumerate(rec["updates"]):
            if not isinstance(up, dict) or not isinstance(up.get("at"), str) or not isinstance(up.get("status"), str):
                out.append((f"updates[{j}]", "expected an object with 'at' and 'status' text"))
                if len(out) > MAX_PROBLEMS:
                    break
    if rec.get("components") is not None and not (
            isinstance(rec["components"], list) and all(isinstance(c, str) for c in rec["components"])):
        out.append(("components", "expected a list of component names"))
    return out


def github_history(records: list[dict], file: str = "<github-status>", lines: list[int] | None = None) -> pd.DataFrame:
    """The history table of parsed github-statuses records, with its import report."""
    n = len(records)
    lines = lines or list(range(1, n + 1))
    start = _times([r["started_at"] for r in records], file, "started_at", records, lines)
    resolved = _times([r.get("resolved_at") for r in records], file, "resolved_at", records, lines)
    # updates flattened once: (incident position, status, time)
    counts = np.array([len(r["updates"]) for r in records], dtype=np.int64)
    owner = np.repeat(np.arange(n), counts)
    status = np.array([u["status"].strip().lower() for r in records for u in r["updates"]], dtype=object)
    at = _times([u["at"] for r in records for u in r["updates"]], file, "updates.at",
                [r for r, c in zip(records, counts) for _ in range(c)],
                [ln for ln, c in zip(lines, counts) for _ in range(c)])

    def first(name: str) -> pd.Series:
        mask = status == name
        found = pd.Series(at[mask]).groupby(owner[mask]).min()
        return pd.Series(found.reindex(range(n)).to_numpy(), dtype="datetime64[ns, UTC]")

    investigating, identified, monitoring = first("investigating"), first("identified"), first("monitoring")
    start_s, resolved_s = pd.Series(start), pd.Series(resolved)

    def minutes(end: pd.Series) -> pd.Series:
        return (end - start_s).dt.total_seconds() / 60

    # A retroactive incident is posted once, already resolved: started_at is then
    # the time of that post, and resolved − started = 0 is no duration.
    retroactive = np.bincount(owner[status != "resolved"], minlength=n) == 0
    page_window = minutes(resolved_s)
    ttr = page_window.mask(retroactive & (resolved_s == start_s).to_numpy())
    ttm = minutes(monitoring)
    tti = minutes(identified)
    impact = [r.get("impact") if isinstance(r.get("impact"), str) else None for r in records]
    components = [list(dict.fromkeys(c.strip() for c in r.get("components") or [] if c.strip())) for r in records]
    stated = np.array([r.get("duration_minutes") if isinstance(r.get("duration_minutes"), (int, float)) else np.nan
                       for r in records], dtype=float)
    report = {
        "records": n,
        "ttd_not_in_feed": n,
        "tti_missing": int(tti.isna().sum()),
        "ttm_missing": int(ttm.isna().sum()),
        "ttr_missing": int(ttr.isna().sum()),
        "retroactive_without_duration": int((retroactive & ttr.isna().to_numpy()).sum()),
        # the text's window where the page has none: a duration the feed states and the table does not use
        "retroactive_window_in_text_only": int((retroactive & ttr.isna().to_numpy() & (stated > 0)).sum()),
        # against the page's window itself: a retroactive record's 0 there is what the feed compared to
        "duration_minutes_disagrees": int((np.abs(stated - page_window.to_numpy()) >= 1).sum()),
        "maintenance": sum(i == "maintenance" for i in impact),
        "components_missing": sum(not c for c in components),
        "components_inferred": sum(bool(r.get("components_source")) for r in records),
    }
    columns = {
        "id": [str(r["id"]) for r in records],
        "source": [SOURCE] * n,
        "provider": [PROVIDER] * n,
        "page": [PROVIDER] * n,
        "components": components,
        "title": [r.get("title") for r in records],
        "impact": impact,
        "page_impact": impact,
        "start": start_s,
        "detected": investigating,  # when the page first posted, kept for the older columns
        "mitigated": monitoring,
        "resolved": resolved_s,
        "tti": tti,
        "ttm": ttm,
        "ttr": ttr,
        "hours_to_mitigate": ttm / 60,
        "hours_to_resolve": ttr / 60,
    }
    return history_frame(columns, n, report)


# Times outside these years are refused: the difference of two of them must fit datetime64[ns] (±292 years).
TIME_RANGE = (pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC"))


def _times(values: list, file: str, field: str, records: list[dict], lines: list[int]) -> np.ndarray:
    """ISO 8601 texts as UTC datetime64 values; IncidentError naming each one that is not a usable time."""
    series = pd.Series(values, dtype=object)
    try:
        parsed = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    except (ValueError, OverflowError):  # a time beyond datetime64[ns] (year 1, 9999) fails the whole column
        parsed = pd.Series([_one_time(v) for v in values], dtype="datetime64[ns, UTC]")
    if parsed.dt.tz is None:  # nothing to parse (all null): no zone inferred
        parsed = parsed.dt.tz_localize("UTC")
    given = series.notna().to_numpy()
    outside = given & parsed.notna().to_numpy() & ~parsed.between(*TIME_RANGE, inclusive="left").to_numpy()
    bad = np.flatnonzero((parsed.isna().to_numpy() & given) | outside)
    if len(bad):
        raise IncidentError(capped([
            Problem(file, f"[{_shown(records[i].get('id'))}].{field}", _time_problem(values[i]), lines[i])
            for i in bad[:MAX_PROBLEMS + 1]
        ], stopped=len(bad) > MAX_PROBLEMS + 1))
    return parsed.astype("datetime64[ns, UTC]").array  # every value is within TIME_RANGE


def _one_time(value: Any) -> pd.Timestamp:
    if value is None:
        return pd.NaT
    try:
        return pd.to_datetime(value, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        return pd.NaT


def _time_problem(value: Any) -> str:
    """Why `value` is not a usable time: not a time at all, or outside TIME_RANGE."""
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return f"not a time: {_shown(repr(value))}"
    return (f"{_shown(repr(value))} is outside the years {TIME_RANGE[0].year} to {TIME_RANGE[1].year - 1} "
            "this import handles")
