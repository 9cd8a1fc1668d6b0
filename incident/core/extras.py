"""Libraries that a postmortem does not need, and the extra of the package that installs each.

`pip install incident` brings what a postmortem needs. Large histories
(Parquet files, the folder index, the DuckDB engine) need pyarrow, duckdb
and ibis: `pip install 'incident[history]'`; the Spark engine needs pyspark
(and Java): `pip install 'incident[spark]'`. Each is imported where it is used,
through `optional`, so that a missing one is one line naming the extra, not a
traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from incident.core.errors import IncidentError

# top-level module -> the extra that installs it (pyproject.toml, [project.optional-dependencies])
EXTRAS = {"pyarrow": "history", "duckdb": "history", "ibis": "history", "pyspark": "spark"}


def optional(module: str, needed_for: str, file: str) -> ModuleType:
    """The module `module` (dotted names too), imported; IncidentError naming its extra if it is missing.

    `needed_for` says what needs it ("reading Parquet"); `file` is what was
    being read or written, as in every problem the command prints:
    "x.parquet: reading Parquet needs pyarrow: pip install 'incident[history]'".
    """
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != top:  # installed, but something it imports is missing: show that
            raise
        raise IncidentError.single(file, f"{needed_for} needs {top}: pip install 'incident[{EXTRAS[top]}]'") from None


def available(module: str) -> bool:
    """Whether `module` can be imported (for what only goes faster with it, such as the folder index)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
