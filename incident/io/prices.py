"""Daily price bars: read and validate a CSV, flag vendor artefacts, check gaps.

Two layouts are read: the project's (`date,open,high,low,close,volume`) and
the one Yahoo Finance users download (`Date,Open,High,Low,Close,Adj Close,
Volume`, with "null" rows on some holidays). A bad file raises one
`IncidentError` naming the file, the line (as an editor or spreadsheet numbers
it, header = 1) and what is wrong, like a bad incident file.

Bars a vendor got wrong but that parse fine (a flat bar with no volume, a high
below the close) are not errors: `artefacts` lists them so that the event
study can leave them out of its fit and say so.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pandas as pd

from incident.core.errors import IncidentError, Problem
from incident.core.model import Incident

COLUMNS = ["open", "high", "low", "close", "volume"]
PRICES = ["open", "high", "low", "close"]
REQUIRED = ["date", *COLUMNS]
LAYOUTS = "date,open,high,low,close,volume or Yahoo's Date,Open,High,Low,Close,Adj Close,Volume"
MAX_PROBLEMS = 20  # a broken export can have thousands of bad rows; the first ones tell the story
MAX_BYTES = 50_000_000  # a century of daily bars is ~3 MB; refuse anything absurd before reading it

# a session date, optionally at midnight with an offset (yfinance's to_csv)
_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?(?:[+-]\d{2}:?\d{2}|Z)?)?$")
_NUMBER_RE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # no nan, inf or 1_000
_NULLS = {"null", "NULL", "Null"}


def read_prices(path: str | Path, calendar: str | None = None) -> pd.DataFrame:
    """Daily bars of `path`, indexed by session date (`date`), all floats.

    Columns: open, high, low, close, volume, plus adj_close when the file
    has it. Yahoo's all-"null" holiday rows are dropped. With `calendar`
    (an exchange-calendars code such as "XHKG"), a bar dated on a day the
    exchange was closed is an error too; sessions without a bar are not
    (trading halts happen): see `check_gaps`.
    """
    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise IncidentError.single(file, "no such price file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise IncidentError.single(file, f"file is {size:,} bytes; the limit is {MAX_BYTES:,}")
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IncidentError.single(file, f"not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise IncidentError.single(file, f"cannot read file: {exc.strerror or exc}") from None
    lines = _rows(text, file)
    if not lines:
        raise IncidentError.single(file, f"the file is empty; expected a header line ({LAYOUTS})", line=1)
    header_line, header = lines[0]
    names, problems = _header(header, file, header_line)
    if problems:
        raise IncidentError(problems)
    if len(lines) == 1:
        raise IncidentError.single(file, "no price rows after the header", line=header_line)

    dates, values, where = [], [], []
    seen: dict[pd.Timestamp, int] = {}
    last: tuple[pd.Timestamp, int] | None = None
    for line, fields in lines[1:]:
        day, row, found = _row(fields, names, file, line)
        problems += found
        if day is None or row is None:  # unreadable date, or Yahoo's "null" holiday row
            continue
        if day in seen:
            problems.append(Problem(file, "date", f"duplicate date {day.date()} (also on line {seen[day]})", line))
            continue
        if last is not None and day < last[0]:
            problems.append(
                Problem(file, "date", f"dates out of order: {day.date()} comes after {last[0].date()} (line {last[1]})", line)
            )
        seen[day] = line
        last = (day, line)
        dates.append(day)
        values.append(row)
        where.append(line)
    if not problems and not dates:
        problems.append(Problem(file, "", "no price rows: every row is empty (null)", header_line))
    if calendar is not None and dates and not problems:
        problems += _closed_days(dates, where, calendar, file)
    if problems:
        raise IncidentError(_capped(problems, file))

    out_cols = COLUMNS + (["adj_close"] if "adj_close" in names else [])
    frame = pd.DataFrame(values, columns=[n for n in names if n != "date"], dtype=float)[out_cols]
    frame.index = pd.DatetimeIndex(dates, name="date").as_unit("ns")
    return frame


def artefacts(df: pd.DataFrame) -> pd.DataFrame:
    """Bars that parse but cannot be real trading days, with the reason.

    A flat bar (open = high = low = close) with no volume is a vendor's
    placeholder, not a traded price; a volume of 0 says nobody traded; a high
    below the open or close (or a low above them) means a field is wrong.
    The event study leaves every flagged bar out of its fit.
    """
    o, h, l, c, v = (df[k] for k in COLUMNS)
    rules = [
        ((o == h) & (h == l) & (l == c) & (v == 0), "open = high = low = close and volume 0: a placeholder, not a traded bar"),
        ((v == 0) & ~((o == h) & (h == l) & (l == c)), "volume 0: no trades that day"),
        (h < l, "high below the low"),
        (h < o, "high below the open"),
        (h < c, "high below the close"),
        (l > o, "low above the open"),
        (l > c, "low above the close"),
    ]
    hits = pd.DataFrame({text: mask for mask, text in rules}, index=df.index)
    flagged = hits.any(axis=1)
    out = df.loc[flagged, COLUMNS].copy()
    out["reason"] = ["; ".join(hits.columns[row]) for row in hits[flagged].to_numpy()]
    return out


def check_gaps(df: pd.DataFrame, calendar: str = "XHKG") -> pd.DataFrame:
    """Differences between the bars' dates and the exchange's sessions.

    One row per date from the first bar to the last that is a session without
    a bar ("missing session") or a bar on a closed day ("not a session").
    """
    from incident.io.calendars import sessions

    have = pd.DatetimeIndex(df.index).as_unit("ns")
    columns = ["date", "problem"]
    if len(have) == 0:
        return pd.DataFrame(columns=columns)
    expected = sessions(have[0], have[-1], calendar)
    missing = expected.difference(have)
    extra = have.difference(expected)
    rows = [(d, "missing session") for d in missing] + [(d, "not a session") for d in extra]
    out = pd.DataFrame(sorted(rows), columns=columns)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    return out


def market_prices(inc: Incident) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The incident's stock and benchmark bars, read from its `market` section.

    Paths are relative to the incident folder; both files are checked
    against the exchange calendar the section names.
    """
    file = str(inc.folder / "incident.yaml") if inc.folder is not None else "<incident>"
    if inc.market is None:
        raise IncidentError.single(file, "the incident has no market section", path="market")
    folder = inc.folder if inc.folder is not None else Path(".")
    calendar = inc.market.exchange
    from incident.io.calendars import calendar as get_calendar

    try:
        get_calendar(calendar)
    except ValueError as exc:
        raise IncidentError.single(file, str(exc), path="market.exchange") from None
    return (
        read_prices(_inside(folder, inc.market.prices, file, "market.prices"), calendar),
        read_prices(_inside(folder, inc.market.benchmark_prices, file, "market.benchmark_prices"), calendar),
    )


def _inside(folder: Path, relative: str, file: str, field: str) -> Path:
    """`folder / relative`, refused if it leads outside the folder (by '..', an absolute path or a link).

    The loader refuses '..' and absolute paths already; this also catches a
    symbolic link inside the folder that points elsewhere.
    """
    path = folder / relative
    if not path.resolve().is_relative_to(folder.resolve()):
        raise IncidentError.single(file, f"{relative!r} leads outside the incident folder; price files must be inside it",
                                   path=field)
    return path


# -- reading ------------------------------------------------------------------
def _rows(text: str, file: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) for every non-blank CSV row."""
    reader = csv.reader(io.StringIO(text))
    out, start = [], 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                out.append((start, [f.strip() for f in fields]))
            start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a field over csv's 128 kB limit: not a price file
        raise IncidentError.single(file, f"not a readable CSV file: {exc}", line=start) from None
    return out


def _header(fields: list[str], file: str, line: int) -> tuple[list[str], list[Problem]]:
    names = [re.sub(r"[\s_]+", "_", f.strip().lower()) for f in fields]
    problems = []
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(file, "header", f"column {name!r} appears more than once", line))
    for name in REQUIRED:
        if name not in names:
            problems.append(Problem(file, "header", f"missing column {name!r} (expected {LAYOUTS})", line))
    return names, problems


def _row(fields: list[str], names: list[str], file: str, line: int):
    """(date or None, values or None for a null row, problems) of one row.

    The date comes back even when a value is bad, so that the order of the
    dates is still checked.
    """
    if len(fields) != len(names):
        return None, None, [Problem(file, "", f"expected {len(names)} fields as in the header, found {len(fields)}", line)]
    cells = dict(zip(names, fields))
    problems = []
    m = _DATE_RE.match(cells["date"])
    day = None
    try:
        day = pd.Timestamp(m.group(1)) if m else None
    except ValueError:
        pass
    if day is None:
        problems.append(Problem(file, "date", f"{cells['date']!r} is not a date (write 2020-02-21)", line))
    value_names = [n for n in names if n != "date"]
    if all(cells[n] in _NULLS for n in value_names):
        return day, None, problems
    row = []
    for name in value_names:
        text = cells[name]
        if name not in REQUIRED and name != "adj_close":
            row.append(math.nan)  # an extra column we do not use
            continue
        if text == "" or text in _NULLS:
            problems.append(Problem(file, name, "missing value", line))
            continue
        value = float(text) if _NUMBER_RE.fullmatch(text) else None
        if value is None or not math.isfinite(value):
            problems.append(Problem(file, name, f"{text!r} is not a number", line))
            continue
        if name in PRICES or name == "adj_close":
            if value <= 0:
                problems.append(Problem(file, name, f"{text} is not a positive price", line))
        elif name == "volume" and value < 0:
            problems.append(Problem(file, name, f"{text} is a negative volume", line))
        row.append(value)
    return day, row, problems


def _closed_days(dates: list[pd.Timestamp], lines: list[int], calendar: str, file: str) -> list[Problem]:
    from incident.io.calendars import sessions

    open_days = set(sessions(dates[0], dates[-1], calendar))
    return [
        Problem(file, "date", f"{d.date()} is not a {calendar} session (the exchange was closed)", line)
        for d, line in zip(dates, lines)
        if d not in open_days
    ]


def _capped(problems: list[Problem], file: str) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return problems[:MAX_PROBLEMS] + [Problem(file, "", f"... and {rest} more problems")]
