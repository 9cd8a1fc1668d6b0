"""Event study: a synthetic case with a known answer, the formulas, and Weimob."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import WEIMOB
from incident.market.eventstudy import (
    MODELS, abnormal_returns, ar_covariance, compare_models, event_study, fit_model, returns,
)
from incident.market.reaction import market_event_study

ALPHA, BETA, SIGMA = 0.0008, 1.3, 0.002
INJECTED = {0: 0.06, 1: -0.02}  # abnormal returns put in on day 0 and day 1


@pytest.fixture(scope="module")
def synthetic():
    """Closes of a stock that follows a known market model, plus two abnormal days."""
    rng = np.random.default_rng(20200224)
    n, day0 = 200, 150
    dates = pd.bdate_range("2021-01-04", periods=n + 1, name="date")
    rm = rng.normal(0.0004, 0.01, n)
    noise = rng.normal(0, SIGMA, n)
    noise[day0 - 1 :] = 0.0  # no noise from day 0 on: only the injected returns are abnormal
    r = ALPHA + BETA * rm + noise
    for day, extra in INJECTED.items():
        r[day0 - 1 + day] += extra  # return i is dated by close i + 1
    stock = pd.Series(10 * np.cumprod(np.r_[1, 1 + r]), index=dates)
    bench = pd.Series(1000 * np.cumprod(np.r_[1, 1 + rm]), index=dates)
    return stock, bench, dates[day0]


def test_synthetic_parameters_and_abnormal_returns_are_recovered(synthetic):
    stock, bench, day0 = synthetic
    res = event_study(stock, bench, day0, estimation=(-120, -11), windows=[(0, 0), (0, 1), (2, 5)])
    assert res.event_day == day0
    assert res.n == 110 and res.dof == 108
    assert res.alpha == pytest.approx(ALPHA, abs=0.001)
    assert res.beta == pytest.approx(BETA, abs=0.08)  # about 4 standard errors
    assert res.sigma == pytest.approx(SIGMA, rel=0.2)
    assert res.car.at["0..0", "car"] == pytest.approx(0.06, abs=0.002)
    assert res.car.at["0..1", "car"] == pytest.approx(0.04, abs=0.003)
    assert res.car.at["2..5", "car"] == pytest.approx(0.0, abs=0.004)
    assert res.car.at["0..0", "t"] > 10 and res.car.at["0..0", "p"] < 1e-10
    assert abs(res.car.at["2..5", "t"]) < 2


def test_a_bad_bar_biases_the_fit_unless_excluded(synthetic):
    stock, bench, day0 = synthetic
    broken = bench.copy()
    bad = broken.index[100]  # inside the estimation window
    broken.iloc[100] *= 1.2  # a vendor glitch: +20% then −17% on the index
    clean = event_study(stock, bench, day0)
    hurt = event_study(stock, broken, day0)
    fixed = event_study(stock, broken, day0, exclude=[bad])
    assert abs(hurt.beta - BETA) > 0.3
    assert list(fixed.excluded) == [bad, broken.index[101]]  # the returns into and out of the bar
    assert fixed.n == clean.n - 2
    assert fixed.beta == pytest.approx(BETA, abs=0.08)


def test_standard_errors_follow_mackinlay(synthetic):
    stock, bench, day0 = synthetic
    rs, rb = returns(stock), returns(bench)
    pos = rs.index.get_loc(day0)
    est = slice(pos - 120, pos - 10)
    fit = fit_model(rs.iloc[est], rb.iloc[est], "market")
    m = rb.iloc[est].to_numpy()
    event = rb.iloc[pos : pos + 3]
    cov = ar_covariance(fit, event)
    # var(AR_t) = sigma^2 (1 + 1/n + (Rm_t − mean Rm)^2 / sum (Rm − mean Rm)^2)
    expected = fit.sigma**2 * (1 + 1 / len(m) + (event.to_numpy() - m.mean()) ** 2 / ((m - m.mean()) ** 2).sum())
    assert np.diag(cov) == pytest.approx(expected, rel=1e-10)
    # residual variance with ddof = 2
    resid = rs.iloc[est] - fit.alpha - fit.beta * rb.iloc[est]
    assert fit.sigma**2 == pytest.approx((resid**2).sum() / (len(m) - 2), rel=1e-10)
    assert abnormal_returns(fit, rs.iloc[pos : pos + 1], event.iloc[:1]).iloc[0] == pytest.approx(0.06, abs=0.002)

    # constant-mean model: var(CAR over L days) = sigma^2 (L + L^2 / n)
    res = event_study(stock, bench, day0, model="constant-mean", windows=[(0, 4)])
    assert res.car.at["0..4", "se"] ** 2 == pytest.approx(res.sigma**2 * (5 + 25 / res.n), rel=1e-10)
    # market-adjusted: nothing fitted, no parameter error
    res = event_study(stock, bench, day0, model="market-adjusted", windows=[(0, 4)])
    assert (res.alpha, res.beta) == (0.0, 1.0)
    assert res.car.at["0..4", "se"] ** 2 == pytest.approx(5 * res.sigma**2, rel=1e-10)


def test_windows_must_not_overlap_the_estimation_window(synthetic):
    stock, bench, day0 = synthetic
    with pytest.raises(ValueError, match="overlaps the event window"):
        event_study(stock, bench, day0, estimation=(-120, -1), windows=[(-1, 1)])
    with pytest.raises(ValueError, match="the returns start only"):
        event_study(stock, bench, day0, estimation=(-200, -11))
    with pytest.raises(ValueError, match="unknown model"):
        event_study(stock, bench, day0, model="fama-french")


def test_missing_bar_leaves_a_gap_when_sessions_are_given(synthetic):
    stock, bench, day0 = synthetic
    holed = stock.drop(stock.index[100])  # inside the estimation window
    res = event_study(holed, bench, day0, sessions=stock.index)
    assert res.ar.at[0, "date"] == day0
    assert res.n == 108  # the two returns that needed the missing close are gone


# -- Weimob ------------------------------------------------------------------------
FLAGGED = ["2019-09-19", "2019-12-18", "2020-03-23", "2020-12-24", "2020-12-31"]


@pytest.fixture(scope="module")
def weimob_result(weimob):
    return market_event_study(weimob)


def independent_car(exclude_flagged: bool) -> float:
    """CAR[0,+4] of the market model, by plain pandas and numpy."""
    prices = WEIMOB / "prices"
    s = pd.read_csv(prices / "weimob-2013hk-daily-2019-2020.csv", index_col="date", parse_dates=True)["close"]
    m = pd.read_csv(prices / "hang-seng-index-daily-2019-2020.csv", index_col="date", parse_dates=True)["close"]
    both = pd.concat([s, m], axis=1, keys=["s", "m"], sort=True).dropna()
    r = both / both.shift(1) - 1
    r = r.iloc[1:]
    i0 = r.index.get_loc(pd.Timestamp("2020-02-24"))
    est = r.iloc[i0 - 120 : i0 - 10]
    if exclude_flagged:
        bad = set(pd.to_datetime(FLAGGED))
        nxt = {both.index[both.index.get_loc(d) + 1] for d in bad if d in both.index and d != both.index[-1]}
        est = est[~est.index.isin(bad | nxt)]
    X = np.column_stack([np.ones(len(est)), est["m"]])
    (a, b), *_ = np.linalg.lstsq(X, est["s"].to_numpy(), rcond=None)
    ev = r.iloc[i0 : i0 + 5]
    return float((ev["s"] - a - b * ev["m"]).sum())


def test_weimob_car_0_4_matches_an_independent_computation(weimob_result):
    car = weimob_result.car.at["0..4", "car"]
    assert abs(car - independent_car(exclude_flagged=True)) < 0.0025
    # the flagged bars move it only a little
    assert abs(car - independent_car(exclude_flagged=False)) < 0.0025
    assert car == pytest.approx(-0.1899, abs=0.0005)


def test_weimob_event_study(weimob_result):
    res = weimob_result
    assert res.event_day == pd.Timestamp("2020-02-24")
    assert res.estimation_dates == (pd.Timestamp("2019-08-29"), pd.Timestamp("2020-02-07"))
    # the ^HSI placeholder of 2019-12-18 and the inconsistent 2013.HK bar of 2019-09-19
    assert [d.date().isoformat() for d in res.excluded] == ["2019-09-19", "2019-09-20", "2019-12-18", "2019-12-19"]
    assert res.n == 106
    # β, t and p equal statsmodels' OLS with MacKinlay's prediction error (tests/test_market_study.py);
    # pinned here too, so that a change of sample (n, exclusions) cannot pass unnoticed
    assert res.beta == pytest.approx(1.509, abs=0.001)
    assert list(res.car.index) == ["0..0", "-1..1", "0..4", "0..6"]
    assert res.car.at["0..6", "last"] == pd.Timestamp("2020-03-03")
    assert res.car.at["0..4", "t"] == pytest.approx(-2.106, abs=0.001)
    assert res.car.at["0..4", "p"] == pytest.approx(0.0376, abs=0.0005)
    # hand-checked returns of day 0: 5.93 / 6.18 − 1 and 26820.88 / 27308.81 − 1
    day0 = res.ar.loc[0]
    assert day0["stock"] == pytest.approx(5.93 / 6.18 - 1, rel=1e-12)
    assert day0["benchmark"] == pytest.approx(26820.88 / 27308.81 - 1, rel=1e-12)
    assert day0["ar"] == pytest.approx(day0["stock"] - res.alpha - res.beta * day0["benchmark"], rel=1e-12)
    assert res.ar.at[5, "stock"] == pytest.approx(5.39 / 4.80 - 1, rel=1e-12)


def test_compare_models_side_by_side(weimob):
    from incident.io.prices import market_prices

    stock, bench = market_prices(weimob)
    table = compare_models(stock["close"], bench["close"], "2020-02-24", exclude=pd.to_datetime(FLAGGED))
    assert list(table.columns.get_level_values("model").unique()) == list(MODELS)
    assert table.shape == (4, 12)
    # market-adjusted day 0 AR is just the difference of the two returns
    assert table.at["0..0", ("market-adjusted", "car")] == pytest.approx((5.93 / 6.18 - 1) - (26820.88 / 27308.81 - 1))
    assert table.at["0..4", ("market", "car")] == pytest.approx(-0.1899, abs=0.0005)


def test_plot_event_study_draws_on_the_given_axes(weimob_result):
    import matplotlib
    import matplotlib.pyplot as plt

    from incident.plots import plot_event_study

    before = dict(matplotlib.rcParams)
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_event_study(weimob_result, ax=right, milestones={"recovered": 5, "outside": 40})
    assert ax is right
    assert len([p for p in ax.patches if p.get_gid() == "ar"]) == len(weimob_result.ar)  # one AR bar per day
    numbers = [t.get_text() for t in ax.texts if t.get_gid() == "milestone-number"]
    assert numbers == ["1"]
    assert "1  day +5: recovered" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert not left.has_data()
    new = plot_event_study(weimob_result)
    assert new.figure is not fig
    assert dict(matplotlib.rcParams) == before
    plt.close("all")


@pytest.mark.parametrize("span", [None, (-5, 10)])
def test_plot_event_study_car_is_the_tables(weimob, span):
    """The line at day 4 is CAR[0,+4] of the table, whatever span is drawn; its band is the table's SE."""
    import matplotlib.pyplot as plt
    from scipy import stats

    from incident.market.sessions import session_table
    from incident.plots import plot_event_study

    res = market_event_study(weimob) if span is None else market_event_study(weimob, span=span)
    ax = plot_event_study(res, milestones=session_table(weimob), sources=weimob)
    line = next(a for a in ax.lines if a.get_gid() == "car")
    x, y = line.get_data()
    assert x[0] == 0  # the cumulation starts at day 0
    assert y[list(x).index(4)] == pytest.approx(res.car.loc["0..4", "car"], abs=1e-12)
    assert y[list(x).index(6)] == pytest.approx(res.car.loc["0..6", "car"], abs=1e-12)
    band = next(a for a in ax.collections if a.get_gid() == "car-band")
    q = stats.t.ppf(0.975, res.dof)
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top >= res.car.loc["0..4", "car"] + q * res.car.loc["0..4", "se"] - 1e-9
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["car-label:0..4"] == "CAR[0,+4] = \N{MINUS SIGN}18.99%"
    # milestones by title, numbered over their day; the legend is the key and names every colour
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "1  day 0: Insider deletes production data" in legend
    assert not any("hkex-announcement" in t for t in legend + [t.get_text() for t in ax.texts])
    assert {"abnormal return (AR) of the day, positive", "abnormal return (AR) of the day, negative",
            "CAR from day 0 (sum of ARs 0..d)", "CAR 95% confidence band"} <= set(legend)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert all("-" not in t for t in ticks)
    if span is not None:
        assert ticks[0].startswith("\N{MINUS SIGN}5")
    ax.figure.canvas.draw()
    marks = [t.get_window_extent() for t in ax.texts if t.get_gid() == "milestone-number"]
    assert not any(a.overlaps(b) for i, a in enumerate(marks) for b in marks[i + 1:])
    plt.close("all")
