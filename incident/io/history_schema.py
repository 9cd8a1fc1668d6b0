"""The columns of the history table that every importer produces, and its import report.

One row per incident, whatever the source (a folder of incident files, a
Statuspage feed, the ISSRE'22 postmortem data set, GitHub's status history),
so that one set of statistics and figures serves them all. Importers build a
dict of columns and pass it to `history_frame`, which orders and types them.

Stage durations are in minutes from the incident's start: `ttd` (to
detection), `tta` (to the first acknowledgement by a responder, where a paging
tool records it), `tti` (to identification of the cause), `ttm` (to
mitigation), `ttr` (to resolution, the duration). NaN where the source does not tell;
never 0 in its place. The older `hours_to_*` columns are kept for existing
users. docs/history.md says, per source, where each value comes from.

A stage that ends before the incident starts (resolved before started) is no
duration: `history_frame` sets it to NaN, with its `hours_to_*` column, and
counts it in the import report as `<stage>_negative` (`exclude_negative`).

The import report counts, per kind of defect or gap, how many records had it.
It travels with the table as `table.attrs["import_report"]`, a plain dict of
kind -> count (plain, so that pandas can compare and concatenate attrs).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

STAGES = ("ttd", "tta", "tti", "ttm", "ttr")
# Stages only paging tools record (PagerDuty, Opsgenie, incident.io, a CSV export
# with the column): shown and counted only where some record knows them.
OPTIONAL_STAGES = ("tta",)
STAGE_NAMES = {
    "ttd": "time to detect",
    "tta": "time to acknowledge",
    "tti": "time to identify",
    "ttm": "time to mitigate",
    "ttr": "time to resolve",
}
HISTORY_COLUMNS = [
    "id", "source", "provider", "page", "components", "title", "impact", "page_impact",
    "root_cause_l1", "root_cause_l2", "mitigation", "mitigation_actions", "detection",
    "start", "detected", "acknowledged", "mitigated", "resolved",
    "ttd", "tta", "tti", "ttm", "ttr",
    "hours_to_detect", "hours_to_mitigate", "hours_to_resolve", "exact", "stage_flag",
]
# The labels of a group whose key a record lacks: every record is in some group, so groups' counts add up.
UNKNOWN_GROUP = "(unknown)"
NO_COMPONENT = "(none)"  # for an incident without any component
# Columns added after the first release: a history file written before lacks them and reads without them.
ADDED_COLUMNS = ("acknowledged", "tta", "stage_flag")
# The column types, by kind (incident.io.history_parquet stores each kind with one Arrow type).
TIME_COLUMNS = ("start", "detected", "acknowledged", "mitigated", "resolved")  # datetime64[ns, UTC]
NUMBER_COLUMNS = ("ttd", "tta", "tti", "ttm", "ttr", "hours_to_detect", "hours_to_mitigate", "hours_to_resolve")  # float
LIST_COLUMNS = ("components", "mitigation_actions")  # object: a list of str, empty if none
# `exact` is a bool; every other column is text (object: str or None). `stage_flag` says why a record's
# stages are not all known from its numbers (its import-report kinds, comma-separated), None where nothing is amiss.


def history_frame(columns: Mapping[str, Any], n: int, report: Mapping[str, int] | None = None,
                  negatives: bool = True) -> pd.DataFrame:
    """The history table of `n` incidents from the given columns, typed and ordered.

    Missing columns are filled with missing values (empty lists for list
    columns), so an importer states only what its source knows. Negative
    stage durations are set to NaN and counted (`exclude_negative`), unless
    `negatives` is False (a caller that does it later, on the whole table).
    """
    data = {}
    for col in HISTORY_COLUMNS:
        value = columns.get(col)
        if col in LIST_COLUMNS:
            data[col] = pd.Series([list(v) if v is not None else [] for v in value] if value is not None
                                  else [[] for _ in range(n)], dtype=object)
        elif col in TIME_COLUMNS:
            data[col] = pd.to_datetime(pd.Series(value if value is not None else [pd.NaT] * n), utc=True)
        elif col in NUMBER_COLUMNS:
            data[col] = pd.to_numeric(pd.Series(value if value is not None else [np.nan] * n), errors="raise").astype(float)
        elif col == "exact":
            data[col] = pd.Series(value if value is not None else [True] * n, dtype=bool)
        else:
            data[col] = pd.Series(value if value is not None else [None] * n, dtype=object)
    table = pd.DataFrame(data)
    for col in TIME_COLUMNS:
        table[col] = table[col].astype("datetime64[ns, UTC]")
    table["impact"] = table["impact"].fillna("unknown")
    report = dict(report or {})
    if negatives:
        for kind, count in exclude_negative(table).items():
            report[kind] = report.get(kind, 0) + count
    order = sorted(report, key=lambda kind: (kind != "records", kind))
    table.attrs["import_report"] = {kind: int(report[kind]) for kind in order}
    return table


def shown_stages(table: pd.DataFrame) -> tuple[str, ...]:
    """The stages a history's statistics show: every stage but an optional one no record knows."""
    return tuple(s for s in STAGES if s not in OPTIONAL_STAGES or (s in table and table[s].notna().any()))


# each stage with the older column in hours that says the same
_STAGE_HOURS = {"ttd": "hours_to_detect", "tta": None, "tti": None, "ttm": "hours_to_mitigate", "ttr": "hours_to_resolve"}


def exclude_negative(table: pd.DataFrame) -> dict[str, int]:
    """Set negative stage durations (an end before the start) to NaN in place; {'<stage>_negative': count}.

    A stage and its `hours_to_*` column go together: either negative makes
    both missing, and the record is counted once for that stage.
    """
    counts = {}
    for stage, hours in _STAGE_HOURS.items():
        negative = table[stage].to_numpy(dtype=float) < 0
        if hours is not None:
            negative |= table[hours].to_numpy(dtype=float) < 0
        if negative.any():
            table.loc[negative, [stage] + ([hours] if hours else [])] = np.nan
            counts[f"{stage}_negative"] = int(negative.sum())
    return counts


def combine(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several history tables as one, their import reports summed kind by kind."""
    tables = list(tables)
    report: dict[str, int] = {}
    for t in tables:
        for kind, count in t.attrs.get("import_report", {}).items():
            report[kind] = report.get(kind, 0) + int(count)
    parts = [t.copy() for t in tables]
    for t in parts:
        t.attrs = {}
    out = pd.concat(parts, ignore_index=True) if parts else history_frame({}, 0)
    out.attrs["import_report"] = {kind: report[kind] for kind in sorted(report, key=lambda k: (k != "records", k))}
    return out


def import_report(table: pd.DataFrame) -> pd.DataFrame:
    """The import report of a history table as a DataFrame: kind, records."""
    report = table.attrs.get("import_report", {})
    return pd.DataFrame({"kind": list(report), "records": [int(v) for v in report.values()]},
                        columns=["kind", "records"])
