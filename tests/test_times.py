"""Times: spans are elapsed time (UTC), and local times a DST change skips or repeats are refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.core.times import MAX_YEAR, MIN_YEAR, parse_when, span_hours, zone

NEW_YORK = zone("America/New_York")
ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo",
         "Asia/Shanghai", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Etc/UTC", "Africa/Casablanca"]


def test_span_across_the_spring_change_is_elapsed_time():
    impact = parse_when("2024-03-09 23:00", NEW_YORK)
    recovery = parse_when("2024-03-10 04:00", NEW_YORK)
    assert span_hours(impact, recovery) == (4.0, 4.0)  # wall clock says 5


def test_span_across_the_autumn_change_is_elapsed_time():
    assert span_hours(parse_when("2024-11-02 23:00", NEW_YORK), parse_when("2024-11-03 04:00", NEW_YORK)) == (6.0, 6.0)


def test_a_day_with_a_change_is_23_or_25_hours_long():
    assert span_hours(parse_when("2024-03-10", NEW_YORK), parse_when("2024-03-10", NEW_YORK)) == (0.0, 23.0)
    assert span_hours(parse_when("2024-11-03", NEW_YORK), parse_when("2024-11-03", NEW_YORK)) == (0.0, 25.0)


def test_a_skipped_local_time_is_refused():
    with pytest.raises(ValueError, match="does not exist in America/New_York"):
        parse_when("2024-03-10 02:30", NEW_YORK)


def test_a_repeated_local_time_needs_its_offset():
    with pytest.raises(ValueError, match=r"happened twice .* \(-04:00 or -05:00\)"):
        parse_when("2024-11-03 01:30", NEW_YORK)
    first, second = parse_when("2024-11-03 01:30-04:00", NEW_YORK), parse_when("2024-11-03 01:30-05:00", NEW_YORK)
    assert span_hours(first, second) == (1.0, 1.0)


def test_a_day_whose_midnight_is_skipped_starts_when_the_day_does():
    sao_paulo = zone("America/Sao_Paulo")  # 2018-11-04: clocks jumped from 00:00 to 01:00
    day = parse_when("2018-11-04", sao_paulo)
    assert day.earliest.hour == 1 and span_hours(day, day) == (0.0, 23.0)


@pytest.mark.parametrize("text", ["0001-01-01", "1699-12-31", "2201-01-01", "9999-12-31 23:59"])
def test_years_no_table_or_figure_can_hold_are_refused(text):
    with pytest.raises(ValueError, match=f"years {MIN_YEAR} to {MAX_YEAR}"):
        parse_when(text, NEW_YORK)


def test_a_newline_after_a_time_is_not_a_time_with_a_hidden_tail():
    with pytest.raises(ValueError):
        parse_when("2024-03-10\nrm -rf /", NEW_YORK)


def test_a_long_text_is_not_echoed_whole():
    with pytest.raises(ValueError) as info:
        parse_when("2024-" + "9" * 5_000_000, NEW_YORK)
    assert len(str(info.value)) < 200


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(ZONES),
    start=st.datetimes(datetime(1970, 1, 1), datetime(2037, 12, 31)),
    minutes=st.integers(0, 60 * 24 * 400),
)
def test_span_is_the_utc_difference(name, start, minutes):
    """For any zone and any two local times that exist once, the span is their UTC difference."""
    tz = zone(name)
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    texts = [t.strftime("%Y-%m-%d %H:%M") for t in (start, end)]
    try:
        a, b = (parse_when(t, tz) for t in texts)
    except ValueError as exc:  # skipped or repeated: refused, and only then
        assert "does not exist" in str(exc) or "happened twice" in str(exc)
        local = [datetime.strptime(t, "%Y-%m-%d %H:%M") for t in texts]
        assert any(d.replace(tzinfo=tz, fold=0).utcoffset() != d.replace(tzinfo=tz, fold=1).utcoffset()
                   for d in local)
        return
    utc = [t.astimezone(timezone.utc) for t in (a.earliest, b.earliest)]
    hours = (utc[1] - utc[0]).total_seconds() / 3600
    lo, hi = span_hours(a, b)
    assert hi == pytest.approx(hours) and lo == pytest.approx(max(hours, 0.0))
    assert a.earliest.replace(tzinfo=None) == start  # the wall time written is the wall time kept
