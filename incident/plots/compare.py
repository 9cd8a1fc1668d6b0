"""Two incidents on one clock: the time each spent at each impact level."""

from __future__ import annotations

from incident.analysis.compare import LEVEL_NAMES, PLANNED, TOTAL, level_hours, level_spans
from incident.analysis.timeline import UNKNOWN, durations, format_hours
from incident.core.model import Incident
from incident.plots.style import COLOURS, IMPACT_COLOURS, axes_for, house_style, renderable, source_line, subtitle

# (name, hours per unit): the unit of the time axis is the largest whose count stays readable
TIME_UNITS = (("minutes", 1 / 60), ("hours", 1.0), ("days", 24.0))
UNCERTAIN_ALPHA = 0.35


def time_unit(longest_hours: float) -> tuple[str, float]:
    """The axis unit for spans up to `longest_hours`: minutes under 2 h, hours under 3 days, else days."""
    if longest_hours <= 2:
        return TIME_UNITS[0]
    if longest_hours <= 72:
        return TIME_UNITS[1]
    return TIME_UNITS[2]


def plot_compare(a: Incident, b: Incident, *, ax=None):
    """Each incident's time per impact level on the time since its start; returns ax.

    One row per level an incident has, the worst level taking the time where
    phases of several components overlap (`level_spans`); a lighter bar where
    a bound is known only to the hour or day, hatched grey where no source
    reports what happened, an outline where a phase was only planned. A
    dashed line marks each time to recover. The axis counts minutes, hours or
    days, whichever suits the longer incident.
    """
    from matplotlib.patches import Patch
    from matplotlib.transforms import ScaledTranslation

    spans = {inc.id: level_spans(inc) for inc in (a, b)}
    hours = {inc.id: level_hours(inc) for inc in (a, b)}
    recover = {inc.id: durations(inc).set_index("metric") for inc in (a, b)}
    ends = [s["end"].max() for s in spans.values() if len(s)]
    ends += [r.loc["time_to_recover", "hours_max"] for r in recover.values() if "time_to_recover" in r.index]
    unit, per = time_unit(max(ends, default=1.0))
    rows = sum(1 + len(h.index.drop(TOTAL, errors="ignore")) for h in hours.values())
    with house_style():
        ax = axes_for(ax, (10, 1.9 + 0.42 * rows))
        ticks, labels, heads, y = [], [], [], 0.0
        for inc in (a, b):
            ticks.append(y)
            labels.append(renderable(f"{inc.id}"))
            heads.append(len(ticks) - 1)
            if hours[inc.id].empty:
                ax.annotate("no phases given", (0, y - 1), xytext=(4, 0), textcoords="offset points", va="center",
                            ha="left", fontsize=8, color=COLOURS["faint"], style="italic")
            y += 1
            y_first = y
            for level in hours[inc.id].index.drop(TOTAL, errors="ignore"):
                for r in spans[inc.id][spans[inc.id]["level"] == level].itertuples():
                    _bar(ax, y, r.start / per, (r.end - r.start) / per, level, r.sure, gid=f"level:{inc.id}:{level}")
                lo, hi = hours[inc.id].loc[level, ["hours_min", "hours_max"]]
                ticks.append(y)
                labels.append(f"{LEVEL_NAMES[level]}: {format_hours(lo, hi)}")
                y += 1
            if "time_to_recover" in recover[inc.id].index and y > y_first:
                r = recover[inc.id].loc["time_to_recover"]
                for x in sorted({r["hours_min"], r["hours_max"]}):
                    ax.plot([x / per] * 2, [y_first - 0.45, y - 0.55], ls="--", color=COLOURS["ink"], lw=1,
                            gid=f"recovered:{inc.id}")
                ax.annotate(f"recovered after {format_hours(r['hours_min'], r['hours_max'])}",
                            (r["hours_max"] / per, y_first - 0.45), xytext=(4, 1), textcoords="offset points",
                            fontsize=8, va="bottom", ha="left", color=COLOURS["ink"])
            y += 0.4  # a gap between the two incidents
        ax.set_yticks(ticks, labels)
        for k in heads:
            ax.get_yticklabels()[k].set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y - 0.3, -0.7)
        ax.set_xlabel(f"{unit} since the incident's start")
        ax.set_xlim(0, max(ends, default=1.0) / per * 1.12)  # room for the 'recovered' note
        ax.grid(axis="x", alpha=0.3)
        present = [lvl for lvl in IMPACT_COLOURS if any(lvl in h.index for h in hours.values())]
        handles = [Patch(color=IMPACT_COLOURS[lvl], label=LEVEL_NAMES[lvl]) for lvl in present]
        if any((~s["sure"]).any() for s in spans.values() if len(s)):
            handles.append(Patch(color=COLOURS["grey"], alpha=UNCERTAIN_ALPHA, label="time known only to the hour or day"))
        if any(PLANNED in h.index for h in hours.values()):
            handles.append(Patch(facecolor="white", edgecolor=COLOURS["ink"], linestyle="--", label="planned only"))
        if any(UNKNOWN in h.index for h in hours.values()):
            handles.append(Patch(facecolor="#E6E6E6", edgecolor=COLOURS["grey"], hatch="///",
                                 label=LEVEL_NAMES[UNKNOWN].replace("unknown (", "").rstrip(")")))
        under_label = ax.transAxes + ScaledTranslation(0, -0.55, ax.figure.dpi_scale_trans)  # below the x label
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=under_label,
                  ncol=min(len(handles), 3), fontsize=8, frameon=False)
        subtitle(ax, f"{renderable(a.id)} and {renderable(b.id)} on a common clock",
                 "Time at each impact level; where phases of several components overlap, the worst level counts")
        legend = ax.get_legend()
        source_line(ax, [f"{inc.id}: " + ", ".join(f"{renderable(s.publisher)} {s.date}" for s in inc.sources[:2])
                         for inc in (a, b)], under=[legend])
    return ax


def _bar(ax, y: float, left: float, width: float, level: str, sure: bool, gid: str) -> None:
    if level == UNKNOWN:
        ax.barh(y, width, left=left, height=0.6, facecolor="#E6E6E6", edgecolor=COLOURS["grey"], hatch="///",
                linewidth=0.6, gid=gid)
    elif level == PLANNED:
        ax.barh(y, width, left=left, height=0.6, facecolor="white", edgecolor=COLOURS["ink"], linestyle="--",
                linewidth=1, gid=gid)
    else:
        ax.barh(y, width, left=left, height=0.6, color=IMPACT_COLOURS.get(level, COLOURS["grey"]),
                alpha=1.0 if sure else UNCERTAIN_ALPHA, linewidth=0, gid=gid)
