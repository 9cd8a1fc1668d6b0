"""Load and validate an incident folder: YAML -> `Incident`, or every problem.

Validation is the models' own (`Incident.model_validate`): pydantic checks
each field's type and shape, then the models' validators check what spans
fields (`check_references`: ids that must exist, an end after its start;
parts within a total, a benchmark that is not the stock). Here every error
becomes a `Problem` with the field path and line, and `load` raises one
`IncidentError` carrying all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import get_close_matches
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from incident.core.errors import IncidentError, Problem
from incident.core.formatdoc import expected_form
from incident.core.model import (  # noqa: F401 (check_references and duration_start are re-exported)
    CHECK_KINDS, CrossFieldError, Incident, check_references, duration_start, shown as _shown,
)
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
    _within_folder(file)
    data, lines = load_yaml(file)
    inc = validate(data, str(file), lines)
    inc._folder = file.parent
    return inc


def _within_folder(file: Path) -> None:
    """Refuse an incident file that is a symbolic link leading out of its folder, as price files are refused.

    An incident folder travels (a repository, an archive): a link to
    /etc/shadow in it must not be read, nor its lines echoed in messages.
    """
    if not file.is_symlink():
        return
    try:
        inside = file.resolve().is_relative_to(file.parent.resolve())
    except (OSError, RuntimeError):  # a loop (RuntimeError before Python 3.13), no permission
        raise IncidentError.single(str(file), "is a symbolic link that cannot be followed") from None
    if not inside:
        raise IncidentError.single(str(file), "is a symbolic link to a file outside its folder; "
                                   "copy the file into the folder instead")


def as_record_problems(exc: IncidentError, file: str, where: str | Callable[[Problem], str],
                       line: int | None = None) -> list[Problem]:
    """The problems of an incident an importer made from one record, named by that record in its source file.

    `where` is the record's place ('incidents[3]'), or a function giving it
    per problem (a CSV row's column). Every importer words them this way.
    """
    return [Problem(file, where(p) if callable(where) else where,
                    f"as an incident, {p.path or 'the file'}: {p.message}", line) for p in exc.problems]


def validate(data: Any, file: str = "<data>", lines: dict[tuple, int] | None = None) -> Incident:
    """Validate plain data (as read from YAML) into an `Incident`."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise IncidentError.single(file, f"the file must be a mapping of fields, not a {_kind(data)}", line=lines.get(()))
    try:
        return Incident.model_validate(data)
    except ValidationError as exc:
        problems = [p for err in exc.errors() for p in _problems(err, data, file, lines)]
        raise IncidentError(_dedupe(problems)) from None


# -- turning pydantic's errors into readable problems -------------------------
def _problems(err: ErrorDetails, data: Any, file: str, lines: dict) -> list[Problem]:
    """One problem per pydantic error; a model's cross-field rules, one per broken rule, each at its field."""
    error = err.get("ctx", {}).get("error")
    if err["type"] == "value_error" and isinstance(error, CrossFieldError):
        base = _data_path(err["loc"], data)
        return [Problem(file, path_text(base + path), message, _line(lines, base + path))
                for path, message in error.problems]
    return [_problem(err, data, file, lines)]


def _problem(err: ErrorDetails, data: Any, file: str, lines: dict) -> Problem:
    path = _data_path(err["loc"], data)
    kind = err["type"]
    if kind == "extra_forbidden":
        message = "unknown field" + _did_you_mean(err["loc"])
    elif kind == "missing":
        message = "missing required field"
    elif kind == "union_tag_invalid":
        message = f"unknown kind {_shown(err.get('input', {}).get('kind'))}; expected one of {err['ctx']['expected_tags']}"
    elif kind == "string_pattern_mismatch":
        message = f"{_shown(err.get('input'))} does not have the expected form: {expected_form(err['ctx']['pattern'])}"
    elif kind == "value_error":  # our own validators say what is wrong, input included
        message = err["msg"].removeprefix("Value error, ")
    else:
        message = err["msg"]
        if "input" in err and not isinstance(err["input"], (dict, list)) and kind != "missing":
            message += f" (got {_kind(err['input'])} {_shown(err['input'])})"
    return Problem(file, path_text(path), message, _line(lines, path))


def _did_you_mean(loc: tuple) -> str:
    """"; did you mean 'milestones'?" when an unknown key is close to a field of the model at that place."""
    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return ""
    close = get_close_matches(key, _field_names(loc[:-1]), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_names(loc: tuple) -> list[str]:
    """The field names of the model(s) at a pydantic location inside an `Incident`."""
    models: list[type[BaseModel]] = [Incident]
    for part in loc:
        if not isinstance(part, str):
            continue  # a list index: the same model
        fields = [m.model_fields[part] for m in models if part in m.model_fields]
        if fields:
            models = [inner for f in fields for inner in _models_in(f.annotation)]
        else:  # a discriminated union's tag: the member whose kind it is
            models = [m for m in models if "kind" in m.model_fields and part in get_args(m.model_fields["kind"].annotation)]
    return sorted({name for m in models for name in m.model_fields})


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


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
