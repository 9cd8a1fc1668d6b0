"""Opsgenie alerts and incidents (REST API, saved to files) as incidents and as a history table.

Input: the body of `GET /v2/alerts` or of `GET /v1/incidents` saved to a file,
`{"data": [...], "paging", "took", "requestId"}` (which of the two is told by
fields only one of them has, such as `report` or `impactedServices`; a list
with neither is read as alerts), and, for incidents, optionally their timelines: the body
of `GET /v2/incident-timelines/{incidentId}/entries` for each incident, saved
as one object `{"<incident id or tinyId>": <that body>, ...}` (a response does
not name its incident; one bare body is accepted when there is one incident).
Nothing is fetched.

Where the fields' meanings come from (read as text, nothing copied):
- Opsgenie Alert API, "List alerts" (https://docs.opsgenie.com/docs/alert-api),
  and the Opsgenie OpenAPI specification, `BaseAlert` and `AlertReport`
  (https://github.com/opsgenie/opsgenie-oas, definitions/alert.yaml):
  `id` the alert's unique id, `tinyId` its short number in the web app;
  `message` the alert text (at most 130 characters when created); `status`
  open or closed; `acknowledged` whether a responder acknowledged it;
  `createdAt`/`updatedAt` times; `priority` P1 to P5 (P3 when not set);
  `owner` the user who owns it; `teams` and `responders` whom it was routed
  to (`{type, id}`, sometimes with `name`/`username`); `tags`; `source` what
  sent it; `report.ackTime` and `report.closeTime` the milliseconds from
  creation to the acknowledgement and to the close (integers, int64), and
  `report.acknowledgedBy`/`report.closedBy` who did it. The DX data
  dictionary restates these (https://docs.getdx.com/schema/opsgenie_alerts).
- Opsgenie Incident API, "List incidents"
  (https://docs.opsgenie.com/docs/incident-api), the OpenAPI specification's
  `BaseIncident` (definitions/incident.yaml, same repository), and the
  Opsgenie Go SDK's incident result (https://github.com/opsgenie/opsgenie-go-sdk-v2,
  incident/result.go): `id`, `tinyId`, `message`, `status` (open, resolved,
  closed), `priority`, `createdAt`, `updatedAt`, `tags`, `responders`,
  `ownerTeam` (a team id), `extraProperties` (custom key-value pairs),
  `links.web` (the incident in the web app), `impactedServices` (the ids of
  the services it affects), `impactStartDate`/`impactEndDate` (when user
  impact began and ended; also read by the Backstage Opsgenie plugin,
  https://github.com/K-Phoen/backstage-plugin-opsgenie, src/types.ts).
- Opsgenie Incident Timeline API (https://docs.opsgenie.com/docs/incident-timeline-api):
  each entry has `id`, `group`, `type`, `eventTime`, `hidden` (hidden from
  the timeline in the web app), `actor` (`name`, `type`) and `description`
  (`content`; some clients read it as `title`). Entries that people add are
  `group` custom, `type` CustomUserEntry. The API documents no list of the
  other types: an acknowledgement, resolution or close is recognised by that
  word in the type (IncidentResolved, ...AlertAcknowledged, ...Acked).

How it maps (an incident.yaml per alert or incident, `docs/format.md`):
- `createdAt` is a `detection` milestone: Opsgenie learns of the problem when
  the alert or incident is created; for an incident, `impactStartDate` (when
  given) is an `impact` milestone and starts the phase;
- the first acknowledgement (alert: `createdAt` + `report.ackTime` ms;
  incident: the first acknowledging timeline entry) is a milestone of kind
  `other` titled 'Acknowledged': the format has no acknowledgement kind, and
  `diagnosis` would claim a cause was found (as for PagerDuty);
- the close or resolution is a `recovery` milestone (alert: `createdAt` +
  `report.closeTime` ms; incident: its first resolving, else closing,
  timeline entry, else `impactEndDate`); a closed record without such a time
  has no recovery milestone and no phase end: the stage is unknown, counted
  in the history's import report, never guessed from `updatedAt`;
- an open alert or incident is `status: ongoing` with an open phase;
- `priority` is the severity, as written; the phase's impact follows it
  (P1 major_outage, P2 partial_outage, P3 to P5 or none degraded_performance):
  Opsgenie states no user-impact level;
- owner, responders, acknowledgedBy/closedBy and timeline actors are
  responders; timeline notes (CustomUserEntry, not hidden) are notes quoting
  them (a hidden entry still counts for the times); tags, source and
  extraProperties are kept as text; other fields are left alone. Service
  ids are the history's `components`; `page` is 'Opsgenie' (the list
  responses name no service).
The history table: start = createdAt; `acknowledged` and `tta` (minutes to
the first acknowledgement); `resolved` and `ttr`; `ttd` is NaN (creation is
the detection).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from incident.core.errors import MAX_PROBLEMS, IncidentError, Problem, capped
from incident.core.model import shown
from incident.io.history_schema import history_frame
from incident.io.apijson import (
    QUOTE_MAX, TEXT_MAX, check_records, milestone, moment, one_line, read_json, text_of, time_problem,
    validated,
)
from incident.io.statuspage import incident_ids, write_imported

SOURCE = "opsgenie"
PROVIDER = "Opsgenie"
STATUSES = {"alert": ("open", "closed"), "incident": ("open", "resolved", "closed")}
_ALERT_KEYS = {"acknowledged", "report", "alias", "count", "lastOccurredAt", "snoozed", "integration"}
_INCIDENT_KEYS = {"impactedServices", "ownerTeam", "impactStartDate", "impactEndDate", "links", "extraProperties"}
_MAX_MS = 100 * 366 * 24 * 3600 * 1000  # a century: beyond it, no acknowledgement time is meant
_IMPACT = {"P1": "major_outage", "P2": "partial_outage"}
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


# -- public face ----------------------------------------------------------------
def is_opsgenie(data_prefix: bytes) -> bool:
    """Whether the start of a file looks like an Opsgenie alerts or incidents list: a top-level
    "data" list whose first item has "tinyId" (no PagerDuty, Statuspage, ISSRE or GitHub file has one)."""
    text = data_prefix[:65_536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    return re.search(r'"data"\s*:\s*\[\s*\{', text) is not None and re.search(r'"tinyId"\s*:', text) is not None


def read_opsgenie(path: str | Path, timeline: str | Path | None = None) -> list[dict]:
    """Each alert or incident of a saved Opsgenie list response as plain incident.yaml data, validated.

    `timeline`: the incidents' timeline entries (see the module docstring).
    All or nothing: IncidentError listing every problem (at most 50 lines),
    each naming the file and the record.
    """
    file = str(path)
    kind, records = _checked_records(read_json(path, "Opsgenie alerts or incidents response"), file)
    entries, _ = _timeline(timeline, kind, records)
    raw_ids = _raw_ids(records)
    ids = incident_ids(f"opsgenie {kind}", [r["createdAt"] for r in records], raw_ids)
    log = str(timeline) if timeline is not None else None
    return validated(((_incident_data(_facts(raw, kind, entries.get(raw["id"], [])), raw, file, log, i, incident_id),
                       _where(i, raw)) for i, (raw, incident_id) in enumerate(zip(records, ids))), file)


def import_opsgenie(path: str | Path, out_dir: str | Path, timeline: str | Path | None = None,
                    overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per Opsgenie alert or incident; return the folders (all or nothing)."""
    incidents = read_opsgenie(path, timeline)
    return write_imported(incidents, source=path, out_dir=out_dir, overwrite=overwrite,
                          origin="the Opsgenie API response", command="incident import opsgenie")


def opsgenie_history(path: str | Path, timeline: str | Path | None = None) -> pd.DataFrame:
    """The history table of a saved Opsgenie alerts or incidents response, with its import report.

    start = createdAt; acknowledged and tta (minutes) where the first
    acknowledgement is known; resolved and ttr (minutes) where the record is
    closed or resolved with a known time. ttd is NaN (creation is the detection).
    """
    file = str(path)
    kind, records = _checked_records(read_json(path, "Opsgenie alerts or incidents response"), file)
    entries, unmatched = _timeline(timeline, kind, records)
    facts = [_facts(r, kind, entries.get(r["id"], [])) for r in records]
    n = len(records)

    def times(key: str) -> pd.Series:
        return pd.Series([moment(f[key]) if f[key] else pd.NaT for f in facts], dtype="datetime64[ns, UTC]")

    start, acknowledged, resolved = times("created"), times("ack_at"), times("resolved_at")
    tta = (acknowledged - start).dt.total_seconds() / 60
    ttr = (resolved - start).dt.total_seconds() / 60
    report = {
        "records": n,
        f"{kind}s": n,
        "unresolved": sum(f["open"] for f in facts),
        "resolved_without_time": sum(not f["open"] and not f["resolved_at"] for f in facts),
        "acknowledged_without_time": sum(f["acknowledged"] is True and not f["ack_at"] for f in facts),
        "ttd_not_in_api": n,
        "tta_missing": int(tta.isna().sum()),
        "ttr_missing": int(ttr.isna().sum()),
        "title_missing": sum(not f["title"] for f in facts),
        "service_missing": sum(not f["services"] for f in facts),
        "priority_missing": sum(f["priority"] is None for f in facts),
        "priority_unknown": sum(f["priority"] is not None and f["priority"] not in ("P1", "P2", "P3", "P4", "P5")
                                for f in facts),
    }
    if timeline is not None:
        report["timeline_without_record"] = unmatched
    columns = {
        "id": [r["id"] for r in records],
        "source": [SOURCE] * n,
        "provider": [PROVIDER] * n,
        "page": [PROVIDER] * n,
        "components": [f["services"] for f in facts],
        "title": [f["title"] or None for f in facts],
        "impact": [None] * n,  # Opsgenie rates priority, not user impact
        "page_impact": [f["priority"] for f in facts],
        "start": start,
        "acknowledged": acknowledged,
        "resolved": resolved,
        "tta": tta,
        "ttr": ttr,
        "hours_to_resolve": ttr / 60,
    }
    return history_frame(columns, n, report)


# -- reading and checking -------------------------------------------------------
def _checked_records(body: Any, file: str) -> tuple[str, list[dict]]:
    """('alert' or 'incident', the records of a response), or IncidentError naming each bad record and field."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        got = type(body).__name__ if not isinstance(body, dict) else "an object without a 'data' list"
        raise IncidentError.single(file, "not an Opsgenie alerts or incidents response: expected "
                                         f"{{\"data\": [...]}}, got {got}")
    records = body["data"]
    if not records:
        raise IncidentError.single(file, "no alerts or incidents: the 'data' list is empty")
    kind = _kind(records, file)
    check_records(records, file, lambda raw: _record_problems(raw, kind), _where, noun=kind)
    return kind, records


def _kind(records: list, file: str) -> str:
    """Alerts or incidents, from fields only one of them has; a list holding both is refused."""
    alert = next((i for i, r in enumerate(records) if isinstance(r, dict) and _ALERT_KEYS & r.keys()
                  and not _INCIDENT_KEYS & r.keys()), None)
    incident = next((i for i, r in enumerate(records) if isinstance(r, dict) and _INCIDENT_KEYS & r.keys()
                     and not _ALERT_KEYS & r.keys()), None)
    if alert is not None and incident is not None:
        raise IncidentError.single(file, f"mixes alerts (data[{alert}]) and incidents (data[{incident}]): "
                                         "save GET /v2/alerts and GET /v1/incidents to separate files")
    return "incident" if incident is not None else "alert"


def _record_problems(raw: Any, kind: str) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return [("", f"not an Opsgenie {kind}: expected an object, got {type(raw).__name__}")]
    out = []
    if not isinstance(raw.get("id"), str) or not raw["id"].strip():
        out.append(("id", f"missing {kind} id (text)"))
    tiny = raw.get("tinyId")
    if tiny is not None and not (isinstance(tiny, str) and tiny.strip()) and not (
            isinstance(tiny, int) and not isinstance(tiny, bool)):
        out.append(("tinyId", f"expected text or a whole number, got {shown(tiny)}"))
    if raw.get("status") not in STATUSES[kind]:
        out.append(("status", f"expected one of {', '.join(STATUSES[kind])}, got {shown(raw.get('status'))}"))
    for field in ("createdAt", "updatedAt", "impactStartDate", "impactEndDate"):
        if raw.get(field) is None and field != "createdAt":
            continue
        message = time_problem(raw.get(field))
        if message:
            out.append((field, message))
    for field in ("message", "description", "priority", "owner", "source", "ownerTeam", "alias"):
        if raw.get(field) is not None and not isinstance(raw[field], str):
            out.append((field, f"expected text, got {shown(raw[field])}"))
    if raw.get("acknowledged") is not None and not isinstance(raw["acknowledged"], bool):
        out.append(("acknowledged", f"expected true or false, got {shown(raw['acknowledged'])}"))
    for field in ("report", "links", "extraProperties"):
        if raw.get(field) is not None and not isinstance(raw[field], dict):
            out.append((field, f"expected an object or null, got {shown(raw[field])}"))
    for field in ("teams", "responders"):
        if raw.get(field) is not None and not (isinstance(raw[field], list)
                                               and all(isinstance(x, dict) for x in raw[field])):
            out.append((field, "expected a list of objects"))
    for field, ok in (("tags", (str,)), ("impactedServices", (str, dict))):
        if raw.get(field) is not None and not (isinstance(raw[field], list)
                                               and all(isinstance(x, ok) for x in raw[field])):
            out.append((field, f"expected a list of {'texts' if field == 'tags' else 'service ids'}"))
    report: dict = raw["report"] if isinstance(raw.get("report"), dict) else {}
    for field in ("ackTime", "closeTime"):
        message = _ms_problem(report.get(field))
        if message:
            out.append((f"report.{field}", message))
        elif report.get(field) is not None and not time_problem(raw.get("createdAt")):
            late = time_problem(_after(raw["createdAt"], report[field]))
            if late:
                out.append((f"report.{field}", f"createdAt plus {report[field]} ms: {late}"))
    for field in ("acknowledgedBy", "closedBy"):
        if report.get(field) is not None and not isinstance(report[field], str):
            out.append((f"report.{field}", f"expected text, got {shown(report[field])}"))
    links: dict = raw["links"] if isinstance(raw.get("links"), dict) else {}
    if links.get("web") is not None and not isinstance(links["web"], str):
        out.append(("links.web", f"expected text, got {shown(links['web'])}"))
    return out


def _ms_problem(value: Any) -> str | None:
    """Why `value` is not a usable duration in milliseconds (a number >= 0), or None; None is no duration."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected milliseconds (a number), got {shown(value)}"
    if not math.isfinite(value) or not 0 <= value <= _MAX_MS:
        return f"expected milliseconds from 0 to a century, got {shown(value)}"
    return None


def _timeline(path: str | Path | None, kind: str, records: list[dict]) -> tuple[dict[str, list[dict]], int]:
    """Checked timeline entries by incident id, in time order ({} without a file), and how many of the
    file's timelines belong to no record of the list (left out: a list may be a selection)."""
    if path is None:
        return {}, 0
    file = str(path)
    if kind != "incident":
        raise IncidentError.single(file, "a timeline goes with an incidents list (GET /v1/incidents); "
                                         "the other file is an alerts list")
    body = read_json(path, "Opsgenie incident timeline")
    if not isinstance(body, dict):
        raise IncidentError.single(file, "not Opsgenie incident timelines: expected {\"<incident id>\": "
                                         f"{{\"data\": {{\"entries\": [...]}}}}, ...}}, got {type(body).__name__}")
    if "data" in body:  # one bare response: it names no incident
        if len(records) != 1:
            raise IncidentError.single(file, "one timeline response names no incident: save the timelines as "
                                             "{\"<incident id>\": <response>, ...}")
        body = {records[0]["id"]: body}
    by_key = {r["id"]: r["id"] for r in records}
    by_key.update({str(r["tinyId"]): r["id"] for r in records if r.get("tinyId") is not None})
    problems: list[Problem] = []
    out: dict[str, list[dict]] = {}
    for key, response in body.items():
        where = f"[{shown(key)}]"
        data = response.get("data") if isinstance(response, dict) else None
        entries = data.get("entries") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            problems.append(Problem(file, where, "expected a timeline response {\"data\": {\"entries\": [...]}}"))
            continue
        checked = []
        for j, entry in enumerate(entries):
            at = f"{where}.data.entries[{j}]"
            if not isinstance(entry, dict):
                problems.append(Problem(file, at, f"expected an object, got {type(entry).__name__}"))
                continue
            if isinstance(entry.get("id"), str):
                at += f" (id {shown(entry['id'])})"
            found = _entry_problems(entry)
            problems += [Problem(file, f"{at}.{field}", message) for field, message in found]
            if not found:
                checked.append(entry)
        if len(problems) > MAX_PROBLEMS:
            raise IncidentError(capped(problems, stopped=True))
        if key in by_key:
            out.setdefault(by_key[key], []).extend(checked)
    if problems:
        raise IncidentError(capped(problems))
    for group in out.values():
        group.sort(key=lambda e: moment(e["eventTime"]))
    return out, sum(key not in by_key for key in body)


def _entry_problems(entry: dict) -> list[tuple[str, str]]:
    out = []
    if not isinstance(entry.get("type"), str):
        out.append(("type", "missing timeline entry type (text)"))
    message = time_problem(entry.get("eventTime"))
    if message:
        out.append(("eventTime", message))
    if entry.get("hidden") is not None and not isinstance(entry["hidden"], bool):
        out.append(("hidden", f"expected true or false, got {shown(entry['hidden'])}"))
    for field in ("group",):
        if entry.get(field) is not None and not isinstance(entry[field], str):
            out.append((field, f"expected text, got {shown(entry[field])}"))
    for field in ("actor", "description", "title"):
        if entry.get(field) is not None and not isinstance(entry[field], (dict, str)):
            out.append((field, f"expected an object or null, got {shown(entry[field])}"))
    return out


# -- conversion -------------------------------------------------------------------
def _facts(raw: dict, kind: str, entries: list[dict]) -> dict:
    """What one checked record says, in our terms: the times (text or None), people, services, priority."""
    report = raw.get("report") or {}
    created = raw["createdAt"]
    ack_at = ack_by = resolved_at = resolved_by = None
    if kind == "alert":
        if report.get("ackTime") is not None:
            ack_at, ack_by = _after(created, report["ackTime"]), one_line(text_of(report.get("acknowledgedBy")))
        if raw["status"] == "closed" and report.get("closeTime") is not None:
            resolved_at, resolved_by = _after(created, report["closeTime"]), one_line(text_of(report.get("closedBy")))
    else:
        ack = next((e for e in entries if _entry_is(e, "ack")), None)
        if ack is not None:
            ack_at, ack_by = ack["eventTime"], _actor(ack)
        if raw["status"] != "open":
            end = (next((e for e in entries if _entry_is(e, "resolve")), None)
                   or next((e for e in entries if _entry_is(e, "close")), None))
            if end is not None:
                resolved_at, resolved_by = end["eventTime"], _actor(end)
            elif raw.get("impactEndDate"):
                resolved_at = raw["impactEndDate"]
    services = [s for s in (_service(x) for x in raw.get("impactedServices") or []) if s]
    priority = one_line(text_of(raw.get("priority"))) or None
    return {
        "kind": kind, "created": created, "open": raw["status"] == "open",
        "acknowledged": raw.get("acknowledged") if kind == "alert" else None,
        "ack_at": ack_at, "ack_by": ack_by or None, "resolved_at": resolved_at, "resolved_by": resolved_by or None,
        "title": one_line(text_of(raw.get("message")))[:TEXT_MAX], "services": services,
        "priority": priority[:TEXT_MAX] if priority else None, "entries": entries,
    }


def _incident_data(f: dict, raw: dict, file: str, timeline_file: str | None, i: int, incident_id: str) -> dict:
    kind, created = f["kind"], f["created"]
    title = f["title"] or f"(untitled {kind})"
    label = f"#{raw['tinyId']}" if raw.get("tinyId") is not None else raw["id"]
    name = f"Opsgenie {kind} {label}"
    sources = [{
        "id": "S1", "kind": "document", "title": f"{name}: {title}"[:TEXT_MAX],
        "publisher": PROVIDER, "date": created[:10],
        "locator": f"{Path(file).name}, {_where(i, raw)}",
        "note": f"The Opsgenie API's list of {kind}s, saved to a file.",
    }]
    url = (raw.get("links") or {}).get("web")
    if isinstance(url, str) and re.match(r"https?://", url):
        sources.append({"id": "S2", "kind": "ticket", "title": name, "publisher": PROVIDER, "date": created[:10],
                        "url": url, "ticket": str(raw.get("tinyId") or raw["id"])[:200]})
    if f["entries"] and timeline_file is not None:
        sources.append({"id": "S3", "kind": "log", "title": f"Opsgenie timeline of incident {label}",
                        "publisher": PROVIDER, "date": created[:10],
                        "locator": f"{Path(timeline_file).name}, the entries of incident id {raw['id']}",
                        "note": "The Opsgenie incident timeline API's entries, saved to a file."})
    log = ["S3"] if len(sources) > 1 and sources[-1]["id"] == "S3" else ["S1"]

    milestones = [milestone("created", created, "detection", f"{kind.capitalize()} created in Opsgenie",
                             f"Opsgenie created the {kind} (createdAt); when the fault began is not in the API "
                             "response.", ["S1"])]
    start = "created"
    if kind == "incident" and raw.get("impactStartDate"):
        start = "impact_started"
        milestones.append(milestone("impact_started", raw["impactStartDate"], "impact", "Impact started",
                                     "When user impact began, as recorded on the incident (impactStartDate).",
                                     ["S1"]))
    if f["ack_at"]:
        who = f" by {f['ack_by']}" if f["ack_by"] else ""
        how = "createdAt plus report.ackTime" if kind == "alert" else "the first acknowledging timeline entry"
        milestones.append(milestone("acknowledged", f["ack_at"], "other", "Acknowledged",
                                     f"First acknowledgement in Opsgenie{who} ({how}).",
                                     ["S1"] if kind == "alert" else log))
    verb = "closed" if kind == "alert" or raw["status"] == "closed" else "resolved"
    if f["resolved_at"]:
        how = ("createdAt plus report.closeTime" if kind == "alert"
               else "impactEndDate" if f["resolved_at"] == raw.get("impactEndDate") and not f["resolved_by"]
               else "its timeline entry")
        who = f" by {f['resolved_by']}" if f["resolved_by"] else ""
        milestones.append(milestone("resolved", f["resolved_at"], "recovery", f"{verb.capitalize()} in Opsgenie",
                                     f"The {kind} was {verb} in Opsgenie{who} ({how}).",
                                     log if how == "its timeline entry" else ["S1"]))
    milestones.sort(key=lambda m: moment(m["at"]))

    priority = f["priority"]
    phase: dict[str, Any] = {
        "id": "open", "name": f"Opsgenie {kind} open", "start": start,
        "impact": _IMPACT.get(priority or "", "degraded_performance"),
        "description": f"From {'the start of impact' if start != 'created' else 'creation'} until the {kind} "
                       f"was {verb} in Opsgenie. Opsgenie states no user-impact level; the level follows the "
                       f"priority ({priority or 'not given'}).",
        "sources": ["S1"],
    }
    phases = []
    if f["resolved_at"]:
        phases.append({**phase, "end": "resolved"})
    elif f["open"]:
        phases.append(phase)  # open: ongoing

    tags = [t for t in (one_line(x) for x in raw.get("tags") or []) if t]
    source = one_line(text_of(raw.get("source")))
    summary = (f"{title}: an Opsgenie {kind} ({label}), {raw['status']}, {priority or 'no priority given'}"
               f"{', from ' + source if source else ''}"
               f"{', services ' + ', '.join(f['services']) if f['services'] else ''}"
               f"{', tags ' + ', '.join(tags) if tags else ''}.")
    data: dict[str, Any] = {
        "id": incident_id,
        "title": title[:TEXT_MAX],
        "organisation": {"name": PROVIDER},
        "summary": summary[:TEXT_MAX],
        "timezone": "UTC",
        "status": "ongoing" if f["open"] else "resolved",
        "severity": priority,
        "sources": sources,
        "milestones": milestones,
        "phases": phases,
    }
    responders = _responders(raw, f, log)
    if responders:
        data["responders"] = responders
    notes = [n for n in (_note(e, log) for e in f["entries"] if _entry_is(e, "note")) if n]
    extra = raw.get("extraProperties") or {}
    if extra:
        text = "; ".join(f"{one_line(str(k))}: {one_line(str(v))}" for k, v in extra.items())
        notes.append({"text": f"Opsgenie extra properties: {text}"[:TEXT_MAX], "sources": ["S1"]})
    if notes:
        data["notes"] = notes
    return data


def _responders(raw: dict, f: dict, log: list[str]) -> list[dict]:
    out: dict[tuple[str, str], dict] = {}

    def add(name: str | None, role: str, sources: list[str]) -> None:
        if name:
            out.setdefault((name, role), {"name": name[:TEXT_MAX], "role": role, "sources": sources})

    add(one_line(text_of(raw.get("owner"))), "owner", ["S1"])
    for r in raw.get("responders") or []:
        kind = one_line(text_of(r.get("type")))
        add(one_line(text_of(r.get("name")) or text_of(r.get("username")) or text_of(r.get("id"))),
            f"{kind} responder" if kind else "responder", ["S1"])
    sources = ["S1"] if f["kind"] == "alert" else log
    add(f["ack_by"], f"acknowledged the {f['kind']}", sources)
    add(f["resolved_by"], f"{'closed' if f['kind'] == 'alert' else 'resolved'} the {f['kind']}", sources)
    for e in f["entries"]:
        if _entry_is(e, "note"):
            add(_actor(e), "added a timeline note", log)
    return list(out.values())


def _note(entry: dict, sources: list[str]) -> dict | None:
    text = _content(entry)
    if not text:
        return None
    who = _actor(entry)
    fact = {"text": f"Timeline note in Opsgenie{' by ' + who if who else ''} at {entry['eventTime']}: "
                    f"{text}"[:TEXT_MAX], "sources": sources}
    if len(text) <= QUOTE_MAX:
        fact["quote"] = text
    return fact


def _entry_is(entry: dict, what: str) -> bool:
    """Whether a timeline entry is an acknowledgement, resolution, close or (visible) note, by its type's words."""
    if what == "note":
        return not entry.get("hidden") and (entry.get("group") == "custom" or entry["type"] == "CustomUserEntry")
    words = {w.lower() for w in _WORDS.findall(entry["type"])}
    stems = {"ack": ("ack", "acked", "acknowledge", "acknowledged"), "resolve": ("resolve", "resolved"),
             "close": ("close", "closed")}[what]
    return bool(words & set(stems))


def _content(entry: dict) -> str:
    for field in ("description", "title"):
        value = entry.get(field)
        text = text_of(value.get("content")) if isinstance(value, dict) else text_of(value)
        if text:
            return text
    return ""


def _actor(entry: dict) -> str | None:
    actor = entry.get("actor")
    name = one_line(text_of(actor.get("name"))) if isinstance(actor, dict) else one_line(text_of(actor))
    return name[:TEXT_MAX] or None


def _service(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("id")
    return one_line(text_of(value))[:TEXT_MAX] or None


def _after(stamp: str, ms: float) -> str:
    """`stamp` plus `ms` milliseconds, as an ISO 8601 time with the same offset."""
    text = (moment(stamp) + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if stamp.endswith("Z") and text.endswith("+00:00") else text


def _raw_ids(records: list[dict]) -> list[str]:
    """Each record's name for its folder: its tinyId, else (missing or used twice) its id."""
    tiny = [str(r["tinyId"]).strip() if r.get("tinyId") is not None else None for r in records]
    count = Counter(tiny)
    return [t if t is not None and count[t] == 1 else r["id"] for t, r in zip(tiny, records)]


def _where(i: int, raw: Any) -> str:
    if not isinstance(raw, dict):
        return f"data[{i}]"
    tiny = raw.get("tinyId")
    if isinstance(tiny, (str, int)) and not isinstance(tiny, bool):
        return f"data[{i}] (tinyId {shown(str(tiny))})"
    rid = raw.get("id")
    return f"data[{i}]" + (f" (id {shown(rid)})" if isinstance(rid, str) else "")


__all__ = ["import_opsgenie", "is_opsgenie", "opsgenie_history", "read_opsgenie"]
