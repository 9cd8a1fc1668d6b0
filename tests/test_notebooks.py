"""Every notebook in notebooks/ runs from top to bottom without a cell error."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPLORATION = [p for p in NOTEBOOKS if p.name[:2].isdigit()]  # 01-timeline.ipynb, ...


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline, as in Jupyter
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    if path in EXPLORATION:  # every figure cell shows its figure
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("ax = plot_"):
                shown = [o for o in cell.outputs if "image/png" in o.get("data", {})]
                assert len(shown) == 1, f"{path.name}: {cell.source!r} shows {len(shown)} figures"


@pytest.mark.parametrize("path", EXPLORATION, ids=[p.name for p in EXPLORATION])
def test_exploration_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"
