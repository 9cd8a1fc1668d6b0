"""Shared fixtures: the project's root, the flagship incident, a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEIMOB = ROOT / "data" / "weimob-2020"

os.environ.setdefault("MPLBACKEND", "Agg")
# the exchange calendars' cache of this run, not the user's (the commands the tests start inherit it)
os.environ.setdefault("INCIDENT_CACHE_DIR", tempfile.mkdtemp(prefix="incident-cache-"))


@pytest.fixture(scope="session")
def weimob():
    import incident

    return incident.load(WEIMOB)


@pytest.fixture
def weimob_text() -> str:
    return (WEIMOB / "incident.yaml").read_text(encoding="utf-8")


@pytest.fixture
def write_incident(tmp_path):
    """Write incident text (str or bytes) into a fresh folder; return the folder."""

    def write(content, name="case"):
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / "incident.yaml").write_bytes(data)
        return folder

    return write


def history_scale():
    """benchmarks/history_scale.py as a module: its synthetic history generator serves the tests too."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("history_scale", ROOT / "benchmarks" / "history_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*args, cwd=ROOT, timeout=120):
    """Run the installed `incident` command as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "incident.cli", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


def one_line(done, *words) -> str:
    """A command refused as bad input: exit 2, one line on stderr naming `words` (paths too), no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


def without_policy(html: str) -> str:
    """A report page without its Content-Security-Policy, so that a test may add a measuring script."""
    import re

    return re.sub(r'<meta[^>]*http-equiv="Content-Security-Policy"[^>]*>', "", html)


# Tests that start kernels, a browser or a build: `make test` runs them, `make test-fast` leaves them out.
SLOW_MODULES = {"test_report", "test_notebooks", "test_faults", "test_wheel", "test_hostile"}
SLOW_WORDS = ("notebook", "browser", "report", "kernel")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES or any(word in item.name for word in SLOW_WORDS):
            item.add_marker(pytest.mark.slow)


# -- the real incident histories: the project's copies (data/history/), else the shared ones -------
SHARED = ROOT.parent / "shared" / "data"


def _first(*paths: Path) -> Path:
    for path in paths:
        if path.exists():
            return path
    pytest.skip(f"data not found in {', '.join(map(str, paths))}")


@pytest.fixture(scope="session")
def issre_dir() -> Path:
    return _first(ROOT / "data" / "history" / "issre22", SHARED / "cloud-postmortems-issre22")


@pytest.fixture(scope="session")
def github_file() -> Path:
    return _first(ROOT / "data" / "history" / "github-status" / "incidents.jsonl",
                  SHARED / "github-status-2022-2026" / "incidents.jsonl")


@pytest.fixture(scope="session")
def issre_raw(issre_dir) -> list[tuple[str, dict]]:
    """(id, record) of every postmortem, read with plain json in the importer's file order."""
    files = sorted(p for p in issre_dir.rglob("*.json") if p.name != "template.json")
    return [(rid, rec) for f in files for rid, rec in json.loads(f.read_text(encoding="utf-8")).items()]


@pytest.fixture(scope="session")
def github_raw(github_file) -> list[dict]:
    return [json.loads(line) for line in github_file.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def issre(issre_dir):
    from incident.io.issre import read_issre

    return read_issre(issre_dir)


@pytest.fixture(scope="session")
def github(github_file):
    from incident.io.github_status import read_github_status

    return read_github_status(github_file)
