"""Event study after MacKinlay (1997): abnormal returns around a day 0.

A. Craig MacKinlay, "Event Studies in Economics and Finance", Journal of
Economic Literature 35(1), 1997, 13–39.

A model of normal returns is fitted on an estimation window of sessions
before the event; the abnormal return (AR) of an event day is the actual
return minus the model's prediction, and the cumulative abnormal return (CAR)
of a window is their sum. Their variance is the residual variance of the fit
plus the error of the fitted parameters (MacKinlay's eqs. 8–11), so a
t statistic is CAR / SE with the fit's residual degrees of freedom.

Three models of normal returns, each a market model with some parameters
fixed instead of estimated:

- "market": R = alpha + beta * R_m + e, alpha and beta by OLS;
- "constant-mean": R = mu + e (beta fixed at 0);
- "market-adjusted": R = R_m + e (alpha 0 and beta 1 fixed, nothing fitted).

The residual variance divides by n minus the parameters fitted (2, 1, 0).
Days are counted in sessions: positions in the returns' index, which should
be the exchange's sessions (give `sessions` to make sure a missing bar leaves
a gap rather than shifting the count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

MODELS = ("market", "constant-mean", "market-adjusted")
DEFAULT_ESTIMATION = (-120, -11)
DEFAULT_WINDOWS: tuple[tuple[int, int], ...] = ((0, 0), (-1, 1), (0, 4), (0, 6))


@dataclass(frozen=True, eq=False)
class Fit:
    """A model of normal returns fitted on the estimation window."""

    model: str
    alpha: float
    beta: float
    sigma: float  # standard deviation of the residuals
    n: int  # returns used
    dof: int  # n minus the parameters fitted
    xtx_inv: np.ndarray  # (X'X)^-1 of the fitted parameters, for the prediction error


@dataclass(frozen=True, eq=False)
class EventStudy:
    """Result of `event_study`: the fit, the AR table and the CAR table.

    `ar` is indexed by event day (sessions from day 0) with columns date,
    stock, benchmark (returns), expected, ar, se, t, p, car and car_se (CAR
    cumulated from the first day of the span), and flagged (a bar behind the
    return was flagged). `car` is indexed by window label "start..end" with
    columns start, end, first, last (dates), days, car, se, t, p.
    Returns are fractions (0.05 = 5%).
    """

    model: str
    event_day: pd.Timestamp
    estimation: tuple[int, int]
    estimation_dates: tuple[pd.Timestamp, pd.Timestamp]
    alpha: float
    beta: float
    sigma: float
    n: int
    dof: int
    excluded: pd.DatetimeIndex  # return dates in the estimation window left out of the fit
    ar: pd.DataFrame
    car: pd.DataFrame

    def __repr__(self) -> str:
        cars = ", ".join(f"[{w}] {r.car:+.2%} (t {r.t:.2f})" for w, r in self.car.iterrows())
        return (
            f"EventStudy({self.model} model, day 0 {self.event_day:%Y-%m-%d}, alpha {self.alpha:.4%}, "
            f"beta {self.beta:.3f}, n {self.n}; CAR {cars})"
        )


def window_label(window: tuple[int, int]) -> str:
    """"-1..1" for the window (-1, +1)."""
    return f"{window[0]}..{window[1]}"


def returns(close: pd.Series) -> pd.Series:
    """Simple daily returns close_t / close_t-1 − 1, dated by the later close."""
    return close.astype(float).pct_change(fill_method=None).iloc[1:]


def fit_model(stock: pd.Series, benchmark: pd.Series, model: str = "market") -> Fit:
    """Fit a model of normal returns by OLS on aligned returns (NaN pairs dropped)."""
    y, X, m = _design(stock, benchmark, model)
    n, k = X.shape
    if n <= k + 1:
        raise ValueError(f"the {model} model needs more than {k + 1} returns to fit, got {n}")
    params, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < k:
        raise ValueError("the benchmark's returns do not vary over the estimation window; the market model cannot be fitted")
    xtx_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ params
    dof = n - k
    sigma = float(np.sqrt(resid @ resid / dof))
    check_sigma(sigma, y + m if model == "market-adjusted" else y, model)
    if model == "market":
        alpha, beta = params
    elif model == "constant-mean":
        alpha, beta = params[0], 0.0
    else:
        alpha, beta = 0.0, 1.0
    return Fit(model, float(alpha), float(beta), sigma, n, dof, xtx_inv)


def abnormal_returns(fit: Fit, stock: pd.Series, benchmark: pd.Series) -> pd.Series:
    """Actual minus normal return under `fit`, day by day."""
    return stock - (fit.alpha + fit.beta * benchmark)


def ar_covariance(fit: Fit, benchmark: pd.Series) -> np.ndarray:
    """Covariance of the event-window ARs: sigma^2 (I + X*(X'X)^-1 X*').

    The second term is the error of the fitted parameters (MacKinlay eq. 8);
    it is zero for the market-adjusted model, which fits nothing.
    """
    X = _regressors(benchmark.to_numpy(dtype=float), fit.model)
    return fit.sigma**2 * (np.eye(len(benchmark)) + X @ fit.xtx_inv @ X.T)


def event_study(
    stock_close: pd.Series,
    bench_close: pd.Series,
    event_day,
    estimation: tuple[int, int] = DEFAULT_ESTIMATION,
    windows: Iterable[tuple[int, int]] = DEFAULT_WINDOWS,
    model: str = "market",
    exclude: Iterable = (),
    span: tuple[int, int] | None = None,
    sessions: pd.DatetimeIndex | None = None,
) -> EventStudy:
    """Abnormal returns of a stock around `event_day`, with their significance.

    `estimation` and each window are (first, last) event days, both
    included; day 0 is the first date of the data at or after `event_day`.
    `exclude` names dates of bars not to trust (vendor artefacts): the
    returns into and out of each such bar are left out of the fit, as both
    use its close. `span` sets the days of the AR table (default: from the
    first window's start to the last window's end) and must not reach into
    the estimation window either.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    windows = [(int(a), int(b)) for a, b in windows]
    if not windows:
        raise ValueError("give at least one event window")
    span = span or (min(a for a, _ in windows), max(b for _, b in windows))
    est_lo, est_hi = estimation
    for a, b in [*windows, span]:
        if a > b:
            raise ValueError(f"window {window_label((a, b))} ends before it starts")
    if not est_lo < est_hi:
        raise ValueError(f"estimation window {window_label(estimation)} ends before it starts")
    first_event = min(span[0], *(a for a, _ in windows))
    if est_hi >= first_event:
        raise ValueError(
            f"the estimation window {window_label(estimation)} overlaps the event window starting at day {first_event}"
        )

    last_day = max(span[1], *(b for _, b in windows))
    # every return from the estimation window's start to the last event day, by event day
    r = event_returns(stock_close, bench_close, event_day, est_lo, last_day, exclude, sessions,
                      names=("the estimation window", "the event window"))
    day0 = r.loc[0, "date"]
    est = r.loc[est_lo:est_hi].set_index("date")
    dropped = est.index[est["flagged"] | est[["stock", "benchmark"]].isna().any(axis=1)]
    fit = fit_model(est["stock"].drop(dropped), est["benchmark"].drop(dropped), model)
    check_window_returns(r, windows, stock_close, bench_close)

    from scipy.special import stdtr  # Student t CDF; scipy.stats costs three times the import

    days = np.arange(span[0], span[1] + 1)
    ev = r.loc[span[0]:span[1]].set_index("date")
    ar = abnormal_returns(fit, ev["stock"], ev["benchmark"]).to_numpy()
    cov = ar_covariance(fit, ev["benchmark"])
    se = np.sqrt(np.diag(cov))
    cum_var = np.array([cov[: i + 1, : i + 1].sum() for i in range(len(days))])
    table = pd.DataFrame(
        {
            "date": ev.index,
            "stock": ev["stock"].to_numpy(),
            "benchmark": ev["benchmark"].to_numpy(),
            "expected": ev["stock"].to_numpy() - ar,
            "ar": ar,
            "se": se,
            "t": ar / se,
            "p": 2 * stdtr(fit.dof, -np.abs(ar / se)),
            "car": np.cumsum(ar),
            "car_se": np.sqrt(cum_var),
            "flagged": ev["flagged"].to_numpy(),
        },
        index=pd.Index(days, name="day"),
    )

    rows = []
    for a, b in windows:
        sub = r.loc[a:b].set_index("date")
        w_ar = abnormal_returns(fit, sub["stock"], sub["benchmark"]).to_numpy()
        w_var = ar_covariance(fit, sub["benchmark"]).sum()
        car, w_se = float(w_ar.sum()), float(np.sqrt(w_var))
        rows.append(
            {
                "window": window_label((a, b)),
                "start": a,
                "end": b,
                "first": sub.index[0],
                "last": sub.index[-1],
                "days": b - a + 1,
                "car": car,
                "se": w_se,
                "t": car / w_se,
                "p": float(2 * stdtr(fit.dof, -abs(car / w_se))),
            }
        )
    cars = pd.DataFrame(rows).set_index("window")
    return EventStudy(
        model=model,
        event_day=day0,
        estimation=(est_lo, est_hi),
        estimation_dates=(est.index[0], est.index[-1]),
        alpha=fit.alpha,
        beta=fit.beta,
        sigma=fit.sigma,
        n=fit.n,
        dof=fit.dof,
        excluded=pd.DatetimeIndex(dropped, name="date"),
        ar=table,
        car=cars,
    )


def event_returns(
    stock_close: pd.Series,
    bench_close: pd.Series,
    event_day,
    first: int,
    last: int,
    exclude: Iterable = (),
    sessions: pd.DatetimeIndex | None = None,
    names: tuple[str, str] = ("the days", "the days"),
    pad_to: int | None = None,
) -> pd.DataFrame:
    """Returns of the stock and benchmark from event day `first` to `last`, indexed by event day.

    Columns: date, stock, benchmark, flagged (the return uses a close in
    `exclude`). Day 0 as in `event_study`; a session without a close is a
    NaN return (give `sessions`). For one event's study, and for stacking
    events into a `study`. `names` say, in an error, what the first and the
    last day belong to. `pad_to` (beyond `last`) adds the days up to it where
    prices exist and NaN rows (no date) after the last price: days for a
    figure, which must not make a study fail.
    """
    closes = _aligned_closes(stock_close, bench_close, sessions)
    r = closes.pct_change(fill_method=None).iloc[1:]
    day0 = _day_zero(r.index, event_day)
    pos0 = r.index.get_loc(day0)
    if pos0 + first < 0:
        raise ValueError(
            f"{names[0]} starts {-first} sessions before day 0 ({day0.date()}), "
            f"but the returns start only {pos0} sessions before it"
        )
    if pos0 + last >= len(r):
        raise ValueError(f"{names[1]} reaches day {last}, after the last price ({r.index[-1].date()})")
    flagged = pd.DatetimeIndex(pd.to_datetime(list(exclude))).as_unit("ns").normalize()
    touched = _touched(closes.index, flagged)
    end = max(last, pad_to if pad_to is not None else last)
    sub = r.iloc[pos0 + first : pos0 + end + 1]
    out = pd.DataFrame(
        {"date": sub.index, "stock": sub["stock"].to_numpy(), "benchmark": sub["benchmark"].to_numpy(),
         "flagged": sub.index.isin(touched)},
        index=pd.Index(np.arange(first, first + len(sub)), name="day"),
    )
    if len(out) <= end - first:  # figure days after the last price
        out = out.reindex(pd.Index(np.arange(first, end + 1), name="day"))
        out["flagged"] = out["flagged"].fillna(False).astype(bool)
    return out


def compare_models(
    stock_close: pd.Series,
    bench_close: pd.Series,
    event_day,
    models: Sequence[str] = MODELS,
    **kwargs,
) -> pd.DataFrame:
    """CAR, SE, t and p of each window under each model, side by side.

    Columns are (model, statistic); rows are windows. Other arguments as
    for `event_study`.
    """
    tables = {
        m: event_study(stock_close, bench_close, event_day, model=m, **kwargs).car[["car", "se", "t", "p"]]
        for m in models
    }
    return pd.concat(tables, axis=1, names=["model", "statistic"])


# -- helpers ------------------------------------------------------------------
class PriceDataError(ValueError):
    """The prices of one series cannot give the study (no variance, a missing close): `series` says which."""

    def __init__(self, message: str, series: str):
        super().__init__(message)
        self.series = series  # "stock" or "benchmark"


def check_sigma(sigma: float, stock: np.ndarray, model: str, which: str = "the estimation window") -> None:
    """ValueError when the model explains the stock's returns exactly: every t and p would divide by zero.

    Residuals below a billionth of the returns' own size are rounding noise
    (a stock measured against itself), not a variance to test against.
    """
    scale = float(np.max(np.abs(stock))) if len(stock) else 0.0
    if not sigma > 1e-9 * scale or sigma == 0:
        why = ("the stock's returns do not vary (constant prices?)" if np.ptp(stock) == 0 else
               "the stock moves exactly as the benchmark (is the benchmark the stock itself?)")
        raise PriceDataError(f"the {model} model leaves no abnormal return over {which}: {why}; "
                             "abnormal returns cannot be tested against a variance of zero", "stock")


def check_window_returns(r: pd.DataFrame, windows, stock_close: pd.Series, bench_close: pd.Series) -> None:
    """PriceDataError naming the first session without a close that leaves a window's CAR undefined.

    `r` is `event_returns`' table; a session the calendar has and a price file
    lacks is refused rather than giving a NaN CAR.
    """
    for a, b in windows:
        for day in range(a, b + 1):
            row = r.loc[day]
            for name, column, close in (("stock", "stock", stock_close), ("benchmark", "benchmark", bench_close)):
                if pd.isna(row[column]):
                    prev = r.loc[day - 1, "date"] if day - 1 in r.index else None
                    have = pd.DatetimeIndex(close.dropna().index).normalize()
                    missing = [d for d in (prev, row["date"]) if d is not None and d not in have]
                    when = missing[0] if missing else row["date"]
                    raise PriceDataError(
                        f"the {name} has no close on {when:%Y-%m-%d}, a session of the calendar, so the return "
                        f"of day {day} ({row['date']:%Y-%m-%d}) in window {window_label((a, b))} is unknown; "
                        "add the bar, or choose a window without it", name)


def _aligned_closes(stock_close: pd.Series, bench_close: pd.Series, sessions) -> pd.DataFrame:
    """Both closes on the dates they share (on every session, if given)."""
    closes = pd.concat({"stock": stock_close, "benchmark": bench_close}, axis=1, join="inner").astype(float)
    closes.index = pd.DatetimeIndex(closes.index, name="date").as_unit("ns")
    if len(closes) < 2:
        raise ValueError("the stock and benchmark closes share fewer than two dates")
    if sessions is not None:
        sessions = pd.DatetimeIndex(sessions, name="date").as_unit("ns")
        closes = closes.reindex(sessions[(sessions >= closes.index[0]) & (sessions <= closes.index[-1])])
    return closes


def _day_zero(index: pd.DatetimeIndex, event_day) -> pd.Timestamp:
    day = pd.Timestamp(event_day)
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    pos = index.searchsorted(day.normalize())
    if pos == 0 and day.normalize() < index[0]:
        raise ValueError(f"the event day {day.date()} is before the first return ({index[0].date()})")
    if pos >= len(index):
        raise ValueError(f"no returns at or after the event day {day.date()}")
    return index[pos]


def _touched(dates: pd.DatetimeIndex, flagged: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Return dates that use a flagged close: the bar's own and the next one.

    `dates` are the closes' dates; the first has no return of its own.
    """
    pos = dates.get_indexer(flagged)
    pos = pos[pos >= 0]
    hit = np.unique(np.concatenate([pos, pos + 1]))
    hit = hit[(hit >= 1) & (hit < len(dates))]
    return dates[hit]


def _regressors(bench: np.ndarray, model: str) -> np.ndarray:
    if model == "market":
        return np.column_stack([np.ones(len(bench)), bench])
    if model == "constant-mean":
        return np.ones((len(bench), 1))
    return np.zeros((len(bench), 0))


def _design(stock: pd.Series, benchmark: pd.Series, model: str):
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    pair = pd.concat([stock, benchmark], axis=1, join="inner").dropna().to_numpy(dtype=float)
    y, m = pair[:, 0], pair[:, 1]
    if model == "market-adjusted":
        y = y - m
    return y, _regressors(m, model), m
