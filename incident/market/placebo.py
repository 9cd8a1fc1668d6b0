"""Placebo studies on real returns: how often each test of `study` rejects a null that is true.

A placebo study draws events at random from long series of real daily
returns (the shipped `data/market-returns/`), puts nothing into them (or only
what a scenario says), runs the study's tests and records which reject at 5 %.
Over many studies the share that rejects is the test's real size: a test that
holds its size rejects about 5 % of the time, inside the binomial band of the
number of studies; one that rejects more finds effects that are not there.
Real returns have fat tails, volatility clusters and correlated residuals,
which Gaussian simulations lack (Brown and Warner 1985 did the same with CRSP
returns).

Scenarios (each event: a random stock, a random day 0, the benchmark's
returns on the same dates):

- "no event": nothing is put in;
- "variance x2", "variance x3": each event's day-0 abnormal return is
  multiplied by sqrt(2) or sqrt(3), which doubles or triples its variance and
  leaves its mean (zero under the null) where it was;
- "clustered": every stock on one random common day 0, so the windows share
  their calendar dates and the events' residuals are correlated.

Pure and seeded: the same returns, scenario, size and seed give the same
rates; each scenario draws from its own stream (`seed`, scenario's position),
so one scenario can be recomputed alone.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from incident.market.eventstudy import window_label
from incident.market.study import ADJUSTED, TESTS, abnormal, fit_models, window_tests

SCENARIOS = ("no event", "variance x2", "variance x3", "clustered")
PLACEBO_WINDOWS: tuple[tuple[int, int], ...] = ((0, 0), (0, 4))
PLACEBO_ESTIMATION = (-120, -11)


def placebo_rejections(
    returns: pd.DataFrame,
    benchmark: str,
    scenario: str = "no event",
    studies: int = 1000,
    events: tuple[int, int] = (7, 30),
    windows: Iterable[tuple[int, int]] = PLACEBO_WINDOWS,
    estimation: tuple[int, int] = PLACEBO_ESTIMATION,
    seed: int = 0,
    level: float = 0.05,
) -> pd.DataFrame:
    """One row per placebo study, one boolean column per (window, test): did the test reject at `level`?

    `returns`: simple daily returns indexed by date, one column per stock and
    one for `benchmark` (NaN before a listing). Each study has a number of
    events drawn uniformly from `events` (both included); the clustered
    scenario takes every stock once, on one day 0 they all have. Tests: the
    five of `study.TESTS` and the KP-adjusted ones (`study.ADJUSTED`).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    windows = [(int(a), int(b)) for a, b in windows]
    stocks = [c for c in returns.columns if c != benchmark]
    first, last = estimation[0], max(b for _, b in windows)
    days = np.arange(first, last + 1)
    est = (days >= estimation[0]) & (days <= estimation[1])
    values = returns[stocks].to_numpy(float)
    bench = returns[benchmark].to_numpy(float)
    dates = returns.index.to_numpy("datetime64[ns]")
    valid = _valid_day0s(values, bench, first, last)  # stocks × rows: every return from `first` to `last` known
    day0s = [np.flatnonzero(v) for v in valid]
    common = np.flatnonzero(valid.all(axis=0))
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    scale = {"variance x2": np.sqrt(2), "variance x3": np.sqrt(3)}.get(scenario, 1.0)
    offsets = days[None, :]
    rows = []
    for _ in range(studies):
        if scenario == "clustered":
            pos = rng.choice(common)
            which, at = np.arange(len(stocks)), np.full(len(stocks), pos)
        else:
            which = rng.integers(0, len(stocks), rng.integers(events[0], events[1] + 1))
            at = np.array([rng.choice(day0s[k]) for k in which])
        cols = at[:, None] + offsets
        s, m = values[cols, which[:, None]], bench[cols]
        fits = fit_models(s, m, est)
        ar, sd = abnormal(fits, s, m)
        if scale != 1.0:
            ar[:, days == 0] *= scale  # the day-0 AR, mean unchanged, variance times scale²
        rows.append({(window_label(w), test): out[f"p {test}"] < level
                     for w in windows
                     for out in [window_tests(ar, sd, fits.dof, days, est, w, dates=dates[cols])]
                     for test in (*TESTS, *ADJUSTED)})
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["window", "test"])
    return frame


def placebo_table(returns: pd.DataFrame, benchmark: str, scenarios: Iterable[str] = SCENARIOS, studies: int = 1000,
                  seed: int = 0, level: float = 0.05, **kwargs) -> pd.DataFrame:
    """Rejection rates by scenario and window (rows) and test (columns), with the band a test of true size keeps.

    Columns: one per test (the share of studies that rejected), then
    `studies`, `band low` and `band high`: the central 95 % binomial interval
    of the rejection rate of a test whose size is exactly `level`.
    """
    from scipy import stats

    lo, hi = (stats.binom.ppf(q, studies, level) / studies for q in (0.025, 0.975))
    parts = []
    for scenario in scenarios:
        rates = placebo_rejections(returns, benchmark, scenario, studies, seed=seed, level=level, **kwargs).mean()
        table = rates.unstack("test")[[*TESTS, *ADJUSTED]]
        table.index = pd.MultiIndex.from_product([[scenario], table.index], names=["scenario", "window"])
        parts.append(table)
    out = pd.concat(parts)
    out = out.reindex([(s, window_label(w)) for s in scenarios for w in kwargs.get("windows", PLACEBO_WINDOWS)])
    out["studies"], out["band low"], out["band high"] = studies, lo, hi
    return out


def holds_size(table: pd.DataFrame) -> pd.DataFrame:
    """Booleans of `placebo_table`'s shape: the test's rate is inside the band (it holds its size there)."""
    rates = table[[*TESTS, *ADJUSTED]]
    return rates.ge(table["band low"], axis=0) & rates.le(table["band high"], axis=0)


def shipped_returns(folder, benchmark: str = "SPY", stocks: Iterable[str] = ("EFX", "CRWD", "OKTA", "TEAM", "META",
                                                                             "FSLY")) -> pd.DataFrame:
    """The returns of `returns_table` from the price files `folder/<ticker>.csv` (data/market-returns/).

    Read through the one checked price reader; no calendar is checked (the
    files reach back before the calendars do): a session one file lacks is a
    NaN return of that stock, never a return over two sessions.
    """
    from pathlib import Path

    from incident.io.prices import read_prices

    names = [benchmark, *stocks]
    return returns_table({k: read_prices(Path(folder) / f"{k}.csv")["close"] for k in names})


def returns_table(closes: dict[str, pd.Series]) -> pd.DataFrame:
    """Simple daily returns of several closes, on the dates of all (NaN before a listing); the dates are the
    first series' (the benchmark's, say), so every return spans the same two sessions for every stock."""
    names = list(closes)
    base = closes[names[0]].index
    frame = pd.DataFrame({k: v.reindex(base) for k, v in closes.items()})
    return frame.pct_change(fill_method=None).iloc[1:]


def _valid_day0s(values: np.ndarray, bench: np.ndarray, first: int, last: int) -> np.ndarray:
    """stocks × rows: row p can be day 0 (every stock and benchmark return from p + first to p + last is known)."""
    ok = np.isfinite(values) & np.isfinite(bench)[:, None]
    width = last - first + 1
    run = np.zeros((ok.shape[0] + 1, ok.shape[1]), int)
    np.cumsum(ok, axis=0, out=run[1:])
    full = np.zeros(ok.shape, bool)
    starts = np.arange(0, ok.shape[0] - width + 1)
    full[starts - first] = (run[starts + width] - run[starts]) == width
    return full.T
