"""The event-study figure: daily abnormal returns and their running total from day 0."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from incident.core.model import Incident
from incident.core.text import number, percent, window_text
from incident.market.eventstudy import EventStudy
from incident.plots.style import COLOURS, axes_for, house_style, renderable, source_line, subtitle

TITLE_WIDTH = 60  # characters of a milestone title in the key


def plot_event_study(
    result: EventStudy,
    *,
    ax=None,
    milestones: Mapping[str, int] | pd.DataFrame | None = None,
    level: float = 0.95,
    title: str | None = None,
    sources=None,
):
    """AR bars and the CAR line from day 0 with its `level` band, on `ax` (or a new Axes); returns ax.

    One convention with the CAR table: the line at day d is CAR[0,+d], the
    sum of the abnormal returns of days 0 to d, so its value at day 4 is the
    table's CAR[0,+4]. Days before 0 are drawn as their ARs only. The band is
    CAR ± t quantile × SE, with the SE of each window [0,+d] (the fitted
    parameters' error included) and the fit's degrees of freedom.

    `milestones` marks event days: a mapping label → day, or
    `sessions.session_table`'s frame (its `title` and `day` columns). Each
    is a numbered mark over its day, and the legend under the figure is the
    key. `sources` (an incident, whose market sources are named, ids or text)
    is written under the figure.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import ScaledTranslation
    from scipy.special import stdtrit  # Student t quantile (scipy.stats costs seconds to import)

    table = result.ar
    days = table.index.to_numpy()
    car, car_se = car_from_day_zero(result)
    after = days >= 0
    q = stdtrit(result.dof, 0.5 + level / 2)
    key = _milestone_key(milestones, days)
    with house_style():
        ax = axes_for(ax, (9, 4.6 + 0.09 * len(key)))
        colors = [COLOURS["vermillion"] if v < 0 else COLOURS["green"] for v in table["ar"]]
        ax.bar(days, table["ar"], width=0.6, color=colors, alpha=0.75, gid="ar")
        ax.fill_between(days[after], (car - q * car_se)[after], (car + q * car_se)[after],
                        color=COLOURS["grey"], alpha=0.25, linewidth=0, gid="car-band")
        ax.plot(days[after], car[after], color=COLOURS["ink"], marker="o", markersize=3.5, gid="car")
        ax.axhline(0, color=COLOURS["ink"], linewidth=0.6)
        for window, r in result.car.iterrows():
            if r["start"] == 0 and r["end"] > 0 and r["end"] in days:
                # on the side away from the line's next step, so the line does not cross the text
                step = np.diff(car[days >= r["end"]][:2])
                up = bool(len(step)) and step[0] < 0
                last = r["end"] == days[-1]  # written to the left, inside the plot
                ax.annotate(f"CAR{window_text(r['start'], r['end'])} = {percent(r['car'])}", (r["end"], r["car"]),
                            xytext=(-5 if last else 5, 4 if up else -4), textcoords="offset points", fontsize=7.5,
                            color=COLOURS["ink"], ha="right" if last else "left", va="bottom" if up else "top",
                            gid=f"car-label:{window}")

        for day, numbers in _marks(key).items():
            ax.axvline(day, color=COLOURS["blue"], linestyle=":", linewidth=1, gid="milestone")
            ax.annotate(numbers, (day, 1), xycoords=("data", "axes fraction"), xytext=(0, 3),
                        textcoords="offset points", fontsize=7.5, fontweight="bold", color=COLOURS["blue"],
                        ha="center", va="bottom", gid="milestone-number", annotation_clip=False)
        ax.set_xticks(days)
        ax.set_xticklabels([f"{number(d, plus=True)}\n{t:%d %b}" for d, t in zip(days, table["date"])])
        ax.set_xlim(days[0] - 0.6, days[-1] + 0.6)
        ax.set_xlabel(f"session relative to day 0 ({result.event_day:%a %d %b %Y})")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, 0)))
        ax.set_ylabel("return beyond the model")
        est = window_text(*result.estimation)
        subtitle(
            ax, title or f"Abnormal returns, {result.model} model",
            f"α = {percent(result.alpha)} a day, β = {number(result.beta, '.2f')}, fitted on sessions "
            f"{est} (n = {result.n}); the line cumulates from day 0: at day d it is CAR[0,+d]"
            + ("\n" if key else ""),  # a line's room for the milestones' numbers
        )

        handles = [
            Patch(color=COLOURS["green"], alpha=0.75, label="abnormal return (AR) of the day, positive"),
            Patch(color=COLOURS["vermillion"], alpha=0.75, label="abnormal return (AR) of the day, negative"),
            Line2D([], [], color=COLOURS["ink"], marker="o", markersize=3.5, label="CAR from day 0 (sum of ARs 0..d)"),
            Patch(color=COLOURS["grey"], alpha=0.25, label=f"CAR {level:.0%} confidence band"),
        ]
        if key:
            handles.append(Line2D([], [], color=COLOURS["blue"], linestyle=":", label="milestone day; key:"))
            handles += [Line2D([], [], linestyle="none", label=f"{n}  day {number(day, plus=True)}: {text}") for n, day, text in key]
        # where the x labels end, to hang the legend under them: their height does not depend on the layout
        below = ax.xaxis.get_tightbbox(ax.figure.canvas.get_renderer())
        drop = (ax.bbox.y0 - below.y0) / ax.figure.dpi + 0.08
        legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 0), ncol=2,
                           bbox_transform=ax.transAxes + ScaledTranslation(0, -drop, ax.figure.dpi_scale_trans),
                           fontsize=7.5, frameon=False, handlelength=1.6)
        # the legend hangs at a depth of its own: the source line under it need not follow it at each draw
        if isinstance(sources, Incident):
            source_line(ax, sources, sources.market.sources if sources.market else None, under=[legend], pinned=True)
        elif sources is not None:
            source_line(ax, sources, under=[legend], pinned=True)
    return ax


def car_from_day_zero(result: EventStudy) -> tuple[np.ndarray, np.ndarray]:
    """CAR[0,+d] and its standard error for each day d of the span (NaN before day 0).

    The SE of a window needs the covariance of its ARs, sigma² (I + X (X'X)⁻¹ X'),
    which the result gives only as each day's SE and the CAR's SE from the
    span's start. Each day's SE is sigma² (1 + x'Ax) with x = (1, benchmark
    return), so A is recovered from them; for the market-adjusted and
    constant-mean models its benchmark terms come out zero.
    """
    table = result.ar
    days = table.index.to_numpy()
    ar = table["ar"].to_numpy(dtype=float)
    after = days >= 0
    car = np.where(after, np.cumsum(np.where(after, ar, 0.0)), np.nan)
    m = table["benchmark"].to_numpy(dtype=float)
    extra = (table["se"].to_numpy(dtype=float) / result.sigma) ** 2 - 1  # x'Ax, day by day
    design = np.column_stack([np.ones_like(m), 2 * m, m**2])
    (a, b, c), *_ = np.linalg.lstsq(design, extra, rcond=None)
    cov = result.sigma**2 * (np.eye(len(m)) + a + b * (m[:, None] + m[None, :]) + c * np.outer(m, m))
    first = int(np.argmax(after)) if after.any() else len(days)
    var = np.array([cov[first : i + 1, first : i + 1].sum() if i >= first else np.nan for i in range(len(days))])
    return car, np.sqrt(var)


def _milestone_key(milestones, days) -> list[tuple[int, int, str]]:
    """(number, day, title) for each milestone inside the plotted span, in day order."""
    if milestones is None:
        return []
    if isinstance(milestones, pd.DataFrame):
        pairs = zip(milestones["title" if "title" in milestones else "id"], milestones["day"])
    else:
        pairs = milestones.items()
    inside = sorted(((int(day), str(label)) for label, day in pairs if pd.notna(day) and days[0] <= day <= days[-1]),
                    key=lambda p: p[0])
    return [(n, day, textwrap.shorten(renderable(label), TITLE_WIDTH, placeholder=" …"))
            for n, (day, label) in enumerate(inside, start=1)]


def _marks(key) -> dict[int, str]:
    """The numbers to write over each day: '3', '4–6'."""
    by_day: dict[int, list[int]] = {}
    for n, day, _ in key:
        by_day.setdefault(day, []).append(n)
    return {day: (f"{ns[0]}–{ns[-1]}" if len(ns) > 2 else ",".join(map(str, ns))) for day, ns in by_day.items()}
