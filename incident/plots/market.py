"""The stock against its benchmark, both rebased to 100 at the last close before the incident."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.transforms import offset_copy

from incident.market.eventstudy import returns
from incident.market.reaction import market_section, rebased_prices
from incident.core.model import Incident
from incident.core.text import percent
from incident.io.prices import market_prices
from incident.market.sessions import calendar, day_zero, session_table
from incident.analysis.timeline import phase_table
from incident.plots.style import COLOURS, axes_for, house_style, renderable, source_line

NOTE_ROW = 26  # points a note of a market move takes: two lines of 8.5 pt and a gap


def plot_market(inc: Incident, *, ax=None, weeks: int = 6):
    """The stock and the benchmark rebased to 100, the outage shaded, milestone sessions marked.

    Shows `weeks` weeks either side of the incident; the stock's return is
    written on the session of each `market` milestone. The outage is the
    span of the phases; an incident without phases (a breach known from its
    milestones) has no outage shaded, which the figure says, and its window
    ends `weeks` after day 0.
    """
    prices = market_prices(inc)
    market = market_section(inc)
    rebased = rebased_prices(inc, prices=prices)
    base = rebased.attrs["base_date"]
    phases = phase_table(inc)
    sessions = session_table(inc)
    if phases.empty:  # no source says when users were affected: nothing is shaded, and the window ends at day 0
        outage, end = None, day_zero(inc)
    else:
        outage = _local(phases["start"].min(), inc), _local(phases["end_latest"].max(), inc)
        end = outage[1]
    shown = rebased.loc[base - pd.Timedelta(weeks=weeks): end + pd.Timedelta(weeks=weeks)]
    ticker, benchmark = rebased.columns
    with house_style():
        ax = axes_for(ax, (10, 5))
        if outage is not None:  # named in the legend: a note at the band's top would meet the market moves' notes
            ax.axvspan(*outage, color=COLOURS["vermillion"], alpha=0.12, linewidth=0, label="Outage", gid="outage")
        else:
            ax.annotate("No phases recorded: no outage shaded", xy=(0, 1), xycoords="axes fraction",
                        xytext=(4, -4), textcoords="offset points", ha="left", va="top", fontsize=8.5,
                        color=COLOURS["grey"], gid="no-outage")
        ax.axhline(100, color=COLOURS["grey"], lw=0.8, ls="--", zorder=1)
        name = f"{ticker} ({renderable(market.name)})" if market.name else ticker
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
        _mark_market_moves(ax, inc, prices[0]["close"], shown[ticker], sessions)
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
        ax.xaxis.set_minor_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
        ax.set_xlim(shown.index[0], shown.index[-1])
        ax.grid(axis="y")
        ax.set_ylabel(f"Close, rebased ({base:%d %b %Y} = 100)")
        ax.legend(loc="best")
        ax.set_title(f"{ticker} against {benchmark}, rebased to the last close before the incident", loc="left")
        moves = [s for m in inc.milestones if m.kind == "market" for s in m.sources]
        source_line(ax, inc, [*market.sources, *moves])
    return ax


def _mark_market_moves(ax, inc: Incident, close: pd.Series, line: pd.Series, sessions: pd.DataFrame) -> None:
    """Write the stock's daily return on the session of each `market` milestone, above the lines.

    One note a session (milestones on the same session share its return).
    The notes hang from the top of the axes one under another, the earliest
    on top, so that each arrow runs left of the notes below it and no two
    notes overlap however close their sessions are; the y axis is raised to
    leave them room (one row at least, for the note of the base close).
    """
    daily = returns(close)
    kinds = {m.id: m.kind for m in inc.milestones}
    market = sessions[sessions["id"].map(kinds) == "market"]
    market = market[market["session"].isin(daily.index) & market["session"].isin(line.index)]
    notes = market.drop_duplicates("session").sort_values("session")
    # the axes' height in points, less what the layout engine will take for titles and labels
    height = ax.bbox.height * 72 / ax.figure.dpi * 0.85
    room = min(0.6, (4 + NOTE_ROW * max(len(notes), 1)) / height)  # a fraction of the axes, above the lines
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + (high - low) * room / (1 - room))
    for k, (_, note) in enumerate(notes.iterrows()):
        day = note["session"]
        previous = close.index[close.index.get_loc(day) - 1]
        text = (f"{percent(daily.loc[day], 2, plus=True)} on {day:%a %d %b}\n"
                f"({close.loc[previous]:.2f} → {close.loc[day]:.2f} {market_section(inc).currency})")
        row = offset_copy(ax.get_xaxis_transform(), fig=ax.figure, y=-(3 + NOTE_ROW * k), units="points")
        ax.annotate(text, xy=(day, line.loc[day]), xytext=(day + pd.Timedelta(days=4), 1), textcoords=row,
                    ha="left", va="top", fontsize=8.5, fontweight="bold", color=COLOURS["blue"],
                    gid=f"market-move:{note['id']}",
                    arrowprops=dict(arrowstyle="-|>", color=COLOURS["blue"], lw=0.8, shrinkB=5,
                                    connectionstyle="angle,angleA=0,angleB=90,rad=0"))


def _local(t, inc: Incident) -> pd.Timestamp:
    """A time as the exchange's wall-clock time without a zone, the way price dates are written."""
    return pd.Timestamp(t).tz_convert(calendar(market_section(inc).exchange).tz).tz_localize(None)
