"""The market's reaction to an incident: the event study of its stock.

Glue between an `Incident` and the pure pieces: `incident.io.prices` (bars
and their artefacts), `sessions` (day 0 on the exchange calendar) and
`eventstudy`. Claims about prices are checked in
`incident.analysis.price_claims`.

The pure functions raise ValueError for arguments they cannot use; here every
such error is caused by the incident's data (its day 0, its prices), so it is
raised again as `IncidentError` naming the incident file and the field
(`market.event_start`, `market.day0`, ...), which the command line prints as
one line and exit status 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from incident.market.eventstudy import (
    DEFAULT_ESTIMATION, DEFAULT_WINDOWS, EventStudy, PriceDataError, check_window_returns, event_returns, event_study,
    window_label,
)
from incident.core.model import Incident, Market
from incident.io.loader import file_label
from incident.io.prices import artefacts, check_gaps, market_prices
from incident.core.errors import IncidentError
from incident.market.sessions import day_zero, day_zero_field, sessions

Prices = tuple[pd.DataFrame, pd.DataFrame]


def market_section(inc: Incident) -> Market:
    """The incident's market section; IncidentError naming the file when it has none (as reading its prices says)."""
    if inc.market is None:
        raise IncidentError.single(file_label(inc), "the incident has no market section", path="market")
    return inc.market


# -- event study --------------------------------------------------------------
def excluded_bars(inc: Incident, prices: Prices | None = None, keep_placeholder_closes: bool = False) -> pd.DataFrame:
    """Flagged bars of the stock and the benchmark (left out of every fit); once per incident for its own prices.

    With `keep_placeholder_closes`, a bar whose only flag is the vendor's
    placeholder (open = high = low = close, volume 0: its close may be right,
    the other fields were filled in) is not excluded: its close is used.
    """
    if prices is None:
        return inc.memo(("excluded_bars", keep_placeholder_closes),
                        lambda: excluded_bars(inc, market_prices(inc), keep_placeholder_closes))
    stock, bench = prices
    market = market_section(inc)
    parts = []
    for name, df in ((market.ticker, stock), (market.benchmark, bench)):
        flagged = artefacts(df)
        if keep_placeholder_closes:
            flagged = flagged[~placeholder_only(flagged)]
        flagged = flagged.reset_index()
        flagged.insert(0, "series", name)
        parts.append(flagged)
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["date", "series"], kind="stable").reset_index(drop=True)


def placeholder_only(flagged: pd.DataFrame) -> pd.Series:
    """Flagged bars (`artefacts`' rows) whose only fault is the placeholder: open = high = low = close, volume 0.

    No other rule can fire on such a bar (all four prices are equal and the
    volume is 0), so its close is as good as the vendor's close ever is.
    """
    if flagged.empty or not {"open", "high", "low", "close", "volume"} <= set(flagged.columns):
        return pd.Series(False, index=flagged.index)
    o, h, l, c, v = (flagged[k] for k in ("open", "high", "low", "close", "volume"))
    return (o == h) & (h == l) & (l == c) & (v == 0)


def market_event_study(
    inc: Incident,
    model: str = "market",
    estimation: tuple[int, int] = DEFAULT_ESTIMATION,
    windows=DEFAULT_WINDOWS,
    span: tuple[int, int] | None = None,
    prices: Prices | None = None,
    keep_placeholder_closes: bool = False,
) -> EventStudy:
    """The event study of the incident's stock against its benchmark.

    Day 0 is the session of the incident's start (`sessions.day_zero`);
    days are counted in the exchange's sessions; flagged bars of either
    series are left out of the fit (but see `excluded_bars`). Computed once
    per incident and arguments for its own prices; other `prices` are
    studied afresh.
    """
    if prices is not None:
        return _market_event_study(inc, model, estimation, windows, span, prices, keep_placeholder_closes)
    key = ("event_study", model, estimation, tuple(map(tuple, windows)), span, keep_placeholder_closes)
    return inc.memo(key, lambda: _market_event_study(inc, model, estimation, windows, span, None,
                                                     keep_placeholder_closes))


def _market_event_study(inc, model, estimation, windows, span, prices, keep=False) -> EventStudy:
    def study(stock, bench, day0, **kwargs):
        return event_study(stock, bench, day0, estimation=estimation, windows=windows, model=model, span=span, **kwargs)

    return _on_prices(inc, prices, study, keep)


def price_sessions(stock: pd.DataFrame, bench: pd.DataFrame, calendar) -> pd.DatetimeIndex:
    """The exchange's sessions from the first to the last day of either price table."""
    return sessions(min(stock.index[0], bench.index[0]), max(stock.index[-1], bench.index[-1]), calendar)


def _on_prices(inc: Incident, prices: Prices | None, compute, keep_placeholder_closes: bool = False):
    """`compute(stock closes, benchmark closes, day 0, exclude=flagged days, sessions=...)` on the incident's
    prices; a ValueError (day 0 outside the prices, say) becomes an IncidentError naming day 0's field."""
    stock, bench = prices or market_prices(inc)
    day0 = day_zero(inc)
    try:
        return compute(stock["close"], bench["close"], day0,
                       exclude=excluded_bars(inc, prices, keep_placeholder_closes)["date"],
                       sessions=price_sessions(stock, bench, market_section(inc).exchange))
    except ValueError as exc:
        if isinstance(exc, IncidentError):
            raise
        # what the prices cannot give is said at the price file; the rest (too few sessions) at day 0's field
        path = ({"stock": "market.prices", "benchmark": "market.benchmark_prices"}[exc.series]
                if isinstance(exc, PriceDataError) else day_zero_field(inc))
        raise IncidentError.single(
            file_label(inc),
            f"day 0 is {day0.date()}: {exc} (prices {_day(stock.index[0])}..{_day(stock.index[-1])})",
            path=path,
        ) from None


STUDY_WINDOWS: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (0, 4), (-1, 1))
FIGURE_SPAN = (-10, 20)  # the days kept for the figures, where prices exist; no statistic uses them


def incident_returns(inc: Incident, first: int, last: int, prices: Prices | None = None, pad_to: int | None = None,
                     windows=(), keep_placeholder_closes: bool = False) -> pd.DataFrame:
    """The incident's stock and benchmark returns from event day `first` to `last` (see `eventstudy.event_returns`).

    Days after `last` up to `pad_to` are kept where prices exist (NaN after);
    a session without a close inside one of `windows` is an IncidentError
    naming it and the price file, never a NaN CAR.
    """
    def compute(stock, bench, day0, **kwargs):
        r = event_returns(stock, bench, day0, first, last, pad_to=pad_to, **kwargs)
        check_window_returns(r, windows, stock, bench)
        return r

    return _on_prices(inc, prices, compute, keep_placeholder_closes)


def incidents_study(
    incidents,
    windows=STUDY_WINDOWS,
    model: str = "market",
    estimation: tuple[int, int] = DEFAULT_ESTIMATION,
    span: tuple[int, int] = FIGURE_SPAN,
    rank_span: tuple[int, int] | None = None,
    keep_placeholder_closes: bool = False,
):
    """The study of many incidents' stocks (`study.market_study`), each on its own calendar and benchmark.

    Each event's returns are counted in its own exchange's sessions from its
    own day 0; flagged bars are left out of its fit (see `excluded_bars` for
    `keep_placeholder_closes`). Each event needs prices over its estimation
    window and its event windows only; the figure days of `span` after the
    last price are NaN. `rank_span` as in `market_study` (default: the
    estimation window plus the tested window). Event windows that share
    calendar dates are found (`MarketStudy.overlaps`) and the KP-adjusted
    tests added. `events` of the result holds id, ticker, benchmark,
    exchange, day0 and the rule that set it.
    """
    from incident.market.sessions import day_zero_rule
    from incident.market.study import market_study

    windows = [(int(a), int(b)) for a, b in windows]
    if not windows:
        raise IncidentError.single("<study>", "give at least one event window")
    first = min(estimation[0], span[0], rank_span[0] if rank_span else 0)
    last = max(b for _, b in windows) if rank_span is None else max(rank_span[1], *(b for _, b in windows))
    rows: list[dict[str, Any]] = []
    stock: list[np.ndarray] = []
    bench: list[np.ndarray] = []
    dates: list[np.ndarray] = []
    seen: dict[str, Incident] = {}
    for inc in incidents:
        if inc.id in seen:  # one event counted twice would halve every test's standard error for nothing
            where = "the same folder" if seen[inc.id].folder == inc.folder else file_label(seen[inc.id])
            raise IncidentError.single(file_label(inc), f"incident {inc.id!r} is in the study twice ({where}); "
                                                        "give each incident once", path="id")
        seen[inc.id] = inc
        r = incident_returns(inc, first, last, pad_to=span[1], windows=windows,
                             keep_placeholder_closes=keep_placeholder_closes)
        market = market_section(inc)
        event = (market.ticker.strip().casefold(), inc.market.exchange, r.at[0, "date"])
        twin = next((row["id"] for row in rows if (row["ticker"].strip().casefold(), row["exchange"], row["day0"])
                     == event), None)
        if twin is not None:  # the same returns twice: a cross-sectional variance of zero, tests infinite
            raise IncidentError.single(file_label(inc), f"the same event as incident {twin!r} ({market.ticker}, "
                                                        f"day 0 {_day(event[2])}); give each event once", path="market")
        # a flagged bar is left out of the fit, as in the single-event study; in the event window it stays
        est = (r.index <= estimation[1]) & r["flagged"].to_numpy()
        stock.append(r["stock"].mask(est).to_numpy(float))
        bench.append(r["benchmark"].mask(est).to_numpy(float))
        dates.append(r["date"].to_numpy("datetime64[ns]"))
        rows.append({"id": inc.id, "ticker": market.ticker, "benchmark": market.benchmark,
                     "exchange": market.exchange, "day0": r.at[0, "date"], "rule": day_zero_rule(inc)})
    events = pd.DataFrame(rows).set_index("id")
    days = range(first, max(last, span[1]) + 1)
    try:
        return market_study(stock, bench, days, estimation, windows, model=model, span=span, events=events,
                            rank_span=rank_span, dates=np.array(dates))
    except ValueError as exc:  # every event passed its own checks: what is left is about the arguments
        raise IncidentError.single("<study>", str(exc)) from None


def market_summary(inc: Incident, model: str = "market") -> dict:
    """The event study's key figures, JSON-ready (returns as fractions)."""
    prices = market_prices(inc)
    market = market_section(inc)
    result = market_event_study(inc, model=model)
    flagged = excluded_bars(inc)
    gaps = pd.concat([check_gaps(df, market.exchange) for df in prices])
    car = result.car
    return {
        "ticker": market.ticker,
        "benchmark": market.benchmark,
        "exchange": market.exchange,
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
    market = market_section(inc)
    closes = pd.DataFrame({market.ticker: stock["close"], market.benchmark: bench["close"]})
    for name, dates in excluded_bars(inc, prices).groupby("series")["date"]:
        closes.loc[closes.index.isin(dates), name] = float("nan")
    if base_date is None:
        before = closes[closes.index < day_zero(inc)].dropna()
        if before.empty:
            raise IncidentError.single(file_label(inc), f"no close of both {', '.join(closes.columns)} before day 0",
                                       path=day_zero_field(inc))
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
