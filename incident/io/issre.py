"""The ISSRE'22 cloud postmortem data set (Li et al.) as a history table.

Each file of the data set is a JSON object of incidents keyed by id, each
labelled by hand into one schema (template.json): date, title, services,
root-cause categories in layers, mitigation actions, detection method, and
times to detect, identify and fix and the duration, in minutes.

The labels have defects, which are repaired where the intent is plain and
counted either way in the table's import report (see `history_schema`):
misspelt keys (`service name`, `verificatio`...), a misspelt category
(`softwares bugs`), a root cause given as one bare label, null mitigation,
spelling variants of the detection method, a duplicated id. A time the report
does not give stays NaN. No record is dropped: a record the importer cannot
read makes the whole import fail with an IncidentError naming file and field.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.io.files import read_bytes
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

# Mitigation actions are free text (about 400 distinct phrases); for grouping,
# each record's first action is put in a coarse category by the first rule
# whose pattern it contains. The phrases stay in `mitigation_actions`.
MITIGATION_RULES = (
    ("rollback", r"roll(?:ed|ing)?[ -]?back|revert"),
    ("reroute or fail over",
     r"fail(?:ed)?[ -]?(?:over|out)|rerout|redirect|divert|shift|traffic|route|rotation|drain|isolat|migrat|transfer"),
    ("add capacity", r"capacity|scal(?:e|ed|ing)|resource|quota|memory|provision|increase"),
    ("restart", r"restart|reboot|recycl|power cycl|power-cycl|reset"),
    ("repair hardware or power", r"power|generator|fiber|hardware|cable|cooling|colling|replac|device|router"),
    ("fix or hotfix", r"fix|patch|deploy|roll(?:ed)? ?out|update|upgrade|repair|bug|correct|workaround|remediat"),
    ("change configuration", r"config|setting|parameter|threshold|timeout|dns"),
    ("reduce load", r"throttl|rate[ -]limit|load|block|reduc|limit|pause|stop|disabl|halt|cancel|backlog"),
    ("self-recovered", r"self|automatic|recovered themselves|no operation"),
)
_MITIGATION_RULES = tuple((name, re.compile(pattern)) for name, pattern in MITIGATION_RULES)


def read_issre(path: str | Path) -> pd.DataFrame:
    """The history table of an ISSRE'22 postmortem file, or of a folder of them.

    A folder is searched recursively for .json files (template.json, the
    schema's example, is skipped). Raises IncidentError naming file and field
    for input that is not this format.
    """
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
    return issre_history(records)


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


def issre_history(records: list[tuple[Path, str, dict]]) -> pd.DataFrame:
    """The history table of checked (file, id, record) triples, with its import report."""
    report = {"records": len(records)}
    kinds: set[str] = set()  # the defects of the record at hand: each counts once per record
    count = kinds.add

    cols: dict[str, list] = {k: [] for k in (
        "id", "provider", "components", "title", "impact", "root_cause_l1", "root_cause_l2",
        "mitigation", "mitigation_actions", "detection", "start", "ttd", "tti", "ttm", "ttr")}
    seen: dict[str, int] = {}
    for file, rid, rec in records:
        for kind in kinds:
            report[kind] = report.get(kind, 0) + 1
        kinds.clear()
        seen[rid] = seen.get(rid, 0) + 1
        if seen[rid] > 1:  # e.g. a preliminary and a final report of one incident: keep both
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
        cols["mitigation"].append(mitigation_category(actions[0]) if actions else None)
        cols["detection"].append(_detection(rec.get("detection"), count))
        cols["start"].append(_day(rec["time"]))
        for stage, key in _STAGE_KEYS.items():
            value = rec.get(key)
            cols[stage].append(float("nan") if value is None else float(value))
            if value is None:
                count(f"{stage}_missing")
        ttr = rec.get(_STAGE_KEYS["ttr"])
        if ttr is not None and any((rec.get(_STAGE_KEYS[s]) or 0) > ttr for s in ("ttd", "tti", "ttm")):
            count("stage_longer_than_duration")  # kept as labelled: see docs/history.md
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
    """The coarse category of a free-text mitigation action (see MITIGATION_RULES)."""
    text = action.lower()
    for name, pattern in _MITIGATION_RULES:
        if pattern.search(text):
            return name
    return "other"


def _detection(detection: dict | None, count) -> str | None:
    method = (detection or {}).get("method")
    if not isinstance(method, str) or method.strip().lower() in ("", "unknown"):
        count("detection_method_missing")
        return None
    method = method.strip().lower()
    if method not in ("automate", "manual"):  # the schema's two spellings
        count("detection_method_variant")
    return _DETECTION.get(method, method)
