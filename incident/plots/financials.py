"""Financial figures as grouped bars, one group per period, spaced by year."""

from __future__ import annotations

import re

from matplotlib.patches import Patch

import pandas as pd

from incident.analysis.financials import financials_table
from incident.analysis.timeline import incident_start
from incident.core.model import Incident
from incident.core.text import minus
from incident.plots.style import COLOURS, axes_for, house_style, renderable, source_line, subtitle, thousands

METRIC_COLOURS = [COLOURS["blue"], COLOURS["orange"], COLOURS["green"], COLOURS["purple"]]


def plot_financials(inc: Incident, *, ax=None, metrics=("revenue", "adjusted EBITDA"), periods=None):
    """Bars of `metrics` for each period (default: every period that has any of them).

    Periods are placed by year, so years without figures show as a gap; a
    metric a period lacks is marked 'not given' in its place; a half year
    (H1) is hatched, and approximate figures are labelled '≈'. The year the
    incident started is shaded and named, so the figures read as before and
    after it.
    """
    table = financials_table(inc)
    table = table[table["metric"].isin(metrics)]
    if periods is not None:
        table = table[table["period"].isin(periods)]
    if table.empty:
        raise ValueError(f"incident {inc.id!r} has no figures for {', '.join(metrics)}")
    order = sorted(dict.fromkeys(table["period"]), key=_period_key)
    first = _period_key(order[0])[0]
    x = {p: _period_key(p)[0] - first for p in order}
    width = 0.8 / len(metrics)
    units = sorted(set(table["unit"]))
    incident_year = _incident_year(inc)
    with house_style():
        ax = axes_for(ax, (8, 4.6))
        for k, metric in enumerate(metrics):
            colour = METRIC_COLOURS[k % len(METRIC_COLOURS)]
            for period in sorted(set(order) - set(table.loc[table["metric"] == metric, "period"])):
                pos = x[period] + (k - (len(metrics) - 1) / 2) * width
                ax.annotate("not given", xy=(pos, 0), xytext=(0, 3), textcoords="offset points", rotation=90,
                            ha="center", va="bottom", fontsize=7.5, color=COLOURS["faint"], style="italic",
                            gid=f"not-given:{metric}:{period}")
            for _, f in table[table["metric"] == metric].iterrows():
                pos = x[f["period"]] + (k - (len(metrics) - 1) / 2) * width
                half = f["period"].upper().startswith("H")
                ax.bar(pos, f["value"], width * 0.92, color=colour, hatch="///" if half else None,
                       edgecolor="white", linewidth=0, gid=f"financial:{f['id']}")
                label = ("≈" if f["approximate"] else "") + minus(f"{f['value']:,.0f}")
                ax.annotate(label, xy=(pos, f["value"]), xytext=(0, 3 if f["value"] >= 0 else -3),
                            textcoords="offset points", ha="center", va="bottom" if f["value"] >= 0 else "top",
                            fontsize=8.5, color=COLOURS["ink"])
        _mark_gaps(ax, sorted(x.values()), first)
        if incident_year is not None:
            at = incident_year - first
            ax.axvspan(at - 0.48, at + 0.48, color=COLOURS["yellow"], alpha=0.18, linewidth=0, zorder=0,
                       gid="incident-year")
            ax.annotate(f"incident year {incident_year}", xy=(at, 1), xycoords=("data", "axes fraction"),
                        xytext=(0, -3), textcoords="offset points", ha="center", va="top", fontsize=8,
                        color=COLOURS["ink"], fontweight="bold", gid="incident-year-label")
            if at not in x.values():  # a year with no figures at all: still on the axis
                ax.set_xlim(min(min(x.values()), at) - 0.6, max(max(x.values()), at) + 0.6)
        ax.axhline(0, color=COLOURS["ink"], lw=0.8)
        ax.set_xticks(list(x.values()), [p + ("\n(half year)" if p.upper().startswith("H") else "") for p in order])
        ax.tick_params(axis="x", length=0)
        ax.spines["bottom"].set_visible(False)
        thousands(ax.yaxis)
        ax.set_ylabel(", ".join(renderable(u) for u in units))
        ax.grid(axis="y")
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.05 * (high - low), high + 0.14 * (high - low))  # room for the incident year's name
        handles = [Patch(color=METRIC_COLOURS[k % len(METRIC_COLOURS)], label=m[:1].upper() + m[1:])
                   for k, m in enumerate(metrics)]
        ax.legend(handles=handles, loc="upper left")
        note = "≈ the source gives the figure as approximate" if table["approximate"].any() else None
        subtitle(ax, f"{renderable(inc.organisation.name)}: " + " and ".join(metrics), note)
        source_line(ax, inc, {s.strip() for cell in table["sources"] for s in cell.split(",")})
    return ax


def _incident_year(inc: Incident) -> int | None:
    """The year the incident started, in its own timezone."""
    start = incident_start(inc) or (inc.milestones[0].id if inc.milestones else None)
    if start is None:
        return None
    return pd.Timestamp(inc.when(start).earliest).tz_convert(inc.timezone).year


def _period_key(period: str) -> tuple[int, str]:
    """(year, period): '2018' -> (2018, ...), 'H1 2019' -> (2019, ...)."""
    m = re.search(r"(\d{4})", period)
    if not m:
        raise ValueError(f"cannot place the period {period!r} in time (expected a year in it)")
    return int(m.group(1)), period


def _mark_gaps(ax, positions: list[int], first: int) -> None:
    """Say which years have no figures, between the groups they separate."""
    for a, b in zip(positions, positions[1:]):
        if b - a > 1:
            years = f"{first + a + 1}" if b - a == 2 else f"{first + a + 1}–{first + b - 1}"
            ax.annotate(f"{years}:\nnot given", xy=((a + b) / 2, 0), xytext=(0, 6), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color=COLOURS["faint"], style="italic")
