"""A Statuspage incident as an incident of ours: milestones, phases, its id and folder name.

Times are written as the feed gives them, offset and milliseconds included, so
a Discord update at 13:14:17.849-08:00 stays that. Bodies are plain text:
formatting tags such as `<br />` become line breaks, entities are decoded, and
any other markup is kept as literal text, never passed on as HTML.

An incident's id (and folder) is 'page-date-statuspage id'. A Statuspage id
is lower-case letters and digits; any other id (upper case, punctuation,
another script, longer than 30 characters) cannot be written as it is, and
gets a short hash of itself, so two ids never share a folder.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from datetime import datetime, timedelta
from pathlib import Path

from incident.core.errors import IncidentError, capped
from incident.io.loader import as_record_problems, validate
from incident.io.statuspage.feed import UPDATE_KINDS, check_feed, created_text

_RESOLVED_STATUSES = {"resolved", "postmortem", "completed"}


def feed_to_incidents(feed: dict, file: str = "<feed>") -> list[dict]:
    """Each Statuspage incident as plain data in our YAML format, validated.

    Raises IncidentError with every problem found (the feed is checked first).
    """
    check_feed(feed, file)
    return convert_checked(feed, file)


def convert_checked(feed: dict, file: str) -> list[dict]:
    """`feed_to_incidents` of a feed `check_feed` has passed (as `read_feed` returns it)."""
    page = feed.get("page") or {}
    out, problems = [], []
    ids = incident_ids(page_name(page), [created_text(raw) for raw in feed["incidents"]],
                       [raw["id"] for raw in feed["incidents"]])
    for i, (raw, incident_id) in enumerate(zip(feed["incidents"], ids)):
        data = _incident_data(raw, page, file, i, incident_id)
        try:
            validate(data, file)
        except IncidentError as exc:  # named by the feed's incident, then the field of the incident made from it
            problems += as_record_problems(exc, file, f"incidents[{i}]")
            continue
        out.append(data)
    if problems:
        raise IncidentError(capped(problems))
    return out


def _incident_data(raw: dict, page: dict, file: str, i: int, incident_id: str) -> dict:
    page_title = page_name(page)
    name = (raw.get("name") or "").strip() or "(untitled incident)"
    impact = raw.get("impact") or "none"
    updates = sorted(raw["incident_updates"], key=lambda u: _moment(u["created_at"]))
    milestones = _milestones(raw, updates)
    status = raw.get("status") or ""
    base_url = page["url"].rstrip("/") if isinstance(page.get("url"), str) else ""
    created = created_text(raw)
    # the page as of the feed's snapshot, else as of the incident's last change
    dates = [page.get("updated_at"), raw.get("updated_at"), created] + [u["created_at"] for u in updates[-1:]]
    snapshot = next((d for d in dates if isinstance(d, str) and re.match(r"\d{4}-\d{2}-\d{2}", d)), "")
    source = {
        "id": "S1",
        "title": f"{page_title} status page: {name}",
        "publisher": f"{page_title} (Atlassian Statuspage)",
        "date": snapshot[:10] or "unknown",
        "url": f"{base_url}/incidents/{raw['id']}" if base_url else None,
        "locator": f"{Path(file).name}, incidents[{i}] (id {raw['id']})",
        "note": f"Imported from the page's incidents.json feed; shortlink {raw['shortlink']}"
        if raw.get("shortlink")
        else "Imported from the page's incidents.json feed.",
    }
    data = {
        "id": incident_id,
        "title": name,
        "organisation": {"name": page_title},
        "summary": f"{name}: an incident of {impact!r} impact on the {page_title} status page, "
        f"with {len(updates)} update{'s' if len(updates) != 1 else ''} ({status or 'no status'}).",
        "timezone": page.get("time_zone") or "Etc/UTC",
        "status": "resolved" if status in _RESOLVED_STATUSES else "ongoing",
        "sources": [{k: v for k, v in source.items() if v is not None}],
        "milestones": milestones,
        "phases": _phases(updates, milestones, status in _RESOLVED_STATUSES),
    }
    return data


SAME_MOMENT = timedelta(minutes=1)  # a start this close to the first post was set by posting it


def _milestones(raw: dict, updates: list[dict]) -> list[dict]:
    """The start, one milestone per update, and record times no update covers."""
    out = []
    start = raw.get("started_at") or raw.get("created_at") or (updates[0]["created_at"] if updates else None)
    if start:
        out.append(_milestone("started", start, "impact", "Incident start",
                              "Start of the incident as the page records it (started_at)."))
    statuses = {u["status"] for u in updates}
    first_post = next((u for u in updates if u["status"] == "investigating"), None)
    for u in updates:
        kind, title = UPDATE_KINDS.get(u["status"], ("other", u["status"].replace("_", " ").capitalize()))
        if u["status"] == "investigating" and u is not first_post:  # only the first says when it was seen
            kind, title = "communication", "Update (still investigating)"
        elif u is first_post and start and abs(_moment(u["created_at"]) - _moment(start)) < SAME_MOMENT:
            # the page dates the incident by its first post: when the fault was detected is not in the feed
            kind, title = "communication", "First post (investigating); when it was detected is not known from the feed"
        out.append(_milestone(_update_id(u), u["created_at"], kind, title, plain_text(u.get("body") or "")))
    # the record keeps these times even when the feed dropped their update
    if raw.get("monitoring_at") and "monitoring" not in statuses:
        out.append(_milestone("monitoring", raw["monitoring_at"], "mitigation", "Monitoring",
                              "Time the incident went to monitoring (monitoring_at); its update is not in the feed."))
    if raw.get("resolved_at") and "resolved" not in statuses:
        out.append(_milestone("resolved", raw["resolved_at"], "recovery", "Resolved",
                              "Time the incident was resolved (resolved_at); its update is not in the feed."))
    out.sort(key=lambda m: _moment(m["at"]))
    return out


def _milestone(mid: str, at: str, kind: str, title: str, description: str) -> dict:
    return {"id": mid, "at": at, "precision": "second", "kind": kind, "title": title,
            "description": description, "sources": ["S1"]}


def _update_id(update: dict) -> str:
    uid = re.sub(r"[^A-Za-z0-9_.-]", "-", str(update.get("id") or "")).strip("-.")
    if not uid:  # no id in the feed: the update's time keeps it unique
        uid = re.sub(r"\D", "", update["created_at"])
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '-', update['status'])}-{uid}"


def _phases(updates: list[dict], milestones: list[dict], resolved: bool) -> list[dict]:
    """Per component: each stretch at one non-operational level is a phase.

    A stretch ends at the next update that changes the component's status; one
    still open at the last update ends at the resolution (or is dropped when
    the incident is not resolved, as its end is not known).
    """
    recovery = [m for m in milestones if m["kind"] == "recovery"]
    final = recovery[-1]["id"] if resolved and recovery else None
    open_: dict[str, tuple[str, str, str]] = {}  # component -> (level, start milestone, name)
    phases: list[dict] = []

    def close(code: str, end_id: str) -> None:
        level, start_id, name = open_.pop(code)
        if start_id != end_id:
            phases.append({"name": f"{name}: {level.replace('_', ' ')}", "start": start_id, "end": end_id,
                           "impact": level, "component": name, "sources": ["S1"]})

    for u in updates:
        mid = _update_id(u)
        for c in u.get("affected_components") or []:
            code, level = c.get("code") or c["name"], c["new_status"]
            if code in open_ and open_[code][0] == level:
                continue
            if code in open_:
                close(code, mid)
            if level != "operational":
                open_[code] = (level, mid, c["name"])
    for code in list(open_):
        if final is not None:
            close(code, final)
        else:
            open_.pop(code)
    return phases


_BREAK_TAGS = {"br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "blockquote", "pre", "tr"}
_INLINE_TAGS = {"b", "strong", "i", "em", "u", "code", "span", "a", "small", "sup", "sub", "s", "strike", "td", "th",
                "table", "tbody", "thead"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")


def plain_text(body: str) -> str:
    """An update body as plain text: `<br />` and paragraphs become line breaks.

    Formatting tags are dropped and entities decoded; any other tag (such as
    `<script>`) is left as literal text, so nothing here is ever markup.
    """

    def replace(m: re.Match) -> str:
        name = m[2].lower()
        if name == "li":
            return "" if m[1] else "\n- "
        if name in _BREAK_TAGS:
            return "\n"
        if name in _INLINE_TAGS:
            return ""
        return m[0]

    text = html.unescape(_TAG.sub(replace, body)).replace("\r\n", "\n").replace("\xa0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def page_name(page: dict) -> str:
    """The page's name as the feed gives it, or 'Status page'."""
    name = page.get("name") if isinstance(page, dict) else None
    return name if isinstance(name, str) and name else "Status page"


def _moment(stamp: str) -> datetime:
    """A feed time (checked by the feed's scan) as an aware datetime, for ordering."""
    return datetime.fromisoformat(stamp)


def incident_ids(page: str, created: list[str], raw_ids: list[str]) -> list[str]:
    """The id, and folder name, of each incident of a feed: unique, and the same on every import.

    'github-2024-09-16-69sb0f8lydp4': the page, the day the incident was
    opened, its Statuspage id. An id that is not lower-case letters and
    digits, or is longer than 30 characters, is shortened to such text and
    followed by a hash of the whole id: 'AbCdEf' and 'abcdef', 'a.b' and
    'a-b' stay apart.
    """
    slug = _page_slug(page)[:30]
    out = []
    for day, raw in zip(created, raw_ids):
        plain = _PLAIN_ID.fullmatch(raw) is not None
        part = raw if plain else _slug(raw)[:20].strip("-")
        parts = [slug, day[:10], part] + ([] if plain else [_hash(raw, 8)])
        out.append("-".join(p for p in parts if p))
    if len(set(out)) < len(out):  # a plain id equal to another's hash: give every lossy id its whole hash
        out = [name if _PLAIN_ID.fullmatch(raw) else "-".join(p for p in (slug, day[:10], _hash(raw, 40)) if p)
               for name, day, raw in zip(out, created, raw_ids)]
    return out


_PLAIN_ID = re.compile(r"[a-z0-9]{1,30}")


def _hash(raw: str, length: int) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:length]


@functools.lru_cache(maxsize=64)
def _page_slug(page: str) -> str:
    return _slug(page) or "statuspage"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
