"""Libraries that only some uses need, and the extra of the package that installs each.

`pip install incident` brings what postmortems and histories need (the
history statistics run on DuckDB through ibis, Parquet through pyarrow).
The Spark engine needs pyspark (and Java): `pip install 'incident[spark]'`.
It is imported where it is used, through `optional`, so that a missing one is
one line naming the extra, not a traceback; `available` tells whether an
optional speed-up (psutil) is there.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from incident.core.errors import IncidentError

# top-level module -> the extra that installs it (pyproject.toml, [project.optional-dependencies])
EXTRAS = {"pyspark": "spark"}


def optional(module: str, needed_for: str, file: str) -> ModuleType:
    """The module `module` (dotted names too), imported; IncidentError naming its extra if it is missing.

    `needed_for` says what needs it ("reading Parquet"); `file` is what was
    being read or written, as in every problem the command prints:
    "x.parquet: the Spark engine needs pyspark: pip install 'incident[spark]'".
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
