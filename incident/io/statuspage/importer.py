"""`incident import statuspage`: one folder with incident.yaml per incident of a feed.

An import writes every incident or none. Everything is converted, validated
and checked against what is already in the output folder before the first
byte is written; the files are then written into a hidden staging folder in
the output folder and moved into place one folder at a time, so an error
(a full disk, say) leaves the output folder as it was, and a killed import
leaves at most a hidden `.incident-*.tmp` folder that the next run removes.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from incident.core.errors import IncidentError, Problem
from incident.io.files import (
    atomic_write, flush_to_disk, output_folder, read_bytes, remove_stale, staging_folder,
)
from incident.io.loader import INCIDENT_FILE
from incident.io.statuspage.convert import convert_checked
from incident.io.statuspage.feed import read_feed
from incident.io.yamlfile import dump_plain

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def incident_yaml(data: dict, feed_name: str = "") -> str:
    """One incident's plain data as incident.yaml text."""
    header = (
        f"# Imported from the Statuspage feed {_UNPRINTABLE.sub('?', feed_name)} by `incident import statuspage`.\n"
        "# Times are as the page gave them (with their offsets). Edit freely; check with\n"
        "# `incident validate`.\n\n"
    )
    return header + dump_plain(data)


def import_statuspage(feed_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per incident of a Statuspage feed; return the folders.

    All or nothing: a bad feed, or any file or folder in the way of one
    incident, writes nothing (IncidentError naming each). With `overwrite`,
    the incident.yaml of an existing incident folder is replaced (keeping its
    permissions); other files in that folder are left alone.
    """
    feed_path, out_dir = Path(feed_path), Path(out_dir)
    incidents = convert_checked(read_feed(feed_path), str(feed_path))
    names = [data["id"] for data in incidents]
    replace = _check_targets(out_dir, names, overwrite)
    texts = [incident_yaml(data, feed_path.name) for data in incidents]
    del incidents  # the parsed feed is ~20 times the size of the text: writing is faster without it in memory
    out_dir = output_folder(out_dir)
    remove_stale(out_dir)
    try:
        _write_all(out_dir, names, texts, replace)
    except OSError as exc:
        raise IncidentError.single(
            str(exc.filename or out_dir), f"cannot write: {exc.strerror or exc}; nothing was imported"
        ) from None
    return [out_dir / name for name in names]


def _check_targets(out_dir: Path, names: list[str], overwrite: bool) -> set[str]:
    """The folders whose incident.yaml an import replaces; IncidentError for anything in the way."""
    problems, replace = [], set()
    if out_dir.is_symlink() and not out_dir.exists():
        problems.append(Problem(str(out_dir), "", "is a symbolic link to nothing; give an output folder"))
    elif out_dir.exists() and not out_dir.is_dir():
        problems.append(Problem(str(out_dir), "", "is a file, not a folder; give an output folder"))
    elif out_dir.is_dir():
        for name in names:
            folder = out_dir / name
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(mode):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a file"
                problems.append(Problem(str(folder), "", f"is in the way: {kind} where the incident's folder goes"))
                continue
            file = folder / INCIDENT_FILE
            try:
                file_mode = os.lstat(file).st_mode
            except FileNotFoundError:
                file_mode = None
            if file_mode is not None and not stat.S_ISREG(file_mode):
                kind = "a symbolic link" if stat.S_ISLNK(file_mode) else "a folder" if stat.S_ISDIR(file_mode) else "not a regular file"
                problems.append(Problem(str(file), "", f"is {kind}; the import writes only regular files"))
            elif not overwrite:
                what = file if file_mode is not None else folder
                problems.append(Problem(str(what), "", "already exists (pass overwrite=True, or --force, to replace it)"))
            else:
                replace.add(name)
    if problems:
        raise IncidentError(problems)
    return replace


def _write_all(out_dir: Path, names: list[str], texts: list[str], replace: set[str]) -> None:
    """Stage every new folder, then move them into place; undo all on any error."""
    stage = staging_folder(out_dir)
    moved: list[Path] = []
    replaced: list[tuple[Path, bytes]] = []
    try:
        staged = []
        for name, text in zip(names, texts):
            if name not in replace:
                (stage / name).mkdir()
                staged.append(atomic_write(stage / name / INCIDENT_FILE, text, durable=False))
        flush_to_disk(staged)  # once for all files: an fsync each would cost a second per thousand
        for name, text in zip(names, texts):
            target = out_dir / name
            if name in replace:
                file = target / INCIDENT_FILE
                old = read_bytes(file, 1 << 30, "incident file") if file.exists() else None
                atomic_write(file, text)
                replaced.append((file, old))
            else:
                os.rename(stage / name, target)  # an empty folder made meanwhile is replaced; anything else fails
                moved.append(target)
    except BaseException:
        for target in moved:
            shutil.rmtree(target, ignore_errors=True)
        for file, old in replaced:
            try:
                atomic_write(file, old) if old is not None else file.unlink()
            except OSError:
                pass
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
