"""The ISSRE'22 cloud postmortem data set (Li et al.) as a history table.

Each file of the data set is a JSON object of incidents keyed by id, each
labelled by hand into one schema (template.json): date, title, services,
root-cause categories in layers, mitigation actions, detection method, and
times to detect, identify and fix and the duration, in minutes.

The paper defines identification and mitigation as phases that follow
detection, not as times from the start (`LABELLED_DEFINITIONS`); the history
table gives every stage in minutes from the start, so they are converted by
cumulative sums where the record gives every earlier phase, and left unknown
otherwise (`stages_from_start`; `read_issre_stages` shows both side by side).
Records whose phases add up to more than their duration contradict that
reading and are counted; their identification and mitigation are unknown.

The labels have defects, which are repaired where the intent is plain and
counted either way in the table's import report (see `history_schema`):
misspelt keys (`service name`, `verificatio`...), a misspelt category
(`softwares bugs`), a root cause given as one bare label, null mitigation,
spelling variants of the detection method, an outage reported twice (the
preliminary report is dropped, the final kept: `final_reports`). A time the
report does not give stays NaN. A record the importer cannot read makes the
whole import fail with an IncidentError naming file and field.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.io.files import read_bytes, read_text
from incident.io.history_schema import history_frame

SOURCE = "issre22"
MAX_FILE_BYTES = 200_000_000
TEMPLATE_FILE = "template.json"  # the schema's example record, not an incident
_STAGE_KEYS = {"ttd": "detection time", "tti": "identification time", "ttm": "fix time", "ttr": "duration"}
_SERVICE_KEYS = ("service_name", "service name")
_VERIFICATION_TYPOS = ("verificatio", "verifcation", "verificationn", "verififcation")
_CATEGORY_FIXES = {"softwares bugs": "software bugs"}
_DETECTION = {
    "automate": "automated", "automated": "automated", "automatic": "automated",
    "automatic monitoring": "automated", "automated monitor": "automated", "manual": "manual",
}
_PROVIDERS = {"azure": "Azure", "google": "Google", "aws": "AWS"}
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\Z")

# Mitigation actions are free text (about 530 distinct phrases). Each action is
# put in one coarse group by the first rule (in file order) whose pattern its
# lowercased text contains; a record is in the group of every action it lists,
# as the paper counts it. The rules are data: mitigation_groups.csv, shipped
# with the package, one row per rule (group, regular expression, a real text
# of the data set the rule must group). Texts no rule matches are 'other'
# (`unmatched_actions` lists them). The phrases stay in `mitigation_actions`.
MITIGATION_FILE = Path(__file__).with_name("mitigation_groups.csv")
OTHER_GROUP = "other"
GROUP_SEPARATOR = "+"  # as in `impact`: a record's groups joined, in the rules' order


def mitigation_rules(path: str | Path = MITIGATION_FILE) -> tuple[tuple[str, str, str], ...]:
    """The (group, pattern, example) rules of a mitigation-groups CSV, in order; IncidentError if malformed."""
    text = read_text(path, 1_000_000, "mitigation groups file")
    rows = list(csv.DictReader(io.StringIO(text)))
    rules = []
    for line, row in enumerate(rows, start=2):
        group, pattern = (row.get("group") or "").strip(), (row.get("pattern") or "").strip()
        if not group or not pattern or GROUP_SEPARATOR in group:
            raise IncidentError.single(str(path), f"a rule needs a group (without {GROUP_SEPARATOR!r}) and a pattern",
                                       line=line)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise IncidentError.single(str(path), f"pattern {pattern!r} is not a regular expression: {exc}",
                                       line=line) from None
        rules.append((group, pattern, (row.get("example") or "").strip()))
    return tuple(rules)


MITIGATION_RULES = mitigation_rules()
_MITIGATION_RULES = tuple((name, re.compile(pattern)) for name, pattern, _ in MITIGATION_RULES)
MITIGATION_GROUPS = tuple(dict.fromkeys(name for name, _, _ in MITIGATION_RULES)) + (OTHER_GROUP,)


def read_issre(path: str | Path) -> pd.DataFrame:
    """The history table of an ISSRE'22 postmortem file, or of a folder of them.

    A folder is searched recursively for .json files (template.json, the
    schema's example, is skipped). Stages are minutes from the start
    (`stages_from_start`); of an outage reported twice, only the final report
    is kept (`final_reports`). Raises IncidentError naming file and field for
    input that is not this format.
    """
    return issre_history(issre_records(path))


def read_issre_stages(path: str | Path) -> pd.DataFrame:
    """Each record's stages as labelled and as the history table gives them (see `issre_stages`)."""
    return issre_stages(issre_records(path))


def issre_records(path: str | Path) -> list[tuple[Path, str, dict]]:
    """The checked (file, id, record) triples of a file or folder, in file order; IncidentError if any is bad."""
    path = Path(path)
    files = issre_files(path)
    records, problems = [], []
    for file in files:
        try:
            records += [(file, rid, rec) for rid, rec in _read_file(file).items()]
        except IncidentError as exc:
            problems += exc.problems
            if len(problems) > MAX_PROBLEMS:
                raise IncidentError(capped(problems, stopped=True)) from None
    if problems:
        raise IncidentError(capped(problems))
    return records


def issre_files(path: Path) -> list[Path]:
    """The data files under `path` (or `path` itself), in a stable order."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.name != TEMPLATE_FILE)
        if files:
            return files
        raise IncidentError.single(str(path), "no .json postmortem files in this folder")
    raise IncidentError.single(str(path), "no such file or folder")


def _read_file(file: Path) -> dict:
    text = read_bytes(file, MAX_FILE_BYTES, "postmortem file").decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IncidentError.single(str(file), f"not JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise IncidentError.single(str(file), "not usable JSON: values nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise IncidentError.single(str(file), f"not usable JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise IncidentError.single(
            str(file), f"not an ISSRE'22 postmortem file: expected an object of incidents keyed by id, "
                       f"got {type(data).__name__}")
    problems = []
    for rid, rec in data.items():
        for field, message in _shape_problems(rec):
            problems.append(Problem(str(file), f"{rid}.{field}" if field else rid, message, _line_of(text, rid)))
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
    if problems:
        raise IncidentError(capped(problems))
    return data


_YEARS = (1970, 2199)  # a postmortem's date; also keeps every start within datetime64[ns]


def _day(text: str) -> pd.Timestamp | None:
    """The UTC day of an MM/DD/YYYY date, or None if `text` is not one or there is no such day (31/31/2020) in _YEARS."""
    m = _DATE.match(text.strip())
    if m is None:
        return None
    month, day, year = (int(part) for part in m.groups())
    if not _YEARS[0] <= year <= _YEARS[1]:
        return None
    try:
        return pd.Timestamp(date(year, month, day), tz="UTC")
    except ValueError:
        return None


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _line_of(text: str, key: str) -> int | None:
    at = text.find(json.dumps(key) + ":")
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _shape_problems(rec: Any) -> list[tuple[str, str]]:
    """What makes `rec` unreadable as a postmortem record: (field, message) pairs."""
    if not isinstance(rec, dict):
        return [("", f"a postmortem must be an object, got {type(rec).__name__}")]
    out = []
    when = rec.get("time")
    if not isinstance(when, str) or not _DATE.match(when.strip()):
        out.append(("time", f"expected a date MM/DD/YYYY, got {_shown(when)}"))
    elif _day(when) is None:
        out.append(("time", f"{when!r} is not a real date (MM/DD/YYYY, years {_YEARS[0]} to {_YEARS[1]})"))
    for key in _STAGE_KEYS.values():
        value = rec.get(key)
        # a negative number is read, then left out of the stages and counted (history_schema.exclude_negative)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            out.append((key, f"expected minutes (a number ≥ 0) or null, got {_shown(value)}"))
    for key in ("root cause", "mitigation", "detection"):
        if rec.get(key) is not None and not isinstance(rec[key], dict):
            out.append((key, f"expected an object or null, got {type(rec[key]).__name__}"))
    for key in (*_SERVICE_KEYS, "impact symptom"):
        if rec.get(key) is not None and not isinstance(rec[key], list):
            out.append((key, f"expected a list, got {type(rec[key]).__name__}"))
    if rec.get("title") is not None and not isinstance(rec["title"], str):
        out.append(("title", f"expected text, got {type(rec['title']).__name__}"))
    return out


# -- stages: the paper's definitions, and minutes from the start ---------------------
# Li et al., ISSRE 2022, section IV.A (the PDF in the upstream repository): "Time to
# Detect (TTD) is the time cloud systems take to detect a fault"; "Time to Identify
# (TTI) is the time cloud systems take to identify the root causes after detecting a
# fault"; "Time to Mitigate (TTM) is the time cloud systems take to mitigate faults";
# "Time to Resolve (TTR) ... includes the time spent on detecting a fault, identifying
# the root cause, and mitigating the issue"; and Eq. 1, availability = TTF / (TTF + TTD
# + TTI + TTM). So TTD runs from the start, TTI and TTM are phases that follow one
# another, and the duration (TTR) holds all three.
LABELLED_DEFINITIONS = {"ttd": "from_start", "tti": "phase", "ttm": "phase", "ttr": "from_start"}
CONTRADICTION = "phases_exceed_duration"  # the import report's kind for a record the paper's reading cannot fit


def stages_from_start(ttd: float, tti: float, ttm: float, ttr: float) -> tuple[dict[str, float], bool]:
    """Minutes from the start of each stage, from the labelled values (NaN = not given), and whether they contradict.

    Detection and duration are from the start as labelled. Identification ends
    at TTD + TTI, mitigation at TTD + TTI + TTM: each only where every earlier
    phase is given, else NaN (a phase without its start is no point in time).
    The phases are parts of the duration, so known phases summing to more than
    it contradict the paper's reading: then (`True`) only the duration, and the
    time to detect if within it, are kept; identification and mitigation,
    which would depend on the reading, are NaN.
    """
    known = [v for v in (ttd, tti, ttm) if not math.isnan(v)]
    contradicts = not math.isnan(ttr) and sum(known) > ttr
    out = {"ttd": ttd if not (contradicts and ttd > ttr) else math.nan, "tti": math.nan, "ttm": math.nan, "ttr": ttr}
    if not contradicts:
        out["tti"] = ttd + tti  # NaN unless both are given
        out["ttm"] = ttd + tti + ttm
    return out, contradicts


def _labelled_stages(rec: dict, count) -> dict[str, float]:
    """The record's labelled minutes per stage; not given, or negative (counted), is NaN."""
    out = {}
    for stage, key in _STAGE_KEYS.items():
        value = rec.get(key)
        if value is None:
            count(f"{stage}_missing")
        elif value < 0:  # a time before the start: no duration, and no sum may include it
            count(f"{stage}_negative")
            value = None
        out[stage] = math.nan if value is None else float(value)
    return out


def _stage_counts(labelled: dict[str, float], start: dict[str, float], contradicts: bool, count) -> list[str]:
    """Count, and return, what keeps a record's stages from being read from the start (the record's flags)."""
    if contradicts:
        count(CONTRADICTION)
        return [CONTRADICTION]
    flags = []
    for stage in ("tti", "ttm"):
        if not math.isnan(labelled[stage]) and math.isnan(start[stage]):
            count(f"{stage}_phase_only")  # an earlier phase is not given: not a time from the start
            flags.append(f"{stage}_phase_only")
    return flags


def issre_stages(records: list[tuple[Path, str, dict]]) -> pd.DataFrame:
    """One row per kept record: the labelled minutes, the minutes from the start, and the reading.

    Columns: id, detect, identify, mitigate (the labelled phases), duration,
    ttd, tti, ttm, ttr (as in the history table) and `reading`: 'phases'
    (read as the paper defines them), or CONTRADICTION (the phases exceed the
    duration: see `stages_from_start`). Where the history table leaves a stage
    unknown, this shows what the record said.
    """
    rows = []
    for _, rid, rec in final_reports(records)[0]:
        labelled = _labelled_stages(rec, lambda kind: None)
        start, contradicts = stages_from_start(**labelled)
        rows.append({"id": rid, "detect": labelled["ttd"], "identify": labelled["tti"], "mitigate": labelled["ttm"],
                     "duration": labelled["ttr"], **start, "reading": CONTRADICTION if contradicts else "phases"})
    return pd.DataFrame(rows, columns=["id", "detect", "identify", "mitigate", "duration", "ttd", "tti", "ttm", "ttr",
                                       "reading"])


def final_reports(records: list[tuple[Path, str, dict]]) -> tuple[list[tuple[Path, str, dict]], int]:
    """The records without the preliminary reports of an outage also reported finally, and how many were dropped.

    Azure published a preliminary and then a final root-cause analysis of some
    outages; the data set labels both under one id (azure-20180904-1). Of
    records sharing an id, those titled 'Preliminary' are dropped when another
    of that id is not; records sharing an id otherwise are all kept.
    """
    titles: dict[str, list[bool]] = {}
    for _, rid, rec in records:
        titles.setdefault(rid, []).append(_preliminary(rec))
    superseded = {rid for rid, prelim in titles.items() if len(prelim) > 1 and any(prelim) and not all(prelim)}
    kept = [(f, rid, rec) for f, rid, rec in records if not (rid in superseded and _preliminary(rec))]
    return kept, len(records) - len(kept)


def _preliminary(rec: dict) -> bool:
    return "preliminary" in str(rec.get("title") or "").lower()


def issre_history(records: list[tuple[Path, str, dict]]) -> pd.DataFrame:
    """The history table of checked (file, id, record) triples, with its import report.

    `records` in the report counts the records read; every other kind counts
    among the records kept (`final_reports` drops superseded preliminary reports).
    """
    report = {"records": len(records)}
    records, dropped = final_reports(records)
    if dropped:
        report["preliminary_report_superseded"] = dropped
    kinds: set[str] = set()  # the defects of the record at hand: each counts once per record
    count = kinds.add

    cols: dict[str, list] = {k: [] for k in (
        "id", "provider", "components", "title", "impact", "root_cause_l1", "root_cause_l2",
        "mitigation", "mitigation_actions", "detection", "start", "ttd", "tti", "ttm", "ttr", "stage_flag")}
    seen: dict[str, int] = {}
    for file, rid, rec in records:
        for kind in kinds:
            report[kind] = report.get(kind, 0) + 1
        kinds.clear()
        seen[rid] = seen.get(rid, 0) + 1
        if seen[rid] > 1:  # two reports under one id, neither a superseded preliminary: keep both
            count("duplicate_id")
            rid = f"{rid}#{seen[rid]}"
        cols["id"].append(rid)
        cols["provider"].append(_provider(file, rid))
        if "service name" in rec and "service_name" not in rec:
            count("misspelt_key_service_name")
        if any(k in rec for k in _VERIFICATION_TYPOS):
            count("misspelt_key_verification")
        services = rec.get("service_name", rec.get("service name")) or []
        cols["components"].append([s.strip() for s in services if isinstance(s, str) and s.strip()])
        cols["title"].append(rec.get("title") or None)
        symptoms = sorted({s.strip() for s in rec.get("impact symptom") or [] if isinstance(s, str) and s.strip()})
        cols["impact"].append("+".join(symptoms) or None)
        l1, l2 = _root_cause(rec.get("root cause"), count)
        cols["root_cause_l1"].append(l1)
        cols["root_cause_l2"].append(l2)
        actions = _mitigation_actions(rec.get("mitigation"), count)
        cols["mitigation_actions"].append(actions)
        cols["mitigation"].append(GROUP_SEPARATOR.join(mitigation_groups(actions)) or None)
        cols["detection"].append(_detection(rec.get("detection"), count))
        cols["start"].append(_day(rec["time"]))
        labelled = _labelled_stages(rec, count)
        start, contradicts = stages_from_start(**labelled)
        cols["stage_flag"].append(",".join(_stage_counts(labelled, start, contradicts, count)) or None)
        for stage, value in start.items():
            cols[stage].append(value)
    for kind in kinds:
        report[kind] = report.get(kind, 0) + 1
    n = len(records)
    columns = {
        **cols,
        "source": [SOURCE] * n,
        "page": cols["provider"],
        "hours_to_detect": [v / 60 for v in cols["ttd"]],
        "hours_to_mitigate": [v / 60 for v in cols["ttm"]],
        "hours_to_resolve": [v / 60 for v in cols["ttr"]],
        "exact": [False] * n,  # the start is known to the day only
    }
    return history_frame(columns, n, report)


def _provider(file: Path, rid: str) -> str:
    for name in (file.parent.name, rid):
        lower = name.lower()
        for prefix, provider in _PROVIDERS.items():
            if lower.startswith(prefix):
                return provider
        if lower.startswith("gc"):  # gcnet-, gcs-, gcdc-...: Google Cloud
            return "Google"
    return "unknown"


def _root_cause(cause: dict | None, count) -> tuple[str | None, str | None]:
    """Layer 1 and 2 of the first root-cause label (the main one, as labelled)."""
    cause = cause or {}
    labels = cause.get("label")
    if labels is None and ("layer-1" in cause or "layer-2" in cause):
        count("root_cause_not_a_label_list")  # the label given bare, without the list around it
        labels = [cause]
    labels = [lab for lab in labels or [] if isinstance(lab, dict)]
    if not labels:
        count("root_cause_missing")
        return None, None
    layers = [(_category(lab.get("layer-1"), count), _category(lab.get("layer-2"), count)) for lab in labels]
    l1, l2 = layers[0]
    if l2 is None:
        count("root_cause_layer2_missing")
    return l1, l2


def _category(value: Any, count) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value in _CATEGORY_FIXES:
        count("misspelt_category")
        value = _CATEGORY_FIXES[value]
    return value


def _mitigation_actions(mitigation: dict | None, count) -> list[str]:
    if mitigation is None:
        count("mitigation_null")
        return []
    actions = [a.strip() for a in mitigation.get("label") or [] if isinstance(a, str) and a.strip()]
    if not actions:
        count("mitigation_missing")
    return actions


def mitigation_category(action: str) -> str:
    """The group of one free-text mitigation action: the first rule of MITIGATION_RULES it matches, else 'other'."""
    text = action.lower()
    for name, pattern in _MITIGATION_RULES:
        if pattern.search(text):
            return name
    return OTHER_GROUP


def mitigation_groups(actions: list[str]) -> list[str]:
    """The groups of a record's actions, each once, in the order of MITIGATION_GROUPS."""
    found = {mitigation_category(action) for action in actions}
    return [group for group in MITIGATION_GROUPS if group in found]


def unmatched_actions(table: pd.DataFrame) -> pd.Series:
    """The mitigation texts of `table` that no rule groups ('other'), with how many records list each.

    Most frequent first; empty if every text is grouped. Shows where the rules
    (mitigation_groups.csv) leave texts out.
    """
    texts = [a for actions in table["mitigation_actions"] for a in dict.fromkeys(actions)
             if mitigation_category(a) == OTHER_GROUP]
    counts = pd.Series(texts, dtype=object).value_counts()
    counts = counts.rename_axis("action").rename("records")
    return counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")


def _detection(detection: dict | None, count) -> str | None:
    method = (detection or {}).get("method")
    if not isinstance(method, str) or method.strip().lower() in ("", "unknown"):
        count("detection_method_missing")
        return None
    method = method.strip().lower()
    if method not in ("automate", "manual"):  # the schema's two spellings
        count("detection_method_variant")
    return _DETECTION.get(method, method)
