"""What the market-study report (`study.ipynb`) shows, as plain data: its title block, tables and prose.

A study is `incident.market.reaction.incidents_study` over incidents with a
market section. Each table here is a DataFrame of the columns shown, with the
labels and formats of its `*_COLUMNS` mapping (see `fragments.table`); the
prose of each section is a template in `templates/sections/study/`.
"""

from __future__ import annotations


import pandas as pd
from markupsafe import Markup

from incident.core.model import Incident
from incident.core.text import MISSING, count, is_missing, number, p_value, window_text
from incident.market.study import ADJUSTED, OVER_REJECTS, SIZE, TESTS, MarketStudy, conventions
from incident.report.fragments import fragment, generated

# (id, heading) in report order
SECTIONS = [
    ("events", "Events"),
    ("car", "Cumulative abnormal returns"),
    ("caar", "The mean across events, and its tests"),
    ("conventions", "Conventions, and which tests hold their size"),
    ("day-0", "Day 0, event by event"),
    ("sources", "Price sources"),
]
HEADINGS = dict(SECTIONS)

EVENT_COLUMNS = {
    "id": ("Incident", "text"),
    "ticker": ("Ticker", "text"),
    "benchmark": ("Benchmark", "text"),
    "exchange": ("Exchange", "text"),
    "day0": ("Day 0", "date"),
    "rule": ("Day 0 set by", "text"),
    "alpha": ("α per session", "rate"),
    "beta": ("β", "ratio"),
    "sigma": ("Residual σ per session", "spread"),
    "n": ("Returns in the fit", "count"),
}
TEST_COLUMNS = {
    "window": ("Window (sessions)", "text"),
    "n": ("Events", "count"),
    "caar": ("CAAR", "return"),
    # a test that over-rejects on real returns is marked; the conventions section says how much
    **{test: (test[0].upper() + test[1:] + (" *" if test in OVER_REJECTS else ""), "written") for test in TESTS},
}
CONVENTION_COLUMNS = {"convention": ("Convention", "text"), "statement": ("As computed here", "text")}
SIZE_COLUMNS = {"test": ("Test", "text"), "size": ("In placebo studies on real returns (5 % level)", "text")}
SOURCE_COLUMNS = {
    "incident": ("Incident", "text"),
    "title": ("Source", "text"),
    "publisher": ("Publisher", "text"),
    "date": ("Date", "text"),
}


def title(incidents: list[Incident], study: MarketStudy) -> dict:
    """The title block: the incidents and their tickers, the events' days, the model and windows, the prices."""
    from incident.market.reaction import market_section

    days = study.events["day0"]
    first, last = price_dates(incidents)
    files = {(inc.folder, path) for inc in incidents
             for path in (market_section(inc).prices, market_section(inc).benchmark_prices)}
    meta = [
        ("Incidents", f"{count(len(incidents))}: {', '.join(inc.id for inc in incidents)}"),
        ("Tickers", ", ".join(study.events["ticker"])),
        ("Benchmarks", ", ".join(dict.fromkeys(study.events["benchmark"]))),
        ("Events", f"day 0 from {days.min():%Y-%m-%d} to {days.max():%Y-%m-%d}, "
                   "each on its own exchange's calendar"),
        ("Model", f"{study.model} model, fitted on sessions {window_text(*study.estimation)} of each event"),
        ("Event windows", f"{windows(study)} (sessions from day 0)"),
        ("Prices", f"daily closes in {count(len(files))} price files, {first} → {last} (sources at the end)"),
        *generated(),
    ]
    return {"kicker": "Market event study", "title": f"Market reaction to {count(len(incidents))} IT incidents",
            "meta": meta, "contents": SECTIONS}


def prose(key: str, study: MarketStudy | None = None) -> Markup:
    """Section `key`'s heading and its prose (`templates/sections/study/<key>.html.j2`)."""
    view = {}
    if study is not None:
        view = {"n": count(len(study.events)), "model": study.model, "estimation": window_text(*study.estimation),
                "windows": windows(study), "clustered": study.clustered}
    return fragment(f"study/{key}", key=key, heading=HEADINGS[key], **view)


def events(study: MarketStudy) -> pd.DataFrame:
    """One row per event: ticker, benchmark, exchange, day 0 and the rule that set it, the model's fit."""
    return study.events.reset_index()


def cars(study: MarketStudy) -> pd.DataFrame:
    """Each event's CAR over each window (columns named by the windows' labels, as in `study.car`)."""
    return study.car.join(study.events["ticker"]).reset_index()


def car_columns(study: MarketStudy) -> dict:
    """The CAR table's columns: the incident, its ticker, one CAR per window ('CAR [0,+4]')."""
    return {"id": ("Incident", "text"), "ticker": ("Ticker", "text"),
            **{label: (f"CAR {window_text(row.start, row.end)}", "return") for label, row in study.tests.iterrows()}}


def tests(study: MarketStudy) -> pd.DataFrame:
    """One row per window: the events, the CAAR, each test as 'statistic (p)'; with clustered events, r̄ and the
    KP-adjusted tests too (`test_columns`)."""
    t = study.tests
    out = pd.DataFrame({"window": [window_text(a, b) for a, b in zip(t["start"], t["end"])],
                        "n": t["n"].to_numpy(), "caar": t["caar"].to_numpy()})
    for test in (*TESTS, *ADJUSTED):
        out[test] = [with_p(s, p) for s, p in zip(t[test], t[f"p {test}"])]
    out["rbar"] = t["rbar"].to_numpy()
    return out


def test_columns(study: MarketStudy) -> dict:
    """The tests table's columns: the five tests, and where event windows share dates r̄ and the adjusted t."""
    if not study.clustered:
        return TEST_COLUMNS
    return {**TEST_COLUMNS, "rbar": ("r̄ (KP)", "ratio"), **{test: (test[0].upper() + test[1:], "written")
                                                            for test in ADJUSTED}}


def clustering(study: MarketStudy) -> pd.DataFrame:
    """The pairs of events whose windows share calendar dates, by window (empty when none do)."""
    o = study.overlaps if study.overlaps is not None else pd.DataFrame(columns=["window", "event", "other"])
    return o.assign(window=[window_text(*map(int, w.split(".."))) for w in o["window"]])


CLUSTER_COLUMNS = {"window": ("Window (sessions)", "text"), "event": ("Incident", "text"),
                   "other": ("Shares calendar dates with", "text")}


def study_conventions(study: MarketStudy, flagged: str = "dropped") -> pd.DataFrame:
    """The conventions behind every number of the report, one row each (`market.study.conventions`)."""
    notes = conventions(study.model, study.estimation, study.rank_span, flagged,
                        window=lambda w: window_text(*w))  # windows as the report writes them
    notes.pop("size")
    return pd.DataFrame({"convention": [k.replace("_", " ").capitalize() for k in notes],
                         "statement": list(notes.values())})


def sizes(study: MarketStudy) -> pd.DataFrame:
    """How each test kept its size in the placebo studies on real returns (docs/market.md), one row per test
    the study shows (the adjusted ones only where its windows share dates)."""
    shown = [t for t in SIZE if t not in ADJUSTED or study.clustered]
    return pd.DataFrame({"test": [t + (" *" if t in OVER_REJECTS else "") for t in shown],
                         "size": [SIZE[t] for t in shown]})


def with_p(statistic: float, p: float) -> str:
    """'−9.74 (p < 0.001)', '−1.08 (p = 0.322)'; '—' when the test has no value."""
    if is_missing(statistic):
        return MISSING
    shown = p_value(p)
    return f"{number(statistic, '.2f')} (p {shown if shown.startswith('<') else '= ' + shown})"


def sources(incidents: list[Incident]) -> pd.DataFrame:
    """The sources each incident's market section cites (its price files' provenance)."""
    from incident.market.reaction import market_section

    rows = [{"incident": inc.id, "title": s.title, "publisher": s.publisher, "date": s.date}
            for inc in incidents for s in (inc.sources_by_id[i] for i in market_section(inc).sources)]
    return pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))


def windows(study: MarketStudy) -> str:
    """'[0,0], [0,+1], [0,+4], [−1,+1]': the event windows of the study."""
    return ", ".join(window_text(a, b) for a, b in zip(study.tests["start"], study.tests["end"]))


def price_dates(incidents: list[Incident]) -> tuple[str, str]:
    """The first and the last day of any price file of the incidents."""
    from incident.io.prices import market_prices

    days = [frame.index[i] for inc in incidents for frame in market_prices(inc) for i in (0, -1)]
    return f"{min(days):%Y-%m-%d}", f"{max(days):%Y-%m-%d}"

