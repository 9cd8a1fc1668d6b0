"""Faults while a report is made: a clear message, no partial file, the old report kept.

A kernel killed mid-run, a failing section and a section that never ends run
the real notebook. Faults in writing the file (no permission, the folder
gone, the disk full, Ctrl-C) do not depend on what the notebook computed, so
those tests replace the run with a stand-in page and take milliseconds. Two
real `incident report` processes then write the same file at once.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from incident.core.errors import IncidentError
from incident.report import render as report
from incident.cli import main

from conftest import ROOT, WEIMOB

PREVIOUS = "<!DOCTYPE html><html><body>the previous report</body></html>\n"
PAGE = "<!DOCTYPE html>\n<html><body>" + "<p>a new report</p>" * 50_000 + "</body></html>\n"  # ~1 MB


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def previous(tmp_path) -> Path:
    """An existing report that every failure must leave as it was."""
    out = tmp_path / "out" / "weimob-2020.html"
    out.parent.mkdir()
    out.write_text(PREVIOUS, encoding="utf-8")
    return out


def assert_kept(out: Path) -> None:
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert leftovers(out.parent) == []


def notebook_with(tmp_path: Path, source: str, section: str, before: str) -> Path:
    """A copy of the report notebook with one cell inserted before section `before`'s first cell."""
    nb = nbformat.read(report.NOTEBOOK, as_version=4)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["section"] = section
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("section") == before)
    nb.cells.insert(index, cell)
    path = tmp_path / "postmortem.ipynb"
    nbformat.write(nb, path)
    return path


# -- the run ----------------------------------------------------------------------------
def test_kernel_killed_mid_run(tmp_path, previous, monkeypatch):
    kill = "import os\nos.kill(os.getpid(), 9)"
    monkeypatch.setattr(report, "NOTEBOOK", notebook_with(tmp_path, kill, "timeline", before="timeline"))
    with pytest.raises(report.ReportError, match="kernel died while running section 'timeline'"):
        report.render(WEIMOB, previous)  # the cell killed its kernel, not this process
    assert_kept(previous)


def test_section_that_never_ends_times_out(tmp_path, previous, monkeypatch):
    hang = "import time\ntime.sleep(600)"
    monkeypatch.setattr(report, "NOTEBOOK", notebook_with(tmp_path, hang, "costs", before="costs"))
    started = time.monotonic()
    with pytest.raises(report.ReportError, match="section 'costs' timed out after 3 s"):
        report.render(WEIMOB, previous, timeout=3)
    assert time.monotonic() - started < 60
    assert_kept(previous)


def test_failing_section_through_the_cli(tmp_path, previous, monkeypatch, capsys):
    raising = "raise OSError('the archive is offline')"
    monkeypatch.setattr(report, "NOTEBOOK", notebook_with(tmp_path, raising, "financials", before="financials"))
    assert main(["report", str(WEIMOB), "-o", str(previous)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.strip() == (f"error: {WEIMOB}: section 'financials' failed: OSError: the archive is offline; "
                           "no report written")
    assert_kept(previous)


# -- writing the file (the notebook run replaced by a stand-in page) -------------------
@pytest.fixture
def quick(monkeypatch):
    """Skip the run: every render 'computes' PAGE (and nothing is kept in the cache)."""
    monkeypatch.setattr(report, "execute", lambda engine, kernels, nb, timeout: nb)
    monkeypatch.setattr(report, "export_html", lambda nb: PAGE)
    monkeypatch.setattr(report, "cache_store", lambda: None)


def test_stand_in_render_writes_the_page(quick, previous):
    assert report.render(WEIMOB, previous) == previous
    assert previous.read_text(encoding="utf-8") == PAGE
    assert leftovers(previous.parent) == []


def failing(exc: OSError):
    def fail(*args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("target,exc,message", [
    ("os.replace", PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
    ("os.replace", OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
    ("os.fsync", OSError(errno.EIO, "Input/output error"), "Input/output error"),
], ids=["no-permission-to-replace", "read-only", "io-error-on-sync"])
def test_unwritable_output(quick, previous, monkeypatch, target, exc, message):
    # root ignores file modes, so a chmod would not stop the write in CI: the refusal is simulated
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(sys.modules[module], name, failing(exc))
    with pytest.raises(report.ReportError, match=f"cannot write {previous}: {message}"):
        report.render(WEIMOB, previous)
    monkeypatch.undo()
    assert_kept(previous)


def test_no_permission_to_create_fails_before_the_run(quick, previous, monkeypatch):
    # root ignores file modes: the refusal is simulated where every new file is made
    monkeypatch.setattr(sys.modules["incident.io.files"], "_temporary",
                        failing(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(IncidentError, match="cannot write in the folder for the report: Permission denied"):
        report.render(WEIMOB, previous)
    monkeypatch.undo()
    assert_kept(previous)


def test_output_folder_under_a_file_fails_before_the_run(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    monkeypatch.setattr(report, "Engine", failing(AssertionError("nothing may run")))
    assert main(["report", str(WEIMOB), "-o", str(blocker / "weimob.html")]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"error: {blocker}: is a file, not a folder; give a folder for the report"
    assert blocker.read_text(encoding="utf-8") == "a file where the folder should be"


@pytest.mark.parametrize("out", ["/proc/weimob.html", "/sys/weimob.html"])
def test_output_the_system_refuses_fails_before_the_run(out, monkeypatch, capsys):
    if not Path(out).parent.is_dir():
        pytest.skip(f"no {Path(out).parent} here")
    monkeypatch.setattr(report, "Engine", failing(AssertionError("nothing may run")))
    assert main(["report", str(WEIMOB), "-o", out]) == 2  # root passes access(); the file system says no
    err = capsys.readouterr().err
    assert err.startswith(f"error: {Path(out).parent}: cannot write in the folder for the report") and err.count("\n") == 1


def test_report_of_the_current_folder_is_named_after_it(tmp_path, monkeypatch):
    folder = tmp_path / "gitlab-2017"
    shutil.copytree(ROOT / "data" / "gitlab-2017", folder)
    monkeypatch.chdir(folder)
    assert report.default_output(".", tmp_path / "out") == tmp_path / "out" / "gitlab-2017.html"


def test_output_folder_vanishes_during_the_run(quick, previous, monkeypatch):
    def vanish(nb):
        shutil.rmtree(previous.parent)
        return PAGE

    monkeypatch.setattr(report, "export_html", vanish)
    with pytest.raises(report.ReportError, match="the folder .* is gone"):
        report.render(WEIMOB, previous)
    assert not previous.parent.exists()  # not made again behind the user's back


class DiskFull:
    """A file whose writes stop after `room` bytes with ENOSPC, as a full disk does."""

    def __init__(self, fh, room: int):
        self.fh, self.room = fh, room

    def write(self, data):
        if len(data) > self.room:
            self.fh.write(data[: self.room])
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_disk_full(quick, previous, monkeypatch):
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: DiskFull(real(fd, *a, **k), room=100_000))
    with pytest.raises(report.ReportError, match="No space left on device"):
        report.render(WEIMOB, previous)
    monkeypatch.undo()
    assert_kept(previous)


def test_interrupted_while_writing(quick, previous, monkeypatch, capsys):
    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    assert main(["report", str(WEIMOB), "-o", str(previous)]) == 130
    monkeypatch.undo()
    assert "Traceback" not in capsys.readouterr().err
    assert_kept(previous)


def test_many_writers_of_one_file(quick, previous):
    """Writers racing on one path: the file is always one whole page, never a mix."""
    pages = [PAGE.replace("a new report", f"report {k}") for k in range(6)]
    errors = []

    def write(page):
        try:
            for _ in range(5):
                report.atomic_write(previous, page.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert previous.read_text(encoding="utf-8") in pages
    assert leftovers(previous.parent) == []


# -- two real runs at once ---------------------------------------------------------------
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.h1 = 0

    def handle_starttag(self, tag, attrs):
        self.h1 += tag == "h1"


def test_two_report_runs_writing_the_same_file(tmp_path):
    out = tmp_path / "same.html"
    command = [sys.executable, "-m", "incident.cli", "report", str(WEIMOB), "-o", str(out)]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    for status, stdout, stderr in results:
        assert status == 0, stderr
        assert "Traceback" not in stderr
    html = out.read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>") and html.count("<html") == 1
    page = Page()
    page.feed(html)
    assert page.h1 == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.html"]


def test_batch_one_section_hangs_the_other_incident_is_written(monkeypatch, tmp_path):
    """A section that never ends fails its incident alone; the next one is still written."""
    hang = "if inc.id == 'weimob-2020':\n    import time\n    time.sleep(600)"
    monkeypatch.setattr(report, "NOTEBOOK", notebook_with(tmp_path, hang, "timeline", before="timeline"))
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(WEIMOB, first)
    shutil.copytree(ROOT / "data" / "gitlab-2017", second)
    results = report.render_many([first, second], tmp_path / "out", workers=2, timeout=8)
    assert [r.ok for r in results] == [False, True]
    assert "section 'timeline' timed out after 8 s" in results[0].error
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["second.html"]


def test_batch_refuses_two_incidents_writing_the_same_file(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "Engine", failing(AssertionError("nothing may run")))
    a, b = tmp_path / "a" / "gitlab-2017", tmp_path / "b" / "gitlab-2017"
    for folder in (a, b):
        shutil.copytree(ROOT / "data" / "gitlab-2017", folder)
    result = main(["report", str(a), str(b), "-o", str(tmp_path / "out")])
    assert result == 2
    assert not (tmp_path / "out").exists()


def test_batch_skips_folders_without_an_incident_and_writes_the_rest(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(report, "export_html", lambda nb: PAGE)
    monkeypatch.setattr(report, "cache_store", lambda: None)
    empty = tmp_path / "data" / "notes"
    empty.mkdir(parents=True)
    good = tmp_path / "data" / "gitlab-2017"
    shutil.copytree(ROOT / "data" / "gitlab-2017", good)
    broken = tmp_path / "data" / "broken"
    broken.mkdir()
    (broken / "incident.yaml").write_text("id: broken\n", encoding="utf-8")
    status = main(["report", str(empty), str(good), str(broken), "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert status == 2  # one input was bad
    assert f"skipped {empty}: no incident.yaml in this folder" in err
    assert "FAILED  " in err and "Traceback" not in err
    assert "1 of 2 reports written" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gitlab-2017.html"]
