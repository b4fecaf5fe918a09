"""Files that appear complete or not at all, even when the writer is killed.

An export writes for seconds to minutes. Whatever happens meanwhile (an
error, Ctrl-C, ``kill -9``, a full disk), the target must afterwards be
either the old file, untouched, or the new one, complete; and no temporary
file may be left behind. :class:`AtomicFile` gives that in two ways:

* **Linux** (``O_TMPFILE``): the data goes into an *unnamed* file created
  in the target's folder. It has no directory entry until the very end, so
  if the process dies for any reason, SIGKILL and power loss included, the
  kernel simply frees it. On commit the file is fsynced and linked into
  place through ``/proc/self/fd`` (``linkat`` with ``AT_SYMLINK_FOLLOW``):
  straight onto the target name when there is none (``link`` never
  overwrites, so a file that appeared meanwhile is not clobbered), or onto
  a hidden name that ``os.replace`` then renames over the old target.
* **Elsewhere** (no ``O_TMPFILE``, no ``/proc``, or a file system that
  refuses it, e.g. some network shares): a hidden temporary file
  ``.NAME.PID.XXXXXXXX.part`` in the target's folder, removed on any error
  or Ctrl-C. Only SIGKILL (or a crash) can leave one; every later write
  into that folder removes such files whose writer process is gone.

The hidden name is also used for the microseconds between link and rename
in the first way, and swept the same way. Set ``VOICEGUIDE_PORTABLE_TEMP=1``
to force the second way (for tests and for file systems that misbehave).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.part$")


def temp_name(target: Path) -> Path:
    """A fresh hidden name beside ``target`` that records the writer's pid."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


def sweep_stale_temps(folder: Path) -> list[Path]:
    """Remove temporary files in ``folder`` left by writers that no longer
    run (killed with SIGKILL, or crashed). Returns what was removed.

    Only names of the exact form ``.NAME.PID.XXXXXXXX.part`` are touched,
    and only when no process with that pid exists on this machine.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed %s, left by an export that was killed", entry.path)
        except OSError:
            pass
    return removed


def _portable_only() -> bool:
    return os.environ.get("VOICEGUIDE_PORTABLE_TEMP") == "1" or not hasattr(os, "O_TMPFILE")


class AtomicFile:
    """Write ``target`` atomically: use as a context manager, write through
    :attr:`file` or :attr:`path`, then call :meth:`commit`. Leaving the
    block without a commit (an exception, Ctrl-C) discards everything.

    :attr:`path` names the temporary file for libraries that open files
    themselves (``/proc/self/fd/N`` for an unnamed one): libsndfile then
    does its own I/O in C, so a full disk is an ordinary error and Ctrl-C
    is not swallowed by a Python callback.

    ``replace=False`` refuses to overwrite an existing target, also one
    that appears while writing (:class:`FileExistsError` from commit).
    A replaced target's permission bits are kept.
    """

    def __init__(self, target: str | Path, *, replace: bool = False, durable: bool = True):
        self.target = Path(target)
        self.durable = durable
        """fsync the file and its folder on commit (a cache entry can skip it: losing one costs only time)."""
        self.folder = self.target.parent if str(self.target.parent) else Path(".")
        self.replace = replace
        self.file: BinaryIO | None = None
        """The temporary file, open for reading and writing."""
        self.path = ""
        """A name by which other code can open the temporary file."""
        self.temp_path: Path | None = None
        """The hidden name while writing (portable way only)."""
        self.committed = False

    @property
    def unnamed(self) -> bool:
        """True when the data lives in an unnamed O_TMPFILE inode."""
        return self.file is not None and self.temp_path is None

    def __enter__(self) -> AtomicFile:
        if self.file is None:
            self.open()
        return self

    def open(self) -> None:
        """Create the temporary file (``with`` does this when needed).

        Raises OSError when the folder cannot be written (read-only,
        permissions), before any work is done.
        """
        sweep_stale_temps(self.folder)
        mode = self._mode()
        fd = None
        if not _portable_only():
            try:
                fd = os.open(self.folder, os.O_TMPFILE | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode)
                if not os.path.exists(f"/proc/self/fd/{fd}"):
                    os.close(fd)
                    fd = None
            except OSError:
                fd = None  # the file system does not support it: use a named temp
        if fd is None:
            self.temp_path = temp_name(self.target)
            fd = os.open(self.temp_path, os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode)
        if mode != 0o666:
            os.fchmod(fd, mode)  # keep a replaced file's permissions despite the umask
        self.file = os.fdopen(fd, "w+b")
        self.path = str(self.temp_path) if self.temp_path is not None else f"/proc/self/fd/{fd}"

    def _mode(self) -> int:
        try:
            return self.target.stat().st_mode & 0o777
        except OSError:
            return 0o666  # the umask applies, as for any new file

    def commit(self) -> None:
        """Make the written data the target, durably (fsync file and folder)."""
        assert self.file is not None, "commit() inside the with block"
        self.file.flush()
        if self.durable:
            os.fsync(self.file.fileno())
        if self.temp_path is None:
            self._link_unnamed()
        elif self.replace:
            os.replace(self.temp_path, self.target)
            self.temp_path = None
        else:
            os.link(self.temp_path, self.target)  # fails if the target appeared meanwhile
            os.unlink(self.temp_path)
            self.temp_path = None
        self.committed = True
        if self.durable:
            self._sync_folder()

    def _link_unnamed(self) -> None:
        assert self.file is not None
        source = f"/proc/self/fd/{self.file.fileno()}"
        folder_fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if not self.replace:
                # dst_dir_fd makes Python call linkat(), which follows the /proc link
                os.link(source, self.target.name, dst_dir_fd=folder_fd, follow_symlinks=True)
                return
            hidden = temp_name(self.target)
            os.link(source, hidden.name, dst_dir_fd=folder_fd, follow_symlinks=True)
            try:
                os.replace(hidden, self.target)
            except BaseException:
                os.unlink(hidden)
                raise
        finally:
            os.close(folder_fd)

    def _sync_folder(self) -> None:
        try:
            fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Forget the written data (an unnamed file vanishes on close)."""
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
        if self.temp_path is not None:
            try:
                os.unlink(self.temp_path)
            except OSError:
                pass
            self.temp_path = None

    def __exit__(self, *exc: object) -> None:
        if self.committed:
            if self.file is not None:
                self.file.close()
        else:
            self.discard()


def write_atomically(target: str | Path, data: bytes, *, replace: bool = True, durable: bool = True) -> Path:
    """Write ``data`` as the whole of ``target``, atomically (see :class:`AtomicFile`).

    Raises OSError when the folder cannot be written; FileExistsError when
    ``replace`` is False and the target exists.
    """
    with AtomicFile(target, replace=replace, durable=durable) as out:
        assert out.file is not None
        out.file.write(data)
        out.commit()
    return Path(target)
