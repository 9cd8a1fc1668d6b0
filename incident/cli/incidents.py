"""Commands on incident files: validate, summary, schema, new, compare, import."""

from __future__ import annotations

import json
from pathlib import Path

from incident.cli.common import print_data as _print, say
from incident.core.errors import IncidentError

FIGURE_FORMATS = (".png", ".svg", ".pdf")


def cmd_validate(args) -> int:
    """Check every path; report all problems of all of them, then exit 2 if any had one.

    What validates must also summarise and report: an incident with a
    market section has its price files read and its event study computed
    too (the only checks that need the data files, and pandas).
    """
    from incident.cli.common import EXIT_BAD_INPUT, default_incident, report_problems
    from incident.io.lint import warnings
    from incident.io.loader import incident_file, load

    failed = 0
    for path in default_incident(args.paths, args.parser):
        try:
            inc = load(path)
            if inc.market is not None:
                from incident.market.checks import check_market

                check_market(inc)
        except IncidentError as exc:
            report_problems(exc)
            failed += 1
            continue
        for problem in warnings(inc, str(incident_file(path))):
            say(f"warning: {problem}")
        _print(f"{path}: ok ({inc.id}: {len(inc.milestones)} milestones, {len(inc.phases)} phases, "
              f"{len(inc.sources)} sources)")
    return EXIT_BAD_INPUT if failed else 0


def cmd_summary(args) -> int:
    from incident.cli.common import default_incident
    from incident.io.loader import load
    from incident.report.summary import summary, summary_text

    inc = load(default_incident([args.path] if args.path else [], args.parser)[0])
    if args.json:
        _print(json.dumps(summary(inc), ensure_ascii=False, indent=2, default=str))
    else:
        _print(summary_text(inc))
    return 0


def cmd_schema(args) -> int:
    if args.markdown:
        from incident.core.formatdoc import markdown

        print(markdown(), end="")
        return 0
    from incident.core.model import Incident

    schema = Incident.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "incident.yaml"
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def cmd_import_statuspage(args) -> int:
    from incident.io.statuspage import import_statuspage

    return _imported(import_statuspage(args.source, args.output, overwrite=args.force), args.source)


def cmd_import_pagerduty(args) -> int:
    from incident.io.pagerduty import import_pagerduty

    return _imported(import_pagerduty(args.source, args.output, log_entries=args.log_entries, overwrite=args.force),
                     args.source)


def cmd_import_opsgenie(args) -> int:
    from incident.io.opsgenie import import_opsgenie

    return _imported(import_opsgenie(args.source, args.output, timeline=args.timeline, overwrite=args.force),
                     args.source)


def cmd_import_incidentio(args) -> int:
    from incident.io.incidentio import import_incidentio

    return _imported(import_incidentio(args.source, args.output, updates=args.updates, overwrite=args.force),
                     args.source)


def cmd_import_csv(args) -> int:
    from incident.io.csv_export import import_csv

    return _imported(import_csv(args.source, args.output, timezone=args.timezone, overwrite=args.force,
                                organisation=args.organisation), args.source)


def _importer(formats, name: str, func, metavar: str, what: str, help: str):
    """`incident import NAME SOURCE -o DIR [--force]`: what every importer's command takes."""
    p = formats.add_parser(name, help=help)
    p.add_argument("source", metavar=metavar, help=what)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write incident folders into")
    p.add_argument("--force", action="store_true", help="replace incident files that already exist")
    p.set_defaults(func=func)
    return p


def _imported(folders, source) -> int:
    for folder in folders:
        _print(f"wrote {folder}")
    _print(f"{len(folders)} incident{'s' if len(folders) != 1 else ''} imported from {source}")
    return 0


def cmd_compare(args) -> int:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from incident.analysis.compare import compare_table
    from incident.io.files import atomic_write, output_folder
    from incident.io.loader import load
    from incident.plots import plot_compare

    out = Path(args.output) if args.output else None
    if out is not None:
        _check_figure_path(out)
    a, b = load(args.a), load(args.b)
    if out is None:
        out = Path(f"reports/compare-{a.id}-{b.id}.png")
        _check_figure_path(out)
    output_folder(out.parent, "folder of the figure")
    table = compare_table(a, b)
    ax = plot_compare(a, b)
    figure = io.BytesIO()
    ax.figure.savefig(figure, format=out.suffix.lower()[1:], dpi=150, bbox_inches="tight")
    try:
        atomic_write(out, figure.getvalue())
    except OSError as exc:
        raise IncidentError.single(str(out), f"cannot write the figure: {exc.strerror or exc}") from None
    shown = table[list(table.columns[1:4])].reset_index()  # the measure, the two incidents and the ratio, as text
    widths = [max(len(str(v)) for v in [c, *shown[c]]) for c in shown.columns]
    for row in [list(shown.columns), *shown.itertuples(index=False)]:
        _print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    _print("\nHours per impact level are the union of the phases, the worst level winning where they overlap;\n"
           "a range where a time is known only to the hour or day. Ratios: first / second, '—' where a side\n"
           "is missing, zero or under a minute. Numbers (low, high): compare_table() in Python.")
    _print(f"wrote {out}")
    return 0


def _check_figure_path(out: Path) -> None:
    """A figure goes to a new or existing file named .png, .svg or .pdf; IncidentError otherwise."""
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise IncidentError.single(str(out), f"unsupported figure format {out.suffix or '(none)'!r}: name the file "
                                             f"{', '.join(FIGURE_FORMATS[:-1])} or {FIGURE_FORMATS[-1]}")
    if out.is_dir():
        raise IncidentError.single(str(out), "is a folder; give a figure file name such as compare.png")
    if out.is_symlink() and not out.exists():
        raise IncidentError.single(str(out), "is a symbolic link to nothing; give a figure file name")


def cmd_new(args) -> int:
    from incident.io.scaffold import write_new

    path = write_new(args.id, args.data_dir)
    _print(f"wrote {path}: fill the values marked '# required', then run: incident validate {path.parent}")
    return 0


def add_parser(sub) -> None:
    from incident.cli.common import DEFAULT_INCIDENT

    p = sub.add_parser("validate", help="check incident folders and report every problem")
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"incident folders (default {DEFAULT_INCIDENT})")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("summary", help="key figures of an incident")
    p.add_argument("path", nargs="?", metavar="PATH", help=f"an incident folder (default {DEFAULT_INCIDENT})")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("schema", help="print the JSON Schema of incident.yaml")
    p.add_argument("--markdown", action="store_true", help="print the field reference (Markdown) instead")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("import", help="convert incidents from another format")
    formats = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    _importer(formats, "statuspage", cmd_import_statuspage, "FEED", "the incidents.json file",
                  "an Atlassian Statuspage incidents.json feed, one folder per incident")
    p = _importer(formats, "pagerduty", cmd_import_pagerduty, "FILE", "the JSON of GET /incidents",
                  "a saved PagerDuty REST API v2 incidents response, one folder per incident")
    p.add_argument("--log-entries", metavar="FILE", help="the JSON of GET /log_entries, for the timeline")
    p = _importer(formats, "opsgenie", cmd_import_opsgenie, "FILE", "the JSON of GET /v2/alerts or GET /v1/incidents",
                  "a saved Opsgenie alerts or incidents list, one folder per alert or incident")
    p.add_argument("--timeline", metavar="FILE",
                   help="incident timelines: {incident id: the JSON of its timeline entries}")
    p = _importer(formats, "incidentio", cmd_import_incidentio, "FILE", "the JSON of GET /v2/incidents",
                  "a saved incident.io API v2 incidents response, one folder per incident")
    p.add_argument("--updates", metavar="FILE", help="the JSON of GET /v2/incident_updates, for the timeline")
    p = _importer(formats, "csv", cmd_import_csv, "FILE", "the .csv file",
                  "a CSV export, one row per incident (id, title, severity, service, stage times)")
    p.add_argument("--timezone", metavar="ZONE", help="IANA zone of times written without an offset (else refused)")
    p.add_argument("--organisation", metavar="NAME", help="whose incidents (default: the file's name)")

    p = sub.add_parser("compare", help="two incidents side by side: table and figure")
    p.add_argument("a", metavar="A", help="first incident folder")
    p.add_argument("b", metavar="B", help="second incident folder")
    p.add_argument("-o", "--output", metavar="FIGURE",
                   help="figure file, .png, .svg or .pdf (default reports/compare-A-B.png)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("new", help="write ID/incident.yaml, a commented template to fill in")
    p.add_argument("id", metavar="ID", help="incident id, e.g. acme-2024")
    p.add_argument("--data-dir", default=".", metavar="DIR",
                   help="where to make the incident's folder (default: the current folder)")
    p.set_defaults(func=cmd_new)
