"""The incident on a time axis: phases as bands, milestones as markers, the compensated window."""

from __future__ import annotations

import textwrap

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import ScaledTranslation

from incident.core.model import Incident
from incident.analysis.timeline import compensated_window, format_hours, milestone_table, phase_table, window_note
from incident.plots.style import (
    COLOURS, IMPACT_COLOURS, TITLE_Y, axes_for, house_style, keep_layout, renderable, source_line, text_width,
)

BAR = 0.56  # height of a phase band, in rows
LANE = 0.7  # rows between two lanes of milestone labels
SPAN = 0.34  # height of a day-wide milestone span
EXACT = ("second", "minute")
UNCERTAIN_ALPHA = 0.3
# For a label whose point is inside the Axes by construction (the time axis spans every phase and
# milestone it labels, the rows every lane): drawn without testing, at each draw, whether it is.
INSIDE = {"annotation_clip": False}


def plot_timeline(inc: Incident, *, ax=None):
    """Phases as bands and milestones as labelled markers, in the incident's time zone.

    A band is solid where the phase surely runs and hatched where a bound is
    known only to the day; a planned phase is an outline, and a span no
    source reports is a grey hatched band. Milestones known only to the day
    are day-wide spans; approximate times get a hollow marker and '~';
    planned or estimated ones a hollow diamond, a dashed guide and their
    status in the label. Labels are stacked in lanes so that none overlaps
    another. Past MAX_LABELS milestones, the most important are labelled
    and the others are short ticks without labels (see `_labelled`). The
    time axis scales with the span: minutes for an outage of an hour, hours
    for a day, days for weeks, the first day always named.
    """
    phases = phase_table(inc, gaps=True)
    milestones = milestone_table(inc)
    if phases.empty and milestones.empty:
        raise ValueError(f"incident {inc.id!r} has no phases and no milestones to draw")
    with house_style():
        own = ax is None
        ax = axes_for(ax, (11, 5))
        ticks: dict[float, str] = {}
        ids: set[str] = set()
        by_id = {p.id or p.name: p for p in inc.phases}
        for i, row in phases.iterrows():
            _draw_phase(ax, row, -i)
            ticks[-i] = textwrap.fill(renderable(row["phase"]), 20)
            phase = by_id.get(row["id"] if isinstance(row["id"], str) else row["phase"])
            if phase is not None:
                ids.update(phase.sources)
        bottom = -len(phases) + 0.5
        window = _draw_compensated_window(ax, inc, -len(phases))
        if window is not None:
            bottom -= 1
        near = _near(phases, milestones)
        lo, hi = _time_bounds(phases, milestones[near], _max_ticks(ax))
        near |= (milestones["time"] >= lo) & (milestones["time_latest"] <= hi)  # inside the axis after all
        labelled = _labelled(milestones, near)
        items = [_draw_milestone(ax, m) if near.at[i] else _draw_far_milestone(ax, m, lo, hi)
                 for i, m in milestones[labelled].iterrows()]
        unlabelled = _draw_unlabelled(ax, milestones[~labelled], lo, hi)
        for m in inc.milestones:
            ids.update(m.sources)
        ax.set_xlim(_num(lo), _num(hi))
        ax.set_ylim(bottom, 1.6)
        _format_time_axis(ax, inc, lo, hi)
        ax.set_yticks([*ticks, 1], [*ticks.values(), "Milestones"], fontsize=8, linespacing=1.0)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.axhline(0.55, color=COLOURS["grey"], lw=0.5, zorder=0)
        _legend(ax, phases, milestones[labelled], unlabelled)
        ax.set_title(f"{renderable(inc.organisation.name)}: outage phases and milestones", loc="left", y=TITLE_Y)
        if window is not None:
            ids.update(window)
        if own:
            _fit_height(ax.figure, _guess_lanes(ax, items), bottom)
        _legend_below(ax)
        source_line(ax, inc, ids, under=[ax.get_legend()], pinned=True)  # the legend hangs at a depth of its own
        # everything that takes room around the Axes is drawn: now the labels can be placed
        lanes, inside = _stack_labels(ax, items, bottom)
        top = _top(lanes)
        ax.set_yticks([*ticks, (1 + top) / 2], [*ticks.values(), "Milestones"], fontsize=8, linespacing=1.0)
        ax.set_ylim(bottom, top + 0.6)
        if own:
            _fit_height(ax.figure, lanes, bottom)
        else:
            _fit_labels(ax, items)
        if inside:  # the labels moved inside the Axes, taller maybe: the room around it is as measured
            keep_layout(ax)
    return ax


def _fit_labels(ax, items: list[dict]) -> None:
    """In an Axes of the caller's (its height fixed), labels small enough that two lanes never overlap.

    The lanes are LANE rows apart whatever the Axes' height; a short cell of
    a grid may give a lane fewer points than an 8-point label needs. A
    tenth is kept in hand for a layout engine that shrinks the Axes later.
    """
    lo, hi = ax.get_ylim()
    points = ax.get_window_extent().height * 72 / ax.figure.dpi * LANE / (hi - lo)
    size = min(8.0, max(5.0, 0.9 * points / 1.25))  # a line of text is about 1.25 times its size
    if size < 8.0:
        for item in items:
            item["label"].set_fontsize(size)


def _top(lanes: int) -> float:
    """The y of the highest lane of labels."""
    return 1 + (max(lanes, 1) - 1) * LANE


def _fit_height(fig, lanes: int, bottom: float) -> None:
    """The timeline's own figure, as tall as its rows and lanes need."""
    fig.set_size_inches(11, 2.2 + 0.42 * (_top(lanes) + 0.6 - bottom))


# -- phases -----------------------------------------------------------------------
def _draw_phase(ax, row, y: float) -> None:
    """A solid band where the phase surely runs, hatched where its bounds are uncertain.

    A span no source reports is a grey hatched band; a planned phase an outline.
    """
    colour = IMPACT_COLOURS.get(row["impact"], COLOURS["grey"])
    key = row["id"] if isinstance(row["id"], str) else row["phase"]
    start, start_latest, end, end_latest = (_num(row[c]) for c in ("start", "start_latest", "end", "end_latest"))
    label = format_hours(row["hours_min"], row["hours_max"])
    if row["status"] == "unreported":
        ax.add_patch(Rectangle((start, y - BAR / 2), end_latest - start, BAR, facecolor="white", edgecolor=COLOURS["grey"],
                               hatch="xx", linewidth=0.8, gid=f"gap:{row['start']:%Y%m%dT%H%M}"))
        ax.annotate(f"{label}: no source reports it", xy=(end_latest, y), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=8, color=COLOURS["faint"], style="italic", **INSIDE)
        return
    if row["status"] in ("planned", "estimate"):
        ax.add_patch(Rectangle((start, y - BAR / 2), end_latest - start, BAR, facecolor=(*_rgb(colour), 0.15),
                               edgecolor=colour, linestyle="--", linewidth=1.2, gid=f"phase:{key}"))
        ax.annotate(f"{label} ({row['status']})", xy=(end_latest, y), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=8, color=COLOURS["ink"], **INSIDE)
        return
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
    ax.annotate(label, xy=(end_latest, y), xytext=(4, 0),
                textcoords="offset points", va="center", ha="left", fontsize=8, color=COLOURS["ink"], **INSIDE)


# -- milestones -------------------------------------------------------------------
def _milestone_label(m) -> str:
    """A short label: the title up to its first ';', after the time when it is known."""
    short = renderable(m["title"].split(";")[0].strip())
    if m["status"] != "happened" and not short.lower().startswith(m["status"][:7]):
        short += f" ({m['status']})"
    mark = "~" if m["approximate"] else ""
    if m["precision"] == "day":
        return f"{mark}{short}"
    return f"{mark}{m['time']:%H:%M} {short}"


def _draw_milestone(ax, m) -> dict:
    """Marker (or day-wide span) and label, placed in lane 0 until `_stack_labels` moves them."""
    lo, hi = _num(m["time"]), _num(m["time_latest"])
    gid = f"milestone:{m['id']}"
    colour = COLOURS["ink"]
    happened = m["status"] == "happened"
    if m["precision"] in EXACT:
        face = "white" if (m["approximate"] or not happened) else colour
        marker = "o" if happened else "D"
        (artist,) = ax.plot([lo], [1], ls="none", marker=marker, ms=6, mfc=face, mec=colour, mew=1.2, gid=gid,
                            zorder=4)
        guide = (0.8, ":") if happened else (1.0, "--")  # drawn with the others once placed (`_draw_guides`)
    else:
        artist = Rectangle((lo, 1 - SPAN / 2), hi - lo, SPAN, facecolor=(*_rgb(colour), 0.25 if happened else 0.0),
                           edgecolor=colour, linewidth=0.8,
                           linestyle="--" if (m["approximate"] or not happened) else "-", gid=gid, zorder=3)
        ax.add_patch(artist)
        guide = None
    label = ax.annotate(_milestone_label(m), xy=(hi, 1), xytext=(4, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=8, color=COLOURS["ink"], gid=f"milestone-label:{m['id']}", **INSIDE)
    return {"lo": lo, "hi": hi, "artist": artist, "label": label, "guide": guide}


MAX_LABELS = 30  # milestones labelled at most; the others are marks on the axis without a label
KINDS = ("trigger", "impact", "detection", "diagnosis", "mitigation", "recovery",
         "communication", "market", "legal", "other")  # most important first, for which to label
MARK_Y = 0.7  # the row of the unlabelled milestones' marks, between the phases and the lowest lane of labels
MARKS = 2000  # unlabelled milestones closer than 1/MARKS of the axis share one mark


def _labelled(milestones: pd.DataFrame, near: pd.Series) -> pd.Series:
    """Which milestones get a marker and a label: all when there are at most MAX_LABELS.

    Past that, a label each would need a lane each, and thousands of texts
    to measure (an incident of 60,000 status updates): the MAX_LABELS most
    important are labelled, by kind (the moments the durations are made of
    first), those on the axis before those at its edge; of a group that
    fills the last places, some spread over its time. The others are only
    marked (`_draw_unlabelled`).
    """
    if len(milestones) <= MAX_LABELS:
        return pd.Series(True, index=milestones.index)
    rank = milestones["kind"].map({k: i for i, k in enumerate(KINDS)}).fillna(len(KINDS)) * 2 + ~near
    order = pd.DataFrame({"rank": rank, "time": milestones["time"]}).sort_values(["rank", "time"], kind="stable")
    counts = order["rank"].value_counts(sort=False).sort_index().cumsum()
    last = counts.index[counts.searchsorted(MAX_LABELS)]  # the group that fills the last places
    chosen = order.index[order["rank"] < last]
    group = order.index[order["rank"] == last]
    spread = group[np.linspace(0, len(group) - 1, MAX_LABELS - len(chosen)).round().astype(int)]
    return pd.Series(milestones.index.isin(chosen.union(spread)), index=milestones.index)


def _draw_unlabelled(ax, milestones: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> int:
    """A short tick for each unlabelled milestone, all in one path (a shared mark where they crowd); their number."""
    if milestones.empty:
        return 0
    x0, x1 = _num(lo), _num(hi)
    times = milestones["time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    xs = np.clip(mdates.date2num(times), x0, x1)  # one far outside the axis: at its edge
    xs = np.unique(np.round((xs - x0) / (x1 - x0) * MARKS)) / MARKS * (x1 - x0) + x0
    path_x = np.repeat(xs, 3)
    path_x[2::3] = np.nan  # pen up between ticks
    path_y = np.tile([MARK_Y - 0.08, MARK_Y + 0.08, np.nan], len(xs))
    ax.plot(path_x, path_y, color=COLOURS["grey"], lw=0.6, solid_capstyle="butt", gid="milestone-marks", zorder=2)
    return len(milestones)


FAR = 1.0  # a milestone further from the incident than this many times its length is drawn at the edge


def _near(phases: pd.DataFrame, milestones: pd.DataFrame) -> pd.Series:
    """Which milestones the time axis shows in place; the others (a postmortem weeks later, a
    deployment months before) would squeeze the incident into a sliver, so they sit at the edge."""
    core = milestones["kind"].isin(["trigger", "impact", "detection", "diagnosis", "mitigation", "recovery"])
    times = pd.concat([phases["start"], phases["end_latest"], milestones.loc[core, "time"],
                       milestones.loc[core, "time_latest"]]).dropna()
    if times.empty:
        return pd.Series(True, index=milestones.index)
    first, last = times.min(), times.max()
    reach = max(last - first, pd.Timedelta(hours=1)) * FAR
    return (milestones["time_latest"] >= first - reach) & (milestones["time"] <= last + reach)


def _draw_far_milestone(ax, m, lo: pd.Timestamp, hi: pd.Timestamp) -> dict:
    """A milestone far outside the incident: an arrowhead at the edge, its full date in the label."""
    before = m["time"] < lo
    x = _num(lo) if before else _num(hi)
    (artist,) = ax.plot([x], [1], ls="none", marker="<" if before else ">", ms=7, mfc="white", mec=COLOURS["ink"],
                        mew=1.2, gid=f"milestone:{m['id']}", zorder=4, clip_on=False)
    text = f"{m['when']}: {renderable(m['title'].split(';')[0].strip())}"
    label = ax.annotate(text, xy=(x, 1), xytext=(4 if before else -4, 0), textcoords="offset points",
                        ha="left" if before else "right", va="center", fontsize=8, color=COLOURS["faint"],
                        gid=f"milestone-label:{m['id']}", **INSIDE)
    return {"lo": x, "hi": x, "artist": artist, "label": label, "guide": None, "fixed_side": "right" if before else "left"}


def _stack_labels(ax, items: list[dict], bottom: float) -> tuple[int, bool]:
    """Put each milestone in the lowest lane where it and its label overlap nothing.

    A label goes right of its marker, or left of it when that finds a lower
    lane (or the right side has no room). Returns the lanes used and whether
    every label is inside the Axes (one too long for either side is not).
    """
    root = _root(ax.figure)
    engine = root.get_layout_engine()
    if engine is not None:  # the final width of the Axes, so label extents in pixels are right
        # without the labels: piled in lane 0 they reach past the Axes, stacked they will not
        for item in items:
            item["label"].set_in_layout(False)
        engine.execute(root)
        for item in items:
            item["label"].set_in_layout(True)
    pad = 4 * root.dpi / 72
    x0, x1 = ax.bbox.x0, ax.bbox.x1
    items = sorted(items, key=lambda i: (i["lo"], i["hi"]))
    spans = []
    for item in items:
        width = item["label"].get_window_extent().width
        lo, hi = (ax.transData.transform((x, 0))[0] for x in (item["lo"], item["hi"]))
        room = _room(item, lo, hi, x0, x1, pad)
        if width > room:  # fits on neither side of a narrow Axes: shorten it to the wider side
            width = _shorten(item["label"], room)
        spans.append((lo, hi, width, item.get("fixed_side")))
    places = _places(spans, x0, x1, pad, gap=6 * root.dpi / 72)
    for item, (lane, side, _) in zip(items, places):
        if side == "left" and "fixed_side" not in item:
            item["label"].xy = (item["lo"], 1)
            item["label"].xyann = (-4, 0)
            item["label"].set_horizontalalignment("right")
        _move(item, 1 + lane * LANE, bottom)
    _draw_guides(ax, items, bottom)
    return max((lane + 1 for lane, _, _ in places), default=0), all(fits for _, _, fits in places)


def _guess_lanes(ax, items: list[dict]) -> int:
    """The lanes `_stack_labels` will most likely use, from text widths estimated without a renderer.

    The figure's height follows from its lanes. Set to this guess before
    anything is measured, the figure is measured at its final size, once:
    a canvas measures texts anew at each size. `_stack_labels` then
    measures and places the labels for good, and the guess only decides
    whether the figure must be measured again at another height.
    """
    root = _root(ax.figure)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    margin = 2 * 4 + 3.5 + max((text_width(t, 8) for t in ticks), default=0)  # the layout's pads, the tick labels
    x0, x1 = 0.0, root.get_figwidth() * 72 - margin  # points across the Axes, as laid out
    lim0, lim1 = ax.get_xlim()
    spans = []
    for item in sorted(items, key=lambda i: (i["lo"], i["hi"])):
        lo, hi = ((x - lim0) / (lim1 - lim0) * x1 for x in (item["lo"], item["hi"]))
        width = min(text_width(item["label"].get_text(), 8), _room(item, lo, hi, x0, x1, 4))
        spans.append((lo, hi, width, item.get("fixed_side")))
    return max((lane + 1 for lane, _, _ in _places(spans, x0, x1, 4, 6)), default=0)


def _room(item: dict, lo: float, hi: float, x0: float, x1: float, pad: float) -> float:
    """The widest label that fits beside a milestone spanning `lo`..`hi` (on the sides it may take)."""
    room = {"right": x1 - hi - pad, "left": lo - pad - x0}
    return room[item["fixed_side"]] if "fixed_side" in item else max(room.values())


def _places(spans, x0: float, x1: float, pad: float, gap: float) -> list[tuple[int, str, bool]]:
    """The lane and side of each label, and whether it fits between x0 and x1, for (lo, hi, label width,
    side or None) in placing order.

    Each goes to the lowest lane where it and its label keep `gap` from the
    others there: right of its marker, or left when that finds a lower lane
    (or only the left side has room). A span's side is that side only.
    """
    lanes: list[list[tuple[float, float]]] = []

    def free(lane, left, right):
        return all(right + gap <= a or left >= b + gap for a, b in lane)

    places = []
    for lo, hi, width, fixed in spans:
        sides = [("right", lo, hi + pad + width), ("left", lo - pad - width, hi)]
        sides = [s for s in sides if fixed in (None, s[0])]
        inside = [s for s in sides if s[1] >= x0 - 0.5 and s[2] <= x1 + 0.5]
        sides = inside or sides[:1]
        for j in range(len(lanes) + 1):
            lane = lanes[j] if j < len(lanes) else []
            choice = next((s for s in sides if free(lane, s[1], s[2])), None)
            if choice is not None:
                break
        # the last lane tried is a new one, empty and so free for any side; `fixed` is a side or None
        assert choice is not None
        if j == len(lanes):
            lanes.append([])
        lanes[j].append(choice[1:])
        places.append((j, choice[0], bool(inside)))
    return places


def _shorten(label, room: float) -> float:
    """Cut a label's text with '…' until it is at most `room` pixels wide; return its width."""
    text = label.get_text()
    while len(text) > 4 and label.get_window_extent().width > room:
        text = text[: max(4, int(len(text) * room / label.get_window_extent().width) - 1)].rstrip() + "…"
        label.set_text(text)
        text = text[:-1]
    return label.get_window_extent().width


def _move(item: dict, y: float, bottom: float) -> None:
    artist = item["artist"]
    if isinstance(artist, Rectangle):
        artist.set_y(y - SPAN / 2)
    else:
        artist.set_ydata([y])
    item["y"] = y
    item["label"].xy = (item["label"].xy[0], y)


def _draw_guides(ax, items: list[dict], bottom: float) -> None:
    """A line from each exact milestone's marker down through the phases, all in one collection."""
    guides = [item for item in items if item["guide"] is not None]
    if guides:
        ax.add_collection(LineCollection(
            [[(item["lo"], item["y"]), (item["lo"], bottom)] for item in guides],
            linewidths=[item["guide"][0] for item in guides], linestyles=[item["guide"][1] for item in guides],
            colors=COLOURS["grey"], zorder=1, gid="milestone-guides"), autolim=False)


# -- compensated window -------------------------------------------------------------
def _draw_compensated_window(ax, inc: Incident, y: float) -> list[str] | None:
    """A bracket over the cash scheme's window, labelled with its computed hours; its sources."""
    if inc.compensation is None or inc.compensation.cash is None:
        return None
    start, end, hours = compensated_window(inc)
    lo, hi = _num(start.earliest), _num(end.earliest)
    ax.plot([lo, lo, hi, hi], [y + 0.2, y, y, y + 0.2], color=COLOURS["ink"], lw=1, gid="compensated-window")
    text = (f"Compensated window {start.label()} → {end.label()}: {hours:,.0f} h ({format_hours(hours)}) "
            f"by the calendar{window_note(inc)}")
    width = ax.get_position().width * _root(ax.figure).get_figwidth()
    text = textwrap.fill(text, max(40, int(width * 72 / 8 * 1.6)), break_on_hyphens=False)  # 8-point type: about 1.6 characters a point
    # the label interrupts the bracket's line, on a white ground
    ax.annotate(text, xy=((lo + hi) / 2, y), ha="center", va="center", fontsize=8, color=COLOURS["ink"], zorder=5,
                gid="compensated-window-label", bbox=dict(boxstyle="square,pad=0.25", facecolor="white", edgecolor="none"))
    return list(inc.compensation.cash.sources)


# -- axes -------------------------------------------------------------------------
# Tick steps, finest first: the axis takes the finest that gives at most MAX_TICKS ticks.
STEPS = [pd.Timedelta(x) for x in ("1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "3h", "6h", "12h",
                                   "1D", "2D", "3D", "7D")]
MAX_TICKS = 12


def tick_step(span: pd.Timedelta, max_ticks: int = MAX_TICKS) -> pd.Timedelta | None:
    """The tick step for a time axis spanning `span` (None: longer than weekly ticks can show)."""
    return next((step for step in STEPS if span / step <= max_ticks), None)


def _max_ticks(ax) -> int:
    """As many ticks as the Axes' width holds, about one an inch, at most MAX_TICKS."""
    width = ax.get_position().width * _root(ax.figure).get_figwidth()
    return max(3, min(MAX_TICKS, int(width / 0.85)))


def _format_time_axis(ax, inc: Incident, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
    """Ticks that scale with the span, each day named at its first tick, the start day always."""
    tz = inc.tz
    step = tick_step(hi - lo, _max_ticks(ax))
    if step is None:  # months or years (or a typo in a year): matplotlib's concise dates
        locator: mdates.DateLocator = mdates.AutoDateLocator(tz=tz)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    else:
        minutes = int(step / pd.Timedelta("1min"))
        if minutes < 60:
            locator = mdates.MinuteLocator(byminute=range(0, 60, minutes), tz=tz)
        elif minutes < 24 * 60:
            locator = mdates.HourLocator(byhour=range(0, 24, minutes // 60), tz=tz)
        elif minutes < 7 * 24 * 60:
            locator = mdates.DayLocator(interval=minutes // (24 * 60), tz=tz)
        else:
            locator = mdates.WeekdayLocator(byweekday=mdates.MO, tz=tz)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(DayAwareFormatter(tz, with_time=step < pd.Timedelta("1D")))
    ax.grid(axis="x", which="major")
    z = lo.tz_convert(tz).strftime("%z")
    ax.set_xlabel(f"Local time ({inc.timezone}, UTC{z[:3]}:{z[3:]})")


class DayAwareFormatter(mdates.DateFormatter):
    """'19:00' under each tick, and the day ('Sun 23 Feb 2020') under the first tick of each day."""

    def __init__(self, tz, with_time: bool = True):
        super().__init__("%H:%M" if with_time else "%a %d %b", tz=tz)
        self.with_time = with_time

    def format_ticks(self, values):
        times = [mdates.num2date(x, tz=self.tz) for x in values]
        out, previous = [], None
        for k, t in enumerate(times):
            day = t.date()
            if not self.with_time:
                text = t.strftime("%a\n%d %b") if previous is not None and day.year == previous.year else t.strftime("%a\n%d %b %Y")
            elif day != previous and not (k + 1 < len(times) and times[k + 1].date() != day):
                text = t.strftime("%H:%M\n%a %d %b %Y")  # the first tick of a day (unless the next tick starts another)
            else:
                text = t.strftime("%H:%M")
            out.append(text)
            previous = day
        return out


def _legend(ax, phases: pd.DataFrame, milestones: pd.DataFrame, unlabelled: int = 0) -> None:
    handles: list[Artist] = [
        Patch(facecolor=IMPACT_COLOURS.get(i, COLOURS["grey"]), label=i.replace("_", " ").capitalize())
        for i in dict.fromkeys(phases.loc[phases["status"] != "unreported", "impact"])
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
    if (milestones["status"] != "happened").any() or phases["status"].isin(["planned", "estimate"]).any():
        handles.append(Line2D([], [], ls="--", marker="D", mfc="white", mec=grey, color=grey,
                              label="Planned or estimated"))
    if unlabelled:
        handles.append(Line2D([], [], ls="none", marker="|", mec=COLOURS["grey"], ms=7,
                              label=f"{unlabelled:,} more milestones, without labels"))
    if (phases["status"] == "unreported").any():
        handles.append(Patch(facecolor="white", edgecolor=COLOURS["grey"], hatch="xx", label="No source reports this span"))
    # under the time axis (see `_legend_below`): the Axes keeps its width, so the labels need fewer lanes
    width = ax.get_position().width * _root(ax.figure).get_figwidth()  # inches the Axes may take
    ncol = max(2, min((len(handles) + 1) // 2, int(width // 2.4)))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=ncol, fontsize=8, borderaxespad=0.3)


def _legend_below(ax) -> None:
    """Move the legend under the x axis's tick labels and label (as laid out last)."""
    root = _root(ax.figure)
    depth = (ax.bbox.y0 - ax.xaxis.get_tightbbox().y0) / root.dpi
    ax.get_legend().set_bbox_to_anchor((0.5, 0), transform=ax.transAxes + ScaledTranslation(0, -depth, root.dpi_scale_trans))


def _time_bounds(phases: pd.DataFrame, milestones: pd.DataFrame, max_ticks: int = MAX_TICKS):
    """The drawn span: every time with a margin, widened to whole tick steps."""
    times = pd.concat([phases["start"], phases["end_latest"], milestones["time"], milestones["time_latest"]]).dropna()
    first, last = times.min(), times.max()
    span = max(last - first, pd.Timedelta(minutes=10))
    margin = span * 0.04
    step = tick_step(span + 2 * margin, max_ticks) or pd.Timedelta("1D")
    return (first - margin).floor(step), (last + margin).ceil(step)


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
