"""Figures of incident durations across many incidents (see `incident.history`).

Durations span minutes to days, so both figures use a log-scale x axis: on a
linear one the long tail squeezes every typical incident into the first bar.
Each function draws on `ax` (or a new Axes), returns it, and leaves
matplotlib's global settings alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident.analysis.history import ecdf
from incident.plots.style import COLOURS, axes_for, house_style

ONE_SECOND = 1 / 3600  # a log axis cannot show zero: shorter durations are drawn at one second
_LABELS = {
    "hours_to_resolve": "hours from start to resolved",
    "hours_to_mitigate": "hours from start to mitigated",
    "hours_to_detect": "hours from start to detected",
}


def plot_duration_ecdf(table: pd.DataFrame, ax=None, column: str = "hours_to_resolve", by: str | None = "impact"):
    """Empirical CDF of a duration, one line per value of `by`, with medians marked."""
    with house_style():
        return _draw_ecdf(table, axes_for(ax, (8, 4.5)), column, by)


def _draw_ecdf(table: pd.DataFrame, ax, column: str, by: str | None):
    groups = [("all", table)] if by is None else list(table.groupby(by, sort=True))
    for name, group in groups:
        curve = ecdf(group[column])
        if curve.empty:
            continue
        x = curve["hours"].clip(lower=ONE_SECOND)
        line, = ax.step(x, curve["share"], where="post", label=f"{name} (n={int(group[column].count())})")
        median = group[column].median()
        ax.plot([median], [0.5], "o", color=line.get_color(), ms=4)
    ax.axhline(0.5, color=COLOURS["grey"], lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_LABELS.get(column, column) + " (log scale)")
    ax.set_ylabel("share of incidents at or below")
    ax.set_title("How long incidents last (dots: medians)")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    return ax


def plot_duration_histogram(table: pd.DataFrame, ax=None, column: str = "hours_to_resolve", bins: int = 30):
    """Histogram of a duration on log-spaced bins, with the median and the mean marked."""
    with house_style():
        return _draw_histogram(table, axes_for(ax, (8, 4.5)), column, bins)


def _draw_histogram(table: pd.DataFrame, ax, column: str, bins: int):
    values = table[column].dropna()
    values = values.clip(lower=ONE_SECOND)
    if len(values):
        lo, hi = values.min(), values.max()
        edges = np.geomspace(lo, hi if hi > lo else lo * 10, bins + 1)
        ax.hist(values, bins=edges, color=COLOURS["grey"], edgecolor="white")
        median, mean = values.median(), values.mean()
        ax.axvline(median, color=COLOURS["vermillion"], lw=1.5, label=f"median {median:,.2f} h")
        ax.axvline(mean, color=COLOURS["blue"], lw=1.5, ls="--", label=f"mean {mean:,.2f} h (pulled by the tail)")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel(_LABELS.get(column, column) + " (log scale)")
    ax.set_ylabel("incidents")
    ax.set_title("Distribution of incident durations")
    return ax

