"""Many events: the study's numbers against statsmodels, its tests' size and power, its command lines."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import incident
from conftest import ROOT, WEIMOB
from incident.cli import main
from incident.market.reaction import incident_returns, incidents_study, market_event_study
from incident.market.study import TESTS, loop_study, market_study

EVENTS = ["equifax-2017", "crowdstrike-2024", "okta-2022", "atlassian-2022", "facebook-2021", "fastly-2021", "weimob-2020"]
FOLDERS = [ROOT / "data" / e for e in EVENTS]


@pytest.fixture(scope="module")
def incidents():
    return [incident.load(f) for f in FOLDERS]


@pytest.fixture(scope="module")
def study(incidents):
    return incidents_study(incidents)


# -- one event against statsmodels ---------------------------------------------------
@pytest.mark.parametrize("event", ["facebook-2021", "weimob-2020"])
def test_one_event_matches_statsmodels_ols(incidents, study, event):
    sm = pytest.importorskip("statsmodels.api")
    inc = next(i for i in incidents if i.id == event)
    r = incident_returns(inc, -120, 4)
    est = r.loc[-120:-11]
    est = est[~est["flagged"]].dropna(subset=["stock", "benchmark"])
    X = sm.add_constant(est["benchmark"].to_numpy())
    ols = sm.OLS(est["stock"].to_numpy(), X).fit()
    alpha, beta = ols.params
    sigma = np.sqrt(ols.scale)
    # MacKinlay's prediction-error variance of a CAR: K sigma^2 + 1' X* Cov(params) X*' 1
    w = r.loc[0:4]
    Xw = sm.add_constant(w["benchmark"].to_numpy(), has_constant="add")
    car = float((w["stock"] - alpha - beta * w["benchmark"]).sum())
    ones = np.ones(len(w))
    var = len(w) * ols.scale + ones @ Xw @ ols.cov_params() @ Xw.T @ ones
    t = car / np.sqrt(var)

    single = market_event_study(inc, windows=[(0, 4)])
    assert single.alpha == pytest.approx(alpha, rel=1e-9, abs=1e-12)
    assert single.beta == pytest.approx(beta, rel=1e-9)
    assert single.sigma == pytest.approx(sigma, rel=1e-9)
    assert single.n == ols.nobs
    assert single.car.at["0..4", "car"] == pytest.approx(car, rel=1e-9)
    assert single.car.at["0..4", "t"] == pytest.approx(t, rel=1e-9)
    row = study.events.loc[event]
    assert (row.alpha, row.beta, row.sigma) == pytest.approx((alpha, beta, sigma), rel=1e-9)
    assert study.car.at[event, "0..4"] == pytest.approx(car, rel=1e-9)


def test_weimob_is_unchanged_in_the_study(study):
    assert study.car.at["weimob-2020", "0..4"] == pytest.approx(-0.1899, abs=5e-5)
    assert study.events.at["weimob-2020", "exchange"] == "XHKG"
    assert study.events.at["weimob-2020", "benchmark"] == "^HSI"


def test_study_tables(study):
    assert list(study.events.index) == EVENTS
    assert list(study.car.columns) == ["0..0", "0..1", "0..4", "-1..1"]
    assert list(study.ar.columns) == list(range(-10, 21))
    assert study.tests.loc["0..4", "caar"] == pytest.approx(study.car["0..4"].mean())
    for name in TESTS:
        assert study.tests[f"p {name}"].between(0, 1).all()
    days0 = {i: f"{d:%Y-%m-%d}" for i, d in study.events["day0"].items()}
    assert days0["equifax-2017"] == "2017-09-08"  # disclosed after the close of 09-07
    assert days0["facebook-2021"] == "2021-10-04"  # during the session


def test_the_vectorised_fit_equals_a_loop():
    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.01, (20, 141))
    s = 0.0002 + 1.2 * m + rng.normal(0, 0.02, m.shape)
    days = np.arange(-120, 21)
    windows = [(0, 0), (0, 4), (-1, 1)]
    fast = market_study(s, m, days, (-120, -11), windows)
    slow = loop_study(s, m, days, (-120, -11), windows)
    np.testing.assert_allclose(fast.car.to_numpy(), slow.to_numpy(), rtol=1e-10, atol=1e-14)


# -- size and power of the tests, by simulation ----------------------------------------------
def simulate(studies: int, events: int, shift: float, seed: int) -> pd.DataFrame:
    """Rejection at 5% of each test, per simulated study, for the window 0..0 and 0..2."""
    rng = np.random.default_rng(seed)
    days = np.arange(-120, 6)
    out = []
    for _ in range(studies):
        m = rng.normal(0.0004, 0.01, (events, len(days)))
        beta = rng.uniform(0.5, 1.5, (events, 1))
        s = 0.0002 + beta * m + rng.normal(0, 0.02, m.shape) * rng.uniform(0.5, 1.5, (events, 1))
        s[:, days == 0] += shift
        tests = market_study(s, m, days, (-120, -11), [(0, 0), (0, 2)]).tests
        out.append({(w, t): tests.at[w, f"p {t}"] < 0.05 for w in tests.index for t in TESTS})
    frame = pd.DataFrame(out)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["window", "test"])
    return frame


def test_under_the_null_each_test_rejects_about_5_percent():
    studies = 400
    rates = simulate(studies, 30, 0.0, seed=20240719).mean()
    sd = np.sqrt(0.05 * 0.95 / studies)
    lo, hi = 0.05 - 3.29 * sd, 0.05 + 3.29 * sd  # a binomial 99.9% band around 5%
    assert rates.between(lo, hi).all(), rates.to_dict()


def test_a_shift_of_minus_2_percent_on_day_0_is_detected():
    rates = simulate(100, 30, -0.02, seed=7).mean()
    day0 = rates.xs("0..0", level=0)
    assert (day0 > 0.9).all(), day0.to_dict()


# -- errors named by field ------------------------------------------------------------------
def case(tmp_path, replace: tuple[str, str] | None = None):
    folder = tmp_path / "weimob"
    shutil.copytree(WEIMOB, folder)
    if replace:
        path = folder / "incident.yaml"
        text = path.read_text(encoding="utf-8")
        assert replace[0] in text
        path.write_text(text.replace(replace[0], replace[1], 1), encoding="utf-8")
    return folder


def test_an_event_start_before_enough_prices_is_one_line_naming_the_field(tmp_path, capsys):
    folder = case(tmp_path, ("  listing_date: 2019-01-15", "  event_start: 2019-03-01 10:00\n  listing_date: 2019-01-15"))
    assert main(["summary", str(folder)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {folder / 'incident.yaml'}: market.event_start: ")
    assert "estimation window" in lines[0]


def test_day0_override_needs_a_reason(tmp_path, capsys):
    folder = case(tmp_path, ("  listing_date: 2019-01-15", "  day0: 2020-02-25\n  listing_date: 2019-01-15"))
    assert main(["validate", str(folder)]) == 2
    assert "day0_reason is required" in capsys.readouterr().err


def test_day0_override_is_used_and_must_be_a_session(tmp_path, capsys):
    folder = case(tmp_path, ("  listing_date: 2019-01-15",
                             "  day0: 2020-02-25\n  day0_reason: the HKEX announcement came on 02-25\n"
                             "  listing_date: 2019-01-15"))
    inc = incident.load(folder)
    result = market_event_study(inc)
    assert result.event_day == pd.Timestamp("2020-02-25")
    folder2 = case(tmp_path / "b", ("  listing_date: 2019-01-15",
                                    "  day0: 2020-02-23\n  day0_reason: a Sunday\n  listing_date: 2019-01-15"))
    assert main(["summary", str(folder2)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "market.day0: 2020-02-23 is not a XHKG session" in err[0]


def test_unknown_calendar_names_the_field(tmp_path, capsys):
    folder = case(tmp_path, ("  exchange: XHKG", "  exchange: XNOP"))
    assert main(["summary", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "market.exchange" in err and "unknown exchange calendar" in err


# -- command lines ----------------------------------------------------------------------------
EFX = ROOT / "data" / "equifax-2017" / "prices"


def test_cli_event_study_json(capsys):
    assert main(["event-study", str(EFX / "EFX.csv"), str(EFX / "SPY.csv"), "--day0", "2017-09-08",
                 "--window", "0:0", "--window", "0:4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"alpha", "beta", "n", "sigma", "windows"}
    assert list(out["windows"]) == ["0..0", "0..4"]
    assert set(out["windows"]["0..4"]) == {"car", "t", "p"}
    inc = incident.load(ROOT / "data" / "equifax-2017")
    single = market_event_study(inc, windows=[(0, 0), (0, 4)])
    assert out["windows"]["0..4"]["car"] == pytest.approx(single.car.at["0..4", "car"])
    assert out["n"] == single.n


def test_cli_event_study_default_windows_and_table(capsys):
    assert main(["event-study", str(EFX / "EFX.csv"), str(EFX / "SPY.csv"), "--day0", "2017-09-08", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["windows"]) == ["0..0", "0..1", "0..4", "-1..1"]
    assert main(["event-study", str(EFX / "EFX.csv"), str(EFX / "SPY.csv"), "--day0", "2017-09-08"]) == 0
    assert "0..4" in capsys.readouterr().out


@pytest.mark.parametrize("day0, needle", [("2017-09-09", "is not a session"), ("2016-09-09", "estimation window")])
def test_cli_event_study_bad_day0_exits_2(capsys, day0, needle):
    assert main(["event-study", str(EFX / "EFX.csv"), str(EFX / "SPY.csv"), "--day0", day0]) == 2
    out, err = capsys.readouterr()
    assert out == "" and needle in err and len(err.strip().splitlines()) == 1


def test_cli_market_study_json(capsys):
    assert main(["market-study", *map(str, FOLDERS), "--window", "0:0", "--window", "0:4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["events"]) == EVENTS
    assert set(out["windows"]) == {"0..0", "0..4"}
    assert set(out["windows"]["0..4"]["tests"]) == set(TESTS)
    assert out["events"]["weimob-2020"]["car"]["0..4"] == pytest.approx(-0.1899, abs=5e-5)


def test_study_figures_name_the_model_and_estimation_days_of_the_study_they_draw(incidents):
    import matplotlib.pyplot as plt

    from incident.plots import plot_caar, plot_event_ars

    study = incidents_study(incidents, model="constant-mean", estimation=(-60, -6))
    for plot in (plot_caar, plot_event_ars):
        ax = plot(study)
        texts = " ".join(" ".join(t.get_text() for t in ax.texts).split())  # the source line wraps
        assert "constant-mean model fitted on days \N{MINUS SIGN}60..\N{MINUS SIGN}6" in texts
        assert "market model" not in texts
        plt.close(ax.figure)
