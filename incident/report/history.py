"""What the history report (`history.ipynb`) shows, as plain data: its title block, tables and prose.

The history is `incident.analysis.history`'s table of records from any
sources `incident history` reads. Each table here is a DataFrame of the
columns shown, with the labels and formats of its `*_COLUMNS` mapping (see
`fragments.table`); the prose of each section is a template in
`templates/sections/history/`, with the numbers it quotes (the bootstrap's
resamples and seed, the targets) taken from the statistics' own constants.

Every table shows all its rows (a long one scrolls): the trend tables every
quarter from the first where the stage is known, the group tables every stage.
What the statistics cover is said where they are shown: whether scheduled
maintenance windows are in and how many (title block), and the stages a
source gives only from some date on (`onsets`, in "What this history can and
cannot show"; the trend of such a stage starts there).

The functions that compute (`coverage`'s `table`, `onsets`, `targets`,
`group`, `trend`) take the history as a pandas table or as the ibis table of
`history.in_memory`: the notebook converts it once for all of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from markupsafe import Markup

from incident.analysis.history import (
    BOOTSTRAP_MAX_RECORDS, LEVEL, MIN_N_FOR_CI, N_BOOT, SEED, TARGETS, group_stats, import_report, quarterly_trend,
    stage_onsets, within_targets,
)
from incident.analysis.history_coverage import from_first_known, maintenance_note, maintenance_text
from incident.core.text import count, number, percent
from incident.io.history_schema import STAGE_NAMES
from incident.report.fragments import fragment, generated

# (id, heading) in report order; "groups" only when the report has breakdowns
SECTIONS = [
    ("coverage", "What this history can and cannot show"),
    ("stages", "Each stage as a distribution"),
    ("targets", "Within targets"),
    ("groups", "Groups"),
    ("trend", "Per quarter"),
    ("import", "How the records were read"),
]
HEADINGS = dict(SECTIONS)
TREND_STAGES = ("ttr", "ttm")  # the stages whose trend is shown, where some record knows them

DISTRIBUTION = {  # minutes, over the records where the stage is known
    "mean": ("Mean (min)", "minutes"),
    "std": ("Std. dev. (min)", "minutes"),
    "median": ("Median (min)", "minutes"),
    "p90": ("90th percentile (min)", "minutes"),
    "median_ci_low": (f"Median, {LEVEL:.0%} CI low", "minutes"),
    "median_ci_high": (f"Median, {LEVEL:.0%} CI high", "minutes"),
}
COVERAGE_COLUMNS = {
    "stage": ("Stage", "text"),
    "N": ("Records", "count"),
    "n": ("Known", "count"),
    "share_known": ("Share known", "share"),
}
STAGE_COLUMNS = {"stage": ("Stage", "text"), "n": ("Known", "count"), "share_known": ("Share known", "share"),
                 **DISTRIBUTION}
TARGET_COLUMNS = {
    "stage": ("Stage", "text"),
    "target_minutes": ("Target (min)", "minutes"),
    "n": ("Known", "count"),
    "within": ("Within the target", "count"),
    "share": ("Share within", "share"),
}
TREND_COLUMNS = {"quarter": ("Quarter (UTC)", "text"), "records": ("Records", "count"), "n": ("Known", "count"),
                 **DISTRIBUTION}
IMPORT_COLUMNS = {"kind": ("Kind (docs/history.md)", "text"), "records": ("Records", "count")}


def title(history: pd.DataFrame, sources: list, group_by: list[str]) -> dict:
    """The title block: the sources and their records, the providers, the dates, the breakdowns shown."""
    per_source = history["source"].value_counts()
    providers = history["provider"].value_counts()
    start = history["start"].dropna()
    meta = [
        ("Sources", ", ".join(source_name(s) for s in sources)),
        ("Records", f"{count(len(history))}: " + ", ".join(f"{count(n)} {name}" for name, n in per_source.items())),
        ("Providers", ", ".join(f"{name} ({count(n)})" for name, n in providers.items())),
    ]
    if len(start):
        meta.append(("Dates", f"{start.min():%Y-%m-%d} → {start.max():%Y-%m-%d} (incident starts, UTC)"))
    if group_by:
        meta.append(("Breakdowns", ", ".join(group_by)))
    meta.append(("Maintenance windows", maintenance_text(maintenance_note(history))))
    meta += generated()
    return {"kicker": "Incident history", "title": headline(history, providers), "meta": meta,
            "contents": [(key, heading) for key, heading in SECTIONS if key != "groups" or group_by]}


def coverage(history: pd.DataFrame, table=None) -> dict:
    """The coverage section's view: the maintenance windows' text and the stages known only from a date on.

    `table`: the history as `history.in_memory` gave it, when the caller has converted it already.
    """
    rows = onsets(history if table is None else table)
    return {"maintenance": maintenance_text(maintenance_note(history)),
            "onsets": [{"label": r.stage, "source": str(r.source), "since": r.since, "known": count(r.known),
                        "after": count(r.after), "before": count(r.before)} for r in rows.itertuples()]}


def onsets(history) -> pd.DataFrame:
    """The stages a source gives only from some date on (`stage_onsets`), with the stage in words."""
    out = stage_onsets(history)
    return out.assign(stage=out["stage"].map(stage_label), since=out["since"].dt.strftime("%Y-%m-%d"))


def trend_stages(history: pd.DataFrame) -> list[str]:
    """The TREND_STAGES some record knows: those the report shows a trend of."""
    return [s for s in TREND_STAGES if history[s].notna().any()]


def source_name(source) -> str:
    """A source as the report names it: a folder by its name, a file with its folder ('github-status/incidents.jsonl').

    Never the whole path: where the files were on the machine that made the
    report is not part of the report.
    """
    path = Path(source)
    return path.name if path.is_dir() or not path.parent.name else f"{path.parent.name}/{path.name}"


def headline(history: pd.DataFrame, providers: pd.Series) -> str:
    """'1,175 incidents of AWS, Azure, GitHub and Google'; past four providers, their number."""
    names = sorted(str(p) for p in providers.index)
    if not names:
        who = ""
    elif len(names) == 1:
        who = f" of {names[0]}"
    elif len(names) <= 4:
        who = f" of {', '.join(names[:-1])} and {names[-1]}"
    else:
        who = f" of {count(len(names))} providers"
    return f"{count(len(history))} incident{'s' if len(history) != 1 else ''}{who}"


def prose(key: str, method: str = "bootstrap", **view) -> Markup:
    """Section `key`'s heading and its prose (`templates/sections/history/<key>.html.j2`); `method` is the
    median CI's (`ci_for`), said where the prose defines the interval."""
    constants = {"level": percent(LEVEL, 0), "resamples": count(N_BOOT), "seed": SEED, "min_n": MIN_N_FOR_CI,
                 "method": method, "bootstrap_max": count(BOOTSTRAP_MAX_RECORDS),
                 "targets": [(STAGE_NAMES[s], minutes(m)) for s, m in TARGETS.items()]}
    return fragment(f"history/{key}", key=key, heading=HEADINGS[key], **constants, **view)


def minutes(value: float) -> str:
    """A target in minutes as prose says it: '1', '10', '2.5'."""
    return count(value) if float(value).is_integer() else number(value, ",.1f")


def group_heading(by: str) -> Markup:
    """The heading of one breakdown ('By provider')."""
    return fragment("history/group", key=f"by-{by}", by=by)


def stage_label(stage: str) -> str:
    """'Time to detect (ttd)'."""
    name = STAGE_NAMES.get(stage, stage)
    return f"{name[0].upper()}{name[1:]} ({stage})"


def stages(stats: pd.DataFrame) -> pd.DataFrame:
    """`stage_stats` with the stage as a column in words: the coverage and the distribution tables' rows."""
    return stats.rename(index=stage_label).rename_axis("stage").reset_index()


def targets(history) -> pd.DataFrame:
    """`within_targets` with the stage in words."""
    return stages(within_targets(history))


def group(history, by: str, **ci) -> pd.DataFrame:
    """One row per group of `by` and stage: the group's records, and the stage's distribution where known."""
    groups = group_stats(history, by, **ci)
    return groups.assign(stage=groups["stage"].map(stage_label))


def group_columns(by: str) -> dict:
    """The group table's columns: the group (named for `by`), the stage, its records, and the distribution."""
    label = by.replace("-", " ")
    return {"group": (label[0].upper() + label[1:], "text"), "stage": ("Stage", "text"), "N": ("Records", "count"),
            "n": ("Known", "count"), **DISTRIBUTION}


def trend(history: pd.DataFrame, stage: str = "ttr", quarters: pd.DataFrame | None = None, **ci) -> pd.DataFrame:
    """`quarterly_trend` (or `quarters`, computed already), every quarter from the first where `stage` is
    known (`from_first_known`)."""
    return from_first_known(quarterly_trend(history, stage, **ci) if quarters is None else quarters)


def trend_heading(stage: str) -> Markup:
    """The heading of one stage's trend ('Time to resolve (ttr)')."""
    return fragment("history/trend-stage", key=f"trend-{stage}", label=stage_label(stage))


def imports(history: pd.DataFrame) -> pd.DataFrame:
    """The import report: per kind of defect or gap, the records that had it (`records`: all that were read)."""
    return import_report(history)
