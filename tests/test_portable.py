"""Portable by construction: nothing in the package needs fork or a POSIX-only call without a fallback.

The commands run in a Python from which the POSIX-only names have been
deleted before the package is imported, as on Windows; an AST walk over the
package (its modules and its notebooks' cells) finds any use of those names
that no `hasattr`/`getattr` guards; and the fallbacks of `incident.io.files`
keep what the POSIX calls gave: a FIFO is refused unopened, a replaced file
keeps its mode, staged files reach the disk.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, WEIMOB

# Names a Windows Python does not have, that the package once called directly.
POSIX_ONLY = ("fork", "forkpty", "O_NONBLOCK", "fchmod", "sync", "killpg", "setpgid")
# Deleted before the first import of the package; then the command runs as `incident ...` would.
AS_ON_WINDOWS = f"""\
import os, runpy, sys
for name in {POSIX_ONLY!r}:
    if hasattr(os, name):
        delattr(os, name)
sys.argv = ["incident", *sys.argv[1:]]
runpy.run_module("incident.cli", run_name="__main__")
"""
FEED = ROOT / "data" / "samples" / "statuspage" / "githubstatus-incidents-2024-09-16.json"


def incident_without_posix(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", AS_ON_WINDOWS, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args", [
    ["validate", WEIMOB, ROOT / "data" / "okta-2022", ROOT / "data" / "gitlab-2017"],
    ["summary", WEIMOB],
    ["summary", "--json", ROOT / "data" / "equifax-2017"],
    ["history", ROOT / "data" / "history" / "issre22"],
    ["history", ROOT / "data" / "history" / "github-status" / "incidents.jsonl"],
], ids=["validate", "summary", "summary-json", "history-issre", "history-github"])
def test_commands_run_without_posix_only_calls(args):
    done = incident_without_posix(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


def test_import_and_its_history_run_without_posix_only_calls(tmp_path):
    """An import writes (staged, flushed, renamed), replaces with --force (keeping the mode), and is read back."""
    out = tmp_path / "imported"
    done = incident_without_posix("import", "statuspage", FEED, "-o", out)
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted(out.glob("*/incident.yaml"))
    assert len(files) == len(json.loads(FEED.read_text(encoding="utf-8"))["incidents"])
    files[0].chmod(0o640)
    done = incident_without_posix("import", "statuspage", FEED, "-o", out, "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o640  # replaced, with the mode it had
    done = incident_without_posix("history", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / ".incident-history.parquet").is_file()


# PLACEHOLDER: `incident report` without the POSIX-only names. The report's kernel engine
# (incident/report/kernel.py) is being landed by another engineer, who adds the case here, e.g.
#     ["report", WEIMOB, "--no-cache", "-o", tmp_path / "out.html"]
# (tests/test_kernel.py::test_runs_without_fork_or_posix_only_calls runs it meanwhile).


# -- the fallbacks of incident.io.files, in this process ---------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_without_o_nonblock_a_fifo_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    from incident.core.errors import IncidentError
    from incident.io import files

    fifo = tmp_path / "incident.yaml"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open
    monkeypatch.setattr(files, "NONBLOCK", 0)
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    with pytest.raises(IncidentError, match="not a regular file"):
        files.read_bytes(fifo, 1000, "incident file")  # a blocking open would wait here for a writer
    assert opened == []
    regular = tmp_path / "regular.yaml"
    regular.write_bytes(b"id: x\r\n")
    assert files.read_bytes(regular, 1000) == b"id: x\r\n"  # byte for byte: no newline translation


def test_without_fchmod_a_replaced_file_keeps_its_mode(tmp_path, monkeypatch):
    from incident.io.files import atomic_write

    monkeypatch.delattr(os, "fchmod", raising=False)
    target = tmp_path / "kept.yaml"
    target.write_text("old")
    target.chmod(0o604)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    if os.name == "posix":  # elsewhere a mode is only the read-only flag
        assert stat.S_IMODE(target.stat().st_mode) == 0o604


def test_without_sync_each_staged_file_is_flushed(tmp_path, monkeypatch):
    from incident.io.files import atomic_write, flush_to_disk

    monkeypatch.delattr(os, "sync", raising=False)
    written = [atomic_write(tmp_path / f"{k}.yaml", f"id: {k}\n", durable=False) for k in range(3)]
    flushed = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(fd) or real_fsync(fd))
    flush_to_disk(written)
    assert len(flushed) == len(written)


# -- no unguarded use anywhere in the package --------------------------------------------------------
def _package_sources() -> list[tuple[str, str]]:
    """(name, source) of every module of the package and every code cell of its notebooks."""
    package = ROOT / "incident"
    sources = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in sorted(package.rglob("*.py"))]
    for nb in sorted(package.rglob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                text = "".join(cell["source"])
                lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()]
                sources.append((f"{nb.relative_to(ROOT)} cell {i}", "\n".join(lines)))
    return sources


def _is_hasattr_os(node, name: str, aliases: set[str]) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"
            and len(node.args) == 2 and isinstance(node.args[0], ast.Name) and node.args[0].id in aliases
            and isinstance(node.args[1], ast.Constant) and node.args[1].value == name)


def _tests_for(test, name: str, aliases: set[str]) -> bool | None:
    """True if `test` holds only when os has `name`, False if only when it has not, None if neither."""
    if _is_hasattr_os(test, name, aliases):
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _tests_for(test.operand, name, aliases)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return True if any(_tests_for(v, name, aliases) for v in test.values) else None
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return False if any(_tests_for(v, name, aliases) is False for v in test.values) else None
    return None


def _guarded(node, parents: dict, name: str, aliases: set[str]) -> bool:
    """Whether the use `node` of os.`name` runs only where os has `name`.

    Guards: `if hasattr(os, name):` (the use in its body), `if not hasattr(...)`
    (in its else), the same as a conditional expression or inside `and`, an
    early exit (`if not hasattr(os, name): return/raise/continue`) before the
    use in the same block, and `try: ... except AttributeError`.
    """
    child = node
    while child in parents:
        parent = parents[child]
        if isinstance(parent, (ast.If, ast.IfExp)):
            holds = _tests_for(parent.test, name, aliases)
            body = parent.body if isinstance(parent.body, list) else [parent.body]
            if (holds is True and child in body) or (holds is False and child is not parent.test and child not in body):
                return True
        if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.And):
            before = parent.values[:parent.values.index(child)]
            if any(_tests_for(v, name, aliases) for v in before):
                return True
        if isinstance(parent, ast.Try) and child in parent.body and any(
                isinstance(h.type, ast.Name) and h.type.id == "AttributeError" for h in parent.handlers):
            return True
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and child in block:
                for earlier in block[:block.index(child)]:
                    if isinstance(earlier, ast.If) and _tests_for(earlier.test, name, aliases) is False and \
                            earlier.body and isinstance(earlier.body[-1], (ast.Return, ast.Raise, ast.Continue)):
                        return True
        child = parent
    return False


def unguarded_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each use of a POSIX_ONLY name of os, or of the fork start method, that nothing guards."""
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    aliases = {"os"} | {a.asname for n in ast.walk(tree) if isinstance(n, ast.Import)
                        for a in n.names if a.name == "os" and a.asname}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and node.attr in POSIX_ONLY and not _guarded(node, parents, node.attr, aliases):
            found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, f"from os import {a.name}") for a in node.names if a.name in POSIX_ONLY]
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            func = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            args = [*node.args, *(k.value for k in node.keywords)]
            if func == "getattr" and len(node.args) == 2 and isinstance(node.args[0], ast.Name) \
                    and node.args[0].id in aliases and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in POSIX_ONLY:
                found.append((node.lineno, f"getattr(os, {node.args[1].value!r}) without a default"))
            if func in ("get_context", "set_start_method", "Pool", "ProcessPoolExecutor") and any(
                    isinstance(a, ast.Constant) and a.value == "fork" for a in args):
                found.append((node.lineno, f"{func}('fork')"))
    return found


def test_the_check_finds_what_it_should():
    assert unguarded_uses("import os\nos.fork()\n") == [(2, "os.fork")]
    assert unguarded_uses("import os as o\nfd = o.O_RDONLY | o.O_NONBLOCK\n") == [(2, "os.O_NONBLOCK")]
    assert unguarded_uses("from os import sync\n") == [(1, "from os import sync")]
    assert unguarded_uses("import multiprocessing as mp\nmp.get_context('fork')\n") == [(2, "get_context('fork')")]
    assert unguarded_uses("import os\nf = getattr(os, 'fchmod')\n") == [(2, "getattr(os, 'fchmod') without a default")]
    assert unguarded_uses("import os\nif hasattr(os, 'fork'):\n    pass\nos.fork()\n") == [(4, "os.fork")]
    assert unguarded_uses("import os\nif hasattr(os, 'sync'):\n    os.fchmod(1, 0)\n") == [(3, "os.fchmod")]
    guarded = [
        "import os\nflag = getattr(os, 'O_NONBLOCK', 0)\n",
        "import os\nif hasattr(os, 'fchmod'):\n    os.fchmod(1, 0o644)\nelse:\n    os.chmod('x', 0o644)\n",
        "import os\nif not hasattr(os, 'sync'):\n    pass\nelse:\n    os.sync()\n",
        "import os\ndef f():\n    if not hasattr(os, 'fork'):\n        return\n    os.fork()\n",
        "import os\nx = os.O_NONBLOCK if hasattr(os, 'O_NONBLOCK') else 0\n",
        "import os\nok = hasattr(os, 'killpg') and os.killpg(1, 9)\n",
        "import os\ntry:\n    os.sync()\nexcept AttributeError:\n    pass\n",
    ]
    for source in guarded:
        assert unguarded_uses(source) == [], source


def test_no_posix_only_name_is_used_unguarded_in_the_package():
    found = [f"{name}:{line}: {what}" for name, source in _package_sources() for line, what in unguarded_uses(source)]
    assert found == []
