"""What every command shares: the default incident, the exit status of bad input, printing problems."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from incident.core.errors import IncidentError

DEFAULT_INCIDENT = "data/weimob-2020"
EXIT_BAD_INPUT = 2
# C0 and C1 control characters (ESC, CSI, OSC...) except tab and newline, line
# separators and bidirectional overrides: a title must not recolour, retitle or
# rewrite the user's terminal, nor reverse what follows it on the line.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile(f"[\n{_CONTROL.pattern[1:-1]}]")


def terminal_text(text: str) -> str:
    """`text` with control characters shown as escapes (\\x1b), for printing to a terminal."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def say(line: str) -> None:
    """Print one line to stderr (an error, a warning, a note), every control character and newline escaped.

    Messages name files and quote input, so they carry what the input
    carries; a newline in a folder's name must not split the line.
    """
    print(_CONTROL_OR_NEWLINE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), line), file=sys.stderr)


def print_data(text: str) -> None:
    """Print text that comes from input files to stdout; control characters escaped when it is a terminal."""
    print(terminal_text(text) if sys.stdout.isatty() else text)


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
        say(f"error: {problem}")
