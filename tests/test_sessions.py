"""Moments to HKEX sessions: weekends, Lunar New Year, the close, day 0."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import pytest

from incident.market.sessions import day_zero, relative_day, session_of, session_rule, session_table, sessions

T = pd.Timestamp
HK = "XHKG"  # these are Hong Kong cases; the library's default calendar is XNYS (as the CLI's)


def test_lunar_new_year_2020_is_not_sessions():
    days = sessions("2020-01-22", "2020-01-30", "XHKG")
    assert [d.date().isoformat() for d in days] == ["2020-01-22", "2020-01-23", "2020-01-24", "2020-01-29", "2020-01-30"]
    for closed in ("2020-01-25", "2020-01-26", "2020-01-27", "2020-01-28"):
        assert session_of(closed, HK) == T("2020-01-29")
        assert session_rule(closed, HK) == "by date; closed day"


def test_lunar_new_year_eve_is_a_half_day():
    # the exchange closed at 12:00 on 2020-01-24: 11:59 is that session, 12:00 the next one after the holiday
    assert session_of("2020-01-24 11:59", HK) == T("2020-01-24")
    assert session_of("2020-01-24 12:00", HK) == T("2020-01-29")
    assert session_rule("2020-01-24 13:00", HK) == "after the close"


def test_relative_days_skip_the_holiday():
    assert relative_day("2020-01-29", "2020-01-24", HK) == 1
    assert relative_day("2020-01-24", "2020-01-29", HK) == -1


def test_weekend_evening_start_maps_to_monday(weimob):
    # Sunday 2020-02-23 19:00 Beijing time
    assert session_of(weimob.when("services-fail"), HK) == T("2020-02-24")
    assert session_rule(weimob.when("services-fail"), HK) == "closed day"
    assert day_zero(weimob) == T("2020-02-24")


def test_sunday_evening_recovery_maps_to_monday(weimob):
    # the 2020-03-01 20:00 recovery, a Sunday evening
    assert session_of(weimob.when("data-recovered"), HK) == T("2020-03-02")
    assert relative_day(session_of(weimob.when("data-recovered"), HK), day_zero(weimob), HK) == 5


@pytest.mark.parametrize(
    "text, session, rule",
    [
        ("2020-03-02 08:00", "2020-03-02", "before the open"),
        ("2020-03-02 09:30", "2020-03-02", "during the session"),
        ("2020-03-02 15:59", "2020-03-02", "during the session"),
        ("2020-03-02 16:00", "2020-03-03", "after the close"),
        ("2020-03-02 22:00", "2020-03-03", "after the close"),
        ("2020-02-21 16:05", "2020-02-24", "after the close"),  # Friday after the close → Monday
        ("2020-03-02", "2020-03-02", "by date"),
    ],
)
def test_the_close_rule(text, session, rule):
    assert session_of(text, HK) == T(session)
    assert session_rule(text, HK) == rule


def test_times_in_other_zones_are_converted():
    # 08:30 UTC is 16:30 in Hong Kong: after the close
    assert session_of(datetime(2020, 3, 2, 8, 30, tzinfo=timezone.utc), HK) == T("2020-03-03")
    assert session_of("2020-03-02T07:59Z", HK) == T("2020-03-02")
    assert session_of(date(2020, 2, 23), HK) == T("2020-02-24")


def test_every_milestone_has_its_session(weimob):
    table = session_table(weimob)
    assert set(table.columns) >= {"id", "session", "day", "rule"}
    got = {r.id: (r.session.date().isoformat(), r.day) for r in table.itertuples()}
    assert got == {
        "deletion": ("2020-02-24", 0),
        "monitoring-detects": ("2020-02-24", 0),  # Sunday 02-23 (S3: "Sunday night"): the next session
        "estimate-new-users": ("2020-02-26", 2),
        "estimate-old-users-data": ("2020-03-02", 5),
        "services-fail": ("2020-02-24", 0),
        "cause-found": ("2020-02-24", 0),
        "hkex-announcement": ("2020-02-25", 1),
        "new-users-back": ("2020-02-25", 1),
        "login-reopened": ("2020-02-28", 4),
        "data-recovered": ("2020-03-02", 5),
        "compensation-announced": ("2020-03-02", 5),
        "stock-up": ("2020-03-02", 5),
        "migration-start": ("2020-03-03", 6),
        "data-online": ("2020-03-03", 6),
        "s1-published": ("2020-03-03", 6),
    }


def test_one_default_calendar():
    from incident.io import calendars
    from incident.market import sessions as module

    assert calendars.DEFAULT_CALENDAR == module.DEFAULT_CALENDAR == "XNYS"
    assert session_of("2021-07-05") == T("2021-07-06")  # Independence Day observed: closed in New York only
    assert session_of("2021-07-05", HK) == T("2021-07-05")


def test_unknown_calendar_and_out_of_range():
    with pytest.raises(ValueError, match="unknown exchange calendar"):
        sessions("2020-01-01", "2020-02-01", "NOPE")
    with pytest.raises(ValueError, match="outside the XHKG calendar"):
        session_of("1950-01-03", HK)


# -- XNYS: the NYSE close, early closes, holidays --------------------------------------------
@pytest.mark.parametrize(
    "text, session, rule",
    [
        ("2017-09-07T16:00-04:00", "2017-09-08", "after the close"),  # Equifax: disclosed after the close
        ("2017-09-07T15:59-04:00", "2017-09-07", "during the session"),
        ("2024-07-19T04:09Z", "2024-07-19", "before the open"),  # CrowdStrike: 00:09 in New York
        ("2021-10-04T15:40Z", "2021-10-04", "during the session"),  # Facebook: 11:40 in New York
        ("2021-11-26T13:30-05:00", "2021-11-29", "after the close"),  # the day after Thanksgiving closes at 13:00
        ("2021-11-25T10:00-05:00", "2021-11-26", "closed day"),  # Thanksgiving
        ("2022-04-15", "2022-04-18", "by date; closed day"),  # Good Friday
        ("2021-06-04T16:05-04:00", "2021-06-07", "after the close"),  # Friday evening → Monday
    ],
)
def test_the_close_rule_on_xnys(text, session, rule):
    assert session_of(text, "XNYS") == T(session)
    assert session_rule(text, "XNYS") == rule


# -- the calendar's cache ------------------------------------------------------------
def test_cached_calendar_is_the_one_exchange_calendars_builds(tmp_path, monkeypatch):
    import exchange_calendars as xc

    from incident.io import calendars

    monkeypatch.setenv("INCIDENT_CACHE_DIR", str(tmp_path))
    calendars.calendar.cache_clear()
    built = calendars.calendar("XHKG")  # built, then written to the cache
    (cached_file,) = (tmp_path / "calendars").iterdir()
    calendars.calendar.cache_clear()
    cached = calendars.calendar("XHKG")  # read back
    calendars.calendar.cache_clear()
    reference = xc.get_calendar("XHKG", start=calendars.EARLIEST)  # from 1970: the rule-based holidays' first year
    for c in (built, cached):
        assert c.sessions.equals(pd.DatetimeIndex(reference.sessions, freq=None))
        assert c.opens.equals(pd.DatetimeIndex(reference.opens, freq=None).as_unit("ns"))
        assert c.closes.equals(pd.DatetimeIndex(reference.closes, freq=None).as_unit("ns"))
        assert str(c.tz) == str(reference.tz) == "Asia/Hong_Kong"
        for day in ["2020-02-22", "2020-02-24", "2020-04-10", "2020-12-24"]:  # weekend, session, Good Friday, half day
            assert c.is_session(day) == reference.is_session(day)
            assert c.date_to_session(day, "next") == reference.date_to_session(day, "next")
            assert c.date_to_session(day, "previous") == reference.date_to_session(day, "previous")
        assert c.session_close("2020-12-24") == reference.session_close("2020-12-24")  # closes at noon
        assert c.next_session("2020-02-28") == reference.next_session("2020-02-28")
        assert c.sessions_in_range("2020-02-21", "2020-03-03").equals(
            pd.DatetimeIndex(reference.sessions_in_range("2020-02-21", "2020-03-03"), freq=None))
    assert cached_file.name.startswith("XHKG-") and cached_file.suffix == ".npz"


def test_damaged_or_unwritable_calendar_cache_is_built_again(tmp_path, monkeypatch):
    from incident.io import calendars

    monkeypatch.setenv("INCIDENT_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "calendars" / "XHKG-4.0.0-2020-01.npz"  # an older version's, replaced when one is built
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    calendars.calendar.cache_clear()
    c = calendars.calendar("XHKG")
    (cached_file,) = (tmp_path / "calendars").iterdir()
    assert cached_file != stale
    with pytest.raises(ValueError, match="has no next session in the XHKG calendar"):
        c.next_session(c.last_session)
    with pytest.raises(ValueError, match="has no previous session"):
        c.date_to_session("1969-12-31", "previous")  # the calendar starts in 1970 (calendars.EARLIEST)
    cached_file.write_bytes(b"not a calendar")
    calendars.calendar.cache_clear()
    assert calendars.calendar("XHKG").is_session("2020-02-24")
    assert cached_file.read_bytes()[:2] == b"PK"  # written again, whole
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("INCIDENT_CACHE_DIR", str(blocker))  # the cache folder cannot be made
    calendars.calendar.cache_clear()
    assert calendars.calendar("XHKG").is_session("2020-02-24")
    calendars.calendar.cache_clear()
