"""`incident import statuspage`: one folder with incident.yaml per incident of a feed.

An import writes every incident or none, and is seen whole or not at all.
Everything is converted, validated (each incident.yaml must also be one that
`incident validate` reads: at most `yamlfile.MAX_BYTES`) and checked against
what is already in the output folder before the first byte is written.

- A new (or empty) output folder is built whole in a hidden staging folder
  beside it and published with one rename: a kill at any moment leaves the
  output folder absent (or empty) and at most a `.incident-staging.*.tmp`
  folder, which the next run removes once its owner (pid recorded in it) is
  gone.
- An output folder that already holds incidents cannot be replaced by one
  rename; the import is staged in a hidden `.incident-import.*.pending` folder
  inside it, whose journal (the new folders, the replaced files and their
  backups) is written before anything is moved. Readers (`history`) leave
  out the folders a pending import names, and the next import rolls an
  abandoned one back, so a killed import is never half counted nor in the way.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import stat
from pathlib import Path

from incident.core.errors import IncidentError, Problem, capped
from incident.io.files import (
    OWNER_FILE, atomic_write, flush_to_disk, output_folder, owned_staging_folder, owner_alive, remove_abandoned,
    remove_stale,
)
from incident.io.loader import INCIDENT_FILE
from incident.io.statuspage.convert import convert_checked
from incident.io.statuspage.feed import read_feed
from incident.io.yamlfile import MAX_BYTES, dump_plain

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
PENDING_PREFIX = ".incident-import."
PENDING_SUFFIX = ".pending"
JOURNAL_FILE = "journal.json"  # in a pending import: {"new": [folder names], "replaced": {name: had a file}}


def incident_yaml(data: dict, feed_name: str = "", origin: str = "the Statuspage feed",
                  command: str = "incident import statuspage") -> str:
    """One incident's plain data as incident.yaml text, headed by where it came from."""
    header = (
        f"# Imported from {origin} {_UNPRINTABLE.sub('?', feed_name)} by `{command}`.\n"
        "# Times are as the source gave them (with their offsets). Edit freely; check with\n"
        "# `incident validate`.\n\n"
    )
    return header + dump_plain(data)


def import_statuspage(feed_path: str | Path, out_dir: str | Path, overwrite: bool = False) -> list[Path]:
    """Write one folder with incident.yaml per incident of a Statuspage feed; return the folders (see `write_imported`)."""
    feed_path = Path(feed_path)
    return write_imported(convert_checked(read_feed(feed_path), str(feed_path)), feed_path, out_dir, overwrite)


def write_imported(incidents: list[dict], source: str | Path, out_dir: str | Path, overwrite: bool = False,
                   origin: str = "the Statuspage feed", command: str = "incident import statuspage") -> list[Path]:
    """Write one folder with incident.yaml per incident (plain data, already converted); return the folders.

    All or nothing: an incident too large for its file, or any file or
    folder in the way of one incident, writes nothing (IncidentError naming
    each). With `overwrite`, the incident.yaml of an existing incident
    folder is replaced (keeping its permissions); other files in that folder
    are left alone. Every importer writes through this.
    """
    source, out_dir = Path(source), Path(out_dir)
    names = [data["id"] for data in incidents]
    texts = [incident_yaml(data, source.name, origin, command).encode("utf-8") for data in incidents]
    del incidents  # the parsed source is ~20 times the size of the text: writing is faster without it in memory
    _check_sizes(source, names, texts)
    if out_dir.is_dir():
        recover(out_dir)
        remove_stale(out_dir)
        remove_abandoned(out_dir)
    replace = _check_targets(out_dir, names, overwrite)
    try:
        if _is_new(out_dir) and _parent_writable(out_dir):
            _publish_new(out_dir, names, texts)
        else:
            _merge(output_folder(out_dir), names, texts, replace)
    except OSError as exc:
        raise IncidentError.single(
            str(exc.filename or out_dir), f"cannot write: {exc.strerror or exc}; nothing was imported"
        ) from None
    return [out_dir / name for name in names]


def _check_sizes(feed_path: Path, names: list[str], texts: list[bytes]) -> None:
    """IncidentError naming each incident whose file `incident validate` would refuse as too large."""
    problems = [
        Problem(str(feed_path), f"incident {name}",
                f"as incident.yaml it would be {len(text):,} bytes, over the limit of {MAX_BYTES:,} bytes that "
                "`incident validate` reads; nothing was imported")
        for name, text in zip(names, texts) if len(text) > MAX_BYTES
    ]
    if problems:
        raise IncidentError(capped(problems))


def _is_new(out_dir: Path) -> bool:
    """Whether the output folder is absent or an empty folder (then one rename publishes the import)."""
    if not os.path.lexists(out_dir):
        return True
    if out_dir.is_symlink() or not out_dir.is_dir():
        return False
    with os.scandir(out_dir) as entries:
        return next(entries, None) is None


def _parent_writable(out_dir: Path) -> bool:
    parent = out_dir.absolute().parent
    return not parent.exists() or os.access(parent, os.W_OK | os.X_OK)


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
        raise IncidentError(capped(problems))
    return replace


def _publish_new(out_dir: Path, names: list[str], texts: list[bytes]) -> None:
    """Build the whole output folder beside it, then put it in place with one rename."""
    parent = output_folder(out_dir.absolute().parent, "folder that holds the output folder")
    remove_abandoned(parent)
    stage = owned_staging_folder(parent)
    try:
        built = stage / "out"
        built.mkdir()
        _write_folders(built, names, texts)
        try:
            os.rename(built, out_dir)  # replaces an empty folder (POSIX); fails if anything is in it
        except OSError:
            if not os.path.lexists(out_dir):  # not about the target: a full disk, say
                raise
            if not _is_new(out_dir) or not out_dir.is_dir():
                raise IncidentError.single(str(out_dir), "something was written into the output folder during "
                                                         "the import; nothing was imported") from None
            os.rmdir(out_dir)  # Windows renames onto no folder, even an empty one
            os.rename(built, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_folders(folder: Path, names: list[str], texts: list[bytes]) -> None:
    """A folder with incident.yaml per name in `folder`, all on the disk when this returns."""
    written = []
    for name, text in zip(names, texts):
        (folder / name).mkdir()
        written.append(atomic_write(folder / name / INCIDENT_FILE, text, durable=False))
    flush_to_disk(written)  # once for all files: an fsync each would cost a second per thousand


def _merge(out_dir: Path, names: list[str], texts: list[bytes], replace: set[str]) -> None:
    """Add the incidents to an output folder that holds others, under a journal that undoes a killed run."""
    pending = _pending_folder(out_dir)
    try:
        new = [(name, text) for name, text in zip(names, texts) if name not in replace]
        (pending / "new").mkdir()
        (pending / "backup").mkdir()
        _write_folders(pending / "new", [n for n, _ in new], [t for _, t in new])
        had = {}
        for name in replace:
            file = out_dir / name / INCIDENT_FILE
            had[name] = file.exists()
            if had[name]:
                shutil.copy2(file, pending / "backup" / name)
        atomic_write(pending / JOURNAL_FILE, json.dumps({"new": [n for n, _ in new], "replaced": had}))
        for name, text in zip(names, texts):
            if name in replace:
                atomic_write(out_dir / name / INCIDENT_FILE, text)
            else:
                _move(pending / "new" / name, out_dir / name)
        done = out_dir / f".incident-staging.{pending.name[len(PENDING_PREFIX):-len(PENDING_SUFFIX)]}.tmp"
        os.rename(pending, done)  # the commit: readers count the new folders from here on
        shutil.rmtree(done, ignore_errors=True)
    except BaseException:
        _roll_back(out_dir, pending)
        raise


def _move(folder: Path, target: Path) -> None:
    """Move a staged incident folder into place (an empty folder made there meanwhile is replaced)."""
    os.rename(folder, target)


def _pending_folder(out_dir: Path) -> Path:
    for _ in range(100):
        pending = out_dir / f"{PENDING_PREFIX}{secrets.token_hex(6)}{PENDING_SUFFIX}"
        try:
            pending.mkdir(mode=0o700)
        except FileExistsError:
            continue
        (pending / OWNER_FILE).write_text(f"{os.getpid()}\n{socket.gethostname()}\n", encoding="utf-8")
        return pending
    raise FileExistsError(f"no free staging name in {out_dir}")


def pending_imports(out_dir: str | Path) -> list[Path]:
    """The pending (running or abandoned) imports in `out_dir`."""
    try:
        with os.scandir(out_dir) as entries:
            return sorted(Path(e.path) for e in entries
                          if e.name.startswith(PENDING_PREFIX) and e.name.endswith(PENDING_SUFFIX))
    except OSError:
        return []


def unpublished(out_dir: str | Path) -> set[str]:
    """Names of the incident folders in `out_dir` that a pending import has put there but not yet published."""
    names: set[str] = set()
    for pending in pending_imports(out_dir):
        journal = _journal(pending)
        names.update(journal.get("new", []))
    return names


def recover(out_dir: str | Path) -> list[Path]:
    """Roll back the imports into `out_dir` whose process is gone (see `owner_alive`); return them."""
    out_dir = Path(out_dir)
    undone = []
    for pending in pending_imports(out_dir):
        if not owner_alive(pending):
            _roll_back(out_dir, pending)
            undone.append(pending)
    return undone


def _journal(pending: Path) -> dict:
    try:
        journal = json.loads((pending / JOURNAL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet: nothing was moved
        return {}
    return journal if isinstance(journal, dict) else {}


def _roll_back(out_dir: Path, pending: Path) -> None:
    """Undo what the import staged in `pending` did to `out_dir`; safe to run again if interrupted."""
    journal = _journal(pending)
    for name in journal.get("new", []):
        if not os.path.lexists(pending / "new" / name) and (out_dir / name).is_dir():  # moved in by this import
            shutil.rmtree(out_dir / name, ignore_errors=True)
    for name, had in journal.get("replaced", {}).items():
        target = out_dir / name / INCIDENT_FILE
        backup = pending / "backup" / name
        try:
            if had and backup.exists():
                os.replace(backup, target)
            elif not had and target.exists():
                target.unlink()
        except OSError:
            pass
    shutil.rmtree(pending, ignore_errors=True)
