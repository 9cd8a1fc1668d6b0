"""Where the project is: notebooks run from notebooks/ or from the root."""

from __future__ import annotations

from pathlib import Path

MARKER = "pyproject.toml"


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: the working folder) holding pyproject.toml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise FileNotFoundError(f"no {MARKER} in {here} or any folder above it: run from inside the project")
