"""Benchmark the command's latency against `python -c "import pandas"`, side by side.

    .venv/bin/python benchmarks/cli.py [--runs 7]

Each command is a fresh process, as a user starts it; the runs of all
commands are interleaved so that a busy machine slows all alike. Prints the
median of each and its ratio to the pandas import, with the goals:
`incident validate` ≤ 1× (an incident without a market section; with one,
validate also reads the prices and computes the event study, as summary
does), `incident summary --json` ≤ 2×, `incident --help` ≤ 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from timing import timed  # benchmarks/timing.py

ROOT = Path(__file__).resolve().parents[1]
INCIDENT = [sys.executable, "-m", "incident"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    commands = {
        "python -c 'import pandas' (the unit)": [sys.executable, "-c", "import pandas"],
        "incident --help": [*INCIDENT, "--help"],
        "incident validate data/gitlab-2017": [*INCIDENT, "validate", "data/gitlab-2017"],
        "incident validate data/weimob-2020 (market: prices read)": [*INCIDENT, "validate", "data/weimob-2020"],
        "incident summary --json data/weimob-2020": [*INCIDENT, "summary", "--json", "data/weimob-2020"],
    }
    goals = {"incident --help": "<= 0.3 s", "incident validate data/gitlab-2017": "<= 1x",
             "incident summary --json data/weimob-2020": "<= 2x"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, ROOT))
    unit = statistics.median(next(iter(times.values())))
    width = max(map(len, commands))
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<{width}}  {median:6.2f} s  {median / unit:5.2f}x  {goals.get(name, '')}")


if __name__ == "__main__":
    main()
