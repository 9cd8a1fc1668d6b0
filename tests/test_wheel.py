"""The package as a user installs it: a wheel in a fresh venv renders a report from an empty folder.

The wheel is built from this checkout without network (the test environment
has setuptools); the fresh venv gets the wheel and nothing else, and finds
the dependencies in the test environment's site-packages through a .pth
file, so no package index is needed. Nothing of the checkout is on its path:
the report notebook, the templates and the plot style must come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, WEIMOB

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # built from a copy: a build writes build/ and *.egg-info where it runs, and two test workers
    # building in the checkout at once would trip over each other's files
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "incident", source / "incident", ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (path,) = out.glob("incident-*.whl")
    return path


def test_the_wheel_ships_the_report_notebook_templates_and_style(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("incident/report/postmortem.ipynb", "incident/report/templates/postmortem/index.html.j2",
                   "incident/report/templates/postmortem/report.css", "incident/report/templates/sections/title.html.j2",
                   "incident/plots/incident.mplstyle"):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "data/", "notebooks/")) for n in names)


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory):
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    # the dependencies, from the test environment; a plain path line, so its .pth files
    # (the checkout's editable install among them) are not run
    deps = sysconfig.get_paths()["purelib"]
    (Path(site) / "zz-test-dependencies.pth").write_text(deps + "\n")
    return home


def test_a_wheel_in_a_fresh_venv_renders_the_report_from_an_empty_folder(fresh_venv, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    case = tmp_path / "cases" / "weimob-2020"
    shutil.copytree(WEIMOB, case)
    where = subprocess.run([fresh_venv / "bin" / "python", "-c", "import incident; print(incident.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True).stdout
    assert str(fresh_venv) in where and str(ROOT) not in where
    # nbconvert's own templates are data files in the prefix of the environment that installed it
    env = {**os.environ, "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    result = subprocess.run([fresh_venv / "bin" / "incident", "report", str(case), "-o", "out.html"],
                            cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (work / "out.html").read_text(encoding="utf-8")
    assert "Weimob" in html and "150,000,000" in html
    assert sorted(p.name for p in work.iterdir()) == ["out.html"]


def test_without_a_path_outside_a_checkout_is_a_usage_error(fresh_venv, tmp_path):
    result = subprocess.run([fresh_venv / "bin" / "incident", "report"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "give an incident folder" in result.stderr and "Traceback" not in result.stderr
