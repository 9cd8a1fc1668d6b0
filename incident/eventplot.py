"""The event-study figure: daily abnormal returns and their running total.

Kept apart from the computation (`eventstudy`) so that a notebook can draw
any `EventStudy` result, in a grid of its own, and restyle it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .eventstudy import EventStudy


def plot_event_study(
    result: EventStudy,
    ax=None,
    milestones: Mapping[str, int] | pd.DataFrame | None = None,
    level: float = 0.95,
    title: str | None = None,
):
    """AR bars and the CAR line with its `level` band, on `ax` (or a new Axes).

    The CAR cumulates from the first day of the result's span, and its band
    is CAR ± t quantile × SE with the fit's degrees of freedom. `milestones`
    marks event days: a mapping label → day, or `sessions.session_table`'s
    frame (its `id` and `day` columns); labels of one day are stacked.
    Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter
    from scipy import stats

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    table = result.ar
    days = table.index.to_numpy()
    q = stats.t.ppf(0.5 + level / 2, result.dof)

    colors = ["tab:red" if v < 0 else "tab:green" for v in table["ar"]]
    ax.bar(days, table["ar"], width=0.6, color=colors, alpha=0.6, label="abnormal return (AR)")
    ax.plot(days, table["car"], color="black", marker="o", markersize=3, label=f"CAR from day {days[0]}")
    ax.fill_between(
        days, table["car"] - q * table["car_se"], table["car"] + q * table["car_se"],
        color="grey", alpha=0.2, linewidth=0, label=f"CAR {level:.0%} band",
    )
    ax.axhline(0, color="black", linewidth=0.6)

    labels = _milestone_labels(milestones, days)
    if labels:
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.45 * (high - low))  # headroom for the labels
    for day, text in labels.items():
        ax.axvline(day, color="tab:blue", linestyle=":", linewidth=1)
        ax.annotate(
            text, (day, 1), xycoords=("data", "axes fraction"), xytext=(3, -4), textcoords="offset points",
            fontsize="x-small", color="tab:blue", va="top", ha="left", rotation=90,
        )

    ax.set_xticks(days)
    ax.set_xticklabels([f"{d}\n{t:%m-%d}" for d, t in zip(days, table["date"])], fontsize="small")
    ax.set_xlabel(f"session relative to day 0 ({result.event_day:%Y-%m-%d})")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("return")
    ax.set_title(title or f"Abnormal returns, {result.model} model (α={result.alpha:.2%}, β={result.beta:.2f})")
    ax.legend(loc="lower left", fontsize="small")
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
