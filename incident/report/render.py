"""Make reports: run a report notebook on Jupyter kernels, export it as HTML or Markdown, write it safely.

The notebooks shipped in this package (`postmortem.ipynb`, `study.ipynb`,
`history.ipynb`) take their inputs as papermill-style parameters. A report is
made in this order, so that bad input or an unwritable output fails before
anything runs, and the waits overlap: the kernels are started (they boot and
import while this process goes on); the input is loaded and validated; the
output is checked; nbconvert's exporter is imported; the notebook runs
(`incident.report.kernel`); the page is exported through the package's
template (code and prompts hidden, figures embedded, nothing remote) and
written atomically: a failure never leaves a partial report nor touches an
existing one.

With `to="markdown"` the page is GitHub-flavoured Markdown for a repository
(`export_markdown`): NAME.md with its figures as SVG files in NAME_files/
beside it, linked relatively, written all or none (`write_markdown`).

An executed report is cached by what determines it (the notebook and its
parameters, the content of its inputs, the library's own files and the
versions of what draws the page): an unchanged incident is written again
from the cache without running anything. The executed notebook is kept
under that key and each page under the key and its format, so one run serves
both formats: a page not yet made in a format is exported from the kept
notebook. `render_many` does the same for a batch, on a few warm kernels.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from incident.core.errors import IncidentError
from incident.io.cache import Store, cache_folder, digest, files_digest
from incident.io.files import (
    atomic_write as _atomic_write, flush_to_disk, output_file, remove_stale, staging_folder,
)
from incident.io.loader import incident_file, load
from incident.report.kernel import WORKERS, Engine, ReportError, first_line

PACKAGE = Path(__file__).resolve().parent
NOTEBOOK = PACKAGE / "postmortem.ipynb"
TEMPLATES = PACKAGE / "templates"
HTML_SUFFIXES = (".html", ".htm")
MARKDOWN_SUFFIXES = (".md", ".markdown")
# a format → the suffixes of its page, the first the default
FORMATS = {"html": HTML_SUFFIXES, "markdown": MARKDOWN_SUFFIXES}
# What a postmortem's sections import, on top of what every report imports (kernel.WARM).
POSTMORTEM_WARM = ("scipy.special", "incident.market.reaction", "incident.market.sessions", "incident.plots.timeline",
                   "incident.plots.costs", "incident.plots.market", "incident.plots.eventstudy",
                   "incident.plots.financials")

__all__ = ["ReportError", "Result", "Job", "render", "render_many", "render_notebook", "default_output",
           "build_notebook", "export_html", "export_markdown", "write_markdown", "atomic_write", "terminal_progress",
           "cache_store", "FORMATS"]


@dataclass(frozen=True)
class Result:
    incident: str
    output: Path | None
    seconds: float
    error: str | None = None
    bad_input: bool = False
    skipped: bool = False
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Job:
    """One report to make: the notebook with its parameters, where it goes, and what determines it."""

    nb: dict
    out: Path
    inputs: list[str] = field(default_factory=list)  # files and folders whose content the report shows
    keep_notebook: bool = False
    force: bool = False
    to: str = "html"  # the page's format, a key of FORMATS

    @property
    def notebook_out(self) -> Path:
        return self.out.with_suffix(".ipynb")

    @property
    def figures_out(self) -> Path:
        """A Markdown page's figure folder: NAME_files/ beside NAME.md, as nbconvert and Quarto name it."""
        return figures_folder(self.out)

    def key(self) -> str:
        """What determines the executed notebook: the notebook with its parameters, its inputs' content, the library.

        No output format in it: the one run serves the HTML and the Markdown page.
        """
        return digest(json.dumps(self.nb, sort_keys=True), files_digest(self.inputs), library_digest())

    def page_entry(self, key: str) -> tuple[str, str]:
        """The cache entry (key, kind) of this job's page: the notebook's key with the format (and the
        figure folder's name, which the Markdown's links hold)."""
        if self.to == "html":
            return key, "html"
        return digest(key, self.to, self.figures_out.name), "md.json"


def figures_folder(page: Path) -> Path:
    return Path(page).with_name(f"{Path(page).stem}_files")


def default_output(incident_path: str | Path, out: str | Path | None = None, to: str = "html") -> Path:
    """reports/<folder>.html (.md for Markdown), or in `out` when it is a folder (anything but a page's file name)."""
    return output_path(Path(os.path.abspath(incident_file(incident_path))).parent.name, out, to)  # "." has a name too


def output_path(name: str, out: str | Path | None = None, to: str = "html") -> Path:
    """`out` when it names a page of the format (.html, .htm; .md, .markdown); else <out or reports>/<name>.<suffix>."""
    suffixes = FORMATS[to]
    if out is not None and Path(out).suffix.lower() in suffixes and not Path(out).is_dir():
        return Path(out)
    return Path(out or "reports") / f"{name}{suffixes[0]}"


def build_notebook(incident_path: str | Path, notebook: Path | None = None, blameless: bool = False):
    """The postmortem notebook with the incident folder (and the blameless choice) injected as parameters."""
    return with_parameters(notebook or NOTEBOOK, incident_path=str(Path(incident_path).resolve()),
                           blameless=blameless)


def with_parameters(notebook: Path, **parameters) -> dict:
    """A notebook (as plain JSON data) with a cell setting `parameters` after its `parameters` cell, as papermill does.

    Values are written as Python literals (`repr`), so a path or a list of
    paths reaches the notebook as data, never as code.
    """
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb["cells"]:  # a file may hold a cell's text as a list of lines, as nbformat writes it
        if not isinstance(cell["source"], str):
            cell["source"] = "".join(cell["source"])
    source = "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    params: dict[str, Any] = {"cell_type": "code", "id": "injected-parameters",
                              "metadata": {"tags": ["injected-parameters"]},
                              "source": source, "outputs": [], "execution_count": None}
    index = next((i for i, c in enumerate(nb["cells"]) if "parameters" in c["metadata"].get("tags", [])), -1)
    nb["cells"].insert(index + 1, params)
    return nb


@lru_cache(maxsize=1)
def library_digest() -> str:
    """The package's own files (code, notebooks, templates, styles) and the versions of what draws a page."""
    from importlib.metadata import PackageNotFoundError, version

    root = PACKAGE.parent
    files = sorted(p for p in root.rglob("*") if p.suffix in {".py", ".ipynb", ".j2", ".css", ".json", ".mplstyle"}
                   and "__pycache__" not in p.parts)
    parts: list[str | bytes] = [sys.version]
    for name in ("matplotlib", "pandas", "numpy", "scipy", "nbconvert", "jinja2", "exchange-calendars"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} -")
    for path in files:
        parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts)


def cache_store() -> Store | None:
    """Where executed reports are kept (the user's cache folder, `reports/`)."""
    return Store(cache_folder("reports"))


def render_notebook(notebook: Path, out: str | Path, title: str, *, inputs: Iterable[str | Path] = (),
                    check: Callable[[], object] | None = None, warm: Iterable[str] = (), keep_notebook: bool = False,
                    force: bool = False, cache: bool = True, timeout: float = 300, kernels: int = 1,
                    to: str = "html", **parameters) -> Path:
    """Run one of the package's report notebooks with `parameters` and write it as HTML (or `to`) to `out`.

    `inputs` are the files and folders the report shows (their content keys
    the cache); `check()` validates them (raising IncidentError) while the
    kernels start; `warm` is what the kernels import meanwhile.
    """
    nb = with_parameters(notebook, **parameters)
    nb["metadata"]["title"] = title
    job = Job(nb, Path(out), [str(p) for p in inputs], keep_notebook, force, to)
    return make(job, check=check, warm=warm, cache=cache, timeout=timeout, kernels=kernels)


def make(job: Job, check: Callable[[], object] | None = None, warm: Iterable[str] = (), cache: bool = True,
         timeout: float = 300, kernels: int = 1) -> Path:
    """Make `job`'s report: from the cache when its key is there, else on `kernels` fresh kernels."""
    check_outputs(job)
    store = cache_store() if cache else None
    key = job.key() if store is not None else None
    if store is not None and key is not None and from_cache(job, store, key):
        return job.out
    with Engine() as engine:
        started = [engine.start(warm) for _ in range(max(1, kernels))]  # they boot while we check the input
        if check is not None:
            check()
        page_exporter(job.to)
        executed = execute(engine, started, job.nb, timeout)
    finish(job, executed, store, key)
    return job.out


def execute(engine: Engine, kernels, nb, timeout: float):
    """Run `nb` on the kernels (a seam for tests that replace the run)."""
    return engine.run(kernels, nb, timeout)


def check_outputs(job: Job) -> None:
    """The output can be written, and the kept notebook replaces nothing unless forced; before any work."""
    prepare_output(job.out)
    figures = job.figures_out
    if job.to == "markdown" and (figures.is_symlink() or (figures.exists() and not figures.is_dir())):
        raise IncidentError.single(str(figures), "is in the way of the page's figure folder: "
                                   "move it, or give another output name")
    if job.keep_notebook and not job.force and job.notebook_out.exists():
        raise IncidentError.single(str(job.notebook_out), "already exists: give --force to replace it, "
                                   "or another output name")


def from_cache(job: Job, store: Store, key: str) -> bool:
    """Write `job`'s page (and notebook) from the cache; False when they are not there (or damaged).

    A page not kept in `job`'s format (made in the other one) is exported
    from the kept executed notebook: nothing runs again.
    """
    page = store.get(*job.page_entry(key))
    notebook = store.get(key, "ipynb") if job.keep_notebook or page is None else b""
    if notebook is None:
        return False
    if page is None:
        import nbformat

        finish(job, nbformat.reads(notebook.decode("utf-8"), as_version=4), store, key)
        return True
    write_page(job, page)
    if job.keep_notebook:
        atomic_write(job.notebook_out, notebook)
    return True


def finish(job: Job, executed, store: Store | None, key: str | None, page: str | None = None) -> None:
    """Export the executed notebook (unless its HTML `page` is given), write it, keep both in the cache."""
    import nbformat

    if page is not None:
        entry = page.encode("utf-8")
    elif job.to == "markdown":
        text, files = export_markdown(executed, job.figures_out.name)
        entry = markdown_entry(text, files)
    else:
        entry = export_html(executed).encode("utf-8")
    notebook = nbformat.writes(executed).encode("utf-8") if job.keep_notebook or store is not None else b""
    write_page(job, entry)
    if job.keep_notebook:
        atomic_write(job.notebook_out, notebook)
    if store is not None and key is not None:
        store.put(key, "ipynb", notebook)
        store.put(*job.page_entry(key), entry)


def write_page(job: Job, entry: bytes) -> None:
    """Write a page as the cache keeps it: HTML bytes, or a Markdown page with its figures (`markdown_entry`)."""
    if job.to == "markdown":
        bundle = json.loads(entry)
        files = {name: base64.b64decode(data) for name, data in bundle["files"].items()}
        write_markdown(job.out, bundle["page"], files)
    else:
        atomic_write(job.out, entry)


def markdown_entry(page: str, files: dict[str, bytes]) -> bytes:
    """A Markdown page and its figure files as one cache entry."""
    return json.dumps({"page": page, "files": {name: base64.b64encode(data).decode("ascii")
                                               for name, data in files.items()}}).encode("utf-8")


def _configured(kind, template: str, **options):
    """An nbconvert exporter of `kind` with one of the package's templates: code, prompts and 'remove-cell' cells left out."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = kind(extra_template_basedirs=[str(TEMPLATES)], template_name=template, exclude_input=True,
                    exclude_input_prompt=True, exclude_output_prompt=True, **options)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"remove-cell"}), enabled=True)
    return exporter


@lru_cache(maxsize=1)
def exporter():
    """nbconvert's HTML exporter with the package's template, ready to use.

    Its imports and the first compiling of its templates are the slow part
    (an empty notebook's export compiles them), so it is made early: while
    the kernels start.
    """
    from nbconvert import HTMLExporter

    exporter = _configured(HTMLExporter, "postmortem")
    exporter.register_filter("base64", lambda text: base64.b64encode(text.encode("utf-8")).decode("ascii"))
    _export(exporter, {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    return exporter


def export_html(nb) -> str:
    """The executed notebook as one self-contained HTML page."""
    return _export(exporter(), nb)


def _export(exporter, nb) -> str:
    import nbformat

    from incident import __version__

    resources = {
        "report_css": (TEMPLATES / "postmortem" / "report.css").read_text(encoding="utf-8"),
        "incident_version": __version__,
    }
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb), resources=resources)
    return body


def page_exporter(to: str):
    """The exporter of format `to`, made ready (see `exporter`)."""
    return markdown_exporter() if to == "markdown" else exporter()


# -- Markdown ---------------------------------------------------------------------------------
FIGURE_TYPES = {"image/svg+xml": ".svg", "image/png": ".png"}  # what a report shows as a figure, and its file's suffix
# Where a raw HTML block may start (CommonMark's HTML blocks of type 6): a fragment starting with anything
# else is put in a <div>, so that GitHub never reads it as Markdown text.
BLOCK_START = re.compile(r"<(?:h[1-6]|div|p|ul|ol|dl|table|header|nav|section|details|blockquote|figure|hr)[\s/>]",
                         re.IGNORECASE)


@lru_cache(maxsize=1)
def markdown_exporter():
    """nbconvert's Markdown exporter with the package's Markdown template, ready to use (see `exporter`)."""
    from nbconvert import MarkdownExporter
    from traitlets.config import Config

    # the figures are named in page order here, not by nbconvert's extractor
    exporter = _configured(MarkdownExporter, "postmortem-markdown",
                           config=Config({"ExtractOutputPreprocessor": {"enabled": False}}))
    exporter.register_filter("html_block", html_block)
    exporter.register_filter("markdown_text", markdown_text)
    exporter.register_filter("figure_alt", figure_alt)
    _export_markdown(exporter, {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, "_files")
    return exporter


def export_markdown(nb, figures: str) -> tuple[str, dict[str, bytes]]:
    """The executed notebook as a GitHub-flavoured Markdown page and its figure files (name → bytes).

    The page links each figure as `figures/figure-N.svg`, numbered in page
    order: `figures` is the folder's name, relative to the page.
    """
    return _export_markdown(markdown_exporter(), nb, figures)


def _export_markdown(exporter, nb, figures: str) -> tuple[str, dict[str, bytes]]:
    import nbformat

    from incident import __version__

    nb = nbformat.from_dict(nb)  # a copy: the figures' file names are the page's, not the kept notebook's
    files: dict[str, bytes] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            mime = next((m for m in FIGURE_TYPES if m in output.get("data", {})), None)
            if mime is None:
                continue
            name = f"figure-{len(files) + 1}{FIGURE_TYPES[mime]}"
            data = output["data"][mime]
            files[name] = data.encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(data)
            output.setdefault("metadata", {})["filenames"] = {mime: f"{figures}/{name}"}
    body, _ = exporter.from_notebook_node(nb, resources={"incident_version": __version__})
    return re.sub(r"\n{3,}", "\n\n", body).strip() + "\n", files


def html_block(fragment: str) -> str:
    """A section's HTML as one raw HTML block of Markdown: no blank line in it (one would end the block and
    make the rest Markdown text), starting where a block may start. HTML collapses the whitespace anyway."""
    fragment = re.sub(r"\n[ \t]*(?=\n)", "", str(fragment).strip())
    return fragment if BLOCK_START.match(fragment) else f"<div>\n{fragment}\n</div>"


def markdown_text(text: str) -> str:
    """`text` as Markdown inline text that means only itself: one line, Markdown's and HTML's characters escaped."""
    return re.sub(r"([\\`*_\[\]<>&!#|~])", r"\\\1", " ".join(str(text).split()))


def figure_alt(output, mime: str) -> str:
    """A figure's alternative text, as `incident.report.cells.show_figure` set it."""
    return (output.get("metadata", {}).get(mime) or {}).get("alt") or "Chart without a description"


def write_markdown(page_path: Path, page: str, files: dict[str, bytes]) -> None:
    """Write a Markdown page and its figure folder all or none; an existing page and folder only once both are ready.

    The figures are written in a staging folder beside the page; then the
    old folder is set aside, the new one renamed into place and the page
    written atomically (the page last, so a reader never meets a new page
    with old figures); the old folder goes only then. A failure at any step
    puts the old page and folder back as they were.
    """
    page_path = Path(page_path)
    folder = figures_folder(page_path)
    try:
        staged = staging_folder(page_path.parent)
    except OSError as exc:
        raise ReportError(f"cannot write in {page_path.parent}: {exc.strerror or exc}") from None
    new, old = staged / "new", staged / "old"
    moved = placed = False
    try:
        new.mkdir()
        for name, data in files.items():
            (new / name).write_bytes(data)
        flush_to_disk([new / name for name in files])
        if folder.is_dir() and not folder.is_symlink():
            os.rename(folder, old)
            moved = True
        if files:
            os.rename(new, folder)
            placed = True
        atomic_write(page_path, page.encode("utf-8"))
    except BaseException as exc:
        if placed:
            os.rename(folder, new)
        if moved:
            os.rename(old, folder)
        if isinstance(exc, OSError):
            raise ReportError(f"cannot write {folder}: {exc.strerror or exc}") from None
        raise
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def render(
    incident_path: str | Path,
    output: str | Path | None = None,
    keep_notebook: bool = False,
    timeout: float = 300,
    blameless: bool = False,
    *,
    force: bool = False,
    cache: bool = True,
    kernels: int = WORKERS,
    to: str = "html",
) -> Path:
    """Write the postmortem of `incident_path` as HTML (or `to`: "markdown"); return the page's path.

    IncidentError for bad input, ReportError when the report cannot be made
    or written; in both cases nothing is written. With `kernels` > 1 the
    sections are shared among that many kernels, side by side (the page is
    the same as one kernel's).
    """
    job = postmortem_job(incident_path, output, blameless, keep_notebook, force, to)
    return make(job, check=lambda: _titled(job, incident_path), warm=POSTMORTEM_WARM, cache=cache,
                timeout=timeout, kernels=kernels)


def postmortem_job(incident_path, output=None, blameless=False, keep_notebook=False, force=False,
                   to: str = "html") -> Job:
    """The postmortem of one incident folder as a Job (its title is set once the incident is loaded)."""
    nb = build_notebook(incident_path, blameless=blameless)
    return Job(nb, default_output(incident_path, output, to), [str(incident_file(incident_path).parent)],
               keep_notebook, force, to)


def _titled(job: Job, incident_path) -> None:
    """Validate the incident as `incident validate` does (IncidentError if bad); the page is titled after it.

    Runs while the kernels start: the file, then what its market section
    computes from the price files (`check_market`), so that nothing runs
    for an input the report would fail on halfway.
    """
    inc = load(incident_path)
    if inc.market is not None:
        from incident.market.checks import check_market

        check_market(inc)
    job.nb["metadata"]["title"] = f"Postmortem: {inc.title}"


def prepare_output(out: Path) -> Path:
    """Make the output's folder and check it can be written, before any work (IncidentError if not); clear stale temporaries."""
    output_file(out, "report")
    remove_stale(out.parent)
    return out


def atomic_write(path: Path, data: bytes) -> None:
    """`incident.io.files.atomic_write`, its failures said as a ReportError.

    The folder must exist: one that vanished while the report was made is an
    error, not something to create again.
    """
    path = Path(path)
    try:
        _atomic_write(path, data)
    except OSError as exc:
        if not path.parent.is_dir():
            raise ReportError(f"cannot write {path}: the folder {path.parent} is gone "
                              "(removed while the report was made?)") from None
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- many at once ------------------------------------------------------------------------
def render_many(
    paths, out_dir: str | Path | None = None, keep_notebook: bool = False, progress=None, workers: int = WORKERS,
    timeout: float = 300, blameless: bool = False, *, force: bool = False, cache: bool = True, to: str = "html",
) -> list[Result]:
    """Render several incidents on `workers` warm kernels; one failure does not stop the others.

    Folders without an incident file are skipped (a Result with `skipped`);
    two incidents that would write the same file are refused before anything
    runs (IncidentError). Results come in the order of `paths`.
    """
    started = time.perf_counter()
    paths = [str(p) for p in paths]
    results: list[Result | None] = [None] * len(paths)
    store = cache_store() if cache else None
    jobs: dict[int, Job] = {}
    for k, path in enumerate(paths):
        if Path(path).is_dir() and not incident_file(path).exists():
            results[k] = Result(path, None, 0.0, "no incident.yaml in this folder", skipped=True)
        else:
            jobs[k] = postmortem_job(path, out_dir, blameless, keep_notebook, force, to)
    clashes = _clashes([(paths[k], job.out) for k, job in jobs.items()])
    if clashes:  # bad input: refused before anything runs or is written
        raise IncidentError.single(str(out_dir or "reports"), clashes)
    for job in jobs.values():
        check_outputs(job)
    keys = {k: job.key() for k, job in jobs.items()} if store is not None else {}
    done = sum(r is not None for r in results)
    if progress:
        progress(done, len(paths), "")

    def record(k: int, error: str | None = None, bad: bool = False, cached: bool = False) -> None:
        nonlocal done
        results[k] = Result(paths[k], None if error else jobs[k].out, time.perf_counter() - started, error,
                            bad_input=bad, cached=cached)
        done += 1
        if progress:
            progress(done, len(paths), paths[k])

    todo = []
    for k, job in jobs.items():
        if store is not None and from_cache(job, store, keys[k]):
            record(k, cached=True)
        else:
            todo.append(k)
    if not todo:
        return _recorded(results)
    with Engine() as engine:
        engine.start_pool(min(workers, len(todo)), POSTMORTEM_WARM)  # they boot while the incidents are read
        runnable = []
        for k in todo:
            try:
                _titled(jobs[k], paths[k])
                runnable.append(k)
            except IncidentError as exc:
                record(k, first_line(str(exc)), bad=True)
        page_exporter(to)

        def written(position: int, executed) -> None:
            k = runnable[position]
            finish(jobs[k], executed, store, keys.get(k))

        for position, _, error in engine.run_many([jobs[k].nb for k in runnable], timeout=timeout,
                                                   done=written, workers=workers):
            record(runnable[position], None if error is None else str(error))
    return _recorded(results)


def _recorded(results: list[Result | None]) -> list[Result]:
    """The batch's results, once every path has one: skipped, cached, refused, or run (`run_many` yields each or raises)."""
    recorded = [r for r in results if r is not None]
    assert len(recorded) == len(results), "a path of the batch has no result"
    return recorded


def _clashes(targets: list[tuple[str, Path]]) -> str | None:
    """One line naming the incidents of a batch that would write the same file, or None."""
    seen: dict[Path, str] = {}
    for path, out in targets:
        key = out.resolve()
        if key in seen:
            return (f"{seen[key]} and {path} would both be written to {out}: "
                    "give them folders of different names, or render them one at a time")
        seen[key] = path
    return None


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
