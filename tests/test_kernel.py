"""Reports run on real Jupyter kernels: this interpreter's, recorded as Jupyter records them, never left behind.

Also the cache of executed reports (served unchanged, rebuilt when damaged,
bypassed on request) and the executed notebook kept beside the page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from incident.report import render as report
from incident.report.kernel import Engine, ReportError

from conftest import ROOT, WEIMOB

GITLAB = ROOT / "data" / "gitlab-2017"
LINUX = sys.platform.startswith("linux") and Path("/proc/self/stat").exists()


def notebook(*sources: str, section: str = "costs") -> dict:
    cells = [nbformat.v4.new_code_cell(src, metadata={"section": section}) for src in sources]
    return nbformat.v4.new_notebook(cells=cells)


def run(nb, timeout: float = 60):
    with Engine() as engine:
        return engine.run([engine.start()], nb, timeout)


def test_the_kernel_is_this_interpreter():
    done = run(notebook("import sys\nprint(sys.executable)"))
    assert done.cells[0].outputs[0]["text"].strip() == sys.executable


def test_outputs_are_recorded_as_jupyter_records_them():
    done = run(notebook("print('first')\nfrom IPython.display import display, HTML\ndisplay(HTML('<b>second</b>'))\n42"))
    outputs = done.cells[0].outputs
    assert [o["output_type"] for o in outputs] == ["stream", "display_data", "execute_result"]
    assert outputs[0]["text"] == "first\n"
    assert outputs[1]["data"]["text/html"] == "<b>second</b>"
    assert outputs[2]["data"]["text/plain"] == "42"


def test_a_failing_cell_names_its_section():
    with pytest.raises(ReportError, match="section 'costs' failed: ZeroDivisionError: division by zero"):
        run(notebook("1 / 0"))


# -- no process left behind ----------------------------------------------------------------
def children(pid: int) -> set[int]:
    """Every living descendant of `pid` (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def gone(pids, within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def kernels_of(pid: int, within: float = 60) -> set[int]:
    """The kernel processes started by `pid`, once they exist."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = {c for c in children(pid) if b"ipykernel_launcher" in Path(f"/proc/{c}/cmdline").read_bytes()}
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("no kernel was started")


def report_command(tmp_path, *extra):
    return subprocess.Popen([sys.executable, "-m", "incident.cli", "report", str(WEIMOB), "-o",
                             str(tmp_path / "out.html"), "--no-cache", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not LINUX, reason="reads the process table in /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopped_by_a_signal_leaves_no_kernel(tmp_path, signum):
    command = report_command(tmp_path)
    kernels = kernels_of(command.pid)
    command.send_signal(signum)
    out, err = command.communicate(timeout=30)
    assert command.returncode == 128 + signum
    assert "Traceback" not in err
    assert gone(kernels), "a kernel outlived the command"
    assert not (tmp_path / "out.html").exists()


@pytest.mark.skipif(not LINUX, reason="reads the process table in /proc")
def test_killed_outright_its_kernels_exit_and_release_the_output(tmp_path):
    command = report_command(tmp_path)
    kernels = kernels_of(command.pid)
    command.kill()  # SIGKILL: no handler runs; each kernel sees its parent gone (ipykernel's poller)
    command.communicate(timeout=10)  # the kernels hold none of the command's output: `$(...)` returns
    assert gone(kernels, within=20)


@pytest.mark.skipif(not LINUX, reason="reads the process table in /proc")
def test_a_hung_section_is_stopped_with_its_kernel(tmp_path, monkeypatch):
    nb = nbformat.read(report.NOTEBOOK, as_version=4)
    hang = nbformat.v4.new_code_cell("import time\ntime.sleep(600)", metadata={"section": "costs"})
    nb.cells.insert(next(i for i, c in enumerate(nb.cells) if c.metadata.get("section") == "costs"), hang)
    nbformat.write(nb, tmp_path / "hangs.ipynb")
    monkeypatch.setattr(report, "NOTEBOOK", tmp_path / "hangs.ipynb")
    before = children(os.getpid())
    with pytest.raises(ReportError, match="section 'costs' timed out after 4 s"):
        report.render(WEIMOB, tmp_path / "out.html", timeout=4, cache=False)
    assert children(os.getpid()) - before == set()
    assert not (tmp_path / "out.html").exists()


# -- the cache of executed reports -----------------------------------------------------------
@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("INCIDENT_CACHE_DIR", str(folder))
    return folder


def nothing_may_run(*args, **kwargs):
    raise AssertionError("nothing may run")


def test_unchanged_incident_is_written_from_the_cache(tmp_path, own_cache, monkeypatch):
    first = report.render(GITLAB, tmp_path / "first.html")
    monkeypatch.setattr(report, "Engine", nothing_may_run)
    again = report.render(GITLAB, tmp_path / "again.html")
    assert again.read_bytes() == first.read_bytes()
    with pytest.raises(AssertionError, match="nothing may run"):  # --no-cache runs it
        report.render(GITLAB, tmp_path / "fresh.html", cache=False)


def test_a_changed_incident_is_run_again(tmp_path, own_cache, monkeypatch):
    folder = tmp_path / "gitlab-2017"
    import shutil

    shutil.copytree(GITLAB, folder)
    report.render(folder, tmp_path / "first.html")
    text = (folder / "incident.yaml").read_text(encoding="utf-8")
    (folder / "incident.yaml").write_text(text.replace("title: ", "title: Edited: ", 1), encoding="utf-8")
    monkeypatch.setattr(report, "Engine", nothing_may_run)
    with pytest.raises(AssertionError, match="nothing may run"):
        report.render(folder, tmp_path / "second.html")


def test_a_damaged_cache_entry_is_rebuilt_never_served(tmp_path, own_cache):
    first = report.render(GITLAB, tmp_path / "first.html")
    entries = sorted(own_cache.joinpath("reports").glob("*.html"))
    assert len(entries) == 1
    data = bytearray(entries[0].read_bytes())
    data[len(data) // 2] ^= 0x20  # one flipped bit in the page
    entries[0].write_bytes(bytes(data))
    again = report.render(GITLAB, tmp_path / "again.html")
    assert again.read_bytes() == first.read_bytes()
    assert entries[0].read_bytes() != bytes(data)  # the entry was written anew


def test_keep_notebook_never_replaces_a_file_without_force(tmp_path, own_cache):
    from incident.cli import main

    out = tmp_path / "gitlab.html"
    kept = out.with_suffix(".ipynb")
    kept.write_text("my own notes", encoding="utf-8")
    assert main(["report", str(GITLAB), "-o", str(out), "--keep-notebook"]) == 2
    assert kept.read_text(encoding="utf-8") == "my own notes" and not out.exists()
    assert main(["report", str(GITLAB), "-o", str(out), "--keep-notebook", "--force"]) == 0
    nb = nbformat.read(kept, as_version=4)
    assert nb.metadata["language_info"]["name"] == "python"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_a_batch_on_one_kernel_gives_each_incident_its_own_page(tmp_path, own_cache):
    """Two incidents one after the other on one kernel: each page is the one a fresh kernel makes."""
    results = report.render_many([WEIMOB, GITLAB], tmp_path / "batch", workers=1, cache=False)
    assert [r.ok for r in results] == [True, True]
    for folder in (WEIMOB, GITLAB):
        alone = report.render(folder, tmp_path / "alone" / f"{folder.name}.html", cache=False)
        assert (tmp_path / "batch" / f"{folder.name}.html").read_bytes() == alone.read_bytes()


# -- portable: nothing POSIX-only is needed ------------------------------------------------------
AS_ON_WINDOWS = """\
import os, runpy, sys
for name in ("fork", "forkpty", "O_NONBLOCK", "fchmod", "sync", "killpg", "setpgid"):
    if hasattr(os, name):
        delattr(os, name)
sys.argv = ["incident", *sys.argv[1:]]
runpy.run_module("incident.cli", run_name="__main__")
"""


@pytest.mark.parametrize("args", [
    ["report", str(WEIMOB), "--no-cache"],
    ["report", "--history", str(ROOT / "data" / "history" / "issre22"), "--no-cache"],
    ["history", str(ROOT / "data" / "history" / "issre22")],
], ids=["report", "history-report", "history"])
def test_runs_without_fork_or_posix_only_calls(tmp_path, args):
    if args[0] == "report":
        args = [*args, "-o", str(tmp_path / "out.html")]
    done = subprocess.run([sys.executable, "-c", AS_ON_WINDOWS, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    if args[0] == "report":
        assert (tmp_path / "out.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
