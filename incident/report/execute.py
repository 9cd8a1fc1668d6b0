"""Run the report notebook's cells, outputs recorded in the notebook as a kernel would record them.

Two engines:

- "fork" (the default): no kernel is started. A forked worker imports what
  the report needs and runs the notebook's cells in an IPython shell,
  recording what they display with IPython's `capture_output`, and sends
  the outputs back. One notebook is split in shares: the worker runs the
  cells every section depends on (parameters, imports, loading the
  incident) once, then forks itself, each fork running the sections of one
  share side by side with the state those cells made. Meanwhile this
  process imports the HTML exporter. For a batch, this process imports the
  report's modules once, then runs each notebook whole in a worker of its
  own. A cell that crashes or kills its process kills a worker, never this
  process.
- "kernel": nbclient on a Jupyter kernel, exactly as `jupyter nbconvert
  --execute` runs it; slower, for checking that the two agree.

What a cell writes to stderr, warnings included, never reaches the page.
"""

from __future__ import annotations

import gc
import os
import signal
import time

ENGINES = ("fork", "kernel")
# What every report's cells import: loaded once, before the workers fork.
PRELOAD = ("pandas", "matplotlib.pyplot", "incident.report.postmortem", "incident.plots.style",
           "IPython.core.interactiveshell", "IPython.core.pylabtools", "IPython.utils.capture")
# What some sections import: in one report, each share imports its own side by side; for a batch,
# loaded once with the rest.
PRELOAD_SECTIONS = ("scipy.special", "incident.market.reaction", "incident.market.sessions", "incident.plots.timeline",
                    "incident.plots.costs", "incident.plots.market", "incident.plots.eventstudy",
                    "incident.plots.financials")


class ReportError(RuntimeError):
    """The report could not be made: which section failed, and why."""


def preload(sections: bool = True) -> None:
    """Import what every report needs (and what its sections need), with matplotlib drawing off-screen."""
    import importlib

    import matplotlib

    matplotlib.use("agg")
    for name in PRELOAD + (PRELOAD_SECTIONS if sections else ()):
        importlib.import_module(name)


# -- the notebook's shares -------------------------------------------------------------
def sections(nb) -> tuple[list[int], list[list[int]]]:
    """Indexes of the shared cells (before the first section), and of each group of sections' cells.

    A section is its own group, unless its first cell's metadata says
    `runs_with: <section>`: sections that use one costly result (the
    market study) are run by one worker, which computes it once.
    """
    shared: list[int] = []
    groups: dict[str, list[int]] = {}
    last = None
    for i, cell in enumerate(nb["cells"]):
        section = cell["metadata"].get("section")
        if section and section != "setup":
            last = cell["metadata"].get("runs_with", section)
        if last is None:
            shared.append(i)
        else:
            groups.setdefault(last, []).append(i)
    return shared, list(groups.values())


def shares(nb, n: int) -> list[list[int]]:
    """The notebook's cells in `n` shares (each with the shared cells) of about equal cost.

    A cell's cost is its metadata's `cost` (measured, in tenths of a
    second), else 4 for each figure it draws.
    """
    shared, groups = sections(nb)

    def weight(group):
        cells = [nb["cells"][i] for i in group]
        return sum(c["metadata"].get("cost", 4 * source(c).count("figure(")) for c in cells) + 0.01 * len(cells)

    loads = [[0, []] for _ in range(max(1, min(n, len(groups))))]
    for group in sorted(groups, key=weight, reverse=True):
        target = min(loads, key=lambda load: load[0])
        target[0] += weight(group)
        target[1].extend(group)
    return [shared + sorted(cells) for _, cells in loads]


def source(cell) -> str:
    """A cell's code: notebook files may store it as a list of lines."""
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def section_of(nb, index: int) -> str:
    for cell in reversed(nb["cells"][: index + 1]):
        if cell["metadata"].get("section"):
            return cell["metadata"]["section"]
    return "setup"


# -- the fork engine -----------------------------------------------------------------------
def _shell():
    """An IPython shell that records what cells display as a kernel would, and the list its results go to."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats
    from traitlets.config import Config

    if InteractiveShell.initialized():  # forked from a process running IPython (a notebook calling render)
        shell = InteractiveShell.instance()
        shell.reset(new_session=False)  # its copy of the user's variables is not the report's
    else:
        config = Config()
        config.HistoryManager.enabled = False  # no history database opened in the user's home
        shell = InteractiveShell.instance(config=config)
    results: list[tuple[dict, dict]] = []
    shell.displayhook = _recording_display_hook(shell, results)
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` in a notebook: no event loop to start here
    select_figure_formats(shell, {"png"})
    return shell, results


def _run(shell, results: list, cells: list[tuple[int, str]], send) -> bool:
    """Run each (index, source), sending ('cell', i) before and ('outputs', i, [...]) after; False on an error.

    Outputs are what a Jupyter kernel with matplotlib's inline backend would
    record: what the cell displays, its last expression's value as an
    execute_result, and every figure it left open as a PNG, then closed.
    A cell that raises ends the run with ('error', i, name, message).
    """
    import warnings

    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    for index, source in cells:
        send(("cell", index))
        results.clear()
        with warnings.catch_warnings(), capture_output(stdout=True, stderr=True, display=True) as cap:
            warnings.simplefilter("ignore")  # a warning is the analyst's business, not the page's
            result = shell.run_cell(source, store_history=False)
            if result.success:
                if isinstance(result.result, plt.Figure):
                    plt.close(result.result)  # shown as the cell's result: not twice
                for number in plt.get_fignums():  # what the inline backend shows at the end of a cell
                    shell.display_pub.publish(*shell.display_formatter.format(plt.figure(number)))
                plt.close("all")
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            send(("error", index, type(error).__name__, str(error)))
            return False
        outputs = []
        if cap.stdout:
            outputs.append({"output_type": "stream", "name": "stdout", "text": cap.stdout})
        outputs += [{"output_type": "display_data", "data": o.data, "metadata": o.metadata or {}}
                    for o in cap.outputs]
        outputs += [{"output_type": "execute_result", "data": data, "metadata": metadata, "execution_count": None}
                    for data, metadata in results]
        send(("outputs", index, outputs))
    return True


def _recording_display_hook(shell, results: list):
    """A display hook that keeps a cell's last value as a kernel's execute_result instead of printing it."""
    from IPython.core.displayhook import DisplayHook

    class RecordingDisplayHook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            results.append((format_dict, md_dict or {}))

        def finish_displayhook(self):
            pass

    return RecordingDisplayHook(shell=shell)


def _worker(conns, shared, parts, load: bool, nb=None, finish=None) -> None:
    """A forked worker's life: run the `shared` cells, then each of `parts` in a fork of its own; exit without cleanup.

    `conns[i]` carries the messages of part i (the shared cells' on
    `conns[0]`); this process runs part 0 itself. With `load`, it first
    imports what the report needs. With `finish` (a notebook run whole), it
    also records the outputs in its copy of `nb` and sends ('finished',
    finish(nb)) before it is done: a batch's pages are exported by the
    workers, side by side, rather than by the parent.
    """
    code = 0
    send = conns[0].send
    if finish is not None:
        def send(message, _send=conns[0].send):
            if message[0] == "outputs":
                _set_outputs(nb["cells"][message[1]], message[2])
            if message[0] == "done":
                _send(("finished", finish(nb)))
            _send(message)
    try:
        os.setpgid(0, 0)  # its forks join its process group: the parent stops them all at once
        if load:
            preload(sections=len(parts) == 1)
            conns[0].send(("ready",))  # the timeout counts from here: imports are not a section's time
        shell, results = _shell()
        if not _run(shell, results, shared, send):
            for conn in conns[1:]:
                conn.send(("abandoned",))  # the shared cells failed: nothing for the other parts to do
            return
        children = []
        if len(parts) > 1:
            gc.freeze()  # the forks' collections leave the objects made so far alone: fewer pages copied
        for i in range(1, len(parts)):
            pid = os.fork()
            if pid == 0:
                _part(conns, i, shell, results, parts[i])
            children.append(pid)
            conns[i].close()
        if _run(shell, results, parts[0], send):
            send(("done",))
        for pid in children:
            os.waitpid(pid, 0)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        _report(conns[0], exc)
        code = 1
    finally:
        conns[0].close()
        os._exit(code)  # no atexit handlers of the parent's libraries in a fork


def _part(conns, i: int, shell, results, cells) -> None:
    """In a fork of the worker: run part `i` on `conns[i]` with the shared cells' state; never returns."""
    code = 0
    for j, conn in enumerate(conns):
        if j != i:
            conn.close()  # the parent sees this part's end, or its death, on its own pipe only
    try:
        if _run(shell, results, cells, conns[i].send):
            conns[i].send(("done",))
    except BaseException as exc:  # noqa: BLE001
        _report(conns[i], exc)
        code = 1
    finally:
        conns[i].close()
        os._exit(code)


def _report(conn, exc: BaseException) -> None:
    try:
        conn.send(("error", -1, type(exc).__name__, str(exc)))
    except OSError:
        pass


def execute(nb, timeout: int = 300, workers: int = 2, engine: str = "fork", meanwhile=None):
    """Run the notebook in place (outputs set on its cells); ReportError naming the failing section."""
    if engine == "kernel":
        return execute_on_kernel(nb, timeout)
    if engine != "fork":
        raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    from contextlib import closing

    with closing(execute_many([nb], timeout, workers, meanwhile)) as results:
        for _, error, _ in results:
            if error is not None:
                raise error
    return nb


def execute_many(nbs: list, timeout: int = 300, workers: int = 2, meanwhile=None, finish=None):
    """Run notebooks on forked workers, at most `workers` at a time; yield (index, error or None, finished).

    A single notebook is split into `workers` shares run side by side, its
    worker importing the report's modules while this process runs
    `meanwhile` (importing the exporter, say). For several, this process
    imports the modules once, then each notebook runs whole in a worker of
    its own, which also computes `finish(notebook)` (if given) once its
    cells ran, yielded third (None otherwise). A notebook is yielded as soon as it is done, or at its first
    failure (its other shares stopped). Notebooks are plain dicts (or
    nbformat's nodes); each code cell's `outputs` are set.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    single = len(nbs) == 1 and finish is None
    if not single:
        preload()
    ctx = mp.get_context("fork")
    todo = list(range(len(nbs)))
    left: dict[int, int] = {}  # parts of each running notebook still to finish
    trees: dict = {}  # notebook -> its worker (whose forks share its process group)
    running: dict = {}  # pipe -> the state of the part it carries
    try:
        while todo or running:
            while todo and len(trees) < max(1, workers):
                k = todo.pop(0)
                nb = nbs[k]
                shared, parts = _split(nb, workers if single else 1)
                pipes = [ctx.Pipe(duplex=False) for _ in parts]
                whole = finish is not None
                cells = [_code(nb, shared), *(_code(nb, part) for part in parts)]
                proc = ctx.Process(target=_worker, args=([w for _, w in pipes], cells[0], cells[1:], single,
                                                         nb if whole else None, finish if whole else None),
                                   daemon=True)
                proc.start()
                try:
                    os.setpgid(proc.pid, proc.pid)  # as the worker does: whichever comes first
                except OSError:
                    pass  # the worker did it, or has already ended
                for _, w in pipes:
                    w.close()
                trees[k] = proc
                left[k] = len(parts)
                deadline = time.monotonic() + timeout
                for r, _ in pipes:
                    running[r] = {"nb": k, "cell": None, "deadline": deadline}
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            if not running:
                continue
            soonest = min(state["deadline"] for state in running.values())
            ready = wait(list(running), timeout=max(0.0, soonest - time.monotonic()))
            ended = []  # (pipe, error or None, whether the part is done)
            for conn in ready:
                state = running[conn]
                nb = nbs[state["nb"]]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = ("died",)
                kind = message[0]
                if kind == "cell":
                    state["cell"] = message[1]
                elif kind == "ready":
                    for st in running.values():
                        if st["nb"] == state["nb"]:
                            st["deadline"] = time.monotonic() + timeout
                elif kind == "outputs":
                    _set_outputs(nb["cells"][message[1]], message[2])
                elif kind == "finished":
                    state["finished"] = message[1]
                elif kind == "error":
                    _, index, name, text = message
                    where = section_of(nb, index) if index >= 0 else _where(nb, state)
                    ended.append((conn, ReportError(f"section {where!r} failed: {name}: {first_line(text)}"), False))
                elif kind == "died":
                    ended.append((conn, ReportError(
                        f"the report's worker died while running section {_where(nb, state)!r}"), False))
                elif kind == "abandoned":
                    ended.append((conn, None, False))
                elif kind == "done":
                    ended.append((conn, None, True))
            if not ready:  # the soonest deadline passed
                for conn, state in running.items():
                    if state["deadline"] <= time.monotonic():
                        ended.append((conn, ReportError(
                            f"section {_where(nbs[state['nb']], state)!r} timed out after {timeout} s"), False))
            for conn, error, done in ended:
                if conn not in running:  # its notebook failed already
                    continue
                state = running.pop(conn)
                conn.close()
                k = state["nb"]
                if error is not None:
                    for other, st in list(running.items()):  # its other parts are of no use now
                        if st["nb"] == k:
                            running.pop(other)
                            other.close()
                    _stop(trees.pop(k))
                    left.pop(k)
                    yield k, error, None
                elif done:
                    left[k] -= 1
                    if left[k] == 0:
                        _stop(trees.pop(k), wait=True)
                        left.pop(k)
                        yield k, None, state.get("finished")
    finally:
        for conn in running:
            conn.close()
        for proc in trees.values():
            _stop(proc)


def _split(nb, n: int) -> tuple[list[int], list[list[int]]]:
    """The shared cells, and the cells of each of `n` shares without them."""
    shared = sections(nb)[0]
    return shared, [share[len(shared):] for share in shares(nb, n)]


def _code(nb, indexes: list[int]) -> list[tuple[int, str]]:
    return [(i, source(nb["cells"][i])) for i in indexes if nb["cells"][i]["cell_type"] == "code"]


def _stop(proc, wait: bool = False) -> None:
    """End a notebook's worker and its forks (its process group); a worker that finished gets a moment to exit."""
    if wait:
        proc.join(5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # no such group: it has ended, or had not made its group yet
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
    proc.join()


def _where(nb, state) -> str:
    return "setup" if state["cell"] is None else section_of(nb, state["cell"])


def _set_outputs(cell, outputs) -> None:
    cell["outputs"] = outputs
    cell["execution_count"] = None


def first_line(text: str) -> str:
    """The first line of a message, at most 300 characters: what a one-line error shows."""
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else ""


# -- the kernel engine ------------------------------------------------------------------------
def execute_on_kernel(nb, timeout: int = 300):
    """Run the notebook on one Jupyter kernel with nbclient, as `jupyter nbconvert --execute` does."""
    import shutil
    import tempfile

    import nbformat

    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    runtime = tempfile.mkdtemp(prefix=".incident-kernel-", suffix=".tmp")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(runtime, "k"))
    km.client_class = "jupyter_client.asynchronous.AsyncKernelClient"
    node = nbformat.from_dict(nb)
    client = NotebookClient(node, km=km, timeout=timeout, record_timing=False,
                            resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute(cwd=os.getcwd())
    except CellExecutionError as exc:
        raise ReportError(f"section {_failed_section(node)!r} failed: {exc.ename}: {first_line(exc.evalue)}") from None
    except CellTimeoutError:
        raise ReportError(f"section {_failed_section(node)!r} timed out after {timeout} s") from None
    except DeadKernelError:
        raise ReportError("the kernel died while running the report") from None
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    for cell, done in zip(nb["cells"], node.cells):  # the same page as the fork engine: no stderr, no prompts
        if cell["cell_type"] == "code":
            cell["outputs"] = [o for o in done.outputs if not (o.output_type == "stream" and o.name == "stderr")]
            cell["execution_count"] = None
    return nb


def _failed_section(nb) -> str:
    for i, cell in enumerate(nb["cells"]):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return section_of(nb, i)
    return "unknown"


__all__ = ["ENGINES", "ReportError", "execute", "execute_on_kernel", "preload", "sections", "shares"]
