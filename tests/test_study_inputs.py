"""What a market study needs and says (issue 25): only its windows' prices, no NaN, its conventions, its figure."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import incident
from conftest import ROOT, WEIMOB
from incident.cli import main
from incident.market.reaction import excluded_bars, incidents_study, market_event_study
from incident.market.study import market_study

DATA = ROOT / "data"


def moved(tmp_path, name: str, day0: str, reason: str = "a test"):
    folder = tmp_path / name
    shutil.copytree(DATA / name, folder)
    path = folder / "incident.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  event_start:", f"  day0: {day0}\n  day0_reason: {reason}\n  event_start:", 1)
    path.write_text(text, encoding="utf-8")
    return folder


# -- item 2: each study needs its estimation and event windows only ----------------------------------
def test_prices_ending_before_day_20_do_not_stop_the_study(tmp_path, capsys):
    fastly = moved(tmp_path, "fastly-2021", "2021-09-30")  # its prices end 2021-10-06: day +4
    study = incidents_study([incident.load(fastly), incident.load(DATA / "okta-2022")])
    assert np.isfinite(study.car.loc["fastly-2021"]).all()
    assert study.ar.loc["fastly-2021", 5:].isna().all() and study.ar.loc["fastly-2021", :4].notna().all()
    assert main(["market-study", str(fastly), str(DATA / "okta-2022"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["windows"]["0..4"]["n"] == 2
    assert main(["market-study", str(fastly), str(DATA / "okta-2022"), "--window", "0:5"]) == 2
    assert "reaches day 5, after the last price (2021-10-06)" in capsys.readouterr().err


def test_the_rank_span_is_a_parameter_and_defaults_to_estimation_plus_window():
    rng = np.random.default_rng(5)
    days = np.arange(-120, 21)
    m = rng.normal(0, 0.01, (10, len(days)))
    s = m + rng.normal(0, 0.02, m.shape)
    s[:, days == 0] -= 0.03
    base = market_study(s, m, days, (-120, -11), [(0, 0)])
    later = s.copy()
    later[:, days > 0] = rng.normal(0, 0.02, (10, 20))  # days outside estimation + window: no effect by default
    assert market_study(later, m, days, (-120, -11), [(0, 0)]).tests.at["0..0", "Corrado rank Z"] == \
        pytest.approx(base.tests.at["0..0", "Corrado rank Z"])
    wide = market_study(later, m, days, (-120, -11), [(0, 0)], rank_span=(-120, 20))
    assert wide.tests.at["0..0", "Corrado rank Z"] != pytest.approx(base.tests.at["0..0", "Corrado rank Z"])
    with pytest.raises(ValueError, match="does not cover window 0..4"):
        market_study(s, m, days, (-120, -11), [(0, 4)], rank_span=(-120, 2))


# -- item 3: a missing session inside a window is refused, also with --json ------------------------------
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_market_study_names_a_session_without_a_close(tmp_path, capsys, json_flag):
    folder = tmp_path / "weimob"
    shutil.copytree(WEIMOB, folder)
    stock = folder / "prices" / "weimob-2013hk-daily-2019-2020.csv"
    stock.write_text("".join(line for line in stock.read_text().splitlines(keepends=True)
                             if not line.startswith("2020-02-26")))
    assert main(["market-study", str(folder), str(DATA / "okta-2022"), *json_flag]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "nan" not in out.lower()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "market.prices" in lines[0] and "no close on 2020-02-26" in lines[0], lines


def test_market_study_json_is_strict(capsys):
    assert main(["market-study", str(DATA / "okta-2022"), str(DATA / "weimob-2020"), "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


# -- item 6: conventions where results are shown; placeholder closes kept on request -----------------------
def test_conventions_in_json_and_text(capsys):
    args = [str(DATA / "okta-2022"), str(DATA / "weimob-2020")]
    assert main(["market-study", *args, "--json"]) == 0
    conv = json.loads(capsys.readouterr().out)["conventions"]
    assert {"returns", "sigma", "single_event_t", "standardisation", "rank_span", "flagged_bars", "size"} <= set(conv)
    assert "simple" in conv["returns"] and "n - 2" in conv["sigma"]
    assert main(["market-study", *args, "--model", "market-adjusted", "--json"]) == 0
    assert "divides by n" in json.loads(capsys.readouterr().out)["conventions"]["sigma"]
    assert main(["market-study", *args]) == 0
    out = capsys.readouterr().out
    assert "Conventions" in out and "Patell Z *" in out and "Corrado rank Z *" in out
    assert "* Patell Z over-rejects a true null in placebo studies on real returns" in out
    efx = DATA / "equifax-2017" / "prices"
    assert main(["event-study", str(efx / "EFX.csv"), str(efx / "SPY.csv"), "--day0", "2017-09-08", "--json"]) == 0
    assert "prediction-error" in json.loads(capsys.readouterr().out)["conventions"]["single_event_t"]


def test_placeholder_closes_can_be_kept():
    weimob = incident.load(WEIMOB)
    dropped, kept = excluded_bars(weimob), excluded_bars(weimob, keep_placeholder_closes=True)
    assert len(dropped) == 5 and kept["reason"].tolist() == ["high below the open"]  # the bar with a wrong field stays out
    a, b = market_event_study(weimob), market_event_study(weimob, keep_placeholder_closes=True)
    assert b.n > a.n and len(b.excluded) < len(a.excluded)


# -- item 8b: folders without a market section are skipped with a note -------------------------------------------
def test_folders_without_a_market_section_are_skipped(capsys):
    assert main(["market-study", str(DATA / "gitlab-2017"), str(DATA / "okta-2022"), str(DATA / "weimob-2020"),
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == f"note: skipped {DATA / 'gitlab-2017'}: no market section"
    data = json.loads(out)
    assert list(data["events"]) == ["okta-2022", "weimob-2020"] and data["skipped"] == [str(DATA / "gitlab-2017")]
    assert main(["market-study", str(DATA / "gitlab-2017"), str(DATA / "okta-2022")]) == 2
    assert "needs at least two incidents with a market section; 1 of the 2" in capsys.readouterr().err


# -- item 8c: the CAAR figure cumulates from day 0 unless asked ---------------------------------------------------
def test_caar_figure_cumulates_from_day_0_by_default():
    import matplotlib.pyplot as plt

    from incident.plots import plot_caar

    study = incidents_study([incident.load(DATA / e) for e in ("okta-2022", "weimob-2020", "equifax-2017")])
    for start in (0, -10):
        ax = plot_caar(study, **({} if start == 0 else {"start": start}))
        line = next(l for l in ax.get_lines() if l.get_gid() == "caar")
        x, y = line.get_data()
        car = study.ar.loc[:, start:20].cumsum(axis=1).mean()
        assert x[0] == start - 1 and y[0] == 0  # every path starts at zero the session before
        np.testing.assert_allclose(y[1:], car.to_numpy())
        assert f"cumulated from day {start}".replace("-", "\N{MINUS SIGN}") in ax.texts[0].get_text() + " ".join(
            t.get_text() for t in ax.texts)
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="cannot cumulate from day -30"):
        plot_caar(study, start=-30)
