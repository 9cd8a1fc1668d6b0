"""Daily price bars: read and validate a CSV, flag vendor artefacts, check gaps.

Three layouts are read: the project's (`date,open,high,low,close,volume`),
the one Yahoo Finance users download (`Date,Open,High,Low,Close,Adj Close,
Volume`, with "null" rows on some holidays), and adjusted closes alone
(`Date,Close`, as vendors and research data sets give them). A bad file
raises one `IncidentError` naming the file, the line (as an editor or
spreadsheet numbers it, header = 1), the column and what is wrong, like a bad
incident file; after `MAX_PROBLEMS` problems the rest are only counted.

The file is read once through `incident.io.files.read_bytes` (regular files
only, a hard byte cap) and checked column by column with numpy and pandas,
not row by row: a 50 MB file is accepted or refused in a few seconds.

Bars a vendor got wrong but that parse fine (a flat bar with no volume, a high
below the close) are not errors: `artefacts` lists them so that the event
study can leave them out of its fit and say so. A file of closes alone has
nothing to check there.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from incident.core.errors import MAX_PROBLEMS as STOP_AFTER, IncidentError, Problem
from incident.core.model import Incident
from incident.io.files import read_bytes

COLUMNS = ["open", "high", "low", "close", "volume"]
REQUIRED = ["date", *COLUMNS]
CLOSE_ONLY = ["date", "close"]
LAYOUTS = ("date,open,high,low,close,volume, Yahoo's Date,Open,High,Low,Close,Adj Close,Volume, "
           "or adjusted closes alone: Date,Close")
MAX_PROBLEMS = 20  # a broken export can have thousands of bad rows; the first ones tell the story
MAX_BYTES = 50_000_000  # a century of daily bars is ~3 MB; refuse anything absurd before reading it
CSV_FIELD_LIMIT = csv.field_size_limit()  # the csv module's limit, kept so that a runaway field is still refused
CHUNK_ROWS = 100_000  # rows converted at a time: bounds the memory of the text cells
# Checked before the file is scanned, so that a hostile file is refused at once:
MAX_COLUMNS = 64  # the layouts have 2 to 7 columns, vendors add a few (dividends, splits); 50,000 took minutes
MAX_HEADER_BYTES = 65_536  # a header line longer than this is no price file's
MAX_LINES = 2_000_000  # a century of daily bars is 36,500 lines; bounds the row scan to ~100 MB
PARSE_ROWS = 200_000  # rows parsed and checked at a time; reading stops once more than STOP_AFTER problems are found
_CONTENT = re.compile(rb'[^ \t\r\n,"]')  # a byte that makes a row not blank (as csv reads a row)

# a session date, optionally at midnight with an offset (yfinance's to_csv)
_DATE_PATTERN = r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00(?::00)?(?:[+-]\d{2}:?\d{2}|Z)?)?$"
_NULLS = ["null", "NULL", "Null"]
_BLOCK = 1 << 22  # bytes scanned at a time
# what each byte is to the row scan; a row of nothing but blanks, commas and quotes is blank, as csv reads it
_OTHER, _NEWLINE, _COMMA, _QUOTE, _BLANK = range(5)
_KIND = np.full(256, _OTHER, dtype=np.uint8)
_KIND[[ord(c) for c in " \t\r"]] = _BLANK
_KIND[[10, 44, 34]] = [_NEWLINE, _COMMA, _QUOTE]

# value codes, per cell
_OK, _MISSING, _NOT_NUMBER, _NOT_POSITIVE, _NEGATIVE_VOLUME = range(5)


def read_prices(path: str | Path, calendar: str | None = None, check_between=None) -> pd.DataFrame:
    """Daily bars of `path`, indexed by session date (`date`), all floats.

    Columns: open, high, low, close, volume, plus adj_close when the file
    has it; `close` alone for a `Date,Close` file. Yahoo's all-"null"
    holiday rows are dropped. With `calendar` (an exchange-calendars code
    such as "XHKG"), a bar dated on a day the exchange was closed, or after
    the calendar's last session, is an error too; sessions without a bar
    are not (trading halts happen): see `check_gaps`.

    A vendor's full history may start before the calendar does (the
    calendars begin in 1970 at the earliest, see `incident.io.calendars`):
    bars before the calendar's first session are kept without a calendar
    check, as are
    bars outside `check_between` = (first, last) dates when given (the
    sessions a study uses: `incident.market.sessions.study_dates`). Every
    bar's date, order and values are checked all the same.
    """
    file = str(path)
    data = _read(path, file)
    _check_shape(data, file)
    rec = _records(data, file)
    rows = np.flatnonzero(~rec["blank"])
    if len(rows) == 0:
        raise IncidentError.single(file, f"the file is empty; expected a header line ({LAYOUTS})", line=1)
    header_line = int(rec["line"][rows[0]])
    names, required, problems = _header(_fields(data, rec, rows[0]), file, header_line)
    if problems:
        raise IncidentError(problems)
    rows = rows[1:]
    if len(rows) == 0:
        raise IncidentError.single(file, "no price rows after the header", line=header_line)

    found = _Problems(file)
    wrong = rec["fields"][rows] != len(names)
    found.add(rows[wrong], rec, lambda r: Problem(
        file, "", f"expected {len(names)} fields as in the header, found {rec['fields'][r]}", int(rec["line"][r])), order=0)
    good = rows[~wrong]
    if found.total > STOP_AFTER or not len(good):
        raise IncidentError(found.capped())
    day, codes, null_row, values = _parse_checked(found, data, rec, good, names)
    line = rec["line"][good]
    bad_date = np.isnat(day)

    dated = np.flatnonzero(~bad_date & ~null_row)
    _order_problems(found, day[dated], line[dated], good[dated], rec)
    if not found.total and not (~null_row).any():
        found.extra(Problem(file, "", "no price rows: every row is empty (null)", header_line))
    keep = ~null_row
    if calendar is None:
        _range_problems(found, day[keep], good[keep], rec)
    else:  # bars before the calendar are not checked against it, but must still be dates an index can hold
        from incident.io.calendars import calendar as get_calendar

        early = keep & (day < np.datetime64(get_calendar(calendar).first_session.date(), "us"))
        _range_problems(found, day[early], good[early], rec)
        if not found.total and keep.any():
            _calendar_problems(found, day[keep], good[keep], rec, calendar, check_between)
    if found.total:
        raise IncidentError(found.capped())

    value_names = names[1:]
    out_cols = (COLUMNS if required == REQUIRED else ["close"]) + (["adj_close"] if "adj_close" in names else [])
    frame = pd.DataFrame(values[keep], columns=value_names)[out_cols]
    frame.index = pd.DatetimeIndex(day[keep], name="date").as_unit("ns")
    return frame


def _parse_checked(found: "_Problems", data: bytes, rec: dict, good: np.ndarray, names: list[str]):
    """`_parse` of the rows `good`, PARSE_ROWS at a time, their date and value problems added to `found`.

    Stops with IncidentError once more than STOP_AFTER problems are found and
    rows are left: a file of a million bad rows is refused after its first ones.
    """
    parts = []
    for at in range(0, len(good), PARSE_ROWS):
        piece = good[at : at + PARSE_ROWS]
        day, codes, null_row, values = _parse(data, rec, piece, names, found.file)
        found.add(piece[np.isnat(day)], rec, lambda r: Problem(
            found.file, "date", f"{_fields(data, rec, r)[0]!r} is not a date (write 2020-02-21)",
            int(rec["line"][r])), order=1)
        for k, name in enumerate(names[1:]):
            _value_problems(found, data, rec, piece, codes[:, k], null_row, name, k + 1)
        parts.append((day, codes, null_row, values))
        if found.total > STOP_AFTER and at + PARSE_ROWS < len(good):
            found.stopped = True
            raise IncidentError(found.capped())
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(p) for p in zip(*parts))


def artefacts(df: pd.DataFrame) -> pd.DataFrame:
    """Bars that parse but whose fields a vendor got wrong, with the reason.

    A flat bar (open = high = low = close) with no volume is a vendor's
    placeholder: the day may well be a real session with a right close (the
    ^HSI bars of 2019-12-18 and 2020-03-23 are), but its open, high, low and
    volume were filled in, so nothing says the close was checked either. A
    volume of 0 says nobody traded; a high below the open or close (or a low
    above them) means a field is wrong.
    The event study leaves every flagged bar out of its fit. Closes alone
    (no open, high, low or volume) cannot be checked: nothing is flagged.
    """
    if not set(COLUMNS) <= set(df.columns):
        out = df.iloc[0:0][[c for c in COLUMNS if c in df.columns]].copy()
        out["reason"] = pd.Series(dtype=object)
        return out
    o, h, l, c, v = (df[k] for k in COLUMNS)
    rules = [
        ((o == h) & (h == l) & (l == c) & (v == 0), "open = high = low = close and volume 0: open, high, low and volume are placeholders"),
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


def check_gaps(df: pd.DataFrame, calendar: str | None = None) -> pd.DataFrame:
    """Differences between the bars' dates and the exchange's sessions.

    One row per date from the first bar to the last that is a session without
    a bar ("missing session") or a bar on a closed day ("not a session").
    `calendar` defaults to `incident.io.calendars.DEFAULT_CALENDAR`; dates
    before the calendar's first session are not compared.
    """
    from incident.io.calendars import DEFAULT_CALENDAR, as_calendar, sessions

    cal = as_calendar(calendar or DEFAULT_CALENDAR)
    have = pd.DatetimeIndex(df.index).as_unit("ns")
    have = have[have >= cal.first_session]  # the calendar cannot say before it begins
    columns = ["date", "problem"]
    if len(have) == 0:
        return pd.DataFrame(columns=columns)
    expected = sessions(have[0], have[-1], cal)
    missing = expected.difference(have)
    extra = have.difference(expected)
    rows = [(d, "missing session") for d in missing] + [(d, "not a session") for d in extra]
    out = pd.DataFrame(sorted(rows), columns=columns)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    return out


def market_prices(inc: Incident) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The incident's stock and benchmark bars, read from its `market` section.

    Paths are relative to the incident folder; both files are checked
    against the exchange calendar the section names. Read once per incident.
    """
    return inc.memo("market_prices", lambda: _market_prices(inc))


def _market_prices(inc: Incident) -> tuple[pd.DataFrame, pd.DataFrame]:
    from incident.io.loader import file_label

    file = file_label(inc)
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
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13), no permission
        reason = "a symbolic link loop" if isinstance(exc, RuntimeError) else (exc.strerror or str(exc))
        raise IncidentError.single(file, f"{relative!r} cannot be followed: {reason}", path=field) from None
    if not inside:
        raise IncidentError.single(file, f"{relative!r} leads outside the incident folder; price files must be inside it",
                                   path=field)
    return path


# -- reading ------------------------------------------------------------------
def _check_shape(data: bytes, file: str) -> None:
    """Refuse at once a file with no header, a header too long or too wide, or too many lines.

    Only the header line (the first that is not blank) is read, under
    MAX_HEADER_BYTES, and the newlines counted: the row scan and the checks
    after it cost time and memory per column and per row.
    """
    found = _CONTENT.search(data)
    if found is None:
        raise IncidentError.single(file, f"the file is empty; expected a header line ({LAYOUTS})", line=1)
    start = data.rfind(b"\n", 0, found.start()) + 1
    line = data.count(b"\n", 0, start) + 1
    end = data.find(b"\n", start, start + MAX_HEADER_BYTES + 1)
    if end < 0:
        if len(data) - start > MAX_HEADER_BYTES:
            raise IncidentError.single(file, f"the header line is longer than {MAX_HEADER_BYTES:,} bytes; "
                                             f"expected {LAYOUTS}", line=line)
        end = len(data)
    header = data[start:end]
    if header.count(b",") >= MAX_COLUMNS:  # commas inside quotes do not separate: count the fields as csv does
        try:
            width = len(next(csv.reader([header.decode("utf-8", errors="replace")]), []))
        except csv.Error:
            width = header.count(b",") + 1
        if width > MAX_COLUMNS:
            raise IncidentError.single(file, f"the header has {width:,} columns; a price file has at most "
                                             f"{MAX_COLUMNS} ({LAYOUTS})", line=line)
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if lines > MAX_LINES:
        raise IncidentError.single(file, f"{lines:,} lines; a price file has at most {MAX_LINES:,} "
                                         "(a century of daily bars is 36,500)")


def _read(path, file: str) -> bytes:
    """The file's bytes without a byte-order mark, checked to be UTF-8."""
    try:  # a regular file over the limit is refused by its size, before a byte is read
        st = os.stat(file)
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_BYTES:
            raise IncidentError.single(file, f"file is {st.st_size:,} bytes; the limit is {MAX_BYTES:,}")
    except OSError:
        pass  # read_bytes says what is wrong
    data = read_bytes(path, MAX_BYTES, "price file")
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError as exc:
        raise IncidentError.single(file, f"not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    return data[3:] if data.startswith(codecs.BOM_UTF8) else data


def _records(data: bytes, file: str) -> dict[str, np.ndarray]:
    """Where each CSV row starts and ends, its first line, its field count and whether it is blank.

    Found with numpy over the bytes, a block at a time so that no array is
    as large as the file: a newline or a comma inside double quotes does not
    count (quotes toggle, as in RFC 4180). Positions fit in int32, as the
    file is under `MAX_BYTES`.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    quoted = b'"' in data
    # the positions found in each block
    end_blocks: list[np.ndarray] = []
    comma_blocks: list[np.ndarray] = []
    newline_blocks: list[np.ndarray] = []
    inside = False
    for at in range(0, len(arr), _BLOCK):
        kind = _KIND[arr[at : at + _BLOCK]]
        if quoted:
            toggled = np.bitwise_xor.accumulate(kind == _QUOTE) ^ inside  # True from an opening quote to its closing one
            inside = bool(toggled[-1])
            newline_blocks.append(np.flatnonzero(kind == _NEWLINE).astype(np.int32) + at)
            kind[toggled & (kind != _QUOTE)] = _OTHER
        end_blocks.append(np.flatnonzero(kind == _NEWLINE).astype(np.int32) + at)
        comma_blocks.append(np.flatnonzero(kind == _COMMA).astype(np.int32) + at)
    ends = np.concatenate([np.zeros(0, np.int32), *end_blocks])
    commas = np.concatenate([np.zeros(0, np.int32), *comma_blocks])
    starts = np.concatenate([np.zeros(1, np.int32), ends + 1])
    stops = np.concatenate([ends, np.full(1, len(arr), np.int32)])
    if quoted:
        line = (np.searchsorted(np.concatenate([np.zeros(0, np.int32), *newline_blocks]), starts) + 1).astype(np.int32)
    else:
        line = np.arange(1, len(starts) + 1, dtype=np.int32)
    first_comma = np.searchsorted(commas, starts)
    fields = (np.searchsorted(commas, stops) - first_comma + 1).astype(np.int32)
    head = np.minimum(np.append(commas, len(arr))[first_comma], stops) - starts  # bytes of the first field
    del commas, first_comma
    # a row that starts with a digit or a letter is not blank; the few others are looked at one by one
    blank = np.ones(len(starts), dtype=bool)
    nonempty = np.flatnonzero(starts < stops)
    blank[nonempty] = _KIND[arr[starts[nonempty]]] != _OTHER
    for r in np.flatnonzero(blank[nonempty]):
        r = nonempty[r]
        blank[r] = not data[starts[r] : stops[r]].strip(b' \t\r,"')
    rec = {"start": starts, "stop": stops, "line": line, "fields": fields, "blank": blank, "head": head}
    for r in np.flatnonzero(stops - starts > CSV_FIELD_LIMIT):  # only a row this long can hold a field over the limit
        try:
            _fields(data, rec, r)
        except csv.Error as exc:  # not a price file
            raise IncidentError.single(file, f"not a readable CSV file: {exc}", line=int(line[r])) from None
    return rec


def _fields(data: bytes, rec: dict, r: int | np.integer) -> list[str]:
    """The stripped fields of row `r`, read by the csv module (for the header and messages)."""
    text = data[rec["start"][r] : rec["stop"][r]].decode("utf-8")
    return [f.strip() for f in next(csv.reader([text.rstrip("\r")]), [])]


def _header(fields: list[str], file: str, line: int) -> tuple[list[str], list[str], list[Problem]]:
    """Column names, the columns the layout requires, and the header's problems."""
    import re

    names = [re.sub(r"[\s_]+", "_", f.strip().lower()) for f in fields]
    problems = []
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(file, "header", f"column {name!r} appears more than once", line))
    close_only = "close" in names and not set(names) & {"open", "high", "low", "volume"}
    required = CLOSE_ONLY if close_only else REQUIRED
    for name in required:
        if name not in names:
            problems.append(Problem(file, "header", f"missing column {name!r} (expected {LAYOUTS})", line))
    if not problems and names[0] != "date":  # rows are read by position: the date comes first in every layout
        problems.append(Problem(file, "header", "the first column must be the date", line))
    return names, required, problems


def _chunks(data: bytes, rec: dict, rows: np.ndarray, names: list[str], numbers: bool):
    """The rows' cells, `CHUNK_ROWS` at a time: all as text, or (`numbers`) the used values as floats.

    Reading the values as floats is the C parser's fast path; it raises
    ValueError on the first cell that is not a number.
    """
    first, last = rows[0], rows[-1]
    body: io.BufferedIOBase
    if last - first + 1 == len(rows):  # consecutive rows: read the bytes where they are, uncopied
        body = io.BufferedReader(_Slice(memoryview(data)[rec["start"][first] : rec["stop"][last]]))
    else:
        body = io.BytesIO(b"\n".join(data[rec["start"][r] : rec["stop"][r]] for r in rows))
    dtype = {n: (float if numbers and _used(n) else object) for n in names}
    yield from pd.read_csv(body, header=None, names=names, dtype=dtype, na_filter=False,
                           skip_blank_lines=False, chunksize=CHUNK_ROWS, encoding="utf-8", engine="c")


class _Slice(io.RawIOBase):
    """A read-only file over a slice of the bytes already read, so that pandas reads them without a copy."""

    def __init__(self, view: memoryview):
        self.view, self.pos = view, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self.view) - self.pos)
        buffer[:n] = self.view[self.pos : self.pos + n]
        self.pos += n
        return n


def _used(name: str) -> bool:
    return name in COLUMNS or name == "adj_close"


def _parse(data: bytes, rec: dict, rows: np.ndarray, names: list[str], file: str):
    """Dates (NaT if unreadable), a code per value cell (`_OK`, `_MISSING`, ...), the all-null rows and the values.

    Most files hold numbers only: they are read as floats at once. A file
    with a "null" or a word in it is read again as text, cell by cell
    classified (still column-wise).
    """
    parts: list[tuple[np.ndarray, ...]] = []  # (dates, codes, all-null rows, values) of each chunk
    try:
        reader, done = _chunks(data, rec, rows, names, numbers=True), 0
        head = rec["head"][rows]
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                break
            except ValueError:  # a word or a "null" among the numbers: read it all as text
                parts, done = [], 0
                for chunk in _chunks(data, rec, rows, names, numbers=False):
                    parts.append(_texts(chunk, names, head[done : done + len(chunk)]))
                    done += len(chunk)
                break
            parts.append(_numbers(chunk, names, head[done : done + len(chunk)]))
            done += len(chunk)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IncidentError.single(file, f"not a readable CSV file: {exc}") from None
    if len(parts) != 1:
        day, codes, null_row, values = (np.concatenate(p) for p in zip(*parts))
    else:
        day, codes, null_row, values = parts[0]
    if len(day) != len(rows):  # a quote the csv reading and the row count above disagree on
        raise IncidentError.single(file, "not a readable CSV file: unbalanced double quotes")
    return day, codes, null_row, values


def _numbers(chunk: pd.DataFrame, names: list[str], head: np.ndarray):
    values = np.full((len(chunk), len(names) - 1), np.nan)
    codes = np.zeros(values.shape, dtype=np.int8)
    for k, name in enumerate(names[1:]):
        if _used(name):
            values[:, k] = chunk.iloc[:, k + 1].to_numpy(dtype=float)
            codes[:, k] = _range_codes(values[:, k], name)
    return _dates(chunk.iloc[:, 0], head), codes, np.zeros(len(chunk), dtype=bool), values


def _texts(chunk: pd.DataFrame, names: list[str], head: np.ndarray):
    cells = chunk.iloc[:, 1:]
    all_null = cells.isin(_NULLS).to_numpy().all(axis=1)
    values = np.full(cells.shape, np.nan)
    codes = np.zeros(cells.shape, dtype=np.int8)
    for k, name in enumerate(names[1:]):
        if _used(name):
            text = cells.iloc[:, k]
            values[:, k] = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            codes[:, k] = _range_codes(values[:, k], name)
            bad = ~np.isfinite(values[:, k])
            if bad.any():
                empty = text[bad].str.strip().isin(["", *_NULLS]).to_numpy()
                codes[bad, k] = np.where(empty, _MISSING, _NOT_NUMBER)
    codes[all_null] = _OK
    return _dates(chunk.iloc[:, 0], head), codes, all_null, values


def _dates(text: pd.Series, head: np.ndarray) -> np.ndarray:
    """Session dates of a column of text (datetime64[us]), NaT where it is not one.

    `head` is each cell's length in the file: the fast parser also takes
    2020-1-2, so a cell of any other length than 10 is looked at closely.
    """
    day = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[us]", copy=True)
    odd = np.isnat(day) | (head != 10)
    if odd.any():  # a time at midnight with an offset, spaces, or no date at all
        iso = text[odd].str.strip().str.extract(_DATE_PATTERN, expand=False)
        day[odd] = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[us]")
    return day


def _range_codes(number: np.ndarray, name: str) -> np.ndarray:
    """`_NOT_NUMBER` for nan and inf, `_NOT_POSITIVE` for a price <= 0, `_NEGATIVE_VOLUME`."""
    finite = np.isfinite(number)
    code = np.where(finite, _OK, _NOT_NUMBER).astype(np.int8)
    with np.errstate(invalid="ignore"):
        if name == "volume":
            code[finite & (number < 0)] = _NEGATIVE_VOLUME
        else:
            code[finite & (number <= 0)] = _NOT_POSITIVE
    return code


# -- problems -------------------------------------------------------------------
class _Problems:
    """Problems by line, at most `MAX_PROBLEMS` of them kept with their text; the rest counted."""

    def __init__(self, file: str):
        self.file, self.total = file, 0
        self.kept: list[tuple[int, int, Problem]] = []  # (line, order, problem)
        self.stopped = False  # reading stopped once more than STOP_AFTER problems were found: total is a floor

    def add(self, rows: np.ndarray, rec: dict, message, order: int) -> None:
        """Count a problem on each of `rows` (record numbers); write out only the first few."""
        self.total += len(rows)
        for r in rows[:MAX_PROBLEMS]:
            self.kept.append((int(rec["line"][r]), order, message(r)))

    def extra(self, problem: Problem) -> None:
        self.total += 1
        self.kept.append((problem.line or 0, 0, problem))

    def capped(self) -> list[Problem]:
        first = [p for _, _, p in sorted(self.kept, key=lambda t: t[:2])][:MAX_PROBLEMS]
        if self.stopped:
            first.append(Problem(self.file, "", f"... and more problems (reading stopped after {self.total:,})"))
        elif self.total > len(first):
            first.append(Problem(self.file, "", f"... and {self.total - len(first)} more problems"))
        return first


_VALUE_MESSAGES = {
    _MISSING: lambda text: "missing value",
    _NOT_NUMBER: lambda text: f"{text!r} is not a number",
    _NOT_POSITIVE: lambda text: f"{text} is not a positive price",
    _NEGATIVE_VOLUME: lambda text: f"{text} is a negative volume",
}


def _value_problems(found: _Problems, data, rec, good, code, null_row, name, position) -> None:
    for kind, say in _VALUE_MESSAGES.items():
        hit = good[(code == kind) & ~null_row]
        found.add(hit, rec, lambda r, say=say: Problem(
            found.file, name, say(_fields(data, rec, r)[position]), int(rec["line"][r])), order=1 + position)


def _order_problems(found: _Problems, day: np.ndarray, line: np.ndarray, rows: np.ndarray, rec) -> None:
    """Duplicate dates (against their first line) and dates earlier than the row before."""
    if len(day) == 0 or (day[1:] > day[:-1]).all():  # the usual case, checked without a hash table
        return
    dup = pd.Series(day).duplicated(keep="first").to_numpy()
    if dup.any():
        first_line = pd.Series(line).groupby(day).transform("first").to_numpy()
        at = _Index(rows)
        found.add(rows[dup], rec, lambda r: Problem(
            found.file, "date", f"duplicate date {_iso(day[at[int(r)]])} (also on line {first_line[at[int(r)]]})",
            int(rec["line"][r])), order=99)
    d, ln, rw = day[~dup], line[~dup], rows[~dup]
    late = np.flatnonzero(d[1:] < d[:-1]) + 1
    at = _Index(rw)
    found.add(rw[late], rec, lambda r: Problem(
        found.file, "date",
        f"dates out of order: {_iso(d[at[int(r)]])} comes after {_iso(d[at[int(r)] - 1])} (line {ln[at[int(r)] - 1]})",
        int(rec["line"][r])), order=99)


def _range_problems(found: _Problems, day: np.ndarray, rows: np.ndarray, rec) -> None:
    """Dates no pandas index of nanoseconds can hold (before 1678, after 2261)."""
    first, last = np.datetime64("1678-01-01", "us"), np.datetime64("2261-12-31", "us")
    outside = (day < first) | (day > last)
    at = _Index(rows)
    found.add(rows[outside], rec, lambda r: Problem(
        found.file, "date", f"{_iso(day[at[int(r)]])} is outside the years a price file may cover (1678..2261)",
        int(rec["line"][r])), order=100)


def _calendar_problems(found: _Problems, day: np.ndarray, rows: np.ndarray, rec, name: str, between=None) -> None:
    """Bars on days the exchange was closed, and bars after the calendar's last session.

    Bars before the calendar's first session, and outside `between` (first,
    last) when given, are not checked: the calendar cannot say, or the study
    does not use them.
    """
    from incident.io.calendars import calendar

    c = calendar(name)
    first, last = np.datetime64(c.first_session.date(), "us"), np.datetime64(c.last_session.date(), "us")
    checked = day >= first
    if between is not None:
        lo, hi = (np.datetime64(pd.Timestamp(d).date(), "us") for d in between)
        checked &= (day >= lo) & (day <= hi)
    after = checked & (day > last)
    span = f"{c.first_session.date()}..{c.last_session.date()}"
    at = _Index(rows)
    found.add(rows[after], rec, lambda r: Problem(
        found.file, "date", f"{_iso(day[at[int(r)]])} is outside the {name} calendar's range ({span}); "
        "no session can be checked there", int(rec["line"][r])), order=100)
    closed = checked & ~after & ~np.isin(day, c.sessions.as_unit("us").to_numpy())
    found.add(rows[closed], rec, lambda r: Problem(
        found.file, "date", f"{_iso(day[at[int(r)]])} is not a {name} session (the exchange was closed)",
        int(rec["line"][r])), order=100)


class _Index:
    """Position of a record number in a sorted array of them: `at[r]`."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows

    def __getitem__(self, r) -> int:
        return int(np.searchsorted(self.rows, r))


def _iso(day: np.datetime64) -> str:
    return str(day)[:10]
