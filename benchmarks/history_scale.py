"""How the history statistics scale: pandas in memory against DuckDB over Parquet.

    .venv/bin/python benchmarks/history_scale.py                      # 1M and 10M incidents
    .venv/bin/python benchmarks/history_scale.py --sizes 1e6,1e7,5e7  # and 50M (a few minutes)

For each size it writes a synthetic history (the columns of the history
table: lognormal stage minutes with some unknown, 5 providers, 50 components,
starts over 10 years) as Parquet, in row groups of a million generated one at
a time, so that generating 50M incidents takes no more memory than one chunk.

Then, in a fresh Python process per engine and size, so that the peak
resident memory (getrusage ru_maxrss) is that run's alone, it times the same
analysis on each engine: `history_summary` overall and by provider, component
and quarter (counts, mean, std, median, p90, within-target shares, median CI).

- pandas: read the columns it needs into memory, then compute;
- duckdb: SQL over the Parquet file, memory_limit 2GB, 2 threads;
both with the same median CI (method="rank", the order-statistic interval),
so that the engines, not two CI methods, are compared. (pandas' default
bootstrap CI costs more with many mid-sized groups: docs/history.md.)

It prints one row per size and engine, with the time and memory ratios to the
first size measured in the same run. Targets: pandas within 10 s and 2 GB at
1M; DuckDB through 50M on 2 cores and 24 GB without running out of memory.
pandas is not run above --pandas-max (default 10M): beyond, it needs far more
than the 2 GB budget (see docs/history.md) and would only measure the swap.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from incident.io.history_parquet import arrow_schema, from_arrow

SIZES = (1_000_000, 10_000_000)
CHUNK = 1_000_000
PROVIDERS = ["Azure", "Google", "AWS", "GitHub", "Cloudflare"]
COMPONENTS = [f"component-{i:02d}" for i in range(50)]
TITLES = [f"Elevated error rates on {c}" for c in COMPONENTS[:20]]
IMPACTS = ["minor", "major", "critical"]
ROOT_CAUSES = [("internal causes", "software bugs"), ("internal causes", "configuration"),
               ("external causes", "power"), ("external causes", None), (None, None)]
MITIGATIONS = ["rollback", "restart", "add capacity", "fix or hotfix", None]
DETECTIONS = ["automated", "manual", None]
# median minutes (lognormal sigma 1.3) and share unknown, per stage
STAGE_LAWS = {"ttd": (8, 0.6), "tta": (4, 0.8), "tti": (30, 0.7), "ttm": (90, 0.5), "ttr": (180, 0.02)}
START = np.datetime64("2015-01-01T00:00:00", "ns").astype(np.int64)
TEN_YEARS_NS = int(10 * 365.25 * 86400 * 1e9)
BY = (None, "provider", "component", "quarter")


def synthetic_chunk(n: int, offset: int = 0, seed: int = 16) -> pa.Table:
    """`n` synthetic incidents as an Arrow table of `arrow_schema()`; ids from `offset`."""
    rng = np.random.default_rng([seed, offset])

    def pick(values, p=None):
        idx = rng.choice(len(values), size=n, p=p)
        return pc.take(pa.array(values, type=pa.string()), pa.array(idx))

    ids = pc.binary_join_element_wise("syn-", pc.cast(pa.array(np.arange(offset, offset + n)), pa.string()), "")
    provider = pick(PROVIDERS, [0.4, 0.25, 0.15, 0.15, 0.05])
    cause = rng.integers(0, len(ROOT_CAUSES), n)
    counts = rng.choice(4, size=n, p=[0.2, 0.5, 0.2, 0.1])  # components per incident, 0 to 3
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    components = pa.ListArray.from_arrays(pa.array(offsets), pick_n(rng, COMPONENTS, int(offsets[-1])))
    start = START + rng.integers(0, TEN_YEARS_NS, n)
    cols = {
        "id": ids, "source": pa.array(np.full(n, "synthetic", dtype=object), pa.string()), "provider": provider,
        "page": provider, "components": components, "title": pick(TITLES), "impact": pick(IMPACTS),
        "page_impact": pick(IMPACTS),
        "root_cause_l1": pa.array([ROOT_CAUSES[i][0] for i in range(len(ROOT_CAUSES))], pa.string()).take(cause),
        "root_cause_l2": pa.array([ROOT_CAUSES[i][1] for i in range(len(ROOT_CAUSES))], pa.string()).take(cause),
        "mitigation": pick(MITIGATIONS), "detection": pick(DETECTIONS),
        "mitigation_actions": pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string())),
        "start": pa.array(start, pa.timestamp("ns", tz="UTC")),
        "exact": pa.array(rng.random(n) < 0.8), "stage_flag": pa.nulls(n, pa.string()),
    }
    for stage, (median, unknown) in STAGE_LAWS.items():
        minutes = rng.lognormal(np.log(median), 1.3, n)
        minutes[rng.random(n) < unknown] = np.nan
        cols[stage] = pa.array(minutes, from_pandas=True)
    for point, stage in (("detected", "ttd"), ("acknowledged", "tta"), ("mitigated", "ttm"), ("resolved", "ttr")):
        minutes = cols[stage].to_numpy(zero_copy_only=False)
        at = start + np.nan_to_num(minutes * 60e9).astype(np.int64)
        cols[point] = pa.array(at, pa.timestamp("ns", tz="UTC"), mask=np.isnan(minutes))
    for column, stage in (("hours_to_detect", "ttd"), ("hours_to_mitigate", "ttm"), ("hours_to_resolve", "ttr")):
        cols[column] = pc.divide(cols[stage], 60.0)
    schema = arrow_schema()
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def pick_n(rng, values, n: int) -> pa.Array:
    return pc.take(pa.array(values, type=pa.string()), pa.array(rng.integers(0, len(values), n)))


def synthetic_history(n: int, seed: int = 16):
    """`n` synthetic incidents as a pandas history table (for tests)."""
    return from_arrow(synthetic_chunk(n, 0, seed))


def write_synthetic(path: Path, n: int, chunk: int = CHUNK, seed: int = 16) -> Path:
    """Write `n` synthetic incidents to `path` as Parquet, one row group per generated chunk."""
    part = path.with_name(path.name + ".part")  # a run killed mid-way leaves no file to reuse
    with pq.ParquetWriter(part, arrow_schema(), compression="zstd") as writer:
        for offset in range(0, n, chunk):
            writer.write_table(synthetic_chunk(min(chunk, n - offset), offset, seed), row_group_size=chunk)
    return part.replace(path)


def measure(engine: str, path: Path) -> dict:
    """Run the benchmark's analysis once on `engine`; seconds and this process's peak memory."""
    from incident.analysis.history_engine import COVERAGE_COLUMNS, columns_for, history_summary, load_history

    t0 = time.perf_counter()
    settings = {}
    if engine == "pandas":
        columns = sorted({c for by in BY for c in columns_for(by)} | set(COVERAGE_COLUMNS))
        source = load_history(path, columns)
    else:
        source = str(path)
        settings = {"memory_limit": "2GB", "threads": 2}  # the cap and cores the docs' figures were measured with
    t1 = time.perf_counter()
    n = [history_summary(source, by=by, engine=engine, method="rank", **settings)["n"] for by in BY][0]
    t2 = time.perf_counter()
    return {"n": n, "load": t1 - t0, "analysis": t2 - t1, "total": t2 - t0,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="numbers of incidents, comma-separated (1e6,1e7,5e7)")
    parser.add_argument("--pandas-max", type=float, default=1e7, help="largest size to run pandas on")
    parser.add_argument("--dir", type=Path, help="keep the Parquet files here (and reuse them)")
    parser.add_argument("--measure", nargs=2, metavar=("ENGINE", "FILE"), help=argparse.SUPPRESS)  # child
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="incident-scale-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        header = (f"{'incidents':>12} {'engine':>7} {'write s':>8} {'file MB':>8} {'load s':>7} {'stats s':>8} "
                  f"{'total s':>8} {'peak MB':>8} {'× time':>7} {'× memory':>8}")
        print(header)
        print("-" * len(header), flush=True)
        first: dict[str, dict] = {}
        for n in sizes:
            path = folder / f"history-{n}.parquet"
            t0 = time.perf_counter()
            if not path.exists():
                write_synthetic(path, n)
            written = time.perf_counter() - t0
            for engine in ("pandas", "duckdb"):
                if engine == "pandas" and n > args.pandas_max:
                    print(f"{n:>12,} {engine:>7}   not run: above --pandas-max {args.pandas_max:,.0f}", flush=True)
                    continue
                child = subprocess.run([sys.executable, __file__, "--measure", engine, str(path)],
                                       capture_output=True, text=True)
                if child.returncode:
                    print(f"{n:>12,} {engine:>7}   failed: {child.stderr.strip().splitlines()[-1:]}", flush=True)
                    continue
                r = json.loads(child.stdout)
                base = first.setdefault(engine, r)
                print(f"{n:>12,} {engine:>7} {written:>8.1f} {path.stat().st_size / 1e6:>8,.0f} {r['load']:>7.2f} "
                      f"{r['analysis']:>8.2f} {r['total']:>8.2f} {r['peak_mb']:>8,.0f} "
                      f"{r['total'] / base['total']:>7.1f} {r['peak_mb'] / base['peak_mb']:>8.1f}", flush=True)
            if not args.dir:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
