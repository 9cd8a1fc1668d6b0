"""Hostile price files: refused in one line and exit 2, quickly and in bounded memory, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import WEIMOB, one_line, run_cli
from incident.cli import main
from incident.core.errors import IncidentError
from incident.io import prices
from incident.io.prices import read_prices

HEADER = "date,open,high,low,close,volume\n"




def no_scan(monkeypatch):
    """Make the row scan fail: a refusal that passes did not need it."""
    def scan(*args):
        raise AssertionError("the whole file was scanned")

    monkeypatch.setattr(prices, "_records", scan)


# -- a header of many columns ------------------------------------------------------
def test_fifty_thousand_columns_refused_in_one_line(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(50_000)) + "\n2020-01-02," + ",".join(["1"] * 49_999) + "\n")
    line = one_line(run_cli("prices", path), path)
    assert "header line is longer than" in line


def test_header_width_is_checked_before_the_scan(tmp_path, monkeypatch):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(5_000)) + "\n")
    no_scan(monkeypatch)
    with pytest.raises(IncidentError, match="the header has 5,000 columns; a price file has at most 64"):
        read_prices(path)


def test_quoted_commas_do_not_count_as_columns(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"a,' + "," * 100 + '",date,close\n"x",2020-01-02,1\n')
    with pytest.raises(IncidentError, match="first column must be the date"):  # read as three columns
        read_prices(path)


# -- heavy rejections ----------------------------------------------------------------
def test_blank_lines_refused_before_the_scan(tmp_path, monkeypatch):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n" * 2_000_000 + b" ,\r\n" * 1000)
    no_scan(monkeypatch)
    with pytest.raises(IncidentError, match="the file is empty") as caught:
        read_prices(path)
    assert len(caught.value.problems) == 1


def test_blank_lines_cli(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n" * 1_000_000)
    assert "the file is empty" in one_line(run_cli("prices", path), path)


def test_too_many_lines_refused_before_the_scan(tmp_path, monkeypatch):
    path = tmp_path / "long.csv"
    path.write_text(HEADER + "2020-01-02,1,1,1,1,1\n" * 30)
    monkeypatch.setattr(prices, "MAX_LINES", 20)
    no_scan(monkeypatch)
    with pytest.raises(IncidentError, match="31 lines; a price file has at most 20"):
        read_prices(path)


def test_every_row_of_the_wrong_width_is_one_error_not_a_traceback(tmp_path):
    path = tmp_path / "narrow.csv"
    path.write_text(HEADER + "x\n" * 100)
    done = run_cli("prices", path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"error: {path}:2: expected 6 fields as in the header, found 1"
    assert len(lines) == prices.MAX_PROBLEMS + 1 and "80 more problems" in lines[-1]


def test_reading_stops_after_the_first_problems(tmp_path, monkeypatch):
    path = tmp_path / "words.csv"
    path.write_text(HEADER + "2020-01-02,a,b,c,d,e\n" * 500)
    monkeypatch.setattr(prices, "PARSE_ROWS", 20)
    parsed = []
    real = prices._parse
    monkeypatch.setattr(prices, "_parse", lambda data, rec, rows, *a: parsed.append(len(rows)) or real(data, rec, rows, *a))
    with pytest.raises(IncidentError) as caught:
        read_prices(path)
    assert parsed == [20]  # 100 problems in the first 20 rows: the other 480 are never parsed
    problems = caught.value.problems
    assert len(problems) == prices.MAX_PROBLEMS + 1
    assert problems[-1].message == "... and more problems (reading stopped after 100)"


def test_few_problems_are_all_found_across_pieces(tmp_path, monkeypatch):
    rows = [f"2020-01-{d:02d},1,1,1,1,1" for d in range(1, 29)]
    rows[25] = "2020-01-26,1,1,1,oops,1"
    path = tmp_path / "one.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    monkeypatch.setattr(prices, "PARSE_ROWS", 5)
    with pytest.raises(IncidentError) as caught:
        read_prices(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:27: close: 'oops' is not a number"]


def test_pieces_give_the_same_table(tmp_path, monkeypatch):
    rows = [f"2020-01-{d:02d},{d},{d + 1},{d},{d},100" for d in range(1, 29)]
    path = tmp_path / "good.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    whole = read_prices(path)
    monkeypatch.setattr(prices, "PARSE_ROWS", 3)
    assert read_prices(path).equals(whole)


# -- links and permissions -----------------------------------------------------------
def test_symlink_loop_price_file(tmp_path):
    loop = tmp_path / "loop.csv"
    os.symlink(loop.name, loop)
    one_line(run_cli("prices", loop), loop)


def test_symlink_loop_in_an_incident_folder(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(WEIMOB, case)
    stock = next(p for p in (case / "prices").glob("*weimob*"))
    stock.unlink()
    os.symlink(stock.name, stock)  # points at itself
    line = one_line(run_cli("summary", "--json", case))
    assert "symbolic link" in line


def test_unreadable_price_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + "2020-01-02,1,1,1,1,1\n")
    real_open = os.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert main(["prices", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: {path}: cannot read price file: Permission denied"]


def test_unreadable_folder_of_an_incident(tmp_path, monkeypatch):
    case = tmp_path / "case"
    shutil.copytree(WEIMOB, case)
    from incident.io.loader import load

    inc = load(case)
    real = Path.resolve

    def denied(self, *args, **kwargs):
        if "prices" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "resolve", denied)
    with pytest.raises(IncidentError, match="cannot be followed: Permission denied") as caught:
        prices.market_prices(inc)
    assert len(caught.value.problems) == 1
