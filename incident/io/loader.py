"""Load and validate an incident folder: YAML -> `Incident`, or every problem.

Validation runs in two passes: pydantic checks each field's type and shape;
`check_references` then checks what spans fields (ids that must exist, an end
after its start, parts within a total). Both report `Problem`s with the field
path and line, and `load` raises one `IncidentError` carrying all of them.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from incident.core.errors import IncidentError, Problem
from incident.core.model import CHECK_KINDS, MARKET_CHECK_KINDS, Incident
from incident.core.times import parse_when, zone
from incident.io.yamlfile import load_yaml, path_text

INCIDENT_FILE = "incident.yaml"


def incident_file(path: str | Path) -> Path:
    """The incident.yaml of a folder, or the file itself."""
    p = Path(path)
    return p / INCIDENT_FILE if p.is_dir() else p


def file_label(inc: Incident) -> str:
    """Where a loaded incident was read from, for messages: its incident.yaml, or <incident id> if made in code."""
    return str(inc.folder / INCIDENT_FILE) if inc.folder is not None else f"<incident {inc.id}>"


def load(path: str | Path) -> Incident:
    """Load the incident at `path` (a folder or its incident.yaml).

    Raises `IncidentError` listing every problem found.
    """
    file = incident_file(path)
    if not file.exists():
        raise IncidentError.single(str(file), "no such file (an incident folder holds incident.yaml)")
    data, lines = load_yaml(file)
    inc = validate(data, str(file), lines)
    inc._folder = file.parent
    return inc


def validate(data: Any, file: str = "<data>", lines: dict[tuple, int] | None = None) -> Incident:
    """Validate plain data (as read from YAML) into an `Incident`."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise IncidentError.single(file, f"the file must be a mapping of fields, not a {_kind(data)}", line=lines.get(()))
    problems: list[Problem] = []
    if isinstance(data.get("timezone"), str):
        try:
            zone(data["timezone"])
        except ValueError as exc:
            problems.append(Problem(file, "timezone", str(exc), lines.get(("timezone",))))
    try:
        inc = Incident.model_validate(data)
    except ValidationError as exc:
        problems += [_problem(err, data, file, lines) for err in exc.errors()]
        raise IncidentError(_dedupe(problems)) from None
    if problems:
        raise IncidentError(problems)
    problems = [
        Problem(file, path_text(path), message, _line(lines, path)) for path, message in check_references(inc)
    ]
    if problems:
        raise IncidentError(problems)
    return inc


def check_references(inc: Incident) -> list[tuple[tuple, str]]:
    """Rules that span fields, as (field path, message) pairs."""
    out: list[tuple[tuple, str]] = []
    source_ids = {s.id for s in inc.sources}
    figure_ids = {f.id for f in inc.financials}

    def unique(items, name):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id is None:
                continue
            if item.id in seen:
                out.append(((name, i, "id"), f"duplicate id {item.id!r}"))
            seen.add(item.id)

    for name in ("sources", "milestones", "phases", "financials", "claims"):
        unique(getattr(inc, name), name)
    for i, m in enumerate(inc.milestones):
        try:
            parse_when(m.at, inc.tz, m.precision, m.approximate)
        except ValueError as exc:
            out.append((("milestones", i, "at"), str(exc)))

    def when(ref: str, path: tuple):
        try:
            return inc.when(ref)
        except ValueError as exc:
            if ref in inc.milestones_by_id:
                return None  # the milestone's own time is wrong, and reported at the milestone
            if re.match(r"\d{4}-\d{2}-\d{2}", ref):  # meant as a time: say what is wrong with it
                out.append((path, str(exc)))
            else:
                hint = "a milestone id or a time"
                out.append((path, f"{_shown(ref)} is neither a known milestone id nor a valid time ({hint})"))
            return None

    def ordered(start_ref, end_ref, path, start_field, end_field):
        start, end = when(start_ref, path + (start_field,)), when(end_ref, path + (end_field,))
        if start and end:
            s_lo, _ = start.bounds()
            _, e_hi = end.bounds()
            if e_hi < s_lo or (start.exact and end.exact and e_hi == s_lo):
                out.append((path + (end_field,), f"ends ({end.label()}) before it starts ({start.label()})"))

    for i, p in enumerate(inc.phases):
        ordered(p.start, p.end, ("phases", i), "start", "end")
    comp = inc.compensation
    if comp and comp.cash:
        ordered(comp.cash.window_start, comp.cash.window_end, ("compensation", "cash"), "window_start", "window_end")
        for key in ("window_start", "window_end"):  # the payout is hours × rate: a date alone gives no hours
            ref = getattr(comp.cash, key)
            try:
                point = inc.when(ref)
            except ValueError:
                continue  # reported above
            if not point.exact:
                out.append((("compensation", "cash", key),
                            f"{_shown(ref)} is known only to the {point.precision}; the compensated window needs times "
                            "to the minute"))
    if inc.market and inc.market.event_start:
        when(inc.market.event_start, ("market", "event_start"))
    if inc.market:
        for key in ("prices", "benchmark_prices"):
            if not _inside_folder(getattr(inc.market, key)):
                out.append((("market", key), "must be a path inside the incident folder (relative, without '..')"))

    prov = inc.provision
    if prov:
        named = prov.named_total
        if named > prov.total:
            a, b = _apart(named, prov.total)
            out.append((("provision", "parties"), f"named parts add up to {a}, more than the total {b}"))

    out += _before_start(inc)

    for i, c in enumerate(inc.claims):
        check = c.check
        refs = {k: getattr(check, k) for k in ("start", "end", "current", "prior", "minuend", "subtrahend") if getattr(check, k, None)}
        for key, ref in refs.items():
            if check.kind == "duration":
                ordered(check.start, check.end, ("claims", i, "check"), "start", "end")
                break
            if ref not in figure_ids:
                out.append((("claims", i, "check", key), f"unknown financial figure {_shown(ref)}"))
        if check.kind == "provision" and prov is None:
            out.append((("claims", i, "check"), "a provision claim needs a provision section"))
        if check.kind in MARKET_CHECK_KINDS and inc.market is None:
            out.append((("claims", i, "check"), "a market claim needs a market section"))

    # every fact's sources must exist
    for path, ids in _source_refs(inc):
        for j, sid in enumerate(ids):
            if sid not in source_ids:
                out.append((path + (j,), f"unknown source {_shown(sid)} (known: {', '.join(sorted(source_ids))})"))
    return out


def duration_start(inc: Incident) -> str | None:
    """Id of the milestone durations count from: the first impact that happened, else the first detection."""
    for kind in ("impact", "detection"):
        points = []
        for m in inc.milestones:
            if m.kind == kind and m.status == "happened":
                try:
                    points.append((inc.when(m.id).bounds()[0], m.id))
                except ValueError:
                    continue  # reported at the milestone
        if points:
            return min(points)[1]
    return None


_DURATION_ENDS = ("detection", "diagnosis", "mitigation", "recovery")


def _before_start(inc: Incident) -> list[tuple[tuple, str]]:
    """Detection, diagnosis, mitigation and recovery cannot come before the start (a negative duration)."""
    start_id = duration_start(inc)
    if start_id is None:
        return []
    start = inc.when(start_id)
    out = []
    for i, m in enumerate(inc.milestones):
        if m.kind not in _DURATION_ENDS or m.status != "happened":
            continue
        try:
            point = inc.when(m.id)
        except ValueError:
            continue
        if point.bounds()[1] < start.bounds()[0]:
            out.append((("milestones", i, "at"),
                        f"this {m.kind} ({point.label()}) is before the incident's start ({start.label()}, milestone "
                        f"{start_id!r}), which would make a negative duration: correct the time, or the start"))
    return out


def _apart(a: float, b: float) -> tuple[str, str]:
    """Two numbers written with just enough decimals to tell them apart (1,000.01 and 1,000)."""
    for decimals in range(0, 7):
        x, y = f"{a:,.{decimals}f}", f"{b:,.{decimals}f}"
        if x != y:
            return _trim(x), _trim(y)
    return f"{a:,}", f"{b:,}"


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _inside_folder(relative: str) -> bool:
    """Whether a data path stays in the incident folder: relative, no '..' (either slash)."""
    windows = PureWindowsPath(relative)
    return not (PurePosixPath(relative).is_absolute() or windows.anchor or ".." in windows.parts)


def _source_refs(inc: Incident):
    """(path of a `sources` list, the ids in it) for every sourced item (the incident's own list excluded)."""

    def walk(value, path):
        if isinstance(value, BaseModel):
            for key, item in value.__dict__.items():  # the fields, without pydantic's attribute lookup
                if key in ("sources", "remainder_sources") and path != () and isinstance(item, list):
                    yield path + (key,), item
                elif isinstance(item, (BaseModel, list)):
                    yield from walk(item, path + (key,))
        elif value and isinstance(value[0], (BaseModel, list)):  # a list of text holds no sources list
            for i, item in enumerate(value):
                if isinstance(item, (BaseModel, list)):
                    yield from walk(item, path + (i,))

    yield from walk(inc, ())


# -- turning pydantic's errors into readable problems -------------------------
def _problem(err: dict, data: Any, file: str, lines: dict) -> Problem:
    path = _data_path(err["loc"], data)
    kind = err["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "missing required field"
    elif kind == "union_tag_invalid":
        message = f"unknown kind {_shown(err.get('input', {}).get('kind'))}; expected one of {err['ctx']['expected_tags']}"
    elif kind == "string_pattern_mismatch":
        message = f"{_shown(err.get('input'))} does not have the expected form ({err['ctx']['pattern']})"
    elif kind == "value_error":  # our own validators say what is wrong, input included
        message = err["msg"].removeprefix("Value error, ")
    else:
        message = err["msg"]
        if "input" in err and not isinstance(err["input"], (dict, list)) and kind != "missing":
            message += f" (got {_kind(err['input'])} {_shown(err['input'])})"
    return Problem(file, path_text(path), message, _line(lines, path))


def _data_path(loc: tuple, data: Any) -> tuple:
    """pydantic's error location minus union tags, as a path into the data."""
    out: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict):
            # a missing or unknown key, or a discriminated-union tag
            if part in CHECK_KINDS:
                continue
            out.append(part)
            node = None
        else:
            continue
    return tuple(out)




def _line(lines: dict, path: tuple) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


MAX_ECHO = 200  # characters of a bad value repeated in a message: enough to find it, not a 5 MB wall


def _shown(value: Any) -> str:
    """`repr(value)`, cut to about MAX_ECHO characters."""
    text = repr(value)
    if len(text) <= MAX_ECHO:
        return text
    return f"{text[:MAX_ECHO]}... ({len(text):,} characters)"


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "text", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out
