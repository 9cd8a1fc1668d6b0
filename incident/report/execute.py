"""Run the report notebook's cells, outputs recorded in the notebook as a kernel would record them.

Two engines:

- "fork" (the default): this process imports what the report needs once,
  then forks a worker per share of the notebook; each worker runs the cells
  in an IPython shell of its own, records what they display with IPython's
  `capture_output`, and sends the outputs back. No kernel is started and
  nothing is imported twice; a cell that crashes or kills its process kills
  a worker, never this process. The notebook's contract makes the shares
  possible: the cells before the first section (parameters, imports, loading
  the incident) run in every worker, and each section depends on them alone.
- "kernel": nbclient on a Jupyter kernel, exactly as `jupyter nbconvert
  --execute` runs it; slower, for checking that the two agree.

What a cell writes to stderr, warnings included, never reaches the page.
"""

from __future__ import annotations

import os
import signal
import time

ENGINES = ("fork", "kernel")
# What the report's cells import: loaded once here, before the workers fork.
PRELOAD = ("pandas", "matplotlib.pyplot", "scipy.special", "incident.report.postmortem", "incident.market.reaction",
           "incident.market.sessions", "incident.plots.timeline", "incident.plots.costs", "incident.plots.market",
           "incident.plots.eventstudy", "incident.plots.financials", "IPython.core.interactiveshell",
           "IPython.core.pylabtools", "IPython.utils.capture")


class ReportError(RuntimeError):
    """The report could not be made: which section failed, and why."""


def preload() -> None:
    """Import what every report needs, with matplotlib drawing off-screen."""
    import importlib

    import matplotlib

    matplotlib.use("agg")
    for name in PRELOAD:
        importlib.import_module(name)


# -- the notebook's shares -------------------------------------------------------------
def sections(nb) -> tuple[list[int], list[list[int]]]:
    """Indexes of the shared cells (before the first section), and of each section's cells."""
    shared: list[int] = []
    groups: dict[str, list[int]] = {}
    for i, cell in enumerate(nb["cells"]):
        section = cell["metadata"].get("section")
        if section and section != "setup":
            groups.setdefault(section, []).append(i)
        elif not groups:
            shared.append(i)
        else:
            groups[list(groups)[-1]].append(i)
    return shared, list(groups.values())


def shares(nb, n: int) -> list[list[int]]:
    """The notebook's cells in `n` shares (each with the shared cells), figure-heavy sections spread out."""
    shared, groups = sections(nb)

    def weight(group):
        return sum(1 + 4 * source(nb["cells"][i]).count("figure(") for i in group)

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
def run_cells(cells: list[tuple[int, str]], send) -> None:
    """In a worker: run each (index, source), sending ('cell', i) before and ('outputs', i, [...]) after.

    Outputs are what a Jupyter kernel with matplotlib's inline backend would
    record: what the cell displays, its last expression's value as an
    execute_result, and every figure it left open as a PNG, then closed.
    A cell that raises ends the run with ('error', i, name, message).
    """
    import warnings

    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    results: list[tuple[dict, dict]] = []
    shell.displayhook = _recording_display_hook(shell, results)
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` in a notebook: no event loop to start here
    select_figure_formats(shell, {"png"})
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
            return
        outputs = []
        if cap.stdout:
            outputs.append({"output_type": "stream", "name": "stdout", "text": cap.stdout})
        outputs += [{"output_type": "display_data", "data": o.data, "metadata": o.metadata or {}}
                    for o in cap.outputs]
        outputs += [{"output_type": "execute_result", "data": data, "metadata": metadata, "execution_count": None}
                    for data, metadata in results]
        send(("outputs", index, outputs))
    send(("done",))


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


def _worker(conn, cells, nb=None, finish=None) -> None:
    """A forked worker's life: run the cells, report through `conn`, exit without cleanup.

    With `finish`, the worker also records the outputs in its copy of `nb`
    and sends ('finished', finish(nb)) before it is done: work done by each
    worker in parallel (exporting its page) rather than by the parent.
    """
    code = 0
    try:
        if finish is None:
            run_cells(cells, conn.send)
        else:
            def send(message):
                if message[0] == "outputs":
                    _set_outputs(nb["cells"][message[1]], message[2])
                if message[0] == "done":
                    conn.send(("finished", finish(nb)))
                conn.send(message)

            run_cells(cells, send)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        try:
            conn.send(("error", -1, type(exc).__name__, str(exc)))
        except OSError:
            pass
        code = 1
    finally:
        conn.close()
        os._exit(code)  # no atexit handlers of the parent's libraries in a fork


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
    """Run several notebooks on forked workers, at most `workers` at a time; yield (index, error or None).

    A single notebook is split into shares run side by side; several run one
    worker each. A notebook is yielded as soon as all its shares are done,
    or at its first failure (its other shares are stopped). `meanwhile` is
    called once the first workers run: work for this process while it waits
    (importing the exporter, say). With `finish` (for notebooks run whole,
    one worker each), each worker also returns `finish(notebook)` once its
    cells ran, yielded third (None otherwise). Notebooks are plain dicts (or
    nbformat's nodes); each code cell's `outputs` are set.
    """
    preload()
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")
    jobs = []  # (notebook index, cells of the share, whether it reports the shared cells)
    for k, nb in enumerate(nbs):
        for n, share in enumerate(shares(nb, workers if len(nbs) == 1 else 1)):
            jobs.append((k, share, n == 0))
    left = {k: sum(1 for job in jobs if job[0] == k) for k in range(len(nbs))}
    failed: set[int] = set()
    running: dict = {}
    try:
        while jobs or running:
            while jobs and len(running) < max(1, workers):
                k, share, first = jobs.pop(0)
                if k in failed:
                    continue
                nb = nbs[k]
                parent_end, child_end = ctx.Pipe(duplex=False)
                cells = [(i, source(nb["cells"][i])) for i in share if nb["cells"][i]["cell_type"] == "code"]
                whole = finish is not None and len(share) == len(nb["cells"])
                proc = ctx.Process(target=_worker, args=(child_end, cells, nb if whole else None,
                                                         finish if whole else None), daemon=True)
                proc.start()
                child_end.close()
                running[parent_end] = {"nb": k, "process": proc, "cell": None, "first": first,
                                       "shared": set(sections(nb)[0]), "deadline": time.monotonic() + timeout}
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            if not running:
                continue
            soonest = min(state["deadline"] for state in running.values())
            ready = wait(list(running), timeout=max(0.0, soonest - time.monotonic()))
            finished = []
            for conn in ready:
                state = running[conn]
                nb = nbs[state["nb"]]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    message = ("died",)
                error = None
                if message[0] == "cell":
                    state["cell"] = message[1]
                elif message[0] == "outputs":
                    index, outputs = message[1], message[2]
                    if state["first"] or index not in state["shared"]:  # shared cells: the first share's outputs
                        _set_outputs(nb["cells"][index], outputs)
                elif message[0] == "error":
                    _, index, name, text = message
                    where = section_of(nb, index) if index >= 0 else _where(nb, state)
                    error = ReportError(f"section {where!r} failed: {name}: {_first_line(text)}")
                elif message[0] == "finished":
                    state["finished"] = message[1]
                elif message[0] == "died":
                    error = ReportError(f"the report's worker died while running section {_where(nb, state)!r}")
                if message[0] == "done" or error is not None:
                    finished.append((conn, error))
            if not ready:  # the soonest deadline passed
                for conn, state in running.items():
                    if state["deadline"] <= time.monotonic():
                        finished.append((conn, ReportError(
                            f"section {_where(nbs[state['nb']], state)!r} timed out after {timeout} s")))
            for conn, error in finished:
                state = running.pop(conn)
                _stop(state["process"], conn)
                k = state["nb"]
                if k in failed:
                    continue
                if error is not None:
                    failed.add(k)
                    for other, st in list(running.items()):  # its other shares are of no use now
                        if st["nb"] == k:
                            _stop(running.pop(other)["process"], other)
                    yield k, error, None
                    continue
                left[k] -= 1
                if left[k] == 0:
                    yield k, None, state.get("finished")
    finally:
        for conn, state in running.items():
            _stop(state["process"], conn)


def _stop(proc, conn) -> None:
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    conn.close()


def _where(nb, state) -> str:
    return "setup" if state["cell"] is None else section_of(nb, state["cell"])


def _set_outputs(cell, outputs) -> None:
    cell["outputs"] = outputs
    cell["execution_count"] = None


def _first_line(text: str) -> str:
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
        raise ReportError(f"section {_failed_section(node)!r} failed: {exc.ename}: {_first_line(exc.evalue)}") from None
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
