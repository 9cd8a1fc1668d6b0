"""PagerDuty incidents (REST API v2, saved to a file) as incidents and as a history table.

Input: the body of `GET /incidents` saved to a file, `{"incidents": [...],
"limit", "offset", "more", ...}`, and optionally the body of
`GET /log_entries` (or `GET /incidents/{id}/log_entries`), `{"log_entries": [...]}`.
Nothing is fetched.

Where the fields' meanings come from (read as text, nothing copied):
- PagerDuty REST API v2 reference, "List incidents"
  (https://developer.pagerduty.com/api-reference/ , Incidents > List incidents),
  as its fields are restated in Workato's "PagerDuty - Search incident action"
  (https://docs.workato.com/connectors/pagerduty/search-incident.html), IFTTT's
  "PagerDuty list incidents" query (https://ifttt.com/pagerduty/queries/list_incidents)
  and Okta Workflows' "PagerDuty Read Incident"
  (https://help.okta.com/wf/en-us/content/topics/Workflows/connector-reference/pagerduty/actions/readincident.htm):
  `id` the incident's unique id (e.g. PT4KHLK); `incident_number` a number
  unique across the account; `title`/`summary` a short description;
  `created_at` when the incident was created, i.e. triggered; `status`
  triggered, acknowledged or resolved; `urgency` high (immediate attention) or
  low; `priority` the account's priority object (`summary`/`name`, e.g. P1) or
  null; `service` the service the incident was opened against (`summary`,
  `id`, `html_url`); `assignments` current assignees (empty once resolved);
  `last_status_change_at` when the status last changed (for a resolved
  incident, its resolution: older payloads have no `resolved_at`);
  `html_url` where the incident is shown in the web app.
- PagerDuty REST API v2 reference, "List log entries"
  (https://developer.pagerduty.com/api-reference/ , Log Entries), as restated in
  Workato's "PagerDuty - List log entries action"
  (https://docs.workato.com/connectors/pagerduty/list-log-entries) and the
  pager_duty Ruby client's LogEntries docs
  (https://rubydoc.info/gems/pager_duty/0.1.2/PagerDuty/Client/LogEntries):
  each entry is one event in an incident's life, `type` such as
  trigger_log_entry, acknowledge_log_entry, annotate_log_entry (a note; its
  text is the channel's summary), resolve_log_entry; `created_at` when it
  happened; `incident.id` the incident; `agent` who or what did it;
  `channel` how.

How it maps (an incident.yaml per incident, `docs/format.md`):
- the trigger (created_at) is a `detection` milestone: PagerDuty learns of an
  incident when it is triggered; when the fault itself began is not in the API;
- the first acknowledge_log_entry is a milestone of kind `other` titled
  'Acknowledged': the format has no acknowledgement kind, and `diagnosis`
  would claim a cause was identified;
- annotations (notes) are `notes` facts quoting the note;
- the resolution is a `recovery` milestone (resolved_at, else
  last_status_change_at of a resolved incident, else the resolve log entry);
- one phase from trigger to resolution, open while the incident is not
  resolved (`status: ongoing`). PagerDuty states no user-impact level: the
  phase is 'major_outage' for high urgency and 'degraded_performance' for low,
  as its description says.
In the history table, `tta` is the first acknowledge_log_entry minus the
trigger (known only where the log entries are given); `ttd` is NaN (the
trigger is the detection).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.core.model import shown
from incident.io.apijson import (
    QUOTE_MAX, TEXT_MAX, check_records, milestone, moment, one_line, read_json, record_where, reference_name,
    text_of, time_problem, validated,
)
from incident.io.history_schema import history_frame
from incident.io.statuspage import incident_ids, write_imported

SOURCE = "pagerduty"
PROVIDER = "PagerDuty"
STATUSES = ("triggered", "acknowledged", "resolved")


# -- public face ----------------------------------------------------------------
def is_pagerduty(data_prefix: bytes) -> bool:
    """Whether the start of a file looks like a PagerDuty incidents list: a top-level
    "incidents" list whose first item has "incident_number" (a Statuspage feed has none)."""
    text = data_prefix[:65_536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    return re.search(r'"incidents"\s*:\s*\[\s*\{', text) is not None and '"incident_number"' in text


def read_pagerduty(path: str | Path, log_entries: str | Path | None = None) -> list[dict]:
    """Each incident of a saved PagerDuty `incidents` response as plain incident.yaml data, validated.

    All or nothing: IncidentError listing every problem (at most 50 lines),
    each naming the file and the record.
    """
    file = str(path)
    incidents = _checked_incidents(read_json(path, "PagerDuty incidents response"), file)
    entries: dict[str, list[dict]] = {}
    log_file = str(log_entries) if log_entries is not None else None
    if log_entries is not None:
        entries = _checked_log_entries(read_json(log_entries, "PagerDuty log entries response"), str(log_entries))
    ids = incident_ids("pagerduty", [r["created_at"] for r in incidents], [r["id"] for r in incidents])
    return validated(((_incident_data(raw, entries.get(raw["id"], []), file, log_file, i, incident_id),
                       record_where('incidents', i, raw)) for i, (raw, incident_id) in enumerate(zip(incidents, ids))),
                     file)


def import_pagerduty(path: str | Path, out_dir: str | Path, log_entries: str | Path | None = None,
                     overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per PagerDuty incident; return the folders (all or nothing)."""
    incidents = read_pagerduty(path, log_entries)
    return write_imported(incidents, source=path, out_dir=out_dir, overwrite=overwrite,
                          origin="the PagerDuty API response", command="incident import pagerduty")


def pagerduty_history(path: str | Path, log_entries: str | Path | None = None) -> pd.DataFrame:
    """The history table of a saved PagerDuty `incidents` response, with its import report.

    start = created_at (the trigger); resolved and ttr (minutes) where the
    incident is resolved with a known time; acknowledged and tta (minutes) from
    the first acknowledge_log_entry of `log_entries`, when given. ttd is NaN
    (the trigger is the detection). `log_entries` also supplies resolution
    times that the incidents lack.
    """
    file = str(path)
    incidents = _checked_incidents(read_json(path, "PagerDuty incidents response"), file)
    entries: dict[str, list[dict]] = {}
    if log_entries is not None:
        entries = _checked_log_entries(read_json(log_entries, "PagerDuty log entries response"), str(log_entries))
    n = len(incidents)
    start = pd.Series([moment(r["created_at"]) for r in incidents], dtype="datetime64[ns, UTC]")
    resolved_text = [_resolved_at(r, entries.get(r["id"], [])) for r in incidents]
    resolved = pd.Series([moment(t) if t else pd.NaT for t in resolved_text], dtype="datetime64[ns, UTC]")
    ttr = (resolved - start).dt.total_seconds() / 60
    acks = [_first_ack(entries.get(r["id"], [])) for r in incidents]
    acknowledged = pd.Series([moment(a["created_at"]) if a else pd.NaT for a in acks], dtype="datetime64[ns, UTC]")
    tta = (acknowledged - start).dt.total_seconds() / 60
    services = [reference_name(r.get("service")) for r in incidents]
    report = {
        "records": n,
        "unresolved": sum(r["status"] != "resolved" for r in incidents),
        "resolved_without_time": sum(r["status"] == "resolved" and not t for r, t in zip(incidents, resolved_text)),
        "ttd_not_in_api": n,
        "ttr_missing": int(ttr.isna().sum()),
        "title_missing": sum(not text_of(r.get("title")) for r in incidents),
        "service_missing": sum(s is None for s in services),
        "priority_missing": sum(reference_name(r.get("priority")) is None for r in incidents),
        "urgency_missing": sum(r.get("urgency") not in ("high", "low") for r in incidents),
        "tta_missing": int(tta.isna().sum()),
    }
    columns = {
        "id": [r["id"] for r in incidents],
        "source": [SOURCE] * n,
        "provider": [PROVIDER] * n,
        "page": [s or PROVIDER for s in services],
        "components": [[s] if s else [] for s in services],
        "title": [text_of(r.get("title")) or None for r in incidents],
        "impact": [None] * n,  # PagerDuty rates urgency and priority, not user impact
        "page_impact": [_severity(r) for r in incidents],
        "start": start,
        "acknowledged": acknowledged,
        "resolved": resolved,
        "tta": tta,
        "ttr": ttr,
        "hours_to_resolve": ttr / 60,
    }
    return history_frame(columns, n, report)


# -- reading and checking -------------------------------------------------------


def _checked_incidents(body: Any, file: str) -> list[dict]:
    """The incidents of a response, or IncidentError naming each bad record and field."""
    if not isinstance(body, dict) or not isinstance(body.get("incidents"), list):
        got = type(body).__name__ if not isinstance(body, dict) else "an object without an 'incidents' list"
        raise IncidentError.single(file, f"not a PagerDuty incidents response: expected {{\"incidents\": [...]}}, "
                                         f"got {got}")
    incidents = body["incidents"]
    if not incidents:
        raise IncidentError.single(file, "no incidents: the 'incidents' list is empty")
    check_records(incidents, file, _incident_problems, lambda i, raw: record_where('incidents', i, raw))
    return incidents


def _incident_problems(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return [("", f"not a PagerDuty incident: expected an object, got {type(raw).__name__}")]
    out = []
    if not isinstance(raw.get("id"), str) or not raw["id"].strip():
        out.append(("id", "missing incident id (text)"))
    number = raw.get("incident_number")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
        out.append(("incident_number", f"expected a whole number, got {shown(number)}"))
    if raw.get("status") not in STATUSES:
        out.append(("status", f"expected one of {', '.join(STATUSES)}, got {shown(raw.get('status'))}"))
    for field in ("created_at", "resolved_at", "last_status_change_at"):
        value = raw.get(field)
        if value is None and field != "created_at":
            continue
        message = time_problem(value)
        if message:
            out.append((field, message))
    for field in ("title", "summary", "html_url", "urgency"):
        if raw.get(field) is not None and not isinstance(raw[field], str):
            out.append((field, f"expected text, got {shown(raw[field])}"))
    for field in ("priority", "service"):
        if raw.get(field) is not None and not isinstance(raw[field], dict):
            out.append((field, f"expected an object or null, got {shown(raw[field])}"))
    for field in ("assignments", "teams"):
        if raw.get(field) is not None and not (isinstance(raw[field], list)
                                               and all(isinstance(x, dict) for x in raw[field])):
            out.append((field, "expected a list of objects"))
    return out


def _checked_log_entries(body: Any, file: str) -> dict[str, list[dict]]:
    """The log entries of a response by incident id, in time order, or IncidentError naming each bad entry."""
    if not isinstance(body, dict) or not isinstance(body.get("log_entries"), list):
        raise IncidentError.single(file, "not a PagerDuty log entries response: expected {\"log_entries\": [...]}")
    problems: list[Problem] = []
    by_incident: dict[str, list[dict]] = {}
    for j, entry in enumerate(body["log_entries"]):
        where = f"log_entries[{j}]"
        if not isinstance(entry, dict):
            problems.append(Problem(file, where, f"expected an object, got {type(entry).__name__}"))
            continue
        if isinstance(entry.get("id"), str):
            where += f" (id {shown(entry['id'])})"
        incident = entry.get("incident")
        if not isinstance(entry.get("type"), str):
            problems.append(Problem(file, f"{where}.type", "missing log entry type (text)"))
        message = time_problem(entry.get("created_at"))
        if message:
            problems.append(Problem(file, f"{where}.created_at", message))
        if not isinstance(incident, dict) or not isinstance(incident.get("id"), str):
            problems.append(Problem(file, f"{where}.incident", "expected an object with the incident's 'id'"))
        for field in ("agent", "channel"):
            if entry.get(field) is not None and not isinstance(entry[field], dict):
                problems.append(Problem(file, f"{where}.{field}", "expected an object or null"))
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
        if not problems and isinstance(incident, dict):
            by_incident.setdefault(incident["id"], []).append(entry)
    if problems:
        raise IncidentError(capped(problems))
    for group in by_incident.values():
        group.sort(key=lambda e: moment(e["created_at"]))
    return by_incident




# -- conversion -------------------------------------------------------------------
def _incident_data(raw: dict, entries: list[dict], file: str, log_file: str | None, i: int,
                   incident_id: str) -> dict:
    number = raw.get("incident_number")
    title = one_line(text_of(raw.get("title")) or text_of(raw.get("summary"))) or "(untitled incident)"
    service = reference_name(raw.get("service"))
    organisation = service or PROVIDER
    created = raw["created_at"]
    label = f"#{number}" if number is not None else raw["id"]
    sources = [{
        "id": "S1", "kind": "document",
        "title": f"PagerDuty incident {label}: {title}"[:TEXT_MAX],
        "publisher": PROVIDER, "date": created[:10],
        "locator": f"{Path(file).name}, {record_where('incidents', i, raw)}",
        "note": "The PagerDuty REST API v2 incidents response, saved to a file.",
    }]
    url = raw.get("html_url")
    if isinstance(url, str) and re.match(r"https?://", url):
        sources.append({"id": "S2", "kind": "ticket", "title": f"PagerDuty incident {label}"[:TEXT_MAX],
                        "publisher": PROVIDER, "date": created[:10], "url": url,
                        "ticket": str(number) if number is not None else raw["id"]})
    if entries and log_file is not None:
        sources.append({"id": "S3", "kind": "log", "title": f"PagerDuty log entries of incident {label}",
                        "publisher": PROVIDER, "date": created[:10],
                        "locator": f"{Path(log_file).name}, the log_entries of incident id {raw['id']}",
                        "note": "The PagerDuty REST API v2 log entries response, saved to a file."})
    log_source = ["S3"] if entries and log_file is not None else ["S1"]

    milestones = [milestone("triggered", created, "detection", "Triggered in PagerDuty",
                             "PagerDuty opened the incident (created_at); when the fault began is not in the API "
                             "response.", ["S1"])]
    ack = _first_ack(entries)
    if ack is not None:
        who = reference_name(ack.get("agent"))
        milestones.append(milestone("acknowledged", ack["created_at"], "other", "Acknowledged",
                                     f"First acknowledgement in PagerDuty{' by ' + who if who else ''}.", log_source))
    resolved_at = _resolved_at(raw, entries)
    is_resolved = raw["status"] == "resolved"
    if is_resolved and resolved_at:
        milestones.append(milestone("resolved", resolved_at, "recovery", "Resolved in PagerDuty",
                                     "The incident was resolved in PagerDuty.", ["S1"]))
    milestones.sort(key=lambda m: moment(m["at"]))

    urgency = raw.get("urgency") if raw.get("urgency") in ("high", "low") else None
    phase: dict[str, Any] = {
        "id": "open", "name": "PagerDuty incident open", "start": "triggered",
        "impact": "degraded_performance" if urgency == "low" else "major_outage",
        "description": "From the trigger to the resolution in PagerDuty. PagerDuty states no user-impact level; "
                       f"the level follows the incident's urgency ({urgency or 'not given'}).",
        "sources": ["S1"],
    }
    phases = []
    if is_resolved and resolved_at:
        phases.append({**phase, "end": "resolved"})
    elif not is_resolved:
        phases.append(phase)  # open: the incident is ongoing

    teams = [t for t in (reference_name(t) for t in raw.get("teams") or []) if t]
    severity = _severity(raw)
    summary = (f"{title}: a PagerDuty incident ({label}) on {service or 'an unnamed service'}, "
               f"{raw['status']}, {severity or 'no priority or urgency given'}"
               f"{', teams ' + ', '.join(teams) if teams else ''}.")
    data: dict[str, Any] = {
        "id": incident_id,
        "title": title[:TEXT_MAX],
        "organisation": {"name": organisation[:TEXT_MAX]},
        "summary": summary[:TEXT_MAX],
        "timezone": "UTC",
        "status": "resolved" if is_resolved else "ongoing",
        "severity": severity,
        "sources": sources,
        "milestones": milestones,
        "phases": phases,
    }
    responders = _responders(raw, entries, log_source)
    if responders:
        data["responders"] = responders
    notes = [_note(e, log_source) for e in entries if e["type"] == "annotate_log_entry"]
    notes = [n for n in notes if n]
    if notes:
        data["notes"] = notes
    return data


def _first_ack(entries: list[dict]) -> dict | None:
    """The first acknowledge_log_entry of an incident's entries (they are in time order), or None."""
    return next((e for e in entries if e["type"] == "acknowledge_log_entry"), None)


def _resolved_at(raw: dict, entries: list[dict]) -> str | None:
    """When a resolved incident was resolved: resolved_at, else last_status_change_at, else its resolve log entry."""
    if raw["status"] != "resolved":
        return None
    if raw.get("resolved_at"):
        return raw["resolved_at"]
    if raw.get("last_status_change_at"):
        return raw["last_status_change_at"]
    resolves = [e for e in entries if e["type"] == "resolve_log_entry"]
    return resolves[-1]["created_at"] if resolves else None


def _responders(raw: dict, entries: list[dict], log_source: list[str]) -> list[dict]:
    out: dict[tuple[str, str], dict] = {}
    for a in raw.get("assignments") or []:
        name = reference_name(a.get("assignee"))
        if name:
            out.setdefault((name, "assignee"), {"name": name, "role": "assignee", "sources": ["S1"]})
    roles = {"acknowledge_log_entry": "acknowledged the incident", "resolve_log_entry": "resolved the incident",
             "annotate_log_entry": "added a note"}
    for e in entries:
        role = roles.get(e["type"])
        name = reference_name(e.get("agent"))
        if role and name:
            out.setdefault((name, role), {"name": name, "role": role, "sources": log_source})
    return list(out.values())


def _note(entry: dict, sources: list[str]) -> dict | None:
    channel = entry.get("channel") or {}
    text = text_of(channel.get("summary")) or text_of(channel.get("content"))
    if not text:
        return None
    who = reference_name(entry.get("agent"))
    fact = {"text": f"Note added in PagerDuty{' by ' + who if who else ''} at {entry['created_at']}: "
                    f"{text}"[:TEXT_MAX],
            "sources": sources}
    if len(text) <= QUOTE_MAX:
        fact["quote"] = text
    return fact




def _severity(raw: dict) -> str | None:
    priority = reference_name(raw.get("priority"))
    if priority:
        return priority
    urgency = raw.get("urgency")
    return f"{urgency} urgency" if isinstance(urgency, str) and urgency.strip() else None














__all__ = ["import_pagerduty", "is_pagerduty", "pagerduty_history", "read_pagerduty"]
