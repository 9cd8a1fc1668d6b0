"""Figures of incident histories (see `incident.analysis.history`).

Durations span minutes to days, so the figures use log-scale time axes: on a
linear one the long tail squeezes every typical incident into the first bar.
Tick labels are plain durations ("10 min", "1 h", "1 d"), not powers of ten.
Each function draws on `ax` (or a new Axes), returns it, and leaves
matplotlib's global settings alone:

- `plot_stage_ecdf`: the distribution of each stage (ttd, tti, ttm, ttr);
- `plot_group_comparison`: one stage across groups, sorted by median, with
  the median's bootstrap CI and n in each label;
- `plot_quarterly_trend`: per quarter, the median with its CI band over bars
  counting the incidents, from the first quarter where the stage is known;
  the band only over quarters that have a CI, the line broken and marked
  where its source changes;
- `plot_duration_ecdf`, `plot_duration_histogram`: the older hour-based figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from incident.analysis.history import MIN_N_FOR_CI, as_ibis, ecdf, group_stats, group_values, quarterly_trend
from incident.analysis.history_coverage import from_first_known, quarter_sources, source_changes
from incident.io.history_schema import STAGE_NAMES, shown_stages
from incident.plots.style import COLOURS, axes_for, house_style

ONE_SECOND = 1 / 3600  # a log axis cannot show zero: shorter durations are drawn at one second
_LABELS = {
    "hours_to_resolve": "hours from start to resolved",
    "hours_to_mitigate": "hours from start to mitigated",
    "hours_to_detect": "hours from start to detected",
}


def plot_duration_ecdf(table: pd.DataFrame, *, ax=None, column: str = "hours_to_resolve", by: str | None = "impact"):
    """Empirical CDF of a duration, one line per value of `by`, with medians marked."""
    with house_style():
        return _draw_ecdf(table, axes_for(ax, (8, 4.5)), column, by)


def _draw_ecdf(table: pd.DataFrame, ax, column: str, by: str | None):
    groups = [("all", table)] if by is None else list(table.groupby(by, sort=True))
    for name, group in groups:
        curve = ecdf(group[column])
        if curve.empty:
            continue
        x, y = _from_zero(curve["hours"].clip(lower=ONE_SECOND), curve["share"])
        line, = ax.step(x, y, where="post", label=f"{name} (n={int(group[column].count())})")
        median = group[column].median()
        ax.plot([median], [0.5], "o", color=line.get_color(), ms=4)
    ax.axhline(0.5, color=COLOURS["grey"], lw=0.6, ls=":")
    ax.set_xscale("log")
    duration_axis(ax.xaxis, per_minute=1 / 60)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_LABELS.get(column, column) + " (log scale)")
    ax.set_ylabel("share of incidents at or below")
    ax.set_title("How long incidents last (dots: medians)")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    return ax


def plot_duration_histogram(table: pd.DataFrame, *, ax=None, column: str = "hours_to_resolve", bins: int = 30):
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
    duration_axis(ax.xaxis, per_minute=1 / 60)
    ax.set_xlabel(_LABELS.get(column, column) + " (log scale)")
    ax.set_ylabel("incidents")
    ax.set_title("Distribution of incident durations")
    return ax


# -- stages: distributions, groups, trends ------------------------------------------
SHORTEST = 0.1  # minutes: a log axis cannot show 0, so zero durations are drawn at 6 s
_STEPS = [(1440, "d"), (60, "h"), (1, "min")]
_STAGE_COLOURS = {"ttd": COLOURS["sky"], "tta": COLOURS["purple"], "tti": COLOURS["orange"], "ttm": COLOURS["green"],
                  "ttr": COLOURS["vermillion"]}


def format_duration(minutes: float) -> str:
    """'30 s', '10 min', '1 h', '1.5 h', '2 d' for a number of minutes."""
    if not np.isfinite(minutes) or minutes <= 0:
        return ""
    for size, unit in _STEPS:
        if minutes >= size:
            return f"{minutes / size:,.3g} {unit}"
    return f"{minutes * 60:.3g} s"


def duration_axis(axis, per_minute: float = 1.0) -> None:
    """Plain duration tick labels on a log axis whose values are minutes (× `per_minute`).

    Major ticks at 1, 10 min, 1 h, 6 h, 1 d, 1 week... where they fall; no minor labels.
    """
    axis.set_major_locator(_FixedLog(_COARSE * per_minute, _FINE * per_minute))
    axis.set_major_formatter(FuncFormatter(lambda x, _: format_duration(x / per_minute)))
    axis.set_minor_locator(LogLocator(subs="auto"))
    axis.set_minor_formatter(NullFormatter())


_COARSE = np.array([0.1, 1, 10, 60, 360, 1440, 10080, 43200, 525600], dtype=float)  # 6 s … 1 year
_FINE = np.array([0.1, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440, 2880, 4320, 10080, 20160,
                  43200, 129600, 525600], dtype=float)


class _FixedLog(LogLocator):
    """Round durations as ticks: the coarse set on a wide view, the fine one on a narrow view."""

    def __init__(self, coarse, fine):
        super().__init__()
        self._coarse, self._fine = np.asarray(coarse), np.asarray(fine)

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((vmin, vmax))
        for values in (self._coarse, self._fine):
            inside = values[(values >= lo) & (values <= hi)]
            if len(inside) >= 3:
                return inside
        return inside if len(inside) else super().tick_values(vmin, vmax)


def plot_stage_ecdf(table: pd.DataFrame, stages=None, *, ax=None):
    """Empirical CDF of each stage's known durations (minutes, log axis); dots mark the medians."""
    with house_style():
        ax = axes_for(ax, (8, 4.5))
        drawn = 0
        for stage in shown_stages(table) if stages is None else stages:
            values = table[stage].dropna()
            if values.empty:
                continue
            curve = ecdf(values)
            colour = _STAGE_COLOURS.get(stage)
            x, y = _from_zero(curve["hours"].clip(lower=SHORTEST), curve["share"])
            ax.step(x, y, where="post", color=colour,
                    label=f"{STAGE_NAMES.get(stage, stage)} (n={len(values):,} of {len(table):,})")
            ax.plot([max(values.median(), SHORTEST)], [0.5], "o", color=colour, ms=4)
            drawn += 1
        ax.axhline(0.5, color=COLOURS["grey"], lw=0.6, ls=":")
        ax.set_xscale("log")
        duration_axis(ax.xaxis)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("minutes from the start (log scale; 0 drawn at 6 s)")
        ax.set_ylabel("share of incidents at or below")
        ax.set_title("How long each stage takes (dots: medians; only incidents where the stage is known)",
                     loc="left", fontsize=10)
        if drawn:
            ax.legend(fontsize=8, frameon=False, loc="lower right")
        ax.grid(alpha=0.3, which="major")
        return ax


def plot_group_comparison(table: pd.DataFrame, by: str, stage: str = "ttr", *, ax=None, min_n: int = 1,
                          method: str = "bootstrap"):
    """One stage across the groups of `by`: horizontal boxes sorted by median, with the median's CI.

    Each label gives the group and n (records where the stage is known); the
    thick line over each box is the median's CI by `method` ("bootstrap" or
    "rank", as `group_stats` gives it; groups with n ≥ MIN_N_FOR_CI). Groups with
    fewer than `min_n` known values are left out.
    """
    t = as_ibis(table)
    values = group_values(t, by, stage)
    groups = [(name, g.to_numpy(dtype=float)) for name, g in values.groupby("group")["value"]]
    groups = [(name, v) for name, v in groups if len(v) >= max(min_n, 1)]
    groups.sort(key=lambda item: np.median(item[1]), reverse=True)  # longest median at the bottom
    with house_style():
        ax = axes_for(ax, (8, 1.2 + 0.38 * max(len(groups), 1)))
        if groups:
            data = [np.clip(v, SHORTEST, None) for _, v in groups]
            ax.boxplot(data, orientation="horizontal", widths=0.55, showfliers=True, patch_artist=True,
                       boxprops={"facecolor": "#E8E8E8", "edgecolor": COLOURS["grey"]},
                       medianprops={"color": COLOURS["vermillion"], "lw": 1.5},
                       whiskerprops={"color": COLOURS["grey"]}, capprops={"color": COLOURS["grey"]},
                       flierprops={"marker": ".", "markersize": 3, "markeredgecolor": COLOURS["grey"]})
            ci = group_stats(t, by, [stage], method=method).set_index("group")  # the CI the group tables give
            for y, (name, _) in enumerate(groups, start=1):
                low, high = ci.loc[name, ["median_ci_low", "median_ci_high"]]
                if np.isfinite(low):
                    ax.plot([max(low, SHORTEST), max(high, SHORTEST)], [y, y], color=COLOURS["blue"], lw=4,
                            alpha=0.7, solid_capstyle="butt", zorder=3)
            ax.set_yticks(range(1, len(groups) + 1),
                          [f"{name} (n={len(v):,})" for name, v in groups], fontsize=8)
            ax.set_xscale("log")
            duration_axis(ax.xaxis)
        ax.set_xlabel(f"{STAGE_NAMES.get(stage, stage)}, minutes from the start (log scale)")
        ax.set_title(f"{STAGE_NAMES.get(stage, stage).capitalize()} by {by}, sorted by median "
                     f"(red: median; blue: its 95% CI where n ≥ {MIN_N_FOR_CI})", loc="left", fontsize=10)
        ax.grid(alpha=0.3, axis="x", which="major")
        return ax


def _from_zero(x: pd.Series, share: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An ECDF's steps starting from 0 at its first value: a group of one is a visible jump, not nothing."""
    return np.concatenate([x.to_numpy()[:1], x.to_numpy()]), np.concatenate([[0.0], share.to_numpy()])


def plot_quarterly_trend(table: pd.DataFrame, stage: str = "ttr", *, ax=None, method: str = "bootstrap",
                         trend: pd.DataFrame | None = None):
    """Per quarter: bars counting the incidents, and the median of `stage` with its CI band (log axis).

    Quarters run from the first where the stage is known (`from_first_known`):
    earlier ones say only that it was not recorded. The median is drawn where
    the quarter has a known value, the band only over quarters with a CI
    (n ≥ MIN_N_FOR_CI), broken where one has none rather than interpolated
    across it; a lone quarter with a CI is a vertical bar. Where the sources
    of the known values change (`source_changes`, e.g. ISSRE'22 postmortems
    then GitHub's status page), the line is broken and a dashed line marks
    the change, labelled with the sources from there on. `trend`: the
    table's `quarterly_trend` of `stage`, when the caller has computed it.
    """
    full = quarterly_trend(table, stage, method=method) if trend is None else trend
    trend = from_first_known(full)
    trend = trend[trend["quarter"] != "(unknown)"].reset_index(drop=True)
    skipped = int((full["quarter"] != "(unknown)").sum()) - len(trend)
    changes = source_changes(trend, quarter_sources(table, stage)) if len(trend) else []
    with house_style():
        ax = axes_for(ax, (10, 4.5))
        x = np.arange(len(trend))
        counts = ax.twinx()
        counts.bar(x, trend["records"], color="#D9D9D9", width=0.8, label="incidents")
        counts.set_ylabel("incidents per quarter", color=COLOURS["faint"])
        counts.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole incidents, not 0.25 steps
        counts.tick_params(axis="y", labelsize=8, colors=COLOURS["faint"])
        counts.spines["right"].set_visible(True)
        counts.set_ylim(0, max(1, trend["records"].max() if len(trend) else 1) * 3)  # bars under the line
        ax.set_zorder(counts.get_zorder() + 1)
        ax.patch.set_visible(False)
        if (trend["n"] > 0).any():
            _draw_band(ax, x, trend)
            median = trend["median"].clip(lower=SHORTEST).to_numpy()
            bounds = [0] + [pos for pos, _ in changes] + [len(trend)]
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):  # one piece per source: never joined across
                ax.plot(x[a:b], median[a:b], "o-", color=COLOURS["vermillion"], ms=3, lw=1.5,  # NaN breaks it too
                        label="median" if i == 0 else None)
            ax.set_yscale("log")
            ax.margins(y=0.06)  # the highest median or CI edge stays inside the frame
            ax.relim()
            ax.autoscale_view(scalex=False)
            duration_axis(ax.yaxis)
            for j, (pos, sources) in enumerate(changes):
                ax.axvline(pos - 0.5, color=COLOURS["grey"], lw=1, ls="--",
                           label="source changes" if j == 0 else None)
                ax.annotate(f"from here: {sources}", (pos - 0.5, 1), xycoords=("data", "axes fraction"),
                            xytext=(3, -3), textcoords="offset points", ha="left", va="top", fontsize=7,
                            color=COLOURS["grey"])
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(0, 0.92) if changes else None)
        step = max(1, int(np.ceil(len(trend) / 12)))
        ax.set_xticks(x[::step], trend["quarter"].iloc[::step], fontsize=8)
        ax.set_xlim(-0.6, len(trend) - 0.4)
        ax.set_ylabel(f"{STAGE_NAMES.get(stage, stage)}, minutes from the start (log scale)")
        since = (f"\nfrom {trend['quarter'].iloc[0]} on: no earlier record gives it" if skipped and len(trend)
                 else "")
        ax.set_title(f"{STAGE_NAMES.get(stage, stage).capitalize()} per quarter: median and its CI "
                     f"(grey bars: incidents){since}", loc="left", fontsize=10)
        ax.grid(alpha=0.3, axis="y", which="major")
        return ax


def _draw_band(ax, x: np.ndarray, trend: pd.DataFrame) -> None:
    """The median's CI over each run of consecutive quarters that have one; a lone quarter as a bar."""
    has = trend["median_ci_low"].notna().to_numpy()
    low = trend["median_ci_low"].clip(lower=SHORTEST).to_numpy()
    high = trend["median_ci_high"].clip(lower=SHORTEST).to_numpy()
    label: str | None = f"95% CI of the median (n ≥ {MIN_N_FOR_CI}; none where fewer)"
    edges = np.flatnonzero(np.diff(np.concatenate([[0], has.astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):  # [a, b): one run of quarters with a CI
        if b - a == 1:
            ax.vlines(x[a], low[a], high[a], color=COLOURS["vermillion"], alpha=0.3, lw=6, label=label)
        else:
            ax.fill_between(x[a:b], low[a:b], high[a:b], color=COLOURS["vermillion"], alpha=0.2, lw=0, label=label)
        label = None
