"""The user's cache folder, and what is kept there: entries checked on every read.

What the toolkit computes once and reads again (exchange calendars, executed
reports) lives under `$INCIDENT_CACHE_DIR`, else the user's cache folder
(platformdirs: ~/.cache/incident, ~/Library/Caches/incident,
%LOCALAPPDATA%\\incident\\Cache). An entry is a file holding the SHA-256 of its
data before the data: a damaged or truncated entry is removed and computed
again, never served. Entries are written atomically, so two commands filling
the same entry at once leave one whole file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from incident.core.errors import IncidentError
from incident.io.files import atomic_write, read_bytes

ENTRY_LIMIT = 512 << 20  # bytes: an entry larger than this is not one of ours


def cache_folder(*parts: str) -> Path:
    """$INCIDENT_CACHE_DIR/<parts>, else the user's cache folder for incident/<parts> (not created here)."""
    folder = os.environ.get("INCIDENT_CACHE_DIR")
    if not folder:
        import platformdirs

        folder = platformdirs.user_cache_dir("incident", appauthor=False)
    return Path(folder, *parts)


def digest(*texts: str | bytes) -> str:
    """The SHA-256 of several texts, each length-prefixed so that no two lists give one digest."""
    h = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8") if isinstance(text, str) else text
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def files_digest(paths: Iterable[str | Path]) -> str:
    """A digest of what `paths` hold: each file's bytes, and for a folder every file under it by relative name.

    Hidden files and folders (the toolkit's own temporaries and indexes
    among them) are left out: they are not the incident's content. A path
    that does not exist counts as such, so it cannot match one that does.
    """
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        h.update(b"\0path\0" + str(path.resolve()).encode("utf-8", "surrogateescape"))
        if path.is_file():
            _add_file(h, path)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(n for n in names if not n.startswith(".")):
                    file = Path(root, name)
                    h.update(b"\0file\0" + file.relative_to(path).as_posix().encode("utf-8", "surrogateescape"))
                    _add_file(h, file)
        else:
            h.update(b"\0missing\0")
    return h.hexdigest()


def _add_file(h, path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:  # unreadable: a digest that matches nothing, so nothing stale is served
        h.update(b"\0unreadable\0" + str(exc).encode("utf-8", "replace") + os.urandom(16))


class Store:
    """Entries under one cache folder, named `<key>.<kind>`; `get` returns None for a missing or damaged entry."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, key: str, kind: str) -> Path:
        return self.folder / f"{key}.{kind}"

    def get(self, key: str, kind: str) -> bytes | None:
        path = self.path(key, kind)
        if not path.is_file():
            return None
        try:
            raw = read_bytes(path, ENTRY_LIMIT, "cache entry")
        except IncidentError:
            raw = b""
        stated, _, data = raw.partition(b"\n")
        if stated != hashlib.sha256(data).hexdigest().encode("ascii"):
            self.remove(key, kind)  # damaged: computed again by the caller, never served
            return None
        return data

    def put(self, key: str, kind: str, data: bytes) -> bool:
        """Keep `data` as the entry; False (and nothing kept) where the cache cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path(key, kind), hashlib.sha256(data).hexdigest().encode("ascii") + b"\n" + data,
                         durable=False)
        except OSError:
            return False  # a cache is a help, not a duty: a read-only home still gets its report
        return True

    def remove(self, key: str, kind: str) -> None:
        try:
            self.path(key, kind).unlink()
        except OSError:
            pass


__all__ = ["cache_folder", "digest", "files_digest", "Store", "ENTRY_LIMIT"]
