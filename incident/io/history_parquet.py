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

Reading checks the file's footer before a value is read: the columns and
their Arrow types (a `ttr` of text is refused, never parsed into numbers),
the import report in the metadata, and the size against the memory budget
(`MAX_MEMORY_ROWS`, `MAX_MEMORY_BYTES`): a Parquet file of a few MB can hold
tens of millions of identical rows (dictionary and run-length encoding), which
pandas would expand into tens of GB. Beyond the budget, `read_history`
refuses, and `incident history` uses the DuckDB engine
(`incident.analysis.history_engine.choose_engine`).

pyarrow is imported by the functions that need it, so that the commands that
read no history start without it. `is_parquet` and `check_parquet` need none.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from incident.core.errors import IncidentError
from incident.io.files import open_regular
from incident.io.files import atomic_write
from incident.io.history_schema import ADDED_COLUMNS, HISTORY_COLUMNS, LIST_COLUMNS, NUMBER_COLUMNS, TIME_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

MAX_FILE_BYTES = 64_000_000_000  # the pandas path reads only the columns it needs; DuckDB streams
MAGIC = b"PAR1"  # a Parquet file starts and ends with these four bytes
PREFIX = "incident."  # this tool's keys in the file's metadata
REPORT_KEY = b"incident.import_report"
ROW_GROUP = 1_000_000  # rows per row group: DuckDB reads row groups in parallel, and skips by their statistics
# The pandas engine's budget, checked from the footer before anything is read. Measured: `incident history`
# on pandas peaks at about 950 bytes of RSS a row (3,000,000 rows: 2.8 GB); 5,000,000 rows is then about
# 5 GB, a fifth of a 24 GB machine, with room for the exploded rows of --by component. Larger: DuckDB.
MAX_MEMORY_ROWS = 5_000_000
# Uncompressed bytes of the columns read: long texts cost their size again as Python strings.
MAX_MEMORY_BYTES = 2_000_000_000


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
    missing = [c for c in HISTORY_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"not a whole history table: no column {', '.join(missing)}")
    data = arrow_columns(table[HISTORY_COLUMNS + [c for c in table.columns if c not in HISTORY_COLUMNS]])
    report = json.dumps(table.attrs.get("import_report", {}), ensure_ascii=False).encode("utf-8")
    stored = {REPORT_KEY: report, **{(PREFIX + k).encode(): str(v).encode() for k, v in (metadata or {}).items()}}
    return data.replace_schema_metadata(stored)


def arrow_columns(table: pd.DataFrame) -> pa.Table:
    """The columns of a history table (all or some, in the table's order) as Arrow, each history column
    of its `arrow_schema()` type, any other typed as Arrow infers it; no metadata."""
    pa = _pyarrow("an Arrow table")
    schema = {field.name: field for field in arrow_schema()}
    fields, arrays = [], []
    for col in table.columns:
        values, field = table[col], schema.get(col)
        if field is None:
            array = pa.array(values.to_numpy(), from_pandas=True)
            field = pa.field(col, array.type)
        elif col in LIST_COLUMNS:  # lists, tuples or arrays of text; a missing one is the empty list
            array = pa.array(values.to_numpy(dtype=object), type=field.type, from_pandas=True)
            if array.null_count:
                array = pa.compute.fill_null(array, pa.scalar([], type=field.type))
        else:
            if col in TIME_COLUMNS:
                values = pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")
            elif field.type == pa.string():
                values = values.astype(object).where(values.notna(), None)
            array = pa.array(values, type=field.type, from_pandas=True)
        fields.append(field)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def from_arrow(data: pa.Table, file: str = "<history>") -> pd.DataFrame:
    """The pandas history table of an Arrow table written by `to_arrow` (all columns or some).

    Each column gets the type `history_schema.history_frame` gives it; a
    subset of the columns stays a subset (an analysis reads only what it needs).
    """
    names = [c for c in HISTORY_COLUMNS if c in data.column_names]
    names += [c for c in data.column_names if c not in HISTORY_COLUMNS]
    table = pd.DataFrame({col: _series(col, data.column(col)) for col in names}, index=pd.RangeIndex(data.num_rows))
    table.attrs["import_report"] = import_report_of(data.schema, file)
    metadata = {k.decode(errors="replace")[len(PREFIX):]: v.decode(errors="replace")
                for k, v in (data.schema.metadata or {}).items() if k.startswith(PREFIX.encode()) and k != REPORT_KEY}
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


def import_report_of(schema: pa.Schema, file: str = "<history>") -> dict[str, int]:
    """The import report stored in a Parquet file's schema metadata ({} if none).

    IncidentError naming `file` unless it is a JSON object of counts (whole numbers ≥ 0).
    """
    raw = (schema.metadata or {}).get(REPORT_KEY)
    if not raw:
        return {}
    try:
        report = json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deeply
        report = None
    if not isinstance(report, dict) or not all(
            type(v) is int and v >= 0 for v in report.values()):  # bool is not a count, nor 2.5
        raise IncidentError.single(file, f"malformed import report in the file's metadata ({REPORT_KEY.decode()}): "
                                         "expected a JSON object of counts; save the history again with --save")
    return {str(k): v for k, v in report.items()}


def write_history(table: pd.DataFrame, path: str | Path, row_group_size: int = ROW_GROUP,
                  metadata: dict[str, str] | None = None) -> Path:
    """Write a history table to `path` as Parquet (zstd), atomically; return the path.

    The file is built in memory, then renamed into place (`atomic_write`), so a
    failed write leaves any older file as it was. Raises OSError as the system reports it,
    IncidentError if pyarrow is not installed.
    """
    pa = _pyarrow("writing Parquet", str(path))
    sink = pa.BufferOutputStream()
    pa.parquet.write_table(to_arrow(table, metadata), sink, compression="zstd", row_group_size=row_group_size,
                           write_page_checksum=True)  # a flipped bit in a page is then an error, not a number
    return atomic_write(path, sink.getvalue().to_pybytes())


@dataclass(frozen=True)
class HistoryFile:
    """What the footer of a history Parquet file says, checked (`inspect_history`): nothing read yet."""

    path: str
    rows: int
    nbytes: int  # uncompressed bytes of the columns asked for, as the footer gives them
    import_report: dict = field(default_factory=dict)

    def fits_in_memory(self) -> bool:
        """Whether the pandas engine may read it (`MAX_MEMORY_ROWS`, `MAX_MEMORY_BYTES`)."""
        return self.rows <= MAX_MEMORY_ROWS and self.nbytes <= MAX_MEMORY_BYTES

    def too_large(self) -> str:
        """What is over the memory budget, in words."""
        return (f"{self.rows:,} rows ({self.nbytes:,} bytes uncompressed) are more than the pandas engine holds "
                f"in memory ({MAX_MEMORY_ROWS:,} rows, {MAX_MEMORY_BYTES:,} bytes)")


def read_history(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The history table stored at `path` (only `columns`, if given), its import report in attrs.

    Raises IncidentError for a file that is missing, not a regular file, too
    large, not Parquet, damaged, or not a history table (a column missing or
    of another type, a malformed import report), for more rows or bytes than
    the memory budget (checked from the footer, before anything is read:
    `HistoryFile.fits_in_memory`), and if pyarrow is not installed.
    """
    file = str(path)
    pa = _pyarrow("reading Parquet", file)
    wanted = list(columns) if columns is not None else None
    parquet, info = _open(file, wanted)
    if wanted is not None:  # a column added since the file was written is read as absent
        wanted = [c for c in wanted if c in parquet.schema_arrow.names]
    if not info.fits_in_memory():
        raise IncidentError.single(file, f"{info.too_large()}: use --engine duckdb (without --save)")
    try:
        data = parquet.read(columns=wanted)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IncidentError.single(file, f"cannot read Parquet file: {error_text(exc)}") from None
    finally:
        parquet.close()
    if data.num_rows != info.rows:
        raise IncidentError.single(file, f"damaged Parquet file: {data.num_rows:,} rows where the footer says "
                                         f"{info.rows:,}")
    return from_arrow(data, file)


def inspect_history(path: str | Path, columns: Iterable[str] | None = None) -> HistoryFile:
    """The checked footer of the history Parquet file `path`: rows, bytes of `columns`, import report.

    Reads only the footer. IncidentError as `read_history` gives it, but for the memory budget.
    """
    parquet, info = _open(str(path), list(columns) if columns is not None else None)
    parquet.close()
    return info


def _open(file: str, wanted: list[str] | None):
    """The open ParquetFile of `file` and its `HistoryFile`, every footer check passed."""
    check_parquet(file)
    pa = _pyarrow("reading Parquet", file)
    try:
        parquet = pa.parquet.ParquetFile(file, memory_map=True, page_checksum_verification=True)
        schema, meta = parquet.schema_arrow, parquet.metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IncidentError.single(file, f"cannot read Parquet file: {error_text(exc)}") from None
    try:
        names = schema.names
        missing = [c for c in (wanted or HISTORY_COLUMNS) if c not in names and c not in ADDED_COLUMNS]
        if missing:
            raise IncidentError.single(file, f"not a history table: no column {', '.join(missing)}")
        for col in HISTORY_COLUMNS:
            if col in names and (wanted is None or col in wanted):
                expected = _type_expected(col, schema.field(col).type)
                if expected:
                    raise IncidentError.single(file, f"not a history table: column {col} is of type "
                                                     f"{schema.field(col).type}; expected {expected}")
        report = import_report_of(schema, file)
        read = set(names if wanted is None else wanted)
        nbytes = 0
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.path_in_schema.split(".")[0] in read:
                    nbytes += max(0, chunk.total_uncompressed_size)
        rows = meta.num_rows
        if rows < 0:
            raise IncidentError.single(file, f"damaged Parquet file: the footer says {rows} rows")
    except IncidentError:
        parquet.close()
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        parquet.close()
        raise IncidentError.single(file, f"cannot read Parquet file: {error_text(exc)}") from None
    return parquet, HistoryFile(file, rows, nbytes, report)


def _type_expected(col: str, kind) -> str | None:
    """What the history column `col` should be, if its Arrow type `kind` is not that; None if it is."""
    import pyarrow.types as t

    if t.is_null(kind):  # a column of nothing but nulls, as a writer may store it: unknown, not wrong
        return "bool" if col == "exact" else None
    if col in TIME_COLUMNS:
        return None if t.is_timestamp(kind) and kind.tz is not None else "timestamp with a time zone (UTC)"
    if col in NUMBER_COLUMNS:
        return None if t.is_floating(kind) or t.is_integer(kind) else "a number (float64 minutes or hours)"
    if col in LIST_COLUMNS:
        ok = (t.is_list(kind) or t.is_large_list(kind)) and (t.is_string(kind.value_type) or
                                                              t.is_large_string(kind.value_type))
        return None if ok else "a list of text"
    if col == "exact":
        return None if t.is_boolean(kind) else "bool"
    return None if t.is_string(kind) or t.is_large_string(kind) else "text"


def error_text(exc: BaseException) -> str:
    """The first line of an exception's message: a reader's error may carry a multi-line context."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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
    """pyarrow with its `parquet` module loaded, imported where first needed (`needed_for`, `file`: unused,
    the callers' record of why)."""
    import pyarrow
    import pyarrow.compute  # noqa: F401 - loads pyarrow.compute and pyarrow.parquet as attributes of pyarrow
    import pyarrow.parquet  # noqa: F401

    return pyarrow


def is_parquet(path: str | Path) -> bool:
    """Whether `path` is a regular file that starts with Parquet's magic bytes."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as stream:
            return stream.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
