"""Size of the study's tests on real returns (issue 25, item 5): the placebo table of docs/market.md.

The documented table is `placebo_table` at the documented seed and size; the
"no event" and "clustered" scenarios (each its own random stream) are
recomputed here and must equal what the document prints. With 1,000 studies
the 95 % band around 5 % is about 3.7–6.4 %: narrow enough that a test
rejecting 8 % of the time falls outside it.
"""

from __future__ import annotations

import re
import sys

import pytest

from conftest import ROOT
from incident.market.placebo import SCENARIOS, holds_size, placebo_rejections, placebo_table, shipped_returns
from incident.market.study import ADJUSTED, SIZE, TESTS

sys.path.insert(0, str(ROOT / "docs"))
import make_placebo  # noqa: E402

DOC = (ROOT / "docs" / "market.md").read_text(encoding="utf-8")
COLUMNS = [*TESTS, *ADJUSTED]


def documented() -> dict[tuple[str, str], dict[str, str]]:
    """The doc's table: (scenario, window) -> test -> the cell as printed."""
    block = DOC.split(make_placebo.BEGIN)[1].split(make_placebo.END)[0]
    rows = [line.strip("| ").split(" | ") for line in block.strip().splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    assert header[2:] == COLUMNS
    return {(r[0], r[1]): dict(zip(COLUMNS, r[2:])) for r in body}


def rate(cell: str) -> float:
    return float(re.search(r"(\d+\.\d) %", cell).group(1)) / 100


@pytest.fixture(scope="module")
def returns():
    return shipped_returns(ROOT / "data" / "market-returns")


@pytest.fixture(scope="module")
def recomputed(returns):
    return placebo_table(returns, "SPY", ["no event", "clustered"], studies=make_placebo.STUDIES,
                         seed=make_placebo.SEED)


def test_the_documented_table_is_the_functions_output(recomputed):
    doc = documented()
    assert [s for s, _ in doc][::2] == list(SCENARIOS)
    written = make_placebo.markdown(recomputed).splitlines()
    for line in written[2:2 + len(recomputed)]:
        cells = line.strip("| ").split(" | ")
        assert doc[(cells[0], cells[1])] == dict(zip(COLUMNS, cells[2:])), line
    assert f"{make_placebo.STUDIES:,} studies per scenario, seed {make_placebo.SEED}" in DOC


def test_the_tests_that_should_hold_their_size_do(recomputed):
    lo, hi = recomputed["band low"].iloc[0], recomputed["band high"].iloc[0]
    assert hi < 0.08  # the band is narrow enough to catch an 8 % rejection rate
    inside = holds_size(recomputed)
    for test in ("cross-sectional t", "BMP t"):
        assert inside.loc["no event", test].all(), recomputed.loc["no event", test]
    for test in ADJUSTED:  # with clustered events the adjusted t do not over-reject
        assert (recomputed.loc["clustered", test] <= hi).all(), recomputed.loc["clustered", test]
    for test in ("cross-sectional t", "BMP t", "Patell Z"):  # and the plain ones do
        assert (recomputed.loc["clustered", test] > hi).all()


def test_every_claim_about_size_is_the_documented_tables():
    doc = documented()
    up = {k: {t: "↑" in c for t, c in row.items()} for k, row in doc.items()}
    windows = {w for _, w in doc}
    varied = [k for k in doc if k[0].startswith("variance")]
    assert all(up[k]["Patell Z"] for k in doc)  # over-rejects everywhere
    assert all(up[(s, "0..0")]["Corrado rank Z"] for s, _ in varied)  # under a variance increase on day 0
    assert not any(up[("no event", w)]["Corrado rank Z"] for w in windows)
    for test in ("cross-sectional t", "BMP t", "generalized sign Z"):
        assert not any(up[k][test] for k in doc if k[0] != "clustered"), test
        assert all(up[("clustered", w)][test] for w in windows), test
    assert not any(up[k][t] for k in doc for t in ADJUSTED)
    assert "over-rejects a true null, and far more when the event raises the variance" == SIZE["Patell Z"]
    assert rate(doc[("variance x3", "0..0")]["Patell Z"]) > rate(doc[("no event", "0..0")]["Patell Z"])


def test_a_small_placebo_is_pure_and_seeded(returns):
    a = placebo_rejections(returns, "SPY", "variance x2", studies=20, seed=3)
    b = placebo_rejections(returns, "SPY", "variance x2", studies=20, seed=3)
    assert a.equals(b) and a.shape == (20, 2 * len(COLUMNS))
    with pytest.raises(ValueError, match="unknown scenario"):
        placebo_rejections(returns, "SPY", "crash", studies=1)
