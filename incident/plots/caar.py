"""Figures of a study of many events: the CAAR path, and each event's day-0 abnormal return."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from incident.core.text import number, percent
from incident.market.study import MarketStudy
from incident.plots.style import COLOURS, axes_for, house_style, source_line, subtitle

SOURCE = "Prices: adjusted daily closes (Yahoo Finance via the incidents' price files)"


def plot_caar(study: MarketStudy, *, ax=None, start: int = 0, end: int = 20, level: float = 0.95, sources=None):
    """The mean CAR (CAAR) cumulated from day `start`, its `level` band, and each event's CAR path faint behind it.

    By default the CARs cumulate from day 0, so drift before the event is
    not folded into the picture; `start=-10` cumulates from day −10 to show
    that drift. Days after an event's last price are left out of its path
    (and of the mean's N).

    The band is CAAR ± t quantile × the cross-sectional standard error of
    the day's CARs (N − 1 dof): it says how far the mean could be from zero
    given how differently the events moved, not the error of any one event.
    Events are named at the right end, spread apart so labels do not overlap.
    """
    from scipy.special import stdtrit  # Student t quantile

    first = int(study.ar.columns[0])
    if start < first:
        raise ValueError(f"the study keeps abnormal returns from day {first}; it cannot cumulate from day {start}")
    ar = study.ar.loc[:, start:end]
    car = ar.cumsum(axis=1, skipna=False)
    path = study.caar_path(start).loc[:end]
    path = path[path["n"] >= 2]  # a mean of fewer than two events has no band
    days = path.index.to_numpy()
    car = car.loc[:, days]
    q = stdtrit(np.maximum(path["n"].to_numpy() - 1, 1), 0.5 + level / 2)
    # every path starts at zero the session before it cumulates
    x = np.r_[days[0] - 1, days]
    caar = np.r_[0.0, path["caar"].to_numpy()]
    half = np.r_[0.0, q * path["se"].to_numpy()]
    with house_style():
        ax = axes_for(ax, (9, 5))
        for name, row in car.iterrows():
            ax.plot(x, np.r_[0.0, row.to_numpy()], color=COLOURS["grey"], linewidth=0.9, alpha=0.55, gid=f"car-{name}")
        ax.fill_between(x, caar - half, caar + half, color=COLOURS["blue"],
                        alpha=0.18, linewidth=0, label=f"{level:.0%} band (cross-sectional)", gid="caar-band")
        ax.plot(x, caar, color=COLOURS["blue"], linewidth=2.2, label=f"CAAR ({len(car)} events)", gid="caar")
        ax.axhline(0, color=COLOURS["ink"], linewidth=0.6)
        ax.axvline(-0.5, color=COLOURS["vermillion"], linestyle=":", linewidth=1)
        ax.annotate("day 0", (-0.5, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                    textcoords="offset points", fontsize=8, color=COLOURS["vermillion"])
        ax.set_xlim(x[0], x[-1] + 0.22 * (x[-1] - x[0]))  # room for the names
        ax.set_xticks([d for d in x if d % 5 == 0])
        ax.spines["bottom"].set_bounds(x[0], x[-1])
        _label_ends(ax, car.ffill(axis=1).iloc[:, -1], days[-1])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("sessions from day 0 (each event on its own exchange's calendar)")
        ax.set_ylabel("cumulative abnormal return from day " + number(start))
        ax.legend(loc="lower left", frameon=False, fontsize=8)
        subtitle(ax, "Cumulative abnormal returns around the incidents",
                 f"Mean (blue) and each event (grey), cumulated from day {number(start)}; {study.model} model, "
                 f"estimation {number(study.estimation[0])}..{number(study.estimation[1])}")
        if sources := _sources(study, sources):
            source_line(ax, sources)
    return ax


def plot_event_ars(study: MarketStudy, *, ax=None, day: int = 0, level: float = 0.95, sources=None):
    """Each event's abnormal return on `day`, sorted, with its `level` prediction-error bar."""
    from scipy.special import stdtrit

    ar = study.ar[day].sort_values()
    sd = study.sd[day].reindex(ar.index)
    dof = study.events["dof"].reindex(ar.index).to_numpy()
    err = stdtrit(dof, 0.5 + level / 2) * sd.to_numpy()
    labels = [f"{i} ({study.events.at[i, 'ticker']})" for i in ar.index]
    with house_style():
        ax = axes_for(ax, (8, 0.45 * len(ar) + 1.8))
        y = np.arange(len(ar))
        colours = [COLOURS["vermillion"] if v < 0 else COLOURS["green"] for v in ar]
        ax.barh(y, ar.to_numpy(), color=colours, alpha=0.8, height=0.6, gid="ar")
        ax.errorbar(ar.to_numpy(), y, xerr=err, fmt="none", ecolor=COLOURS["ink"], elinewidth=1, capsize=3,
                    gid="ar-error")
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.axvline(0, color=COLOURS["ink"], linewidth=0.6)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel(f"abnormal return on day {day} (bars: {level:.0%} prediction interval)")
        ax.grid(axis="y", visible=False)
        subtitle(ax, f"Abnormal return on day {day}, by event",
                 f"Actual minus the {study.model} model's prediction; sorted")
        if sources := _sources(study, sources):
            source_line(ax, sources)
    return ax


def _sources(study: MarketStudy, sources):
    """The source line asked for, or by default the prices' and the study's own model and estimation days."""
    if sources is not None:
        return sources
    first, last = (number(d) for d in study.estimation)
    return f"{SOURCE}; {study.model} model fitted on days {first}..{last}"


def _label_ends(ax, last, x) -> None:
    """Name each line at its right end, nudged apart vertically so that no two labels overlap."""
    order = last.dropna().sort_values()
    if order.empty:
        return
    low, high = ax.get_ylim()
    gap = 0.045 * (high - low)
    placed: list[float] = []
    for value in order.to_numpy():
        placed.append(value if not placed else max(value, placed[-1] + gap))
    shift = max(0.0, placed[-1] - high + gap / 2)  # keep the top label inside the axes
    for name, value, at in zip(order.index, order.to_numpy(), np.array(placed) - shift):
        ax.annotate(f"{name} " + percent(value, 0, plus=True), (x, value), xytext=(x + 0.6, at),
                    textcoords="data", fontsize=7.5, color=COLOURS["ink"], va="center",
                    arrowprops={"arrowstyle": "-", "color": COLOURS["grey"], "linewidth": 0.5})
