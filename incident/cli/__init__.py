"""The `incident` command: a thin layer over the library's public functions.

Bad input of any kind ends with one line per problem on stderr and exit
status 2; nothing else prints a traceback for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from incident.core.errors import IncidentError

DEFAULT_INCIDENT = "data/weimob-2020"
EXIT_BAD_INPUT = 2


def cmd_validate(args) -> int:
    from incident.io.loader import load

    for path in args.paths:
        inc = load(path)
        print(f"{path}: ok ({inc.id}: {len(inc.milestones)} milestones, {len(inc.phases)} phases, "
              f"{len(inc.sources)} sources)")
    return 0


def cmd_summary(args) -> int:
    from incident.io.loader import load
    from incident.report.summary import summary, summary_text

    inc = load(args.path)
    if args.json:
        print(json.dumps(summary(inc), ensure_ascii=False, indent=2, default=str))
    else:
        print(summary_text(inc))
    return 0


def cmd_schema(args) -> int:
    from incident.core.model import Incident

    schema = Incident.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "incident.yaml"
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def cmd_report(args) -> int:
    from incident.report.render import ReportError, render, render_many, terminal_progress

    paths = args.paths or [DEFAULT_INCIDENT]
    if len(paths) == 1:
        try:
            out = render(paths[0], args.output, keep_notebook=args.keep_notebook)
        except ReportError as exc:
            print(f"error: {paths[0]}: {exc}; no report written", file=sys.stderr)
            return 1
        print(f"wrote {out}")
        return 0
    results = render_many(paths, args.output, keep_notebook=args.keep_notebook, progress=terminal_progress())
    for r in results:
        if r.ok:
            print(f"ok     {r.incident} -> {r.output} ({r.seconds:.1f} s)")
        else:
            print(f"FAILED {r.incident}: {r.error}", file=sys.stderr)
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} of {len(results)} reports written")
    if any(r.bad_input for r in failed):
        return EXIT_BAD_INPUT
    return 1 if failed else 0


def cmd_prices(args) -> int:
    from incident.io.prices import artefacts, check_gaps, read_prices
    from incident.io.calendars import calendar

    try:
        calendar(args.calendar)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in args.files:
        bars = read_prices(path, calendar=args.calendar)
        flagged, gaps = artefacts(bars), check_gaps(bars, args.calendar)
        print(f"{path}: ok ({len(bars)} bars, {bars.index[0]:%Y-%m-%d} → {bars.index[-1]:%Y-%m-%d}; "
              f"{len(flagged)} flagged, {len(gaps)} {args.calendar} sessions without a bar)")
        for day, row in flagged.iterrows():
            print(f"  flagged {day:%Y-%m-%d}: {row['reason']}")
        for row in gaps.itertuples():
            print(f"  {row.problem}: {row.date:%Y-%m-%d}")
    return 0


def cmd_import_statuspage(args) -> int:
    from incident.io.statuspage import import_statuspage

    folders = import_statuspage(args.feed, args.output, overwrite=args.force)
    for folder in folders:
        print(f"wrote {folder}")
    print(f"{len(folders)} incidents imported from {args.feed}")
    return 0


def cmd_compare(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from incident.analysis.compare import compare_table
    from incident.plots import plot_compare
    from incident.io.loader import load

    a, b = load(args.a), load(args.b)
    print(compare_table(a, b).to_string(float_format=lambda x: f"{x:,.2f}"))
    out = Path(args.output or f"reports/compare-{a.id}-{b.id}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    ax = plot_compare(a, b)
    ax.figure.savefig(out, dpi=150, bbox_inches="tight")
    print(f"wrote {out}")
    return 0


def cmd_new(args) -> int:
    from incident.io.scaffold import write_new

    path = write_new(args.id, args.data_dir)
    print(f"wrote {path}: fill the values marked '# required', then run: incident validate {path.parent}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident", description="Incident timelines and postmortems as data.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check incident folders and report every problem")
    p.add_argument("paths", nargs="*", default=[DEFAULT_INCIDENT], metavar="PATH")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("summary", help="key figures of an incident")
    p.add_argument("path", nargs="?", default=DEFAULT_INCIDENT, metavar="PATH")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("report", help="render HTML postmortems (one kernel for many)")
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"incident folders (default {DEFAULT_INCIDENT})")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="an .html file for one incident, or a folder (default reports/)")
    p.add_argument("--keep-notebook", action="store_true", help="also write the executed .ipynb beside the HTML")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("prices", help="check daily price CSVs (ours or Yahoo's) and list flagged bars")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--calendar", default="XHKG", help="exchange-calendars code of the exchange (default XHKG)")
    p.set_defaults(func=cmd_prices)

    p = sub.add_parser("schema", help="print the JSON Schema of incident.yaml")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("import", help="convert incidents from another format")
    formats = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    p = formats.add_parser("statuspage", help="an Atlassian Statuspage incidents.json feed, one folder per incident")
    p.add_argument("feed", metavar="FEED", help="the incidents.json file")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write incident folders into")
    p.add_argument("--force", action="store_true", help="replace incident files that already exist")
    p.set_defaults(func=cmd_import_statuspage)

    p = sub.add_parser("compare", help="two incidents side by side: table and figure")
    p.add_argument("a", metavar="A", help="first incident folder")
    p.add_argument("b", metavar="B", help="second incident folder")
    p.add_argument("-o", "--output", metavar="PNG", help="figure file (default reports/compare-A-B.png)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("new", help="start a new incident file from the commented template")
    p.add_argument("id", metavar="ID", help="incident id, e.g. acme-2024")
    p.add_argument("--data-dir", default="data", metavar="DIR", help="where incident folders live (default data)")
    p.set_defaults(func=cmd_new)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IncidentError as exc:
        report_problems(exc)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def report_problems(exc: IncidentError) -> None:
    """One line per problem on stderr."""
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)

