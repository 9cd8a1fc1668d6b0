"""`incident report`: the HTML postmortem of one incident or many."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_report(args) -> int:
    from incident.cli.common import EXIT_BAD_INPUT, default_incident
    from incident.report.render import ReportError, render, render_many, terminal_progress

    if args.study or args.history:
        return _whole(args)
    paths = default_incident(args.paths, args.parser)
    if len(paths) == 1:
        try:
            out = render(paths[0], args.output, keep_notebook=args.keep_notebook, engine=args.engine,
                         blameless=args.blameless)
        except ReportError as exc:
            print(f"error: {paths[0]}: {exc}; no report written", file=sys.stderr)
            return 1
        print(f"wrote {out}")
        return 0
    results = render_many(paths, args.output, keep_notebook=args.keep_notebook, progress=terminal_progress(),
                          blameless=args.blameless)
    for r in results:
        if r.ok:
            print(f"ok      {r.incident} -> {r.output} ({r.seconds:.1f} s)")
        elif r.skipped:
            print(f"skipped {r.incident}: {r.error}", file=sys.stderr)
        else:
            print(f"FAILED  {r.incident}: {r.error}", file=sys.stderr)
    failed = [r for r in results if not r.ok and not r.skipped]
    attempted = [r for r in results if not r.skipped]
    print(f"{len(attempted) - len(failed)} of {len(attempted)} reports written")
    if any(r.bad_input for r in failed):
        return EXIT_BAD_INPUT
    return 1 if failed else 0


def _whole(args) -> int:
    """The report of a market study over incidents, or of an incident history."""
    from incident.report.render import PACKAGE, ReportError, output_path, render_notebook

    if not args.paths:
        args.parser.error("give the incident folders of the study, or the sources of the history")
    if args.study and args.history:
        args.parser.error("--study and --history are two different reports: choose one")
    if args.study:
        _check_incidents(args.paths)
        notebook, name, title = PACKAGE / "study.ipynb", "market-study", "Market reaction to IT incidents"
        params = {"incident_paths": [str(Path(p).resolve()) for p in args.paths]}
    else:
        from incident.analysis.history import history_table

        for path in args.paths:  # bad input fails here, before anything runs or is written
            history_table(path, index=False)
        notebook, name, title = PACKAGE / "history.ipynb", "history", "Incident history"
        params = {"history_sources": [str(Path(p).resolve()) for p in args.paths], "group_by": args.by or []}
    out = output_path(name, args.output)
    try:
        render_notebook(notebook, out, title, **params)
    except ReportError as exc:
        print(f"error: {exc}; no report written", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def _check_incidents(paths) -> None:
    """Every folder loads and has a market section; IncidentError listing all that do not."""
    from incident.core.errors import IncidentError, Problem
    from incident.io.loader import load

    problems = []
    for path in paths:
        try:
            if load(path).market is None:
                problems.append(Problem(str(path), "market", "has no market section: a market study needs one"))
        except IncidentError as exc:
            problems += exc.problems
    if problems:
        raise IncidentError(problems)


def add_parser(sub) -> None:
    from incident.cli.common import DEFAULT_INCIDENT

    p = sub.add_parser("report", help="render HTML postmortems")
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"incident folders (default {DEFAULT_INCIDENT})")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="an .html file for one incident, or a folder (default reports/)")
    p.add_argument("--keep-notebook", action="store_true", help="also write the executed .ipynb beside the HTML")
    p.add_argument("--blameless", action="store_true",
                   help="name people by their role in the accountability, provision and responders (internal use)")
    p.add_argument("--study", action="store_true", help="one report of a market study over the incidents given")
    p.add_argument("--history", action="store_true",
                   help="one report of an incident history (PATHs are history sources, as for `incident history`)")
    p.add_argument("--by", action="append", metavar="GROUP",
                   help="with --history: a breakdown to show (provider, root-cause, component, quarter, ...)")
    from incident.report.execute import ENGINES  # the standard library only: --help stays quick

    p.add_argument("--engine", choices=ENGINES, default=ENGINES[0],
                   help="run the notebook in forked workers (default) or on a Jupyter kernel, as nbconvert does")
    p.set_defaults(func=cmd_report)
