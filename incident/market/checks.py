"""The market section checked against its data files, before a report or a validation says it is sound."""

from __future__ import annotations

from incident.analysis.claims import check_claims
from incident.core.model import Incident
from incident.market.dayzero import day0_sensitivity
from incident.market.eventstudy import MODELS
from incident.market.reaction import market_event_study, market_summary, rebased_prices
from incident.market.sessions import session_table

__all__ = ["check_market"]


def check_market(inc: Incident) -> None:
    """Compute what the reports compute from the market section; IncidentError naming the file and field if any fails.

    `incident.load` checks the file itself (its fields and the rules between
    them); this is the check that needs the data files and the exchange
    calendar, which the loader, below this layer, cannot do: the price files
    are read, day 0 is placed, the event study is fitted under every model,
    every milestone gets its session, the prices are rebased, the claims are
    checked and every alternative day 0 is studied. `incident validate` and
    the report call it before anything runs, so a broken price file or an
    impossible day 0 is one line and exit 2, never a notebook that fails halfway. Every result is kept on `inc`, so the
    report computes nothing twice.
    """
    if inc.market is None:
        return
    market_summary(inc)  # the price files, their flagged bars and gaps, day 0 and the default event study
    for model in MODELS:
        market_event_study(inc, model=model)
    session_table(inc)
    rebased_prices(inc)
    check_claims(inc)
    day0_sensitivity(inc)  # every alternative day 0 is a session its prices can study
