"""Day 0 as a judgement: the event study at the rule's day 0 and at each alternative the file states.

The session rule (`incident.market.sessions`) places day 0 on the first
session whose trading could react to the event's start. Some events are
learned of later: Atlassian's outage began on 2022-04-05, but its public
update came on 2022-04-12; Okta's admission that up to 366 customers may
be affected came after the close. An incident file states such days in
`market.day0_alternatives`, each with its reason and sources, and
`day0_sensitivity` runs the incident's own event study at every one of them,
so that a reader sees how much a result owes to the choice of day 0.

Each study is the incident's own (its prices, flagged bars, calendar, model
and windows) with the estimation window placed before its own day 0; the
numbers are computed, never read from the file. An alternative that is not a
session of the exchange, or the rule's day 0 itself, is an `IncidentError`
naming `market.day0_alternatives[i].day`.
"""

from __future__ import annotations

import pandas as pd

from incident.core.model import Incident
from incident.io.prices import market_prices
from incident.market.eventstudy import DEFAULT_ESTIMATION, DEFAULT_WINDOWS, PriceDataError, event_study
from incident.market.reaction import excluded_bars, market_event_study, market_section, price_sessions
from incident.market.sessions import _error, calendar, day_zero, day_zero_field, day_zero_milestone, day_zero_rule

STATISTICS = ("car", "t", "p")


def day0_choices(inc: Incident) -> pd.DataFrame:
    """Day 0 by the rule (or the file's override) and each alternative the file states, one row each.

    Columns: day0 (the session), choice ("rule", "override" or
    "alternative"), field (where the incident file sets it), reason (the
    rule applied, or the file's reason) and sources (ids, comma-separated:
    the milestone's that the rule placed, the alternative's own).
    The first row is the day 0 every other table of the incident uses.
    """
    return inc.memo("day0_choices", lambda: _day0_choices(inc))


def _day0_choices(inc: Incident) -> pd.DataFrame:
    market = market_section(inc)
    day0 = day_zero(inc)
    overridden = market.day0 is not None
    start = day_zero_milestone(inc)
    rows = [{"day0": day0, "choice": "override" if overridden else "rule", "field": day_zero_field(inc),
             "reason": market.day0_reason if overridden else day_zero_rule(inc),
             "sources": ", ".join(inc.milestones_by_id[start].sources) if start else ""}]
    c = calendar(market.exchange)
    for i, alt in enumerate(market.day0_alternatives):
        day, field = pd.Timestamp(alt.day), f"market.day0_alternatives[{i}].day"
        if not (c.first_session <= day <= c.last_session) or not c.is_session(day):
            raise _error(inc, field, f"{day.date()} is not a {c.name} session; an alternative day 0 must be one")
        if day == day0:
            raise _error(inc, field, f"{day.date()} is day 0 already ({rows[0]['choice']}); an alternative is another day")
        rows.append({"day0": day, "choice": "alternative", "field": f"market.day0_alternatives[{i}]",
                     "reason": alt.reason, "sources": ", ".join(alt.sources)})
    out = pd.DataFrame(rows, columns=["day0", "choice", "field", "reason", "sources"])
    out["day0"] = pd.DatetimeIndex(out["day0"]).as_unit("ns")
    return out


def day0_sensitivity(
    inc: Incident,
    windows=DEFAULT_WINDOWS,
    model: str = "market",
    estimation: tuple[int, int] = DEFAULT_ESTIMATION,
) -> pd.DataFrame:
    """Each window's CAR, t and p at the rule's day 0 and at each alternative day 0, side by side.

    Rows are windows ("0..4"); columns are (day0, statistic), day0 as
    "YYYY-MM-DD" in the order of `day0_choices` (the rule's first) and
    statistic one of car, t, p (CAR as a fraction, two-sided p). The first
    day 0's columns are `market_event_study`'s numbers; each alternative's
    come from the same study moved to that day (estimation window included).
    """
    windows = tuple((int(a), int(b)) for a, b in windows)
    key = ("day0_sensitivity", windows, model, tuple(estimation))
    return inc.memo(key, lambda: _day0_sensitivity(inc, windows, model, tuple(estimation)))


def _day0_sensitivity(inc: Incident, windows, model: str, estimation) -> pd.DataFrame:
    choices = day0_choices(inc)
    tables = {f"{choices.at[0, 'day0']:%Y-%m-%d}": market_event_study(
        inc, model=model, estimation=estimation, windows=windows).car[list(STATISTICS)]}
    stock, bench = market_prices(inc)
    flagged = excluded_bars(inc)["date"]
    days = price_sessions(stock, bench, market_section(inc).exchange)
    for _, choice in choices.iloc[1:].iterrows():
        try:
            result = event_study(stock["close"], bench["close"], choice["day0"], estimation=estimation,
                                 windows=windows, model=model, exclude=flagged, sessions=days)
        except ValueError as exc:
            path = ({"stock": "market.prices", "benchmark": "market.benchmark_prices"}[exc.series]
                    if isinstance(exc, PriceDataError) else choice["field"] + ".day")
            raise _error(inc, path, f"the event study at the alternative day 0 {choice['day0'].date()}: {exc}") from None
        tables[f"{choice['day0']:%Y-%m-%d}"] = result.car[list(STATISTICS)]
    out = pd.concat(tables, axis=1, names=["day0", "statistic"])
    out.index.name = "window"
    return out

