"""incident: incident timelines and postmortems as data.

    import incident
    inc = incident.load("data/weimob-2020")

`load`, `validate`, `Incident`, `IncidentError` and `Problem` are imported
on first use, so that `incident --help` and light commands start at once.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"
_WHERE = {
    "load": "incident.io.loader",
    "validate": "incident.io.loader",
    "Incident": "incident.core.model",
    "IncidentError": "incident.core.errors",
    "Problem": "incident.core.errors",
}
__all__ = [*_WHERE, "__version__"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'incident' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
