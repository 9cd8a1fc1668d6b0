"""Figures of an incident, in the house style (matplotlib is imported only here).

    from incident.plots import plot_timeline
    plot_timeline(inc)            # or plot_timeline(inc, ax=my_axes)

Each `plot_*` takes the incident (or a table of the library) and `ax=None`,
draws on that Axes or a new one, and returns the Axes. `plot_event_study`
(`plot_event_study` draws an `incident.eventstudy` result.)
"""

from .eventstudy import plot_event_study
from .compare import plot_compare
from .costs import plot_compensation, plot_provision
from .financials import plot_financials
from .history import plot_duration_ecdf, plot_duration_histogram
from ..market import rebased_prices
from .market import plot_market
from .style import cjk_font, house_style, person_label, source_line
from .timeline import plot_timeline

__all__ = [
    "plot_timeline", "plot_provision", "plot_compensation", "plot_market", "plot_financials", "plot_event_study",
    "plot_compare", "plot_duration_ecdf", "plot_duration_histogram", "rebased_prices", "house_style", "source_line", "cjk_font", "person_label",
]
