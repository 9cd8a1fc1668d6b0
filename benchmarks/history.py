"""How the feed import and the history statistics scale with the number of updates.

    .venv/bin/python benchmarks/history.py              # 10k, 100k and 1M updates
    .venv/bin/python benchmarks/history.py --sizes 10000 100000

For each size it writes a synthetic Statuspage feed (about 10 updates per
incident, skewed durations, component transitions and HTML in some bodies),
then, in a fresh Python process so that peak memory is that size's alone,
times the bulk path an analyst runs:

    read_feed (JSON + checks) -> history_table -> duration_stats, share_over, ecdf

and prints one row per size: seconds per step, total, peak resident memory,
and microseconds per update (flat when growth is linear). Target: 1M updates
in 10 s and 2 GB on a 2-core machine.

    .venv/bin/python benchmarks/history.py --import 100000

times instead `incident import statuspage` of a feed of that many updates
(10,000 incidents for 100,000 updates; target ≤ 10 s), and then loading the
folder of incident folders it wrote as a history: first without the folder's
index (target ≤ 10 s for 10,000 incidents), then with it and nothing
changed, then with 10 files changed (docs/history.md, "The index of a folder
of incidents").
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

SIZES = (10_000, 100_000, 1_000_000)
UPDATES_PER_INCIDENT = 10
STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENTS = [("c%02dxyzw1234" % i, name) for i, name in enumerate(
    ["API", "Git Operations", "Actions", "Pages", "Webhooks", "Issues", "Packages", "Codespaces"])]
LEVELS = ("degraded_performance", "partial_outage", "major_outage")


def synthetic_feed(n_updates: int, seed: int = 6) -> dict:
    """A Statuspage feed of about `n_updates` updates, with skewed durations."""
    rng = np.random.default_rng(seed)
    n_incidents = max(1, n_updates // UPDATES_PER_INCIDENT)
    counts = rng.integers(1, 2 * UPDATES_PER_INCIDENT, n_incidents)  # mean ~10
    counts[-1] = max(1, n_updates - int(counts[:-1].sum())) if n_incidents > 1 else n_updates
    # resolution times in minutes: lognormal, median ~50 min, a long tail of days
    minutes = rng.lognormal(np.log(50), 1.2, n_incidents)
    opened = np.datetime64("2015-01-01T00:00:00") + (rng.random(n_incidents) * 3e8).astype("timedelta64[s]")
    incidents = []
    for i in range(n_incidents):
        k = int(counts[i])
        start = opened[i]
        offsets = np.sort(rng.random(k)) * minutes[i] * 60_000
        offsets[0] = 100
        offsets[-1] = minutes[i] * 60_000
        comp = COMPONENTS[i % len(COMPONENTS)]
        level = LEVELS[i % 3]
        updates = []
        for j in range(k):
            at = _stamp(start + np.timedelta64(int(offsets[j]), "ms"))
            status = "resolved" if j == k - 1 else STATUSES[min(j * 3 // max(k - 1, 1), 2)]
            affected = None
            if j == 0:
                affected = [{"code": comp[0], "name": comp[1], "old_status": "operational", "new_status": level}]
            elif j == k - 1:
                affected = [{"code": comp[0], "name": comp[1], "old_status": level, "new_status": "operational"}]
            updates.append({
                "id": f"u{i:07d}x{j:03d}",
                "status": status,
                "body": f"Update {j} on incident {i}.<br />We are looking into elevated error rates.",
                "incident_id": f"i{i:07d}xyz",
                "created_at": at,
                "updated_at": at,
                "display_at": at,
                "affected_components": affected,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            })
        updates.reverse()  # feeds list the newest update first
        incidents.append({
            "id": f"i{i:07d}xyz",
            "name": f"Elevated error rates on {comp[1]}",
            "status": "resolved",
            "created_at": _stamp(start),
            "updated_at": updates[0]["created_at"],
            "monitoring_at": None,
            "resolved_at": updates[0]["created_at"],
            "impact": ("minor", "major", "critical")[i % 3],
            "shortlink": f"https://stspg.io/{i:07d}",
            "started_at": _stamp(start),
            "page_id": "synthetic01",
            "incident_updates": updates,
            "components": [],
        })
    page = {"id": "synthetic01", "name": "Synthetic", "url": "https://status.example.com",
            "time_zone": "Etc/UTC", "updated_at": "2025-01-01T00:00:00.000Z"}
    return {"page": page, "incidents": incidents}


def _stamp(t: np.datetime64) -> str:
    return str(t.astype("datetime64[ms]")) + "Z"


def measure(feed_path: Path) -> dict:
    """Time each step of the bulk path on one feed; peak memory of this process."""
    from incident.analysis.history import duration_stats, ecdf, share_over
    from incident.io.statuspage.history import frames_history
    from incident.io.statuspage import read_feed_frames

    out = {}
    t0 = time.perf_counter()
    frames = read_feed_frames(feed_path)
    t1 = time.perf_counter()
    table = frames_history(*frames)
    t2 = time.perf_counter()
    duration_stats(table, by="page_impact")
    share_over(table, [1, 4, 24])
    ecdf(table["hours_to_resolve"])
    t3 = time.perf_counter()
    out.update(read=t1 - t0, history=t2 - t1, stats=t3 - t2, total=t3 - t0, incidents=len(table), peak_mb=peak_mb())
    return out


def peak_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: since exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES), help="numbers of updates")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child process: one feed
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # child process: write a feed
    parser.add_argument("--import", dest="import_updates", type=int, metavar="UPDATES",
                        help="time the import of a feed of this many updates, and loading its folders")
    args = parser.parse_args(argv)
    if args.import_updates:
        return time_import(args.import_updates)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.write:
        args.write.write_text(json.dumps(synthetic_feed(args.sizes[0])), encoding="utf-8")
        return 0
    header = f"{'updates':>10} {'incidents':>10} {'read s':>8} {'history s':>10} {'stats s':>8} {'total s':>8} {'peak MB':>8} {'µs/update':>10}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"feed-{n}.json"
            # each step in its own process, so that one's memory is not counted in another's peak
            subprocess.run([sys.executable, __file__, "--write", str(path), "--sizes", str(n)], check=True)
            child = subprocess.run([sys.executable, __file__, "--measure", str(path)],
                                   capture_output=True, text=True, check=True)
            r = json.loads(child.stdout)
            path.unlink()
            print(f"{n:>10,} {r['incidents']:>10,} {r['read']:>8.2f} {r['history']:>10.2f} {r['stats']:>8.2f} "
                  f"{r['total']:>8.2f} {r['peak_mb']:>8,.0f} {r['total'] / n * 1e6:>10.2f}", flush=True)
    return 0


def time_import(n_updates: int, changed: int = 10) -> int:
    """`incident import statuspage` of a synthetic feed, then its folders loaded as a history three times.

    First with no index (every file read and validated; the index is written),
    then with nothing changed, then after `changed` files were edited; each
    load a fresh process, Python's start and imports included. Last, the
    mean cost of one incident.yaml (read, validated, its row built), timed
    inside a process without the index.
    """
    with tempfile.TemporaryDirectory() as tmp:
        feed, out = Path(tmp) / "feed.json", Path(tmp) / "incidents"
        subprocess.run([sys.executable, __file__, "--write", str(feed), "--sizes", str(n_updates)], check=True)
        incident = [sys.executable, "-m", "incident"]
        load = [sys.executable, "-c", f"from incident.analysis.history import history_table; history_table({str(out)!r})"]
        _timed("import statuspage", [*incident, "import", "statuspage", str(feed), "-o", str(out)])
        _timed("history of the folders, first load", load)
        _timed("second load, nothing changed", load)
        _edit_incidents(out, changed)
        _timed(f"third load, {changed} files changed", load)
        per_file = [sys.executable, "-c", "import sys, time\nfrom incident.analysis.history import history_table\n"
                    f"t = time.perf_counter(); n = len(history_table({str(out)!r}, index=False))\n"
                    "print((time.perf_counter() - t) / n * 1e3)"]
        ms = float(subprocess.run(per_file, check=True, capture_output=True, text=True).stdout)
        print(f"{'one incident.yaml, in process':<40} {ms:6.2f} ms")
        print(f"{'incidents':<40} {sum(1 for _ in out.iterdir() if _.is_dir()):6,}")
    return 0


def _timed(name: str, cmd: list[str]) -> None:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    print(f"{name:<40} {time.perf_counter() - started:6.2f} s", flush=True)


def _edit_incidents(folder: Path, count: int) -> None:
    """Change the title of `count` incidents spread over the folder, as an analyst's edits would."""
    folders = sorted(p for p in folder.iterdir() if p.is_dir())
    for f in folders[:: max(1, len(folders) // count)][:count]:
        file = f / "incident.yaml"
        file.write_text(file.read_text(encoding="utf-8").replace("\ntitle: ", "\ntitle: Edited, ", 1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
