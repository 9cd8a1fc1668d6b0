"""Clustered events (issue 25, item 4): windows that share calendar dates, and the Kolari-Pynnönen adjustment."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from incident.cli import main
from incident.market.study import ADJUSTED, kp_factor, market_study, mean_correlation, overlapping_pairs

DATA = ROOT / "data"


def test_kp_factor_is_the_papers_formula():
    assert kp_factor(0.0, 30) == 1.0
    r, n = 0.2, 6
    assert kp_factor(r, n) == pytest.approx(np.sqrt(0.8 / 2.0))
    assert np.isnan(kp_factor(-0.5, 5))  # 1 + (n - 1) r <= 0: no variance left to scale by


def test_overlaps_are_found_by_calendar_date_across_exchanges():
    days = np.arange(-3, 3)
    dates = np.array([pd.bdate_range("2022-03-16", periods=6).to_numpy(),   # day 0 2022-03-21
                      pd.bdate_range("2022-03-18", periods=6).to_numpy(),   # day 0 2022-03-23
                      pd.bdate_range("2023-01-02", periods=6).to_numpy()])  # a year later
    pairs = overlapping_pairs(dates, (days >= 0) & (days <= 1))
    assert pairs.tolist() == [[False, False, False], [False, False, False], [False, False, False]]
    pairs = overlapping_pairs(dates, (days >= 0) & (days <= 2))  # 03-21..03-23 and 03-23..03-25 share 03-23
    assert pairs[0, 1] and pairs[1, 0] and not pairs[0, 2] and not pairs[:, 2].any()


def clustered_study(rho: float, events: int = 12, seed: int = 1):
    """Events on one day 0 whose residuals share a common factor: correlation rho between any two."""
    rng = np.random.default_rng(seed)
    days = np.arange(-250, 5)
    common = rng.normal(0, 1, len(days))
    m = np.tile(rng.normal(0.0004, 0.01, len(days)), (events, 1))
    e = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(0, 1, (events, len(days)))
    s = 0.0002 + m + 0.02 * e
    dates = np.tile(pd.bdate_range("2020-01-01", periods=len(days)).to_numpy(), (events, 1))
    return market_study(s, m, days, (-250, -11), [(0, 0), (0, 4)], dates=dates)


def test_the_adjustment_uses_the_estimation_windows_correlation():
    study = clustered_study(0.3)
    assert study.clustered and set(study.overlaps["window"]) == {"0..0", "0..4"}
    assert len(study.overlaps) == 2 * 12 * 11 // 2
    t = study.tests.loc["0..0"]
    assert t["overlapping pairs"] == 66
    assert t["rbar"] == pytest.approx(0.3, abs=0.06)  # 240 days of estimation: r̄'s error is a few hundredths
    factor = kp_factor(t["rbar"], int(t["n"]))
    for name, plain in ADJUSTED.items():
        assert t[name] == pytest.approx(t[plain] * factor)
        assert t[name] != pytest.approx(t[plain])


def test_pairs_apart_in_time_count_as_zero():
    rng = np.random.default_rng(2)
    days = np.arange(-120, 3)
    sar = rng.normal(0, 1, (3, len(days)))
    sar[1] = sar[0]  # events 0 and 1 identical: correlation 1
    dates = np.array([pd.bdate_range(d, periods=len(days)).to_numpy() for d in ("2020-01-01", "2020-01-01", "2015-01-01")])
    est = days <= -11
    pairs = overlapping_pairs(dates, days >= 0)
    assert mean_correlation(sar, dates, est, pairs) == pytest.approx(1 / 3)  # one pair of three at 1, two at 0


def test_no_dates_no_adjustment():
    rng = np.random.default_rng(0)
    m = rng.normal(0, 0.01, (5, 130))
    study = market_study(m + rng.normal(0, 0.02, m.shape), m, np.arange(-120, 10), (-120, -11), [(0, 0)])
    assert not study.clustered and study.overlaps is None
    assert np.isnan(study.tests.loc["0..0", "rbar"]) and np.isnan(study.tests.loc["0..0", "BMP t (KP)"])


@pytest.fixture
def two_on_one_day(tmp_path):
    """Okta and a copy of Atlassian moved to Okta's day 0 (2022-03-22): two events on the same session."""
    folder = tmp_path / "atlassian"
    shutil.copytree(DATA / "atlassian-2022", folder)
    path = folder / "incident.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  event_start: access-lost\n",
                        "  event_start: access-lost\n  day0: 2022-03-22\n  day0_reason: a test of clustered events\n", 1)
    path.write_text(text, encoding="utf-8")
    return [DATA / "okta-2022", folder, DATA / "equifax-2017"]


def test_market_study_warns_and_shows_both_statistics(two_on_one_day, capsys):
    assert main(["market-study", *map(str, two_on_one_day)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("warning: event windows share calendar dates (okta-2022 and atlassian-2022)")
    assert "rbar: 0..0 " in err
    assert "BMP t (KP)" in out and "cross-sectional t (KP)" in out and "rbar" in out
    assert main(["market-study", *map(str, two_on_one_day), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    w = data["windows"]["0..0"]
    assert data["clustered"] is True
    assert w["clustering"]["overlapping_pairs"] == [["okta-2022", "atlassian-2022"]]
    rbar, n = w["clustering"]["rbar"], w["n"]
    assert 0 < rbar < 1  # two software stocks on the same dates: positively correlated residuals
    assert w["adjusted"]["BMP t (KP)"]["statistic"] == pytest.approx(w["tests"]["BMP t"]["statistic"]
                                                                    * kp_factor(rbar, n))


def test_no_clustering_no_warning_and_no_adjusted_columns(capsys):
    assert main(["market-study", str(DATA / "okta-2022"), str(DATA / "equifax-2017"), "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert err == "" and data["clustered"] is False and "adjusted" not in data["windows"]["0..0"]
