"""Exchange calendars: which days an exchange was open (from exchange-calendars).

Reading a calendar is reading reference data, like reading a price file, so
it lives with the readers; the rules that place an incident's moments on
sessions are in `incident.market.sessions`. exchange-calendars is slow to
import, so it is imported only when a calendar is first needed.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import pandas as pd

DEFAULT_CALENDAR = "XHKG"


@lru_cache(maxsize=None)
def calendar(name: str = DEFAULT_CALENDAR):
    """The exchange-calendars calendar `name` (e.g. "XHKG"), from 1990 on where it has the history."""
    # exchange-calendars 4.x still uses pandas APIs that pandas 3 deprecates;
    # the warnings are theirs to fix and would only bury ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import exchange_calendars as xc

        if name not in xc.get_calendar_names():
            raise ValueError(f"unknown exchange calendar {name!r} (an exchange-calendars code such as 'XHKG')")
        try:
            return xc.get_calendar(name, start="1990-01-01")
        except ValueError:  # holidays recorded only from a later year
            return xc.get_calendar(name)


def as_calendar(cal):
    """A calendar from its code, or the calendar itself."""
    return calendar(cal) if isinstance(cal, str) else cal


def sessions(start, end, cal=DEFAULT_CALENDAR) -> pd.DatetimeIndex:
    """Session dates from `start` to `end`, both included."""
    c = as_calendar(cal)
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    lo, hi = max(start, c.first_session), min(end, c.last_session)
    if lo > hi:
        return pd.DatetimeIndex([], name="date", dtype="datetime64[ns]")
    return pd.DatetimeIndex(c.sessions_in_range(lo, hi), name="date").as_unit("ns")
