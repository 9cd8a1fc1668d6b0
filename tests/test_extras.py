"""What a plain `pip install incident` brings, what the extras add, and a missing extra as one line.

Postmortems and histories need only the core dependencies (the history
statistics run on DuckDB through ibis, Parquet through pyarrow); the Spark
engine needs the `spark` extra. The commands run in a Python where some
imports fail (None in sys.modules): a postmortem does not even import the
history libraries, and the Spark engine without pyspark stops with exit
status 2 and one line naming the extra.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT, WEIMOB

ISSRE = ROOT / "data" / "history" / "issre22"
HISTORY_LIBRARIES = ("pyarrow", "duckdb", "ibis", "pyspark")


def incident_without(modules: tuple[str, ...], *args, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run `incident ARGS` in a Python where importing each of `modules` fails (None in sys.modules)."""
    code = (f"import runpy, sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
            "sys.argv = ['incident', *sys.argv[1:]]\nrunpy.run_module('incident.cli', run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def names(deps: list[str]) -> set[str]:
    return {dep.split(">")[0].split("=")[0].strip().lower() for dep in deps}


def test_the_history_libraries_are_core_and_spark_an_extra_that_the_tests_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = names(project["dependencies"])
    assert {"pyarrow", "duckdb", "ibis-framework[duckdb]"} <= core
    assert not core & {"pyspark", "jupyterlab"}
    extras = project["optional-dependencies"]
    assert names(extras["spark"]) == {"pyspark"}
    assert extras["history"] == []  # an older instruction, `incident[history]`, still installs
    assert names(extras["lab"]) == {"jupyterlab"}
    assert "incident[spark]" in extras["test"]  # `make test` installs -e '.[test]'


@pytest.mark.parametrize("args", [["validate", WEIMOB, ROOT / "data" / "okta-2022"], ["summary", WEIMOB]],
                         ids=["validate", "summary"])
def test_a_postmortem_does_not_import_the_history_libraries(args):
    done = incident_without(HISTORY_LIBRARIES, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_the_spark_engine_without_pyspark_is_one_line_naming_the_extra(tmp_path):
    from incident.analysis.history import history_table
    from incident.io.history_parquet import write_history

    saved = write_history(history_table(ISSRE), tmp_path / "issre.parquet")
    done = incident_without(("pyspark",), "history", saved, "--engine", "spark")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {saved}: the Spark engine needs pyspark: pip install 'incident[spark]'\n"


def test_optional_names_the_extra_and_imports_what_is_there(monkeypatch):
    from incident.core.errors import IncidentError
    from incident.core.extras import available, optional

    assert optional("pyspark.sql", "the Spark engine", "x.parquet").__name__ == "pyspark.sql"
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(IncidentError) as caught:
        optional("pyspark.sql", "the Spark engine", "x.parquet")
    assert str(caught.value) == "x.parquet: the Spark engine needs pyspark: pip install 'incident[spark]'"
    assert not available("pyspark.sql")


def test_the_history_modules_import_without_loading_pyarrow_or_duckdb():
    code = ("import sys\nsys.modules['pyarrow'] = sys.modules['duckdb'] = sys.modules['ibis'] = None\n"
            "import incident.io.history_parquet, incident.analysis.history, incident.analysis.history_engine\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
