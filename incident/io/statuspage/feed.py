"""Reading and checking a Statuspage `incidents.json` feed.

`read_feed` parses a feed whole (for an import of a few thousand incidents);
`scan_feed_file` streams one incident at a time (for the history of a million
updates), so the parsed feed is never held whole. Both check the feed through
`_Scan`, which keeps only the columns the tables need, and report every
problem with its field path (and the line, for JSON syntax).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from sys import intern
from typing import Any

import ijson
import numpy as np
import pandas as pd

from incident.core.errors import IncidentError, Problem
from incident.core.times import zone
from incident.io.files import open_regular, read_bytes

MAX_FEED_BYTES = 2_000_000_000  # a feed of a million updates is ~0.5 GB
MAX_DEPTH = 64  # a feed nests 6 deep; "[[[[..." a million deep would cost the parser quadratic memory

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
_LEVEL_RANK = {level: n for n, level in enumerate(COMPONENT_LEVELS)}
INCIDENT_TIMES = ("created_at", "started_at", "monitoring_at", "resolved_at")

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})\Z")
_STAMP_HINT = "expected a time with its offset, such as 2024-09-16T21:31:02.798Z"
_TIME_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))  # datetime64[ns]


# -- the whole feed at once -----------------------------------------------------
def read_feed(path: str | Path) -> dict:
    """Read and check a Statuspage `incidents.json`; IncidentError if it is not one."""
    file = str(path)
    data = read_bytes(path, MAX_FEED_BYTES, "feed")
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
    scan_feed(feed, file)


def scan_feed(feed: Any, file: str) -> "_Scan":
    """The checked columns of a parsed feed; IncidentError if it is not a feed."""
    if not isinstance(feed, dict) or not isinstance(feed.get("incidents"), list):
        if not isinstance(feed, dict):
            got = _kind(feed)
        elif "incidents" in feed:
            got = f"'incidents' as {_kind(feed['incidents'])} {_shown(feed['incidents'])}".rstrip()
        else:
            got = f"no 'incidents' key (keys {sorted(feed)[:6]})"
        raise not_a_feed(file, got)
    scan = _Scan(file)
    for i, inc in enumerate(feed["incidents"]):
        scan.add(i, inc)
    scan.finish(feed.get("page", {}))
    return scan


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def _shown(value: Any, limit: int = 60, whole: bool = False) -> str:
    """A value as repr, cut to `limit` characters; '' for an object or list unless `whole`."""
    if isinstance(value, (dict, list)) and not whole:
        return ""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def not_a_feed(file: str, got: str) -> IncidentError:
    return IncidentError.single(
        file, f"not a Statuspage incidents feed: expected an object with an 'incidents' list, got {got}"
    )


# -- the feed one incident at a time ------------------------------------------------
def scan_feed_file(path: str | Path) -> "_Scan":
    """The checked columns of a feed file, parsed one incident at a time (ijson).

    Each incident's JSON is decoded, checked, reduced to its columns and
    dropped. Nesting is checked on the raw bytes before the parser sees them.
    The page is read first, in a pass that stops once it has it (a feed
    begins with it).
    """
    file = str(path)
    page = _first_value(path, "page", {})
    scan = _Scan(file)
    count = 0
    with open_regular(path, MAX_FEED_BYTES, "feed") as raw:
        reader = _CheckedReader(raw, file)
        try:
            for count, incident in enumerate(ijson.items(reader, "incidents.item", use_float=True), 1):
                scan.add(count - 1, incident)
        except ijson.JSONError as exc:
            raise reader.syntax_error(exc) from None
    if count == 0:  # no incident seen: say what the top level is, reading it again without building it
        with open_regular(path, MAX_FEED_BYTES, "feed") as again:
            shape = _top_level_shape(_CheckedReader(again, file))
        if shape is not None:
            raise not_a_feed(file, shape)
    scan.finish(page)
    return scan


def _first_value(path: str | Path, prefix: str, default: Any) -> Any:
    """The first value at `prefix` in a JSON file, reading no further than its end."""
    with open_regular(path, MAX_FEED_BYTES, "feed") as raw:
        reader = _CheckedReader(raw, str(path))
        try:
            for value in ijson.items(reader, prefix, use_float=True):
                return value
        except ijson.JSONError as exc:
            raise reader.syntax_error(exc) from None
    return default


def _top_level_shape(reader: "_CheckedReader") -> str | None:
    """What a feed without incidents has at the top: None if it is `{"incidents": []}`."""
    try:
        events = ijson.parse(reader, use_float=True)
        prefix, event, value = next(events)
        if event != "start_map":
            return {"start_array": "a list", "string": "text", "null": "null", "boolean": "a boolean",
                    "number": "a number"}.get(event, event)
        for prefix, event, value in events:
            if prefix == "incidents" and event in ("start_array", "start_map", "string", "number", "boolean", "null"):
                if event == "start_array":
                    return None
                what = {"start_map": "an object", "string": "text", "number": "a number", "boolean": "a boolean",
                        "null": "null"}[event]
                return f"'incidents' as {what}" + (f" {_shown(value)}" if event != "start_map" else "")
        return "no 'incidents' key"
    except ijson.JSONError as exc:
        raise reader.syntax_error(exc) from None


class _CheckedReader:
    """The feed's bytes as the parser reads them: byte-order mark dropped, nesting checked.

    Keeps the chunk being parsed and the lines before it, so that a syntax
    error can name its line.
    """

    def __init__(self, raw, file: str):
        self.raw, self.file = raw, file
        self.first = True
        self.depth = 0
        self.in_string = False  # the chunk before ended inside a string
        self.escaped = False  # ... right after its backslash
        self.lines_before = 0
        self.chunk = b""

    def read(self, n: int) -> bytes:
        self.lines_before += self.chunk.count(b"\n")
        chunk = self.raw.read(n)
        if self.first and chunk:  # (the parser first reads 0 bytes, to see that this file gives bytes)
            self.first = False
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        self._check_depth(chunk)
        self.chunk = chunk
        return chunk

    def _check_depth(self, chunk: bytes) -> None:
        """Follow the nesting depth of the JSON text, strings skipped; IncidentError past MAX_DEPTH.

        Escapes are dropped first (they only occur in strings and never end
        one), then everything but quotes and brackets: what is left is small,
        and its strings are plain quote pairs.
        """
        if self.escaped:  # the last chunk ended with the backslash of an escape
            chunk = chunk[1:]
            self.escaped = False
        if b"\\" in chunk:
            chunk = _ESCAPE_PAIR.sub(b"", chunk)
            if chunk.endswith(b"\\"):  # an escape split between this chunk and the next
                chunk, self.escaped = chunk[:-1], True
        marks = chunk.translate(None, delete=_NOT_STRUCTURE)
        if self.in_string:
            end = marks.find(b'"')
            if end < 0:
                return
            marks, self.in_string = marks[end + 1:], False
        if b'"' in marks:
            marks = _QUOTED.sub(b"", marks)
            opening = marks.find(b'"')
            if opening >= 0:  # a string goes on in the next chunk
                marks, self.in_string = marks[:opening], True
        if not marks:
            return
        codes = np.frombuffer(marks, np.uint8)
        depth = self.depth + np.cumsum(np.where((codes == 91) | (codes == 123), 1, -1))  # "[" and "{" open
        if depth.max() > MAX_DEPTH:
            raise IncidentError.single(self.file, f"not a usable JSON feed: values nested too deeply "
                                                  f"(more than {MAX_DEPTH} levels)")
        self.depth = int(depth[-1])

    def syntax_error(self, exc: Exception) -> IncidentError:
        """The parser's complaint as one line, with the line of the file where it can be found."""
        text = str(exc)
        reason = text.split("\n")[0].removeprefix("b'").removeprefix('b"')
        reason = re.sub(r"^(parse|lexical) error: ", "", reason).rstrip(".")
        if "UTF8" in reason:
            return IncidentError.single(self.file, "not valid UTF-8 text (invalid bytes in a string)")
        if "overflow" in reason:
            return IncidentError.single(self.file, f"not a usable JSON feed: {reason} (a number too large)")
        return IncidentError.single(self.file, f"not JSON: {reason}", line=self._line(text))

    def _line(self, message: str) -> int | None:
        """Find the parser's context ('... (right here) ------^') in the chunk it was parsing."""
        parts = message.split("\n")
        if len(parts) < 3 or "(right here)" not in parts[2]:
            return None
        context, arrow = parts[1], parts[2]
        caret = arrow.index("^")
        flat = self.chunk.replace(b"\n", b" ").replace(b"\r", b" ").decode("utf-8", "replace")
        for lead in (10, *range(11, 41)):  # yajl indents its context by 10, or 40 less the offset
            text = context[lead:]
            at = flat.find(text) if text else -1
            if at >= 0 and flat.find(text, at + 1) < 0:
                offset = len(flat[: at + caret - lead].encode("utf-8"))
                return self.lines_before + self.chunk.count(b"\n", 0, offset) + 1
        if not self.chunk.strip():  # the end of the file
            return self.lines_before + 1
        return None


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"')


# -- the checks --------------------------------------------------------------------
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
        self.times: dict[str, list] = {k: [] for k in INCIDENT_TIMES}
        self.worst: list[int] = []
        self.counts: list[int] = []
        self.u_status: list = []
        self.u_at: list = []
        self.u_body: list = []
        self.parsed: dict[str, pd.Series] = {}
        self.page: dict = {}

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
            self.bad(f"incidents[{i}].id", f"duplicate incident id {_shown(iid)}")
        self.seen.add(iid)
        for key in ("name", "status", "impact"):
            if inc.get(key) is not None and type(inc[key]) is not str:
                self.bad(f"incidents[{i}].{key}", f"must be text, got {_shown(inc[key]) or _kind(inc[key])}")
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
        self.created_text.append(created_text(inc))
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
                self.bad(f"{path}.status", f"update status must be non-empty text, got {_shown(up['status'])}")
        if not self.problems:  # never drop an incident without saying why
            self.bad(f"incidents[{i}].incident_updates", "malformed updates")

    def _components(self, comps: Any, path: str) -> int:
        """The worst status in one update's affected_components (0: none)."""
        if type(comps) is not list:
            self.bad(path, f"must be a list or null, got {_shown(comps) or _kind(comps)}")
            return 0
        worst = 0
        for k, c in enumerate(comps):
            status = c.get("new_status") if type(c) is dict else None
            level = _LEVEL_RANK.get(status) if type(status) is str else None  # a list or a dict is unhashable
            if level is None or type(c.get("name")) is not str:
                self.bad(f"{path}[{k}]",
                         f"a component needs a name and a status, one of {COMPONENT_LEVELS}; got {_shown(c, 200, True)}")
            elif c.get("code") is not None and type(c["code"]) is not str:
                self.bad(f"{path}[{k}].code", f"must be text, got {_shown(c['code']) or _kind(c['code'])}")
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
        update_path = self._update_paths()
        self.parsed["updates"] = self._times(self.u_at, True, lambda k: update_path(k, "created_at"))
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
            update_path = self._update_paths()
            for k, (status, body) in enumerate(zip(self.u_status, self.u_body)):
                if type(status) is not str or not status:
                    self.bad(update_path(k, "status"),
                             f"update status must be non-empty text, got {_shown(status) or _kind(status)}")
                if body is not None and type(body) is not str:
                    self.bad(update_path(k, "body"), f"must be text, got {type(body).__name__}")

    def _update_paths(self):
        """`path(k, key)`: where field `key` of the feed's k-th update is, e.g. incidents[3].incident_updates[1].body.

        The updates are kept in one flat list; the per-incident counts are
        turned into lookups once, so naming any update costs nothing more.
        """
        counts = np.asarray(self.counts, dtype=np.int64)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        feed_index = np.repeat(np.asarray(self.index, dtype=np.int64), counts)
        return lambda k, key: f"incidents[{feed_index[k]}].incident_updates[{k - first[k]}].{key}"

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
                self.bad(path(k), f"{_shown(value) or _kind(value)}: {_STAMP_HINT}")
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


def created_text(raw: dict) -> str:
    """When the page opened the incident, as the feed writes it ('' if it does not)."""
    for key in ("created_at", "started_at"):
        if type(raw.get(key)) is str:
            return raw[key]
    return ""
