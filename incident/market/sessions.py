"""Trading sessions: which session a moment of the incident belongs to.

An event study counts days in sessions of the exchange, not calendar days.
The rule for mapping a moment to a session:

- a time on a session day before that day's close (pre-open included) maps
  to that session; at or after the close it maps to the next session. The
  close is the calendar's: 16:00 Hong Kong time on XHKG, 12:00 on half days.
  News in the closing auction that follows (16:00–16:10) cannot move the
  close freely, so it counts as after the close;
- a time on a day the exchange is closed maps to the next session;
- a date without a time (day precision) is the whole local day of the
  incident's zone, and its first instant on the exchange's clock decides: the
  session of that date if the exchange was open and the day begins before
  the close, else the next one. In the exchange's zone this is "by date" (a
  source that gives only the day does not say whether the market saw the news
  before the close); a day in Los Angeles begins at 16:00 Hong Kong time, after
  the HKEX close, so an LA date maps to Hong Kong's next session.

Times known to the hour or finer are placed by their earliest moment; with a
close on the hour an hour-precision time is never ambiguous.

The same rule holds on every exchange, with its own hours: on XNYS (the NYSE,
also used for Nasdaq listings) the close is 16:00 New York time, 13:00 on the
early-close days before Independence Day, after Thanksgiving and on Christmas
Eve; news at 16:05 on a Friday belongs to Monday's session (or Tuesday's after
a Monday holiday). An incident can override its day 0 with `market.day0` and
a stated `market.day0_reason` (e.g. the market learned of it only later);
other days that could be day 0 (`market.day0_alternatives`) are studied beside
it by `incident.market.dayzero`.

Errors caused by the incident's data (an unknown calendar, a start outside the
calendar, a day 0 that is not a session) raise `IncidentError` naming the
incident file and the field.

The calendars themselves are read by `incident.io.calendars`.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from incident.core.errors import IncidentError
from incident.core.model import Incident
from incident.core.times import When
from incident.io.calendars import DEFAULT_CALENDAR, as_calendar as _cal, calendar, sessions  # noqa: F401 (re-exported)
from incident.io.loader import file_label


def session_of(moment: When | datetime | date | str, cal=DEFAULT_CALENDAR) -> pd.Timestamp:
    """The session a moment belongs to (see the module's rule).

    `moment` may be a `When`, a timezone-aware datetime, a date, or text
    such as "2020-03-01 20:00" (then read in the exchange's zone). A naive
    datetime is taken as exchange-local time.
    """
    return _place(moment, _cal(cal))[0]


def session_rule(moment: When | datetime | date | str, cal=DEFAULT_CALENDAR) -> str:
    """Why `moment` maps to its session: "by date", "before the open", ..."""
    return _place(moment, _cal(cal))[1]


def relative_day(session, day0, cal=DEFAULT_CALENDAR) -> int:
    """Sessions from `day0` to `session` (0 on day 0, -1 the session before)."""
    c = _cal(cal)
    days = c.sessions
    a, b = pd.Timestamp(session).normalize(), pd.Timestamp(day0).normalize()
    for d in (a, b):
        if d not in days:
            raise ValueError(f"{d.date()} is not a {c.name} session")
    return int(days.get_loc(a) - days.get_loc(b))


def study_dates(day0, first: int, last: int, cal=DEFAULT_CALENDAR) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dates of the bars a study from event day `first` to `last` uses: for checking them against the calendar.

    From the close before day `first` (its return needs it) to day `last`,
    counted in the calendar's sessions from `day0` (or the first session
    after it); cut at the calendar's ends, where the study itself will say
    what is missing. For `incident.io.prices.read_prices(check_between=...)`,
    so that a vendor's bar from decades before the event cannot refuse it.
    """
    c = _cal(cal)
    if first > last:
        raise ValueError(f"event day {first} is after event day {last}")
    days = c.sessions
    at = int(days.searchsorted(pd.Timestamp(day0).normalize()))
    lo, hi = at + first - 1, at + last
    return days[min(max(lo, 0), len(days) - 1)], days[min(max(hi, 0), len(days) - 1)]


def day_zero(inc: Incident) -> pd.Timestamp:
    """Day 0 of the incident's event study: the first session whose trading could react.

    `market.day0` when the incident overrides it (with its reason); else the
    session of `market.event_start` when given, else of the incident's first
    impact milestone (its first detection if it has none), by the module's rule.
    """
    return inc.memo("day_zero", lambda: _day_zero(inc))


def _day_zero(inc: Incident) -> pd.Timestamp:
    c = _incident_calendar(inc)
    if inc.market is not None and inc.market.day0 is not None:
        day = pd.Timestamp(inc.market.day0)
        if not (c.first_session <= day <= c.last_session) or not c.is_session(day):
            raise _error(inc, "market.day0", f"{day.date()} is not a {c.name} session; day 0 must be one")
        return day
    ref, field = _start_ref(inc)
    try:
        return session_of(inc.when(ref), c)
    except ValueError as exc:
        raise _error(inc, field, str(exc)) from None


def day_zero_rule(inc: Incident) -> str:
    """How day 0 was found: "override: <reason>" or the rule that placed the start ("before the open", ...)."""
    c = _incident_calendar(inc)
    if inc.market is not None and inc.market.day0 is not None:
        return f"override: {inc.market.day0_reason}"
    ref, field = _start_ref(inc)
    try:
        return _place(inc.when(ref), c)[1]
    except ValueError as exc:
        raise _error(inc, field, str(exc)) from None


def day_zero_field(inc: Incident) -> str:
    """The incident field day 0 comes from: "market.day0", "market.event_start" or a milestone's time."""
    if inc.market is not None and inc.market.day0 is not None:
        return "market.day0"
    return _start_ref(inc)[1]


def day_zero_milestone(inc: Incident) -> str | None:
    """The id of the milestone day 0 is placed from; None when `market.day0` overrides it or the start is a time."""
    if inc.market is not None and inc.market.day0 is not None:
        return None
    ref = _start_ref(inc)[0]
    return ref if any(m.id == ref for m in inc.milestones) else None


def session_table(inc: Incident) -> pd.DataFrame:
    """Every milestone with its session, its day relative to day 0, and the rule used (once per incident)."""
    return inc.memo("session_table", lambda: _session_table(inc))


def _session_table(inc: Incident) -> pd.DataFrame:
    c = _incident_calendar(inc)
    day0 = day_zero(inc)
    rows = []
    for i, m in enumerate(inc.milestones):
        w = inc.when(m.id)
        try:
            session, rule = _place(w, c)
            day = relative_day(session, day0, c)
        except ValueError as exc:
            raise _error(inc, f"milestones[{i}].at", str(exc)) from None
        rows.append(
            {
                "id": m.id,
                "title": m.title,
                "when": w.label(),
                "exchange_time": None if w.precision == "day" else pd.Timestamp(w.earliest).tz_convert(c.tz),
                "session": session,
                "day": day,
                "rule": rule,
            }
        )
    table = pd.DataFrame(rows, columns=["id", "title", "when", "exchange_time", "session", "day", "rule"])
    return table.sort_values(["session", "day"], kind="stable").reset_index(drop=True)


# -- the rule -----------------------------------------------------------------
def _place(moment, c) -> tuple[pd.Timestamp, str]:
    if isinstance(moment, str):
        from incident.core.times import parse_when

        moment = parse_when(moment, c.tz)
    if isinstance(moment, When):
        if moment.precision == "day":
            return _by_day(moment, c)
        moment = moment.earliest
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return _by_date(pd.Timestamp(moment), c)
    t = pd.Timestamp(moment)
    t = t.tz_localize(c.tz) if t.tzinfo is None else t.tz_convert(c.tz)
    day = pd.Timestamp(t.date())
    _within(day, c)
    if not c.is_session(day):
        return c.date_to_session(day, "next"), "closed day"
    if t >= c.session_close(day):
        return c.next_session(day), "after the close"
    if t < c.session_open(day):
        return day, "before the open"
    return day, "during the session"


def _by_date(day: pd.Timestamp, c) -> tuple[pd.Timestamp, str]:
    _within(day, c)
    if c.is_session(day):
        return day, "by date"
    return c.date_to_session(day, "next"), "by date; closed day"


def _by_day(day: When, c) -> tuple[pd.Timestamp, str]:
    """A date without a time is the whole local day: where its first instant falls on the exchange's clock decides.

    In the exchange's own zone (or one a few hours east) that is the date's
    session, by date. A day that begins after the exchange's close, as
    2020-02-24 in Los Angeles does for Hong Kong (16:00 there), cannot have
    been seen by that session: the next one is day 0.
    """
    first = pd.Timestamp(day.earliest).tz_convert(c.tz)
    date_there = pd.Timestamp(first.date())
    _within(date_there, c)
    if not c.is_session(date_there):
        shifted = date_there.date() != day.earliest.date()  # a day that begins the evening before there
        return c.date_to_session(date_there, "next"), ("by date; the day begins on a closed day there" if shifted
                                                      else "by date; closed day")
    if first >= c.session_close(date_there):
        return c.next_session(date_there), "by date; the day begins after the close"
    return date_there, "by date"


def _within(day: pd.Timestamp, c) -> None:
    if not (c.first_session <= day < c.last_session):
        raise ValueError(f"{day.date()} is outside the {c.name} calendar ({c.first_session.date()}..{c.last_session.date()})")


def _start_ref(inc: Incident) -> tuple[str, str]:
    """The reference of the event's start and the field it comes from."""
    from incident.analysis.timeline import incident_start

    if inc.market is not None and inc.market.event_start:
        return inc.market.event_start, "market.event_start"
    ref = incident_start(inc)
    if ref is None:
        raise _error(inc, "market.event_start",
                     "the incident has no impact or detection milestone to start the event study from; give event_start")
    index = next((i for i, m in enumerate(inc.milestones) if m.id == ref), None)
    return ref, (f"milestones[{index}].at" if index is not None else "market.event_start")


def _exchange(inc: Incident) -> str:
    return inc.market.exchange if inc.market is not None else DEFAULT_CALENDAR


def _incident_calendar(inc: Incident):
    try:
        return calendar(_exchange(inc))
    except ValueError as exc:
        raise _error(inc, "market.exchange", str(exc)) from None


def _error(inc: Incident, field: str, message: str) -> IncidentError:
    return IncidentError.single(file_label(inc), message, path=field)
