"""Market edge cases (issue 21): no ZeroDivisionError, no NaN in JSON, day 0 across time zones.

Degenerate prices (constant, or the stock against itself), a session
without a close inside a window and the same event twice are one line and
exit 2 naming what is wrong; never a traceback, never a number silently wrong.
"""

from __future__ import annotations

import json
import shutil
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, WEIMOB, run_cli
from incident.core.times import parse_when
from incident.market.eventstudy import event_study
from incident.market.sessions import session_of, session_rule
from incident.market.study import window_tests

PRICES = WEIMOB / "prices"
STOCK = PRICES / "weimob-2013hk-daily-2019-2020.csv"
INDEX = PRICES / "hang-seng-index-daily-2019-2020.csv"
DAY0 = "2020-02-25"


def failed_in_one_line(result, *words: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    return lines[0]


@pytest.fixture
def constant(tmp_path):
    df = pd.read_csv(STOCK)
    df[["open", "high", "low", "close"]] = 5.0
    path = tmp_path / "constant.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("model", ["market", "market-adjusted"])
def test_stock_against_itself_is_one_line(model):
    result = run_cli("event-study", STOCK, STOCK, "--day0", DAY0, "--calendar", "XHKG", "--model", model)
    failed_in_one_line(result, "moves exactly as the benchmark")


@pytest.mark.parametrize("model", ["market", "constant-mean"])
def test_constant_prices_are_one_line(constant, model):
    result = run_cli("event-study", constant, INDEX, "--day0", DAY0, "--calendar", "XHKG", "--model", model)
    failed_in_one_line(result, "do not vary")


def test_pure_fit_refuses_a_zero_variance():
    closes = pd.read_csv(STOCK, index_col="date", parse_dates=True)["close"]
    with pytest.raises(ValueError, match="variance of zero"):
        event_study(closes, closes, DAY0)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_session_without_a_close_inside_a_window_is_named(tmp_path, json_flag):
    gap = tmp_path / "gap.csv"
    gap.write_text("".join(line for line in STOCK.read_text().splitlines(keepends=True)
                           if not line.startswith("2020-02-26")))
    result = run_cli("event-study", gap, INDEX, "--day0", DAY0, "--calendar", "XHKG", *json_flag)
    failed_in_one_line(result, "no close on 2020-02-26", "window 0..1")
    assert "nan" not in result.stdout.lower()


def test_event_study_json_is_strict_json():
    result = run_cli("event-study", STOCK, INDEX, "--day0", DAY0, "--calendar", "XHKG", "--json")
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


def test_json_text_writes_null_for_numbers_that_are_not_finite():
    from incident.cli.market import json_text

    text = json_text({"t": float("nan"), "p": [np.float64("inf"), 0.5], "n": 2})
    assert json.loads(text) == {"t": None, "p": [None, 0.5], "n": 2}


def test_the_same_incident_twice_is_one_line():
    failed_in_one_line(run_cli("market-study", WEIMOB, WEIMOB), "weimob-2020", "twice")


def test_the_same_event_under_two_ids_is_one_line(tmp_path):
    copy = tmp_path / "weimob-copy"
    shutil.copytree(WEIMOB, copy)
    text = (copy / "incident.yaml").read_text(encoding="utf-8")
    (copy / "incident.yaml").write_text(text.replace("id: weimob-2020", "id: weimob-copy", 1), encoding="utf-8")
    failed_in_one_line(run_cli("market-study", WEIMOB, copy), "the same event as incident 'weimob-2020'")


def test_tests_with_a_zero_denominator_are_nan_not_infinite():
    rng = np.random.default_rng(0)
    row = rng.normal(0, 0.02, 40)
    ar = np.vstack([row, row])  # two events with the same abnormal returns: no cross-sectional variance
    days = np.arange(-30, 10)
    out = window_tests(ar, np.full_like(ar, 0.02), np.array([28, 28]), days, days <= -11, (0, 1))
    assert np.isnan(out["cross-sectional t"]) and np.isnan(out["p cross-sectional t"])
    assert np.isfinite(out["Patell Z"])


# -- day 0 across time zones -----------------------------------------------------------------
@pytest.mark.parametrize("zone,session,rule", [
    ("America/Los_Angeles", "2020-02-25", "by date; the day begins after the close"),  # LA's 02-24 starts 16:00 HKT
    ("Asia/Hong_Kong", "2020-02-24", "by date"),
    ("Asia/Shanghai", "2020-02-24", "by date"),
    ("Europe/London", "2020-02-24", "by date"),  # 08:00 in Hong Kong: before the open
    ("Asia/Tokyo", "2020-02-24", "by date; the day begins on a closed day there"),  # Sunday 23:00 in Hong Kong
])
def test_a_date_is_the_whole_local_day_on_the_exchange_clock(zone, session, rule):
    day = parse_when("2020-02-24", ZoneInfo(zone))
    assert session_of(day, "XHKG") == pd.Timestamp(session)
    assert session_rule(day, "XHKG") == rule


def test_an_la_incident_on_hkex_gets_the_next_session_as_day0(tmp_path):
    import incident
    from incident.market.sessions import day_zero, day_zero_rule

    data = yaml.safe_load((ROOT / "data" / "fastly-2021" / "incident.yaml").read_text(encoding="utf-8"))
    weimob = yaml.safe_load((WEIMOB / "incident.yaml").read_text(encoding="utf-8"))
    data["timezone"] = "America/Los_Angeles"
    data["market"] = weimob["market"]
    data["market"]["sources"] = [data["sources"][0]["id"]]
    data["market"]["event_start"] = "2020-02-24"
    data["claims"] = []
    folder = tmp_path / "la"
    shutil.copytree(PRICES, folder / "prices")
    (folder / "incident.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    inc = incident.load(folder)
    assert day_zero(inc) == pd.Timestamp("2020-02-25")
    assert day_zero_rule(inc) == "by date; the day begins after the close"
