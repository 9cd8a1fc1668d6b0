"""Pieces of the study and history reports as HTML: a title block, a table, a section's prose.

Each comes from a template in `templates/sections/` (the postmortem's
environment: autoescape on, undefined names are errors), fed plain data by a
view, so a name from the data — a Statuspage component called
`<img src=x onerror=...>` — is shown as those characters and never runs.

A table is a DataFrame and, for each column shown, its label and its format
(a key of `FORMATS`): numbers are written as the postmortem writes them (a
real minus sign, thousands separators, percentages, p-values as '< 0.001'),
never in scientific notation, and a missing value is '—'. The index is never
shown: what a row is about is a column of its own, so no pandas index rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import pandas as pd
from markupsafe import Markup

from incident.core.text import MISSING, count, is_missing, number, p_value, percent
from incident.report.postmortem import environment
from incident.report.views import generated_date

__all__ = ["FORMATS", "fragment", "title_block", "generated", "table", "table_view"]

# How a column's values are written.
FORMATS: dict[str, Callable[[Any], str]] = {
    "text": str,
    "written": str,  # a figure the view wrote already ('−9.74 (p < 0.001)'), aligned as a number
    "count": count,  # 1,175
    "minutes": lambda v: number(v, ",.1f"),  # 1,289.3
    "share": lambda v: percent(v, 0),  # 97%
    "return": lambda v: percent(v, 2, plus=True),  # −13.54%, +11.55%
    "rate": lambda v: percent(v, 3, plus=True),  # a per-session return such as α: −0.279%
    "spread": lambda v: percent(v, 2),  # a per-session standard deviation such as σ: 2.41%
    "ratio": lambda v: number(v, ".2f"),  # β: 1.03
    "p": p_value,  # < 0.001, 0.0967
    "date": lambda v: f"{pd.Timestamp(v):%Y-%m-%d}",
}
# The cells' CSS class: text as text, dates unbroken ("when"), every other format a figure ("num").
ALIGN = {"text": "", "date": "when"}
WIDE = 8  # a table of this many columns may use more than the text's width


def fragment(template: str, **view) -> Markup:
    """One template of `templates/sections/` filled with `view`."""
    return Markup(environment().get_template(f"{template}.html.j2").render(**view).strip())


def title_block(kicker: str, title: str, meta: list[tuple[str, str]], contents: list[tuple[str, str]]) -> Markup:
    """The report's title block, as the postmortem's: kicker, heading, facts (term, value), contents (id, heading)."""
    return fragment("report-title", kicker=kicker, title=title, meta=meta, contents=contents)


def generated() -> list[tuple[str, str]]:
    """[('Generated', date)] from SOURCE_DATE_EPOCH (`views.generated_date`), else nothing."""
    date = generated_date()
    return [] if date is None else [("Generated", date)]


def table_view(frame: pd.DataFrame, columns: Mapping[str, tuple[str, str]]) -> dict:
    """Headers and cells as text: `columns` maps each column to show, in order, to (label, format)."""
    unknown = sorted(set(columns) - set(frame.columns))
    if unknown:
        raise KeyError(f"no column {', '.join(map(repr, unknown))} in the table ({', '.join(map(str, frame.columns))})")
    headers = [{"label": label, "align": ALIGN.get(kind, "num")} for label, kind in columns.values()]
    cells = [[{"text": cell(value, kind), "align": ALIGN.get(kind, "num")} for value in frame[name].tolist()]
             for name, (_, kind) in columns.items()]  # column by column: a row would mix (and upcast) the types
    return {"headers": headers, "rows": [list(row) for row in zip(*cells)], "wide": len(columns) >= WIDE}


def cell(value, kind: str) -> str:
    """One value written in its column's format; '—' for a value the data do not give."""
    return MISSING if is_missing(value) else FORMATS[kind](value)


def table(frame: pd.DataFrame, columns: Mapping[str, tuple[str, str]]) -> Markup:
    """The table of `frame`'s `columns` (name → (label, format)) through the one table template."""
    return fragment("table", **table_view(frame, columns))
