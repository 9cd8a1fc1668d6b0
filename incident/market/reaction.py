"""The market's reaction to an incident: the event study of its stock.

Glue between an `Incident` and the pure pieces: `incident.io.prices` (bars
and their artefacts), `sessions` (day 0 on the exchange calendar) and
`eventstudy`. Claims about prices are checked in
`incident.analysis.price_claims`.
"""

from __future__ import annotations

import pandas as pd

from incident.market.eventstudy import DEFAULT_ESTIMATION, DEFAULT_WINDOWS, EventStudy, event_study, window_label
from incident.core.model import Incident
from incident.io.prices import artefacts, check_gaps, market_prices
from incident.market.sessions import day_zero, sessions

Prices = tuple[pd.DataFrame, pd.DataFrame]


# -- event study --------------------------------------------------------------
def excluded_bars(inc: Incident, prices: Prices | None = None) -> pd.DataFrame:
    """Flagged bars of the stock and the benchmark (left out of every fit)."""
    stock, bench = prices or market_prices(inc)
    parts = []
    for name, df in ((inc.market.ticker, stock), (inc.market.benchmark, bench)):
        flagged = artefacts(df).reset_index()
        flagged.insert(0, "series", name)
        parts.append(flagged)
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["date", "series"], kind="stable").reset_index(drop=True)


def market_event_study(
    inc: Incident,
    model: str = "market",
    estimation: tuple[int, int] = DEFAULT_ESTIMATION,
    windows=DEFAULT_WINDOWS,
    span: tuple[int, int] | None = None,
    prices: Prices | None = None,
) -> EventStudy:
    """The event study of the incident's stock against its benchmark.

    Day 0 is the session of the incident's start (`sessions.day_zero`);
    days are counted in the exchange's sessions; flagged bars of either
    series are left out of the fit.
    """
    stock, bench = prices or market_prices(inc)
    flagged = excluded_bars(inc, (stock, bench))["date"]
    days = sessions(min(stock.index[0], bench.index[0]), max(stock.index[-1], bench.index[-1]), inc.market.exchange)
    return event_study(
        stock["close"], bench["close"], day_zero(inc),
        estimation=estimation, windows=windows, model=model, exclude=flagged, span=span, sessions=days,
    )


def market_summary(inc: Incident, model: str = "market") -> dict:
    """The event study's key figures, JSON-ready (returns as fractions)."""
    prices = market_prices(inc)
    result = market_event_study(inc, model=model, prices=prices)
    flagged = excluded_bars(inc, prices)
    gaps = pd.concat([check_gaps(df, inc.market.exchange) for df in prices])
    car = result.car
    return {
        "ticker": inc.market.ticker,
        "benchmark": inc.market.benchmark,
        "exchange": inc.market.exchange,
        "event_day": _day(result.event_day),
        "estimation_window": window_label(result.estimation),
        "estimation_dates": [_day(d) for d in result.estimation_dates],
        "n": result.n,
        "model": result.model,
        "alpha": result.alpha,
        "beta": result.beta,
        "sigma": result.sigma,
        "car": {w: float(v) for w, v in car["car"].items()},
        "se": {w: float(v) for w, v in car["se"].items()},
        "t": {w: float(v) for w, v in car["t"].items()},
        "p": {w: float(v) for w, v in car["p"].items()},
        "excluded_bars": [
            {"series": r.series, "date": _day(r.date), "reason": r.reason} for r in flagged.itertuples()
        ],
        "excluded_returns": [_day(d) for d in result.excluded],
        "missing_sessions": sorted({_day(d) for d in gaps.loc[gaps["problem"] == "missing session", "date"]}),
    }


def rebased_prices(inc: Incident, base_date=None, prices: Prices | None = None) -> pd.DataFrame:
    """Closes of the stock and its benchmark (columns named by ticker), 100 at `base_date`.

    The base defaults to the last session before day 0 on which both have a
    close. Flagged bars (vendor placeholders) are left out as NaN.
    """
    stock, bench = prices or market_prices(inc)
    closes = pd.DataFrame({inc.market.ticker: stock["close"], inc.market.benchmark: bench["close"]})
    for name, dates in excluded_bars(inc, (stock, bench)).groupby("series")["date"]:
        closes.loc[closes.index.isin(dates), name] = float("nan")
    if base_date is None:
        before = closes[closes.index < day_zero(inc)].dropna()
        if before.empty:
            raise ValueError(f"no close of both {', '.join(closes.columns)} before the incident")
        base = before.index[-1]
    else:
        base = pd.Timestamp(base_date)
    if base not in closes.index or closes.loc[base].isna().any():
        raise ValueError(f"no close of both series on {base.date()} to rebase to")
    out = closes / closes.loc[base] * 100
    out.index.name = "date"
    out.attrs["base_date"] = base
    return out


def _day(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()
