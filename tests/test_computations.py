"""Durations, provision, compensation and claims, against hand-checked values."""

import math

import numpy as np
import pytest

from incident.analysis.claims import check_claims
from incident.analysis.costs import (
    cash_compensation, cash_example, compensation_sensitivity, provision_table, traffic_table,
)
from incident.analysis.financials import cagr, rounding_half_width
from incident.analysis.timeline import compensated_window, durations, phase_table


def test_compensated_window_counts_the_leap_day(weimob):
    start, end, hours = compensated_window(weimob)
    assert start.label() == "2020-02-23 19:00" and end.label() == "2020-03-03 09:00"
    # 23 Feb 19:00 → 1 Mar 19:00 is 7 days (2020 has a 29 February), + 14 h
    assert hours == 7 * 24 + 14 + 24 == 206


def test_phase_table_bounds_and_ranges(weimob):
    t = phase_table(weimob).set_index("id")
    full = t.loc["full-outage"]
    # ~19:00 on 02-23 to some time on 02-25: 29 to 53 hours
    assert (full.hours_min, full.hours_max) == (29, 53)
    assert t.loc["migration", "hours_min"] == t.loc["migration", "hours_max"] == 11
    assert (t.loc["transitional", "hours_min"], t.loc["transitional", "hours_max"]) == (48, 96)
    assert (t["end_latest"] >= t["start"]).all()


def test_durations_name_their_milestones(weimob):
    d = durations(weimob).set_index("metric")
    assert d.loc["time_to_diagnose", "to"] == "cause-found"
    assert (d.loc["time_to_diagnose", "hours_min"], d.loc["time_to_diagnose", "hours_max"]) == (5, 29)
    assert d.loc["time_to_mitigate", "to"] == "new-users-back"
    # the last recovery that happened: the data found on 03-01 20:00; the go-live of
    # 03-02 22:00 → 03-03 09:00 was only planned, and a plan is not a recovery
    assert d.loc["time_to_recover", "to"] == "data-recovered"
    assert d.loc["time_to_recover", "hours_min"] == 169  # 02-23 19:00 → 03-01 20:00, 29 February counted
    assert not d.loc["time_to_mitigate", "exact"]
    # S3's "Sunday night" is a date, not an hour: a range from the ~19:00 failure to that day's end
    assert d.loc["time_to_detect", "to"] == "monitoring-detects"
    assert (d.loc["time_to_detect", "hours_min"], d.loc["time_to_detect", "hours_max"]) == (0, 5)


def test_provision_breakdown(weimob):
    t = provision_table(weimob).set_index("party")
    assert t.loc["Sun Taoyong", "amount"] == 35_000_000
    assert t.loc["Sun Taoyong", "share"] == pytest.approx(35 / 150)  # 23.3 %
    assert t.loc["Sun Taoyong", "share_of_named"] == pytest.approx(0.70)
    assert t.loc["Weimob Inc. (company)", "amount"] == 100_000_000  # computed remainder
    assert math.isnan(t.loc["Weimob Inc. (company)", "share_of_named"])
    assert t["amount"].sum() == 150_000_000
    assert t.loc["Sun Taoyong", "label"] == "Sun Taoyong (孫濤勇)"


def test_cash_compensation_formula():
    # 10,000 a day × 20 % × 206 h / 24 = 17,166.67
    assert cash_compensation(10_000, 0.2, 206) == pytest.approx(17_166.6667, rel=1e-6)
    grid = compensation_sensitivity([1_000, 10_000], [0.1, 0.2], 24)
    assert grid.loc[10_000, 0.2] == pytest.approx(2_000)
    assert grid.shape == (2, 2)
    assert np.all(np.diff(grid.values, axis=0) > 0) and np.all(np.diff(grid.values, axis=1) > 0)


def test_cash_example_uses_the_computed_window_and_says_its_end_was_planned(weimob):
    ex = cash_example(weimob)
    assert ex["hours"] == 206
    assert ex["amount"] == pytest.approx(10_000 * 0.2 * 206 / 24)
    assert ex["window_note"] == " (to the planned end of the go-live window)"
    assert not any("stated" in key for key in ex)  # no source states the window's length


def test_traffic_scheme_items(weimob):
    t = traffic_table(weimob)
    assert t.loc[0, "quantity"] == 50_000 and t.loc[0, "unit"] == "impressions"
    assert len(t) == 3


def test_rounding_half_width():
    assert rounding_half_width(114) == 0.5
    assert rounding_half_width(96.4) == pytest.approx(0.05)
    assert rounding_half_width(1968.8) == pytest.approx(0.05)


def test_cagr():
    assert cagr(114, 865, 3) == pytest.approx(0.9650, abs=1e-4)


@pytest.fixture(scope="module")
def claims(weimob):
    return check_claims(weimob).set_index("id")


def test_cagr_claim_consistent_within_rounding(claims):
    row = claims.loc["revenue-cagr"]
    assert row.status == "consistent"
    assert row.computed == pytest.approx(96.50, abs=0.01)
    assert row.low < 96.4 < row.high


def test_growth_claims_cannot_be_checked_but_imply_prior(claims):
    rev = claims.loc["revenue-growth-h1-2019"]
    assert rev.status == "cannot check"
    assert rev.implied == pytest.approx(657 / 1.979)  # ≈ 332
    assert round(claims.loc["ebitda-growth-h1-2019"].implied) == 38


def test_no_claim_states_the_compensated_hours(weimob, claims):
    # S1 gives only the window (2月23日晚7點至3月3日上午9點), no duration: no claim may say it does
    assert "compensated-hours" not in claims.index
    assert not any(c.stated == 182 for c in weimob.claims)


def test_provision_claims(claims):
    assert claims.loc["executives-share", "status"] == "consistent"
    assert claims.loc["company-share", "computed"] == 100_000_000


def test_difference_claim(claims):
    assert claims.loc["revenue-lost-2020", "status"] == "consistent"
    assert claims.loc["revenue-lost-2020", "computed"] == pytest.approx(95.6)
