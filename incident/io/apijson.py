"""A paging or incident tool's API response saved to a file: the pieces every importer of one shares.

PagerDuty, Opsgenie and incident.io answer in JSON with ISO 8601 times; their
importers read the file through one checked read (`read_json`, capped at
MAX_FILE_BYTES), judge each time the same way (`time_problem`, `moment`),
keep text as text on one line (`one_line`, `text_of`), show a bad value
short in an error (`incident.core.model.shown`) and write milestones of one shape (`milestone`).
`check_records` names every bad record and field of a response at once, and
`validated` checks each converted incident as an incident file, all or none.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.core.model import shown
from incident.io.files import read_bytes
from incident.io.loader import as_record_problems, validate

MAX_FILE_BYTES = 500_000_000  # a saved response beyond this is no export of a team's incidents
QUOTE_MAX = 2_000  # a note longer than this is kept as text but not quoted
TEXT_MAX = 20_000  # a title, name or note is cut to this many characters
TIME_RANGE = (datetime.fromisoformat("1970-01-01T00:00:00+00:00"), datetime.fromisoformat("2200-01-01T00:00:00+00:00"))
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})\Z")


def read_json(path: str | Path, what: str) -> Any:
    """The JSON in `path` (at most MAX_FILE_BYTES), or IncidentError naming the file and what is wrong."""
    file = str(path)
    data = read_bytes(path, MAX_FILE_BYTES, what)
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise IncidentError.single(file, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise IncidentError.single(file, f"not JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise IncidentError.single(file, "not usable JSON: values nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise IncidentError.single(file, f"not usable JSON: {str(exc).split(';')[0]}") from None


def time_problem(value: Any) -> str | None:
    """Why `value` is not a usable API time (ISO 8601 with an offset), or None."""
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        return f"not a time with its offset (such as 2024-03-01T10:15:00Z): {shown(value)}"
    try:
        at = moment(value)
    except ValueError:
        return f"not a time: {shown(value)}"
    if not TIME_RANGE[0] <= at < TIME_RANGE[1]:
        return f"{shown(value)} is outside the years 1970 to 2199 this import handles"
    return None


def moment(stamp: str) -> datetime:
    """The aware datetime of an API time that passed `time_problem`."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def text_of(value: Any) -> str:
    """A string value stripped; anything else (null, a number, an object) is no text."""
    return value.strip() if isinstance(value, str) else ""


def one_line(text: str) -> str:
    """Text on one line, kept as text (markup and control characters too: the YAML writer escapes them)."""
    return " ".join(text.split())


def reference_name(ref: Any) -> str | None:
    """The `summary` (else `name`) of a reference object such as {"id", "summary"}, on one line, or None."""
    if not isinstance(ref, dict):
        return None
    for key in ("summary", "name"):
        text = one_line(text_of(ref.get(key)))
        if text:
            return text[:TEXT_MAX]
    return None


def record_where(key: str, i: int, raw: Any) -> str:
    """Where a record is in a response, for messages: 'incidents[3] (id 'P1')'."""
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{key}[{i}]" + (f" (id {shown(rid)})" if isinstance(rid, str) else "")


def milestone(mid: str, at: str, kind: str, title: str, description: str, sources: list[str]) -> dict:
    """An imported milestone: an API time is to the second."""
    return {"id": mid, "at": at, "precision": "second", "kind": kind, "title": title,
            "description": description, "sources": sources}


def check_records(records: list, file: str, problems_of: Callable[[Any], list[tuple[str, str]]],
                  where: Callable[[int, Any], str], noun: str = "incident") -> None:
    """IncidentError naming each bad record's fields (`problems_of` gives (field, message) pairs) and each id
    given twice, up to MAX_PROBLEMS; nothing if every record is sound."""
    problems: list[Problem] = []
    seen: Counter = Counter()
    for i, raw in enumerate(records):
        for field, message in problems_of(raw):
            problems.append(Problem(file, f"{where(i, raw)}{'.' + field if field else ''}", message))
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            seen[raw["id"]] += 1
            if seen[raw["id"]] == 2:
                problems.append(Problem(file, where(i, raw), f"the same {noun} id appears more than once"))
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
    if problems:
        raise IncidentError(capped(problems))


def validated(converted: Iterable[tuple[dict, str]], file: str) -> list[dict]:
    """The converted incidents (data, where its record is), each valid as an incident file; else IncidentError
    with every record's problems, so that an import writes all of them or none."""
    out: list[dict] = []
    problems: list[Problem] = []
    for data, where in converted:
        try:
            validate(data, file)
        except IncidentError as exc:
            problems += as_record_problems(exc, file, where)
            continue
        out.append(data)
    if problems:
        raise IncidentError(capped(problems))
    return out
