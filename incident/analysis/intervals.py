"""Confidence intervals of a median, for skewed durations: a seeded bootstrap, and ranks for any engine.

- `median_ci`: the percentile bootstrap. It resamples the values, so it needs
  them in memory; the history statistics use it up to a size
  (`incident.analysis.history.BOOTSTRAP_MAX_RECORDS`).
- `median_rank_interval`: the distribution-free order-statistic interval, as
  the ranks (l, u) of [x₍l₎, x₍u₎]. Only two ranks per group: an engine that
  numbers the values in order picks them where the data are (DuckDB, Spark,
  `incident.analysis.history_stats`).

Pure functions of numbers (numpy and scipy.special), no tables.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVEL", "MIN_N_FOR_CI", "N_BOOT", "SEED", "EXACT_ABOVE", "CI_METHODS", "median_ci",
           "median_rank_interval", "rank_fractions"]

LEVEL = 0.95
MIN_N_FOR_CI = 10  # fewer known values than this: no confidence interval (it would be mostly noise)
N_BOOT = 2000
SEED = 16  # the number: any fixed seed makes the intervals reproducible
EXACT_ABOVE = 10_000  # more values than this: the bootstrap draws each resample's median rank directly
CI_METHODS = {
    "bootstrap": "percentile bootstrap of the median",
    "rank": "binomial order-statistic interval of the median",
}


def median_ci(values, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median of `values` (NaNs left out).

    Method: `n_boot` resamples of the known values, drawn with replacement by
    `numpy.random.default_rng(seed)`; the interval is the (1 − level)/2 and
    (1 + level)/2 quantiles of the resamples' medians. Same values in the same
    order, same seed: same interval. The draws are one (resamples × n) index
    array, chunked to bound memory. Above EXACT_ABOVE values, drawing n
    indices per resample is needlessly slow: each resample's (lower) median
    rank k is drawn instead from its exact distribution,
    P(rank ≤ k) = P(Binomial(n, k/n) ≥ ⌈n/2⌉), by inverting that CDF at
    seeded uniforms — the same bootstrap, without the n-fold cost.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    if n <= EXACT_ABOVE:
        medians = np.empty(n_boot)
        chunk = max(1, 4_000_000 // n)
        for lo in range(0, n_boot, chunk):
            hi = min(n_boot, lo + chunk)
            medians[lo:hi] = np.median(x[rng.integers(0, n, size=(hi - lo, n))], axis=1)
    else:
        ordered = np.sort(x)
        k = np.arange(1, n + 1)
        from scipy.special import bdtrc  # binomial survival function

        cdf = bdtrc((n + 1) // 2 - 1, n, k / n)
        medians = ordered[np.minimum(np.searchsorted(cdf, rng.random(n_boot)), n - 1)]
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def median_rank_interval(n: int, level: float = LEVEL) -> tuple[int, int]:
    """The 1-based ranks (l, u) of the distribution-free CI of a median of `n` values: [x₍l₎, x₍u₎].

    The number of values below the true median is Binomial(n, ½); l is the
    (1 − level)/2 quantile of that law (at least 1) and u = n + 1 − l, so that
    [x₍l₎, x₍u₎] covers the true median with probability at least `level`.
    """
    if n < 1:
        raise ValueError("no values: no rank interval")
    low = max(1, _binom_ppf((1 - level) / 2, n))
    return low, n + 1 - low


def _binom_ppf(q: float, n: int) -> int:
    """The smallest k with P(Binomial(n, ½) ≤ k) ≥ q (scipy.special, not the slow-to-import scipy.stats)."""
    from scipy.special import bdtr, bdtrik

    target = q * (1 - 1e-12)  # P(X ≤ 5) for n = 11 is ½ exactly, computed as 0.49999999999999978
    k = int(max(0.0, bdtrik(q, n, 0.5)))  # the continuous inverse: the answer is within a step of it
    while bdtr(k, n, 0.5) < target:
        k += 1
    while k > 0 and bdtr(k - 1, n, 0.5) >= target:
        k -= 1
    return k


def rank_fractions(n: int, level: float = LEVEL) -> tuple[float, float]:
    """The ranks of `median_rank_interval` as quantile fractions (r − 1)/(n − 1), for linear quantiles."""
    low, high = median_rank_interval(n, level)
    return ((low - 1) / (n - 1), (high - 1) / (n - 1)) if n > 1 else (0.0, 0.0)
