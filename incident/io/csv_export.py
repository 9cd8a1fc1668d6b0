"""Incidents from a CSV export: one row per incident, the export every incident tool has.

The file's header names the columns; `CsvColumns` says which of them is the
incident's id, title, severity, service and each stage time (started,
detected, acknowledged, mitigated, resolved). Header names match ignoring
case and surrounding blanks. Columns the mapping does not name are kept, as
text, in the incident's `notes`.

Times are ISO 8601 with a date and a time of day ("2024-03-01T14:05:00+01:00",
"2024-03-01 13:05Z", "2024-03-01 13:05:00 UTC"). A time with its offset is
kept as written; a time without one is read in `timezone` (an IANA name) and
refused when none is given, as a guess would shift every duration. Any other
format is refused with an example of the expected one.

A row missing a stage time leaves that milestone out (counted in the history's
import report), never the row. Bad input raises one IncidentError naming the
file, the line (header = 1, as a spreadsheet numbers it) and the column of
each problem; after MAX_PROBLEMS the rest are not looked for. Cell text is
data: markup and control characters are kept as text (reports escape them);
a cell over MAX_FIELD_CHARS is refused.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone as dt_timezone
from functools import partial
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.core.times import When, parse_when, zone
from incident.io.files import read_text
from incident.io.history_schema import history_frame
from incident.io.loader import as_record_problems, validate
from incident.io.statuspage import incident_ids, write_imported

SOURCE = "csv"
MAX_BYTES = 100_000_000  # ~100,000 incidents of 1 kB: far beyond any team's history
MAX_LINES = 1_000_000
MAX_HEADER_CHARS = 65_536
MAX_COLUMNS = 200  # exports carry dozens of custom fields, not thousands
MAX_COLUMN_NAME_CHARS = 200
MAX_FIELD_CHARS = 10_000  # a title or note this long is no title; keeps the summary under the model's 20,000
EXAMPLE_TIME = "2024-03-01T14:05:00+01:00"

# a date, a time of day, an optional fraction and an optional offset (Z, ±HH:MM, ±HHMM or ' UTC')
_TIME = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})(?P<sep>[T ])(?P<clock>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
                   r"(?P<offset>Z|z| ?UTC|[+-]\d{2}:?\d{2})?")

# the stages, in order: (CsvColumns field, milestone id, milestone kind, milestone title)
STAGES = (
    ("started", "started", "impact", "Incident start"),
    ("detected", "detected", "detection", "Detected"),
    # no milestone kind says 'acknowledged'; 'other' keeps it out of the standard durations
    ("acknowledged", "acknowledged", "other", "Acknowledged"),
    ("mitigated", "mitigated", "mitigation", "Mitigated"),
    ("resolved", "resolved", "recovery", "Resolved"),
)


@dataclass(frozen=True)
class CsvColumns:
    """Our fields → the header names that may hold them in the file (the first one present is used).

    Each field takes one name or a tuple of alternatives:
    `CsvColumns(id="Incident #", started="Opened", resolved=("Closed", "Resolved"))`.
    """

    id: str | tuple[str, ...] = ("id", "incident_id", "key")
    title: str | tuple[str, ...] = ("title", "name", "summary", "description")
    severity: str | tuple[str, ...] = ("severity", "sev", "priority")
    service: str | tuple[str, ...] = ("service", "service_name", "component")
    started: str | tuple[str, ...] = ("started_at", "started", "created_at", "created", "start")
    detected: str | tuple[str, ...] = ("detected_at", "detected")
    acknowledged: str | tuple[str, ...] = ("acknowledged_at", "acknowledged", "acked_at")
    mitigated: str | tuple[str, ...] = ("mitigated_at", "mitigated")
    resolved: str | tuple[str, ...] = ("resolved_at", "resolved", "closed_at")

    def names(self, field: str) -> tuple[str, ...]:
        value = getattr(self, field)
        return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class _Row:
    """One checked row: its line, the cells by our field, its stage times and the other columns."""

    line: int
    cells: dict[str, str]  # our field -> stripped text ('' if empty or no such column)
    times: dict[str, tuple[str, When]]  # stage -> (text as kept, parsed)
    others: list[tuple[str, str]]  # (header, text) of the columns the mapping does not name, non-empty


@dataclass(frozen=True)
class _Table:
    file: str
    header: dict[str, str]  # our field -> the header name used
    rows: list[_Row]
    zone_name: str | None


def read_csv_incidents(path: str | Path, columns: CsvColumns | None = None, timezone: str | None = None,
                       organisation: str | None = None) -> list[dict]:
    """Each row of the CSV export `path` as an incident's plain data in our YAML format, validated.

    `organisation` names who had the incidents (the file's name without
    '.csv' when not given). Raises IncidentError with every problem found.
    """
    table = _read_table(path, columns, timezone)
    org = (organisation or "").strip() or Path(table.file).stem or "CSV export"
    ids = incident_ids(org, [_day(r) for r in table.rows], [r.cells["id"] for r in table.rows])
    out, problems = [], []
    for row, incident_id in zip(table.rows, ids):
        early = _before_start(table, row)
        if early:
            problems += early
            continue
        data = _incident_data(table, row, incident_id, org)
        try:
            validate(data, table.file)
        except IncidentError as exc:
            problems += as_record_problems(exc, table.file, partial(_problem_column, table, data), row.line)
            if len(problems) > MAX_PROBLEMS:
                raise IncidentError(capped(problems, stopped=True)) from None
            continue
        out.append(data)
    if problems:
        raise IncidentError(capped(problems))
    return out


def _problem_column(table: "_Table", data: dict, problem: Problem) -> str:
    """The file's column a problem of the incident made from a row comes from."""
    return _column_of(table, data, problem.path)


def import_csv(path: str | Path, out_dir: str | Path, columns: CsvColumns | None = None, timezone: str | None = None,
               overwrite: bool = False, organisation: str | None = None) -> list[Path]:
    """Write one folder with incident.yaml per row of the CSV export, all or none; return the folders."""
    incidents = read_csv_incidents(path, columns, timezone, organisation)
    return write_imported(incidents, source=path, out_dir=out_dir, overwrite=overwrite,
                          origin="the CSV export", command="incident import csv")


def csv_history(path: str | Path, columns: CsvColumns | None = None, timezone: str | None = None,
                organisation: str | None = None) -> pd.DataFrame:
    """The history table of the CSV export: one row per incident, stage minutes from its start.

    `ttd`, `tta`, `ttm` and `ttr` are detected, acknowledged, mitigated and
    resolved minus started; NaN where the row lacks either time (`tti`: no
    column gives it).
    The import report counts the rows and, per stage, the rows without it.
    """
    table = _read_table(path, columns, timezone)
    org = (organisation or "").strip() or Path(table.file).stem or "CSV export"
    rows, n = table.rows, len(table.rows)
    ids = incident_ids(org, [_day(r) for r in rows], [r.cells["id"] for r in rows])

    def at(stage: str) -> pd.Series:
        return pd.Series([r.times[stage][1].utc if stage in r.times else pd.NaT for r in rows],
                         dtype="datetime64[ns, UTC]")

    start, detected, acknowledged = at("started"), at("detected"), at("acknowledged")
    mitigated, resolved = at("mitigated"), at("resolved")

    def minutes(end: pd.Series) -> pd.Series:
        return (end - start).dt.total_seconds() / 60

    ttd, tta, ttm, ttr = minutes(detected), minutes(acknowledged), minutes(mitigated), minutes(resolved)
    report = {"records": n}
    for stage, _, _, _ in STAGES:
        report[f"{stage}_missing"] = sum(stage not in r.times for r in rows)
    report["other_columns"] = sum(bool(r.others) for r in rows)
    columns_out = {
        "id": ids,
        "source": [SOURCE] * n,
        "provider": [org] * n,
        "components": [[r.cells["service"]] if r.cells["service"] else [] for r in rows],
        "title": [r.cells["title"] or None for r in rows],
        "start": start,
        "detected": detected,
        "acknowledged": acknowledged,
        "mitigated": mitigated,
        "resolved": resolved,
        "ttd": ttd,
        "tta": tta,
        "ttm": ttm,
        "ttr": ttr,
        "hours_to_detect": ttd / 60,
        "hours_to_mitigate": ttm / 60,
        "hours_to_resolve": ttr / 60,
    }
    return history_frame(columns_out, n, report)


# -- one incident from one row -------------------------------------------------
def _incident_data(table: _Table, row: _Row, incident_id: str, org: str) -> dict:
    name = Path(table.file).name
    raw_id, title = row.cells["id"], row.cells["title"] or f"Incident {row.cells['id']}"
    severity, service = row.cells["severity"], row.cells["service"]
    milestones = [
        {"id": mid, "at": row.times[stage][0], "kind": kind, "title": label,
         "description": f"The {table.header[stage]!r} column of the CSV export.", "sources": ["S1"]}
        for stage, mid, kind, label in STAGES if stage in row.times
    ]
    milestones.sort(key=lambda m: row.times[str(m["id"])][1].utc)
    end = next((s for s in ("resolved", "mitigated") if s in row.times), None)
    phases = []
    if "started" in row.times:
        phase = {"name": f"{service}: outage" if service else "Outage", "start": "started", "impact": "major_outage",
                 "description": "From the start to the " + (f"{end} time" if end else "present (no end in the export)")
                 + "; the export gives no impact level.", "sources": ["S1"]}
        if end:
            phase["end"] = end
        if service:
            phase["component"] = service
        phases.append(phase)
    latest = max((w.utc for _, w in row.times.values()), default=None)
    about = " of severity " + severity if severity else ""
    about += f" on {service}" if service else ""
    data: dict = {
        "id": incident_id,
        "title": title,
        "organisation": {"name": org},
        "summary": f"{title}: an incident{about}, imported from the CSV export {name} (line {row.line}).",
        "timezone": table.zone_name or "Etc/UTC",
        "status": "resolved" if "resolved" in row.times else "ongoing",
        "sources": [{
            "id": "S1", "kind": "document", "title": f"CSV export {name}", "publisher": org,
            "date": (latest or datetime.now(dt_timezone.utc)).date().isoformat(),
            "locator": f"{name}, line {row.line} (id {raw_id})",
            "note": "One row of an incident export, dated by its latest time (by the import when it has none): "
                    "the file carries no date of its own.",
        }],
        "milestones": milestones,
        "phases": phases,
    }
    if severity:
        data["severity"] = severity
    if row.others:
        data["notes"] = [{"text": f"{header}: {value}", "sources": ["S1"]} for header, value in row.others]
    return data


def _before_start(table: _Table, row: _Row) -> list[Problem]:
    """A stage time before the start would be a negative duration: refused, naming its column."""
    if "started" not in row.times:
        return []
    text, start = row.times["started"]
    return [Problem(table.file, f"column {table.header[stage]!r}",
                    f"{_shown(row.times[stage][0])} is before the incident's start {_shown(text)} "
                    f"(column {table.header['started']!r}); correct the time, or the start", row.line)
            for stage, _, _, _ in STAGES[1:] if stage in row.times and row.times[stage][1].utc < start.utc]


def _column_of(table: _Table, data: dict, path: str) -> str:
    """The CSV column a validation problem at `path` of the made incident comes from, where one does."""
    found = re.match(r"milestones\[(\d+)\]", path)
    if found and int(found[1]) < len(data["milestones"]):
        return f"column {table.header[data['milestones'][int(found[1])]['id']]!r}"
    for field in ("title", "severity"):
        if path == field and field in table.header:
            return f"column {table.header[field]!r}"
    return path


def _day(row: _Row) -> str:
    """The local day the incident started (for its id), '' when the row has no start."""
    if "started" not in row.times:
        return ""
    return row.times["started"][0][:10]


# -- reading and checking the file ----------------------------------------------
def _read_table(path: str | Path, columns: CsvColumns | None, timezone: str | None) -> _Table:
    file = str(path)
    columns = columns or CsvColumns()
    tz: ZoneInfo | None = None
    if timezone is not None:
        try:
            tz = zone(timezone)
        except ValueError as exc:
            raise IncidentError.single(file, f"timezone: {exc}") from None
    text = read_text(path, MAX_BYTES, "CSV export")
    _check_shape(text, file)
    records = _records(text, file)
    header_line, header_cells = next(((n, cells) for n, cells in records if any(c.strip() for c in cells)),
                                     (0, []))
    if not header_cells:
        raise IncidentError.single(file, "the file is empty; expected a header line naming the columns "
                                         "(id, title, started_at, resolved_at, ...)", line=1)
    names = [c.strip() for c in header_cells]
    used = _map_header(names, columns, file, header_line)
    header = {field: names[i] for field, i in used.items()}
    mapped = set(used.values())
    problems: list[Problem] = []
    rows: list[_Row] = []
    seen_ids: dict[str, int] = {}
    naive: list[Problem] = []

    def add(problem: Problem) -> None:
        problems.append(problem)
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))

    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            add(Problem(file, "", f"expected {len(names)} fields as in the header, found {len(cells)}", line))
            continue
        bad = False
        for i, cell in enumerate(cells):
            if len(cell) > MAX_FIELD_CHARS:
                add(Problem(file, f"column {names[i]!r}",
                            f"a field of {len(cell):,} characters; the limit is {MAX_FIELD_CHARS:,}", line))
                bad = True
        if bad:
            continue
        values = {f.name: cells[used[f.name]].strip() if f.name in used else "" for f in fields(CsvColumns)}
        if not values["id"]:
            add(Problem(file, f"column {header['id']!r}", "no incident id", line))
        elif values["id"] in seen_ids:
            add(Problem(file, f"column {header['id']!r}",
                        f"the id {_shown(values['id'])} is also on line {seen_ids[values['id']]}; ids must be unique",
                        line))
        else:
            seen_ids[values["id"]] = line
        times = {}
        for stage, _, _, _ in STAGES:
            if not values[stage]:
                continue
            try:
                times[stage] = _time(values[stage], tz)
            except _NoOffset as exc:  # the whole file lacks a zone: said once, at its first time
                naive.append(Problem(file, f"column {header[stage]!r}", str(exc), line))
            except ValueError as exc:
                add(Problem(file, f"column {header[stage]!r}", str(exc), line))
        others = [(names[i], cells[i].strip()) for i in range(len(names)) if i not in mapped and cells[i].strip()]
        rows.append(_Row(line, values, times, others))
    if naive:
        more = f" ({len(naive):,} times in the file have none)" if len(naive) > 1 else ""
        problems.insert(0, Problem(naive[0].file, naive[0].path, naive[0].message + more, naive[0].line))
    if problems:
        raise IncidentError(capped(problems))
    if not rows:
        raise IncidentError.single(file, "no incidents: the header is the only row", line=header_line)
    return _Table(file, header, rows, timezone)


def _check_shape(text: str, file: str) -> None:
    """Refuse at once a file with too many lines or a header too long or too wide to be an export's."""
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines > MAX_LINES:
        raise IncidentError.single(file, f"{lines:,} lines; a CSV export here has at most {MAX_LINES:,}")
    first = text.lstrip("\r\n")
    header = first[: first.find("\n")] if "\n" in first else first
    line = text.count("\n", 0, len(text) - len(first)) + 1
    if len(header) > MAX_HEADER_CHARS:
        raise IncidentError.single(file, f"the header line is longer than {MAX_HEADER_CHARS:,} characters", line=line)
    if header.count(",") >= MAX_COLUMNS:
        raise IncidentError.single(file, f"the header has over {MAX_COLUMNS} columns; an export has fewer", line=line)


def _records(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each CSV record; a field over the csv module's limit is refused by its column."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(iter(lines))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise IncidentError.single(file, *_csv_problem(lines, start, str(exc)), line=start) from None
        yield start, cells
        start = reader.line_num + 1


def _csv_problem(lines: list[str], start: int, message: str) -> tuple[str, str]:
    """(message, column) of a record the csv module refused: a field too long is named by its position."""
    if "field larger than field limit" not in message:
        return f"not a readable CSV row: {message}", ""
    header = next(csv.reader([lines[0]])) if lines else []
    index, length, quoted = 0, 0, False
    for line in lines[start - 1:]:
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif ch == "," and not quoted:
                index, length = index + 1, 0
                continue
            length += 1
            if length > MAX_FIELD_CHARS:
                name = header[index].strip() if index < len(header) else f"field {index + 1}"
                return (f"a field of over {csv.field_size_limit():,} characters; the limit is {MAX_FIELD_CHARS:,}",
                        f"column {name!r}")
    return f"not a readable CSV row: {message}", ""


def _map_header(names: list[str], columns: CsvColumns, file: str, line: int) -> dict[str, int]:
    """Our field -> index of its column; IncidentError for a header that cannot be read unambiguously."""
    problems = []
    folded = [n.casefold() for n in names]
    for i, name in enumerate(names):
        if len(name) > MAX_COLUMN_NAME_CHARS:
            problems.append(Problem(file, f"column {i + 1}", f"a column name of {len(name):,} characters; "
                                                            f"the limit is {MAX_COLUMN_NAME_CHARS}", line))
        elif folded.index(folded[i]) != i and name:
            problems.append(Problem(file, f"column {_shown(name)}", "two columns have this name", line))
    if problems:
        raise IncidentError(capped(problems))
    used: dict[str, int] = {}
    for f in fields(CsvColumns):
        for candidate in columns.names(f.name):
            key = candidate.strip().casefold()
            if key in folded:
                used[f.name] = folded.index(key)
                break
    missing = [f for f in ("id", "started") if f not in used]
    if missing:
        raise IncidentError([Problem(file, "", f"no column for the incident's {f}: expected one named "
                                               + " or ".join(repr(n) for n in columns.names(f))
                                               + f" (the header has {', '.join(_shown(n) for n in names[:20])})", line)
                             for f in missing])
    taken: dict[int, str] = {}
    for field, i in used.items():
        if i in taken:
            raise IncidentError.single(file, f"the column {_shown(names[i])} is mapped to both {taken[i]} and {field}",
                                       line=line)
        taken[i] = field
    return used


def _time(text: str, tz: ZoneInfo | None) -> tuple[str, When]:
    """(the time as kept in incident.yaml, parsed) of a cell; ValueError saying what is expected."""
    m = _TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"not a time: {_shown(text)}; expected ISO 8601 with a time of day, e.g. {EXAMPLE_TIME}")
    offset = m["offset"]
    if offset is None and tz is None:
        raise _NoOffset(f"{_shown(text)} has no UTC offset; give the export's time zone (timezone=, an IANA name "
                         f"such as 'Europe/Berlin') or write times with their offset, e.g. {EXAMPLE_TIME}")
    if offset in ("Z", "z") or (offset and offset.strip() == "UTC"):
        offset = "Z"
    elif offset and ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    kept = f"{m['date']}{m['sep']}{m['clock']}{offset or ''}"
    when = parse_when(kept, tz or ZoneInfo("Etc/UTC"))  # ValueError for a day that does not exist, a DST gap...
    return kept, when


class _NoOffset(ValueError):
    """A time without its offset, read with no time zone given."""


def _shown(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
