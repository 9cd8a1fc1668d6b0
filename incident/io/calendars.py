"""Exchange calendars: which days an exchange was open (from exchange-calendars).

Reading a calendar is reading reference data, like reading a price file, so
it lives with the readers; the rules that place an incident's moments on
sessions are in `incident.market.sessions`. exchange-calendars is slow to
import and to build a calendar from, so a calendar's sessions are kept in
the user's cache folder (see `Sessions`) and the library is imported only
to build one.

How far back: from 1970-01-01 (`EARLIEST`), or from the calendar's
`bound_min` when exchange-calendars declares a later one (XTKS: 1997-01-01).
exchange-calendars builds most calendars from any date (XNYS and XLON
declare no bound, XHKG 1960), but the holidays it computes from rules come
from pandas' `AbstractHolidayCalendar`, whose `start_date` is 1970-01-01:
before it only the ad hoc closures are there, and New Year's Day 1960 or
Christmas 1963 are sessions. So a calendar is taken only from where its
holidays are all there. That covers the longest history in this project
(Equifax's from 1980: every bar is an XNYS session, tests/test_long_prices.py);
price bars before a calendar's first day are kept unchecked
(`incident.io.prices.read_prices`). References: exchange-calendars'
`ExchangeCalendar.bound_min` (https://github.com/gerrymanoim/exchange_calendars)
and pandas' holiday calendars
(https://pandas.pydata.org/docs/reference/api/pandas.tseries.holiday.AbstractHolidayCalendar.html).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

# The one default, for the helpers called without a calendar and for the CLI's price commands: most
# listed incidents (six of the market study's seven) and the vendor layouts read here (Yahoo's) are US.
# An incident file always names its own exchange (market.exchange).
DEFAULT_CALENDAR = "XNYS"
EARLIEST = pd.Timestamp("1970-01-01")  # the first day of a calendar's rule-based holidays (see above)
CACHE_LIMIT = 16 * 2**20  # bytes of a cached calendar (XNYS or XHKG from 1970: 0.35 MB)
CACHE_TAG = "from1970"  # in the cache's name: a cache built from 1990 by an earlier release is not read


class Sessions:
    """An exchange's sessions with their opens and closes: what the toolkit asks of a calendar.

    Built from exchange-calendars (from 1970, or its later `bound_min`) and
    kept in the user's cache folder, so a command that places an incident on
    sessions reads a few kilobytes instead of importing the library and
    building the calendar (a third of a second). The cache is named by the
    calendar, exchange-calendars' version and the month it was built in.
    """

    def __init__(self, name: str, tz: str, sessions, opens, closes):
        from zoneinfo import ZoneInfo

        self.name = name
        self.tz = ZoneInfo(tz)
        self.sessions = pd.DatetimeIndex(sessions, name=None).as_unit("ns")
        self.opens = pd.DatetimeIndex(opens).as_unit("ns").tz_localize("UTC")  # given as UTC without a zone
        self.closes = pd.DatetimeIndex(closes).as_unit("ns").tz_localize("UTC")

    @property
    def first_session(self) -> pd.Timestamp:
        return self.sessions[0]

    @property
    def last_session(self) -> pd.Timestamp:
        return self.sessions[-1]

    def is_session(self, day) -> bool:
        return pd.Timestamp(day).normalize() in self.sessions

    def _at(self, day) -> int:
        day = pd.Timestamp(day).normalize()
        if day not in self.sessions:
            raise ValueError(f"{day.date()} is not a {self.name} session")
        return int(self.sessions.get_loc(day))

    def session_open(self, day) -> pd.Timestamp:
        return self.opens[self._at(day)]

    def session_close(self, day) -> pd.Timestamp:
        return self.closes[self._at(day)]

    def next_session(self, day) -> pd.Timestamp:
        return self._session(self._at(day) + 1, day, "next")

    def date_to_session(self, day, direction: str = "next") -> pd.Timestamp:
        """`day` if it is a session, else the next one ("next") or the one before ("previous")."""
        day = pd.Timestamp(day).normalize()
        if direction not in ("next", "previous"):
            raise ValueError(f"direction must be 'next' or 'previous', not {direction!r}")
        after = int(self.sessions.searchsorted(day, side="left" if direction == "next" else "right"))
        return self._session(after if direction == "next" else after - 1, day, direction)

    def _session(self, i: int, day, direction: str) -> pd.Timestamp:
        if not 0 <= i < len(self.sessions):
            raise ValueError(f"{pd.Timestamp(day).date()} has no {direction} session in the {self.name} calendar "
                             f"({self.first_session.date()}..{self.last_session.date()})")
        return self.sessions[i]

    def sessions_in_range(self, start, end) -> pd.DatetimeIndex:
        """The sessions from `start` to `end`, both included."""
        days = self.sessions
        return days[(days >= pd.Timestamp(start).normalize()) & (days <= pd.Timestamp(end).normalize())]


@lru_cache(maxsize=None)
def calendar(name: str = DEFAULT_CALENDAR) -> Sessions:
    """The sessions of exchange `name` (an exchange-calendars code such as "XHKG"), from the cache when it has them."""
    import io

    from incident.core.errors import IncidentError
    from incident.io.files import atomic_write, read_bytes

    path = _cache_path(name)
    if path is not None and path.exists():
        try:
            with np.load(io.BytesIO(read_bytes(path, CACHE_LIMIT, "calendar cache")), allow_pickle=False) as data:
                return Sessions(name, str(data["tz"]), data["sessions"], data["opens"], data["closes"])
        except (IncidentError, OSError, ValueError, KeyError):
            pass  # a damaged cache is built again
    built = _build(name)
    if path is not None:
        buf = io.BytesIO()
        np.savez(buf, tz=np.array(str(built.tz)), sessions=built.sessions.to_numpy(),
                 opens=built.opens.tz_localize(None).to_numpy(), closes=built.closes.tz_localize(None).to_numpy())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, buf.getvalue(), durable=False)
            for old in path.parent.glob(f"{name}-*.npz"):  # an earlier month's or version's
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # no cache where it cannot be written: the next command builds the calendar again
    return built


def _build(name: str) -> Sessions:
    # exchange-calendars 4.x still uses pandas APIs that pandas 3 deprecates;
    # the warnings are theirs to fix and would only bury ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import exchange_calendars as xc

        if name not in xc.get_calendar_names():
            raise ValueError(f"unknown exchange calendar {name!r} (an exchange-calendars code such as 'XHKG')")
        c = xc.get_calendar(name, start=first_day(xc.get_calendar(name)))
    def utc(times):
        return pd.DatetimeIndex(times).tz_convert("UTC").tz_localize(None)

    return Sessions(name, str(c.tz), c.sessions, utc(c.opens), utc(c.closes))


def first_day(cal) -> pd.Timestamp:
    """The first day the toolkit builds `cal` (an exchange_calendars calendar) from: EARLIEST, or a later bound_min."""
    bound = cal.bound_min()
    return EARLIEST if bound is None else max(EARLIEST, pd.Timestamp(bound))


def _cache_path(name: str) -> Path | None:
    """Where the calendar `name` is cached: $INCIDENT_CACHE_DIR or the user's cache folder; None if unsure."""
    import re
    from datetime import date
    from importlib.metadata import PackageNotFoundError, version

    from incident.io.cache import cache_folder

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
        return None
    try:
        release = version("exchange-calendars")
    except PackageNotFoundError:
        return None
    return cache_folder("calendars") / f"{name}-{release}-{CACHE_TAG}-{date.today():%Y-%m}.npz"


def as_calendar(cal: "str | Sessions") -> Sessions:
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
