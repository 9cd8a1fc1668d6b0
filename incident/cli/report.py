"""`incident report`: the postmortem of one incident or many, as an HTML page or a Markdown page for a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cmd_report(args) -> int:
    from incident.cli.common import EXIT_BAD_INPUT, default_incident, say
    from incident.report.render import ReportError, render, render_many, terminal_progress

    _check_output_name(args)
    if args.study or args.history:
        return _whole(args)
    paths = default_incident(args.paths, args.parser)
    if len(paths) == 1:
        try:
            out = render(paths[0], args.output, keep_notebook=args.keep_notebook, blameless=args.blameless,
                         force=args.force, cache=not args.no_cache, to=args.to)
        except ReportError as exc:
            say(f"error: {paths[0]}: {exc}; no report written")
            return 1
        print(f"wrote {out}")
        return 0
    results = render_many(paths, args.output, keep_notebook=args.keep_notebook, progress=terminal_progress(),
                          blameless=args.blameless, force=args.force, cache=not args.no_cache, to=args.to)
    for r in results:
        if r.ok:
            print(f"ok      {r.incident} -> {r.output} ({'from the cache' if r.cached else f'{r.seconds:.1f} s'})")
        elif r.skipped:
            say(f"skipped {r.incident}: {r.error}")
        else:
            say(f"FAILED  {r.incident}: {r.error}")
    failed = [r for r in results if not r.ok and not r.skipped]
    attempted = [r for r in results if not r.skipped]
    print(f"{len(attempted) - len(failed)} of {len(attempted)} reports written")
    if any(r.bad_input for r in failed):
        return EXIT_BAD_INPUT
    return 1 if failed else 0


def _check_output_name(args) -> None:
    """An output named as the other format's page (report.html with --to markdown) is a mistake, not a folder."""
    from incident.report.render import FORMATS

    suffix = Path(args.output or "").suffix.lower()
    other = [to for to, suffixes in FORMATS.items() if suffix in suffixes and to != args.to]
    if other and not Path(args.output).is_dir():
        args.parser.error(f"--output {args.output} names a page of {other[0]}, not of {args.to}: "
                          f"give a {FORMATS[args.to][0]} file or a folder, or --to {other[0]}")


def _whole(args) -> int:
    """The report of a market study over incidents, or of an incident history."""
    from incident.cli.common import say
    from incident.report.render import PACKAGE, ReportError, output_path, render_notebook

    if not args.paths:
        args.parser.error("give the incident folders of the study, or the sources of the history")
    if args.study and args.history:
        args.parser.error("--study and --history are two different reports: choose one")
    paths = [str(Path(p).resolve()) for p in args.paths]
    if args.study:
        notebook, name, title = PACKAGE / "study.ipynb", "market-study", "Market reaction to IT incidents"
        params: dict[str, Any] = {"incident_paths": paths}  # the notebook's parameters, not render_notebook's
        check, warm = (lambda: _check_incidents(args.paths)), STUDY_WARM
    else:
        notebook, name, title = PACKAGE / "history.ipynb", "history", "Incident history"
        params = {"history_sources": paths, "group_by": args.by or [],
                  "exclude_maintenance": bool(args.exclude_maintenance)}
        check, warm = (lambda: _check_history(args.paths)), HISTORY_WARM
    out = output_path(name, args.output, args.to)
    try:
        render_notebook(notebook, out, title, inputs=paths, check=check, warm=warm, keep_notebook=args.keep_notebook,
                        force=args.force, cache=not args.no_cache, to=args.to, **params)
    except ReportError as exc:
        say(f"error: {exc}; no report written")
        return 1
    print(f"wrote {out}")
    return 0


STUDY_WARM: tuple[str, ...] = ("scipy.special", "incident.market.reaction", "incident.plots.caar", "incident.plots.eventstudy")
HISTORY_WARM: tuple[str, ...] = ("incident.analysis.history", "incident.analysis.history_engine", "incident.plots.history")


def _check_history(paths) -> None:
    """Every history source reads; IncidentError naming the first that does not.

    A saved Parquet history is checked from its footer (a history table, within
    the pandas engine's budget), not read: the report's kernel reads it.
    """
    from incident.analysis.history import history_table
    from incident.core.errors import IncidentError
    from incident.io.history_parquet import inspect_history, is_parquet

    for path in paths:
        if is_parquet(path):
            info = inspect_history(path)
            if not info.fits_in_memory():
                raise IncidentError.single(str(path), f"{info.too_large()}: the history report holds the table in "
                                                      "memory; summarise it with `incident history --engine duckdb`")
        else:
            history_table(path, index=False)


def _check_incidents(paths) -> None:
    """Every folder loads, has a market section and passes `incident validate`'s market check; IncidentError listing all that do not."""
    from incident.core.errors import IncidentError, Problem
    from incident.io.loader import load
    from incident.market.checks import check_market

    problems = []
    for path in paths:
        try:
            inc = load(path)
            if inc.market is None:
                problems.append(Problem(str(path), "market", "has no market section: a market study needs one"))
            else:
                check_market(inc)  # the price files, day 0, the event study: before anything runs
        except IncidentError as exc:
            problems += exc.problems
    if problems:
        raise IncidentError(problems)


def add_parser(sub) -> None:
    from incident.cli.common import DEFAULT_INCIDENT

    p = sub.add_parser("report", help="render postmortems as HTML pages or as Markdown")
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"incident folders (default {DEFAULT_INCIDENT})")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="an .html file (.md with --to markdown) for one incident, or a folder (default reports/)")
    p.add_argument("--to", choices=("html", "markdown"), default="html",
                   help="html (default): one self-contained page; markdown: NAME.md for GitHub and the like, "
                        "its figures as SVG files in NAME_files/ beside it")
    p.add_argument("--keep-notebook", action="store_true",
                   help="also write the executed notebook beside the page (NAME.ipynb), to open in Jupyter")
    p.add_argument("--force", action="store_true", help="with --keep-notebook: replace an existing notebook")
    p.add_argument("--no-cache", action="store_true",
                   help="run the notebook even if an unchanged report is in the cache (the cache is refreshed)")
    p.add_argument("--blameless", action="store_true",
                   help="name people by their role in the accountability, provision and responders (internal use)")
    p.add_argument("--study", action="store_true", help="one report of a market study over the incidents given")
    p.add_argument("--history", action="store_true",
                   help="one report of an incident history (PATHs are history sources, as for `incident history`)")
    from incident.cli.history import BY_CHOICES  # no pandas: --help stays quick

    p.add_argument("--by", action="append", choices=BY_CHOICES, metavar="GROUP",
                   help=f"with --history: a breakdown to show, one of {', '.join(BY_CHOICES)} (repeat for more)")
    p.add_argument("--exclude-maintenance", action="store_true",
                   help="with --history: leave scheduled maintenance windows out of every statistic")
    p.set_defaults(func=cmd_report)
