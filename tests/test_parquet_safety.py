"""Hostile Parquet histories: one line and exit 2 on either engine, never a traceback; bombs refused from the footer."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, one_line, run_cli
from incident.analysis import history_engine
from incident.analysis.history_engine import choose_engine, history_summary
from incident.core.errors import IncidentError
from incident.io import history_parquet
from incident.io.history_parquet import inspect_history, read_history, to_arrow, write_history
from incident.io.history_schema import history_frame

BOMB_ROWS = 300_000  # a few hundred KB of rows in memory; the budget is lowered below it


def small_history(n: int = 40):
    rng = np.random.default_rng(7)
    return history_frame({
        "id": [f"i{i}" for i in range(n)], "provider": rng.choice(["A", "B"], n).tolist(),
        "components": [["api"]] * n, "ttd": rng.exponential(5, n), "ttm": rng.exponential(30, n),
        "ttr": rng.exponential(60, n)}, n, {"records": n})


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return write_history(small_history(), tmp_path_factory.mktemp("safety") / "good.parquet")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """BOMB_ROWS identical rows: dictionary and run-length encoding make them a few KB on disk."""
    one = to_arrow(small_history(1))
    path = tmp_path_factory.mktemp("bomb") / "bomb.parquet"
    pq.write_table(one.take(pa.array(np.zeros(BOMB_ROWS, dtype=np.int64))), path, row_group_size=100_000)
    assert os.path.getsize(path) < 200_000
    return path


def hostile(good, tmp_path, kind: str):
    data = good.read_bytes()
    path = tmp_path / f"{kind}.parquet"
    footer = struct.unpack("<i", data[-8:-4])[0]
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "bad-footer-magic":
        path.write_bytes(data[:-4] + b"PAR2")
    elif kind == "bad-footer":
        body = bytearray(data)
        for k in range(len(data) - 8 - footer, len(data) - 8, 7):
            body[k] ^= 0xFF
        path.write_bytes(bytes(body))
    elif kind == "bit-flips":  # in the pages only: the footer reads, the values must not
        body = bytearray(data)
        for k in range(40, len(data) - 8 - footer, 53):
            body[k] ^= 0x10
        path.write_bytes(bytes(body))
    elif kind == "wrong-schema":
        pq.write_table(pa.table({"a": [1, 2, 3]}), path)
    elif kind == "string-ttr":
        table = pq.read_table(good)
        i = table.schema.get_field_index("ttr")
        text = pa.array([str(v) for v in table.column("ttr").to_pylist()])
        pq.write_table(table.set_column(i, pa.field("ttr", pa.string()), text), path)
    elif kind.startswith("report"):
        raw = {"report-not-json": b"{not json", "report-not-counts": b'{"records": "many"}',
               "report-list": b"[1, 2]", "report-negative": b'{"records": -3}',
               "report-not-utf8": b'{"\xff": 1}'}[kind]
        table = pq.read_table(good)
        metadata = {**table.schema.metadata, history_parquet.REPORT_KEY: raw}
        pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


KINDS = ["truncated", "bad-footer-magic", "bad-footer", "bit-flips", "wrong-schema", "string-ttr",
         "report-not-json", "report-not-counts", "report-list", "report-negative", "report-not-utf8"]




@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_parquet_is_one_line(good, tmp_path, kind, engine):
    path = hostile(good, tmp_path, kind)
    line = one_line(run_cli("history", path, "--engine", engine, "--json"), path)
    if kind == "string-ttr":
        assert "column ttr is of type string" in line
    if kind.startswith("report"):
        assert "malformed import report" in line


def test_page_checksums_catch_flipped_bits_on_both_engines(good, tmp_path):
    """No number silently wrong: the pages carry CRCs, so a flipped bit is an error, not a value."""
    path = hostile(good, tmp_path, "bit-flips")
    with pytest.raises(IncidentError):
        read_history(path)


def test_string_ttr_is_refused_not_parsed(good, tmp_path):
    with pytest.raises(IncidentError, match="column ttr is of type string"):
        read_history(hostile(good, tmp_path, "string-ttr"))


def test_duckdb_with_bootstrap_is_a_one_line_refusal(good):
    line = one_line(run_cli("history", good, "--engine", "duckdb", "--ci", "bootstrap"))
    assert "--ci rank" in line
    with pytest.raises(ValueError):  # an IncidentError is a ValueError, as the library promised before
        history_summary(good, engine="duckdb", method="bootstrap")


def test_duckdb_errors_become_one_incident_error(good, monkeypatch):
    import duckdb

    from incident.analysis import history_stats

    def fail(files, con, checked=False):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256 KiB")

    monkeypatch.setattr(history_stats, "history_table", fail)
    with pytest.raises(IncidentError, match="INCIDENT_DUCKDB_MEMORY") as caught:
        history_summary(good, engine="duckdb")
    assert len(caught.value.problems) == 1 and caught.value.problems[0].file == str(good)

    def broken(files, con, checked=False):
        raise duckdb.InvalidInputException("Invalid Input Error: something\nwith a second line")

    monkeypatch.setattr(history_stats, "history_table", broken)
    with pytest.raises(IncidentError, match="the DuckDB engine cannot read it: Invalid Input Error: something$"):
        history_summary(good, engine="duckdb")


def test_duckdb_out_of_memory_is_one_line_naming_the_setting(bomb):
    env = {**os.environ, "INCIDENT_DUCKDB_MEMORY": "1MB"}
    done = subprocess.run([sys.executable, "-m", "incident.cli", "history", str(bomb), "--engine", "duckdb",
                           "--by", "provider"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    line = one_line(done, bomb)
    assert "--memory-limit" in line and "INCIDENT_DUCKDB_MEMORY" in line


def test_bad_memory_setting_is_one_line(good):
    env = {**os.environ, "INCIDENT_DUCKDB_MEMORY": "lots"}
    done = subprocess.run([sys.executable, "-m", "incident.cli", "history", str(good), "--engine", "duckdb"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert "INCIDENT_DUCKDB_MEMORY" in one_line(done)


# -- the decompression bomb ------------------------------------------------------------
def test_bomb_is_refused_from_the_footer_before_reading(bomb, monkeypatch):
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_ROWS", BOMB_ROWS - 1)

    def never(*args, **kwargs):
        raise AssertionError("the rows were read")

    monkeypatch.setattr(pq.ParquetFile, "read", never)
    monkeypatch.setattr(pq, "read_table", never)
    info = inspect_history(bomb)
    assert info.rows == BOMB_ROWS and not info.fits_in_memory()
    with pytest.raises(IncidentError, match=f"{BOMB_ROWS:,} rows .* more than the pandas engine holds"):
        read_history(bomb)


def test_bytes_budget_counts_too(bomb, monkeypatch):
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_BYTES", 1000)
    assert not inspect_history(bomb).fits_in_memory()
    assert inspect_history(bomb, ["ttr"]).nbytes < inspect_history(bomb).nbytes


def test_engine_choice(bomb, good, monkeypatch):
    assert choose_engine([str(good)]) == ("pandas", None)
    assert choose_engine([str(bomb)], engine="duckdb") == ("duckdb", None)
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_ROWS", BOMB_ROWS - 1)
    engine, note = choose_engine([str(bomb)])
    assert engine == "duckdb" and note.startswith(f"{BOMB_ROWS:,} rows: using the DuckDB engine")
    # two files each within the budget, together over it
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_ROWS", BOMB_ROWS + 10)
    assert choose_engine([str(bomb), str(good)])[0] == "duckdb"
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_ROWS", BOMB_ROWS - 1)
    with pytest.raises(IncidentError, match="bootstrap CI needs the values in memory"):
        choose_engine([str(bomb)], ci="bootstrap")
    with pytest.raises(IncidentError, match="--save builds the table in memory"):
        choose_engine([str(bomb)], save="out.parquet")
    # within the budget but above BOOTSTRAP_MAX_RECORDS: DuckDB over the files, unless the table must be in memory
    monkeypatch.setattr(history_parquet, "MAX_MEMORY_ROWS", BOMB_ROWS * 10)
    monkeypatch.setattr(history_engine, "BOOTSTRAP_MAX_RECORDS", BOMB_ROWS - 1)
    engine, note = choose_engine([str(bomb)])
    assert engine == "duckdb" and note == f"{BOMB_ROWS:,} rows: using the DuckDB engine over the files (median CI by rank)"
    assert choose_engine([str(bomb)], ci="bootstrap") == choose_engine([str(bomb)], save="x.parquet") == ("pandas", None)
    assert choose_engine([str(bomb), str(ROOT / "data" / "history" / "issre22")]) == ("pandas", None)  # not all Parquet
    monkeypatch.setattr(history_engine, "BOOTSTRAP_MAX_RECORDS", BOMB_ROWS)
    assert choose_engine([str(bomb)]) == ("pandas", None)


def cli_with_budget(rows: int, *args):
    """`incident ARGS` in a new process whose pandas budget is `rows` (the real one needs millions of rows)."""
    code = ("import sys; import incident.io.history_parquet as h; h.MAX_MEMORY_ROWS = int(sys.argv[1]); "
            "from incident.cli import main; sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, str(rows), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_bomb_goes_to_duckdb_with_a_note(bomb):
    done = cli_with_budget(BOMB_ROWS - 1, "history", bomb, "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"note: {BOMB_ROWS:,} rows: using the DuckDB engine (median CI by rank)"
    summary = json.loads(done.stdout)
    assert summary["n"] == BOMB_ROWS and summary["ci"]["method"].startswith("binomial")


@pytest.mark.parametrize("extra", [["--ci", "bootstrap"], ["--save", "SAVE"]])
def test_bomb_that_duckdb_cannot_take_is_one_line(bomb, tmp_path, extra):
    extra = [str(tmp_path / "out.parquet") if e == "SAVE" else e for e in extra]
    one_line(cli_with_budget(BOMB_ROWS - 1, "history", bomb, *extra), bomb)
    assert not (tmp_path / "out.parquet").exists()


def test_real_budget_is_a_few_million_rows():
    assert 1_000_000 <= history_parquet.MAX_MEMORY_ROWS <= 10_000_000
