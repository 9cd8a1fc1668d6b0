"""What the press said about the share price, checked against the bars."""

from __future__ import annotations

import json

import pytest

from incident.analysis.claims import check_claims
from incident.analysis.price_claims import check_near_high_claim, check_price_claim, check_return_claim
from incident.market.reaction import excluded_bars, market_summary
from incident.core.model import NearHighCheck, PriceCheck, ReturnCheck
from incident.io.prices import market_prices


@pytest.fixture(scope="module")
def prices(weimob):
    return market_prices(weimob)


@pytest.fixture(scope="module")
def claims(weimob):
    return check_claims(weimob).set_index("id")


def test_close_of_2020_02_21_is_a_mismatch_with_both_numbers(claims):
    row = claims.loc["close-2020-02-21"]
    assert row.status == "mismatch"
    assert row.computed == 6.18
    assert row.note == "stated 6.51, but the close of 2013.HK on 2020-02-21 was 6.18; 6.51 was that day's high"


def test_return_of_2020_03_02_is_consistent(claims):
    row = claims.loc["return-2020-03-02"]
    assert row.status == "consistent"
    assert row.computed == pytest.approx((5.39 / 4.80 - 1) * 100)
    assert row.low < 12.29 < row.high
    assert "5.39 vs 4.80" in row.note


def test_near_all_time_high_on_2020_02_21(claims):
    row = claims.loc["near-high-2020-02-21"]
    # the highest close since listing was 6.41 on 2019-04-15; 6.18 is 3.6% below it
    assert row.status == "consistent"
    assert row.computed == pytest.approx((1 - 6.18 / 6.41) * 100)
    assert "6.41 on 2019-04-15" in row.note and "since listing (2019-01-15)" in row.note


@pytest.mark.parametrize("stated, status", [(6.18, "consistent"), (6.19, "consistent"), (6.17, "consistent"),
                                            (6.20, "mismatch"), (6.51, "mismatch")])
def test_price_tolerance_is_the_rounding_to_a_cent(weimob, prices, stated, status):
    out = check_price_claim(weimob, PriceCheck(kind="price", date="2020-02-21"), stated, prices)
    assert out["status"] == status
    assert out["tolerance"] == pytest.approx(0.01)
    assert set(out) == {"computed", "low", "high", "status", "tolerance", "note"}


def test_price_on_a_day_without_a_bar_cannot_be_checked(weimob, prices):
    out = check_price_claim(weimob, PriceCheck(kind="price", date="2020-01-27"), 4.5, prices)
    assert out["status"] == "cannot check" and "no 2013.HK bar on 2020-01-27" in out["note"]


def test_benchmark_price_and_return(weimob, prices):
    hsi = check_price_claim(weimob, PriceCheck(kind="price", date="2020-03-03", series="benchmark"), 26284.82, prices)
    assert hsi["status"] == "consistent"
    ret = check_return_claim(weimob, ReturnCheck(kind="return", date="2020-03-02"), 10.0, prices)
    assert ret["status"] == "mismatch"
    # a flagged bar is named in the note
    flat = check_price_claim(weimob, PriceCheck(kind="price", date="2020-03-23", series="benchmark"), 21696.13, prices)
    assert "flagged bar on 2020-03-23" in flat["note"]


def test_near_high_with_a_tighter_threshold_is_a_mismatch(weimob, prices):
    out = check_near_high_claim(weimob, NearHighCheck(kind="near_high", date="2020-02-21", within=0.02), None, prices)
    assert out["status"] == "mismatch" and out["tolerance"] == pytest.approx(2.0)


def test_excluded_bars_of_both_series(weimob, prices):
    table = excluded_bars(weimob, prices)
    hsi = table[table["series"] == "^HSI"]
    assert [d.date().isoformat() for d in hsi["date"]] == ["2019-12-18", "2020-03-23"]


def test_market_summary_shape(weimob):
    out = market_summary(weimob)
    json.dumps(out)  # JSON-ready
    assert out["ticker"] == "2013.HK" and out["benchmark"] == "^HSI"
    assert out["event_day"] == "2020-02-24"
    assert out["estimation_window"] == "-120..-11"
    assert out["model"] == "market"
    assert list(out["car"]) == ["0..0", "-1..1", "0..4", "0..6"] == list(out["t"])
    assert out["car"]["0..4"] == pytest.approx(-0.1899, abs=0.0005)
    assert {"series": "^HSI", "date": "2019-12-18"}.items() <= out["excluded_bars"][1].items()
    assert {(b["series"], b["date"]) for b in out["excluded_bars"]} >= {("^HSI", "2019-12-18"), ("^HSI", "2020-03-23")}
    assert out["missing_sessions"] == []
