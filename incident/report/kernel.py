"""Run report notebooks on Jupyter kernels with nbclient, as `jupyter nbconvert --execute` does.

The kernel is this interpreter's own (`sys.executable -m ipykernel_launcher`,
a kernel spec of ours, not whatever `python3` kernel the machine has
registered), so a report made from a virtual environment runs in it.

A report's kernel is started before the command reads its input: while the
incident is loaded and validated and the HTML exporter imported, the kernel
boots and imports what the report needs (`warm_code`). A batch keeps one
warm kernel per core and runs notebooks one after the other on each; between
two notebooks the kernel's namespace, figures, matplotlib settings and the
library's caches are cleared, so no incident sees another's state.

Whatever way the command ends (done, an error, a timeout, SIGINT, SIGTERM),
`Engine` stops every kernel it started; a kernel whose parent is killed
outright (SIGKILL) notices and exits by itself (ipykernel's parent poller).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

# what `signal.signal` takes and gives back: a handler, SIG_DFL / SIG_IGN, or None (set outside Python)
SignalHandler = Union[Callable[[int, Union[FrameType, None]], Any], int, signal.Handlers, None]

KERNEL_NAME = "incident-python"
STARTUP = 120  # seconds a kernel may take to boot and import before it is given up
GRACE = 10  # seconds a whole report may run past its timeout, so that a cell's own timeout is the one reported
WORKERS = max(1, min(2, os.cpu_count() or 1))  # warm kernels of a batch: one per core, two at most

# What every report imports, run before a notebook is given; a kind of report adds its own modules.
# The imports fill the module cache only: the notebook finds a namespace as empty as in Jupyter.
WARM = ("pandas", "matplotlib.pyplot", "IPython.display", "incident", "incident.report.postmortem")


def warm_code(modules: Iterable[str] = ()) -> str:
    """Code that imports `modules` (and WARM's) without leaving a name in the user's namespace."""
    names = list(dict.fromkeys([*WARM, *modules]))
    return ("def _incident_warm():\n    import importlib\n"
            f"    for name in {names!r}:\n        importlib.import_module(name)\n"
            "_incident_warm()\ndel _incident_warm\n")


# Run between two notebooks on one kernel: nothing of the first is left for the second.
RESET = """\
get_ipython().reset(new_session=False, aggressive=False)
import matplotlib as _mpl, matplotlib.pyplot as _plt
_plt.close("all")
_mpl.rcdefaults()  # the backend excepted: each report notebook chooses its own
from incident.plots.style import dropped_glyphs as _dropped
_dropped()  # the list of texts drawn without some glyphs, since it was last asked
del _mpl, _plt, _dropped
"""


class ReportError(RuntimeError):
    """The report could not be made: which section failed, and why."""


def first_line(text: str) -> str:
    """The first line of a message, at most 300 characters: what a one-line error shows."""
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else ""


def section_of(nb, index: int) -> str:
    """The report section cell `index` belongs to (its own or the last one named before it)."""
    for cell in reversed(nb["cells"][: index + 1]):
        if cell["metadata"].get("section"):
            return cell["metadata"]["section"]
    return "setup"


def kernel_spec_manager():
    """A kernel spec manager that knows one kernel: this interpreter running ipykernel, without a history database."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel

    class OwnKernel(KernelSpecManager):
        def find_kernel_specs(self) -> dict[str, str]:
            return {KERNEL_NAME: ""}

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name != KERNEL_NAME:
                raise NoSuchKernel(kernel_name)
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                      "--HistoryManager.enabled=False"],
                display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (incident)",
                language="python",
                env={"PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1"},
            )

    return OwnKernel()


class Kernel:
    """One kernel of this interpreter: started, warmed, given notebooks one after the other, stopped."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.km: AsyncKernelManager | None = None
        self.kc: AsyncKernelClient | None = None
        self.used = False  # a notebook ran here: reset before the next
        self.sockets: str | None = None  # the folder of its Unix sockets, removed when it stops

    async def start(self, warm: Iterable[str] = ()) -> "Kernel":
        """Launch the kernel process and queue the import of `warm` modules; returns at once, not when it is ready."""
        from jupyter_client.manager import AsyncKernelManager

        km = self.km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager(),
                                          **_transport(self))
        # Its output is not ours: a kernel holding the command's stdout would hang `$(incident report ...)`.
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.getcwd())
        kc = self.kc = km.client()
        kc.start_channels()
        kc.allow_stdin = False
        kc.execute(warm_code(warm), silent=True, store_history=False)  # queued until the kernel listens
        return self

    def _client(self) -> AsyncKernelClient:
        """The client of the running kernel; RuntimeError (a kernel that did not start) before `start` or after `stop`."""
        if self.kc is None:
            raise RuntimeError("the kernel is not running")
        return self.kc

    async def run(self, node, indexes: list[int] | None, timeout: float) -> None:
        """Execute the code cells `indexes` (all when None) of the NotebookNode `node` here, in order.

        Outputs are recorded on the cells as nbclient records them, less what
        cells write to stderr (warnings are the analyst's business, not the
        page's) and execution counts (a page has no prompts). ReportError
        names the section that failed or ran out of time; the kernel is then
        stopped.
        """
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        if self.used:
            await self._reset(timeout)
        self.used = True
        client = NotebookClient(node, km=self.km, timeout=timeout, startup_timeout=60, record_timing=False,
                                kernel_name=KERNEL_NAME, allow_errors=False)
        client.kc = self.kc
        current = -1
        try:
            info = await self._ready()
            node.metadata["language_info"] = info["content"]["language_info"]
            for current in range(len(node.cells)) if indexes is None else indexes:
                cell = node.cells[current]
                if cell.cell_type == "code":
                    await client.async_execute_cell(cell, current, execution_count=None)
                    cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
                    cell.execution_count = None
        except BaseException as exc:
            await self.stop()
            where = section_of(node, current) if current >= 0 else "setup"
            if isinstance(exc, CellExecutionError):
                raise ReportError(f"section {where!r} failed: {exc.ename}: {first_line(exc.evalue)}") from None
            if isinstance(exc, CellTimeoutError):
                raise ReportError(f"section {where!r} timed out after {timeout:g} s") from None
            if isinstance(exc, DeadKernelError):
                raise ReportError(f"the kernel died while running section {where!r}") from None
            if isinstance(exc, RuntimeError):  # nbclient's word for a kernel that never answered
                raise ReportError(f"the kernel did not start: {first_line(str(exc))}") from None
            raise  # cancelled (another share failed, a timeout, a signal): the caller says why

    async def _ready(self, seconds: float = STARTUP) -> dict:
        """The kernel's info reply, once it has booted and done its warm-up imports.

        A cell's timeout counts from here: starting the kernel and importing
        the libraries are not a section's time.
        """
        from queue import Empty

        kc = self._client()
        msg_id = kc.kernel_info()
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise RuntimeError(f"no answer in {seconds:g} s")
            try:
                reply = await kc.get_shell_msg(timeout=min(left, 1.0))
            except Empty:
                if self.km is not None and not await self.km.is_alive():  # exited while booting: say so now
                    raise RuntimeError("the kernel exited before it answered") from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    async def _reset(self, timeout: float) -> None:
        """Clear what the last notebook left in this kernel; ReportError if the kernel cannot."""
        reply = await self._client().execute_interactive(RESET, silent=True, store_history=False, timeout=timeout,
                                                         output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise ReportError("the kernel could not be cleared between two reports")

    async def stop(self) -> None:
        """Stop the kernel now (its process group killed) and remove its connection file."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            km, self.km = self.km, None
            with contextlib.suppress(Exception):
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                await km.cleanup_resources()
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None


def _transport(kernel: "Kernel") -> dict:
    """Where the kernel listens: Unix sockets in a folder of its own where there are any, else TCP on loopback.

    With TCP, jupyter_client picks free ports by binding and releasing them,
    and kernels started at once (two per report, reports side by side) can
    be given the same port: the loser never answers. Sockets in a private
    folder cannot collide.
    """
    if os.name != "posix":
        return {}
    import tempfile

    kernel.sockets = tempfile.mkdtemp(prefix=".incident-kernel-", suffix=".tmp")
    return {"transport": "ipc", "ip": os.path.join(kernel.sockets, "k")}


async def _all(runs) -> None:
    """Await every run; the first failure cancels the others (whose kernels stop) and is raised."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _within(run, timeout: float, node) -> None:
    """`run`, or ReportError once it has taken well over `timeout` seconds (its kernels are stopped).

    A cell that runs over `timeout` is reported by nbclient first, naming its
    section; this bounds the rest (a kernel that never starts, many cells
    each just under the limit).
    """
    try:
        await asyncio.wait_for(run, timeout + GRACE)
    except (asyncio.TimeoutError, TimeoutError):
        raise ReportError(f"the report took over {timeout + GRACE:g} s and was stopped") from None


class Engine:
    """The kernels of one command, on one event loop; `with Engine() as engine:` stops them all at the end.

    SIGTERM (and SIGHUP where there is one) end the command as SIGINT does:
    an exception in this thread, so the kernels are stopped on the way out.
    """

    def __init__(self) -> None:
        # zmq's asyncio sockets need a selector loop; Windows' default (proactor) has none
        self.loop: asyncio.AbstractEventLoop = (asyncio.SelectorEventLoop() if sys.platform == "win32"
                                                else asyncio.new_event_loop())
        self.kernels: list[Kernel] = []
        self.pool: list[Kernel] = []  # started by `start_pool`, taken by `run_many`
        self.warm: Iterable[str] = ()
        self._saved: dict[int, SignalHandler] = {}

    def __enter__(self) -> "Engine":
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None:
                with contextlib.suppress(ValueError, OSError):  # not the main thread: the caller's business
                    self._saved[signum] = signal.signal(signum, _interrupt)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.loop.run_until_complete(self._stop_all())
        finally:
            self.kernels.clear()
            self.loop.close()
            for signum, handler in self._saved.items():
                signal.signal(signum, handler)

    async def _stop_all(self) -> None:
        await asyncio.gather(*(k.stop() for k in self.kernels), return_exceptions=True)

    def start(self, warm: Iterable[str] = ()) -> Kernel:
        """A new kernel, launched now and warming up while the caller goes on."""
        kernel = Kernel(self.loop)
        self.kernels.append(kernel)
        self.loop.run_until_complete(kernel.start(warm))
        return kernel

    def run(self, kernels: list[Kernel], nb, timeout: float = 300):
        """Run `nb` (a dict or NotebookNode) on `kernels`; the executed NotebookNode.

        With one kernel the notebook runs whole, as in Jupyter. With more,
        each kernel runs the setup cells and then its share of the sections
        (`shares`), side by side; the page is the same (a test checks it).
        ReportError if a section fails or the whole takes over `timeout`
        seconds; the other kernels are then stopped too.
        """
        import nbformat

        node = nbformat.from_dict(nb)
        if len(kernels) == 1:
            self.loop.run_until_complete(_within(kernels[0].run(node, None, timeout), timeout, node))
            return node
        parts = shares(node, len(kernels))
        copies = [node] + [nbformat.from_dict(nb) for _ in parts[1:]]
        runs = [kernel.run(copy, part, timeout) for kernel, copy, part in zip(kernels, copies, parts)]
        self.loop.run_until_complete(_within(_all(runs), timeout, node))
        shared = set(sections(node)[0])
        for copy, part in zip(copies[1:], parts[1:]):
            for i in part:
                if i not in shared:
                    node.cells[i] = copy.cells[i]
        return node

    def start_pool(self, n: int, warm: Iterable[str] = ()) -> None:
        """Start `n` kernels for `run_many` now, so that they boot while the caller reads its input."""
        self.pool = [self.start(warm) for _ in range(n)]
        self.warm = warm

    def run_many(self, notebooks: Iterable, timeout: float = 300, workers: int = WORKERS,
                 done: Callable | None = None) -> Iterator[tuple[int, object, ReportError | None]]:
        """Run notebooks on `workers` kernels (the pool's, then new ones), each taking the next when it is free.

        Yields (position, executed notebook or None, error or None) as each
        finishes. `done(position, executed)` is called as soon as one is
        ready (to export and write it while the kernels go on); a
        ReportError it raises is that notebook's error. A kernel that failed
        or timed out is replaced by a new one; the others are cleared
        between two notebooks (`RESET`).
        """
        import nbformat

        notebooks = list(notebooks)
        pool, warm, self.pool = self.pool, self.warm, []
        queue = list(enumerate(notebooks))
        results: asyncio.Queue = asyncio.Queue()

        async def worker(kernel: Kernel | None):
            while queue:
                k, nb = queue.pop(0)
                if kernel is None:
                    kernel = Kernel(self.loop)
                    self.kernels.append(kernel)
                    await kernel.start(warm)
                executed = nbformat.from_dict(nb)
                try:
                    await _within(kernel.run(executed, None, timeout), timeout, executed)
                    if done is not None:
                        done(k, executed)
                    await results.put((k, executed, None))
                except ReportError as exc:
                    if kernel.km is None:
                        kernel = None  # stopped: the next notebook gets a new kernel
                    await results.put((k, None, exc))

        async def main():
            n = max(1, min(workers, len(notebooks)))
            kernels = (pool + [None] * n)[:n]
            tasks = [asyncio.ensure_future(worker(kernel)) for kernel in kernels]
            try:
                for _ in notebooks:
                    yield await results.get()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

        agen = main()
        try:
            while True:
                try:
                    yield self.loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.loop.run_until_complete(agen.aclose())


def sections(nb) -> tuple[list[int], list[list[int]]]:
    """Indexes of the setup cells (before the first section), and of each group of sections' cells.

    A section is its own group, unless its first cell's metadata says
    `runs_with: <section>`: sections that use one costly result (the market
    study) run on one kernel, which computes it once.
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
    """The notebook's cells in at most `n` shares of about equal cost, each beginning with the setup cells.

    A cell's cost is its metadata's `cost` (measured, in tenths of a
    second), else 4 for each figure it draws.
    """
    shared, groups = sections(nb)

    def source(cell) -> str:
        return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])

    def weight(group):
        cells = [nb["cells"][i] for i in group]
        return sum(c["metadata"].get("cost", 4 * source(c).count("figure(")) for c in cells) + 0.01 * len(cells)

    k = max(1, min(n, len(groups)))
    load: list[float] = [0] * k
    members: list[list[int]] = [[] for _ in range(k)]
    for group in sorted(groups, key=weight, reverse=True):
        target = min(range(k), key=load.__getitem__)  # the first of the least loaded, as before
        load[target] += weight(group)
        members[target].extend(group)
    return [shared + sorted(cells) for cells in members]


class Stopped(KeyboardInterrupt):
    """The command was asked to stop by a signal (SIGTERM, SIGHUP): ends it as Ctrl-C does, kernels stopped."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _interrupt(signum, frame):
    raise Stopped(signum)


__all__ = ["Engine", "Kernel", "ReportError", "Stopped", "KERNEL_NAME", "WORKERS", "first_line", "section_of",
           "kernel_spec_manager", "sections", "shares"]
