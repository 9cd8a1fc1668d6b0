"""The incident on a time axis: phases as bands, milestones as markers, the compensated window."""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import ScaledTranslation

from incident.analysis.costs import stated_window_claim
from incident.core.model import Incident
from incident.analysis.timeline import compensated_window, format_hours, milestone_table, phase_table
from incident.plots.style import COLOURS, IMPACT_COLOURS, axes_for, house_style, renderable, source_line

BAR = 0.56  # height of a phase band, in rows
LANE = 0.7  # rows between two lanes of milestone labels
SPAN = 0.34  # height of a day-wide milestone span
EXACT = ("second", "minute")
UNCERTAIN_ALPHA = 0.3


def plot_timeline(inc: Incident, ax=None):
    """Phases as bands and milestones as labelled markers, in the incident's time zone.

    A band is solid where the phase surely runs and hatched where a bound is
    known only to the day. Milestones known only to the day are day-wide
    spans; approximate times get a hollow marker and '~'. Labels are stacked
    in lanes so that none overlaps another.
    """
    phases = phase_table(inc)
    milestones = milestone_table(inc)
    if phases.empty and milestones.empty:
        raise ValueError(f"incident {inc.id!r} has no phases and no milestones to draw")
    with house_style():
        own = ax is None
        ax = axes_for(ax, (11, 5))
        ticks: dict[float, str] = {}
        ids: set[str] = set()
        for i, row in phases.iterrows():
            _draw_phase(ax, row, -i)
            ticks[-i] = textwrap.fill(renderable(row["phase"]), 20)
            ids.update(inc.phases[i].sources)
        bottom = -len(phases) + 0.5
        window = _draw_compensated_window(ax, inc, -len(phases))
        if window is not None:
            bottom -= 1
        items = [_draw_milestone(ax, m) for _, m in milestones.iterrows()]
        for m in inc.milestones:
            ids.update(m.sources)
        ax.set_xlim(*_time_bounds(phases, milestones))
        ax.set_ylim(bottom, 1.6)
        _format_time_axis(ax, inc, milestones)
        ax.set_yticks([*ticks, 1], [*ticks.values(), "Milestones"], fontsize=8, linespacing=1.0)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.axhline(0.55, color=COLOURS["grey"], lw=0.5, zorder=0)
        _legend(ax, phases, milestones)
        ax.set_title(f"{renderable(inc.organisation.name)}: outage phases and milestones", loc="left")
        if window is not None:
            ids.update(window)
        source_line(ax, inc, ids, under=[ax.get_legend()])
        # everything that takes room around the Axes is drawn: now the labels can be measured
        lanes = _stack_labels(ax, items, bottom)
        _legend_below(ax)
        top = 1 + (max(lanes, 1) - 1) * LANE
        ax.set_yticks([*ticks, (1 + top) / 2], [*ticks.values(), "Milestones"], fontsize=8, linespacing=1.0)
        ax.set_ylim(bottom, top + 0.6)
        if own:
            ax.figure.set_size_inches(11, 2.2 + 0.42 * (top + 0.6 - bottom))
    return ax


# -- phases -----------------------------------------------------------------------
def _draw_phase(ax, row, y: float) -> None:
    """A solid band where the phase surely runs, hatched where its bounds are uncertain."""
    colour = IMPACT_COLOURS.get(row["impact"], COLOURS["grey"])
    key = row["id"] if isinstance(row["id"], str) else row["phase"]
    start, start_latest, end, end_latest = (_num(row[c]) for c in ("start", "start_latest", "end", "end_latest"))
    if end > start_latest:
        uncertain = [(start, start_latest), (end, end_latest)]
        ax.add_patch(Rectangle((start_latest, y - BAR / 2), end - start_latest, BAR, facecolor=colour,
                               edgecolor="none", gid=f"phase:{key}"))
    else:  # the phase may have begun and ended in one imprecise interval
        uncertain = [(start, end_latest)]
    for lo, hi in uncertain:
        if hi > lo:
            ax.add_patch(Rectangle((lo, y - BAR / 2), hi - lo, BAR, facecolor=(*_rgb(colour), UNCERTAIN_ALPHA),
                                   edgecolor=colour, hatch="////", linewidth=0, gid=f"phase:{key}:uncertain"))
    ax.annotate(format_hours(row["hours_min"], row["hours_max"]), xy=(end_latest, y), xytext=(4, 0),
                textcoords="offset points", va="center", ha="left", fontsize=8, color=COLOURS["ink"])


# -- milestones -------------------------------------------------------------------
def _milestone_label(m) -> str:
    """A short label: the title up to its first ';', after the time when it is known."""
    short = renderable(m["title"].split(";")[0].strip())
    mark = "~" if m["approximate"] else ""
    if m["precision"] == "day":
        return f"{mark}{short}"
    return f"{mark}{m['time']:%H:%M} {short}"


def _draw_milestone(ax, m) -> dict:
    """Marker (or day-wide span) and label, placed in lane 0 until `_stack_labels` moves them."""
    lo, hi = _num(m["time"]), _num(m["time_latest"])
    gid = f"milestone:{m['id']}"
    colour = COLOURS["ink"]
    if m["precision"] in EXACT:
        face = "white" if m["approximate"] else colour
        (artist,) = ax.plot([lo], [1], ls="none", marker="o", ms=6, mfc=face, mec=colour, mew=1.2, gid=gid, zorder=4)
        guide = ax.plot([lo, lo], [1, 0], color=COLOURS["grey"], lw=0.6, ls=":", zorder=1)[0]
    else:
        artist = Rectangle((lo, 1 - SPAN / 2), hi - lo, SPAN, facecolor=(*_rgb(colour), 0.25), edgecolor=colour,
                           linewidth=0.8, linestyle="--" if m["approximate"] else "-", gid=gid, zorder=3)
        ax.add_patch(artist)
        guide = None
    label = ax.annotate(_milestone_label(m), xy=(hi, 1), xytext=(4, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=8, color=COLOURS["ink"], gid=f"milestone-label:{m['id']}")
    return {"lo": lo, "hi": hi, "artist": artist, "label": label, "guide": guide}


def _stack_labels(ax, items: list[dict], bottom: float) -> int:
    """Put each milestone in the lowest lane where it and its label overlap nothing; return the lanes used.

    A label goes right of its marker, or left of it when that finds a lower
    lane (or the right side has no room).
    """
    root = _root(ax.figure)
    root.draw_without_rendering()  # the final width of the Axes, so label extents in pixels are right
    pad, gap = 4 * root.dpi / 72, 6 * root.dpi / 72
    x0, x1 = ax.bbox.x0, ax.bbox.x1
    lanes: list[list[tuple[float, float]]] = []

    def free(lane, left, right):
        return all(right + gap <= a or left >= b + gap for a, b in lane)

    for item in sorted(items, key=lambda i: (i["lo"], i["hi"])):
        width = item["label"].get_window_extent().width
        lo, hi = (ax.transData.transform((x, 0))[0] for x in (item["lo"], item["hi"]))
        sides = [("right", lo, hi + pad + width), ("left", lo - pad - width, hi)]
        sides = [s for s in sides if s[1] >= x0 and s[2] <= x1] or sides[:1]
        choice = None
        for j in range(len(lanes) + 1):
            lane = lanes[j] if j < len(lanes) else []
            choice = next((s for s in sides if free(lane, s[1], s[2])), None)
            if choice is not None:
                break
        if j == len(lanes):
            lanes.append([])
        lanes[j].append(choice[1:])
        if choice[0] == "left":
            item["label"].xy = (item["lo"], 1)
            item["label"].xyann = (-4, 0)
            item["label"].set_horizontalalignment("right")
        _move(item, 1 + j * LANE, bottom)
    return len(lanes)


def _move(item: dict, y: float, bottom: float) -> None:
    artist = item["artist"]
    if isinstance(artist, Rectangle):
        artist.set_y(y - SPAN / 2)
    else:
        artist.set_ydata([y])
        item["guide"].set_ydata([y, bottom])
    item["label"].xy = (item["label"].xy[0], y)


# -- compensated window -------------------------------------------------------------
def _draw_compensated_window(ax, inc: Incident, y: float) -> list[str] | None:
    """A bracket over the cash scheme's window, labelled with its computed hours; its sources."""
    if inc.compensation is None or inc.compensation.cash is None:
        return None
    start, end, hours = compensated_window(inc)
    lo, hi = _num(start.earliest), _num(end.earliest)
    ax.plot([lo, lo, hi, hi], [y + 0.2, y, y, y + 0.2], color=COLOURS["ink"], lw=1, gid="compensated-window")
    text = f"Compensated window {start.label()} → {end.label()}: {format_hours(hours, hours)} by the calendar"
    ids = list(inc.compensation.cash.sources)
    claim = stated_window_claim(inc)
    if claim is not None and abs(claim.stated - hours) > 1e-9:
        text += f" ({', '.join(claim.sources)} states {format_hours(claim.stated, claim.stated)})"
        ids += claim.sources
    # the label interrupts the bracket's line, on a white ground
    ax.annotate(text, xy=((lo + hi) / 2, y), ha="center", va="center", fontsize=8, color=COLOURS["ink"], zorder=5,
                gid="compensated-window-label", bbox=dict(boxstyle="square,pad=0.25", facecolor="white", edgecolor="none"))
    return ids


# -- axes -------------------------------------------------------------------------
MAX_DAY_TICKS = 21  # up to three weeks, one labelled tick a day


def _format_time_axis(ax, inc: Incident, milestones: pd.DataFrame) -> None:
    tz = inc.tz
    span = (milestones["time_latest"].max() - milestones["time"].min()) if len(milestones) else pd.Timedelta(0)
    if span <= pd.Timedelta(days=MAX_DAY_TICKS):
        ax.xaxis.set_major_locator(mdates.DayLocator(tz=tz))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b", tz=tz))
        ax.xaxis.set_minor_locator(mdates.HourLocator(byhour=[6, 12, 18], tz=tz))
    else:  # a long incident (or a typo in a year): a tick a day would be thousands
        locator = mdates.AutoDateLocator(tz=tz)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    ax.grid(axis="x", which="major")
    offset = ""
    if len(milestones):
        z = milestones["time"].iloc[0].strftime("%z")
        offset = f", UTC{z[:3]}:{z[3:]}"
    ax.set_xlabel(f"Local time ({inc.timezone}{offset})")


def _legend(ax, phases: pd.DataFrame, milestones: pd.DataFrame) -> None:
    handles = [
        Patch(facecolor=IMPACT_COLOURS.get(i, COLOURS["grey"]), label=i.replace("_", " ").capitalize())
        for i in dict.fromkeys(phases["impact"])
    ]
    grey = COLOURS["ink"]
    if (phases["start"] != phases["start_latest"]).any() or (phases["end"] != phases["end_latest"]).any():
        handles.append(Patch(facecolor=(*_rgb(grey), UNCERTAIN_ALPHA), edgecolor=grey, hatch="////", linewidth=0,
                             label="Bound known only to the day"))
    precise = milestones["precision"].isin(EXACT)
    if (precise & ~milestones["approximate"]).any():
        handles.append(Line2D([], [], ls="none", marker="o", mfc=grey, mec=grey, label="Milestone"))
    if (precise & milestones["approximate"]).any():
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec=grey, label="~ About that time"))
    if (~precise).any():
        handles.append(Patch(facecolor=(*_rgb(grey), 0.25), edgecolor=grey, label="Date only (the whole day)"))
    # under the time axis (see `_legend_below`): the Axes keeps its width, so the labels need fewer lanes
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=(len(handles) + 1) // 2,
              fontsize=8, borderaxespad=0.3)


def _legend_below(ax) -> None:
    """Move the legend under the x axis's tick labels and label (measured at the last draw)."""
    root = _root(ax.figure)
    depth = (ax.bbox.y0 - ax.xaxis.get_tightbbox().y0) / root.dpi
    ax.get_legend().set_bbox_to_anchor((0.5, 0), transform=ax.transAxes + ScaledTranslation(0, -depth, root.dpi_scale_trans))


def _time_bounds(phases: pd.DataFrame, milestones: pd.DataFrame) -> tuple[float, float]:
    """From a few hours before the first time to a few hours after the last, on 6-hour marks."""
    times = pd.concat([phases["start"], phases["end_latest"], milestones["time"], milestones["time_latest"]])
    lo = (times.min() - pd.Timedelta(hours=3)).floor("6h")
    hi = (times.max() + pd.Timedelta(hours=3)).ceil("6h")
    return _num(lo), _num(hi)


def _num(t) -> float:
    """A time as matplotlib's date number (time zones respected)."""
    return float(mdates.date2num(pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_pydatetime()))


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def _root(fig):
    """The top-level Figure (an Axes may sit in a SubFigure)."""
    while getattr(fig, "_parent", None) is not None:
        fig = fig._parent
    return fig
