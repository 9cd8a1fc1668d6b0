"""The `incident` command: a thin layer over the library's public functions.

Each group of commands lives in a module of its own with an `add_parser(sub)`
that registers it. Bad input of any kind ends with one line per problem on
stderr and exit status 2; nothing prints a traceback for it. Heavy libraries
are imported inside the commands, so `incident --help` answers at once.
"""

from __future__ import annotations

import argparse
import sys

from incident.cli.common import DEFAULT_INCIDENT, EXIT_BAD_INPUT, report_problems
from incident.core.errors import IncidentError

__all__ = ["main", "run", "build_parser", "DEFAULT_INCIDENT", "EXIT_BAD_INPUT"]


def build_parser() -> argparse.ArgumentParser:
    from incident.cli import history, incidents, market, report

    parser = argparse.ArgumentParser(prog="incident", description="Incident timelines and postmortems as data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (incidents, report, market, history):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = parser
    try:
        return args.func(args)
    except IncidentError as exc:
        report_problems(exc)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP while kernels run (incident.report.kernel.Stopped)
        signum = getattr(exc, "signum", 2)
        print("interrupted" if signum == 2 else f"stopped by signal {signum}", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:
        return 0


def run() -> None:
    """The `incident` program: `main` with the command line, then exit with its status.

    Before exiting, the objects made so far are frozen out of the garbage
    collector: Python's last collections at exit would otherwise walk all of
    them (pandas, matplotlib, nbconvert), a tenth of a second for nothing.
    Not done by `main`, which a long-lived process may call many times.
    """
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)
