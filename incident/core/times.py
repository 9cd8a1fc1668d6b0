"""Points in time as sources give them: to the minute, the hour, or the day.

A source that says "on 2020-02-25" says nothing about the hour. A `When` keeps
that: it is the interval [earliest, latest) the source allows, so durations
between imprecise points become ranges instead of invented exact numbers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Precision = Literal["second", "minute", "hour", "day"]
PRECISIONS: tuple[str, ...] = ("second", "minute", "hour", "day")
_STEP = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}

# 2020-02-23, 2020-02-23 19:00, 2020-02-23T19:00:05.123+08:00, ...Z
TIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)
# What every part of the toolkit can hold: pandas' nanosecond timestamps end
# in 2262, matplotlib's date axis and day arithmetic need room on both sides.
MIN_YEAR, MAX_YEAR = 1700, 2200
_TIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?\Z"
)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or ValueError with a readable message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        shown = repr(name) if len(repr(name)) <= 100 else repr(name)[:100] + "..."
        raise ValueError(f"unknown time zone {shown} (use an IANA name such as 'Asia/Shanghai')") from None


@dataclass(frozen=True)
class When:
    """A moment known to a precision: the interval [earliest, latest)."""

    earliest: datetime  # timezone-aware
    precision: str = "minute"
    approximate: bool = False

    @property
    def utc(self) -> datetime:
        """The start of the interval in UTC: the form to compare and subtract."""
        return self.earliest.astimezone(timezone.utc)

    @property
    def latest(self) -> datetime:
        """End of the interval the source allows (exclusive), in UTC."""
        if self.precision == "day":
            # a calendar day in the local zone, which may not be 24 h (DST)
            nxt = self.earliest.date() + timedelta(days=1)
            tz = self.earliest.tzinfo
            assert tz is not None  # _parse_when, the only maker of a When, always gives it a zone
            return _day_start(nxt, tz).astimezone(timezone.utc)
        return self.utc + _STEP[self.precision]

    @property
    def exact(self) -> bool:
        return self.precision in ("second", "minute")

    def bounds(self) -> tuple[datetime, datetime]:
        """(earliest, latest) in UTC, with an exact point as an instant.

        UTC, because Python subtracts and compares two datetimes that share a
        zone in wall-clock time: across a DST change that is an hour off.
        """
        start = self.utc
        return (start, start if self.exact else self.latest)

    def label(self) -> str:
        """As a reader would write it: '2020-02-25', '~2020-02-23 19:00'."""
        t = self.earliest
        text = {
            "day": t.strftime("%Y-%m-%d"),
            "hour": t.strftime("%Y-%m-%d %H:00"),
            "minute": t.strftime("%Y-%m-%d %H:%M"),
            "second": t.strftime("%Y-%m-%d %H:%M:%S"),
        }[self.precision]
        return ("~" if self.approximate else "") + text

    def iso(self) -> str:
        """ISO 8601 text at the known precision (no invented hour)."""
        if self.precision == "day":
            return self.earliest.date().isoformat()
        spec = {"hour": "minutes", "minute": "minutes", "second": "seconds"}[self.precision]
        return self.earliest.isoformat(timespec=spec)


def parse_when(text: str, tz: tzinfo, precision: str | None = None, approximate: bool = False) -> When:
    if isinstance(text, str) and isinstance(tz, Hashable):  # the same text is resolved many times by validation
        return _parse_when_cached(text, tz, precision, approximate)
    return _parse_when(text, tz, precision, approximate)


@functools.lru_cache(maxsize=4096)
def _parse_when_cached(text: str, tz: tzinfo, precision: str | None, approximate: bool) -> When:
    return _parse_when(text, tz, precision, approximate)


def _parse_when(text: str, tz: tzinfo, precision: str | None = None, approximate: bool = False) -> When:
    """Parse `text` in zone `tz` (unless it carries an offset).

    The precision is what the text shows (a bare date is day precision); a
    coarser `precision` may be given explicitly, a finer one may not.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a date or time as text, got {type(text).__name__} {text!r:.100}")
    if len(text) > 64:  # no time is this long; do not echo a page of text back
        raise ValueError(f"{text[:40]!r}... ({len(text):,} characters) is not a date or time")
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a date or time (write 2020-02-23 or 2020-02-23 19:00)")
    try:
        d = date.fromisoformat(m["date"])
    except ValueError as exc:
        raise ValueError(f"{m['date']!r} is not a real date ({exc})") from None
    if m["h"] is None:
        shown = "day"
        hour = minute = second = micro = 0
    else:
        hour, minute = int(m["h"]), int(m["m"])
        second = int(m["s"] or 0)
        micro = int((m["f"] or "0").ljust(6, "0"))
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r} is not a real time of day")
        shown = "second" if m["s"] is not None else "minute"
    if precision is None:
        precision = shown
    elif PRECISIONS.index(precision) < PRECISIONS.index(shown):
        raise ValueError(f"precision {precision!r} is finer than the text {text!r} shows ({shown})")
    if precision == "hour" and (minute or second or micro):
        raise ValueError(f"{text!r} is not on the hour, but precision is 'hour'")
    if precision == "day" and shown != "day" and (hour or minute or second or micro):
        raise ValueError(f"{text!r} has a time of day, but precision is 'day'")
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"{text!r} is outside the range of dates this toolkit handles "
                         f"(years {MIN_YEAR} to {MAX_YEAR})")
    if m["tz"]:
        off = timezone.utc if m["tz"] == "Z" else _offset(m["tz"])
        moment = datetime(d.year, d.month, d.day, hour, minute, second, micro, tzinfo=off)
    elif shown == "day":
        moment = _day_start(d, tz)
    else:
        moment = _local(datetime(d.year, d.month, d.day, hour, minute, second, micro), tz, text)
    return When(moment, precision, approximate)


def _local(wall: datetime, tz: tzinfo, text: str) -> datetime:
    """The wall-clock time `wall` in zone `tz`; ValueError if the zone skips it or shows it twice."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    name = getattr(tz, "key", str(tz))
    back = first.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
    if back != wall:  # in the gap: clocks jumped over it
        raise ValueError(f"{text!r} does not exist in {name}: the clocks skipped that hour (a DST change); "
                         "check the time, or give it with its UTC offset")
    offsets = " or ".join(_offset_text(off) for off in (first.utcoffset(), second.utcoffset()) if off is not None)
    raise ValueError(f"{text!r} happened twice in {name} (clocks went back for DST); "
                     f"write it with its UTC offset ({offsets}) to say which")


def _day_start(d: date, tz: tzinfo) -> datetime:
    """The first instant of the local calendar day `d` (after midnight when a DST change skips midnight)."""
    midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
    return midnight.astimezone(timezone.utc).astimezone(tz)


def _offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _offset(text: str) -> timezone:
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a UTC offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def span_hours(start: When, end: When) -> tuple[float, float]:
    """Shortest and longest duration (hours) between two imprecise points.

    A point known to the minute or second counts as an instant; one known to
    the hour or day may lie anywhere in its interval.
    """
    s_lo, s_hi = start.bounds()  # UTC: elapsed time, not the wall-clock difference
    e_lo, e_hi = end.bounds()
    lo = (e_lo - s_hi).total_seconds() / 3600
    hi = (e_hi - s_lo).total_seconds() / 3600
    return max(lo, 0.0), hi
