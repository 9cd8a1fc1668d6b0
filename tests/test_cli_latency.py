"""The command answers at once: `--help` and `validate` import neither pandas nor matplotlib.

Timings live in benchmarks/cli.py; here only what decides them: which
libraries a command loads.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

HEAVY = ("pandas", "matplotlib", "scipy", "exchange_calendars", "nbconvert", "nbformat", "duckdb", "pyarrow")


def loaded(*args: str) -> set[str]:
    code = ("import sys, runpy; sys.argv = ['incident', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('incident', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return set(result.stderr.strip().splitlines()[-1].split()) if result.stderr.strip() else set()


def test_help_loads_no_heavy_library():
    assert loaded("--help") == set()
    assert loaded("history", "--help") == set()
    assert loaded("event-study", "--help") == set()


def test_validate_loads_no_heavy_library():
    assert loaded("validate", str(ROOT / "data" / "gitlab-2017")) == set()


def test_the_commands_choices_are_the_librarys():
    from incident.analysis.history import BY_CHOICES, CI_METHODS, FORMATS
    from incident.analysis.history_engine import ENGINES
    from incident.cli import history, market
    from incident.market.eventstudy import DEFAULT_ESTIMATION, MODELS

    assert history.BY_CHOICES == BY_CHOICES and history.FORMATS == FORMATS and history.ENGINES == tuple(ENGINES)
    assert history.CI_METHODS == tuple(CI_METHODS)
    assert market.MODELS == MODELS and market.DEFAULT_ESTIMATION == DEFAULT_ESTIMATION
    from incident.io.calendars import DEFAULT_CALENDAR

    assert market.DEFAULT_CALENDAR == DEFAULT_CALENDAR
