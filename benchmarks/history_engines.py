"""The history statistics on the three engines of `incident history`: pandas, DuckDB and Spark.

    python benchmarks/history_engines.py                            # 1M and 10M incidents
    python benchmarks/history_engines.py --sizes 1e6 --dir /tmp/h   # keep (and reuse) the Parquet files

Needs the spark extra (pyspark) and a Java runtime for Spark; an engine that
cannot run is reported as failed.

For each size it writes a synthetic history as Parquet with
`history_scale.write_synthetic` (lognormal stages with some unknown, tta
included, 5 providers, 50 components, ten years of starts). Then, in a fresh
child process per engine and size, it runs what `incident history` runs, as
history_scale.py does: `history_engine.history_summary` overall and by
provider, component and quarter, median CI by rank, 2 threads:

- pandas: the table read into memory by pandas, the ibis expressions run on it
  by DuckDB in the process (refused above its budget, 5M rows);
- duckdb: the same expressions on DuckDB over the file, memory limit 2GB up to 1M rows, 500MB above;
- spark: the same expressions on Spark in local mode (local[2]), driver memory --spark-memory.

The time is the child's wall time from its start (imports, and Spark's JVM,
included: what a user waits for). The peak memory is the largest sum of the
resident memory of the child and its descendants (Spark's JVM is one),
sampled every 50 ms with psutil: a sample can miss a short peak by a little.
Each row gives its ratios of time and memory to the baseline run of the same
size, side by side: pandas where it runs, else DuckDB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history_scale import BY, write_synthetic  # noqa: E402

SIZES = (1_000_000, 10_000_000)
ENGINES = ("pandas", "duckdb", "spark")
SAMPLE_SECONDS = 0.05


def run(engine: str, path: Path, memory: str, spark_memory: str) -> int:
    """The child: run the analysis once on `engine`; print the number of incidents as JSON."""
    from incident.analysis.history_engine import history_summary

    limit = {"pandas": None, "duckdb": memory, "spark": spark_memory}[engine]
    n = [history_summary(str(path), by=by, engine=engine, method="rank", memory_limit=limit, threads=2)["n"]
         for by in BY][0]
    print(json.dumps({"n": n}))
    return 0


def tree_rss(process) -> int:
    """Resident bytes of `process` and all its descendants (0 for those that ended meanwhile)."""
    import psutil

    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(engine: str, path: Path, memory: str, spark_memory: str, timeout: float) -> dict:
    """Run a child for `engine`; its wall seconds and peak tree RSS (MB), or why it failed.

    A child still running after `timeout` seconds is ended with its descendants."""
    import psutil

    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        child = subprocess.Popen([sys.executable, __file__, "--run", engine, str(path), memory, spark_memory],
                                 stdout=out_file, stderr=err_file, text=True)
        process, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            peak = max(peak, tree_rss(process))
            if time.perf_counter() - t0 > timeout:
                for p in [*process.children(recursive=True), process]:
                    try:
                        p.kill()
                    except psutil.Error:
                        pass
                child.wait()
                return {"error": f"stopped after {timeout:.0f} s (peak so far {peak / 1e6:,.0f} MB)"}
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - t0
        out_file.seek(0), err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if child.returncode:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        return {"error": lines[-1][:100] if lines else f"exit {child.returncode}"}
    return {"n": json.loads(out.strip().splitlines()[-1])["n"], "seconds": seconds, "peak_mb": peak / 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="numbers of incidents (1e6,1e7)")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"some of {','.join(ENGINES)}")
    parser.add_argument("--dir", type=Path, help="keep the Parquet files here (and reuse them)")
    parser.add_argument("--spark-memory", default="4g", help="Spark's driver memory in local mode")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a run is stopped")
    parser.add_argument("--run", nargs=4, metavar=("ENGINE", "FILE", "MEMORY", "SPARK_MEMORY"),
                        help=argparse.SUPPRESS)  # child
    args = parser.parse_args(argv)
    if args.run:
        return run(args.run[0], Path(args.run[1]), args.run[2], args.run[3])
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="incident-engines-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        header = f"{'incidents':>11} {'engine':>12} {'memory cap':>10} {'seconds':>8} {'peak MB':>8} {'× time':>7} {'× memory':>8}"
        print(header)
        print("-" * len(header), flush=True)
        for n in sizes:
            path = folder / f"history-{n}.parquet"
            if not path.exists():
                write_synthetic(path, n)
            memory = "2GB" if n <= 1_000_000 else "500MB"
            results: dict[str, dict] = {}
            for engine in engines:  # pandas first: the baseline, where it runs
                cap = {"duckdb": memory, "spark": args.spark_memory}.get(engine, "-")
                r = results[engine] = measure(engine, path, memory, args.spark_memory, args.timeout)
                if "error" in r:
                    print(f"{n:>11,} {engine:>12} {cap:>10}   failed: {r['error']}", flush=True)
                    continue
                base = next((results[e] for e in ENGINES if "seconds" in results.get(e, {})), {})
                ratio = (f"{r['seconds'] / base['seconds']:>7.2f} {r['peak_mb'] / base['peak_mb']:>8.2f}"
                         if "seconds" in base else f"{'-':>7} {'-':>8}")
                print(f"{n:>11,} {engine:>12} {cap:>10} {r['seconds']:>8.1f} {r['peak_mb']:>8,.0f} {ratio}", flush=True)
            if not args.dir:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
