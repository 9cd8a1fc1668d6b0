"""Render the postmortem: run the report notebook, export one offline HTML file, write it safely.

The notebook `postmortem.ipynb` (shipped in this package) takes its incident
folder as a papermill-style parameter. `render` validates the incident first
(bad input fails before anything runs), checks that the output can be
written, runs the notebook (`incident.report.execute`), exports it with
nbconvert's HTMLExporter through the package's template (code and prompts
hidden, figures embedded, nothing remote), and writes the file atomically: a
failure never leaves a partial report nor touches an existing one.
`render_many` does the same for a batch, several incidents side by side.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from incident.core.errors import IncidentError
from incident.io.files import atomic_write as _atomic_write, remove_stale
from incident.io.loader import incident_file, load
from incident.report.execute import ReportError, execute, execute_many, first_line

PACKAGE = Path(__file__).resolve().parent
NOTEBOOK = PACKAGE / "postmortem.ipynb"
TEMPLATES = PACKAGE / "templates"
WORKERS = max(1, min(2, os.cpu_count() or 1))  # workers side by side: the sections of one report, or reports
HTML_SUFFIXES = (".html", ".htm")

__all__ = ["ReportError", "Result", "render", "render_many", "default_output", "build_notebook", "export_html",
           "atomic_write", "terminal_progress"]


@dataclass(frozen=True)
class Result:
    incident: str
    output: Path | None
    seconds: float
    error: str | None = None
    bad_input: bool = False
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def default_output(incident_path: str | Path, out: str | Path | None = None) -> Path:
    """reports/<id>.html, or <out>/<id>.html when `out` is a folder (anything but an .html or .htm file)."""
    return output_path(incident_file(incident_path).parent.name, out)


def output_path(name: str, out: str | Path | None = None) -> Path:
    """`out` when it names an .html or .htm file; else <out or reports>/<name>.html."""
    if out is not None and Path(out).suffix.lower() in HTML_SUFFIXES and not Path(out).is_dir():
        return Path(out)
    return Path(out or "reports") / f"{name}.html"


def build_notebook(incident_path: str | Path, notebook: Path | None = None, blameless: bool = False):
    """The postmortem notebook with the incident folder (and the blameless choice) injected as parameters."""
    return with_parameters(notebook or NOTEBOOK, incident_path=str(Path(incident_path).resolve()),
                           blameless=blameless)


def with_parameters(notebook: Path, **parameters) -> dict:
    """A notebook (as plain JSON data) with a cell setting `parameters` after its `parameters` cell, as papermill does.

    Values are written as Python literals (`repr`), so a path or a list of
    paths reaches the notebook as data, never as code. The notebook stays
    plain data until it is exported: nbformat (and its JSON-schema machinery)
    is imported while the cells run.
    """
    import json

    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    for cell in nb["cells"]:  # a file may hold a cell's text as a list of lines, as nbformat writes it
        if not isinstance(cell["source"], str):
            cell["source"] = "".join(cell["source"])
    source = "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    params = {"cell_type": "code", "id": "injected-parameters", "metadata": {"tags": ["injected-parameters"]},
              "source": source, "outputs": [], "execution_count": None}
    index = next((i for i, c in enumerate(nb["cells"]) if "parameters" in c["metadata"].get("tags", [])), -1)
    nb["cells"].insert(index + 1, params)
    return nb


def render_notebook(notebook: Path, out: str | Path, title: str, timeout: int = 300, workers: int = WORKERS,
                    **parameters) -> Path:
    """Run one of the package's report notebooks with `parameters` and write it as HTML to `out`."""
    out = prepare_output(Path(out))
    nb = with_parameters(notebook, **parameters)
    nb["metadata"]["title"] = title
    execute(nb, timeout=timeout, workers=workers, meanwhile=exporter)
    write(out, nb)
    return out


@lru_cache(maxsize=1)
def exporter():
    """nbconvert's HTML exporter with the package's template, ready to use.

    Its imports and the first compiling of its templates are the slow part
    (an empty notebook's export compiles them), so it is made early: while
    the cells run, or before a batch's workers fork.
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="postmortem",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"remove-cell"}), enabled=True)
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


def render(
    incident_path: str | Path,
    output: str | Path | None = None,
    keep_notebook: bool = False,
    timeout: int = 300,
    workers: int = WORKERS,
    engine: str = "fork",
    blameless: bool = False,
) -> Path:
    """Write the postmortem of `incident_path`; return the HTML file's path.

    IncidentError for bad input, ReportError when the report cannot be made
    or written; in both cases nothing is written.
    """
    inc = load(incident_path)
    out = prepare_output(default_output(incident_path, output))
    nb = build_notebook(incident_path, blameless=blameless)
    nb["metadata"]["title"] = f"Postmortem: {inc.title}"
    execute(nb, timeout=timeout, workers=workers, engine=engine, meanwhile=exporter)
    write(out, nb, keep_notebook)
    return out


def warm(inc) -> None:
    """Build what a batch's workers would each build again: the incident's exchange calendar."""
    if inc.market is not None:
        from incident.io.calendars import calendar

        try:
            calendar(inc.market.exchange)
        except ValueError:
            pass  # an unknown calendar is the notebook's error to report


def prepare_output(out: Path) -> Path:
    """Make the output's folder and check it can be written, before any work; clear stale temporaries."""
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ReportError(f"cannot create the output folder {folder}: a file is in the way ({exc.strerror})") from None
    except OSError as exc:
        raise ReportError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from None
    if out.is_dir():
        raise ReportError(f"cannot write {out}: it is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write {out}: no permission to write in {folder}")
    remove_stale(folder)
    return out


def write(out: Path, nb, keep_notebook: bool = False, page: str | None = None) -> None:
    """Export the executed notebook (unless its `page` is given) and write it, and the notebook if asked."""
    atomic_write(out, (page if page is not None else export_html(nb)).encode("utf-8"))
    if keep_notebook:
        import nbformat

        atomic_write(out.with_suffix(".ipynb"), nbformat.writes(nbformat.from_dict(nb)).encode("utf-8"))


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
    timeout: int = 300, blameless: bool = False,
) -> list[Result]:
    """Render several incidents, `workers` side by side; one failure does not stop the others.

    Folders without an incident file are skipped (a Result with `skipped`);
    two incidents that would write the same file are refused before anything
    runs. Results come in the order of `paths`.
    """
    started = time.perf_counter()
    paths = [str(p) for p in paths]
    results: list[Result | None] = [None] * len(paths)
    todo = []  # (position, notebook, output)
    for k, path in enumerate(paths):
        if Path(path).is_dir() and not incident_file(path).exists():
            results[k] = Result(path, None, 0.0, "no incident.yaml in this folder", skipped=True)
            continue
        try:
            inc = load(path)
        except IncidentError as exc:
            results[k] = Result(path, None, 0.0, first_line(str(exc)), bad_input=True)
            continue
        nb = build_notebook(path, blameless=blameless)
        nb["metadata"]["title"] = f"Postmortem: {inc.title}"
        warm(inc)
        todo.append((k, nb, default_output(path, out_dir)))
    clashes = _clashes([(paths[k], out) for k, _, out in todo])
    if clashes:  # bad input: refused before anything runs or is written
        raise IncidentError.single(str(out_dir or "reports"), clashes)
    for _, _, out in todo:
        prepare_output(out)
    done = sum(r is not None for r in results)
    if progress:
        progress(done, len(paths), "")
    exporter()  # imported before the workers fork: each exports its own pages, side by side
    notebooks = [nb for _, nb, _ in todo]
    for j, error, page in execute_many(notebooks, timeout=timeout, workers=workers, finish=export_html):
        k, nb, out = todo[j]
        if error is None:
            try:
                write(out, nb, keep_notebook, page)
            except ReportError as exc:
                error = exc
        results[k] = Result(paths[k], None if error else out, time.perf_counter() - started,
                            None if error is None else str(error))
        done += 1
        if progress:
            progress(done, len(paths), paths[k])
    return results


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
