"""incident: incident timelines and postmortems as data.

    import incident
    inc = incident.load("data/weimob-2020")
    incident.phase_table(inc)
"""

from incident.core.errors import IncidentError, Problem
from incident.io.loader import load, validate
from incident.core.model import Incident

__all__ = ["IncidentError", "Problem", "Incident", "load", "validate"]
__version__ = "0.1.0"
