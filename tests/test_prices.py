"""Price files: both layouts, validation with file and line, artefacts, gaps."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import ROOT, WEIMOB
from incident import IncidentError
from incident.io.prices import artefacts, check_gaps, market_prices, read_prices

STOCK = WEIMOB / "prices" / "weimob-2013hk-daily-2019-2020.csv"
HSI = WEIMOB / "prices" / "hang-seng-index-daily-2019-2020.csv"
HEADER = "date,open,high,low,close,volume\n"


@pytest.fixture(scope="module")
def stock():
    return read_prices(STOCK)


@pytest.fixture(scope="module")
def hsi():
    return read_prices(HSI)


def write(tmp_path, text, name="bars.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path, **kwargs):
    with pytest.raises(IncidentError) as exc:
        read_prices(path, **kwargs)
    return exc.value.problems


# -- the shipped files ----------------------------------------------------------
def rows_in(name: str) -> int:
    """Data rows of a shipped price file, counted as text (an oracle independent of the reader)."""
    lines = (ROOT / "data" / "weimob-2020" / "prices" / name).read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines[1:] if line.strip())


def test_shipped_stock_file(stock):
    assert list(stock.columns) == ["open", "high", "low", "close", "volume"]
    assert stock.index.name == "date" and stock.index.tz is None
    assert stock.index.dtype == "datetime64[ns]"
    assert all(dtype == float for dtype in stock.dtypes)
    assert len(stock) == rows_in("weimob-2013hk-daily-2019-2020.csv") == 485  # as the data's README lists
    assert stock.index[0] == pd.Timestamp("2019-01-15")  # listing day
    bar = stock.loc["2020-02-21"]
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (6.09, 6.51, 5.94, 6.18)
    assert stock.at[pd.Timestamp("2020-03-02"), "close"] == 5.39


def test_shipped_index_file(hsi):
    assert len(hsi) == rows_in("hang-seng-index-daily-2019-2020.csv") == 494
    assert hsi.at[pd.Timestamp("2020-02-28"), "close"] == 26129.93


def test_shipped_files_match_the_hkex_calendar(stock, hsi):
    for df in (stock, hsi):
        assert check_gaps(df, "XHKG").empty
    # Lunar New Year 2020: no bars on the Monday and Tuesday the exchange was closed
    assert not hsi.index.isin(pd.to_datetime(["2020-01-27", "2020-01-28"])).any()


def test_market_prices_reads_both_series_of_the_incident(weimob):
    stock, bench = market_prices(weimob)
    assert len(stock) == 485 and len(bench) == 494


# -- artefacts ------------------------------------------------------------------
def test_hsi_placeholder_bars_are_flagged(hsi):
    flagged = artefacts(hsi)
    assert list(flagged.index) == [pd.Timestamp("2019-12-18"), pd.Timestamp("2020-03-23")]
    assert (flagged["volume"] == 0).all()
    assert flagged["reason"].str.contains("open = high = low = close and volume 0").all()


def test_stock_artefacts(stock):
    flagged = artefacts(stock)
    assert [d.date().isoformat() for d in flagged.index] == ["2019-09-19", "2020-12-24", "2020-12-31"]
    # 2019-09-19 opens at 4.15 above its high of 4.14
    assert flagged.at[pd.Timestamp("2019-09-19"), "reason"] == "high below the open"


def test_artefact_rules_on_a_small_frame():
    df = pd.DataFrame(
        {"open": [1.0, 2.0, 3.0, 1.0], "high": [1.1, 2.0, 2.9, 1.2], "low": [0.9, 2.0, 2.8, 1.0],
         "close": [1.0, 2.0, 2.9, 1.1], "volume": [10.0, 0.0, 5.0, 0.0]},
        index=pd.DatetimeIndex(pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"]), name="date"),
    )
    flagged = artefacts(df)
    assert list(flagged["reason"]) == [
        "open = high = low = close and volume 0: open, high, low and volume are placeholders",
        "high below the open",
        "volume 0: no trades that day",
    ]


# -- gaps -------------------------------------------------------------------------
def test_check_gaps_finds_a_missing_session_and_a_closed_day(stock):
    df = stock.loc["2020-01-20":"2020-02-07"].drop(pd.Timestamp("2020-01-29"))
    df.loc[pd.Timestamp("2020-01-27")] = df.iloc[0]  # a bar on a Lunar New Year holiday
    df = df.sort_index()
    gaps = check_gaps(df, "XHKG")
    assert gaps.to_dict("records") == [
        {"date": pd.Timestamp("2020-01-27"), "problem": "not a session"},
        {"date": pd.Timestamp("2020-01-29"), "problem": "missing session"},
    ]


def test_a_bar_on_a_closed_day_is_an_error_with_the_calendar(tmp_path):
    path = write(tmp_path, HEADER + "2020-01-24,1,1,1,1,5\n2020-01-27,1,1,1,1,5\n2020-01-29,1,1,1,1,5\n")
    (p,) = problems(path, calendar="XHKG")
    assert p.file == str(path) and p.line == 3
    assert "2020-01-27 is not a XHKG session" in p.message
    assert len(read_prices(path)) == 3  # without a calendar the file itself is fine


# -- Yahoo Finance layout -----------------------------------------------------------
YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2020-02-20,5.800000,6.090000,5.750000,6.090000,6.090000,101498442
2020-02-21,6.090000,6.510000,5.940000,6.180000,6.180000,93122500
2020-02-22,null,null,null,null,null,null
2020-02-24,6.180000,6.310000,5.900000,5.930000,5.930000,64845366
"""


def test_yahoo_layout_with_a_null_row(tmp_path):
    df = read_prices(write(tmp_path, YAHOO), calendar="XHKG")
    assert list(df.columns) == ["open", "high", "low", "close", "volume", "adj_close"]
    assert [d.date().isoformat() for d in df.index] == ["2020-02-20", "2020-02-21", "2020-02-24"]
    assert df.at[pd.Timestamp("2020-02-21"), "close"] == 6.18


def test_yahoo_partial_null_is_an_error(tmp_path):
    text = YAHOO.replace("2020-02-24,6.180000", "2020-02-24,null")
    (p,) = problems(write(tmp_path, text))
    assert (p.line, p.path, p.message) == (5, "open", "missing value")


def test_byte_order_mark_and_crlf_are_read(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + YAHOO).replace("\n", "\r\n").encode("utf-8"))
    assert len(read_prices(path)) == 3


# -- bad files: each problem names the file and the line ----------------------------------
GOOD_ROWS = ["2020-02-20,5.80,6.09,5.75,6.09,101498442", "2020-02-21,6.09,6.51,5.94,6.18,93122500",
             "2020-02-24,6.18,6.31,5.90,5.93,64845366"]


@pytest.mark.parametrize(
    "rows, line, needle",
    [
        ([GOOD_ROWS[1], GOOD_ROWS[0], GOOD_ROWS[2]], 3, "dates out of order: 2020-02-20 comes after 2020-02-21"),
        ([GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1]], 4, "duplicate date 2020-02-21 (also on line 3)"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,-6.18,93122500"], 3, "-6.18 is not a positive price"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,0,93122500"], 3, "0 is not a positive price"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,six,93122500"], 3, "'six' is not a number"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,nan,93122500"], 3, "'nan' is not a number"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,6.18,-5"], 3, "-5 is a negative volume"),
        ([GOOD_ROWS[0], "21/02/2020,6.09,6.51,5.94,6.18,93122500"], 3, "'21/02/2020' is not a date"),
        ([GOOD_ROWS[0], "2020-02-30,6.09,6.51,5.94,6.18,93122500"], 3, "'2020-02-30' is not a date"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,5.94,6.18"], 3, "expected 6 fields as in the header, found 5"),
        ([GOOD_ROWS[0], "2020-02-21,6.09,6.51,,6.18,93122500"], 3, "missing value"),
    ],
    ids=["unsorted", "duplicate", "negative", "zero", "non-numeric", "nan", "negative-volume", "bad-date",
         "impossible-date", "short-row", "empty-cell"],
)
def test_bad_rows(tmp_path, rows, line, needle):
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    found = problems(path)
    assert len(found) == 1, found
    (p,) = found
    assert p.file == str(path)
    assert p.line == line
    assert needle in p.message
    assert str(p).startswith(f"{path}:{line}:")


def test_missing_column(tmp_path):
    path = write(tmp_path, "date,open,high,low,volume\n2020-02-21,6.09,6.51,5.94,93122500\n")
    (p,) = problems(path)
    assert (p.file, p.line, p.path) == (str(path), 1, "header")
    assert "missing column 'close'" in p.message


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    (p,) = problems(path)
    assert (p.file, p.line) == (str(path), 1)
    assert "the file is empty" in p.message


def test_header_only(tmp_path):
    path = write(tmp_path, HEADER)
    (p,) = problems(path)
    assert (p.line, p.message) == (1, "no price rows after the header")


def test_every_problem_is_reported_and_lines_count_blank_lines(tmp_path):
    text = HEADER + GOOD_ROWS[0] + "\n\n" + "2020-02-21,6.09,x,5.94,-1,93122500\n"
    found = problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in found] == [(4, "high"), (4, "close")]


def test_many_bad_rows_are_capped(tmp_path):
    rows = [f"2020-01-{d:02d},x,1,1,1,1" for d in range(1, 31)]
    found = problems(write(tmp_path, HEADER + "\n".join(rows)))
    assert len(found) == 21 and found[-1].message == "... and 10 more problems"


def test_missing_file(tmp_path):
    (p,) = problems(tmp_path / "nope.csv")
    assert p.message == "no such price file"


def test_order_is_checked_past_a_row_with_a_bad_value(tmp_path):
    text = HEADER + "2020-02-21,6.09,6.51,5.94,x,93122500\n" + GOOD_ROWS[0] + "\n"
    found = problems(write(tmp_path, text))
    assert [(p.line, p.path) for p in found] == [(2, "close"), (3, "date")]


# -- the command line -------------------------------------------------------------
def test_cli_prices_lists_flagged_bars():
    from conftest import run_cli

    done = run_cli("prices", HSI, "--calendar", "XHKG")
    assert done.returncode == 0, done.stderr
    assert "494 bars" in done.stdout and "flagged 2020-03-23: open = high = low = close" in done.stdout


def test_cli_bad_price_file_in_an_incident_exits_2(tmp_path):
    import shutil

    from conftest import run_cli

    case = tmp_path / "case"
    shutil.copytree(WEIMOB, case)
    bad = case / "prices" / STOCK.name
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[11] = lines[11].rsplit(",", 2)[0] + ",oops," + lines[11].rsplit(",", 1)[1]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli("summary", "--json", case)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}:12: close: 'oops' is not a number"


# -- adjusted closes alone (Date,Close) ---------------------------------------------------
def test_date_close_layout(tmp_path):
    path = write(tmp_path, "Date,Close\n2021-10-01,343.01\n2021-10-04,326.23\n2021-10-05,332.96\n")
    df = read_prices(path, calendar="XNYS")
    assert list(df.columns) == ["close"] and df.index.dtype == "datetime64[ns]"
    assert df.at[pd.Timestamp("2021-10-04"), "close"] == 326.23
    assert artefacts(df).empty  # nothing to check without open, high, low and volume


def test_date_close_bad_rows_name_line_and_column(tmp_path):
    path = write(tmp_path, "Date,Close\n2021-10-01,343.01\n2021-10-04,-1\n2021-10-05,x\n")
    found = problems(path)
    assert [(p.line, p.path) for p in found] == [(3, "close"), (4, "close")]
    assert "-1 is not a positive price" in found[0].message


def test_shipped_date_close_files_of_the_us_events():
    from conftest import ROOT

    for folder in ("equifax-2017", "facebook-2021"):
        for path in (ROOT / "data" / folder / "prices").glob("*.csv"):
            df = read_prices(path, calendar="XNYS")
            assert list(df.columns) == ["close"] and len(df) > 300


def test_a_date_in_3000_is_outside_the_calendar_not_a_closed_day(tmp_path):
    path = write(tmp_path, "Date,Close\n2021-10-01,343.01\n3000-01-02,1\n")
    (p,) = problems(path, calendar="XNYS")
    assert (p.line, p.path) == (3, "date")
    assert "3000-01-02 is outside the XNYS calendar" in p.message and "closed" not in p.message
    (p,) = problems(path)  # without a calendar: outside what a price file may hold
    assert "3000-01-02 is outside the years" in p.message


def test_a_pipe_is_refused_unread(tmp_path):
    import os

    fifo = tmp_path / "prices.csv"
    os.mkfifo(fifo)
    (p,) = problems(fifo)
    assert "not a regular file" in p.message


# -- big files: checked column by column, problems capped (timings: benchmarks/market.py) --------
def big_file(tmp_path, rows: int, bad_every: int | None = None):
    days = pd.date_range("1700-01-01", periods=min(rows, 200_000), unit="s").strftime("%Y-%m-%d")
    days = list(days) + [f"{2247 + i // 366:04d}-01-01" for i in range(rows - len(days))]  # dates past 2261, unsorted
    close = [f"{100 + (i % 97) / 10:.4f}" for i in range(rows)]
    if bad_every:
        close[::bad_every] = ["n/a"] * len(close[::bad_every])
    path = tmp_path / "big.csv"
    path.write_text("Date,Close\n" + "".join(f"{d},{c}\n" for d, c in zip(days, close)), encoding="utf-8")
    return path


def test_a_big_file_is_read_right(tmp_path):
    path = big_file(tmp_path, 200_000)  # 1700 to 2247, every calendar day
    df = read_prices(path)
    assert len(df) == 200_000
    assert df.index[-1] == pd.Timestamp("1700-01-01") + pd.Timedelta(days=199_999)
    assert df["close"].iloc[1] == 100.1


def test_a_big_bad_file_is_refused_with_capped_problems(tmp_path):
    path = big_file(tmp_path, 1_000_000, bad_every=7)  # ~17 MB, a bad close every 7th row, dates past 2261
    found = problems(path)
    assert len(found) == 21
    assert [p.line for p in found[:3]] == [2, 9, 16]
    assert found[0].path == "close" and found[0].message == "'n/a' is not a number"
    assert str(found[0]).startswith(f"{path}:2: close:")
    bad_in_first_piece = len(range(0, 200_000, 7))  # reading stops after the first piece of rows with problems
    assert found[-1].message == f"... and more problems (reading stopped after {bad_in_first_piece:,})"
