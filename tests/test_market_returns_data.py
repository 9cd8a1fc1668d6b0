"""data/market-returns: the full price histories ship as copied, their README says what they hold, and they read."""

from __future__ import annotations

import csv
import hashlib
import re

import pytest

from conftest import ROOT
from incident.io.prices import read_prices

FOLDER = ROOT / "data" / "market-returns"
FILES = sorted(FOLDER.glob("*.csv"))


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (FOLDER / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].endswith(".csv"):
            rows[cells[0]] = cells
    return rows


def test_the_readme_lists_every_file_as_it_is():
    rows = _readme_rows()
    assert set(rows) == {f.name for f in FILES} and len(FILES) == 8
    for f in FILES:
        lines = list(csv.reader(f.open(encoding="utf-8")))
        name, _, count, first, last, digest = rows[f.name]
        assert lines[0] == ["Date", "Close"]
        assert int(count.replace(",", "")) == len(lines) - 1
        assert (first, last) == (lines[1][0], lines[-1][0])
        assert re.fullmatch(r"`[0-9a-f]{16}`", digest) and hashlib.sha256(f.read_bytes()).hexdigest().startswith(digest.strip("`"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_full_history_reads_on_the_us_calendar(path):
    """Decades of closes, most before any calendar's first cached session, read without a problem."""
    prices = read_prices(path, calendar="XNYS")
    assert len(prices) == sum(1 for _ in path.open(encoding="utf-8")) - 1
    assert prices["close"].gt(0).all()
