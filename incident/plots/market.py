"""The stock against its benchmark, both rebased to 100 at the last close before the incident."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd

from incident.market.eventstudy import returns
from incident.market.reaction import rebased_prices
from incident.core.model import Incident
from incident.core.text import percent
from incident.io.prices import market_prices
from incident.market.sessions import calendar, session_table
from incident.analysis.timeline import phase_table
from incident.plots.style import COLOURS, axes_for, house_style, renderable, source_line


def plot_market(inc: Incident, ax=None, weeks: int = 6):
    """The stock and the benchmark rebased to 100, the outage shaded, milestone sessions marked.

    Shows `weeks` weeks either side of the incident; the stock's return is
    written on the session of each `market` milestone.
    """
    prices = market_prices(inc)
    rebased = rebased_prices(inc, prices=prices)
    base = rebased.attrs["base_date"]
    phases = phase_table(inc)
    sessions = session_table(inc)
    start, end = _local(phases["start"].min(), inc), _local(phases["end_latest"].max(), inc)
    shown = rebased.loc[base - pd.Timedelta(weeks=weeks): end + pd.Timedelta(weeks=weeks)]
    ticker, benchmark = rebased.columns
    with house_style():
        ax = axes_for(ax, (10, 5))
        ax.axvspan(start, end, color=COLOURS["vermillion"], alpha=0.12, linewidth=0, gid="outage")
        ax.annotate("Outage", xy=(start, 1), xycoords=("data", "axes fraction"), xytext=(4, -4),
                    textcoords="offset points", ha="left", va="top", fontsize=8.5, color=COLOURS["vermillion"])
        ax.axhline(100, color=COLOURS["grey"], lw=0.8, ls="--", zorder=1)
        name = f"{ticker} ({renderable(inc.market.name)})" if inc.market.name else ticker
        # a flagged bar is left out; the line joins its neighbours
        bench_line, stock_line = shown[benchmark].dropna(), shown[ticker].dropna()
        ax.plot(bench_line.index, bench_line, color=COLOURS["sky"], label=f"{benchmark} (benchmark)", gid="benchmark")
        ax.plot(stock_line.index, stock_line, color=COLOURS["blue"], label=name, gid="stock")
        ax.plot([base], [100], ls="none", marker="o", ms=5, color=COLOURS["ink"], gid="base")
        ax.annotate(f"100 = close of {base:%a %d %b %Y},\nthe last session before the incident", xy=(base, 100),
                    xytext=(-8, 12), textcoords="offset points", ha="right", va="bottom", fontsize=8,
                    color=COLOURS["ink"], arrowprops=dict(arrowstyle="-", color=COLOURS["grey"], lw=0.6))
        days = pd.DatetimeIndex(sorted(set(sessions["session"])))
        days = days[days.isin(shown.index)]
        ax.plot(days, shown.loc[days, ticker], ls="none", marker="D", ms=4.5, mfc="white", mec=COLOURS["ink"],
                mew=1, label="Session of a milestone", gid="milestone-sessions", zorder=4)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.14 * (high - low))  # room for the notes of market moves
        _mark_market_moves(ax, inc, prices[0]["close"], shown[ticker], sessions, high + 0.12 * (high - low))
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
        ax.xaxis.set_minor_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
        ax.set_xlim(shown.index[0], shown.index[-1])
        ax.grid(axis="y")
        ax.set_ylabel(f"Close, rebased ({base:%d %b %Y} = 100)")
        ax.legend(loc="best")
        ax.set_title(f"{ticker} against {benchmark}, rebased to the last close before the incident", loc="left")
        moves = [s for m in inc.milestones if m.kind == "market" for s in m.sources]
        source_line(ax, inc, [*inc.market.sources, *moves])
    return ax


def _mark_market_moves(ax, inc: Incident, close: pd.Series, line: pd.Series, sessions: pd.DataFrame, y: float) -> None:
    """Write the stock's daily return on the session of each `market` milestone, the note at height `y`."""
    daily = returns(close)
    kinds = {m.id: m.kind for m in inc.milestones}
    for _, row in sessions[sessions["id"].map(kinds) == "market"].iterrows():
        day = row["session"]
        if day not in daily.index or day not in line.index:
            continue
        previous = close.index[close.index.get_loc(day) - 1]
        text = (f"{percent(daily.loc[day], 2, plus=True)} on {day:%a %d %b}\n"
                f"({close.loc[previous]:.2f} → {close.loc[day]:.2f} {inc.market.currency})")
        ax.annotate(text, xy=(day, line.loc[day]), xytext=(day + pd.Timedelta(days=4), y), ha="left", va="top",
                    fontsize=8.5, fontweight="bold", color=COLOURS["blue"], gid=f"market-move:{row['id']}",
                    arrowprops=dict(arrowstyle="-|>", color=COLOURS["blue"], lw=0.8, shrinkB=5,
                                    connectionstyle="angle,angleA=0,angleB=90,rad=0"))


def _local(t, inc: Incident) -> pd.Timestamp:
    """A time as the exchange's wall-clock time without a zone, the way price dates are written."""
    return pd.Timestamp(t).tz_convert(calendar(inc.market.exchange).tz).tz_localize(None)
