"""Render the postmortem: run the report notebook, export one offline HTML file.

The notebook `postmortem.ipynb` (shipped in this package) takes its incident folder as a
papermill-style parameter. `render` validates the incident first (bad input
fails before a kernel starts), executes the notebook with nbclient, exports it
with nbconvert's HTMLExporter through our template (code and prompts hidden,
figures embedded, nothing remote), and writes the file atomically: a
temporary file renamed into place, so a failure never leaves a partial report
nor touches an existing one. `render_many` reuses one kernel for a batch.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from incident.core.errors import IncidentError
from incident.io.loader import incident_file, load

PACKAGE = Path(__file__).resolve().parent
NOTEBOOK = PACKAGE / "postmortem.ipynb"
TEMPLATES = PACKAGE / "templates"
KERNEL = "python3"
# Kernels for one report: its sections run side by side (see execute_parallel).
WORKERS = max(1, min(2, os.cpu_count() or 1))


class ReportError(RuntimeError):
    """The report could not be made: which section failed, and why."""


@dataclass(frozen=True)
class Result:
    incident: str
    output: Path | None
    seconds: float
    error: str | None = None
    bad_input: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def default_output(incident_path: str | Path, out: str | Path | None = None) -> Path:
    """reports/<id>.html, or <out>/<id>.html when `out` is a folder."""
    folder = incident_file(incident_path).parent
    name = f"{folder.name}.html"
    if out is None:
        return Path("reports") / name
    out = Path(out)
    return out / name if (out.is_dir() or out.suffix != ".html") else out


def build_notebook(incident_path: str | Path, notebook: Path | None = None):
    """The report notebook with the incident folder injected as a parameter."""
    import nbformat

    nb = nbformat.read(notebook or NOTEBOOK, as_version=4)
    params = nbformat.v4.new_code_cell(
        f"incident_path = {str(Path(incident_path).resolve())!r}\n", id="injected-parameters"
    )
    params.metadata["tags"] = ["injected-parameters"]
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), -1)
    nb.cells.insert(index + 1, params)
    return nb


def execute_parallel(nb, kms, timeout: int = 300):
    """Run the notebook's sections on several kernels at once, outputs in place.

    The report notebook's contract: the cells before the first section run
    on every kernel (parameters, imports, loading the incident); each section
    (cells sharing a `section` tag) depends on those alone, so sections can
    run on any kernel and their outputs are merged back in notebook order.
    """
    import nbformat
    from concurrent.futures import ThreadPoolExecutor

    shared, groups = _sections(nb)
    parts = _balance(nb, groups, len(kms))
    subs = []
    for cells in parts:
        sub = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
        order = shared + sorted(cells)
        sub.cells = [copy.deepcopy(nb.cells[i]) for i in order]
        subs.append((order, sub))
    with ThreadPoolExecutor(len(kms)) as pool:
        futures = [pool.submit(execute, sub, km, timeout) for (_, sub), km in zip(subs, kms)]
        errors = [f.exception() for f in futures]
    for (order, sub), error in zip(subs, errors):
        for i, cell in zip(order, sub.cells):
            if i not in shared or sub is subs[0][1]:
                nb.cells[i] = cell
    failed = [e for e in errors if e is not None]
    if failed:
        raise failed[0]
    return nb


def _sections(nb) -> tuple[list[int], list[list[int]]]:
    """Indexes of the shared cells, and of each section's cells."""
    shared: list[int] = []
    groups: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        section = cell.metadata.get("section")
        if section and section != "setup" and (groups or section not in ("setup",)):
            groups.setdefault(section, []).append(i)
        elif not groups:
            shared.append(i)
        else:
            groups[list(groups)[-1]].append(i)
    return shared, list(groups.values())


def _balance(nb, groups: list[list[int]], n: int) -> list[list[int]]:
    """Split sections over `n` kernels, the figure-heavy ones spread out."""
    def weight(group):
        return sum(1 + 4 * nb.cells[i].source.count("figure(") for i in group)

    loads = [[0, []] for _ in range(n)]
    for group in sorted(groups, key=weight, reverse=True):
        target = min(loads, key=lambda load: load[0])
        target[0] += weight(group)
        target[1].extend(group)
    return [cells for _, cells in loads]


def execute(nb, km=None, timeout: int = 300):
    """Run the notebook in place; raise ReportError naming the failing section."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    own = km is None
    if own:
        km = start_kernel()
    _join_warm_up(km)
    # nbclient needs an asyncio client: a blocking one waits for output forever on a kernel that died
    km.client_class = "jupyter_client.asynchronous.AsyncKernelClient"
    client = NotebookClient(
        nb, km=km, kernel_name=KERNEL, timeout=timeout, record_timing=False,
        resources={"metadata": {"path": os.getcwd()}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        raise ReportError(f"section {_failed_section(nb)!r} failed: {exc.ename}: {_first_line(exc.evalue)}") from None
    except CellTimeoutError:
        raise ReportError(f"section {_failed_section(nb)!r} timed out after {timeout} s") from None
    except DeadKernelError:
        raise ReportError(f"the kernel died while running section {_running_section(nb)!r}") from None
    finally:
        if own:
            stop_kernel(km)
    return nb


# What every report imports first. Sent to a new kernel at once, it loads there
# while this process imports nbformat and nbconvert (about a second each way).
WARM_UP = (
    "import matplotlib\n"
    "import pandas, incident, incident.report.postmortem, incident.plots, incident.market.reaction\n"
    "incident.io.calendars.calendar('XHKG')\n"
)


def start_kernel(warm_up: bool = True):
    """A Python kernel on local IPC sockets in a private temporary folder.

    With `warm_up`, a thread of its own sends the report's imports at once
    and waits for them, so the kernel loads them while this process goes on;
    `execute` joins that thread before it runs the notebook.
    """
    import threading

    from jupyter_client.manager import KernelManager

    runtime = tempfile.mkdtemp(prefix="incident-kernel-")
    km = KernelManager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(runtime, "k"))
    km.start_kernel(cwd=os.getcwd())
    km._incident_runtime = runtime
    km._incident_warm = None
    if warm_up:
        km._incident_warm = threading.Thread(target=_warm_up, args=(km,), daemon=True)
        km._incident_warm.start()
    return km


def _warm_up(km) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(WARM_UP, silent=True, store_history=False, timeout=120, output_hook=lambda msg: None)
    except Exception:  # noqa: BLE001 - a failed warm-up only costs time; the notebook reports real errors
        pass
    finally:
        kc.stop_channels()


def _join_warm_up(km) -> None:
    thread = getattr(km, "_incident_warm", None)
    if thread is not None:
        thread.join()
        km._incident_warm = None


def stop_kernel(km) -> None:
    import shutil

    try:
        _join_warm_up(km)
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    finally:
        km.cleanup_resources()
        shutil.rmtree(getattr(km, "_incident_runtime", ""), ignore_errors=True)


def export_html(nb) -> str:
    """The executed notebook as one self-contained HTML page."""
    from nbconvert import HTMLExporter

    from incident import __version__

    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="postmortem",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(_drop_cells_tagged("remove-cell"), enabled=True)
    resources = {
        "report_css": (TEMPLATES / "postmortem" / "report.css").read_text(encoding="utf-8"),
        "incident_version": __version__,
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def render(
    incident_path: str | Path,
    output: str | Path | None = None,
    keep_notebook: bool = False,
    km=None,
    timeout: int = 300,
) -> Path:
    """Write the postmortem of `incident_path`; return the HTML file's path."""
    return _render(load(incident_path), incident_path, output, keep_notebook, km, timeout)


def _render(inc, incident_path, output, keep_notebook, km, timeout) -> Path:
    out = default_output(incident_path, output)
    _make_folder(out.parent)  # an output that cannot be written fails before any kernel starts
    kms = [km] if km is not None else [start_kernel() for _ in range(WORKERS)]  # first: they warm up meanwhile
    try:
        nb = build_notebook(incident_path)
        nb.metadata["title"] = f"Postmortem: {inc.title}"
        if len(kms) > 1:
            execute_parallel(nb, kms, timeout=timeout)
        else:
            execute(nb, km=kms[0], timeout=timeout)
        html = export_html(nb)
    finally:
        if km is None:
            for k in kms:
                stop_kernel(k)
    atomic_write(out, html.encode("utf-8"))
    if keep_notebook:
        import nbformat

        atomic_write(out.with_suffix(".ipynb"), nbformat.writes(nb).encode("utf-8"))
    return out


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ReportError(f"cannot create the output folder {folder}: a file is in the way ({exc.strerror})") from None
    except OSError as exc:
        raise ReportError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from None


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder.

    The folder must exist: one that vanished while the report was made is an
    error, not something to create again.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if not path.parent.is_dir():
            raise ReportError(f"cannot write {path}: the folder {path.parent} is gone "
                              "(removed while the report was made?)") from None
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _unlink(tmp)
        raise


def render_many(
    paths, out_dir: str | Path | None = None, keep_notebook: bool = False, progress=None, workers: int = WORKERS
) -> list[Result]:
    """Render several incidents on a small pool of kernels, reused between them.

    Each worker keeps one kernel and resets its namespace between incidents;
    one failure does not stop the others. Results come in the order of `paths`.
    """
    import threading

    paths = list(paths)
    results: list[Result | None] = [None] * len(paths)
    pending = iter(enumerate(paths))
    lock = threading.Lock()
    done = 0

    def work() -> None:
        nonlocal done
        km = None
        try:
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                i, path = item
                results[i], km = _render_on(path, out_dir, keep_notebook, km)
                with lock:
                    done += 1
                    if progress:
                        progress(done, len(paths), str(path))
        finally:
            if km is not None:
                stop_kernel(km)

    if progress:
        progress(0, len(paths), "")
    threads = [threading.Thread(target=work) for _ in range(max(1, min(workers, len(paths))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _render_on(path, out_dir, keep_notebook, km):
    """One incident of a batch on kernel `km` (started or replaced as needed)."""
    started = time.perf_counter()
    try:
        inc = load(path)  # validate before touching the kernel
        if km is None or not km.is_alive():
            if km is not None:
                stop_kernel(km)
            km = start_kernel()
        else:
            _reset_kernel(km)
        out = _render(inc, path, out_dir, keep_notebook, km, 300)
        return Result(str(path), out, time.perf_counter() - started), km
    except IncidentError as exc:
        return Result(str(path), None, time.perf_counter() - started, _first_line(str(exc)), True), km
    except ReportError as exc:
        if km is not None:  # a cell that timed out may still be running: the next incident gets a fresh kernel
            stop_kernel(km)
        return Result(str(path), None, time.perf_counter() - started, str(exc)), None


def _reset_kernel(km) -> None:
    """Clear the user namespace so one incident cannot leak into the next."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("get_ipython().reset(new_session=False, aggressive=False)\nimport matplotlib.pyplot as _plt; _plt.close('all'); del _plt")])
    execute(nb, km=km, timeout=60)


def _drop_cells_tagged(tag: str):
    from nbconvert.preprocessors import Preprocessor

    class DropTagged(Preprocessor):
        def preprocess(self, nb, resources):
            nb = copy.copy(nb)
            nb.cells = [c for c in nb.cells if tag not in c.metadata.get("tags", [])]
            return nb, resources

    return DropTagged()


def _section_of(nb, index: int) -> str:
    for cell in reversed(nb.cells[: index + 1]):
        section = cell.metadata.get("section")
        if section:
            return section
    return "setup"


def _failed_section(nb) -> str:
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return _section_of(nb, i)
    return "unknown"


def _running_section(nb) -> str:
    last = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("execution_count"):
            last = i
    return _section_of(nb, last + 1 if last + 1 < len(nb.cells) else last)


def _first_line(text: str) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:300] if text else ""


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def terminal_progress(stream=sys.stderr):
    """A one-line progress bar when `stream` is a terminal, else None."""
    if not stream.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        width = 24
        filled = int(width * done / max(total, 1))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}")
        if done == total:
            stream.write("\r" + " " * (width + 50) + "\r")
        stream.flush()

    return show
