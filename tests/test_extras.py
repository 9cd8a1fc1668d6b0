"""A lighter install: pyarrow and duckdb come with the `history` extra, and their absence is one line.

The commands run in a Python where `import pyarrow` (or `import duckdb`)
fails, as after a plain `pip install incident`: a postmortem validates and
summarises, a folder history is read without its index, and what needs the
extra (a Parquet history, --save, the DuckDB engine) stops with exit status 2
and one line naming the extra.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT, WEIMOB

HINT = "pip install 'incident[history]'"
ISSRE = ROOT / "data" / "history" / "issre22"


def incident_without(modules: tuple[str, ...], *args, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run `incident ARGS` in a Python where importing each of `modules` fails (None in sys.modules)."""
    code = (f"import runpy, sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
            "sys.argv = ['incident', *sys.argv[1:]]\nrunpy.run_module('incident.cli', run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


NO_HISTORY_EXTRA = ("pyarrow", "duckdb", "ibis", "pyspark")


def test_the_history_libraries_are_an_extra_that_the_tests_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {dep.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    assert not names & {"pyarrow", "duckdb", "ibis-framework", "pyspark", "jupyterlab"}
    extras = project["optional-dependencies"]
    assert {d.split(">")[0] for d in extras["history"]} == {"pyarrow", "duckdb", "ibis-framework[duckdb]"}
    assert {d.split(">")[0] for d in extras["spark"]} == {"incident[history]", "pyspark"}
    assert {d.split(">")[0] for d in extras["lab"]} == {"jupyterlab"}
    assert "incident[history,spark]" in extras["test"]  # `make test` installs -e '.[test]'


@pytest.mark.parametrize("args", [["validate", WEIMOB, ROOT / "data" / "okta-2022"], ["summary", WEIMOB]],
                         ids=["validate", "summary"])
def test_a_postmortem_needs_neither_pyarrow_nor_duckdb(args):
    done = incident_without(NO_HISTORY_EXTRA, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_a_folder_history_is_read_without_its_index(tmp_path):
    for name in ("weimob-2020", "gitlab-2017", "okta-2022"):
        shutil.copytree(ROOT / "data" / name, tmp_path / name)
    done = incident_without(NO_HISTORY_EXTRA, "history", "--json", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"n": 3' in done.stdout
    assert not (tmp_path / ".incident-history.parquet").exists()
    done = incident_without(NO_HISTORY_EXTRA, "history", ISSRE)  # a history that is not Parquet needs none
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_parquet_history_without_pyarrow_is_one_line_naming_the_extra(tmp_path):
    from incident.analysis.history import history_table
    from incident.io.history_parquet import write_history

    saved = write_history(history_table(ISSRE), tmp_path / "issre.parquet")
    done = incident_without(NO_HISTORY_EXTRA, "history", saved)
    assert done.returncode == 2
    assert done.stderr == f"error: {saved}: reading Parquet needs pyarrow: {HINT}\n"
    assert done.stdout == ""

    out = tmp_path / "again.parquet"
    done = incident_without(NO_HISTORY_EXTRA, "history", ISSRE, "--save", out)
    assert (done.returncode, done.stderr) == (2, f"error: {out}: writing Parquet needs pyarrow: {HINT}\n")
    assert not out.exists()

    done = incident_without(("duckdb",), "history", saved, "--engine", "duckdb")
    assert (done.returncode, done.stderr) == (2, f"error: {saved}: the DuckDB engine needs duckdb: {HINT}\n")


def test_optional_names_the_extra_and_imports_what_is_there(monkeypatch):
    from incident.core.errors import IncidentError
    from incident.core.extras import available, optional

    assert optional("pyarrow.parquet", "reading Parquet", "x.parquet").__name__ == "pyarrow.parquet"
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(IncidentError) as caught:
        optional("pyarrow.parquet", "reading Parquet", "x.parquet")
    assert str(caught.value) == f"x.parquet: reading Parquet needs pyarrow: {HINT}"
    assert not available("pyarrow.parquet")


def test_the_history_modules_import_without_pyarrow_or_duckdb():
    code = ("import sys\nsys.modules['pyarrow'] = sys.modules['duckdb'] = None\n"
            "import incident.io.history_parquet, incident.analysis.history, incident.analysis.history_engine\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
