"""Reading and writing files safely: the one checked read and the one atomic write.

Every input of the toolkit (incident files, price CSVs, feeds, histories) is
read through `read_bytes`: only a regular file is opened (a FIFO would block
forever, /dev/zero would never end), and no more than a hard byte limit is
read, whatever `st_size` says. Every output (reports, incident files, imports)
is written through `atomic_write`: a temporary file in the target folder,
renamed into place, so a reader never sees half a file and a failed write
leaves the old one as it was. Temporaries carry this tool's own prefix, so a
later run can remove those a killed run left behind (`remove_stale`).
"""

from __future__ import annotations

import os
import shutil
import socket
import secrets
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterable

from incident.core.errors import IncidentError

TEMP_PREFIX = ".incident-"  # every temporary file or folder this tool makes starts with it
TEMP_SUFFIX = ".tmp"
STALE_SECONDS = 3600  # a temporary untouched this long belongs to a run that is gone
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # 0 where the system has none (Windows)
BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation in os.read and os.write


class CappedFile:
    """A regular file open for reading that refuses to give more than `limit` bytes.

    Made by `open_regular`; `read(n)` returns bytes like a binary file, and
    raises IncidentError once more than `limit` bytes would have been read,
    however the file grows or whatever `st_size` claims.
    """

    def __init__(self, fd: int, file: str, limit: int, what: str):
        self.fd, self.name, self.limit, self.what = fd, file, limit, what
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        want = self.limit + 1 - self.consumed if n is None or n < 0 else min(n, self.limit + 1 - self.consumed)
        chunks = []
        while want > 0:
            try:
                chunk = os.read(self.fd, min(want, 1 << 20))
            except OSError as exc:
                raise IncidentError.single(self.name, f"cannot read {self.what}: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            self.consumed += len(chunk)
            want -= len(chunk)
            if n is not None and n >= 0:
                break  # one read per call, as a file does
        if self.consumed > self.limit:
            raise IncidentError.single(self.name, f"{self.what} is larger than the limit of {self.limit:,} bytes")
        return b"".join(chunks)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "CappedFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_regular(path: str | Path, limit: int, what: str = "file") -> CappedFile:
    """Open the regular file `path` for reading at most `limit` bytes, or IncidentError.

    The file is opened without blocking and checked to be a regular file
    before anything is read: a FIFO would block forever, /dev/zero never end.
    A file whose `st_size` is already over the limit is refused unread. Where
    the system has no O_NONBLOCK (Windows, which has no FIFOs in its folders
    either), the path is checked before it is opened as well as after.
    """
    file = str(path)
    try:
        if not NONBLOCK:
            _refuse_unless_regular(os.stat(file), file, limit, what)
        fd = os.open(file, os.O_RDONLY | NONBLOCK | getattr(os, "O_CLOEXEC", 0) | BINARY)
    except FileNotFoundError:
        raise IncidentError.single(file, f"no such {what}") from None
    except IsADirectoryError:
        raise IncidentError.single(file, f"is a folder; expected the {what}") from None
    except OSError as exc:
        raise IncidentError.single(file, f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        _refuse_unless_regular(os.fstat(fd), file, limit, what)
    except BaseException:
        os.close(fd)
        raise
    return CappedFile(fd, file, limit, what)


def _refuse_unless_regular(info: os.stat_result, file: str, limit: int, what: str) -> None:
    """IncidentError unless `info` is that of a regular file of at most `limit` bytes."""
    if stat.S_ISDIR(info.st_mode):
        raise IncidentError.single(file, f"is a folder; expected the {what}")
    if not stat.S_ISREG(info.st_mode):
        raise IncidentError.single(file, f"is not a regular file (a device, pipe or socket); expected the {what}")
    if info.st_size > limit:
        raise IncidentError.single(file, f"{what} is larger than the limit of {limit:,} bytes")


def read_bytes(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them, or IncidentError (see `open_regular`)."""
    with open_regular(path, limit, what) as fh:
        return fh.read()


def read_text(path: str | Path, limit: int, what: str = "file") -> str:
    """`read_bytes` decoded as UTF-8 (a byte-order mark is dropped), or IncidentError naming the line."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IncidentError.single(
            str(path),
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save the file as UTF-8 "
            "(a GBK or Big5 file must be re-encoded)",
            line=line,
        ) from None


def atomic_write(path: str | Path, data: bytes | str, exclusive: bool = False, durable: bool = True) -> Path:
    """Write `data` to `path` in one step: a temporary file in the same folder, renamed into place.

    The folder must exist. A new file gets the permissions the umask gives
    (the temporary is created 0666 and the system applies the umask, so no
    process-wide umask is read or changed); a replaced file keeps its own.
    With `exclusive`, an existing file (or a symbolic link, even a dangling
    one) is never replaced (FileExistsError). With `durable` (the default)
    the data reaches the disk before the rename; a bulk writer passes False
    and calls `flush_to_disk` once for all its files. Raises OSError as the
    system reports it.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            if not exclusive:
                try:
                    _keep_mode(fh.fileno(), tmp, stat.S_IMODE(os.stat(path).st_mode))  # replacing: keep its mode
                except FileNotFoundError:
                    pass
        if exclusive:
            os.link(tmp, path)  # fails if the name exists, atomically
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _temporary(path: Path) -> tuple[int, str]:
    """A new temporary file next to `path`, named so that `remove_stale` knows it; (fd, name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | BINARY
    for _ in range(100):
        tmp = os.path.join(path.parent, f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def _keep_mode(fd: int, tmp: str, mode: int) -> None:
    """Give the temporary `tmp` (open as `fd`) the permissions `mode` of the file it replaces."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows: only the read-only flag, set through the name
        os.chmod(tmp, mode)


def flush_to_disk(files: Iterable[str | Path] = ()) -> None:
    """Put the files written so far on the disk (one call after many `durable=False` writes).

    One `os.sync` where the system has it; elsewhere (Windows) each of
    `files` is flushed in turn, which is slower but as safe.
    """
    if hasattr(os, "sync"):
        os.sync()
        return
    for file in files:
        fd = os.open(file, os.O_RDWR | BINARY)  # Windows flushes only what may be written
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def staging_folder(parent: str | Path) -> Path:
    """A new private folder in `parent` for output not yet in place; `remove_stale` knows its name."""
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}staging.", suffix=TEMP_SUFFIX, dir=parent))


def output_folder(path: str | Path, what: str = "output folder") -> Path:
    """The folder `path`, made (with its parents) if missing, and writable; or IncidentError.

    Says in one line what is in the way: a file, a dangling link, a parent
    that cannot be written.
    """
    folder = Path(path)
    if folder.is_symlink() and not folder.exists():
        raise IncidentError.single(str(folder), f"is a symbolic link to nothing; give an existing {what} or a new name")
    if folder.exists() and not folder.is_dir():
        raise IncidentError.single(str(folder), f"is a file, not a folder; give a {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a parent is a file
        raise IncidentError.single(str(folder), f"cannot make the {what}: part of the path is a file") from None
    except OSError as exc:
        raise IncidentError.single(str(folder), f"cannot make the {what}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise IncidentError.single(str(folder), f"cannot write in the {what} (permission denied)")
    try:  # asked of the file system itself: root passes every access() check, /proc and read-only mounts do not
        fd, probe = _temporary(folder / "probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise IncidentError.single(str(folder), f"cannot write in the {what}: {exc.strerror or exc}") from None
    return folder


def output_file(path: str | Path, what: str = "output") -> Path:
    """`path`, once its folder is made and shown writable and `path` is no folder; or IncidentError.

    The one rule every command applies to what it will write, before any
    work starts.
    """
    path = Path(path)
    if path.is_dir():
        raise IncidentError.single(str(path), f"is a folder; give a file name for the {what}")
    output_folder(path.parent, f"folder for the {what}")
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether `a` and `b` are one file (the same inode, whatever the names or links), both existing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def remove_stale(folder: str | Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove this tool's temporaries in `folder` left by a run that was killed; return them.

    Only names with this tool's prefix and suffix, untouched for `older_than`
    seconds, are removed: a run going on beside this one keeps its files.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def read_lines(path: str | Path, limit: int, what: str = "file", chunk: int = 1 << 20) -> Iterable[tuple[int, bytes]]:
    """The lines of the regular file `path` as (1-based number, bytes), read a chunk at a time.

    Lines are split on b"\\n" only (a trailing b"\\r" is dropped): U+2028 or
    U+0085 inside a JSON string is text, not a line break. A byte-order mark
    at the start is dropped. At most `limit` bytes are read (see
    `open_regular`); only the current chunk and line are held in memory.
    """
    with open_regular(path, limit, what) as fh:
        yield from split_lines(fh, chunk)


def split_lines(stream, chunk: int = 1 << 20) -> Iterable[tuple[int, bytes]]:
    """(number, line) for each b"\\n"-separated line of a binary `stream`, read `chunk` bytes at a time."""
    rest, number, first = b"", 0, True
    while True:
        data = stream.read(chunk)
        if not data:
            break
        if first:
            first = False
            data = data.removeprefix(b"\xef\xbb\xbf")
        parts = (rest + data).split(b"\n") if rest else data.split(b"\n")
        rest = parts.pop()
        for line in parts:
            number += 1
            yield number, line.removesuffix(b"\r")
    if rest:
        yield number + 1, rest.removesuffix(b"\r")


OWNER_FILE = "owner"  # in a staging folder: the pid and host of the process that made it


def owned_staging_folder(parent: str | Path) -> Path:
    """`staging_folder`, with the pid and host of this process recorded in it (`remove_abandoned`)."""
    folder = staging_folder(parent)
    (folder / OWNER_FILE).write_text(f"{os.getpid()}\n{socket.gethostname()}\n", encoding="utf-8")
    return folder


def owner_alive(folder: str | Path, older_than: float = STALE_SECONDS) -> bool:
    """Whether the process that made the staging `folder` may still be running.

    Where the system can tell (`os.kill(pid, 0)` on POSIX, same host), a dead
    owner means abandoned whatever the folder's age; elsewhere (Windows, where
    `os.kill` would end the process, or an owner on another host) the folder
    counts as owned until it is `older_than` seconds old.
    """
    folder = Path(folder)
    try:
        pid_text, host = (folder / OWNER_FILE).read_text(encoding="utf-8").split("\n")[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        pid, host = None, None
    if pid is not None and host == socket.gethostname() and os.name == "posix":
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, owned by another user
            return True
        except OSError:
            pass
        else:
            return True
    try:
        age = time.time() - os.stat(folder).st_mtime
    except OSError:
        return False
    return age < older_than


def remove_abandoned(folder: str | Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the staging folders in `folder` whose owner is gone (see `owner_alive`); return them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(f"{TEMP_PREFIX}staging.") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or owner_alive(entry.path, older_than):
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
    return removed
