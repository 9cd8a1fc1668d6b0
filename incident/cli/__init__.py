"""The `incident` command: a thin layer over the library's public functions.

Each group of commands lives in a module of its own with an `add_parser(sub)`
that registers it. Bad input of any kind ends with one line per problem on
stderr and exit status 2; nothing prints a traceback for it. Heavy libraries
are imported inside the commands, so `incident --help` answers at once.
"""

from __future__ import annotations

import argparse
import re
import sys

from incident.cli.common import DEFAULT_INCIDENT, EXIT_BAD_INPUT, report_problems
from incident.core.errors import IncidentError

__all__ = ["main", "run", "build_parser", "DEFAULT_INCIDENT", "EXIT_BAD_INPUT"]


def build_parser() -> argparse.ArgumentParser:
    from incident.cli import history, incidents, market, report

    parser = argparse.ArgumentParser(prog="incident", description="Incident timelines and postmortems as data.")
    # The package is loaded already (it is this module's parent); importing its facade from a layer is refused.
    parser.add_argument("--version", action="version", version=f"incident {sys.modules['incident'].__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (incidents, report, market, history):
        module.add_parser(sub)
    return parser


# Options whose value may begin with a minus sign (`--estimation -120:-11`), which argparse would take for an option.
SIGNED_OPTIONS = ("--estimation", "--window")
_SIGNED_VALUE = re.compile(r"-?\d+:-?\d+")


def joined(argv: list[str]) -> list[str]:
    """`argv` with `--window -1:1` written `--window=-1:1`, as argparse needs it."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in SIGNED_OPTIONS and token.startswith("-") and _SIGNED_VALUE.fullmatch(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if sys.stdout is None:  # started with its standard output closed (`>&-`): nothing it prints would be seen
        print("error: standard output is closed; nothing would be written", file=sys.stderr)
        return EXIT_BAD_INPUT
    args = parser.parse_args(joined(sys.argv[1:] if argv is None else list(argv)))
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

    try:
        code = main()
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:  # standard output on a full disk (/dev/full) or a broken device
        print(f"error: cannot write the standard output: {exc.strerror or exc}", file=sys.stderr)
        code = EXIT_BAD_INPUT
        _silence_stdout()
    gc.freeze()
    sys.exit(code)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that Python's own flush at exit does not fail again."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
