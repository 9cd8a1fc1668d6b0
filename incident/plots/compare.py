"""Two incidents' phases on one clock: hours since each one's start."""

from __future__ import annotations

from incident.analysis.compare import phase_hours
from incident.core.model import Incident
from incident.analysis.timeline import durations, format_hours
from incident.plots.style import COLOURS, IMPACT_COLOURS, axes_for, house_style, renderable, source_line


def plot_compare(a: Incident, b: Incident, ax=None):
    """Both incidents' phases as bars on hours since each one's start; returns ax.

    One row per phase, the first incident above the second; colour is the
    impact level, and a lighter band marks where a phase's start or end is
    only known to the hour or day. A dashed line marks each time to recover.
    """
    from matplotlib.patches import Patch

    with house_style():
        ax = axes_for(ax, (10, 1.6 + 0.45 * (len(a.phases) + len(b.phases) + 1)))
        ticks, labels, y = [], [], 0.0
        for inc in (a, b):
            y_first = y
            for r in phase_hours(inc).itertuples():
                colour = IMPACT_COLOURS.get(r.impact, COLOURS["grey"])
                ax.barh(y, r.end_min - r.start_max, left=r.start_max, color=colour, height=0.6)
                for lo, hi in ((r.start_min, r.start_max), (r.end_min, r.end_max)):
                    if hi > lo:
                        ax.barh(y, hi - lo, left=lo, color=colour, alpha=0.35, height=0.6)
                ticks.append(y)
                labels.append(f"{inc.id}: {r.phase}")
                y += 1
            recover = durations(inc).set_index("metric")
            if "time_to_recover" in recover.index and y > y_first:
                r = recover.loc["time_to_recover"]
                ax.plot([r["hours"]] * 2, [y_first - 0.4, y - 0.6], ls="--", color=COLOURS["ink"], lw=1)
                ax.annotate(f"recovered: {format_hours(r['hours_min'], r['hours_max'])}", (r["hours"], y_first - 0.4),
                            xytext=(3, 0), textcoords="offset points", fontsize=8, va="top")
            y += 0.5  # a gap between the two incidents
        ax.set_yticks(ticks, labels)
        ax.invert_yaxis()
        ax.set_xlabel("hours since the incident's start")
        ax.set_xlim(left=0)
        ax.set_title(f"{a.id} and {b.id} on a common clock", loc="left")
        levels = [lvl for lvl in IMPACT_COLOURS if any(p.impact == lvl for p in (*a.phases, *b.phases))]
        if levels:
            ax.legend([Patch(color=IMPACT_COLOURS[lvl]) for lvl in levels], [lvl.replace("_", " ") for lvl in levels],
                      loc="lower right", fontsize=8, frameon=False)
        ax.grid(axis="x", alpha=0.3)
        source_line(ax, [f"{inc.id}: " + ", ".join(f"{renderable(s.publisher)} {s.date}" for s in inc.sources[:2]) for inc in (a, b)])
    return ax
