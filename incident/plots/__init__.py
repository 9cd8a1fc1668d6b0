"""Figures of an incident, in the house style (matplotlib is imported only here).

    from incident.plots import plot_timeline
    plot_timeline(inc)            # or plot_timeline(inc, ax=my_axes)

Each `plot_*` takes the incident (or a table or result of the library) and
`ax=None`, draws on that Axes or a new one, and returns the Axes.
"""

from incident.plots.compare import plot_compare
from incident.plots.costs import plot_compensation, plot_provision
from incident.plots.eventstudy import plot_event_study
from incident.plots.financials import plot_financials
from incident.plots.history import plot_duration_ecdf, plot_duration_histogram
from incident.plots.market import plot_market
from incident.plots.style import cjk_font, house_style, person_label, source_line
from incident.plots.timeline import plot_timeline

__all__ = [
    "plot_timeline", "plot_provision", "plot_compensation", "plot_market", "plot_financials", "plot_event_study",
    "plot_compare", "plot_duration_ecdf", "plot_duration_histogram", "house_style", "source_line", "cjk_font",
    "person_label",
]
