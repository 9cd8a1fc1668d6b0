"""Issue 22, "Prose is data too": every figure of the README's and the docs' prose, pinned to its computation.

Each test reads a number out of its sentence (a regex around a fixed phrase) or out of a table cell, computes
it with the library from the shipped data, and compares the two at the precision the prose prints, so a
change of data or code that changes a figure fails here until the prose says the new figure. Sentences that
tests/test_facts_round3.py already pins are not pinned again. Figures from outside the project (a paper, an
independent placebo) are checked for their attribution; timings are measurements and are not pinned.
"""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd
import pytest

import incident
from incident.analysis.history import (
    LEVEL, MIN_N_FOR_CI, N_BOOT, SEED, TARGETS, combine, history_table, stage_stats,
)
from incident.analysis.claims import check_claims
from incident.analysis.compare import level_hours
from incident.analysis.costs import provision_table
from incident.analysis.timeline import compensated_window, durations, format_hours, phase_table
from incident.market.eventstudy import DEFAULT_ESTIMATION
from incident.market.reaction import excluded_bars, incidents_study, market_event_study, market_prices
from incident.market.sessions import day_zero
from incident.report.summary import summary

from test_facts_round3 import DATA, HISTORY_MD, MARKET_MD, README, STUDY_IDS, flat, markdown



# -- helpers ---------------------------------------------------------------------------------------
def section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    out = []
    for line in lines[start + 1:]:
        m = re.match(r"(#+) ", line)
        if m and len(m.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out)


def grab(text: str, pattern: str) -> tuple[str, ...]:
    """The groups of the one place `pattern` matches in the flattened text."""
    found = re.findall(pattern, flat(text))
    assert len(found) == 1, f"{pattern!r} matches {len(found)} times"
    return found[0] if isinstance(found[0], tuple) else (found[0],)


def shown(printed: str, value: float) -> str:
    """`value` printed as `printed` is: its decimals, its sign, a true minus, thousands separators."""
    s = printed.replace("−", "-").replace("%", "").strip()
    decimals = len(s.split(".")[1]) if "." in s else 0
    out = format(value, f"{'+' if s.startswith('+') else ''}{',' if ',' in s else ''}.{decimals}f")
    return out.replace("-", "−") if "−" in printed else out


def same(printed: str, value: float) -> None:
    printed = printed.strip().rstrip("%").strip()
    assert printed == shown(printed, value), f"prose {printed}, computed {value!r}"


def table(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in `text`, cells stripped."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip().strip("*") for c in r.strip("|").split("|")] for r in rows[2:]]


WINDOW = {"[0,0]": "0..0", "[0,+1]": "0..1", "[0,+4]": "0..4", "[−1,+1]": "-1..1", "[0,+6]": "0..6"}


def day(inc, mid: str) -> str:
    return inc.when(mid).earliest.strftime("%m-%d")


def hm(inc, mid: str) -> str:
    return inc.when(mid).earliest.strftime("%H:%M")


# -- fixtures: each computation once per module --------------------------------------------------------
@pytest.fixture(scope="module")
def weimob():
    return incident.load(DATA / "weimob-2020")


@pytest.fixture(scope="module")
def incidents(weimob):
    return {i: weimob if i == "weimob-2020" else incident.load(DATA / i) for i in STUDY_IDS}


@pytest.fixture(scope="module")
def study(incidents):
    return incidents_study(list(incidents.values()))


@pytest.fixture(scope="module")
def weimob_studies(weimob):
    return {m: market_event_study(weimob, model=m) for m in ("market", "constant-mean", "market-adjusted")}


@pytest.fixture(scope="module")
def histories():
    clouds = history_table(DATA / "history" / "issre22")
    github = history_table(DATA / "history" / "github-status" / "incidents.jsonl")
    return {"issre": clouds, "github": github, "both": combine([clouds, github])}


@pytest.fixture(scope="module")
def stats(histories):
    return {k: stage_stats(t) for k, t in histories.items()}


WEIMOB_FACTS = section(README, "## What the Weimob data say, and where a source is wrong")


# == 1. README "What the Weimob data say" =============================================================
def test_compensated_window(weimob):
    start, end, hours = compensated_window(weimob)
    s = summary(weimob, market=False)
    a, b = grab(WEIMOB_FACTS, r"runs (\d{4}-\d\d-\d\d \d\d:\d\d) → (\d{4}-\d\d-\d\d \d\d:\d\d)")
    assert (a, b) == (start.earliest.strftime("%Y-%m-%d %H:%M"), end.earliest.strftime("%Y-%m-%d %H:%M"))
    (h,) = grab(WEIMOB_FACTS, r"\*\*(\d+) hours\*\* on the calendar")
    same(h, hours)
    same(h, s["compensated_hours"])
    assert f'"{h} h (to the planned end of the go-live window)"' in flat(WEIMOB_FACTS)
    assert s["compensated_window"]["end_status"] == "planned"  # "the end of the *planned* go-live window"
    (dh,) = grab(WEIMOB_FACTS, r"\((\d+ d \d+ h); February 2020 has")
    assert dh == format_hours(hours)
    (feb,) = grab(WEIMOB_FACTS, r"February 2020 has (\d+) days")
    assert int(feb) == calendar.monthrange(2020, 2)[1]


def test_what_happened_and_when(weimob):
    text = flat(WEIMOB_FACTS)
    assert f"Services failed at about {hm(weimob, 'services-fail')} on {day(weimob, 'services-fail')}" in text
    assert weimob.when("services-fail").approximate  # "about"
    assert f"the cause was found on {day(weimob, 'cause-found')}" in text
    assert f"new users were served again on {day(weimob, 'new-users-back')} (hour not given)" in text
    assert weimob.when("new-users-back").precision == "day"
    assert f"login reopened to existing users on {day(weimob, 'login-reopened')}" in text
    assert (f"all lost data was found at {hm(weimob, 'data-recovered')} on {day(weimob, 'data-recovered')}"
            in text)
    d = durations(weimob).set_index("metric").loc["time_to_recover"]
    assert d["to"] == "data-recovered" and d["exact"]
    shown_text, h = grab(WEIMOB_FACTS, r"Time to recover, to the last recovery reported: \*\*([^*]+)\*\* \((\d+) h\)")
    assert shown_text == format_hours(d["hours"]) and int(h) == d["hours"]


def test_missed_estimate(weimob):
    est = weimob.milestones_by_id["estimate-old-users-data"]
    assert est.status == "estimate" and est.sources == ["S3"]
    when = weimob.when(est.id).earliest  # 24:00 on 02-28 is 00:00 on 02-29
    d, src = grab(WEIMOB_FACTS, r"existing users' data by 24:00 on (\d\d-\d\d), (S\d)\)")
    assert (when - pd.Timedelta(days=1)).strftime("%m-%d") == d and src == "S3"
    assert when.strftime("%H:%M") == "00:00"
    (late,) = grab(WEIMOB_FACTS, r"the data were found (\d+) hours after it")
    same(late, (weimob.when("data-recovered").earliest - when).total_seconds() / 3600)


def test_span_no_source_reports(weimob):
    gaps = phase_table(weimob, gaps=True).query("status == 'unreported'")
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    a, b, h = grab(WEIMOB_FACTS, r"No source reports (\d\d-\d\d \d\d:\d\d) → (\d\d-\d\d \d\d:\d\d)\*\* \((\d+) hours\)")
    assert (a, b) == (gap.start.strftime("%m-%d %H:%M"), gap.end.strftime("%m-%d %H:%M"))
    same(h, gap.hours)
    assert level_hours(weimob).loc["unknown", "hours_max"] == gap.hours  # `compare` counts it as unknown


def test_impact_merchants(weimob):
    (n,) = grab(WEIMOB_FACTS, r"S1 says Weimob has served more than (\d+) million merchants in total \(累計服務\)")
    s1 = next(f for f in weimob.impact if f.sources == ["S1"] and f.quote and "累計服務" in f.quote)
    assert f"超過{n}00萬" in s1.quote  # 300萬 = 3 million
    assert "no number of merchants affected" in flat(s1.text)


def test_provision(weimob):
    t = provision_table(weimob).set_index("party")
    total, sun, share, of_named, named, rest, src = grab(
        WEIMOB_FACTS, r"The provision:\*\* CNY ([\d,]+), of which Sun Taoyong carries ([\d,]+) \((\d+(?:\.\d+)?) % of the "
                      r"total, (\d+) % of the executives' ([\d,]+)\) and the company, computed as the remainder, "
                      r"([\d,]+) \(stated by (S\d)\)")
    same(total, weimob.provision.total)
    same(sun, t.loc["Sun Taoyong", "amount"])
    same(share, 100 * t.loc["Sun Taoyong", "share"])
    same(of_named, 100 * t.loc["Sun Taoyong", "share_of_named"])
    same(named, t.query("kind == 'named'")["amount"].sum())
    company = t.query("kind == 'remainder'")
    assert len(company) == 1
    same(rest, company["amount"].iloc[0])
    claim = check_claims(weimob).set_index("id").loc["company-share"]
    assert claim.status == "consistent" and claim.sources == src and claim.stated == company["amount"].iloc[0]


def test_financial_claims(weimob):
    c = check_claims(weimob).set_index("id")
    a, b, computed, stated, low, high = grab(
        WEIMOB_FACTS, r"Revenue CAGR 2015–2018\*\* from (\d+) → (\d+) million: (\d+(?:\.\d+)?) %, consistent with the "
                      r"stated (\d+(?:\.\d+)?) % once the inputs' rounding is counted \((\d+(?:\.\d+)?)–(\d+(?:\.\d+)?) %\)")
    same(a, weimob.figure("revenue-2015").value), same(b, weimob.figure("revenue-2018").value)
    cagr = c.loc["revenue-cagr"]
    assert cagr.status == "consistent"
    same(computed, cagr.computed), same(stated, cagr.stated), same(low, cagr.low), same(high, cagr.high)
    rev, ebitda = grab(WEIMOB_FACTS, r"H1 2018 revenue ≈ (\d+) million and adjusted EBITDA ≈ (\d+) million")
    for printed, claim in ((rev, "revenue-growth-h1-2019"), (ebitda, "ebitda-growth-h1-2019")):
        assert c.loc[claim, "status"] == "cannot check"
        same(printed, c.loc[claim, "implied"])


def test_share_price_claims(weimob):
    stock, _ = market_prices(weimob)
    c = check_claims(weimob).set_index("id")
    stated, d, close, high = grab(
        WEIMOB_FACTS, r'closed at HK\$(\d+(?:\.\d+)?)" on (\d{4}-\d\d-\d\d); the price data \(S7\) say it closed at '
                      r"(\d+(?:\.\d+)?) and (\d+(?:\.\d+)?) was that day's high")
    bar = stock.loc[d]
    same(stated, c.loc["close-2020-02-21", "stated"]), same(close, bar.close), same(high, bar.high)
    assert high == stated
    assert c.loc["close-2020-02-21", "status"] == "mismatch" and "(**mismatch**)" in flat(WEIMOB_FACTS)
    assert weimob.sources_by_id["S7"].title.startswith("Daily price bars of 2013.HK")
    ret, d2, now, before = grab(WEIMOB_FACTS, r'"\+(\d+(?:\.\d+)?) % on (\d{4}-\d\d-\d\d)" \(S1, which gives no prices\) is '
                                             r"consistent with the data's (\d+(?:\.\d+)?) against (\d+(?:\.\d+)?)")
    i = stock.index.get_loc(pd.Timestamp(d2))
    same(now, stock.close.iloc[i]), same(before, stock.close.iloc[i - 1])
    same(ret, 100 * (stock.close.iloc[i] / stock.close.iloc[i - 1] - 1))
    assert c.loc["return-2020-03-02", "status"] == "consistent"
    (below,) = grab(WEIMOB_FACTS, r"consistent \((\d+(?:\.\d+)?) % below the highest close since listing\)")
    same(below, 100 * (1 - bar.close / stock.close.loc[:d].max()))
    assert c.loc["near-high-2020-02-21", "status"] == "consistent"


def test_beyond_the_market(weimob_studies):
    res = weimob_studies["market"]
    w = res.car.loc["0..4"]
    lost, a, b, sig, t, p = grab(
        WEIMOB_FACTS, r"the stock lost \*\*(\d+(?:\.\d+)?) %\*\* more than its market-model prediction from the Hang Seng "
                      r"Index over sessions \[0,\+4\] \((\d{4}-\d\d-\d\d) → (\d{4}-\d\d-\d\d)\), significant at "
                      r"(\d+) % \(t = (−?\d+(?:\.\d+)?), p = (\d+(?:\.\d+)?)\)")
    same(lost, -100 * w.car), same(t, w.t), same(p, w.p)
    assert (a, b) == (str(w["first"].date()), str(w["last"].date())) and w.p < int(sig) / 100


def test_vendor_artefacts(weimob):
    bars = excluded_bars(weimob)
    dates = grab(WEIMOB_FACTS, r"the \^HSI bars of (\d{4}-\d\d-\d\d) and (\d{4}-\d\d-\d\d) are real")
    hsi = bars[bars.series == "^HSI"]
    assert list(dates) == [str(d.date()) for d in hsi.date]
    assert all(r.startswith("open = high = low = close and volume 0") for r in hsi.reason)


# == 2. README "Market reaction" ====================================================================
FLAGGED = section(README, "### Flagged bars")
WEIMOB_MARKET = section(README, "### Weimob, 2020")
MANY = section(README, "### Many incidents, one market study")


def test_flagged_bars_paragraph(weimob, weimob_studies):
    bars = excluded_bars(weimob)
    res = weimob_studies["market"]
    words = {"five": 5, "Two": 2}
    n, = grab(FLAGGED, r"On the Weimob data (\w+) bars are flagged")
    assert words[n] == len(bars)
    listed = re.findall(r"(\^HSI|2013\.HK) (\d{4}-\d\d-\d\d)(?: and (\d{4}-\d\d-\d\d))?", flat(FLAGGED))
    named = {(s, d) for s, *ds in listed for d in ds if d}
    assert named == {(s, str(d.date())) for s, d in zip(bars.series, bars.date)}
    o, h = grab(FLAGGED, r"2013\.HK 2019-09-19 \(open (\d+(?:\.\d+)?) above the high (\d+(?:\.\d+)?)\)")
    bad = bars[bars.date == "2019-09-19"].iloc[0]
    same(o, bad.open), same(h, bad.high)
    inside, dropped, total, fit_n = grab(
        FLAGGED, r"(\w+) of them fall in the estimation window, so (\d+) of its (\d+) returns are dropped and the "
                 r"fit uses n = (\d+)")
    lo, hi = res.estimation_dates
    assert words[inside] == int(bars.date.between(lo, hi).sum())
    assert int(dropped) == len(res.excluded) and int(fit_n) == res.n and int(total) == res.n + len(res.excluded)
    assert int(total) == DEFAULT_ESTIMATION[1] - DEFAULT_ESTIMATION[0] + 1


def test_weimob_day0_and_day5(weimob, weimob_studies):
    res = weimob_studies["market"]
    d0, start = grab(WEIMOB_MARKET, r"Day 0 is Monday (\d{4}-\d\d-\d\d) \(the outage began Sunday (\d{4}-\d\d-\d\d \d\d:\d\d)")
    assert d0 == str(day_zero(weimob).date()) and pd.Timestamp(d0).day_name() == "Monday"
    assert start == weimob.when("services-fail").earliest.strftime("%Y-%m-%d %H:%M")
    assert weimob.when("services-fail").earliest.strftime("%A") == "Sunday"
    found, k, d5 = grab(WEIMOB_MARKET, r"the data found on Sunday (\d{4}-\d\d-\d\d \d\d:\d\d) and the compensation "
                                       r"letter map to day \+(\d+), (\d{4}-\d\d-\d\d)")
    assert found == weimob.when("data-recovered").earliest.strftime("%Y-%m-%d %H:%M")
    ar = market_event_study(weimob, span=(-5, 10)).ar
    assert str(ar.loc[int(k), "date"].date()) == d5


def test_weimob_model_table(weimob_studies):
    rows = table(WEIMOB_MARKET.split("| window |")[0])
    assert [r[0] for r in rows] == ["market", "constant-mean", "market-adjusted"]
    for name, alpha, beta, sigma, n in rows:
        res = weimob_studies[name]
        if "fixed" in alpha:
            assert res.alpha == 0 and res.beta == 1 and alpha.startswith("0") and beta.startswith("1")
        else:
            same(alpha, 100 * res.alpha)
            if beta == "—":
                assert res.beta == 0
            else:
                same(beta, res.beta)
        same(sigma, 100 * res.sigma)
        assert int(n) == res.n


def test_weimob_car_table(weimob_studies):
    rows = table("| window |" + WEIMOB_MARKET.split("| window |")[1])
    assert len(rows) == 4
    cell = re.compile(r"([−+]?\d+(?:\.\d+)?)% \((−?\d+(?:\.\d+)?)(?:, (\d+(?:\.\d+)?))?\)")
    for window, dates, market, mean, adjusted in rows:
        w = WINDOW[window]
        car = weimob_studies["market"].car.loc[w]
        first, last = car["first"].strftime("%m-%d"), car["last"].strftime("%m-%d")
        assert dates == (first if first == last else f"{first} → {last}")
        for text, model in ((market, "market"), (mean, "constant-mean"), (adjusted, "market-adjusted")):
            c, t, p = cell.fullmatch(text).groups()
            r = weimob_studies[model].car.loc[w]
            same(c, 100 * r.car), same(t, r.t)
            if model == "market":
                same(p, r.p)


def test_weimob_in_words(weimob, weimob_studies):
    res = market_event_study(weimob, span=(-5, 10))
    car = weimob_studies["market"].car
    lost, sig = grab(WEIMOB_MARKET, r"the stock lost about (\d+)% more than its market-model prediction from the "
                                    r"Hang Seng Index, significant at the (\d+)%")
    same(lost, -100 * car.loc["0..4", "car"])
    assert car.loc["0..4", "p"] < int(sig) / 100
    ar, d, t = grab(WEIMOB_MARKET, r"the \+(\d+(?:\.\d+)?)% abnormal return of (\d{4}-\d\d-\d\d) \(t = (\d+(?:\.\d+)?)\)")
    row = res.ar[res.ar.date == d].iloc[0]
    same(ar, 100 * row.ar), same(t, row.t)
    assert "won back more than half of it" in flat(WEIMOB_MARKET) and row.ar > -car.loc["0..4", "car"] / 2
    assert "over [0,+6] the CAR is no longer distinguishable from zero" in flat(WEIMOB_MARKET)
    assert car.loc["0..6", "p"] >= 0.05


def test_many_incidents_table(study):
    tests = study.tests
    rows = table(MANY)
    assert [WINDOW[r[0]] for r in rows] == list(tests.index)
    names = ["cross-sectional t", "Patell Z", "BMP t", "Corrado rank Z", "generalized sign Z"]
    for window, caar, *cells in rows:
        w = WINDOW[window]
        same(caar, 100 * tests.loc[w, "caar"])
        for name, text in zip(names, cells):
            stat, p = re.fullmatch(r"(−?\d+(?:\.\d+)?) \((<?\d+(?:\.\d+)?)\)", text).groups()
            same(stat, tests.loc[w, name])
            if p.startswith("<"):
                assert tests.loc[w, f"p {name}"] < float(p[1:])
            else:
                same(p, tests.loc[w, f"p {name}"])


def test_many_incidents_events(incidents, study):
    text = flat(MANY)
    (six,) = grab(MANY, r"(\w+) listed companies' incidents are encoded")
    us = [i for i in STUDY_IDS if study.events.loc[i, "exchange"] == "XNYS"]
    assert {"Six": 6}[six] == len(us) and len(STUDY_IDS) == 7 and "On the seven events:" in text
    assert all(study.events.loc[i, "benchmark"] == "SPY" for i in us)
    assert study.events.loc["weimob-2020", ["exchange", "benchmark"]].tolist() == ["XHKG", "^HSI"]
    efx = incidents["equifax-2017"]
    (d,) = grab(MANY, r"Equifax's breach \(disclosed (\d{4}-\d\d-\d\d) after the close\)")
    start = pd.Timestamp(efx.market.event_start)
    assert str(start.date()) == d and start.hour >= 16  # at or after the 16:00 close
    firsts = {"crowdstrike-2024": r"faulty content update \((\d{4}-\d\d-\d\d), before the open\)",
              "okta-2022": r"Lapsus\$ disclosure \((\d{4}-\d\d-\d\d)\)",
              "atlassian-2022": r"~\d+ customers' sites \(from (\d{4}-\d\d-\d\d)\)",
              "facebook-2021": r"BGP outage \((\d{4}-\d\d-\d\d), during trading",
              "fastly-2021": r"CDN outage \((\d{4}-\d\d-\d\d), after which the stock rose\)"}
    for i, pattern in firsts.items():
        inc = incidents[i]
        (d,) = grab(MANY, pattern)
        assert str(inc.when(inc.market.event_start).earliest.date()) == d, i
    (n,) = grab(MANY, r"Atlassian's outage of ~(\d+) customers' sites")
    assert f"{n} customers" in incidents["atlassian-2022"].title
    assert study.car.loc["fastly-2021", "0..4"] > 0  # "after which the stock rose"


def test_many_incidents_reading(incidents, study):
    tests = study.tests
    (k,) = grab(MANY, r"Equifax's day 0 is −(\d+) of its own standard deviations")
    efx = market_event_study(incidents["equifax-2017"])
    same(k, -efx.ar.loc[0, "ar"] / efx.sigma)
    assert "BMP, built for that, rejects in no window at 5 %" in flat(MANY) and (tests["p BMP t"] >= 0.05).all()
    ps = grab(MANY, r"on \[0,0\], \[0,\+1\] and \[0,\+4\] \(p (\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?), the table above\), "
                    r"but not on \[−1,\+1\]")
    for printed, w in zip(ps, ["0..0", "0..1", "0..4"]):
        same(printed, tests.loc[w, "p Corrado rank Z"])
        assert tests.loc[w, "p Corrado rank Z"] < 0.05
    assert tests.loc["-1..1", "p Corrado rank Z"] >= 0.05
    # the placebo's figures are docs/market.md's placebo table (itself pinned to the function by tests/test_placebo.py)
    from test_placebo import documented, rate

    doc = documented()
    patell0, patell3, rank3, bmp_c, kp_c = grab(
        MANY, r"Patell's Z rejects a true null in (\d+\.\d) % of studies without an event and (\d+\.\d) % when the "
              r"variance triples; the rank test holds its size without an event but rejects in (\d+\.\d) % when the "
              r"day-0 variance triples.*?\((\d+\.\d) % for BMP with six stocks on one day\).*?\((\d+\.\d) % in the same placebo\)")
    for printed, (scenario, test) in zip((patell0, patell3, rank3, bmp_c, kp_c), (
            ("no event", "Patell Z"), ("variance x3", "Patell Z"), ("variance x3", "Corrado rank Z"),
            ("clustered", "BMP t"), ("clustered", "BMP t (KP)"))):
        assert float(printed) / 100 == pytest.approx(rate(doc[(scenario, "0..0")][test])), (scenario, test)
    assert "BMP and the cross-sectional t hold their 5 % size, also when the event doubles or triples" in flat(MANY)


# == 3. README "Incident history as distributions" ======================================================
HISTORY = section(README, "### Incident history as distributions")


def minutes_of(text: str) -> tuple[float, float]:
    """'3 h 56 min' → (236, 1): the minutes and the resolution printed."""
    m = re.fullmatch(r"(?:(\d+) h)? ?(?:(\d+) min)?", text)
    assert m and text, text
    h, mins = m.groups()
    return int(h or 0) * 60 + int(mins or 0), 1 if mins is not None else 60


def test_history_counts(histories):
    clouds, github = histories["issre"], histories["github"]
    n, = grab(HISTORY, r"(\d+) hand-labelled postmortem records of Azure")
    assert int(n) == clouds.attrs["import_report"]["records"]
    n, = grab(HISTORY, r"the table keeps the final, so (\d+) incidents\)")
    assert int(n) == len(clouds) == clouds.attrs["import_report"]["records"] - \
        clouds.attrs["import_report"]["preliminary_report_superseded"]
    n, a, b = grab(HISTORY, r"and (\d+) GitHub status-page incidents \((\d{4})–(\d{4})\)")
    assert int(n) == len(github) and (int(a), int(b)) == (github.start.min().year, github.start.max().year)
    assert "records of Azure, Google Cloud and AWS" in flat(HISTORY)
    assert set(clouds.provider) == {"Azure", "Google", "AWS"}


def test_history_stage_table(stats):
    names = {"time to detect": "ttd", "time to identify": "tti", "time to mitigate": "ttm", "time to resolve": "ttr"}
    head = next(line for line in HISTORY.splitlines() if line.startswith("| stage"))
    n_issre, n_github = (int(x) for x in re.findall(r"n of (\d+)", head))
    assert n_issre == stats["issre"].loc["ttr", "N"] and n_github == stats["github"].loc["ttr", "N"]
    rows = table(HISTORY[HISTORY.index(head):])
    assert [names[r[0]] for r in rows] == list(stats["issre"].index)
    for stage, *cells in rows:
        s = names[stage]
        for (n, median, p90), key in ((cells[:3], "issre"), (cells[3:], "github")):
            row = stats[key].loc[s]
            assert int(n.split()[0]) == row.n, (s, key)
            if row.n == 0:
                assert median == p90 == "—"
                continue
            for printed, value in ((median, row["median"]), (p90, row.p90)):
                shown_min, resolution = minutes_of(printed)
                assert abs(shown_min - value) <= resolution / 2, (s, key, printed, value)


# == 4. Notebooks 04 and 05: the figures of the markdown are computed beside it ============================
def test_notebook_04_counts(histories):
    from test_facts_round3 import code

    nb = markdown("04-incident-history.ipynb")
    github = histories["github"]
    assert f"and {len(github)} incidents of GitHub's status page ({github.start.min().year}–{github.start.max().year})" in nb
    clouds = histories["issre"]
    assert f"{clouds.attrs['import_report']['records']} hand-labelled records" in nb
    assert f"the table keeps the final, so {len(clouds)} incidents" in nb
    assert f"median's {LEVEL:.0%} interval is a seeded bootstrap" in nb
    src = code("04-incident-history.ipynb")
    assert "github.start.min().year" in src and "len(github)" in src  # printed in a cell beside the text


def test_notebook_05_remaining_figures(study):
    from test_facts_round3 import code

    nb = markdown("05-markets-and-incidents.ipynb")
    (dof,) = re.findall(r"the cross-sectional tests have (\d+) degrees of freedom", nb)
    assert int(dof) == len(study.car) - 1
    assert "BMP, which allows for that, and the cross-sectional t do not reject at 5% in any window" in nb
    assert (study.tests["p cross-sectional t"] >= 0.05).all() and (study.tests["p BMP t"] >= 0.05).all()
    assert "placebo studies on real returns" in nb  # its rates are pinned in test_facts_round3
    src = code("05-markets-and-incidents.ipynb")
    assert 'day0["ar / sigma"]' in src and "degrees of freedom" in src


# == 5. docs/market.md and docs/history.md ===============================================================
def test_market_doc_figures(study):
    import incident.io.prices as prices

    text = flat(MARKET_MD)
    (n,) = grab(MARKET_MD, r"after (\d+) problems the rest are counted")
    assert int(n) == prices.MAX_PROBLEMS
    (mb,) = grab(MARKET_MD, r"regular files only, at most (\d+) MB")
    assert int(mb) * 1_000_000 == prices.MAX_BYTES
    a, b = grab(MARKET_MD, r"\(sessions −(\d+)\.\.−(\d+) by default\)")
    assert (-int(a), -int(b)) == DEFAULT_ESTIMATION
    rejecting = [w for w in study.tests.index if study.tests.loc[w, "p Corrado rank Z"] < 0.05]
    assert "On the seven incidents of `notebooks/05-markets-and-incidents.ipynb` it rejects at 5 % on days " \
           f"{', '.join(rejecting[:-1])} and {rejecting[-1]} where BMP does not" in text
    assert len(study.car) == 7 and (study.tests["p BMP t"] >= 0.05).all()
    # the simulation's sizes as tests/test_market_study.py sets them
    sim = (DATA.parent / "tests" / "test_market_study.py").read_text(encoding="utf-8")
    studies, events = grab(MARKET_MD, r"simulates (\d+) studies of (\d+) events under the null")
    assert f"studies = {studies}" in sim and f", {events}, " in sim
    assert "binomial 99.9% band" in text and "3.29 * sd" in sim  # 3.29: the normal's 99.9% two-sided quantile
    assert "more than 90% of studies" in text and "> 0.9" in sim
    assert "benchmarks/market.py` times" in text  # a measurement, not pinned


def test_history_doc_counts(histories, stats):
    issre, github = histories["issre"].attrs["import_report"], histories["github"].attrs["import_report"]
    k, i, m, n_known = grab(HISTORY_MD, r"On the shipped files: (\d+) records contradict, (\d+) identification and "
                                             r"(\d+) mitigation phases lack an earlier phase; `tti` and `ttm` are "
                                             r"known for (\d+) records each")
    assert (int(k), int(i), int(m)) == (issre["phases_exceed_duration"], issre["tti_phase_only"],
                                        issre["ttm_phase_only"])
    assert int(n_known) == stats["issre"].loc["tti", "n"] == stats["issre"].loc["ttm", "n"]
    n_read, n_ids = grab(HISTORY_MD, r"the shipped files hold (\d+) records under (\d+) ids")
    assert int(n_read) == issre["records"] and int(n_ids) == len(histories["issre"])
    assert issre["preliminary_report_superseded"] == int(n_read) - int(n_ids)
    (rows,) = grab(HISTORY_MD, r"So the table has (\d+) rows for")
    assert int(rows) == len(histories["issre"])
    from incident.io.issre import read_issre_stages

    view = read_issre_stages(DATA / "history" / "issre22")
    a, b, c, d = grab(HISTORY_MD, r"the labels mix readings: (\d+) of the (\d+) records giving both put detection "
                                  r"after identification, (\d+) of (\d+) identification after")
    both = view.dropna(subset=["detect", "identify"])
    assert (int(a), int(b)) == ((both.detect > both.identify).sum(), len(both))
    both = view.dropna(subset=["identify", "mitigate"])
    assert (int(c), int(d)) == ((both.identify > both.mitigate).sum(), len(both))
    row = view.set_index("id").loc["azure-20190702-1"]
    assert f"`azure-20190702-1` gives {row.detect:g} + {row.identify:g} + {row.mitigate:g} = {row.duration:g}, " \
           "exactly its duration" in flat(HISTORY_MD)
    assert row.detect + row.identify + row.mitigate == row.duration
    (k,) = grab(HISTORY_MD, r"\*\*GitHub retroactive incidents\.\*\* (\d+) incidents were posted once")
    assert int(k) == github["retroactive_without_duration"]
    (k,) = grab(HISTORY_MD, r"differs from `resolved_at − started_at` in (\d+) records")
    assert int(k) == github["duration_minutes_disagrees"]
    (k,) = grab(HISTORY_MD, r"Scheduled maintenance \((\d+) records")
    assert int(k) == github["maintenance"]
    (k,) = grab(HISTORY_MD, r"the listed components \((\d+) of them inferred")
    assert int(k) == github["components_inferred"]
    n, big_n = grab(HISTORY_MD, r"a stage known for (\d+) of (\d+) incidents describes")
    assert (int(n), int(big_n)) == (stats["issre"].loc["tti", "n"], stats["issre"].loc["tti", "N"])


def test_history_doc_constants():
    from incident.io.history_parquet import MAX_MEMORY_BYTES, MAX_MEMORY_ROWS

    text = flat(HISTORY_MD)
    assert f"{LEVEL:.0%} percentile bootstrap. {N_BOOT:,} resamples" in text
    assert f"`numpy.random.default_rng({SEED})`" in text and f"(seed {SEED})" in text
    assert f"Given only where n ≥ {MIN_N_FOR_CI} (`MIN_N_FOR_CI`)" in text
    d, i, m = grab(HISTORY_MD, r"detected ≤ (\d+) min, identified ≤ (\d+) min, mitigated ≤ (\d+) min")
    assert (float(d), float(i), float(m)) == (TARGETS["ttd"], TARGETS["tti"], TARGETS["ttm"])
    (rows,) = grab(HISTORY_MD, r"\(`MAX_MEMORY_ROWS`, (\d+) million rows")
    assert int(rows) * 1_000_000 == MAX_MEMORY_ROWS
    (gb,) = grab(HISTORY_MD, r"`MAX_MEMORY_BYTES`, (\d+) GB decompressed")
    assert int(gb) * 1_000_000_000 == MAX_MEMORY_BYTES


def test_history_doc_real_data_table(stats):
    body = section(HISTORY_MD, "## On the real data (seed 16)")
    head = next(line for line in body.splitlines() if line.startswith("| stage"))
    n_issre, n_github = (int(x) for x in re.findall(r"n / (\d+)", head))
    assert (n_issre, n_github) == (stats["issre"].loc["ttr", "N"], stats["github"].loc["ttr", "N"])
    rows = table(body)
    assert [r[0] for r in rows] == list(stats["issre"].index)
    for stage, *cells in rows:
        for (n, median, p90, ci), key in ((cells[:4], "issre"), (cells[4:], "github")):
            row = stats[key].loc[stage]
            assert int(n) == row.n, (stage, key)
            if row.n == 0:
                assert median == p90 == ci == "–"
                continue
            same(median, row["median"]), same(p90, row.p90)
            lo, hi = ci.split("–")
            same(lo, row.median_ci_low), same(hi, row.median_ci_high)


def test_history_doc_rank_against_bootstrap(histories, stats):
    rank = stage_stats(histories["both"], method="rank").loc["ttr"]
    boot = stats["both"].loc["ttr"]
    r_lo, r_hi, b_lo, b_hi = grab(HISTORY_MD, r"\(ttr, both histories: (\d+)–(\d+) against (\d+)–(\d+) minutes\)")
    same(r_lo, rank.median_ci_low), same(r_hi, rank.median_ci_high)
    same(b_lo, boot.median_ci_low), same(b_hi, boot.median_ci_high)


def test_timings_are_said_to_be_measured():
    """Timings are measurements of one machine: the prose says so where they stand; they are not pinned."""
    assert "take about 0.4 s, measured with `benchmarks/market.py`" in flat(README)
    assert "on this 2-core machine" in flat(section(README, "### Incident history as distributions"))
    text = flat(HISTORY_MD)
    assert "takes about 0.6 ms (measured on this machine)" in text
    assert "## Limits, measured" in HISTORY_MD and "On this machine (2 cores" in text
