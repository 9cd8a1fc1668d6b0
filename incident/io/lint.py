"""Warnings about an incident that validates: what a careful reader would still ask for.

Not errors (the file loads and every figure computes), but gaps in how the
facts are attributed: a claim that does not quote its source cannot be
checked against the source's own words.
"""

from __future__ import annotations

from incident.core.errors import Problem
from incident.core.model import Incident


def warnings(inc: Incident, file: str = "<incident>") -> list[Problem]:
    """One `Problem` per gap, with the field it concerns."""
    out = []
    for i, claim in enumerate(inc.claims):
        if not claim.quote:
            out.append(Problem(file, f"claims[{i}].quote",
                               f"claim {claim.id!r} does not quote its source; add `quote:` with the source's own words"))
    return out
