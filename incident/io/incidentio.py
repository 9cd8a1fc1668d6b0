"""incident.io incidents (API v2, saved to a file) as incidents and as a history table.

Input: the body of `GET /v2/incidents` saved to a file, `{"incidents": [...],
"pagination_meta": {...}}`, and optionally the body of `GET /v2/incident_updates`,
`{"incident_updates": [...]}`. Nothing is fetched; no key is needed.

Where the fields' meanings come from (read as text, nothing copied):
- incident.io API reference, "Incidents V2" (https://api-docs.incident.io/tag/Incidents-V2),
  whose OpenAPI schema is published with incident.io's Terraform provider
  (https://github.com/incident-io/terraform-provider-incident, internal/apischema/)
  and restated in a generated Python client's copy of it
  (https://github.com/expobrain/python-incidentio-client, incident_io_openapi.json):
  `id` the incident's unique id; `reference` how the product shows it (INC-123);
  `name` a short explanation, `summary` a longer description; `incident_status`
  the status (`name`) and its `category`, one of triage, declined, merged,
  canceled, live (shown as Active), learning (shown as Post-incident), closed,
  paused (new categories may be added: the API promises only additive enum
  changes); `severity` the organisation's rating, `name` and `rank` (a lower
  rank is less severe); `created_at`/`updated_at`; `incident_timestamp_values`
  lifecycle events, each `{incident_timestamp: {name, rank}, value: {value}}`,
  with no value while not set; `duration_metrics`, each
  `{duration_metric: {name}, value_seconds}`, durations incident.io computes;
  `custom_field_entries`, each `{custom_field: {name, field_type}, values}`, a
  value being `value_text`, `value_link`, `value_numeric` (text),
  `value_option.value` or `value_catalog_entry.name`; `incident_role_assignments`,
  each `{role: {name, role_type}, assignee: {name}}`; `permalink` the incident's
  page in the product; `mode` standard, retrospective, test or tutorial;
  `visibility` public or private; `incident_type.name`.
- the same reference, "Incident Updates V2" (https://api-docs.incident.io/tag/Incident-Updates-V2):
  each update has `id`, `incident_id`, `created_at`, a `message` explaining it,
  `new_incident_status` (the status it set), `new_severity` and `updater`
  (`user.name` or `api_key.name`).
- incident.io help centre, "Incident lifecycle"
  (https://help.incident.io/en/articles/6541971-incident-lifecycle): statuses
  are triage, active and post-incident stages; each status has a timestamp set
  when an incident first enters it ("Fixed at" the first move to Monitoring),
  timestamps may be set by hand, and an "Impact started" timestamp records
  impact that began before the incident was declared.

How it maps (an incident.yaml per incident, `docs/format.md`). Timestamp names
are matched ignoring case and a trailing " at":
- "Impact started" is an `impact` milestone, the start; without it the
  start is the detection and the time to detect is unknown (never 0);
- "Reported at", else `created_at`, is the `detection`;
- "Acknowledged at" / "Accepted at" is a milestone of kind `other` titled
  'Acknowledged' (the format has no acknowledgement kind; `diagnosis` would
  claim a cause was found);
- "Stabilised at" / "Stabilized at" / "Fixed at" / "Mitigated at" is the `mitigation`;
- "Resolved at" is the `recovery`; a post-incident or closed incident without
  it takes the first update that moved it to such a status (counted,
  `resolved_from_update`);
- the earliest value wins where a stage has several timestamps; the others,
  "Closed at", "Declined at" and every timestamp of another name are kept as
  `other` milestones under their own names, never refused;
- status: categories triage, live and paused are `ongoing`, with an open
  phase; learning and closed are `resolved`, with a phase from the start to
  the recovery (no phase when the resolution time is unknown); declined,
  canceled and merged were judged not to be incidents (or are counted in
  another): they are imported as `resolved` without a phase, a note saying
  why, and counted. An unknown category is `ongoing` unless "Resolved at" is set;
- the phase's impact level: incident.io states none. Its default severities
  give one (Critical -> major_outage, Major -> partial_outage, Minor ->
  degraded_performance); any other severity gives partial_outage, and the
  phase's description says so. One phase per affected service (`component`);
- services: the values of custom fields named service(s), affected
  service(s), product(s), affected product(s), system(s) or component(s);
  every custom field with a value is a note;
- `severity.name` is the severity; role assignments are responders under the
  role's name, updaters responders who 'posted updates';
- each update is a note quoting its message, with the status and severity it set.

The history table (`incidentio_history`): start, detected, acknowledged
(`tta`), mitigated (`ttm`) and resolved (`ttr`) as above, in minutes from the
start; `ttd` only where "Impact started" is set. `impact` is 'declined',
'canceled' or 'merged' for those records, and 'test' or 'tutorial' for
incidents of those modes (filter them out as GitHub's maintenance is), else
unknown; `page_impact` the severity. Each duration metric whose name says a
stage (acknowledge/accept -> tta, detect/report -> ttd,
fix/mitigate/stabilise -> ttm, resolve/lasted/duration -> ttr) is compared
with the timestamps: more than a minute apart is counted
`<stage>_metric_disagrees` and the timestamps' figure is kept (a metric may
leave out paused time or count from another timestamp; which one is right is
the analyst's call).

The JSON reading, time checking, text cleaning and naming helpers are the
ones every API importer shares (`incident.io.apijson`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.core.model import shown
from incident.io.history_schema import history_frame
from incident.io.apijson import (
    QUOTE_MAX, TEXT_MAX, check_records, milestone, moment, one_line, read_json, record_where, reference_name, text_of, time_problem,
    validated,
)
from incident.io.statuspage import incident_ids, write_imported

SOURCE = "incidentio"
PROVIDER = "incident.io"
CATEGORIES = ("triage", "declined", "merged", "canceled", "live", "learning", "closed", "paused")
ONGOING = ("triage", "live", "paused")
OVER = ("learning", "closed")
NOT_INCIDENTS = ("declined", "canceled", "merged")
NOT_REAL_MODES = ("test", "tutorial")
METRIC_TOLERANCE_MINUTES = 1.0  # incident.io counts whole seconds; timestamps carry microseconds
_TICKET_MAX = 200

# timestamp name (lower case, without a trailing " at") -> the stage it gives
_STAGE_OF_TIMESTAMP = {
    "impact started": "start", "impact start": "start",
    "reported": "detection",
    "acknowledged": "acknowledged", "accepted": "acknowledged",
    "stabilised": "mitigation", "stabilized": "mitigation", "fixed": "mitigation", "mitigated": "mitigation",
    "resolved": "recovery",
}
# duration metric name (lower case) -> the history stage it states, by the first matching word
_METRIC_WORDS = (
    ("tta", ("acknowledg", "accept")),
    ("ttd", ("detect", "report")),
    ("ttm", ("fix", "mitigat", "stabilis", "stabiliz")),
    ("ttr", ("resolv", "lasted", "duration")),
)
_SERVICE_FIELD = re.compile(r"(affected |impacted )?(services?|products?|systems?|components?)")
_DEFAULT_LEVELS = {"critical": "major_outage", "major": "partial_outage", "minor": "degraded_performance"}


# -- public face ----------------------------------------------------------------
def is_incidentio(data_prefix: bytes) -> bool:
    """Whether the start of a file looks like an incident.io API v2 response.

    An "incidents" list with incident.io's own keys (`incident_status`
    objects, `pagination_meta`, or `reference` with `permalink`: PagerDuty,
    Statuspage and Opsgenie use none of them), or an "incident_updates" list
    with `new_incident_status` (a Statuspage feed's updates have no such key).
    """
    text = data_prefix[:65_536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    if re.search(r'"incidents"\s*:\s*\[', text):
        return (re.search(r'"incident_status"\s*:\s*\{', text) is not None
                or re.search(r'"pagination_meta"\s*:', text) is not None
                or ('"reference"' in text and '"permalink"' in text))
    return re.search(r'"incident_updates"\s*:\s*\[', text) is not None and '"new_incident_status"' in text


def read_incidentio(path: str | Path, updates: str | Path | None = None) -> list[dict]:
    """Each incident of a saved incident.io `incidents` response as plain incident.yaml data, validated.

    All or nothing: IncidentError listing every problem (at most 50 lines),
    each naming the file, the record and the field.
    """
    file = str(path)
    incidents, by_incident, updates_file = _read_all(path, updates)
    ids = incident_ids(SOURCE, [r["created_at"] for r in incidents], [r["id"] for r in incidents])
    return validated(((_incident_data(raw, by_incident.get(raw["id"], []), file, updates_file, i, incident_id),
                       record_where('incidents', i, raw)) for i, (raw, incident_id) in enumerate(zip(incidents, ids))),
                     file)


def import_incidentio(path: str | Path, out_dir: str | Path, updates: str | Path | None = None,
                      overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per incident.io incident; return the folders (all or nothing)."""
    incidents = read_incidentio(path, updates)
    return write_imported(incidents, source=path, out_dir=out_dir, overwrite=overwrite,
                          origin="the incident.io API response", command="incident import incidentio")


def incidentio_history(path: str | Path, updates: str | Path | None = None) -> pd.DataFrame:
    """The history table of a saved incident.io `incidents` response, with its import report.

    Stages as the module's doc says: start ("Impact started", else the
    detection), detected, acknowledged, mitigated, resolved, and ttd, tta,
    ttm, ttr in minutes from the start. Nothing is dropped: a stage the
    record lacks is NaN and counted; a duration metric that disagrees with
    the timestamps is counted. `updates` only supply resolution times.
    """
    incidents, by_incident, _ = _read_all(path, updates)
    n = len(incidents)
    stages = [_stages(r, by_incident.get(r["id"], [])) for r in incidents]

    def times(key: str) -> pd.Series:
        return pd.Series([moment(getattr(s, key)) if getattr(s, key) else pd.NaT for s in stages],
                         dtype="datetime64[ns, UTC]")

    start, detected, acknowledged = times("start"), times("detected"), times("acknowledged")
    mitigated, resolved = times("mitigated"), times("resolved")
    has_impact_start = pd.Series([s.start_is_impact for s in stages], dtype=bool)
    ttd = ((detected - start).dt.total_seconds() / 60).where(has_impact_start)
    tta = (acknowledged - start).dt.total_seconds() / 60
    ttm = (mitigated - start).dt.total_seconds() / 60
    ttr = (resolved - start).dt.total_seconds() / 60
    services = [_services(r) for r in incidents]
    categories = [r["incident_status"]["category"] for r in incidents]
    report: Counter = Counter({"records": n})
    report.update({
        "unresolved": sum(_status(r, s) == "ongoing" for r, s in zip(incidents, stages)),
        "impact_start_missing": sum(not s.start_is_impact for s in stages),
        "ttd_missing": int(ttd.isna().sum()), "tta_missing": int(tta.isna().sum()),
        "ttm_missing": int(ttm.isna().sum()), "ttr_missing": int(ttr.isna().sum()),
        "resolved_without_time": sum(c in OVER and not s.resolved for c, s in zip(categories, stages)),
        "resolved_from_update": sum(s.resolved_from_update for s in stages),
        "severity_missing": sum(reference_name(r.get("severity")) is None for r in incidents),
        "service_missing": sum(not s for s in services),
        "title_missing": sum(not text_of(r.get("name")) for r in incidents),
        "status_category_unknown": sum(c not in CATEGORIES for c in categories),
        "timestamp_other_name": sum(bool(s.unknown_names) for s in stages),
        "timestamp_without_value": sum(s.without_value > 0 for s in stages),
        "reopened_after_resolution": sum(s.reopened for s in stages),
    })
    for kind in NOT_INCIDENTS:
        report[kind] = categories.count(kind)
    modes = [r.get("mode") for r in incidents]
    for mode in NOT_REAL_MODES + ("retrospective",):
        report[f"mode_{mode}"] = modes.count(mode)
    computed = {"ttd": ttd, "tta": tta, "ttm": ttm, "ttr": ttr}
    for i, raw in enumerate(incidents):
        for kind in _metric_checks(raw, {stage: values.iloc[i] for stage, values in computed.items()}):
            report[kind] += 1
    if updates is not None:
        known = {r["id"] for r in incidents}
        report["updates_of_other_incidents"] = sum(len(v) for k, v in by_incident.items() if k not in known)
    columns = {
        "id": [r["id"] for r in incidents],
        "source": [SOURCE] * n,
        "provider": [PROVIDER] * n,
        "page": [s[0] if s else PROVIDER for s in services],
        "components": services,
        "title": [one_line(text_of(r.get("name"))) or None for r in incidents],
        "impact": [m if m in NOT_REAL_MODES else (c if c in NOT_INCIDENTS else None)
                   for m, c in zip(modes, categories)],
        "page_impact": [reference_name(r.get("severity")) for r in incidents],
        "start": start, "detected": detected, "acknowledged": acknowledged,
        "mitigated": mitigated, "resolved": resolved,
        "ttd": ttd, "tta": tta, "ttm": ttm, "ttr": ttr,
        "hours_to_detect": ttd / 60, "hours_to_mitigate": ttm / 60, "hours_to_resolve": ttr / 60,
    }
    return history_frame(columns, n, report)


# -- reading and checking -------------------------------------------------------
def _read_all(path: str | Path, updates: str | Path | None) -> tuple[list[dict], dict[str, list[dict]], str | None]:
    """The checked incidents, their updates by incident id (in time order), and the updates' file name."""
    incidents = _checked_incidents(read_json(path, "incident.io incidents response"), str(path))
    if updates is None:
        return incidents, {}, None
    by_incident = _checked_updates(read_json(updates, "incident.io incident updates response"), str(updates))
    return incidents, by_incident, str(updates)


def _checked_incidents(body: Any, file: str) -> list[dict]:
    """The incidents of a response, or IncidentError naming each bad record and field."""
    if isinstance(body, dict) and isinstance(body.get("incident_updates"), list) and "incidents" not in body:
        raise IncidentError.single(file, "is an incident.io incident updates response (GET /v2/incident_updates); "
                                         "give the incidents response (GET /v2/incidents), with this file as its "
                                         "updates")
    if not isinstance(body, dict) or not isinstance(body.get("incidents"), list):
        got = type(body).__name__ if not isinstance(body, dict) else "an object without an 'incidents' list"
        raise IncidentError.single(file, f"not an incident.io incidents response: expected {{\"incidents\": [...]}}, "
                                         f"got {got}")
    incidents = body["incidents"]
    if not incidents:
        raise IncidentError.single(file, "no incidents: the 'incidents' list is empty")
    check_records(incidents, file, _incident_problems, lambda i, raw: record_where('incidents', i, raw))
    return incidents


def _incident_problems(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return [("", f"not an incident.io incident: expected an object, got {type(raw).__name__}")]
    out: list[tuple[str, str]] = []
    if not isinstance(raw.get("id"), str) or not raw["id"].strip():
        out.append(("id", "missing incident id (text)"))
    for key in ("created_at", "updated_at"):
        if raw.get(key) is None and key == "updated_at":
            continue
        message = time_problem(raw.get(key))
        if message:
            out.append((key, message))
    for key in ("reference", "name", "summary", "permalink", "mode", "visibility", "postmortem_document_url"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            out.append((key, f"expected text, got {shown(raw[key])}"))
    status = raw.get("incident_status")
    if not isinstance(status, dict):
        out.append(("incident_status", f"expected an object with 'name' and 'category', got {shown(status)}"))
    elif not isinstance(status.get("category"), str) or not status["category"].strip():
        out.append(("incident_status.category", f"expected text such as {', '.join(CATEGORIES[:5])}, ..., "
                                                f"got {shown(status.get('category'))}"))
    for key in ("severity", "incident_type"):
        out += _named_object_problems(raw.get(key), key, "name", optional=True)
    out += _list_problems(raw, "incident_timestamp_values", _timestamp_problems)
    out += _list_problems(raw, "duration_metrics", _metric_problems)
    out += _list_problems(raw, "custom_field_entries", _custom_field_problems)
    out += _list_problems(raw, "incident_role_assignments", _role_problems)
    return out


def _list_problems(raw: dict, key: str, item_problems) -> list[tuple[str, str]]:
    """Problems of an optional list of objects, each item's under `key[j]`."""
    items = raw.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        return [(key, f"expected a list, got {shown(items)}")]
    out = []
    for j, item in enumerate(items):
        if not isinstance(item, dict):
            out.append((f"{key}[{j}]", f"expected an object, got {shown(item)}"))
            continue
        out += [(f"{key}[{j}].{where}", message) for where, message in item_problems(item)]
    return out


def _named_object_problems(value: Any, where: str, key: str, optional: bool = False) -> list[tuple[str, str]]:
    """Problems of an object that must carry text under `key` (a severity's name, a timestamp's)."""
    if value is None and optional:
        return []
    if not isinstance(value, dict):
        return [(where, f"expected an object{' or null' if optional else ''}, got {shown(value)}")]
    if not isinstance(value.get(key), str):
        return [(f"{where}.{key}", f"expected text, got {shown(value.get(key))}")]
    return []


def _timestamp_problems(item: dict) -> list[tuple[str, str]]:
    out = _named_object_problems(item.get("incident_timestamp"), "incident_timestamp", "name")
    value = item.get("value")
    if value is None:
        return out
    if not isinstance(value, dict):
        return out + [("value", f"expected an object {{\"value\": time}} or null, got {shown(value)}")]
    if value.get("value") is not None:
        message = time_problem(value["value"])
        if message:
            out.append(("value.value", message))
    return out


def _metric_problems(item: dict) -> list[tuple[str, str]]:
    out = _named_object_problems(item.get("duration_metric"), "duration_metric", "name")
    seconds = item.get("value_seconds")
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)
                                or seconds != seconds or abs(seconds) > 1e12):
        out.append(("value_seconds", f"expected a number of seconds, got {shown(seconds)}"))
    return out


def _custom_field_problems(item: dict) -> list[tuple[str, str]]:
    out = _named_object_problems(item.get("custom_field"), "custom_field", "name")
    values = item.get("values")
    if values is None:
        return out
    if not isinstance(values, list):
        return out + [("values", f"expected a list, got {shown(values)}")]
    for j, value in enumerate(values):
        where = f"values[{j}]"
        if not isinstance(value, dict):
            out.append((where, f"expected an object, got {shown(value)}"))
            continue
        for key in ("value_text", "value_link"):
            if value.get(key) is not None and not isinstance(value[key], str):
                out.append((f"{where}.{key}", f"expected text, got {shown(value[key])}"))
        numeric = value.get("value_numeric")
        if numeric is not None and (isinstance(numeric, bool) or not isinstance(numeric, (str, int, float))):
            out.append((f"{where}.value_numeric", f"expected a number as text, got {shown(numeric)}"))
        for key, name in (("value_option", "value"), ("value_catalog_entry", "name")):
            out += [(f"{where}.{w}", m) for w, m in _named_object_problems(value.get(key), key, name, optional=True)]
    return out


def _role_problems(item: dict) -> list[tuple[str, str]]:
    return (_named_object_problems(item.get("role"), "role", "name")
            + _named_object_problems(item.get("assignee"), "assignee", "name", optional=True))


def _checked_updates(body: Any, file: str) -> dict[str, list[dict]]:
    """The updates of a response by incident id, in time order, or IncidentError naming each bad update."""
    if not isinstance(body, dict) or not isinstance(body.get("incident_updates"), list):
        raise IncidentError.single(file, "not an incident.io incident updates response: expected "
                                         "{\"incident_updates\": [...]}")
    problems: list[Problem] = []
    by_incident: dict[str, list[dict]] = {}
    for j, update in enumerate(body["incident_updates"]):
        where = f"incident_updates[{j}]"
        if not isinstance(update, dict):
            problems.append(Problem(file, where, f"expected an object, got {type(update).__name__}"))
            continue
        if isinstance(update.get("id"), str):
            where += f" (id {shown(update['id'])})"
        if not isinstance(update.get("incident_id"), str) or not update["incident_id"]:
            problems.append(Problem(file, f"{where}.incident_id", "missing the incident's id (text)"))
        message = time_problem(update.get("created_at"))
        if message:
            problems.append(Problem(file, f"{where}.created_at", message))
        if update.get("message") is not None and not isinstance(update["message"], str):
            problems.append(Problem(file, f"{where}.message", f"expected text, got {shown(update['message'])}"))
        for key, name in (("new_incident_status", "category"), ("new_severity", "name")):
            for w, m in _named_object_problems(update.get(key), key, name, optional=True):
                problems.append(Problem(file, f"{where}.{w}", m))
        if update.get("updater") is not None and not isinstance(update["updater"], dict):
            problems.append(Problem(file, f"{where}.updater", "expected an object or null"))
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
        if not problems:
            by_incident.setdefault(update["incident_id"], []).append(update)
    if problems:
        raise IncidentError(capped(problems))
    for group in by_incident.values():
        group.sort(key=lambda u: moment(u["created_at"]))
    return by_incident


# -- the stages of one incident ------------------------------------------------------
@dataclass
class _Stages:
    """When each stage happened (API time text), and the timestamps no stage took."""

    start: str
    start_is_impact: bool
    detected: str
    detected_from: str  # the timestamp's name, or 'created_at'
    acknowledged: str | None = None
    mitigated: str | None = None
    resolved: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # stage -> the timestamp's name
    others: list[tuple[str, str]] = field(default_factory=list)  # (name, time) of every other timestamp
    unknown_names: list[str] = field(default_factory=list)
    without_value: int = 0
    resolved_from_update: bool = False
    reopened: bool = False


def _timestamp_key(name: str) -> str:
    key = " ".join(name.lower().split())
    return key[:-3] if key.endswith(" at") else key


def _stages(raw: dict, updates: list[dict]) -> _Stages:
    """The stages of a checked incident: the earliest timestamp for each, as the module's doc maps them."""
    chosen: dict[str, tuple[str, str]] = {}
    others: list[tuple[str, str]] = []
    unknown: list[str] = []
    without_value = 0
    for item in raw.get("incident_timestamp_values") or []:
        name = one_line(item["incident_timestamp"]["name"]) or "(unnamed timestamp)"
        value = (item.get("value") or {}).get("value")
        if value is None:
            without_value += 1
            continue
        stage = _STAGE_OF_TIMESTAMP.get(_timestamp_key(name))
        if stage is None and _timestamp_key(name) not in ("closed", "declined", "merged", "canceled", "cancelled"):
            unknown.append(name)
        if stage is None:
            others.append((name, value))
        elif stage in chosen and moment(chosen[stage][1]) <= moment(value):
            others.append((name, value))
        else:
            if stage in chosen:
                others.append(chosen[stage])
            chosen[stage] = (name, value)
    category = raw["incident_status"]["category"]
    reopened = False
    if "recovery" in chosen and category in ONGOING:  # resolved once, then reopened: not over
        others.append(chosen.pop("recovery"))
        reopened = True
    resolved_from_update = False
    if "recovery" not in chosen and category in OVER:
        closing = next((u for u in updates if (u.get("new_incident_status") or {}).get("category") in OVER), None)
        if closing is not None:
            chosen["recovery"] = ("update " + shown(closing.get("id")), closing["created_at"])
            resolved_from_update = True
    detected_from, detected = chosen.get("detection", ("created_at", raw["created_at"]))
    start = chosen["start"][1] if "start" in chosen else detected
    others.sort(key=lambda o: moment(o[1]))
    return _Stages(
        start=start, start_is_impact="start" in chosen, detected=detected, detected_from=detected_from,
        acknowledged=chosen.get("acknowledged", (None, None))[1], mitigated=chosen.get("mitigation", (None, None))[1],
        resolved=chosen.get("recovery", (None, None))[1], names={k: v[0] for k, v in chosen.items()},
        others=others, unknown_names=unknown, without_value=without_value,
        resolved_from_update=resolved_from_update, reopened=reopened,
    )


def _status(raw: dict, stages: _Stages) -> str:
    category = raw["incident_status"]["category"]
    if category in ONGOING:
        return "ongoing"
    if category in OVER or category in NOT_INCIDENTS:
        return "resolved"
    return "resolved" if stages.resolved else "ongoing"  # a category added after this was written


def _metric_checks(raw: dict, computed: dict[str, float]) -> list[str]:
    """Report kinds for the record's duration metrics against the stages its timestamps give."""
    out = []
    for item in raw.get("duration_metrics") or []:
        seconds = item.get("value_seconds")
        if seconds is None:
            continue
        name = item["duration_metric"]["name"].lower()
        stage = next((s for s, words in _METRIC_WORDS if any(w in name for w in words)), None)
        if stage is None:
            out.append("duration_metric_other")
        elif pd.isna(computed[stage]):
            out.append(f"{stage}_metric_unchecked")
        elif abs(seconds / 60 - computed[stage]) > METRIC_TOLERANCE_MINUTES:
            out.append(f"{stage}_metric_disagrees")
    return out


# -- conversion -------------------------------------------------------------------
def _incident_data(raw: dict, updates: list[dict], file: str, updates_file: str | None, i: int,
                   incident_id: str) -> dict:
    stages = _stages(raw, updates)
    reference = one_line(text_of(raw.get("reference")))
    label = reference or raw["id"]
    title = one_line(text_of(raw.get("name"))) or "(untitled incident)"
    created = raw["created_at"]
    status_name = reference_name(raw["incident_status"]) or raw["incident_status"]["category"]
    category = one_line(raw["incident_status"]["category"])
    sources = [{
        "id": "S1", "kind": "document",
        "title": f"incident.io incident {label}: {title}"[:TEXT_MAX],
        "publisher": PROVIDER, "date": created[:10],
        "locator": f"{Path(file).name}, {record_where('incidents', i, raw)}",
        "note": "The incident.io API v2 incidents response, saved to a file.",
    }]
    url = raw.get("permalink")
    if isinstance(url, str) and re.match(r"https?://", url):
        sources.append({"id": "S2", "kind": "ticket", "title": f"incident.io incident {label}"[:TEXT_MAX],
                        "publisher": PROVIDER, "date": created[:10], "url": url,
                        "ticket": (reference or raw["id"])[:_TICKET_MAX]})
    if updates and updates_file is not None:
        sources.append({"id": "S3", "kind": "log", "title": f"incident.io updates of incident {label}"[:TEXT_MAX],
                        "publisher": PROVIDER, "date": created[:10],
                        "locator": f"{Path(updates_file).name}, the incident_updates of incident id {raw['id']}"
                                   [:TEXT_MAX],
                        "note": "The incident.io API v2 incident updates response, saved to a file."})
    update_source = ["S3"] if updates and updates_file is not None else ["S1"]

    milestones = _milestones(stages, update_source)
    status = _status(raw, stages)
    services = _services(raw)
    severity = reference_name(raw.get("severity"))
    phases = _phases(raw, stages, status, services, severity, milestones)
    summary = (f"{title}: an incident.io incident ({label}) on {', '.join(services) or 'no named service'}, "
               f"status {status_name} ({category}), severity {severity or 'not given'}.")
    detail = text_of(raw.get("summary"))
    data: dict[str, Any] = {
        "id": incident_id,
        "title": title[:TEXT_MAX],
        "organisation": {"name": (services[0] if services else PROVIDER)[:TEXT_MAX]},
        "summary": (summary + (" " + detail if detail else ""))[:TEXT_MAX],
        "timezone": "UTC",
        "status": status,
        "severity": severity,
        "sources": sources,
        "milestones": milestones,
        "phases": phases,
    }
    responders = _responders(raw, updates, update_source)
    if responders:
        data["responders"] = responders
    notes = _notes(raw, updates, update_source, category, status_name)
    if notes:
        data["notes"] = notes
    return data


def _milestones(stages: _Stages, update_source: list[str]) -> list[dict]:
    def described(stage: str) -> str:
        name = stages.names[stage]
        if name.startswith("update "):
            return (f"No 'Resolved at' timestamp: the incident.io {name} moved the incident to a post-incident or "
                    "closed status.")
        return f"From the incident.io timestamp {shown(name, 200)}."

    out = []
    if stages.start_is_impact:
        out.append(milestone("impact-started", stages.start, "impact", "Impact started", described("start"),
                              ["S1"]))
    if stages.detected_from == "created_at":
        out.append(milestone("reported", stages.detected, "detection", "Created in incident.io",
                              "The incident's created_at: no 'Reported at' timestamp is set.", ["S1"]))
    else:
        out.append(milestone("reported", stages.detected, "detection", "Reported", described("detection"), ["S1"]))
    if stages.acknowledged:
        out.append(milestone("acknowledged", stages.acknowledged, "other", "Acknowledged",
                              described("acknowledged"), ["S1"]))
    if stages.mitigated:
        out.append(milestone("mitigated", stages.mitigated, "mitigation", "Mitigated", described("mitigation"),
                              ["S1"]))
    if stages.resolved:
        sources = update_source if stages.resolved_from_update else ["S1"]
        out.append(milestone("resolved", stages.resolved, "recovery", "Resolved", described("recovery"), sources))
    for n, (name, at) in enumerate(stages.others, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
        out.append(milestone(f"t{n}-{slug}" if slug else f"t{n}", at, "other", name[:TEXT_MAX],
                              f"From the incident.io timestamp {shown(name, 200)}.", ["S1"]))
    out.sort(key=lambda m: moment(m["at"]))
    return out


def _phases(raw: dict, stages: _Stages, status: str, services: list[str], severity: str | None,
            milestones: list[dict]) -> list[dict]:
    category = raw["incident_status"]["category"]
    if category in NOT_INCIDENTS or (status == "resolved" and not stages.resolved):
        return []
    start = "impact-started" if stages.start_is_impact else "reported"
    level = _DEFAULT_LEVELS.get((severity or "").lower(), "partial_outage")
    reason = (f"the level follows incident.io's default severity {severity!r}" if (severity or "").lower() in
              _DEFAULT_LEVELS else f"partial_outage, as the severity ({shown(severity, 80) if severity else 'none'}) "
                                   "gives no level")
    phase: dict[str, Any] = {
        "name": "incident.io incident open",
        "start": start,
        **({"end": "resolved"} if status == "resolved" else {}),  # else open: the incident is ongoing
        "impact": level,
        "description": f"From the start to the resolution in incident.io. incident.io states no user-impact level; "
                       f"{reason}.",
        "sources": ["S1"],
    }
    if not services:
        return [{"id": "open", **phase}]
    return [{"id": f"open-{n}", **phase, "component": service} for n, service in enumerate(services, 1)]


def _services(raw: dict) -> list[str]:
    """The values of the record's service-like custom fields (module doc), in order, without repeats."""
    out: list[str] = []
    for entry in raw.get("custom_field_entries") or []:
        if _SERVICE_FIELD.fullmatch(_timestamp_key(entry["custom_field"]["name"])):
            out += [v for v in _field_values(entry) if v not in out]
    return [s[:TEXT_MAX] for s in out]


def _field_values(entry: dict) -> list[str]:
    out = []
    for value in entry.get("values") or []:
        for key, inner in (("value_option", "value"), ("value_catalog_entry", "name")):
            if isinstance(value.get(key), dict):
                out.append(one_line(value[key][inner]))
        for key in ("value_text", "value_link"):
            if isinstance(value.get(key), str):
                out.append(value[key].strip())
        if value.get("value_numeric") is not None:
            out.append(str(value["value_numeric"]).strip())
    return [v for v in out if v]


def _responders(raw: dict, updates: list[dict], update_source: list[str]) -> list[dict]:
    out: dict[tuple[str, str], dict] = {}
    for assignment in raw.get("incident_role_assignments") or []:
        name = reference_name(assignment.get("assignee"))
        role = reference_name(assignment["role"])
        if name and role:
            out.setdefault((name, role), {"name": name, "role": role, "sources": ["S1"]})
    for update in updates:
        name = _updater(update)
        if name:
            out.setdefault((name, "posted updates"), {"name": name, "role": "posted updates", "sources": update_source})
    return list(out.values())


def _notes(raw: dict, updates: list[dict], update_source: list[str], category: str, status_name: str) -> list[dict]:
    notes = []
    if category in NOT_INCIDENTS:
        notes.append({"text": f"incident.io status {status_name} (category {category}): the incident was "
                              f"{'merged into another' if category == 'merged' else category}, so no impact phase "
                              "is given."[:TEXT_MAX], "sources": ["S1"]})
    kind = reference_name(raw.get("incident_type"))
    notes.append({"text": (f"Recorded in incident.io as mode {one_line(text_of(raw.get('mode'))) or 'not given'}, "
                           f"visibility {one_line(text_of(raw.get('visibility'))) or 'not given'}"
                           f"{', type ' + kind if kind else ''}.")[:TEXT_MAX], "sources": ["S1"]})
    for entry in raw.get("custom_field_entries") or []:
        values = _field_values(entry)
        if values:
            name = one_line(entry["custom_field"]["name"])
            notes.append({"text": f"incident.io custom field {name!r}: {'; '.join(values)}"[:TEXT_MAX],
                          "sources": ["S1"]})
    for item in raw.get("duration_metrics") or []:
        if item.get("value_seconds") is not None:
            name = one_line(item["duration_metric"]["name"])
            notes.append({"text": f"incident.io duration metric {name!r}: {item['value_seconds']} seconds "
                                  "(as incident.io computed it; not used for the durations)."[:TEXT_MAX],
                          "sources": ["S1"]})
    for update in updates:
        note = _update_note(update, update_source)
        if note:
            notes.append(note)
    return notes


def _update_note(update: dict, sources: list[str]) -> dict | None:
    message = text_of(update.get("message"))
    status = reference_name(update.get("new_incident_status"))
    severity = reference_name(update.get("new_severity"))
    if not (message or status or severity):
        return None
    who = _updater(update)
    changes = ", ".join(x for x in (f"status {status}" if status else "", f"severity {severity}" if severity else "")
                        if x)
    fact = {"text": (f"Update in incident.io{' by ' + who if who else ''} at {update['created_at']}"
                     f"{' (' + changes + ')' if changes else ''}{': ' + message if message else '.'}")[:TEXT_MAX],
            "sources": sources}
    if message and len(message) <= QUOTE_MAX:
        fact["quote"] = message
    return fact


def _updater(update: dict) -> str | None:
    actor = update.get("updater") or {}
    return reference_name(actor.get("user")) or reference_name(actor.get("api_key"))


__all__ = ["import_incidentio", "incidentio_history", "is_incidentio", "read_incidentio"]
