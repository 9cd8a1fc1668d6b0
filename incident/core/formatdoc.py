"""The incident file format's field reference, written from the models themselves.

docs/format.md holds this text between two markers (a test keeps it equal to
`markdown()`); `incident schema --markdown` prints it. A field added to a
model, or a description changed, shows up in the documentation without
anyone writing it twice.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from incident.core.model import Incident
from incident.core.times import TIME_PATTERN

BEGIN = "<!-- field reference: generated from incident/core/model.py by `incident schema --markdown` -->"
END = "<!-- end of the generated field reference -->"


def markdown(model: type[BaseModel] = Incident) -> str:
    """One table per model, the top level first, then each nested model in the order it is met."""
    order: list[type[BaseModel]] = []
    _collect(model, order)
    parts = [BEGIN, ""]
    for m in order:
        title = "Top level (incident.yaml)" if m is model else f"{m.__name__}"
        parts += [f"### {title}", ""]
        doc = (m.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        if doc and m is not model:
            parts += [doc, ""]
        parts += ["| field | type | required | what it is |", "|---|---|---|---|"]
        for name, field in m.model_fields.items():
            required = "yes" if field.is_required() else ""
            text = (field.description or "").replace("|", "\\|").replace("\n", " ")
            parts.append(f"| `{name}` | {_type(field.annotation, field.metadata)} | {required} | {text} |")
        parts.append("")
    parts.append(END)
    return "\n".join(parts) + "\n"


def _collect(model: type[BaseModel], order: list) -> None:
    if model in order:
        return
    order.append(model)
    for field in model.model_fields.values():
        for inner in _models(field.annotation):
            _collect(inner, order)


def _models(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _type(annotation, metadata=()) -> str:
    """A field's type as a reader needs it: 'text', 'list of Milestone', '`planned` \\| `done`'."""
    pattern = next((getattr(m, "pattern", None) for m in metadata if getattr(m, "pattern", None)), None)
    if annotation is str and pattern:
        return _PATTERNS.get(pattern, f"text matching `{pattern}`")
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        base, *meta = args
        pattern = next((getattr(m, "pattern", None) for m in meta if getattr(m, "pattern", None)), None)
        if base is str and pattern:
            return _PATTERNS.get(pattern, f"text matching `{pattern}`")
        if any(getattr(m, "discriminator", None) for m in meta):
            return "one of " + ", ".join(_type(a) for a in get_args(base))
        return _type(base)
    if origin in (Union, types.UnionType):
        shown = [_type(a) for a in args if a is not type(None)]
        return " or ".join(shown) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, typing.List):
        return f"list of {_type(args[0])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    names = {str: "text", float: "number", int: "integer", bool: "true or false", date: "date (YYYY-MM-DD)",
             datetime: "date and time"}
    return names.get(annotation) or getattr(annotation, "__name__", None) or str(annotation)


_PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "id",
    r"^[a-z0-9][a-z0-9-]*$": "slug",
    r"^[A-Z]{3}$": "currency code (ISO 4217)",
    r"^\d{4}-\d{2}-\d{2}$": "date (YYYY-MM-DD)",
    r"^\d{4}(-\d{2}(-\d{2})?)?$": "date (YYYY, YYYY-MM or YYYY-MM-DD)",
    r"^[A-Z0-9]{3,5}$": "exchange code (exchange-calendars)",
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$": "language tag (BCP 47)",
    TIME_PATTERN: "time text (see Times)",
}

# What a value of each pattern looks like, for messages: an example, never the regex itself.
EXAMPLES = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "an id of letters, digits, '_', '.' and '-', e.g. S1 or data-found",
    r"^[a-z0-9][a-z0-9-]*$": "lower-case letters, digits and '-', e.g. acme-2024",
    r"^[A-Z]{3}$": "a currency code (ISO 4217), e.g. USD or CNY",
    r"^\d{4}-\d{2}-\d{2}$": "a date, e.g. 2020-02-23",
    r"^\d{4}(-\d{2}(-\d{2})?)?$": "a date as precise as known, e.g. 2020-02-23, 2020-02 or 2020",
    r"^[A-Z0-9]{3,5}$": "an exchange code (exchange-calendars), e.g. XHKG or XNYS",
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$": "a language tag (BCP 47), e.g. en or zh-Hant",
    TIME_PATTERN: "a date or time, e.g. 2020-02-23 or 2020-02-23 18:56 (or 2020-02-23T18:56+08:00)",
}


def expected_form(pattern: str) -> str:
    """What a value matching `pattern` looks like, with an example ('a date, e.g. 2020-02-23')."""
    return EXAMPLES.get(pattern) or f"text matching {pattern}"
