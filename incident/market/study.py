"""Many events at once: abnormal returns of N events and the tests of their mean.

Pure and vectorised: every function takes numpy arrays laid out events × days
(row i is one event, column j one day in event time, the same days for every
event) and never loops over events. Missing returns are NaN and are left out
where they fall (a flagged bar, a halted session).

The model of normal returns is MacKinlay's (1997), fitted per event on its own
estimation window, as in `incident.market.eventstudy` (which does one event
with its full covariance; here the same numbers come out for each event).
The tests of the mean abnormal return of a window [a, b] across events, each
stated with its null and assumptions in docs/market.md:

- cross-sectional t: the mean CAR over its cross-sectional standard error;
- Patell (1976): the sum of each event's standardised abnormal returns;
- BMP: Boehmer, Musumeci and Poulsen (1991), the standardised CARs' mean over
  their cross-sectional standard error (robust to event-induced variance);
- Corrado (1989) rank test, with Cowan's (1992) sum over a multi-day window;
- generalized sign test (Cowan 1992): events with a positive CAR against the
  share of positive abnormal returns in the estimation windows.

Events whose windows share calendar dates (clustered events) are not
independent; given each event day's date, the study finds them and adds the
Kolari and Pynnönen (2010) adjustment of BMP and the cross-sectional t
(`kp_factor`). The rank test ranks each event's ARs over its estimation window
and the tested window (Corrado 1989), or over `rank_span` if given.

Returns are simple returns, as fractions. `conventions` states all of this as
plain data for the command line, its JSON and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from incident.market.eventstudy import MODELS, window_label

PARAMETERS = {"market": 2, "constant-mean": 1, "market-adjusted": 0}  # fitted per model: the residuals' lost dof
TESTS = ("cross-sectional t", "Patell Z", "BMP t", "Corrado rank Z", "generalized sign Z")
# the Kolari-Pynnönen adjusted tests, shown beside the plain ones where event windows overlap in calendar time
ADJUSTED = {"cross-sectional t (KP)": "cross-sectional t", "BMP t (KP)": "BMP t"}
# How each test keeps its 5 % size in placebo studies on real returns (`incident.market.placebo`, table in
# docs/market.md; tests/test_placebo.py checks each claim against the placebo): shown wherever the tests are.
SIZE = {
    "cross-sectional t": "holds its size, also when the event raises the variance; over-rejects with clustered events",
    "Patell Z": "over-rejects a true null, and far more when the event raises the variance",
    "BMP t": "holds its size, also when the event raises the variance; over-rejects with clustered events",
    "Corrado rank Z": "holds its size without an event and with clustered events; over-rejects when the event raises the variance of the day it ranks",
    "generalized sign Z": "holds its size, also when the event raises the variance; over-rejects with clustered events",
    "cross-sectional t (KP)": "holds its size with clustered events (and without)",
    "BMP t (KP)": "holds its size with clustered events (and without)",
}
# the tests whose rejections need a caveat: marked wherever the tests are shown
OVER_REJECTS = {"Patell Z": "over-rejects a true null", "Corrado rank Z": "over-rejects when the event raises the variance"}


@dataclass(frozen=True, eq=False)
class Fits:
    """Per-event fits of the model of normal returns (arrays of length N)."""

    model: str
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray  # residual standard deviation
    n: np.ndarray  # returns used in the fit
    dof: np.ndarray  # n minus the parameters fitted
    mean_market: np.ndarray  # mean benchmark return over the fit (for the prediction error)
    sxx: np.ndarray  # sum of squared benchmark deviations over the fit


@dataclass(frozen=True, eq=False)
class MarketStudy:
    """Result of `market_study`.

    `events`: one row per event (alpha, beta, sigma, n, dof, plus whatever
    the caller put in `names`' frame). `ar`, `sd` and `sar`: events × event
    days (the span), abnormal returns, their prediction-error standard
    deviations and their ratio (NaN where a figure day has no price). `car`:
    events × windows. `tests`: one row per window with the CAAR, the number
    of events, each test's statistic and two-sided p-value, and the
    clustering columns: `overlapping pairs`, `rbar` and the `ADJUSTED` tests
    (NaN when the study was given no dates).
    """

    model: str
    estimation: tuple[int, int]
    events: pd.DataFrame
    ar: pd.DataFrame
    sd: pd.DataFrame
    sar: pd.DataFrame
    car: pd.DataFrame
    tests: pd.DataFrame
    rank_span: tuple[int, int] | None = None  # None: each window's rank test ranks the estimation window and it
    overlaps: pd.DataFrame | None = None  # window, event, other: pairs whose windows share a date (None: no dates)

    @property
    def clustered(self) -> bool:
        """Whether the windows of two events share a calendar date (so the KP-adjusted tests apply)."""
        return self.overlaps is not None and not self.overlaps.empty

    def caar_path(self, start: int | None = None) -> pd.DataFrame:
        """Mean CAR cumulated from `start` (default: the span's first day), with its cross-sectional SE and t."""
        ar = self.ar if start is None else self.ar.loc[:, start:]
        car = ar.cumsum(axis=1, skipna=False)
        n = car.notna().sum(axis=0)
        mean = car.mean(axis=0)
        se = car.std(axis=0, ddof=1) / np.sqrt(n)
        return pd.DataFrame({"caar": mean, "se": se, "t": mean / se, "n": n}).rename_axis("day")


# -- fitting ------------------------------------------------------------------
def fit_models(stock: np.ndarray, bench: np.ndarray, estimation: np.ndarray, model: str = "market") -> Fits:
    """OLS of each row's stock returns on its benchmark returns over the `estimation` columns.

    `stock`, `bench`: events × days; `estimation`: a boolean mask of the
    columns in the estimation window. Days where either return is NaN are
    left out of that event's fit.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    y, x = np.asarray(stock, float)[:, estimation], np.asarray(bench, float)[:, estimation]
    ok = np.isfinite(y) & np.isfinite(x)
    n = ok.sum(axis=1)
    k = PARAMETERS[model]
    if (n <= k + 1).any():
        raise ValueError(f"the {model} model needs more than {k + 1} returns to fit; an event has {int(n.min())}")
    y0, x0 = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
    mx, my = x0.sum(axis=1) / n, y0.sum(axis=1) / n
    dx = np.where(ok, x - mx[:, None], 0.0)
    sxx = (dx**2).sum(axis=1)
    if model == "market":
        if (sxx <= 0).any():
            raise ValueError("the benchmark's returns do not vary over an estimation window; the market model cannot be fitted")
        beta = (dx * np.where(ok, y - my[:, None], 0.0)).sum(axis=1) / sxx
        alpha = my - beta * mx
    elif model == "constant-mean":
        alpha, beta = my, np.zeros(len(n))
    else:
        alpha, beta = np.zeros(len(n)), np.ones(len(n))
    resid = np.where(ok, y - alpha[:, None] - beta[:, None] * x, 0.0)
    dof = n - k
    sigma = np.sqrt((resid**2).sum(axis=1) / dof)
    from incident.market.eventstudy import check_sigma

    for i in range(len(n)):  # a zero variance makes every standardised return and test infinite
        check_sigma(float(sigma[i]), np.where(ok[i], y[i], 0.0), model, f"the estimation window of event {i + 1}")
    return Fits(model, alpha, beta, sigma, n, dof, mx, sxx)


def abnormal(fits: Fits, stock: np.ndarray, bench: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Abnormal returns and their prediction-error standard deviations, events × days.

    The variance of an out-of-sample AR is sigma^2 (1 + x (X'X)^-1 x'):
    for the market model 1 + 1/n + (R_m - mean R_m)^2 / Sxx (MacKinlay eq. 8),
    for the constant-mean model 1 + 1/n, for the market-adjusted model 1.
    """
    stock, bench = np.asarray(stock, float), np.asarray(bench, float)
    ar = stock - fits.alpha[:, None] - fits.beta[:, None] * bench
    if fits.model == "market":
        factor = 1 + 1 / fits.n[:, None] + (bench - fits.mean_market[:, None]) ** 2 / fits.sxx[:, None]
    elif fits.model == "constant-mean":
        factor = np.broadcast_to(1 + 1 / fits.n[:, None], ar.shape)
    else:
        factor = np.ones_like(ar)
    return ar, fits.sigma[:, None] * np.sqrt(factor)


# -- the tests ------------------------------------------------------------------
def cross_sectional_t(car: np.ndarray) -> tuple[float, float]:
    """t of the mean CAR against its cross-sectional standard error; t with N-1 dof."""
    from scipy import stats

    car = car[np.isfinite(car)]
    n = len(car)
    t = car.mean() / (car.std(ddof=1) / np.sqrt(n))
    return float(t), float(2 * stats.t.sf(abs(t), n - 1))


def standardised_cars(sar: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Each event's window sum of standardised ARs, scaled to unit variance under the null.

    A SAR is t-distributed with the fit's dof d, variance d / (d - 2); the sum
    of K of them has variance K d / (d - 2).
    """
    k = np.isfinite(sar).sum(axis=1)
    return np.nansum(sar, axis=1) / np.sqrt(k * dof / (dof - 2))


def patell_z(scar: np.ndarray) -> tuple[float, float]:
    """Patell's Z: the sum of the events' standardised CARs over sqrt(N); normal under the null."""
    from scipy import stats

    scar = scar[np.isfinite(scar)]
    z = scar.sum() / np.sqrt(len(scar))
    return float(z), float(2 * stats.norm.sf(abs(z)))


def bmp_t(scar: np.ndarray) -> tuple[float, float]:
    """Boehmer-Musumeci-Poulsen t: the standardised CARs' mean over their cross-sectional SE; t, N-1 dof."""
    return cross_sectional_t(scar)


def corrado_rank_z(ar_all: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    """Corrado's rank test over the window's days, summed as Cowan (1992) does.

    `ar_all`: events × (estimation and event days); each event's ARs are
    ranked over its own days, turned into U = rank / (M + 1) - 1/2 (M its
    non-missing days; Corrado and Zivney 1992), averaged across events day by
    day, and the window's sum is scaled by the standard deviation of that
    daily mean over all days.
    """
    from scipy import stats

    ok = np.isfinite(ar_all)
    ranks = stats.rankdata(np.where(ok, ar_all, np.nan), axis=1, nan_policy="omit")
    m = ok.sum(axis=1, keepdims=True)
    u = np.where(ok, ranks / (m + 1) - 0.5, np.nan)
    n_t = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_bar = np.nansum(u, axis=0) / n_t
    days = n_t > 0
    s_u = np.sqrt(np.mean(u_bar[days] ** 2))
    k = (window & days).sum()
    z = u_bar[window & days].sum() / (np.sqrt(k) * s_u)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def generalized_sign_z(ar_estimation: np.ndarray, car: np.ndarray) -> tuple[float, float]:
    """Cowan's generalized sign test: events with a positive CAR against the estimation windows' share.

    p̂ is the mean over events of the share of positive ARs in each event's
    estimation window; with w of N events positive, Z = (w - N p̂) / sqrt(N p̂ (1 - p̂)).
    """
    from scipy import stats

    ok = np.isfinite(ar_estimation)
    p_hat = np.mean((np.where(ok, ar_estimation, 0) > 0).sum(axis=1) / ok.sum(axis=1))
    car = car[np.isfinite(car)]
    n, w = len(car), (car > 0).sum()
    z = (w - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat))
    return float(z), float(2 * stats.norm.sf(abs(z)))


def kp_factor(rbar: float, n: int) -> float:
    """Kolari and Pynnönen's (2010) factor sqrt((1 − r̄) / (1 + (n − 1) r̄)) for n events of mean pairwise correlation r̄.

    The cross-sectional variance of n correlated CARs understates the
    variance of their mean by (1 − r̄) / (1 + (n − 1) r̄); the plain t times
    this factor is the adjusted t. NaN when 1 + (n − 1) r̄ is not positive.
    """
    denominator = 1 + (n - 1) * rbar
    return float(np.sqrt((1 - rbar) / denominator)) if denominator > 0 and rbar < 1 else float("nan")


def overlapping_pairs(dates: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """N × N booleans: events i ≠ j whose windows (the `cols` of `dates`, events × days) share a calendar date.

    Each window is a run of sessions, so two overlap when each starts before
    the other ends; events on different exchanges are compared by their dates.
    """
    window = np.asarray(dates, "datetime64[ns]")[:, cols]
    first, last = window.min(axis=1), window.max(axis=1)
    pairs = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    np.fill_diagonal(pairs, False)
    return pairs


def mean_correlation(sar: np.ndarray, dates: np.ndarray, estimation: np.ndarray, pairs: np.ndarray,
                     min_common: int = 30) -> float:
    """r̄: the mean over all pairs of events of the correlation of their estimation-window SARs on common dates.

    Only pairs in `pairs` (windows that share a date) are correlated; the
    others, whose windows are apart in time, count as zero, as do pairs with
    fewer than `min_common` common estimation dates.
    """
    n = len(sar)
    if n < 2 or not pairs.any():
        return 0.0
    involved = np.flatnonzero(pairs.any(axis=1))
    est_dates = np.asarray(dates, "datetime64[ns]")[involved][:, estimation]
    values = sar[involved][:, estimation]
    panel = pd.DataFrame({k: pd.Series(values[k], index=est_dates[k]) for k in range(len(involved))})
    corr = panel.corr(min_periods=min_common).to_numpy()
    sub = pairs[np.ix_(involved, involved)]
    return float(np.nansum(np.where(sub, corr, 0.0)) / 2 / (n * (n - 1) / 2))


def window_tests(ar: np.ndarray, sd: np.ndarray, dof: np.ndarray, days: np.ndarray, estimation: np.ndarray,
                 window: tuple[int, int], rank_span: tuple[int, int] | None = None,
                 dates: np.ndarray | None = None) -> dict:
    """CAAR and the five tests for one window, from events × days arrays covering estimation and event days.

    The rank test ranks the estimation window and the tested window (Corrado
    1989), or the days of `rank_span`. With `dates` (events × days, each
    event day's date) the windows sharing a calendar date are counted and the
    KP-adjusted cross-sectional and BMP t added. A test whose denominator is
    zero (events with the same CARs, say) is NaN with its p, not ±inf with p = 0.
    """
    from scipy.special import stdtr

    cols = (days >= window[0]) & (days <= window[1])
    car = ar[:, cols].sum(axis=1)  # a missing day leaves that event's CAR missing
    sar = ar / sd
    scar = standardised_cars(sar[:, cols], dof)
    scar[~np.isfinite(car)] = np.nan
    ranked = (estimation | cols) if rank_span is None else (days >= rank_span[0]) & (days <= rank_span[1])
    n = int(np.isfinite(car).sum())
    out = {"window": window_label(window), "start": window[0], "end": window[1], "days": int(cols.sum()),
           "n": n, "caar": float(np.nanmean(car))}
    with np.errstate(divide="ignore", invalid="ignore"):
        results = (
            cross_sectional_t(car),
            patell_z(scar),
            bmp_t(scar),
            corrado_rank_z(ar[:, ranked], cols[ranked]),
            generalized_sign_z(ar[:, estimation], car),
        )
    for name, (stat, p) in zip(TESTS, results):
        if not np.isfinite(stat):
            stat, p = float("nan"), float("nan")
        out[name] = stat
        out[f"p {name}"] = p
    out["overlapping pairs"], out["rbar"] = float("nan"), float("nan")
    for name in ADJUSTED:
        out[name], out[f"p {name}"] = float("nan"), float("nan")
    if dates is not None:
        ok = np.isfinite(car)
        pairs = overlapping_pairs(np.asarray(dates)[ok], cols)
        rbar = mean_correlation(sar[ok], np.asarray(dates)[ok], estimation, pairs)
        factor = kp_factor(rbar, n)
        out["overlapping pairs"], out["rbar"] = int(pairs.sum() // 2), rbar
        for name, plain in ADJUSTED.items():
            stat = float(out[plain]) * factor  # type: ignore[arg-type]  # a float statistic of the row
            out[name] = stat
            out[f"p {name}"] = float(2 * stdtr(n - 1, -abs(stat))) if np.isfinite(stat) else float("nan")
    return out


def conventions(model: str, estimation: tuple[int, int], rank_span: tuple[int, int] | None = None,
                flagged: str = "dropped", window=window_label) -> dict:
    """The study's conventions in words, for wherever its numbers are shown (CLI note, `--json`, the report).

    `window` writes a window of sessions: "-120..-11" for the command line, the report's "[−120,−11]".
    """
    k = PARAMETERS[model]
    return {
        "returns": "simple daily returns of adjusted closes, close_t / close_t-1 - 1, as fractions",
        "model": f"{model} model fitted by OLS on sessions {window(estimation)} of each event",
        "sigma": f"residual standard deviation with n - {k} in the denominator ({k} parameters fitted)"
                 + ("; the market-adjusted model fits nothing, so it divides by n" if k == 0 else ""),
        "single_event_t": "CAR over its prediction-error standard deviation (MacKinlay 1997: residual variance "
                          "plus the error of the fitted parameters), t with the fit's residual dof",
        "standardisation": "Patell and BMP divide each abnormal return by its own prediction-error standard "
                           "deviation; a window's standardised ARs are summed and scaled by sqrt(K d / (d - 2))",
        "rank_span": ("each event's estimation window plus the tested window (Corrado 1989)" if rank_span is None
                      else f"sessions {window(rank_span)} of each event"),
        "flagged_bars": {"dropped": "returns into and out of a flagged bar are left out of the fit",
                         "kept": "returns into and out of a flagged bar are left out of the fit, except bars whose "
                                 "only flag is the vendor placeholder (open = high = low = close, volume 0), "
                                 "whose closes are kept"}[flagged],
        "clustering": "windows sharing a calendar date are reported; then the cross-sectional and BMP t are also "
                      "shown multiplied by sqrt((1 - rbar) / (1 + (n - 1) rbar)) (Kolari and Pynnönen 2010), rbar "
                      "the mean pairwise correlation of estimation-window standardised ARs (pairs apart in time: 0)",
        "size": "placebo studies on real returns (docs/market.md): " + "; ".join(f"{t}: {w}" for t, w in SIZE.items()),
    }


# -- the study ------------------------------------------------------------------
def market_study(
    stock: npt.ArrayLike,
    bench: npt.ArrayLike,
    days: Sequence[int] | np.ndarray,
    estimation: tuple[int, int],
    windows: Iterable[tuple[int, int]],
    model: str = "market",
    span: tuple[int, int] | None = None,
    events: pd.DataFrame | None = None,
    rank_span: tuple[int, int] | None = None,
    dates: npt.ArrayLike | None = None,
) -> MarketStudy:
    """The event study of N events: fits, abnormal returns, CARs and the tests per window.

    `stock` and `bench` are events × days of simple returns, column j at
    event day `days[j]` (consecutive sessions, the same for every event),
    covering the estimation window and every event window; later days (for
    figures) may be NaN where prices end. `events` (optional, N rows) labels
    the events; its index names the rows of every table. `span` sets the days
    kept in the AR table (default: all days after the estimation window).
    `rank_span` is the rank test's ranking span (default: the estimation
    window plus the tested window). `dates` (events × days, the date of each
    event day) lets the study find windows that share calendar dates and add
    the KP-adjusted tests.
    """
    stock, bench = np.atleast_2d(np.asarray(stock, float)), np.atleast_2d(np.asarray(bench, float))
    days = np.asarray(days, int)
    if stock.shape != bench.shape or stock.shape[1] != len(days):
        raise ValueError(f"stock {stock.shape}, benchmark {bench.shape} and days ({len(days)}) do not line up")
    if dates is not None:
        dates = np.asarray(dates, "datetime64[ns]")
        if dates.shape != stock.shape:
            raise ValueError(f"dates {dates.shape} and returns {stock.shape} do not line up")
    if len(stock) < 2:
        raise ValueError("a study of many events needs at least two events")
    windows = [(int(a), int(b)) for a, b in windows]
    est = (days >= estimation[0]) & (days <= estimation[1])
    if not est.any() or estimation[0] < days[0]:
        raise ValueError(f"the days {days[0]}..{days[-1]} do not cover the estimation window {window_label(estimation)}")
    for a, b in windows:
        if a > b:
            raise ValueError(f"window {window_label((a, b))} ends before it starts")
        if a <= estimation[1]:
            raise ValueError(f"window {window_label((a, b))} overlaps the estimation window {window_label(estimation)}")
        if b > days[-1]:
            raise ValueError(f"window {window_label((a, b))} reaches past the last day {days[-1]}")
        if rank_span is not None and not rank_span[0] <= a <= b <= rank_span[1]:
            raise ValueError(f"the rank test's span {window_label(rank_span)} does not cover window {window_label((a, b))}")
    if rank_span is not None and not days[0] <= rank_span[0] < rank_span[1] <= days[-1]:
        raise ValueError(f"the rank test's span {window_label(rank_span)} is not inside the days {days[0]}..{days[-1]}")
    fits = fit_models(stock, bench, est, model)
    ar, sd = abnormal(fits, stock, bench)
    index = events.index if events is not None else pd.RangeIndex(len(stock), name="event")
    table = pd.DataFrame({"alpha": fits.alpha, "beta": fits.beta, "sigma": fits.sigma, "n": fits.n, "dof": fits.dof},
                         index=index)
    if events is not None:
        table = events.join(table)
    span = span or (estimation[1] + 1, int(days[-1]))
    keep = (days >= span[0]) & (days <= span[1])
    frame = lambda a: pd.DataFrame(a[:, keep], index=index, columns=pd.Index(days[keep], name="day"))  # noqa: E731
    cars = pd.DataFrame({window_label(w): ar[:, (days >= w[0]) & (days <= w[1])].sum(axis=1) for w in windows},
                        index=index)
    tests = pd.DataFrame([window_tests(ar, sd, fits.dof, days, est, w, rank_span, dates)
                          for w in windows]).set_index("window")
    overlaps = None if dates is None else _overlaps(dates, days, windows, index)
    return MarketStudy(model, estimation, table, frame(ar), frame(sd), frame(ar / sd), cars, tests, rank_span,
                       overlaps)


def _overlaps(dates: np.ndarray, days: np.ndarray, windows, index: pd.Index) -> pd.DataFrame:
    """One row per window and pair of events whose windows share a calendar date."""
    rows = []
    for w in windows:
        pairs = overlapping_pairs(dates, (days >= w[0]) & (days <= w[1]))
        for i, j in zip(*np.nonzero(np.triu(pairs))):
            rows.append({"window": window_label(w), "event": index[i], "other": index[j]})
    return pd.DataFrame(rows, columns=["window", "event", "other"])


def loop_study(stock, bench, days, estimation, windows, model: str = "market") -> pd.DataFrame:
    """The CARs of `market_study`, one event at a time with `eventstudy.fit_model`: a baseline for benchmarks and checks."""
    from incident.market.eventstudy import abnormal_returns, fit_model

    days = np.asarray(days, int)
    est = (days >= estimation[0]) & (days <= estimation[1])
    rows = []
    for s, b in zip(np.asarray(stock, float), np.asarray(bench, float)):
        fit = fit_model(pd.Series(s[est]), pd.Series(b[est]), model)
        ar = abnormal_returns(fit, pd.Series(s), pd.Series(b)).to_numpy()
        rows.append({window_label(w): ar[(days >= w[0]) & (days <= w[1])].sum() for w in windows})
    return pd.DataFrame(rows)
