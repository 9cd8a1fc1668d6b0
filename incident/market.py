"""The market's reaction to an incident: event study and market claims.

Glue between an `Incident` and the pure pieces: `prices` (bars and their
artefacts), `sessions` (day 0 on the exchange calendar) and `eventstudy`.
Claim checks return the dict `claims.check_claims` puts in its table.

Prices in the files are rounded to 0.01, so a price read from them stands
for anything within ±0.005 of it; claims are judged with that rounding on
the data's side and the stated figure's own rounding on the source's side.
"""

from __future__ import annotations

import pandas as pd

from .claims import CANNOT_CHECK, CONSISTENT, MISMATCH, judge
from .eventstudy import DEFAULT_ESTIMATION, DEFAULT_WINDOWS, EventStudy, event_study, window_label
from .model import Claim, Incident, NearHighCheck, PriceCheck, ReturnCheck
from .prices import artefacts, check_gaps, market_prices
from .sessions import day_zero, sessions

PRICE_HALF = 0.005  # half the 0.01 the prices are rounded to

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


# -- claims -------------------------------------------------------------------
def check_market_claim(inc: Incident, claim: Claim, prices: Prices | None = None) -> dict:
    """Dispatch a price, return or near-high claim to its check."""
    check = {"price": check_price_claim, "return": check_return_claim, "near_high": check_near_high_claim}
    return check[claim.check.kind](inc, claim.check, claim.stated, prices)


def check_price_claim(inc: Incident, check: PriceCheck, stated: float | None, prices: Prices | None = None) -> dict:
    """A stated price against the bar of that date (open, high, low or close)."""
    name, df = _series(inc, check.series, prices)
    day = pd.Timestamp(check.date)
    if day not in df.index:
        return _result(None, None, None, CANNOT_CHECK, 0.0, _no_bar(name, day))
    bar = df.loc[day]
    value = float(bar[check.field])
    # a stated price is quoted to the cent too, even when it ends in 0 (6.20 is stored as 6.2)
    status, tol = judge(stated, value - PRICE_HALF, value + PRICE_HALF, stated_half=PRICE_HALF)
    note = f"{name} {check.field} on {check.date}: {value:.2f}"
    if status == MISMATCH:
        note = f"stated {stated:g}, but the {check.field} of {name} on {check.date} was {value:.2f}"
        others = [f for f in ("open", "high", "low", "close") if f != check.field and _same(stated, float(bar[f]))]
        if others:
            note += f"; {stated:g} was that day's {' and '.join(others)}"
    return _result(value, value - PRICE_HALF, value + PRICE_HALF, status, tol, note + _flag_note(df, day))


def check_return_claim(inc: Incident, check: ReturnCheck, stated: float | None, prices: Prices | None = None) -> dict:
    """A stated daily return (percent) against close over the previous session's close."""
    name, df = _series(inc, check.series, prices)
    day = pd.Timestamp(check.date)
    if day not in df.index:
        return _result(None, None, None, CANNOT_CHECK, 0.0, _no_bar(name, day))
    pos = df.index.get_loc(day)
    if pos == 0:
        return _result(None, None, None, CANNOT_CHECK, 0.0, f"no {name} bar before {check.date} to compute a return from")
    prev_day = df.index[pos - 1]
    prev, close = float(df["close"].iloc[pos - 1]), float(df["close"].iloc[pos])
    computed = (close / prev - 1) * 100
    low = ((close - PRICE_HALF) / (prev + PRICE_HALF) - 1) * 100
    high = ((close + PRICE_HALF) / (prev - PRICE_HALF) - 1) * 100
    status, tol = judge(stated, low, high)
    note = f"{close:.2f} vs {prev:.2f} ({prev_day.date()} → {check.date}): {computed:+.2f}%"
    expected_prev = sessions(prev_day, day, inc.market.exchange)
    if len(expected_prev) > 2:
        note += f" (no bar for {len(expected_prev) - 2} session(s) in between)"
    for d in (prev_day, day):
        note += _flag_note(df, d)
    return _result(computed, low, high, status, tol, note)


def check_near_high_claim(
    inc: Incident, check: NearHighCheck, stated: float | None = None, prices: Prices | None = None
) -> dict:
    """Whether the close of a date was within `check.within` of the highest close so far.

    `computed` is how far below that high the close was, in percent; "so far"
    starts at the listing date when the prices reach back to it.
    """
    name, df = _series(inc, getattr(check, "series", "stock"), prices)
    day = pd.Timestamp(check.date)
    if day not in df.index:
        return _result(None, None, None, CANNOT_CHECK, 0.0, _no_bar(name, day))
    history = df.loc[:day]
    close = float(history["close"].iloc[-1])
    top_day = history["close"].idxmax()
    top = float(history["close"].max())
    below = (1 - close / top) * 100
    limit = check.within * 100
    listing = pd.Timestamp(inc.market.listing_date) if inc.market.listing_date else None
    complete = listing is not None and df.index[0] <= listing
    since = f"since listing ({listing.date()})" if complete else f"in the data (from {df.index[0].date()})"
    note = (
        f"close {close:.2f} on {check.date} is {below:.1f}% below the highest close {since}, "
        f"{top:.2f} on {top_day.date()}; 'near' means within {limit:g}%"
    )
    intraday = history["high"].idxmax()
    note += f"; highest intraday high: {float(history['high'].max()):.2f} on {intraday.date()}"
    if below > limit:
        status = MISMATCH
    elif complete:
        status = CONSISTENT
    else:
        status = CANNOT_CHECK
        note += "; the prices do not reach back to the listing, so an earlier high cannot be ruled out"
    return _result(below, below, below, status, limit, note)


# -- helpers ------------------------------------------------------------------
def _series(inc: Incident, which: str, prices: Prices | None) -> tuple[str, pd.DataFrame]:
    stock, bench = prices or market_prices(inc)
    return (inc.market.ticker, stock) if which == "stock" else (inc.market.benchmark, bench)


def _same(stated: float | None, value: float) -> bool:
    return stated is not None and judge(stated, value - PRICE_HALF, value + PRICE_HALF, PRICE_HALF)[0] == CONSISTENT


def _no_bar(name: str, day: pd.Timestamp) -> str:
    return f"no {name} bar on {day.date()} (not a session, or outside the price file)"


def _flag_note(df: pd.DataFrame, day: pd.Timestamp) -> str:
    flagged = artefacts(df.loc[[day]])
    return f" (flagged bar on {day.date()}: {flagged['reason'].iloc[0]})" if len(flagged) else ""


def _result(computed, low, high, status, tolerance, note) -> dict:
    return {"computed": computed, "low": low, "high": high, "tolerance": tolerance, "status": status, "note": note}


def _day(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()
