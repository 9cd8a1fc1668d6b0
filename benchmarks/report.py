"""Benchmark the report: `incident report` against plain nbconvert, and a batch.

    .venv/bin/python benchmarks/report.py [--runs 3] [--batch 20]

(a) `incident report` on the default incident, (b) `jupyter nbconvert
--execute --to html notebooks/postmortem.ipynb` on the same notebook, (c) one
`incident report` over a batch of copies of the default incident. Prints the
median wall time of each, the ratios against the targets, and the report's
size. Each run is a fresh process, as a user would start it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "weimob-2020.html"
        a = [timed([str(BIN / "incident"), "report", "data/weimob-2020", "-o", str(out)], ROOT) for _ in range(args.runs)]
        size = out.stat().st_size
        b = [
            timed([str(BIN / "jupyter"), "nbconvert", "--execute", "--to", "html", "--output-dir", str(tmp / "nbc"),
                   "notebooks/postmortem.ipynb"], ROOT)
            for _ in range(args.runs)
        ]
        folders = []
        for i in range(args.batch):
            folder = tmp / "batch" / f"weimob-copy-{i:02d}"
            shutil.copytree(ROOT / "data" / "weimob-2020", folder)
            folders.append(str(folder))
        c = [timed([str(BIN / "incident"), "report", *folders, "-o", str(tmp / "out")], ROOT)]

    ma, mb, mc = statistics.median(a), statistics.median(b), statistics.median(c)
    rows = [
        ("(a) incident report, default", f"{ma:.2f} s", ""),
        ("(b) jupyter nbconvert --execute --to html", f"{mb:.2f} s", ""),
        (f"(c) incident report, batch of {args.batch}", f"{mc:.2f} s", f"{mc / args.batch:.2f} s per report"),
        ("(a)/(b)", f"{ma / mb:.2f}", "target <= 0.5"),
        ("(c)/(a)", f"{mc / ma:.2f}", "target <= 5"),
        ("report size", f"{size / 1e6:.2f} MB", "target <= 2 MB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
