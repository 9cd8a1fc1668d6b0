"""What every command shares: the default incident, the exit status of bad input, printing problems."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incident.core.errors import IncidentError

DEFAULT_INCIDENT = "data/weimob-2020"
EXIT_BAD_INPUT = 2


def default_incident(paths: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`paths`, or the project's flagship incident when run from a checkout; a usage error otherwise."""
    if paths:
        return paths
    if (Path(DEFAULT_INCIDENT) / "incident.yaml").is_file():
        return [DEFAULT_INCIDENT]
    parser.error(f"give an incident folder (the default {DEFAULT_INCIDENT} is not here)")


def report_problems(exc: IncidentError) -> None:
    """One line per problem on stderr."""
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)
