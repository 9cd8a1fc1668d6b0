"""Where a history comes from: which format a path holds, and the reader of each format.

`detect_format` tells from a file's content (or a folder's files) which of
FORMATS it holds, as `incident history` does when no `--format` is given;
`read_history_file` reads a file of a known format into the history table
(`incident.io.history_schema`), each format by its own reader in
`incident.io`, registered in READERS. A folder of incident folders is the one
format whose rows are built above this layer (`incident.analysis.history`),
since they need the incidents' timelines, and kept in the folder's index
(`incident.io.history_index`); `incident_folders` and `feed_files` say what a
folder holds.
"""

from __future__ import annotations

import importlib
import json
import os
import stat
from pathlib import Path

import pandas as pd

from incident.core.errors import IncidentError
from incident.io.files import open_regular
from incident.io.history_parquet import is_parquet
from incident.io.loader import INCIDENT_FILE
from incident.io.statuspage import unpublished

__all__ = ["FORMATS", "READERS", "FEED_SUFFIXES", "detect_format", "read_history_file", "incident_folders",
           "feed_files"]

FORMATS = ("incidents", "statuspage", "issre", "github", "parquet", "pagerduty", "opsgenie", "incidentio", "csv")
# each file format -> "module:function" reading a path into the history table (imported when used)
READERS = {
    "parquet": "incident.io.history_parquet:read_history",
    "issre": "incident.io.issre:read_issre",
    "github": "incident.io.github_status:read_github_status",
    "statuspage": "incident.io.statuspage.history:feed_history",
    "pagerduty": "incident.io.pagerduty:pagerduty_history",
    "opsgenie": "incident.io.opsgenie:opsgenie_history",
    "incidentio": "incident.io.incidentio:incidentio_history",
    "csv": "incident.io.csv_export:csv_history",
}
_PEEK_BYTES = 65_536
MAX_PEEK_FILE_BYTES = 1 << 62  # detection reads only the first _PEEK_BYTES; each reader applies its own limit


def read_history_file(path: str | Path, fmt: str) -> pd.DataFrame:
    """The history table of the file (or ISSRE'22 folder) `path`, read as `fmt`, one of READERS."""
    if fmt not in READERS:
        raise IncidentError.single(str(path), f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    module, name = READERS[fmt].split(":")
    return getattr(importlib.import_module(module), name)(path)


FEED_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")  # the files of a folder of feeds that are read


def feed_files(folder: str | Path) -> list[Path]:
    """The feed files directly in `folder`, by name: regular, not hidden, with a suffix of FEED_SUFFIXES.

    Other files (a README, a licence) are not history; ISSRE'22's `template.json` is its schema, not a record.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise IncidentError.single(str(folder), f"cannot read the folder: {exc.strerror or exc}") from None
    return [Path(e.path) for e in entries
            if not e.name.startswith(".") and e.name != "template.json" and e.is_file()
            and Path(e.name).suffix.lower() in FEED_SUFFIXES]


def _incident_csv_header(line: str) -> bool:
    """Whether a CSV header names an incident id and a start, as `incident.io.csv_export` reads them by default."""
    from incident.io.csv_export import CsvColumns

    names = {cell.strip().strip('"').lower() for cell in line.split(",")}
    columns = CsvColumns()
    return bool(names & set(columns.id)) and bool(names & set(columns.started))


def detect_format(path: str | Path) -> str:
    """Which of FORMATS `path` holds, from its content; IncidentError if none.

    A folder holding incident.yaml files (itself or one level down) is
    'incidents', a folder of .json files 'issre'. A file whose first line is a
    whole JSON object with `started_at` and `updates` is 'github'; a file
    starting with Parquet's magic bytes is 'parquet' (`write_history`); a JSON
    object with an `incidents` list 'statuspage'; an object of records with
    `root cause` labels 'issre'.
    """
    path = Path(path)
    if path.is_dir():
        if incident_folders(path):
            return "incidents"
        if any(p.name != "template.json" for p in path.rglob("*.json")):
            return "issre"
        raise IncidentError.single(str(path), "not a folder of incidents, of ISSRE'22 postmortem files nor of feed "
                                              f"files ({', '.join(FEED_SUFFIXES)})")
    if not path.is_file():
        raise IncidentError.single(str(path), "no such file or folder: not a folder of incidents "
                                              "nor a history file")
    if is_parquet(path):
        return "parquet"
    with open_regular(path, MAX_PEEK_FILE_BYTES, "history file") as stream:  # a FIFO would block forever
        head = stream.read(_PEEK_BYTES).decode("utf-8", errors="replace")
    first_line = head.lstrip().split("\n", 1)[0]
    try:
        first = json.loads(first_line)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to be a record
        first = None
    if isinstance(first, dict) and "started_at" in first and "updates" in first:
        return "github"
    text = head.lstrip()
    from incident.io.pagerduty import is_pagerduty

    from incident.io.incidentio import is_incidentio
    from incident.io.opsgenie import is_opsgenie

    prefix = text.encode("utf-8")
    if is_pagerduty(prefix):  # also an object with an `incidents` list: asked before Statuspage
        return "pagerduty"
    if is_incidentio(prefix):  # an `incidents` list too
        return "incidentio"
    if is_opsgenie(prefix):
        return "opsgenie"
    if path.suffix.lower() == ".csv" and _incident_csv_header(first_line):
        return "csv"
    if text.startswith("{") and ('"incidents"' in head or '"incident_updates"' in head):
        return "statuspage"
    if text.startswith("{") and '"root cause"' in head:
        return "issre"
    raise IncidentError.single(
        str(path), "not a folder of incidents, Statuspage feed (.json), PagerDuty, Opsgenie or incident.io API response "
                   "(.json), ISSRE'22 postmortem file, GitHub status history (.jsonl) or CSV export (.csv); "
                   "name the format if it is one of them")


def incident_folders(folder: str | Path) -> list[Path]:
    """The folders holding an incident.yaml, the folder itself or one level down.

    Folders that an import has not yet published (`incident.io.statuspage.unpublished`) are left out.
    """
    folder = Path(folder)
    if (folder / INCIDENT_FILE).is_file():
        return [folder]
    hidden = unpublished(folder)  # moved in by an import still running, or killed and not yet rolled back
    found = []
    try:  # not glob: it passes over a folder it may not read, and an incident would be lost without a word
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise IncidentError.single(str(folder), f"cannot read the folder: {exc.strerror or exc}") from None
    for entry in entries:
        if entry.name in hidden or entry.name.startswith(".") or not entry.is_dir():
            continue  # an import's unpublished folder, the toolkit's own hidden ones, files
        try:
            mode = os.stat(os.path.join(entry.path, INCIDENT_FILE)).st_mode
        except FileNotFoundError:
            continue  # a folder of something else
        except OSError as exc:
            raise IncidentError.single(entry.path, f"cannot read the folder: {exc.strerror or exc}") from None
        if stat.S_ISREG(mode):
            found.append(Path(entry.path))
    return found
