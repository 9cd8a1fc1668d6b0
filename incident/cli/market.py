"""Commands on share prices: check price files, study one event or many."""

from __future__ import annotations

import argparse
import json
import math

from incident.cli.common import EXIT_BAD_INPUT, say

# The library's constants, written here so that `incident --help` imports no pandas or scipy
# (tests/test_cli_latency.py checks they are the library's).
MODELS = ("market", "constant-mean", "market-adjusted")
DEFAULT_ESTIMATION = (-120, -11)
DEFAULT_CALENDAR = "XNYS"  # incident.io.calendars.DEFAULT_CALENDAR (written here so that --help imports no pandas)
KEEP_HELP = ("use the closes of bars flagged only as vendor placeholders (open = high = low = close, volume 0) "
             "instead of leaving them out of the fit")


def cmd_prices(args) -> int:
    from incident.io.calendars import calendar
    from incident.io.prices import artefacts, check_gaps, read_prices

    try:
        calendar(args.calendar)
    except ValueError as exc:
        say(f"error: {exc}")
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


def cmd_event_study(args) -> int:
    """One event from two price files: the fit and each window's CAR, t and p."""
    import pandas as pd

    from incident.io.calendars import calendar
    from incident.io.prices import artefacts, read_prices
    from incident.market.eventstudy import event_study, window_label
    from incident.market.reaction import STUDY_WINDOWS, placeholder_only, price_sessions
    from incident.market.study import conventions

    try:
        calendar(args.calendar)
        day0 = pd.Timestamp(args.day0)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    stock, bench = read_prices(args.stock, args.calendar), read_prices(args.benchmark, args.calendar)
    for name, df in ((args.stock, stock), (args.benchmark, bench)):
        if day0 not in df.index:
            return _fail(f"--day0 {args.day0} is not a session with a close in {name} "
                         f"({df.index[0]:%Y-%m-%d}..{df.index[-1]:%Y-%m-%d})", EXIT_BAD_INPUT)
    windows = args.window or list(STUDY_WINDOWS)
    flags = [artefacts(stock), artefacts(bench)]
    if args.keep_placeholder_closes:
        flags = [f[~placeholder_only(f)] for f in flags]
    flagged = pd.concat(flags).index
    days = price_sessions(stock, bench, args.calendar)
    try:
        result = event_study(stock["close"], bench["close"], day0, estimation=args.estimation, windows=windows,
                             model=args.model, exclude=flagged, sessions=days)
    except ValueError as exc:
        return _fail(f"day 0 {args.day0}: {exc}", EXIT_BAD_INPUT)
    notes = conventions(result.model, result.estimation, flagged=_flagged(args))
    notes = {k: notes[k] for k in ("returns", "model", "sigma", "single_event_t", "flagged_bars")}
    out = {
        "day0": f"{result.event_day:%Y-%m-%d}", "model": result.model, "estimation": window_label(result.estimation),
        "alpha": result.alpha, "beta": result.beta, "n": result.n, "sigma": result.sigma,
        "windows": {w: {"car": float(r.car), "t": float(r.t), "p": float(r.p)} for w, r in result.car.iterrows()},
        "excluded_returns": [f"{d:%Y-%m-%d}" for d in result.excluded],
        "conventions": notes,
    }
    if args.json:
        print(json_text(out))
        return 0
    print(f"day 0 {out['day0']} ({args.calendar}), {result.model} model, estimation {out['estimation']} "
          f"({result.estimation_dates[0]:%Y-%m-%d}..{result.estimation_dates[1]:%Y-%m-%d}, n {result.n})")
    print(f"alpha {result.alpha:+.4%} a day, beta {result.beta:.3f}, sigma {result.sigma:.3%}")
    print(f"{'window':>8} {'CAR':>9} {'t':>7} {'p':>7}")
    for w, r in result.car.iterrows():
        print(f"{w:>8} {r.car:>+9.2%} {r.t:>7.2f} {r.p:>7.3f}")
    _print_notes(notes)
    return 0


def cmd_market_study(args) -> int:
    """Many incidents' events: CAR per event, CAAR and the five tests per window (KP-adjusted where clustered)."""
    import pandas as pd

    from incident.io.loader import load
    from incident.market.reaction import STUDY_WINDOWS, incidents_study
    from incident.market.study import ADJUSTED, OVER_REJECTS, TESTS

    incidents: list = []
    skipped: list = []
    for path in args.paths:
        inc = load(path)
        (incidents if inc.market is not None else skipped).append(inc)
    for inc in skipped:
        say(f"note: skipped {inc.folder or inc.id}: no market section")
    if len(incidents) < 2:
        return _fail(f"a market study needs at least two incidents with a market section; "
                     f"{len(incidents)} of the {len(args.paths)} paths have one", EXIT_BAD_INPUT)
    study = incidents_study(incidents, windows=args.window or STUDY_WINDOWS, model=args.model,
                            estimation=args.estimation, rank_span=args.rank_span,
                            keep_placeholder_closes=args.keep_placeholder_closes)
    data = study_json(study, flagged=_flagged(args))
    data["skipped"] = [str(inc.folder or inc.id) for inc in skipped]
    alternatives = {}
    if args.day0_alternatives:
        from incident.market.dayzero import day0_sensitivity

        alternatives = {inc.id: day0_sensitivity(inc, windows=args.window or STUDY_WINDOWS, model=args.model,
                                                 estimation=args.estimation)
                        for inc in incidents if inc.market.day0_alternatives}
        data["day0_alternatives"] = {
            iid: {day: {w: {stat: float(t.at[w, (day, stat)]) for stat in ("car", "t", "p")} for w in t.index}
                  for day in t.columns.get_level_values("day0").unique()}
            for iid, t in alternatives.items()}
    if study.clustered:
        say(f"warning: {clustering_note(study)}")
    if args.json:
        print(json_text(data))
        return 0
    print(f"{len(study.events)} events, {study.model} model, estimation {study.estimation[0]}..{study.estimation[1]}")
    print()
    print("CAR per event")
    table = study.car.map(lambda v: f"{v:+.2%}")
    table.insert(0, "day 0", [f"{d:%Y-%m-%d}" for d in study.events["day0"]])
    table.insert(1, "exchange", study.events["exchange"])
    print(table.to_string())
    print()
    print("CAAR and tests (statistic, two-sided p)")
    shown = [*TESTS, *ADJUSTED] if study.clustered else list(TESTS)
    rows = {}
    for w, r in study.tests.iterrows():
        rows[w] = {"CAAR": f"{r.caar:+.2%}", "N": int(r.n),
                   **{t + (" *" if t in OVER_REJECTS else ""): f"{r[t]:+.2f} ({r['p ' + t]:.3f})" for t in shown}}
        if study.clustered:
            rows[w]["rbar"] = f"{r.rbar:.3f}"
    print(pd.DataFrame(rows).T.to_string())
    print("* " + "; ".join(f"{t} {why} in placebo studies on real returns" for t, why in OVER_REJECTS.items()))
    for iid, t in alternatives.items():
        print()
        print(f"{iid}: CAR at each day 0 (the first is the rule's; the others are the file's alternatives)")
        print(t.xs("car", axis=1, level="statistic").map(lambda v: f"{v:+.2%}").to_string())
    if args.day0_alternatives and not alternatives:
        print()
        print("no incident of the study states an alternative day 0 (market.day0_alternatives)")
    _print_notes(data["conventions"])
    return 0


def clustering_note(study) -> str:
    """One line: which events' windows share calendar dates, and the r̄ of each window."""
    pairs = study.overlaps.drop_duplicates(["event", "other"])
    names = ", ".join(f"{a} and {b}" for a, b in zip(pairs["event"], pairs["other"]))
    rbars = ", ".join(f"{w} {r:.3f}" for w, r in study.tests["rbar"].items())
    return (f"event windows share calendar dates ({names}): the events are not independent; "
            f"the cross-sectional and BMP t are also shown with the Kolari-Pynnonen adjustment (rbar: {rbars})")


def _print_notes(notes: dict) -> None:
    print()
    print("Conventions")
    for key, text in notes.items():
        print(f"  {key.replace('_', ' ')}: {text}")


def _flagged(args) -> str:
    return "kept" if args.keep_placeholder_closes else "dropped"


def study_json(study, flagged: str = "dropped") -> dict:
    """The study's events, CARs and tests, JSON-ready (returns as fractions), with its conventions.

    Where event windows share calendar dates, each window also has
    `clustering` (the pairs, r̄) and the KP-adjusted tests under `adjusted`.
    """
    from incident.market.study import ADJUSTED, TESTS, conventions

    events = {
        i: {"ticker": e.ticker, "benchmark": e.benchmark, "exchange": e.exchange, "day0": f"{e.day0:%Y-%m-%d}",
            "rule": e.rule, "alpha": e.alpha, "beta": e.beta, "sigma": e.sigma, "n": int(e.n),
            "car": {w: float(v) for w, v in study.car.loc[i].items()}}
        for i, e in study.events.iterrows()
    }
    windows = {}
    for w, r in study.tests.iterrows():
        windows[w] = {"caar": float(r.caar), "n": int(r.n),
                      "tests": {t: {"statistic": float(r[t]), "p": float(r["p " + t])} for t in TESTS}}
        if study.clustered:
            pairs = study.overlaps[study.overlaps["window"] == w]
            windows[w]["clustering"] = {"overlapping_pairs": [[a, b] for a, b in zip(pairs["event"], pairs["other"])],
                                        "rbar": float(r.rbar)}
            windows[w]["adjusted"] = {t: {"statistic": float(r[t]), "p": float(r["p " + t])} for t in ADJUSTED}
    return {"model": study.model, "estimation": f"{study.estimation[0]}..{study.estimation[1]}",
            "events": events, "windows": windows, "clustered": study.clustered,
            "conventions": conventions(study.model, study.estimation, study.rank_span, flagged)}


def json_text(data) -> str:
    """`data` as JSON: a number that is not finite (a test with no variance) is null, never NaN or Infinity."""
    def finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(data), indent=2, allow_nan=False)


def _fail(message: str, status: int) -> int:
    say(f"error: {message}")
    return status


def window(text: str) -> tuple[int, int]:
    """'-1:1' (or '-1..1') → (-1, 1)."""
    parts = text.replace("..", ":").split(":")
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a window; write FIRST:LAST in sessions, e.g. 0:4 or -1:1")
    if a > b:
        raise argparse.ArgumentTypeError(f"window {text!r} ends before it starts")
    return a, b


def add_parser(sub) -> None:

    p = sub.add_parser("prices", help="check daily price CSVs (ours, Yahoo's or Date,Close) and list flagged bars")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--calendar", default=DEFAULT_CALENDAR,
                   help=f"exchange-calendars code of the exchange (default {DEFAULT_CALENDAR}; XHKG for Hong Kong)")
    p.set_defaults(func=cmd_prices)

    est = f"{DEFAULT_ESTIMATION[0]}:{DEFAULT_ESTIMATION[1]}"
    p = sub.add_parser("event-study", help="one event study from a stock's and a benchmark's price files")
    p.add_argument("stock", metavar="STOCK.csv")
    p.add_argument("benchmark", metavar="BENCHMARK.csv")
    p.add_argument("--day0", required=True, metavar="YYYY-MM-DD", help="the session of day 0 (a session of both files)")
    p.add_argument("--calendar", default=DEFAULT_CALENDAR,
                   help=f"exchange-calendars code of the exchange (default {DEFAULT_CALENDAR}; XHKG for Hong Kong)")
    p.add_argument("--estimation", type=window, default=DEFAULT_ESTIMATION, metavar="A:B",
                   help=f"estimation window in sessions from day 0 (default {est})")
    p.add_argument("--window", type=window, action="append", metavar="A:B",
                   help="an event window in sessions from day 0; repeat for more (default 0:0 0:1 0:4 -1:1)")
    p.add_argument("--model", choices=MODELS, default="market")
    p.add_argument("--keep-placeholder-closes", action="store_true", help=KEEP_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_event_study)

    p = sub.add_parser("market-study", help="a study of many incidents' events: CAARs and five tests")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="incident folders (those without a market section are skipped with a note)")
    p.add_argument("--window", type=window, action="append", metavar="A:B",
                   help="an event window in sessions from day 0; repeat for more (default 0:0 0:1 0:4 -1:1)")
    p.add_argument("--estimation", type=window, default=DEFAULT_ESTIMATION, metavar="A:B",
                   help=f"estimation window (default {est})")
    p.add_argument("--rank-span", type=window, metavar="A:B",
                   help="days the rank test ranks (default: the estimation window plus the tested window)")
    p.add_argument("--model", choices=MODELS, default="market")
    p.add_argument("--keep-placeholder-closes", action="store_true", help=KEEP_HELP)
    p.add_argument("--day0-alternatives", action="store_true",
                   help="also each CAR at the alternative days 0 the incident files state, beside the rule's")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_market_study)
