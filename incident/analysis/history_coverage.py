"""What a history's statistics cover: which records, and since when each stage is known.

Three facts a reader needs before a number of `incident.analysis.history`
means one thing, whatever the size of the history:

- Scheduled maintenance. A status page lists its maintenance windows beside
  its incidents (impact 'maintenance'); their duration runs from the
  announcement to 'Completed', days rather than minutes, and a few of them
  move the mean a long way. `exclude_maintenance` sets them aside;
  `maintenance_note` says whether they are in and how many.
- When a stage starts to be known. A source may give a stage only from some
  date on (GitHub's feed posts 'Monitoring', hence `ttm`, only from
  2026-03-11). `history_stats.stage_onsets` finds, per source and stage, the first start
  where the stage is known when at least ONSET_MIN_BEFORE of the source's
  records start before it, none of them knowing it, and that run could not
  be chance (`is_onset`: a stage merely often unknown leaves a few early
  records without it); a trend of that stage starts at its first known
  quarter (`from_first_known`).
- Which sources a quarter's median rests on (`quarter_sources`): one line
  drawn across quarters of different sources changes meaning where the
  source changes (`source_changes`).

Pure functions of history tables (`incident.io.history_schema`) and of their trends.
"""

from __future__ import annotations

import pandas as pd

from incident.core.text import count
from incident.io.history_schema import UNKNOWN_GROUP
from incident.analysis.intervals import MIN_N_FOR_CI

__all__ = ["MAINTENANCE", "ONSET_MIN_BEFORE", "ONSET_CHANCE", "is_onset", "is_maintenance", "exclude_maintenance",
           "maintenance_note", "maintenance_text", "quarter", "from_first_known", "quarter_sources", "source_changes"]

MAINTENANCE = "maintenance"  # the impact a status page gives a scheduled maintenance window
ONSET_MIN_BEFORE = MIN_N_FOR_CI  # this many earlier records without the stage: it is said to start later
ONSET_CHANCE = 0.001  # ... unless a run that long could be chance at this probability (`is_onset`)


def is_onset(before: int, after: int, known: int) -> bool:
    """Whether `before` records without a stage, then `known` of `after` with it, say the stage starts later.

    At least ONSET_MIN_BEFORE records before, and a run of that many without
    it less likely than ONSET_CHANCE if each record knew it as often as those
    after do: (1 - known/after) ** before < ONSET_CHANCE.
    """
    if before < ONSET_MIN_BEFORE or after <= 0:
        return False
    return (1 - known / after) ** before < ONSET_CHANCE


def is_maintenance(table: pd.DataFrame) -> pd.Series:
    """Whether each record is a scheduled maintenance window (impact or page impact 'maintenance').

    A table read without those columns (`read_history(path, columns)`) has none it can tell.
    """
    out = pd.Series(False, index=table.index)
    for col in ("impact", "page_impact"):
        if col in table:
            out |= table[col] == MAINTENANCE
    return out


def exclude_maintenance(table: pd.DataFrame) -> pd.DataFrame:
    """The history without its maintenance windows; the import report counts them (`maintenance_excluded`)."""
    mask = is_maintenance(table).to_numpy()
    out = table[~mask].reset_index(drop=True)
    report = dict(table.attrs.get("import_report", {}))
    report["maintenance_excluded"] = int(mask.sum())
    out.attrs = {**table.attrs, "import_report": report}
    return out


def maintenance_note(table: pd.DataFrame) -> dict:
    """{'included': bool, 'records': n}: whether the maintenance windows are in `table`'s statistics, and how many.

    After `exclude_maintenance` they are not, and n is the count set aside.
    """
    report = table.attrs.get("import_report", {})
    if "maintenance_excluded" in report:
        return {"included": False, "records": int(report["maintenance_excluded"])}
    return {"included": True, "records": int(is_maintenance(table).sum())}


def maintenance_text(note: dict, option: str | None = None) -> str:
    """What the statistics do with the maintenance windows of `note` (`maintenance_note`), in words:
    '18 included in every statistic (...)'; `option`, the switch that changes it, is named where given."""
    n = note["records"]
    if not n:
        return "none in these sources"
    if note["included"]:
        hint = f"; leave them out with {option}" if option else ""
        return f"{count(n)} included in every statistic (each from its announcement to its completion{hint})"
    return f"{count(n)} left out of every statistic" + (f" ({option})" if option else "")


def quarter(start: pd.Series) -> pd.Series:
    """'2024Q3' for each start time (UTC quarter); '(unknown)' where the start is missing."""
    q = start.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("Q").astype(str)
    return q.where(start.notna(), UNKNOWN_GROUP)


def from_first_known(trend: pd.DataFrame) -> pd.DataFrame:
    """A `quarterly_trend` from its first quarter with a known value on (and its '(unknown)' row).

    Quarters before it say only that the stage was not recorded then; they are
    left out rather than drawn as years of gaps.
    """
    dated = trend["quarter"] != UNKNOWN_GROUP
    known = (trend["n"] > 0) & dated
    if not known.any():
        return trend[~dated].reset_index(drop=True) if (~dated).any() else trend.iloc[:0]
    first = known.to_numpy().argmax()
    return trend[(trend.index >= trend.index[first]) | ~dated].reset_index(drop=True)


def quarter_sources(table: pd.DataFrame, stage: str = "ttr") -> pd.Series:
    """Per quarter (UTC, '2024Q3'), the sources of its records where `stage` is known, joined by ' + '."""
    if "source" not in table:  # a table read without it: no source to tell apart
        return pd.Series(dtype=object, name="sources")
    known = table[table[stage].notna() & table["start"].notna()]
    if known.empty:
        return pd.Series(dtype=object, name="sources")
    return (known.groupby(quarter(known["start"]).to_numpy())["source"]
            .agg(lambda s: " + ".join(sorted(set(map(str, s))))).rename("sources"))


def source_changes(trend: pd.DataFrame, sources: pd.Series) -> list[tuple[int, str]]:
    """Where a trend's line changes source: (row position in `trend`, the sources from there on).

    Quarters without a known value carry no source and do not break a run;
    the first quarter with one is a change only if the trend has an earlier source.
    """
    out, current = [], None
    for pos, q in enumerate(trend["quarter"]):
        here = sources.get(q)
        if here is None:
            continue
        if current is not None and here != current:
            out.append((pos, here))
        current = here
    return out
