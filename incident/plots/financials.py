"""Financial figures as grouped bars, one group per period, spaced by year."""

from __future__ import annotations

import re

from matplotlib.patches import Patch

from incident.analysis.financials import financials_table, shared_periods
from incident.core.model import Incident
from incident.plots.style import COLOURS, axes_for, house_style, renderable, source_line, subtitle, thousands

METRIC_COLOURS = [COLOURS["blue"], COLOURS["orange"], COLOURS["green"], COLOURS["purple"]]


def plot_financials(inc: Incident, ax=None, metrics=("revenue", "adjusted EBITDA"), periods=None):
    """Bars of `metrics` for each period (default: the periods that have all of them).

    Periods are placed by year, so years without figures show as a gap; a
    half year (H1) is hatched, and approximate figures are labelled '≈'.
    """
    table = financials_table(inc)
    table = table[table["metric"].isin(metrics)]
    if periods is None:
        periods = shared_periods(inc, metrics)
    table = table[table["period"].isin(periods)]
    if table.empty:
        raise ValueError(f"incident {inc.id!r} has no figures for {', '.join(metrics)}")
    order = sorted(dict.fromkeys(table["period"]), key=_period_key)
    first = _period_key(order[0])[0]
    x = {p: _period_key(p)[0] - first for p in order}
    width = 0.8 / len(metrics)
    units = sorted(set(table["unit"]))
    with house_style():
        ax = axes_for(ax, (8, 4.6))
        for k, metric in enumerate(metrics):
            colour = METRIC_COLOURS[k % len(METRIC_COLOURS)]
            for _, f in table[table["metric"] == metric].iterrows():
                pos = x[f["period"]] + (k - (len(metrics) - 1) / 2) * width
                half = f["period"].upper().startswith("H")
                ax.bar(pos, f["value"], width * 0.92, color=colour, hatch="///" if half else None,
                       edgecolor="white", linewidth=0, gid=f"financial:{f['id']}")
                label = ("≈" if f["approximate"] else "") + f"{f['value']:,.0f}".replace("-", "\N{MINUS SIGN}")
                ax.annotate(label, xy=(pos, f["value"]), xytext=(0, 3 if f["value"] >= 0 else -3),
                            textcoords="offset points", ha="center", va="bottom" if f["value"] >= 0 else "top",
                            fontsize=8.5, color=COLOURS["ink"])
        _mark_gaps(ax, sorted(x.values()), first)
        ax.axhline(0, color=COLOURS["ink"], lw=0.8)
        ax.set_xticks(list(x.values()), [p + ("\n(half year)" if p.upper().startswith("H") else "") for p in order])
        ax.tick_params(axis="x", length=0)
        ax.spines["bottom"].set_visible(False)
        thousands(ax.yaxis)
        ax.set_ylabel(", ".join(renderable(u) for u in units))
        ax.grid(axis="y")
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.05 * (high - low), high + 0.08 * (high - low))
        handles = [Patch(color=METRIC_COLOURS[k % len(METRIC_COLOURS)], label=m[:1].upper() + m[1:])
                   for k, m in enumerate(metrics)]
        ax.legend(handles=handles, loc="upper left")
        note = "≈ the source gives the figure as approximate" if table["approximate"].any() else None
        subtitle(ax, f"{renderable(inc.organisation.name)}: " + " and ".join(metrics), note)
        source_line(ax, inc, {s.strip() for cell in table["sources"] for s in cell.split(",")})
    return ax


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
