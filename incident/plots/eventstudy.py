"""The event-study figure: daily abnormal returns and their running total."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.ticker import PercentFormatter

from incident.market.eventstudy import EventStudy
from incident.core.model import Incident
from incident.plots.style import COLOURS, axes_for, house_style, source_line, subtitle


def plot_event_study(
    result: EventStudy,
    ax=None,
    milestones: Mapping[str, int] | pd.DataFrame | None = None,
    level: float = 0.95,
    title: str | None = None,
    sources=None,
):
    """AR bars and the CAR line with its `level` band, on `ax` (or a new Axes).

    The CAR cumulates from the first day of the result's span, and its band
    is CAR ± t quantile × SE with the fit's degrees of freedom. `milestones`
    marks event days: a mapping label → day, or `sessions.session_table`'s
    frame (its `id` and `day` columns); labels of one day are stacked.
    `sources` (an incident, whose market sources are named, ids or text) is
    written under the figure.
    """
    from scipy import stats

    table = result.ar
    days = table.index.to_numpy()
    q = stats.t.ppf(0.5 + level / 2, result.dof)
    with house_style():
        ax = axes_for(ax, (9, 4.5))
        colors = [COLOURS["vermillion"] if v < 0 else COLOURS["green"] for v in table["ar"]]
        ax.bar(days, table["ar"], width=0.6, color=colors, alpha=0.75, label="abnormal return (AR)", gid="ar")
        ax.fill_between(
            days, table["car"] - q * table["car_se"], table["car"] + q * table["car_se"],
            color=COLOURS["grey"], alpha=0.25, linewidth=0, label=f"CAR {level:.0%} band", gid="car-band",
        )
        ax.plot(days, table["car"], color=COLOURS["ink"], marker="o", markersize=3.5,
                label=f"CAR from day {days[0]}", gid="car")
        ax.axhline(0, color=COLOURS["ink"], linewidth=0.6)

        labels = _milestone_labels(milestones, days)
        if labels:
            low, high = ax.get_ylim()
            ax.set_ylim(low, high + 0.45 * (high - low))  # headroom for the labels
        for day, text in labels.items():
            ax.axvline(day, color=COLOURS["blue"], linestyle=":", linewidth=1)
            ax.annotate(
                text, (day, 1), xycoords=("data", "axes fraction"), xytext=(3, -4), textcoords="offset points",
                fontsize=7, color=COLOURS["blue"], va="top", ha="left", rotation=90,
            )
        ax.set_xticks(days)
        ax.set_xticklabels([f"{d}\n{t:%d %b}" for d, t in zip(days, table["date"])])
        ax.set_xlabel(f"session relative to day 0 ({result.event_day:%a %d %b %Y})")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel("return beyond the model")
        subtitle(
            ax, title or f"Abnormal returns, {result.model} model",
            f"α = {result.alpha:.2%} a day, β = {result.beta:.2f}, fitted on sessions "
            f"{result.estimation[0]}..{result.estimation[1]} (n = {result.n})",
        )
        ax.legend(loc="lower left", fontsize=8, frameon=False)
        if isinstance(sources, Incident):
            source_line(ax, sources, sources.market.sources if sources.market else None)
        elif sources is not None:
            source_line(ax, sources)
    return ax


def _milestone_labels(milestones, days) -> dict[int, str]:
    """Label text per event day inside the plotted span."""
    if milestones is None:
        return {}
    if isinstance(milestones, pd.DataFrame):
        pairs = zip(milestones["id" if "id" in milestones else "title"], milestones["day"])
    else:
        pairs = milestones.items()
    out: dict[int, list[str]] = {}
    for label, day in pairs:
        if days[0] <= day <= days[-1]:
            out.setdefault(int(day), []).append(str(label))
    return {day: "\n".join(texts) for day, texts in sorted(out.items())}
