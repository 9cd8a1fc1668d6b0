"""A vendor's full price history (decades before the event) is read and studied like a trimmed one.

Real data: Equifax's full Yahoo history from 1980 and SPY's from 1993
(data/market-returns/, provenance in its README), against the trimmed copies
of the same files in data/equifax-2017/prices/.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from test_prices import problems, write
from incident.cli import main
from incident.io import calendars
from incident.io.prices import check_gaps, read_prices
from incident.market.eventstudy import event_study
from incident.market.reaction import price_sessions
from incident.market.sessions import study_dates

FULL = ROOT / "data" / "market-returns"
TRIMMED = ROOT / "data" / "equifax-2017" / "prices"
DAY0 = "2017-09-08"  # Equifax's disclosure came after the close of 2017-09-07 (data/equifax-2017)


def rows_of(path):
    """The file's (date, close) rows, read with the csv module, apart from the reader under test."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["Date"], float(r["Close"])) for r in csv.DictReader(f)]



# -- the full history is read whole ---------------------------------------------------------------
def test_full_equifax_history_reads_against_xnys():
    rows = rows_of(FULL / "EFX.csv")
    xnys = calendars.calendar("XNYS")
    assert pd.Timestamp(rows[0][0]).year < 1990  # decades before the event (the calendar once began in 1990)
    bars = read_prices(FULL / "EFX.csv", calendar="XNYS")
    assert len(bars) == len(rows)
    assert bars.index[0] == pd.Timestamp(rows[0][0]) and bars.index[-1] == pd.Timestamp(rows[-1][0])
    assert np.array_equal(bars["close"].to_numpy(), np.array([c for _, c in rows]))
    # the calendar reaches back past the file's first bar: every bar was checked, and is a session
    assert xnys.first_session <= bars.index[0] and bars.index.isin(xnys.sessions).all()


def test_full_and_trimmed_files_give_the_same_event_study(capsys):
    results = []
    for folder in (FULL, TRIMMED):
        assert main(["event-study", str(folder / "EFX.csv"), str(folder / "SPY.csv"), "--day0", DAY0, "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    full, trimmed = results
    assert full["estimation"] == trimmed["estimation"] and full["n"] == trimmed["n"]
    for key in ("alpha", "beta", "sigma"):
        assert full[key] == pytest.approx(trimmed[key], rel=1e-12)
    assert list(full["windows"]) == list(trimmed["windows"])
    for w, stats in trimmed["windows"].items():
        for key, value in stats.items():
            assert full["windows"][w][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (w, key)


def test_full_history_text_output(capsys):
    assert main(["event-study", str(FULL / "EFX.csv"), str(FULL / "SPY.csv"), "--day0", DAY0]) == 0
    out, err = capsys.readouterr()
    assert err == "" and f"day 0 {DAY0} (XNYS)" in out


# -- dates before the calendar: data, not refused ---------------------------------------------------
def test_a_closed_day_before_the_calendar_is_kept_unchecked(tmp_path):
    saturday_1965 = "1965-06-05"  # before the XNYS calendar's first session, so the calendar cannot say
    assert pd.Timestamp(saturday_1965).day_name() == "Saturday"
    path = write(tmp_path, f"Date,Close\n{saturday_1965},1.5\n2021-10-01,343.01\n2021-10-04,326.23\n")
    bars = read_prices(path, calendar="XNYS")
    assert list(bars.index.strftime("%Y-%m-%d")) == [saturday_1965, "2021-10-01", "2021-10-04"]
    assert check_gaps(bars, "XNYS").empty  # nor listed as a bar on a closed day
    gap = bars.rename(index={pd.Timestamp("2021-10-04"): pd.Timestamp("2021-10-05")})
    assert check_gaps(gap, "XNYS").values.tolist() == [[pd.Timestamp("2021-10-04"), "missing session"]]


def test_a_closed_day_inside_the_calendar_is_still_refused(tmp_path):
    path = write(tmp_path, "Date,Close\n2021-10-01,343.01\n2021-10-02,326.23\n")  # a Saturday
    (p,) = problems(path, calendar="XNYS")
    assert (p.line, p.path) == (3, "date") and "2021-10-02 is not a XNYS session" in p.message


def test_early_rows_are_still_checked_for_format_order_and_values(tmp_path):
    cases = {
        "Date,Close\n1965-06-05,-1\n2021-10-01,343.01\n": ("close", "is not a positive price"),
        "Date,Close\n1965-06-05,1\n1965-06-04,1\n2021-10-01,343.01\n": ("date", "dates out of order"),
        "Date,Close\n1965-13-05,1\n2021-10-01,343.01\n": ("date", "is not a date"),
        "Date,Close\n1600-01-03,1\n2021-10-01,343.01\n": ("date", "outside the years a price file may cover"),
    }
    for text, (column, words) in cases.items():
        (p,) = problems(write(tmp_path, text), calendar="XNYS")
        assert p.path == column and words in p.message, text


# -- only the sessions a study uses ------------------------------------------------------------------
def test_check_between_limits_the_calendar_check_to_a_study(tmp_path):
    text = "Date,Close\n2021-10-01,343.01\n2021-10-02,1\n2021-10-04,326.23\n2021-10-05,330\n"  # 10-02: Saturday
    path = write(tmp_path, text)
    assert problems(path, calendar="XNYS")  # the whole file checked: refused
    bars = read_prices(path, calendar="XNYS", check_between=("2021-10-04", "2021-10-05"))
    assert len(bars) == 4  # outside the study's dates the bar is data
    (p,) = problems(path, calendar="XNYS", check_between=("2021-10-01", "2021-10-05"))
    assert p.line == 3 and "not a XNYS session" in p.message


def test_study_dates_are_the_bars_the_event_study_uses():
    stock, bench = (read_prices(TRIMMED / f, calendar="XNYS") for f in ("EFX.csv", "SPY.csv"))
    result = event_study(stock["close"], bench["close"], DAY0, windows=[(0, 4)],
                         sessions=price_sessions(stock, bench, "XNYS"))
    first, last = study_dates(DAY0, result.estimation[0], 4, "XNYS")
    sessions = calendars.calendar("XNYS").sessions
    # the close before the first estimation return, and the last day of the window
    assert first == sessions[sessions.get_loc(result.estimation_dates[0]) - 1]
    assert last == result.car.at["0..4", "last"]
    # bars outside those dates change nothing: the study on the bars between them is the same
    inside = (stock.index >= first) & (stock.index <= last)
    again = event_study(stock.loc[inside, "close"], bench.loc[inside, "close"], DAY0, windows=[(0, 4)],
                        sessions=price_sessions(stock[inside], bench[inside], "XNYS"))
    assert again.car.at["0..4", "car"] == pytest.approx(result.car.at["0..4", "car"], rel=1e-12)
    with pytest.raises(ValueError, match="after event day"):
        study_dates(DAY0, 5, 4, "XNYS")


# -- how far back the calendars go ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["XNYS", "XHKG"])
def test_the_calendar_starts_where_all_its_holidays_are_known(name):
    """From its first session on, no New Year's Day or Christmas Day on a weekday is a session.

    exchange-calendars would build XNYS from any year and XHKG from 1960, but
    its rule-based holidays start in 1970 (pandas' AbstractHolidayCalendar):
    New Year's Day 1962 would be an XNYS session.
    """
    import warnings

    import exchange_calendars as xc

    c = calendars.calendar(name)
    assert c.first_session.year == calendars.EARLIEST.year
    holidays = pd.DatetimeIndex([f"{y}-{md}" for y in range(c.first_session.year, c.last_session.year)
                                 for md in ("01-01", "12-25")])
    weekday = holidays[holidays.day_of_week < 5]
    assert len(weekday) > 30 and not weekday.isin(c.sessions).any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        older = xc.get_calendar(name, start="1960-01-04")
    assert older.is_session("1962-01-01")  # why the toolkit does not start earlier
