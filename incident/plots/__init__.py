"""Figures of an incident, in the house style (matplotlib is imported only here).

    from incident.plots import plot_timeline
    plot_timeline(inc)            # or plot_timeline(inc, ax=my_axes)

Each `plot_*` takes the incident (or a table or result of the library) and
`ax=None`, draws on that Axes or a new one, and returns the Axes. A figure's
module is imported when its function is first used, so a report that draws
no history figure never pays for the history statistics' imports.
"""

from __future__ import annotations

import importlib

# public name -> the module that defines it
_WHERE = {
    "plot_timeline": "timeline",
    "plot_provision": "costs",
    "plot_compensation": "costs",
    "plot_market": "market",
    "plot_financials": "financials",
    "plot_event_study": "eventstudy",
    "plot_compare": "compare",
    "plot_caar": "caar",
    "plot_event_ars": "caar",
    "plot_duration_ecdf": "history",
    "plot_duration_histogram": "history",
    "plot_stage_ecdf": "history",
    "plot_group_comparison": "history",
    "plot_quarterly_trend": "history",
    "house_style": "style",
    "HouseLayout": "style",
    "source_line": "style",
    "cjk_font": "style",
    "person_label": "style",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'incident.plots' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"incident.plots.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
