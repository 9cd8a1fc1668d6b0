"""incident: incident timelines and postmortems as data.

    import incident
    inc = incident.load("data/weimob-2020")
    incident.phase_table(inc)
    incident.plot_timeline(inc)

The public API is the short list in `__all__` (docs/api.md says what each is
and where it lives). Each name is imported on first use (PEP 562), so that
`import incident` and `incident --help` start at once.

In IPython or Jupyter, an `Incident` shows as a card and a market study as its
table of tests: the formatters are registered on import when a shell is
running, or with `%load_ext incident` (`load_ipython_extension`). The
display lives in the report layer, which the model must not import, so the
package, above every layer, joins the two.
"""

from __future__ import annotations

import importlib
import sys

__version__ = "0.2.0"

# public name -> (module, name there)
_WHERE = {
    "load": ("incident.io.loader", "load"),
    "validate": ("incident.io.loader", "validate"),
    "Incident": ("incident.core.model", "Incident"),
    "IncidentError": ("incident.core.errors", "IncidentError"),
    "Problem": ("incident.core.errors", "Problem"),
    "milestone_table": ("incident.analysis.timeline", "milestone_table"),
    "phase_table": ("incident.analysis.timeline", "phase_table"),
    "durations": ("incident.analysis.timeline", "durations"),
    "compare_table": ("incident.analysis.compare", "compare_table"),
    "history": ("incident.analysis.history", "history_table"),
    "history_summary": ("incident.analysis.history", "history_summary"),
    "market_study": ("incident.market.reaction", "incidents_study"),
    "summary": ("incident.report.summary", "summary"),
    "plot_timeline": ("incident.plots", "plot_timeline"),
    "plot_compare": ("incident.plots", "plot_compare"),
    "plot_market": ("incident.plots", "plot_market"),
    "plot_duration_ecdf": ("incident.plots", "plot_duration_ecdf"),
}
__all__ = [*_WHERE, "load_ipython_extension", "__version__"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'incident' has no attribute {name!r}")
    module, attr = _WHERE[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


# -- rich display in IPython -------------------------------------------------------
def _incident_html(inc) -> str:
    from incident.report.display import incident_card

    return str(incident_card(inc))


def _study_html(study) -> str:
    from incident.report.display import study_table

    return str(study_table(study))


def load_ipython_extension(ipython) -> None:
    """Show incidents as cards and market studies as tables in this shell (`%load_ext incident`).

    Registered by type name, so nothing heavy is imported until such an
    object is displayed.
    """
    html = ipython.display_formatter.formatters["text/html"]
    html.for_type_by_name("incident.core.model", "Incident", _incident_html)
    html.for_type_by_name("incident.market.study", "MarketStudy", _study_html)


def _register_in_running_shell() -> None:
    """Register the displays when imported inside IPython (a notebook's kernel); never import IPython otherwise."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    if shell is not None and hasattr(shell, "display_formatter"):
        load_ipython_extension(shell)


_register_in_running_shell()
