"""Issue 21: nothing lost, never a traceback, on the newer surfaces (imports and history readers).

An import is published whole or not at all; an import never writes a file the
reader refuses; every reader stops at MAX_PROBLEMS lines; JSON Lines are read
a line at a time and split on b"\\n" only; deep nesting and impossible times
are one line; a duration that ends before its start is counted and left out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import ROOT, run_cli
from incident.analysis.history import history_table, incident_folders
from incident.core.errors import MAX_PROBLEMS, IncidentError
from incident.io import files
from incident.io.github_status import github_status_lines
from incident.io.statuspage import import_statuspage
from incident.io.statuspage import importer

POSIX = os.name == "posix"


def feed_of(n: int, page: str = "Example", body: str = "Fixed.") -> dict:
    def incident(i):
        at = f"2024-05-01T{i % 24:02d}:{i % 60:02d}:00.000Z"
        return {"id": f"inc{i}", "name": f"Incident {i}", "status": "resolved", "impact": "minor", "created_at": at,
                "incident_updates": [{"id": f"u{i}", "status": "resolved", "body": body, "created_at": at}]}

    return {"page": {"name": page, "time_zone": "Etc/UTC"}, "incidents": [incident(i) for i in range(n)]}


def write_json(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def one_line_exit_2(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- 1. an import is all or none, even when killed -----------------------------------------
HANG = """
import sys, time
from incident.io.statuspage import importer
real = importer.{name}
calls = []
def hang(*args, **kwargs):
    calls.append(1)
    if len(calls) > {after}:
        print("hanging", flush=True)
        time.sleep(600)
    return real(*args, **kwargs)
importer.{name} = hang
from incident.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_until_killed(tmp_path, name: str, after: int, *args):
    """Run an import that hangs in `importer.<name>` after `after` calls, then SIGKILL it."""
    script = tmp_path / "hang.py"
    script.write_text(textwrap.dedent(HANG.format(name=name, after=after)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), "import", "statuspage", *map(str, args)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "hanging", proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    return proc.pid


@pytest.mark.skipif(not POSIX, reason="SIGKILL and pid liveness")
def test_a_killed_import_into_a_new_folder_leaves_nothing_and_a_rerun_succeeds(tmp_path):
    feed = write_json(tmp_path / "feed.json", feed_of(40))
    out = tmp_path / "out"
    # killed after every file is staged, just before the one rename that publishes them
    run_until_killed(tmp_path, "flush_to_disk", 0, feed, "-o", out)
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".incident-staging.")]
    assert len(staged) == 1 and len(list((staged[0] / "out").iterdir())) == 40
    assert not out.exists()  # nothing in -o: `history` counts nothing, a rerun finds nothing in the way
    rerun = run_cli("import", "statuspage", feed, "-o", out)
    assert rerun.returncode == 0, rerun.stderr
    assert len(incident_folders(out)) == 40
    assert not staged[0].exists()  # the dead owner's staging folder went, young as it is


@pytest.mark.skipif(not POSIX, reason="SIGKILL and pid liveness")
def test_a_killed_import_into_a_folder_of_incidents_is_not_counted_and_is_rolled_back(tmp_path):
    out = tmp_path / "out"
    import_statuspage(write_json(tmp_path / "old.json", feed_of(2, page="Old")), out)
    before = sorted(p.name for p in out.iterdir())
    feed = write_json(tmp_path / "feed.json", feed_of(30))
    # killed after 10 of the 30 new folders were moved into -o
    run_until_killed(tmp_path, "_move", 10, feed, "-o", out)
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 12
    assert len(incident_folders(out)) == 2  # the history does not count an unfinished import
    assert len(history_table(out, index=False)) == 2
    rerun = run_cli("import", "statuspage", feed, "-o", out)  # no "already exists"
    assert rerun.returncode == 0, rerun.stderr
    assert len(incident_folders(out)) == 32
    assert not [p for p in out.iterdir() if p.name.startswith(".incident-") and p.name not in before]


@pytest.mark.skipif(not POSIX, reason="pid liveness")
def test_a_staging_folder_of_a_live_process_is_kept_and_of_a_dead_one_removed(tmp_path):
    live = files.owned_staging_folder(tmp_path)  # this process
    dead = files.staging_folder(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (dead / files.OWNER_FILE).write_text(f"{proc.pid}\n{__import__('socket').gethostname()}\n")
    unknown = files.staging_folder(tmp_path)  # no owner recorded: only by age
    assert files.remove_abandoned(tmp_path) == [dead]
    assert live.exists() and unknown.exists()
    old = time.time() - files.STALE_SECONDS - 10
    os.utime(unknown, (old, old))
    assert files.remove_abandoned(tmp_path) == [unknown]


def test_a_failure_part_way_into_a_folder_of_incidents_undoes_everything(tmp_path, monkeypatch):
    out = tmp_path / "out"
    import_statuspage(write_json(tmp_path / "old.json", feed_of(2, page="Old")), out)
    before = sorted(p.name for p in out.iterdir())
    calls = []
    real = importer._move

    def fail_later(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise OSError(28, "No space left on device", str(dst))
        real(src, dst)

    monkeypatch.setattr(importer, "_move", fail_later)
    with pytest.raises(IncidentError, match="nothing was imported"):
        import_statuspage(write_json(tmp_path / "feed.json", feed_of(10)), out)
    assert sorted(p.name for p in out.iterdir()) == before


# -- 2. an import writes no file the reader refuses -------------------------------------
def test_an_incident_too_large_for_its_file_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_BYTES", 2_000)
    feed = feed_of(3)
    feed["incidents"][1]["incident_updates"][0]["body"] = "x" * 5_000
    with pytest.raises(IncidentError) as info:
        import_statuspage(write_json(tmp_path / "feed.json", feed), tmp_path / "out")
    (problem,) = info.value.problems
    assert "example-2024-05-01-inc1" in str(problem) and "over the limit" in str(problem)
    assert not (tmp_path / "out").exists()


# -- 3. at most MAX_PROBLEMS lines, whatever the reader -----------------------------------
def test_a_jsonl_of_broken_lines_gives_at_most_max_problems_lines(tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text("{not json\n" * 5_000, encoding="utf-8")
    result = run_cli("history", bad, "--format", "github")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == MAX_PROBLEMS


def test_a_record_with_many_bad_updates_is_capped_too():
    rec = {"id": 1, "started_at": "2024-01-01T00:00:00Z", "updates": [1] * 10_000}
    with pytest.raises(IncidentError) as info:
        github_status_lines([(1, json.dumps(rec).encode())])
    assert len(info.value.problems) == MAX_PROBLEMS


def test_issre_files_give_at_most_max_problems_lines(tmp_path):
    data = {f"azure-{i}": {"time": "bad", "title": 1} for i in range(500)}
    result = run_cli("history", write_json(tmp_path / "azure.json", data), "--format", "issre")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == MAX_PROBLEMS


def test_an_import_of_a_feed_with_many_bad_incidents_is_capped(tmp_path):
    out = tmp_path / "out"
    import_statuspage(write_json(tmp_path / "feed.json", feed_of(200)), out)
    result = run_cli("import", "statuspage", tmp_path / "feed.json", "-o", out)  # 200 "already exists"
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == MAX_PROBLEMS


# -- 4. JSON Lines are streamed and split on b"\n" only ----------------------------------
GOOD = {"id": 7, "started_at": "2024-01-01T00:00:00Z", "resolved_at": "2024-01-01T01:00:00Z",
        "title": "a\u2028b\x85c", "updates": [{"at": "2024-01-01T01:00:00Z", "status": "resolved",
                                                 "message": "line\u2028separator"}]}


def test_a_raw_line_separator_inside_a_string_is_text(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(GOOD, ensure_ascii=False) + "\r\n").encode() * 2)
    table = history_table(path, format="github")
    assert len(table) == 2 and table["title"][0] == "a\u2028b\x85c"
    assert table["ttr"].tolist() == [60.0, 60.0]


class OnlySmallReads:
    """A binary stream that refuses to be read whole."""

    def __init__(self, data: bytes):
        self.data, self.at, self.sizes = data, 0, []

    def read(self, n: int = -1) -> bytes:
        assert n is not None and 0 < n <= 1 << 20, "read whole"
        self.sizes.append(n)
        out = self.data[self.at:self.at + n]
        self.at += len(out)
        return out


def test_lines_are_read_a_chunk_at_a_time():
    stream = OnlySmallReads(b"a\nbb\r\n\xe2\x80\xa8c\nlast")
    assert list(files.split_lines(stream, chunk=3)) == [(1, b"a"), (2, b"bb"), (3, b"\xe2\x80\xa8c"), (4, b"last")]
    assert len(stream.sizes) > 3


def test_the_github_reader_consumes_lines_one_at_a_time():
    consumed = []

    def lines():
        for number in range(1, 4):
            consumed.append(number)
            yield number, json.dumps({**GOOD, "id": number}).encode()

    table = github_status_lines(lines())
    assert consumed == [1, 2, 3] and len(table) == 3


# -- 5. no traceback -----------------------------------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_jsonl_is_one_line(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + DEEP + "\n", encoding="utf-8")
    one_line_exit_2(run_cli("history", path, "--format", "github"), str(path), "nested too deeply")


def test_deeply_nested_json_in_format_detection_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(DEEP, encoding="utf-8")
    one_line_exit_2(run_cli("history", path), str(path))


def test_deeply_nested_issre_file_is_one_line(tmp_path):
    path = tmp_path / "azure.json"
    path.write_text('{"a": ' + DEEP + "}", encoding="utf-8")
    one_line_exit_2(run_cli("history", path, "--format", "issre"), str(path), "nested too deeply")


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_github_times_in_year_1_or_9999_are_one_line(tmp_path, stamp):
    path = tmp_path / "history.jsonl"
    rec = {**GOOD, "started_at": stamp, "updates": [{"at": stamp, "status": "resolved"}]}
    path.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    one_line_exit_2(run_cli("history", path, "--format", "github"), str(path), "started_at", "outside the years")


@pytest.mark.parametrize("day", ["31/31/2020", "02/30/2021", "01/01/0000"])
def test_issre_impossible_dates_are_one_line_naming_file_and_record(tmp_path, day):
    path = write_json(tmp_path / "azure.json", {"azure-1": {"time": day, "title": "t"}})
    one_line_exit_2(run_cli("history", path, "--format", "issre"), str(path), "azure-1.time", "not a real date")


# -- 6. durations that end before they start ---------------------------------------------
def test_github_negative_duration_is_counted_and_left_out(tmp_path):
    path = tmp_path / "history.jsonl"
    bad = {**GOOD, "id": 2, "resolved_at": "2023-12-31T00:00:00Z"}
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    table = history_table(path, format="github")
    assert table["ttr"].tolist()[0] == 60.0 and np.isnan(table["ttr"][1]) and np.isnan(table["hours_to_resolve"][1])
    assert table.attrs["import_report"]["ttr_negative"] == 1


def test_issre_negative_duration_is_counted_and_left_out(tmp_path):
    path = write_json(tmp_path / "azure.json", {"azure-1": {"time": "01/02/2020", "duration": -1440},
                                                "azure-2": {"time": "01/02/2020", "duration": 30}})
    table = history_table(path, format="issre")
    assert np.isnan(table["ttr"][0]) and table["ttr"][1] == 30
    assert table.attrs["import_report"]["ttr_negative"] == 1


def test_statuspage_negative_duration_is_counted_and_left_out(tmp_path):
    feed = feed_of(2)
    feed["incidents"][1]["started_at"] = "2024-05-02T00:00:00.000Z"  # after its resolution
    table = history_table(write_json(tmp_path / "feed.json", feed), format="statuspage")
    assert table["ttr"].notna().sum() == 1 and (table["ttr"].dropna() >= 0).all()
    assert table.attrs["import_report"]["ttr_negative"] == 1


def test_incident_folders_negative_duration_is_counted_and_left_out(tmp_path, monkeypatch):
    # validation refuses a recovery before the start; should a row still come out negative
    # (a stage measured from another milestone), the folder's history counts and drops it,
    # whether the row is built now or read back from the folder's index
    from incident.analysis import history

    out = tmp_path / "out"
    import_statuspage(write_json(tmp_path / "feed.json", feed_of(2)), out)
    real = history._incident_row

    def negative(inc):
        row = real(inc)
        if inc.id.endswith("inc1"):
            row.update(ttm=-1440.0, hours_to_mitigate=-24.0)
        return row

    monkeypatch.setattr(history, "_incident_row", negative)
    for _ in range(2):
        table = history_table(out)
        assert table["ttm"].isna().sum() >= 1 and not (table["ttm"] < 0).any()
        assert not (table["hours_to_mitigate"] < 0).any()
        assert table.attrs["import_report"]["ttm_negative"] == 1
