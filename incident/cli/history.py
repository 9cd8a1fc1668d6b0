"""`incident history SOURCE...`: the stage statistics of one or more incident histories.

A thin layer over `incident.analysis.history` and `history_engine`: read each
source (format detected from its content, or forced with --format; a Parquet
history too), put them in one table, optionally save it as Parquet (--save),
and print `history_summary` as JSON or as a table. With --engine duckdb or spark
the statistics run in that engine over Parquet files, for histories larger
than memory (`incident.analysis.history_stats`). Bad input raises
IncidentError, which the `incident` command's main turns into one line per
problem and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math

from incident.cli.common import print_data, say

# The library's choices, written here so that `incident --help` imports no pandas
# (tests/test_cli_latency.py checks they are the library's).
BY_CHOICES = ("provider", "root-cause", "root-cause-l1", "mitigation", "component", "impact", "quarter", "source",
              "detection", "year")
CI_METHODS = ("bootstrap", "rank")
FORMATS = ("incidents", "statuspage", "issre", "github", "parquet", "pagerduty", "opsgenie", "incidentio", "csv")
ENGINES = ("pandas", "duckdb", "spark")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register `history` on the subparsers `sub` of the `incident` command."""

    p = sub.add_parser(
        "history", help="time to detect, identify, mitigate and resolve across many incidents",
        description="Statistics of incident histories: n known, mean, median, p90 and a bootstrap CI "
                    "of the median per stage (minutes), shares within targets, and groups.")
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a file or folder: incident folders, a Statuspage feed, ISSRE'22 postmortems, "
                        "GitHub status history (.jsonl), or a history saved as Parquet")
    p.add_argument("--by", choices=BY_CHOICES, help="also give the statistics per group")
    p.add_argument("--format", choices=FORMATS, help="read every SOURCE as this format (default: detect)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--save", metavar="FILE.parquet",
                   help="also write the combined history table to this Parquet file (atomically)")
    p.add_argument("--engine", choices=ENGINES, default="pandas",
                   help="pandas (in memory, the default), duckdb (over Parquet SOURCEs, for histories larger "
                        "than memory; with --save, over the saved file) or spark (the same on Spark: local "
                        "cores here, needs Java and the [spark] extra)")
    p.add_argument("--ci", choices=CI_METHODS, default=None,
                   help="the median's CI: bootstrap (pandas default) or rank (the order-statistic interval; "
                        "the only one with duckdb and spark)")
    p.add_argument("--exclude-maintenance", action="store_true",
                   help="leave scheduled maintenance windows (impact 'maintenance') out of the statistics; "
                        "the output says how many (--save still writes every record)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB's memory limit, e.g. 4GB (default: $INCIDENT_DUCKDB_MEMORY, else half of the "
                        "machine's physical memory)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="DuckDB's threads, or Spark's local cores (default: $INCIDENT_DUCKDB_THREADS, else every core)")
    p.add_argument("--show-unmatched", action="store_true",
                   help="also list the mitigation texts no rule of incident/io/mitigation_groups.csv groups "
                        "(they count as 'other' with --by mitigation)")
    p.set_defaults(func=cmd_history)
    return p


def cmd_history(args) -> int:
    from incident.analysis.history import combine, history_table
    from incident.analysis.history_engine import choose_engine, history_summary
    from incident.io.history_parquet import write_history

    if args.save:
        _check_save(args.save, args.sources)
    ci = {"method": args.ci} if args.ci else {}
    engine, note = choose_engine(args.sources, args.engine, ci=args.ci, format=args.format, save=args.save)
    if note:  # Parquet sources too large for pandas: DuckDB instead
        say(f"note: {note}")
    options = {"exclude_maintenance": args.exclude_maintenance, "memory_limit": args.memory_limit,
               "threads": args.threads}
    if engine != "pandas" and not args.save:
        summary = history_summary(args.sources, by=args.by, engine=engine, **options, **ci)
    else:
        table = combine(history_table(source, format=args.format) for source in args.sources)
        if args.save:
            try:
                write_history(table, args.save)
            except OSError as exc:  # a full disk, the folder gone: nothing written, the old file kept
                from incident.core.errors import IncidentError

                raise IncidentError.single(args.save, f"cannot write the saved history: {exc.strerror or exc}") from None
        source = args.save if engine != "pandas" else table
        summary = history_summary(source, by=args.by, engine=engine, **options, **ci)
        if args.show_unmatched:
            from incident.io.issre import unmatched_actions

            summary["unmatched_mitigations"] = {str(k): int(v) for k, v in unmatched_actions(table).items()}
    if args.json:
        print_data(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print_data(summary_text(summary))
    return 0


def _check_save(save: str, sources: list[str]) -> None:
    """`--save` can be written and is none of the inputs (the same file under any name); before any work."""
    from incident.core.errors import IncidentError
    from incident.io.files import output_file, same_file

    output_file(save, "saved history")
    for source in sources:
        if same_file(save, source):
            raise IncidentError.single(save, f"is the input {source}: --save would replace it; give another file")


def summary_text(summary: dict) -> str:
    """`history_summary` as a plain-text table for the terminal."""
    ci = summary["ci"]
    resampling = f", {ci['resamples']} resamples, seed {ci['seed']}" if "resamples" in ci else ""
    lines = [f"{summary['n']:,} incidents; durations in minutes from the start; "
             f"median CI: {ci['level']:.0%} {ci['method']}{resampling}, "
             f"only where n ≥ {ci['min_n']}", ""]
    lines += _stage_rows(summary["stages"], summary["n"])
    lines += coverage_lines(summary)
    lines += ["", "within target (of the records where the stage is known):"]
    for stage, t in summary["within_targets"].items():
        lines.append(f"  {stage} ≤ {t['target_minutes']:g} min: {t['within']:,} of {t['n']:,} ({_pct(t['share'])})")
    if summary.get("groups"):
        lines += ["", f"by {summary['by']}:"]
        for name, group in summary["groups"].items():
            lines += ["", f"{name}  ({group['n']:,} records)"]
            lines += ["  " + row for row in _stage_rows(group["stages"], group["n"])]
    lines += ["", "import report (records per kind):"]
    lines += [f"  {kind:<32} {count:>7,}" for kind, count in summary["import_report"].items()]
    unmatched = summary.get("unmatched_mitigations")
    if unmatched is not None:
        lines += ["", f"mitigation texts in no group ('other'): {len(unmatched):,} texts, "
                      f"{sum(unmatched.values()):,} mentions (records listing each):"]
        lines += [f"  {count:>4,}  {text}" for text, count in unmatched.items()]
    return "\n".join(lines)


def coverage_lines(summary: dict) -> list[str]:
    """What the statistics cover: the maintenance windows in or out, and stages known only from a date on."""
    lines = []
    from incident.analysis.history_coverage import maintenance_text

    if summary.get("maintenance") is not None:
        lines.append(f"scheduled maintenance windows: {maintenance_text(summary['maintenance'], '--exclude-maintenance')}")
    for o in summary.get("stage_onsets", []):
        lines.append(f"note: {o['stage']} of {o['source']} is known only from {o['since']} on: none of the "
                     f"{o['before']:,} records before gives it, {o['known']:,} of the {o['after']:,} since do; "
                     f"its statistics describe those")
    return [""] + lines if lines else []


def _stage_rows(stages: dict, total: int) -> list[str]:
    rows = [f"{'stage':<6} {'known':>11} {'mean':>9} {'median':>9} {'p90':>9}   median CI"]
    for stage, s in stages.items():
        ci = (f"[{_num(s['median_ci_low'])}, {_num(s['median_ci_high'])}]"
              if s["median_ci_low"] is not None else "–")
        rows.append(f"{stage:<6} {s['n']:>5,} / {total:<5,} {_num(s['mean']):>9} {_num(s['median']):>9} "
                    f"{_num(s['p90']):>9}   {ci}")
    return rows


def _num(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.1f}"


def _pct(value) -> str:
    return "–" if value is None else f"{value:.0%}"
