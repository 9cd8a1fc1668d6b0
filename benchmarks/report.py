"""Benchmark the report against plain nbconvert: cold, from the cache, in a batch; and each figure.

    .venv/bin/python benchmarks/report.py [--runs 3] [--batch 20]
    .venv/bin/python benchmarks/report.py --figures     # each figure's CPU time

Measured side by side in one run, each a fresh process as a user starts it,
the runs of each kind interleaved so that a busy machine slows all alike:

(a) `incident report data/weimob-2020 --no-cache`: a cold report;
(b) `jupyter nbconvert --execute --to html` on the same report notebook with
    the same parameters (the package's postmortem.ipynb, incident injected);
(r) `incident report data/weimob-2020` again: the unchanged incident, from the cache;
(f) the floor: a plain Python script (`--floor`, no kernel, no notebook, no
    nbconvert) that loads the incident with the library, renders the same
    sections, draws the same figures and writes them into one HTML page;
(c) one `incident report --no-cache` over `--batch` copies of the incident.

Prints the median of each and the ratios against the goals (issue 20):
(a)/(b) <= 0.8, (r) <= 0.5 s, (c)/(batch x (b)) <= 0.25; and the report's
size and whether two cold runs give the same bytes. The cache is a folder of
this run's own (INCIDENT_CACHE_DIR), so a user's cache is neither used nor touched.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from timing import timed  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INCIDENT = ROOT / "data" / "weimob-2020"


def floor(out: Path) -> None:
    """The same page without the notebook machinery: sections and figures straight into HTML."""
    import base64

    import incident
    from incident.analysis.financials import financials_table
    from incident.market.reaction import market_event_study
    from incident.market.sessions import session_table
    from incident.plots import (
        plot_compensation, plot_event_study, plot_financials, plot_market, plot_provision, plot_timeline,
    )
    from incident.report import postmortem as pm

    inc = incident.load(INCIDENT)
    parts = []

    def figure(plot, *args, height=3.6, **kwargs):
        svg = draw(plot, *args, height=height, **kwargs)
        parts.append(f'<img alt="figure" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">')

    for key in ["title", *pm.HEADINGS]:
        if key == "market":
            study = market_event_study(inc)
            intro, tables = pm.market_sections(inc, study)
            parts.append(intro)
            figure(plot_market, inc, height=4.2)
            parts.append(tables)
            figure(plot_event_study, study, milestones=session_table(inc), sources=inc, height=None)
            continue
        parts.append(pm.section(key, inc))
        if key == "timeline":
            figure(plot_timeline, inc, height=None)
        elif key == "costs":
            figure(plot_provision, inc, height=3.2)
            figure(plot_compensation, inc, height=4.6)
        elif key == "financials" and financials_table(inc)["metric"].isin(["revenue", "adjusted EBITDA"]).any():
            figure(plot_financials, inc)
    css = (Path(pm.__file__).parent / "templates" / "postmortem" / "report.css").read_text(encoding="utf-8")
    out.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}</style></head>"
                   f"<body><main class='postmortem'>{''.join(parts)}</main></body></html>", encoding="utf-8")


def draw(plot, *args, height: float | None = 3.6, **kwargs) -> str:
    """One figure as the report draws it (9 in wide, or at the size it picks), saved as the SVG it embeds."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from incident.plots import HouseLayout
    from incident.report import postmortem as pm

    if height is None:
        fig = plot(*args, **kwargs).figure
    else:
        fig, ax = plt.subplots(figsize=(9.0, height), layout=HouseLayout())
        plot(*args, ax=ax, **kwargs)
    svg = pm.figure_bundle(fig)[0]["image/svg+xml"]
    plt.close(fig)
    return svg


def figures(runs: int) -> None:
    """Goal 5: each figure of the Weimob report drawn and saved, once the imports are done (best of `runs`)."""
    import time

    import incident
    from incident.market.reaction import market_event_study
    from incident.market.sessions import session_table
    from incident.plots import (
        plot_compensation, plot_event_study, plot_financials, plot_market, plot_provision, plot_timeline,
    )

    inc = incident.load(INCIDENT)
    study, milestones = market_event_study(inc), session_table(inc)
    calls = [(plot_timeline, (inc,), {"height": None}), (plot_provision, (inc,), {"height": 3.2}),
             (plot_compensation, (inc,), {"height": 4.6}), (plot_market, (inc,), {"height": 4.2}),
             (plot_event_study, (study,), {"milestones": milestones, "sources": inc, "height": None}),
             (plot_financials, (inc,), {})]
    best: dict[str, list[float]] = {plot.__name__: [] for plot, _, _ in calls}
    for _ in range(runs + 1):  # the first round draws with cold caches, as a report's worker does
        for plot, args, kwargs in calls:
            started = time.process_time()
            draw(plot, *args, **kwargs)
            best[plot.__name__].append(time.process_time() - started)
    width = max(map(len, best))
    for name, times in best.items():
        print(f"{name:<{width}}  first {times[0]:.3f} s  best {min(times[1:]):.3f} s  (goal: best <= 0.25 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--floor", metavar="OUT", help="write the floor page to OUT and exit (what (f) times)")
    parser.add_argument("--figures", action="store_true", help="time each figure (goal 5) and exit")
    args = parser.parse_args()
    if args.floor:
        floor(Path(args.floor))
        return
    if args.figures:
        figures(max(args.runs, 5))
        return

    import nbformat

    from incident.report.render import build_notebook

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {"INCIDENT_CACHE_DIR": str(tmp / "cache")}
        notebook = tmp / "postmortem.ipynb"
        nbformat.write(nbformat.from_dict(build_notebook(INCIDENT)), notebook)
        folders = []
        for i in range(args.batch):
            folder = tmp / "batch" / f"weimob-copy-{i:02d}"
            shutil.copytree(INCIDENT, folder)
            folders.append(str(folder))
        incident = [str(BIN / "incident"), "report", str(INCIDENT)]
        commands = {
            "a": [*incident, "-o", str(tmp / "a.html"), "--no-cache"],
            "b": [str(BIN / "jupyter"), "nbconvert", "--execute", "--to", "html", "--output-dir", str(tmp / "nbc"),
                  str(notebook)],
            "r": [*incident, "-o", str(tmp / "r.html")],
            "f": [sys.executable, __file__, "--floor", str(tmp / "floor.html")],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.runs):
            for key, cmd in commands.items():
                times[key].append(timed(cmd, ROOT, env))
        first = (tmp / "a.html").read_bytes()
        timed(commands["a"], ROOT, env)
        identical = (tmp / "a.html").read_bytes() == first == (tmp / "r.html").read_bytes()
        batch = timed([str(BIN / "incident"), "report", *folders, "-o", str(tmp / "out"), "--no-cache"], ROOT, env)

    a, b, r, f = (statistics.median(times[k]) for k in "abrf")
    rows = [
        ("(a) incident report, cold", f"{a:.2f} s", ""),
        ("(b) jupyter nbconvert --execute --to html", f"{b:.2f} s", "same notebook, same parameters"),
        ("(r) incident report, unchanged (from the cache)", f"{r:.2f} s", "goal <= 0.5 s"),
        ("(f) floor: plain script, same sections and figures", f"{f:.2f} s", ""),
        (f"(c) incident report, batch of {args.batch}", f"{batch:.2f} s", f"{batch / args.batch:.2f} s a report"),
        ("(a)/(b)", f"{a / b:.2f}", "goal <= 0.8"),
        (f"(c)/({args.batch} x (b))", f"{batch / (args.batch * b):.2f}", "goal <= 0.25"),
        ("(a)/(f)", f"{a / f:.2f}", "the notebook machinery's cost"),
        ("report size", f"{len(first) / 1e6:.2f} MB", "goal <= 2 MB"),
        ("byte-identical across runs and from the cache", "yes" if identical else "NO", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
