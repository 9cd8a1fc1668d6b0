"""DuckDB's memory limit and threads as options (issue 24): --memory-limit, --threads, their environment
variables, a default from the machine's memory, and running out of memory as one line, exit 2."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT, history_scale, one_line, run_cli
from incident.analysis import history_engine as engine
from incident.core.errors import IncidentError

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """200,000 synthetic incidents as Parquet (benchmarks/history_scale.py's generator)."""
    return history_scale().write_synthetic(tmp_path_factory.mktemp("oom") / "synthetic.parquet", 200_000, chunk=100_000)


def cli(*args, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "incident.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_settings_from_arguments_then_environment_then_machine(monkeypatch):
    monkeypatch.delenv(engine.MEMORY_SETTING, raising=False)
    monkeypatch.delenv(engine.THREADS_SETTING, raising=False)
    memory, threads = engine.duckdb_settings()
    total = engine.physical_memory()
    assert total and memory == f"{int(total * engine.MEMORY_FRACTION) // 1_000_000}MB"
    assert threads == (os.cpu_count() or engine.THREADS)
    monkeypatch.setenv(engine.MEMORY_SETTING, "3GB")
    monkeypatch.setenv(engine.THREADS_SETTING, "1")
    assert engine.duckdb_settings() == ("3GB", 1)
    assert engine.duckdb_settings("500MB", 2) == ("500MB", 2)  # the options win over the environment
    for bad in ("0", "-1", "two"):
        with pytest.raises(IncidentError, match=engine.THREADS_OPTION):
            engine.duckdb_settings(threads=bad)


def test_memory_without_sysconf_uses_psutil_else_a_fixed_default(monkeypatch):
    psutil = None
    if importlib.util.find_spec("psutil"):
        import psutil  # before sysconf goes: psutil's Linux module reads it when imported
    monkeypatch.delattr(os, "sysconf", raising=False)  # as on Windows
    if psutil is not None:
        assert engine.physical_memory() == psutil.virtual_memory().total
    monkeypatch.setattr(engine, "available", lambda name: False)  # no psutil either
    assert engine.physical_memory() is None and engine.default_memory_limit() == engine.MEMORY_LIMIT


def test_connection_applies_the_settings():
    con = engine._connect("duckdb", "300MB", 1, "<test>")
    try:
        raw = con.con  # the DuckDB connection under ibis
        assert raw.execute("SELECT current_setting('threads')").fetchone()[0] == 1
        limit = raw.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert limit.endswith(("MB", "MiB")) and 250 <= float(limit.split()[0]) <= 300
    finally:
        con.disconnect()


def test_out_of_memory_is_one_line_naming_the_option(synthetic):
    done = run_cli("history", synthetic, "--engine", "duckdb", "--by", "component", "--memory-limit", "1MB",
                   timeout=300)
    line = one_line(done, synthetic, "ran out of memory", "1MB", "--memory-limit", engine.MEMORY_SETTING)
    assert "OutOfMemoryException" not in line
    done = cli("history", synthetic, "--engine", "duckdb", "--by", "component", env={engine.MEMORY_SETTING: "1MB"})
    one_line(done, "ran out of memory", "--memory-limit")
    done = run_cli("history", synthetic, "--engine", "duckdb", "--by", "component", "--memory-limit", "1GB",
                   "--threads", "1", "--json", timeout=300)
    assert done.returncode == 0 and '"n": 200000' in done.stdout


def test_bad_limits_are_one_line(synthetic):
    one_line(run_cli("history", synthetic, "--engine", "duckdb", "--memory-limit", "lots"), "lots", "--memory-limit")
    one_line(run_cli("history", synthetic, "--engine", "duckdb", "--threads", "0"), "--threads", "'0'")
    one_line(cli("history", synthetic, "--engine", "duckdb", env={engine.THREADS_SETTING: "many"}),
             engine.THREADS_SETTING, "many")
