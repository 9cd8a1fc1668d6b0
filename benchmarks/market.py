"""Timings of the market code: the vectorised study against a per-event loop, and the price reader.

    .venv/bin/python benchmarks/market.py

Prints seconds (best of 3) and ratios; not a test: timings depend on the machine.
Targets: 1,000 events x 500 sessions in <= 2 s; 10,000 events x 500 sessions
timed with its peak memory (tracemalloc: the Python and numpy allocations of
the study); a 50 MB price file accepted or refused in <= 5 s and <= 500 MB
peak RSS (measured in a child process).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from incident.market.study import loop_study, market_study


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def synthetic(events: int, sessions: int):
    rng = np.random.default_rng(0)
    m = rng.normal(0.0004, 0.01, (events, sessions))
    s = 0.0002 + rng.uniform(0.5, 1.5, (events, 1)) * m + rng.normal(0, 0.02, m.shape)
    days = np.arange(-(sessions - 21), 21)
    return s, m, days, (int(days[0]), -11), [(0, 0), (0, 1), (0, 4), (-1, 1)]


def study_timings(events: int = 1000, sessions: int = 500) -> None:
    s, m, days, estimation, windows = synthetic(events, sessions)
    fast = best(lambda: market_study(s, m, days, estimation, windows))
    slow = best(lambda: loop_study(s, m, days, estimation, windows), repeat=1)
    print(f"study, {events} events x {sessions} sessions, 4 windows, 5 tests: {fast:.3f} s (target <= 2 s)")
    print(f"  per-event loop (fit and CARs only, no tests): {slow:.3f} s; ratio {slow / fast:.1f}x")


def large_study(events: int = 10_000, sessions: int = 500) -> None:
    s, m, days, estimation, windows = synthetic(events, sessions)
    inputs = (s.nbytes + m.nbytes) / 1e6
    seconds = best(lambda: market_study(s, m, days, estimation, windows), repeat=2)
    tracemalloc.start()
    market_study(s, m, days, estimation, windows)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"study, {events:,} events x {sessions} sessions, 4 windows, 5 tests: {seconds:.3f} s, "
          f"peak memory {peak:.0f} MB allocated by the study (inputs {inputs:.0f} MB)")


CHILD = """
import sys, time, resource
start = time.perf_counter()
from incident.io.prices import read_prices
from incident.core.errors import IncidentError
try:
    n = len(read_prices(sys.argv[1])); outcome = f"accepted, {n:,} rows"
except IncidentError as exc:
    outcome = f"refused, {len(exc.problems)} problem lines"
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))  # this process only
print(f"{time.perf_counter() - start:.2f} s, peak RSS {peak / 1024:.0f} MB: {outcome}")
"""


def price_file_timings() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "good.csv"  # Yahoo's layout, 1678..2261, to ~50 MB
        days = np.datetime_as_string(np.datetime64("1678-01-01") + np.arange(212_000))
        c = 100 + np.arange(len(days)) % 97 / 7
        cols = [f"{x:.12f}" for x in c]
        good.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(
            f"{d},{v},{v},{v},{v},{v},123456789\n" for d, v in zip(days, cols)), encoding="utf-8")
        bad = Path(tmp) / "bad.csv"  # Date,Close, 2 million rows, a word every 3rd row, ~48 MB
        lines = [f"{2000 + i % 200:04d}-{1 + i % 12:02d}-{1 + i % 28:02d},{'x' if i % 3 == 0 else '123.4567890'}\n"
                 for i in range(2_000_000)]
        bad.write_text("Date,Close\n" + "".join(lines), encoding="utf-8")
        del lines
        for path in (good, bad):
            size = path.stat().st_size / 1e6
            done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True)
            print(f"price file {path.name} ({size:.0f} MB): {done.stdout.strip() or done.stderr.strip()[-300:]}")


if __name__ == "__main__":
    study_timings()
    large_study()
    price_file_timings()
