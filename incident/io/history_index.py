"""The index of a folder of incident folders: its history rows, kept beside them, re-read only where files changed.

Reading and validating 10,000 incident.yaml files takes seconds; the rows they
give change only when a file does. So `indexed_history` keeps the rows in
`folder/.incident-history.parquet` (INDEX_FILE), one per incident.yaml with
the file's key (FILE_KEYS: relative path, size, mtime_ns, inode, ctime_ns),
and on the next call reads again only the files added or whose key changed,
and drops the removed ones. The row of a file is the caller's function
(`incident.analysis.history` builds it from the incident's timeline), so
that this layer needs nothing above it.

The index is a cache, never trusted: unreadable, of another INDEX_VERSION or
of other columns, it is rebuilt; in a folder that cannot be written it is
skipped. A bad file is never indexed: it is read again at every call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from incident.core.errors import IncidentError, capped
from incident.io.history_parquet import read_history, write_history
from incident.io.history_schema import (
    HISTORY_COLUMNS, OPTIONAL_STAGES, STAGES, exclude_negative, history_frame, shown_stages,
)
from incident.io.history_sources import incident_folders
from incident.io.loader import INCIDENT_FILE

__all__ = ["INDEX_FILE", "INDEX_VERSION", "FILE_KEYS", "indexed_history", "rows_table"]

INDEX_FILE = ".incident-history.parquet"
INDEX_VERSION = "1"  # bump when the rows an incident gives change: older indexes are then rebuilt
# A file rewritten in place to the same size with its mtime restored (a checkout, `touch -r`, a sync
# tool) keeps path, size and mtime; its ctime still moves, and a file replaced by a rename has a new inode.
FILE_KEYS = ["path", "size", "mtime_ns", "inode", "ctime_ns"]  # an index of other keys is rebuilt (`_read_index`)


def indexed_history(folder: str | Path, row_of: Callable[[Path], dict], index: bool = True,
                    folders: list[Path] | None = None) -> pd.DataFrame:
    """The history table of the incident folders in `folder`, one row per incident.yaml, reading only what changed.

    `row_of(file)` gives the history row (a dict of HISTORY_COLUMNS) of one
    incident.yaml, or raises IncidentError. Every bad file is read again each
    time: if any is bad, one IncidentError lists the problems of all (the
    good rows are indexed first, so fixing one file costs one read). With
    `index` False, no index is read or written.
    `folders` is `incident_folders(folder)` when the caller has it already.
    Negative durations are counted and left out (`exclude_negative`) after
    the index is written: it keeps the rows as the files give them.
    """
    folder = Path(folder)
    files = [f / INCIDENT_FILE for f in (incident_folders(folder) if folders is None else folders)]
    seen = pd.DataFrame([_file_key(folder, f) for f in files], columns=FILE_KEYS)
    old = _read_index(folder) if index else None
    if old is not None:
        kept = old.merge(seen, on=FILE_KEYS, how="inner")
    else:
        kept = rows_table([]).assign(**{k: [] for k in FILE_KEYS})
    fresh = set(seen["path"]) - set(kept["path"])
    rows: list[dict] = []
    keys, bad, problems = [], set(), []
    # In this process, one file after another: under a millisecond a file (docs/history.md), paid once per
    # file thanks to the index. A pool of two workers was measured (3,000 files, two cores): with `spawn` or
    # `forkserver` each worker imports the stack again (1.5 to 3 CPU-s more in all) and the wall time went
    # from 30% faster to 50% slower with the machine's load; only a forked pool was reliably faster, and fork
    # is neither portable nor safe beside threads.
    for file, key in zip(files, seen.itertuples(index=False)):
        if key.path not in fresh:
            continue
        try:
            row = row_of(file)
        except IncidentError as exc:
            bad.add(key.path)
            problems += exc.problems
            continue
        rows.append(row)
        keys.append(key)
    new = rows_table(rows, negatives=False).assign(**{k: [getattr(key, k) for key in keys] for k in FILE_KEYS})
    table = pd.concat([t for t in (kept, new) if len(t)] or [new], ignore_index=True)
    table = table.set_index("path").reindex([p for p in seen["path"] if p not in bad])
    table = table.reset_index()
    if index and (rows or old is None or len(old) != len(table)):
        _write_index(folder, table)
    if problems:
        raise IncidentError(capped(problems))
    out = table.drop(columns=FILE_KEYS)
    report = _report(out)  # the index keeps the rows as the files give them; negatives go here
    report.update(exclude_negative(out))
    out.attrs = {"import_report": report}
    return out


def rows_table(rows: list[dict], negatives: bool = True) -> pd.DataFrame:
    """The history table of incident rows (dicts of HISTORY_COLUMNS; `source` 'incidents'), with its import report.

    `negatives` False keeps negative durations in (the index stores the rows as given).
    """
    columns = {col: [row.get(col) for row in rows] for col in HISTORY_COLUMNS if col != "components"}
    columns["source"] = ["incidents"] * len(rows)
    report = {"records": len(rows), **{f"{stage}_missing": sum(row.get(stage) is None for row in rows)
                                       for stage in STAGES if stage not in OPTIONAL_STAGES}}
    return history_frame(columns, len(rows), report, negatives=negatives)


def _file_key(folder: Path, file: Path) -> tuple[str, int, int, int, int]:
    st = file.stat()
    return file.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns


def _read_index(folder: Path) -> pd.DataFrame | None:
    path = folder / INDEX_FILE
    if not path.is_file():
        return None
    try:
        table = read_history(path)
    except IncidentError:
        return None  # a damaged index is rebuilt, not trusted
    if table.attrs.get("metadata", {}).get("index_version") != INDEX_VERSION or \
            list(table.columns) != HISTORY_COLUMNS + FILE_KEYS:
        return None
    return table


def _write_index(folder: Path, table: pd.DataFrame) -> None:
    table = table.copy()
    table.attrs = {"import_report": _report(table)}
    try:
        write_history(table, folder / INDEX_FILE, metadata={"index_version": INDEX_VERSION})
    except OSError:
        pass  # a folder we may read but not write: the history is still right, only the next load is slower


def _report(table: pd.DataFrame) -> dict[str, int]:
    return {"records": len(table),
            **{f"{stage}_missing": int(table[stage].isna().sum()) for stage in shown_stages(table)}}
