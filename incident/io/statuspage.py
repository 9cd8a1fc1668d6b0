"""Atlassian Statuspage incident feeds (`/api/v2/incidents.json`) as incidents.

A status page publishes each incident as a list of updates (investigating,
identified, monitoring, resolved, postmortem), each with a body and the status
it set for the affected components. Two ways in:

- `feed_to_incidents` / `import_statuspage`: one incident in our YAML format
  per Statuspage incident, validated like a hand-written one, for reading and
  reporting a few incidents;
- `feed_frames` / `read_feed_frames`: the whole feed as two DataFrames
  (incidents, updates) without building a model per incident or update, for
  the history of thousands of incidents.

Times are written as the feed gives them, offset and milliseconds included, so
a Discord update at 13:14:17.849-08:00 stays that. Bodies are plain text:
formatting tags such as `<br />` become line breaks, entities are decoded, and
any other markup is kept as literal text, never passed on as HTML.
"""

from __future__ import annotations

import codecs
import functools
import html
import json
import os
import re
import tempfile
from pathlib import Path
from sys import intern
from typing import Any

import numpy as np
import pandas as pd
import yaml

from incident.core.errors import IncidentError, Problem, check_file_size
from incident.io.loader import INCIDENT_FILE, validate
from incident.core.times import zone

MAX_FEED_BYTES = 2_000_000_000  # a feed of a million updates is ~0.5 GB

# Statuspage update status -> our milestone kind and title.
UPDATE_KINDS = {
    "investigating": ("detection", "Investigating"),
    "identified": ("diagnosis", "Identified"),
    "monitoring": ("mitigation", "Monitoring"),
    "resolved": ("recovery", "Resolved"),
    "postmortem": ("communication", "Postmortem"),
}
# Component statuses, best first; an outage phase is any of the last four.
COMPONENT_LEVELS = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
_RESOLVED_STATUSES = {"resolved", "postmortem", "completed"}

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})\Z")
_STAMP_HINT = "expected a time with its offset, such as 2024-09-16T21:31:02.798Z"
_TIME_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))  # datetime64[ns]


# -- reading and checking -----------------------------------------------------
def read_feed(path: str | Path) -> dict:
    """Read and check a Statuspage `incidents.json`; IncidentError if it is not one."""
    path = Path(path)
    file = str(path)
    _check_size(path)
    data = path.read_bytes()
    try:
        feed = json.loads(data)
    except UnicodeDecodeError as exc:
        raise IncidentError.single(file, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise IncidentError.single(file, f"not JSON: {exc.msg}", line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise IncidentError.single(file, f"not a usable JSON feed: {_json_limit(exc)}") from None
    del data
    check_feed(feed, file)
    return feed


def _json_limit(exc: Exception) -> str:
    """What the stdlib's JSON reader refused beyond syntax, in words."""
    if isinstance(exc, RecursionError):
        return "values nested too deeply"
    return str(exc).split(";")[0]  # e.g. a number of more than 4,300 digits


def check_feed(feed: Any, file: str = "<feed>") -> None:
    """Raise IncidentError listing what makes `feed` not a Statuspage incident feed.

    Checks what the import relies on and tolerates the rest: unknown keys,
    null `affected_components`, missing `monitoring_at`, a single update.
    """
    _scan_feed(feed, file)


def _scan_feed(feed: Any, file: str) -> "_Scan":
    if not isinstance(feed, dict) or not isinstance(feed.get("incidents"), list):
        got = type(feed).__name__ if not isinstance(feed, dict) else f"keys {sorted(feed)[:6]}"
        raise _not_a_feed(file, got)
    scan = _Scan(file)
    for i, inc in enumerate(feed["incidents"]):
        scan.add(i, inc)
    scan.finish(feed.get("page", {}))
    return scan


def _not_a_feed(file: str, got: str) -> IncidentError:
    return IncidentError.single(
        file, f"not a Statuspage incidents feed: expected an object with an 'incidents' list, got {got}"
    )


def _check_size(path: Path) -> None:
    check_file_size(path, MAX_FEED_BYTES)


class _Scan:
    """Checks a feed one incident at a time, keeping only the columns the tables need.

    Times are checked together at the end (shape, then a real date), which is
    what makes a million updates cheap.
    """

    MAX_PROBLEMS = 50  # a broken million-update feed needs no million lines

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.seen: set = set()
        self.index: list[int] = []  # position of each kept incident in the feed
        self.ids: list = []
        self.names: list = []
        self.statuses: list = []
        self.impacts: list = []
        self.created_text: list = []
        self.times: dict[str, list] = {k: [] for k in _INCIDENT_TIMES}
        self.worst: list[int] = []
        self.counts: list[int] = []
        self.u_status: list = []
        self.u_at: list = []
        self.u_body: list = []
        self.parsed: dict[str, pd.Series] = {}

    def bad(self, path: str, message: str) -> None:
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(Problem(self.file, path, message))

    def add(self, i: int, inc: Any) -> None:
        if type(inc) is not dict:
            self.bad(f"incidents[{i}]", "an incident must be an object")
            return
        iid = inc.get("id")
        if type(iid) is not str or not iid:
            self.bad(f"incidents[{i}].id", "missing incident id")
            iid = ""
        elif iid in self.seen:
            self.bad(f"incidents[{i}].id", f"duplicate incident id {iid!r}")
        self.seen.add(iid)
        for key in ("name", "status", "impact"):
            if inc.get(key) is not None and type(inc[key]) is not str:
                self.bad(f"incidents[{i}].{key}", f"must be text, got {inc[key]!r}")
        updates = inc.get("incident_updates")
        if type(updates) is not list:
            self.bad(f"incidents[{i}].incident_updates", "missing list of updates")
            return
        try:  # the usual case: every update an object with its fields
            statuses = [intern(u["status"]) for u in updates]
            stamps = [u["created_at"] for u in updates]
            bodies = [u.get("body") for u in updates]
            comps = [(j, c) for j, u in enumerate(updates) if (c := u.get("affected_components")) is not None]
        except (KeyError, TypeError, AttributeError):
            self._explain_updates(i, updates)
            return
        worst = max((self._components(c, f"incidents[{i}].incident_updates[{j}].affected_components")
                     for j, c in comps), default=0)
        self.u_status += statuses
        self.u_at += stamps
        self.u_body += bodies
        self.index.append(i)
        self.ids.append(iid)
        self.names.append(inc.get("name"))
        self.statuses.append(inc.get("status"))
        self.impacts.append(inc.get("impact"))
        self.created_text.append(_created_text(inc))
        for key, column in self.times.items():
            column.append(inc.get(key))
        self.worst.append(worst)
        self.counts.append(len(updates))

    def _explain_updates(self, i: int, updates: list) -> None:
        """Say which update lacks what (the slow path, for a broken feed)."""
        for j, up in enumerate(updates):
            path = f"incidents[{i}].incident_updates[{j}]"
            if type(up) is not dict:
                self.bad(path, "an update must be an object")
                continue
            for key in ("status", "created_at"):
                if key not in up:
                    self.bad(f"{path}.{key}", f"missing update {key.replace('_', ' ')}")
            if type(up.get("status", "")) is not str:
                self.bad(f"{path}.status", f"update status must be non-empty text, got {up['status']!r}")
        if not self.problems:  # never drop an incident without saying why
            self.bad(f"incidents[{i}].incident_updates", "malformed updates")

    def _components(self, comps: Any, path: str) -> int:
        """The worst status in one update's affected_components (0: none)."""
        if type(comps) is not list:
            self.bad(path, f"must be a list or null, got {comps!r}")
            return 0
        worst = 0
        for k, c in enumerate(comps):
            level = _LEVEL_RANK.get(c.get("new_status")) if type(c) is dict else None
            if level is None or type(c.get("name")) is not str:
                self.bad(f"{path}[{k}]",
                         f"a component needs a name and a status, one of {COMPONENT_LEVELS}; got {c!r}")
            elif c.get("code") is not None and type(c["code"]) is not str:
                self.bad(f"{path}[{k}].code", f"must be text, got {c['code']!r}")
            elif level > worst:
                worst = level
        return worst

    def finish(self, page: Any) -> None:
        """Check the page, the update fields and every time; IncidentError if anything is wrong.

        Structural problems are reported first, then times: a time's place in
        the feed is only known once every update is where it should be.
        """
        if not isinstance(page, dict):
            self.bad("page", "must be an object")
        elif page.get("time_zone") is not None:
            try:
                zone(page["time_zone"])
            except ValueError as exc:
                self.bad("page.time_zone", str(exc))
        self.page = page if isinstance(page, dict) else {}
        self._check_values()
        if self.problems:
            raise IncidentError(self.problems)
        counts = np.asarray(self.counts, dtype=np.int64)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        feed_index = np.repeat(np.asarray(self.index, dtype=np.int64), counts)

        def update_path(k: int) -> str:
            return f"incidents[{feed_index[k]}].incident_updates[{k - first[k]}].created_at"

        self.parsed["updates"] = self._times(self.u_at, True, update_path)
        for key, column in self.times.items():
            self.parsed[key] = self._times(column, False, lambda k, key=key: f"incidents[{self.index[k]}].{key}")
        if self.problems:
            raise IncidentError(self.problems)
        self.u_at = []  # parsed now; the text is no longer needed

    def _check_values(self) -> None:
        """Update statuses are non-empty text, bodies text or null (checked in bulk)."""
        try:
            bad_status = {s for s in set(self.u_status) if type(s) is not str or not s}
        except TypeError:  # an unhashable status such as a list
            bad_status = {"(not text)"}
        bad_body = {type(b).__name__ for b in self.u_body if type(b) is not str and b is not None}
        if bad_status or bad_body:
            for k, (status, body) in enumerate(zip(self.u_status, self.u_body)):
                if type(status) is not str or not status:
                    self.bad(self._update_path(k, "status"), f"update status must be non-empty text, got {status!r}")
                if body is not None and type(body) is not str:
                    self.bad(self._update_path(k, "body"), f"must be text, got {type(body).__name__}")

    def _update_path(self, k: int, key: str) -> str:
        counts = np.asarray(self.counts)
        n = int(np.searchsorted(np.cumsum(counts), k, side="right"))
        return f"incidents[{self.index[n]}].incident_updates[{k - int(counts[:n].sum())}].{key}"

    def _times(self, texts: list, required: bool, path) -> pd.Series:
        """Parse times as UTC, reporting each that is missing or malformed.

        The usual form (2024-09-16T21:31:02.798Z, or with -08:00) is parsed in
        one vectorised pass; anything else is looked at one by one.
        """
        is_text = np.fromiter((type(s) is str for s in texts), bool, len(texts))
        values = pd.Series(texts, dtype=object).where(is_text, None)  # a number is no time (nor an epoch)
        parsed = pd.to_datetime(values, format="%Y-%m-%dT%H:%M:%S.%f%z", utc=True, errors="coerce")
        parsed = parsed.where(parsed.between(*_TIME_RANGE))  # the year 2300 would not fit: reported below
        parsed = parsed.astype("datetime64[ns, UTC]")
        for k in np.flatnonzero(parsed.isna().to_numpy()):
            value = texts[k]
            if value is None:
                if required:
                    self.bad(path(k), "missing time")
            elif type(value) is not str or not _STAMP.match(value):
                self.bad(path(k), f"{value!r}: {_STAMP_HINT}")
            else:
                moment = pd.to_datetime(value, format="ISO8601", utc=True, errors="coerce")
                if pd.isna(moment):
                    self.bad(path(k), f"{value!r} is not a real date and time")
                elif not _TIME_RANGE[0] <= moment <= _TIME_RANGE[1]:
                    self.bad(path(k), f"{value!r} is outside the years {_TIME_RANGE[0].year + 1} to "
                                      f"{_TIME_RANGE[1].year - 1} this import handles")
                else:
                    parsed.iloc[k] = moment
        return parsed

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        name = self.page.get("name")
        page_name = name if isinstance(name, str) and name else "Status page"
        counts = np.asarray(self.counts, dtype=np.int64)
        updates = pd.DataFrame(
            {
                "incident": np.repeat(np.arange(len(counts)), counts),
                "status": pd.Categorical(self.u_status),
                "created_at": self.parsed["updates"],
                "body": self.u_body,
            }
        )
        kinds = {k: v[0] for k, v in UPDATE_KINDS.items()}
        updates["kind"] = updates["status"].map(lambda s: kinds.get(s, "other")).astype(object)
        incidents = pd.DataFrame(
            {
                "id": [_incident_id(page_name, created, iid) for created, iid in zip(self.created_text, self.ids)],
                "statuspage_id": self.ids,
                "page": page_name,
                "name": self.names,
                "status": self.statuses,
                "page_impact": self.impacts,
                "impact": [COMPONENT_LEVELS[w] if w > 0 else None for w in self.worst],
                **{key: self.parsed[key] for key in _INCIDENT_TIMES},
                "updates": counts,
            }
        )
        incidents.attrs.update(page=page_name, time_zone=self.page.get("time_zone"), file=self.file)
        return incidents, updates


_INCIDENT_TIMES = ("created_at", "started_at", "monitoring_at", "resolved_at")
_LEVEL_RANK = {level: n for n, level in enumerate(COMPONENT_LEVELS)}


# -- one incident file per Statuspage incident --------------------------------
def feed_to_incidents(feed: dict, file: str = "<feed>") -> list[dict]:
    """Each Statuspage incident as plain data in our YAML format, validated.

    Raises IncidentError with every problem found (the feed is checked first).
    """
    check_feed(feed, file)
    page = feed.get("page") or {}
    out, problems = [], []
    for i, raw in enumerate(feed["incidents"]):
        data = _incident_data(raw, page, file, i)
        try:
            validate(data, f"{file} incidents[{i}]")
        except IncidentError as exc:
            problems += exc.problems
            continue
        out.append(data)
    if problems:
        raise IncidentError(problems)
    return out


def _incident_data(raw: dict, page: dict, file: str, i: int) -> dict:
    page_name = page.get("name") if isinstance(page.get("name"), str) and page["name"] else "Status page"
    name = (raw.get("name") or "").strip() or "(untitled incident)"
    impact = raw.get("impact") or "none"
    updates = sorted(raw["incident_updates"], key=lambda u: pd.Timestamp(u["created_at"]))
    milestones = _milestones(raw, updates)
    status = raw.get("status") or ""
    base_url = page["url"].rstrip("/") if isinstance(page.get("url"), str) else ""
    created = _created_text(raw)
    # the page as of the feed's snapshot, else as of the incident's last change
    dates = [page.get("updated_at"), raw.get("updated_at"), created] + [u["created_at"] for u in updates[-1:]]
    snapshot = next((d for d in dates if isinstance(d, str) and re.match(r"\d{4}-\d{2}-\d{2}", d)), "")
    source = {
        "id": "S1",
        "title": f"{page_name} status page: {name}",
        "publisher": f"{page_name} (Atlassian Statuspage)",
        "date": snapshot[:10] or "unknown",
        "url": f"{base_url}/incidents/{raw['id']}" if base_url else None,
        "locator": f"{Path(file).name}, incidents[{i}] (id {raw['id']})",
        "note": f"Imported from the page's incidents.json feed; shortlink {raw['shortlink']}"
        if raw.get("shortlink")
        else "Imported from the page's incidents.json feed.",
    }
    data = {
        "id": _incident_id(page_name, created, raw["id"]),
        "title": name,
        "organisation": {"name": page_name},
        "summary": f"{name}: an incident of {impact!r} impact on the {page_name} status page, "
        f"with {len(updates)} update{'s' if len(updates) != 1 else ''} ({status or 'no status'}).",
        "timezone": page.get("time_zone") or "Etc/UTC",
        "status": "resolved" if status in _RESOLVED_STATUSES else "ongoing",
        "sources": [{k: v for k, v in source.items() if v is not None}],
        "milestones": milestones,
        "phases": _phases(updates, milestones, status in _RESOLVED_STATUSES),
    }
    return data


def _milestones(raw: dict, updates: list[dict]) -> list[dict]:
    """The start, one milestone per update, and record times no update covers."""
    out = []
    start = raw.get("started_at") or raw.get("created_at") or (updates[0]["created_at"] if updates else None)
    if start:
        out.append(_milestone("started", start, "impact", "Incident start",
                              "Start of the incident as the page records it (started_at)."))
    statuses = {u["status"] for u in updates}
    for u in updates:
        kind, title = UPDATE_KINDS.get(u["status"], ("other", u["status"].replace("_", " ").capitalize()))
        out.append(_milestone(_update_id(u), u["created_at"], kind, title, plain_text(u.get("body") or "")))
    # the record keeps these times even when the feed dropped their update
    if raw.get("monitoring_at") and "monitoring" not in statuses:
        out.append(_milestone("monitoring", raw["monitoring_at"], "mitigation", "Monitoring",
                              "Time the incident went to monitoring (monitoring_at); its update is not in the feed."))
    if raw.get("resolved_at") and "resolved" not in statuses:
        out.append(_milestone("resolved", raw["resolved_at"], "recovery", "Resolved",
                              "Time the incident was resolved (resolved_at); its update is not in the feed."))
    out.sort(key=lambda m: pd.Timestamp(m["at"]))
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


def _created_text(raw: dict) -> str:
    """When the page opened the incident, as the feed writes it ('' if it does not)."""
    for key in ("created_at", "started_at"):
        if type(raw.get(key)) is str:
            return raw[key]
    return ""


def _incident_id(page_name: str, created: str, raw_id: str) -> str:
    """'github-2024-09-16-69sb0f8lydp4': page, date opened, Statuspage id."""
    slug = _page_slug(page_name)
    rid = raw_id.lower()
    if not _PLAIN_ID.match(rid):
        rid = _slug(rid)
    return "-".join(p for p in (slug[:30], created[:10], rid[:30]) if p)


_PLAIN_ID = re.compile(r"[a-z0-9]+\Z")


@functools.lru_cache(maxsize=64)
def _page_slug(page_name: str) -> str:
    return _slug(page_name) or "statuspage"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


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


def incident_yaml(data: dict, feed_name: str = "") -> str:
    """One incident's plain data as incident.yaml text."""
    header = (
        f"# Imported from the Statuspage feed {feed_name} by `incident import statuspage`.\n"
        "# Times are as the page gave them (with their offsets). Edit freely; check with\n"
        "# `incident validate`.\n\n"
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it: ~10x faster
    return header + yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def import_statuspage(feed_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per incident of a Statuspage feed.

    Everything is converted and validated before the first file is written, so
    a bad feed writes nothing. Existing incident files are kept unless
    `overwrite` is true. Returns the folders written.
    """
    feed_path, out_dir = Path(feed_path), Path(out_dir)
    incidents = feed_to_incidents(read_feed(feed_path), str(feed_path))
    targets = [out_dir / data["id"] / INCIDENT_FILE for data in incidents]
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise IncidentError(
                [Problem(str(t), "", "already exists (pass overwrite=True, or --force, to replace it)") for t in existing]
            )
    texts = [incident_yaml(data, feed_path.name) for data in incidents]
    for target, text in zip(targets, texts):
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, text)
    return [t.parent for t in targets]


def _write_atomic(target: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".incident-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the bulk path: the whole feed as two tables ------------------------------
def feed_frames(feed: dict, file: str = "<feed>") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A feed as (incidents, updates) DataFrames, one row per incident / update.

    Builds columns straight from the parsed JSON (no model per update), for
    histories of many incidents; checks the feed as `check_feed` does. Times
    are UTC; bodies are as the feed gives them. `incidents.id` is the id an
    import gives the incident; `impact` is the worst component status any
    update set (None without component data); `page_impact` is the page's own
    rating (none, minor, major, critical).
    """
    return _scan_feed(feed, file).frames()


def read_feed_frames(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`feed_frames` of a feed file, read one incident at a time.

    The parsed feed is never held whole: each incident's JSON is decoded,
    checked, reduced to its columns and dropped, so memory follows the
    columns rather than a million dicts.
    """
    path = Path(path)
    file = str(path)
    _check_size(path)
    scan = _Scan(file)
    page: Any = {}
    found = False
    with _JsonStream(path) as stream:
        try:
            if stream.peek() != "{":
                raise _not_a_feed(file, "no JSON object")
            stream.advance()
            while stream.peek() != "}":
                key = stream.value()
                if type(key) is not str or stream.peek() != ":":
                    raise stream.error("expected a key and ':'")
                stream.advance()
                if key == "incidents" and stream.peek() == "[":
                    found = True
                    stream.advance()
                    i = 0
                    while stream.peek() != "]":
                        scan.add(i, stream.value())
                        i += 1
                        if stream.peek() == ",":
                            stream.advance()
                            if stream.peek() == "]":
                                raise stream.error("expected a value after ','")
                        elif stream.peek() != "]":
                            raise stream.error("expected ',' or ']' after an incident")
                    stream.advance()
                elif key == "page":
                    page = stream.value()
                else:
                    stream.value()
                if stream.peek() == ",":
                    stream.advance()
                    if stream.peek() != '"':
                        raise stream.error("expected a key after ','")
                elif stream.peek() != "}":
                    raise stream.error("expected ',' or '}'")
            stream.advance()
            if stream.peek() != "":
                raise stream.error("extra data after the feed")
        except json.JSONDecodeError as exc:
            raise IncidentError.single(file, f"not JSON: {exc.msg}", line=stream.line(exc.pos)) from None
        except IncidentError:
            raise
        except (ValueError, RecursionError) as exc:
            raise IncidentError.single(file, f"not a usable JSON feed: {_json_limit(exc)}") from None
    if not found:
        raise _not_a_feed(file, "no 'incidents' list")
    scan.finish(page)
    return scan.frames()


class _JsonStream:
    """A JSON text read in chunks, decoded one value at a time with the stdlib."""

    CHUNK = 1 << 24
    _SPACE = re.compile(r"[ \t\n\r]*")

    def __init__(self, path: Path):
        self.f = open(path, "rb")
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.scanner = json.JSONDecoder()
        self.buf, self.pos, self.eof, self.chars_before = "", 0, False, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()

    def _more(self) -> bool:
        """Append the next chunk to what is left of the buffer; False at the end."""
        if self.eof:
            return False
        data = self.f.read(self.CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise IncidentError.single(str(self.f.name), f"not valid UTF-8 text ({exc.reason})") from None
        self.chars_before += self.pos
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        char = self.buf[self.pos:self.pos + 1]
        if char and char not in " \t\n\r":
            return char
        while True:
            self.pos = self._SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def advance(self) -> None:
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value; reads more whenever the buffer ends inside it."""
        self.peek()
        while True:
            try:
                value, end = self.scanner.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self._more():
                    continue
                raise
            if end == len(self.buf) and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def error(self, message: str) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, self.buf, self.pos)

    def line(self, pos: int) -> int:
        """Line of a position in the buffer (counted only when there is an error)."""
        with open(self.f.name, encoding="utf-8-sig", errors="replace") as f:
            before = f.read(self.chars_before)
        return before.count("\n") + self.buf.count("\n", 0, pos) + 1
