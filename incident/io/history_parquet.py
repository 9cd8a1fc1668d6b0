"""The history table as a Parquet file: written atomically, read back with the same types.

A history table (`history_schema.HISTORY_COLUMNS`) is stored with one fixed
Arrow schema, so that a file written from any source reads back as the table
the importers build, and so that DuckDB can query it without pandas:

- `start`, `detected`, `mitigated`, `resolved`: timestamp[ns, UTC];
- `ttd` … `ttr` and `hours_to_*`: float64 minutes / hours, null where unknown;
- `components`, `mitigation_actions`: list<string> (an empty list, never null);
- text columns: string; `exact`: bool;
- the import report: JSON in the file's metadata under `incident.import_report`.

Reading gives back the importers' pandas types exactly (object columns of
`str`/None, Python lists, datetime64[ns, UTC]), so a table survives a round
trip unchanged (tests/test_history_parquet.py). Columns that are not history
columns (the folder index's `path`, `size`, `mtime_ns`) are stored as Arrow
infers them.

Writing builds the file in memory and hands it to `files.atomic_write`: a
reader never sees half a file. For histories too large to hold in memory,
write row groups with `arrow_schema()` and `to_arrow()` through
`pyarrow.parquet.ParquetWriter` (benchmarks/history_scale.py does).

pyarrow comes with the `history` extra (`pip install 'incident[history]'`):
it is imported by the functions that need it, and a missing pyarrow is one
IncidentError naming the extra. `is_parquet` and `check_parquet` need none.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from incident.core.errors import IncidentError
from incident.core.extras import optional
from incident.io.files import open_regular
from incident.io.files import atomic_write
from incident.io.history_schema import HISTORY_COLUMNS, LIST_COLUMNS, NUMBER_COLUMNS, TIME_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

MAX_FILE_BYTES = 64_000_000_000  # the pandas path reads only the columns it needs; DuckDB streams
MAGIC = b"PAR1"  # a Parquet file starts and ends with these four bytes
PREFIX = "incident."  # this tool's keys in the file's metadata
REPORT_KEY = b"incident.import_report"
ROW_GROUP = 1_000_000  # rows per row group: DuckDB reads row groups in parallel, and skips by their statistics


def arrow_schema(extra: pa.Schema | None = None) -> pa.Schema:
    """The Arrow schema of a stored history table (and of `extra` columns after it)."""
    pa = _pyarrow("an Arrow schema")
    fields = []
    for col in HISTORY_COLUMNS:
        if col in TIME_COLUMNS:
            kind = pa.timestamp("ns", tz="UTC")
        elif col in NUMBER_COLUMNS:
            kind = pa.float64()
        elif col in LIST_COLUMNS:
            kind = pa.list_(pa.string())
        elif col == "exact":
            kind = pa.bool_()
        else:
            kind = pa.string()
        fields.append(pa.field(col, kind, nullable=col not in LIST_COLUMNS and col != "exact"))
    return pa.schema(fields + list(extra or []))


def to_arrow(table: pd.DataFrame, metadata: dict[str, str] | None = None) -> pa.Table:
    """A history table as an Arrow table of `arrow_schema()`, its import report in the metadata.

    Columns beyond HISTORY_COLUMNS follow, typed as Arrow infers them;
    `metadata` (text) is stored beside the report and read back into `attrs["metadata"]`.
    """
    pa = _pyarrow("an Arrow table")
    schema = arrow_schema()
    arrays = []
    for field in schema:
        values = table[field.name]
        if field.name in LIST_COLUMNS:
            values = [list(v) if v is not None else [] for v in values]
        elif field.name in TIME_COLUMNS:
            values = pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
        elif field.type == pa.string():
            values = values.astype(object).where(values.notna(), None)
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    extra = [c for c in table.columns if c not in HISTORY_COLUMNS]
    extra_arrays = [pa.array(table[c].to_numpy(), from_pandas=True) for c in extra]
    full = pa.schema(list(schema) + [pa.field(c, a.type) for c, a in zip(extra, extra_arrays)])
    report = json.dumps(table.attrs.get("import_report", {}), ensure_ascii=False).encode("utf-8")
    stored = {REPORT_KEY: report, **{(PREFIX + k).encode(): str(v).encode() for k, v in (metadata or {}).items()}}
    return pa.Table.from_arrays(arrays + extra_arrays, schema=full.with_metadata(stored))


def from_arrow(data: pa.Table) -> pd.DataFrame:
    """The pandas history table of an Arrow table written by `to_arrow` (all columns or some).

    Each column gets the type `history_schema.history_frame` gives it; a
    subset of the columns stays a subset (an analysis reads only what it needs).
    """
    names = [c for c in HISTORY_COLUMNS if c in data.column_names]
    names += [c for c in data.column_names if c not in HISTORY_COLUMNS]
    table = pd.DataFrame({col: _series(col, data.column(col)) for col in names}, index=pd.RangeIndex(data.num_rows))
    table.attrs["import_report"] = import_report_of(data.schema)
    metadata = {k.decode()[len(PREFIX):]: v.decode() for k, v in (data.schema.metadata or {}).items()
                if k.startswith(PREFIX.encode()) and k != REPORT_KEY}
    if metadata:  # only when written with some: a plain history reads back with the attrs it had
        table.attrs["metadata"] = metadata
    return table


def _series(col: str, array) -> pd.Series:
    if col in LIST_COLUMNS:
        return pd.Series([v if v is not None else [] for v in array.to_pylist()], dtype=object)
    if col in TIME_COLUMNS:
        return pd.Series(array.to_pandas(), dtype="datetime64[ns, UTC]")
    if col in NUMBER_COLUMNS:
        return pd.Series(array.to_numpy(zero_copy_only=False), dtype=float)
    if col == "exact":
        return pd.Series(array.to_numpy(zero_copy_only=False), dtype=bool)
    if col in HISTORY_COLUMNS:  # text: str or None, as the importers give it
        return pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
    return array.to_pandas()


def import_report_of(schema: pa.Schema) -> dict[str, int]:
    """The import report stored in a Parquet file's schema metadata ({} if none)."""
    raw = (schema.metadata or {}).get(REPORT_KEY)
    return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


def write_history(table: pd.DataFrame, path: str | Path, row_group_size: int = ROW_GROUP,
                  metadata: dict[str, str] | None = None) -> Path:
    """Write a history table to `path` as Parquet (zstd), atomically; return the path.

    The file is built in memory, then renamed into place (`atomic_write`), so a
    failed write leaves any older file as it was. Raises OSError as the system reports it,
    IncidentError if pyarrow is not installed.
    """
    pa = _pyarrow("writing Parquet", str(path))
    sink = pa.BufferOutputStream()
    pa.parquet.write_table(to_arrow(table, metadata), sink, compression="zstd", row_group_size=row_group_size)
    return atomic_write(path, sink.getvalue().to_pybytes())


def read_history(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The history table stored at `path` (only `columns`, if given), its import report in attrs.

    Raises IncidentError for a file that is missing, not a regular file, too
    large, not Parquet, or not a history table, and if pyarrow is not installed.
    """
    file = check_parquet(path)
    pa = _pyarrow("reading Parquet", file)
    wanted = list(columns) if columns is not None else None
    try:
        parquet = pa.parquet.ParquetFile(file, memory_map=True)
        missing = [c for c in (wanted or HISTORY_COLUMNS) if c not in parquet.schema_arrow.names]
        if missing:
            raise IncidentError.single(str(path), f"not a history table: no column {', '.join(missing)}")
        data = parquet.read(columns=wanted)
    except (pa.ArrowException, OSError) as exc:
        raise IncidentError.single(str(path), f"cannot read Parquet file: {exc}") from None
    return from_arrow(data)


def check_parquet(path: str | Path) -> str:
    """`path` as text if it is a regular, readable Parquet file within the size limit; else IncidentError.

    The file is stat-ed and its first bytes checked before any Parquet reader
    opens it: a FIFO or device would block or never end.
    """
    file = str(path)
    try:
        mode = os.stat(file).st_mode
    except FileNotFoundError:
        raise IncidentError.single(file, "no such Parquet file") from None
    except OSError as exc:
        raise IncidentError.single(file, f"cannot read Parquet file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise IncidentError.single(file, "not a regular file; give a Parquet file")
    open_regular(file, MAX_FILE_BYTES, "Parquet file").close()  # a regular file within the size limit
    if not is_parquet(file):
        raise IncidentError.single(file, "not a Parquet file (it does not start with PAR1)")
    return file


def _pyarrow(needed_for: str, file: str = "<history>"):
    """pyarrow with its `parquet` module loaded, or IncidentError naming the `history` extra."""
    optional("pyarrow.parquet", needed_for, file)
    return optional("pyarrow", needed_for, file)


def is_parquet(path: str | Path) -> bool:
    """Whether `path` is a regular file that starts with Parquet's magic bytes."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as stream:
            return stream.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
