"""The history report notebook runs from any folder with the two real histories as parameters."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from test_history_import import github_file, issre_dir  # noqa: F401 (fixtures)

NOTEBOOK = ROOT / "incident" / "report" / "history.ipynb"


def test_parameters_cell_is_tagged():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1 and "history_sources = [" in cells[0].source and "group_by = [" in cells[0].source


@pytest.mark.slow
def test_report_runs_from_a_temporary_folder(tmp_path, issre_dir, github_file):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    params = nbformat.v4.new_code_cell(f"history_sources = {[str(issre_dir), str(github_file)]!r}\n"
                                       f"group_by = ['provider', 'component', 'quarter']\n")
    params.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, params)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "time to detect" in html and "By component" in html and "<table" in html
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4  # ECDF, 2 comparisons, the trend
    assert list(tmp_path.iterdir()) == []  # wrote nothing where it ran
