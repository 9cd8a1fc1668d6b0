"""Claims about the share price, checked against the incident's price files.

Prices in the files are rounded to 0.01, so a price read from them stands
for anything within ±0.005 of it; claims are judged with that rounding on
the data's side and the stated figure's own rounding on the source's side.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from incident.analysis.verdicts import CANNOT_CHECK, CONSISTENT, MISMATCH, judge
from incident.analysis.verdicts import verdict as _result
from incident.core.model import MARKET_CHECK_KINDS, Claim, Incident, Market, NearHighCheck, PriceCheck, ReturnCheck
from incident.io.calendars import sessions
from incident.io.prices import artefacts, market_prices

KINDS = MARKET_CHECK_KINDS  # the claims checked against the price files
PRICE_HALF = 0.005  # half the 0.01 the prices are rounded to

Prices = tuple[pd.DataFrame, pd.DataFrame]


def check_market_claim(inc: Incident, claim: Claim, prices: Prices | None = None) -> dict:
    """Dispatch a price, return or near-high claim to its check."""
    check: dict[str, Callable[..., dict]] = {
        "price": check_price_claim, "return": check_return_claim, "near_high": check_near_high_claim}
    return check[claim.check.kind](inc, claim.check, claim.stated, prices)


def check_price_claim(inc: Incident, check: PriceCheck, stated: float | None, prices: Prices | None = None) -> dict:
    """A stated price against the bar of that date (open, high, low or close)."""
    name, df = _series(inc, check.series, prices)
    day = pd.Timestamp(check.date)
    if day not in df.index:
        return _result(None, None, None, CANNOT_CHECK, 0.0, _no_bar(name, day))
    if check.field not in df.columns:  # a file of closes alone
        return _result(None, None, None, CANNOT_CHECK, 0.0, f"the {name} price file has no {check.field} prices")
    bar = df.loc[day]
    value = float(bar[check.field])
    # a stated price is quoted to the cent too, even when it ends in 0 (6.20 is stored as 6.2)
    status, tol = judge(stated, value - PRICE_HALF, value + PRICE_HALF, stated_half=PRICE_HALF)
    note = f"{name} {check.field} on {check.date}: {value:.2f}"
    if status == MISMATCH:
        note = f"stated {stated:g}, but the {check.field} of {name} on {check.date} was {value:.2f}"
        others = [f for f in ("open", "high", "low", "close")
                  if f != check.field and f in bar.index and _same(stated, float(bar[f]))]
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
    expected_prev = sessions(prev_day, day, _market(inc).exchange)
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
    listing_date = _market(inc).listing_date
    listing = pd.Timestamp(listing_date) if listing_date else None
    complete = listing is not None and df.index[0] <= listing
    if complete and listing is not None:
        since = f"since listing ({listing.date()})"
    else:
        since = f"in the data (from {df.index[0].date()})"
    note = (
        f"close {close:.2f} on {check.date} is {below:.1f}% below the highest close {since}, "
        f"{top:.2f} on {top_day.date()}; 'near' means within {limit:g}%"
    )
    if "high" in history.columns:  # not in a file of closes alone
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
    market = _market(inc)
    return (market.ticker, stock) if which == "stock" else (market.benchmark, bench)


def _market(inc: Incident) -> Market:
    """The market section; validation refuses a market claim without one, so only an unchecked incident lacks it."""
    if inc.market is None:
        raise ValueError(f"incident {inc.id!r} has no market section")
    return inc.market


def _same(stated: float | None, value: float) -> bool:
    return stated is not None and judge(stated, value - PRICE_HALF, value + PRICE_HALF, PRICE_HALF)[0] == CONSISTENT


def _no_bar(name: str, day: pd.Timestamp) -> str:
    return f"no {name} bar on {day.date()} (not a session, or outside the price file)"


def _flag_note(df: pd.DataFrame, day: pd.Timestamp) -> str:
    flagged = artefacts(df.loc[[day]])
    return f" (flagged bar on {day.date()}: {flagged['reason'].iloc[0]})" if len(flagged) else ""
