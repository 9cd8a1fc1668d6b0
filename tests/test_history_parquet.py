"""The history table as Parquet: a round trip keeps every type, bad files are refused, the CLI saves and reads it."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from incident.analysis.history import detect_format, history_table
from incident.cli.history import add_parser
from incident.core.errors import IncidentError
from incident.io.history_parquet import arrow_schema, read_history, write_history
from incident.io.history_schema import combine, history_frame


@pytest.fixture(scope="module")
def both(issre, github):
    return combine([issre, github])


def test_real_histories_round_trip(both, tmp_path):
    path = write_history(both, tmp_path / "history.parquet")
    back = read_history(path)
    pd.testing.assert_frame_equal(back, both)
    assert back.attrs == both.attrs and back.attrs["import_report"]["records"] == 1175
    assert str(back["start"].dtype) == "datetime64[ns, UTC]"
    assert all(type(c) is list for c in back["components"])
    assert back["ttd"].isna().sum() == both["ttd"].isna().sum()  # unknown stays NaN, never 0
    assert pq.read_schema(path).remove_metadata().equals(arrow_schema())
    assert history_table(path).equals(back) and detect_format(path) == "parquet"


def test_edge_values_round_trip(tmp_path):
    table = history_frame({
        "id": ["a", "b", "c"], "components": [["x", "y"], [], ["é 雲"]], "title": [None, "", "t"],
        "start": [pd.Timestamp("2024-01-01T00:00:00.123456789Z"), pd.NaT, pd.Timestamp("1999-12-31T23:59Z")],
        "ttd": [0.0, np.nan, 1e9], "ttr": [np.nan] * 3, "exact": [True, False, True],
    }, 3, {"records": 3, "ttr_missing": 3})
    back = read_history(write_history(table, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, table)
    assert back.loc[0, "start"].nanosecond == 789 and back.loc[0, "ttd"] == 0.0
    empty = history_frame({}, 0)
    pd.testing.assert_frame_equal(read_history(write_history(empty, tmp_path / "e.parquet")), empty)


def test_read_only_some_columns(both, tmp_path):
    path = write_history(both, tmp_path / "h.parquet")
    part = read_history(path, ["ttr", "provider", "components"])
    assert list(part.columns) == ["provider", "components", "ttr"]  # in the table's order
    pd.testing.assert_frame_equal(part, both[["provider", "components", "ttr"]])


def test_write_is_atomic_and_bad_files_are_refused(both, tmp_path):
    path = tmp_path / "h.parquet"
    path.write_bytes(b"old")
    with pytest.raises(IncidentError, match="not a Parquet file"):
        read_history(path)
    with pytest.raises(OSError):
        write_history(both, tmp_path / "no-such-folder" / "h.parquet")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["h.parquet"]
    with pytest.raises(IncidentError, match="no such"):
        read_history(tmp_path / "missing.parquet")
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    with pytest.raises(IncidentError, match="not a regular file"):
        read_history(fifo)  # would block forever if opened
    path.write_bytes(b"PAR1 but truncated")
    with pytest.raises(IncidentError, match="cannot read Parquet"):
        read_history(path)
    pq.write_table(pq.read_table(write_history(both, tmp_path / "ok.parquet")).drop(["ttr"]), path)
    with pytest.raises(IncidentError, match="no column ttr"):
        read_history(path)


def _run(argv, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["history", *argv])
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_cli_saves_and_reads_parquet_on_both_engines(issre_dir, github_file, both, tmp_path, capsys):
    saved = tmp_path / "history.parquet"
    first = json.loads(_run([str(issre_dir), str(github_file), "--save", str(saved), "--json"], capsys))
    pd.testing.assert_frame_equal(read_history(saved), both)
    again = json.loads(_run([str(saved), "--json"], capsys))
    assert again == first  # the saved table gives the same summary, CI included
    sql = json.loads(_run([str(saved), "--json", "--engine", "duckdb", "--by", "provider"], capsys))
    assert sql["n"] == 1174 and sql["ci"]["method"].startswith("binomial order-statistic")
    assert sql["stages"]["ttr"]["median"] == first["stages"]["ttr"]["median"]
    assert "order-statistic" in _run([str(saved), "--engine", "duckdb"], capsys)
