"""Files that appear complete or not at all, even when the writer is killed.

An export writes for seconds to minutes. Whatever happens meanwhile (an
error, Ctrl-C, ``kill -9``, a full disk), the target must afterwards be
either the old file, untouched, or the new one, complete; and no temporary
file may be left behind. :class:`AtomicFile` gives that in two ways:

* **Linux** (``O_TMPFILE``): the data goes into an *unnamed* file created
  in the target's folder. It has no directory entry until the very end, so
  if the process dies for any reason, SIGKILL and power loss included, the
  kernel simply frees it. On commit the file is fsynced and linked to a
  hidden name beside the target through ``/proc/self/fd`` (``linkat`` with
  ``AT_SYMLINK_FOLLOW``), then linked onto the target when there is none
  (``link`` never overwrites, so a file that appeared meanwhile is not
  clobbered) or renamed over the old one.
* **Elsewhere** (no ``O_TMPFILE``, no ``/proc``, or a file system that
  refuses it, e.g. some network shares): a hidden temporary file
  ``.NAME.PID.XXXXXXXX.part`` in the target's folder, removed on any error
  or Ctrl-C. Only SIGKILL (or a crash) can leave one; every later write
  into that folder removes such files whose writer process is gone.

The hidden name is also used for the microseconds between link and rename
in the first way, and swept the same way. Set ``VOICEGUIDE_PORTABLE_TEMP=1``
to force the second way (for tests and for file systems that misbehave).

Files that belong together (an export's audio and its transcript) are
committed with :func:`commit_together`: all of them, or none.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def N_(message: str) -> str:
    """Marks a log message for the catalog: the screen's log formatter
    translates it (this module is below voiceguide.i18n)."""
    return message


log = logging.getLogger(__name__)

_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.part$")


def temp_name(target: Path) -> Path:
    """A fresh hidden name beside ``target`` that records the writer's pid."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` runs on this machine (someone else's counts)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would *terminate* that process on Windows
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    """OpenProcess and its exit code; when in doubt, alive (a file left is
    better than one removed under a running writer)."""
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:
        return True


def left_by_dead_processes(folder: Path, name: re.Pattern[str]) -> list[os.DirEntry]:
    """The entries of ``folder`` whose whole name matches ``name`` (its
    first group a pid) and whose process no longer exists on this machine."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [entry for entry in entries if (match := name.fullmatch(entry.name)) and not pid_alive(int(match.group(1)))]


def sweep_stale_temps(folder: Path) -> list[Path]:
    """Remove temporary files in ``folder`` left by writers that no longer
    run (killed with SIGKILL, or crashed). Returns what was removed.

    Only names of the exact form ``.NAME.PID.XXXXXXXX.part`` are touched,
    and only when no process with that pid exists on this machine.
    """
    removed = []
    for entry in left_by_dead_processes(folder, _TEMP_NAME):
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
        self._backup: Path | None = None

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
        commit_together(self)

    def _flush(self) -> None:
        """Everything written reaches the disk: a full disk fails here, before any target changes."""
        assert self.file is not None, "commit() inside the with block"
        self.file.flush()
        if self.durable:
            os.fsync(self.file.fileno())

    def _stage(self) -> Path:
        """A hidden name beside the target that holds the data (the unnamed
        file is linked to one; a named temporary file already has one)."""
        assert self.file is not None
        if self.temp_path is not None:
            return self.temp_path
        hidden = temp_name(self.target)
        folder_fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            # dst_dir_fd makes Python call linkat(AT_SYMLINK_FOLLOW), which follows the /proc link
            os.link(f"/proc/self/fd/{self.file.fileno()}", hidden.name, dst_dir_fd=folder_fd, follow_symlinks=True)
        finally:
            os.close(folder_fd)
        return hidden

    def _swap_in(self, staged: Path, keep_backup: bool) -> Callable[[], None]:
        """Put ``staged`` at the target; returns what undoes it.

        Without ``replace`` the target must not exist (``link`` never
        overwrites, so a file that appeared meanwhile is not clobbered).
        With ``keep_backup`` an old target is first hard-linked to a hidden
        name, so that undoing puts it back."""
        if not self.replace:
            try:
                os.link(staged, self.target)
            except FileExistsError:
                # name the target, not the temporary file (/proc/self/fd/N means nothing to anyone)
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self.target)) from None
            return lambda: _unlink_quietly(self.target)
        backup = None
        if keep_backup and os.path.lexists(self.target):
            backup = temp_name(self.target)
            try:
                os.link(self.target, backup, follow_symlinks=False)
            except OSError:
                backup = None  # no hard links here: the old file cannot be put back
        existed = os.path.lexists(self.target)
        try:
            os.replace(staged, self.target)
        except BaseException:
            if backup is not None:
                _unlink_quietly(backup)
            raise
        self._backup = backup

        def undo() -> None:
            if backup is not None:
                os.replace(backup, self.target)
            elif not existed:
                _unlink_quietly(self.target)
            else:
                log.warning(N_("%s could not be put back as it was"), self.target)

        return undo

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


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def commit_together(*files: AtomicFile) -> None:
    """Make every file its target: all of them, or (on any error) none.

    An export's audio and its transcript belong together: an old audio
    file must not be replaced when its new transcript cannot be written.
    So every file is first flushed and fsynced (a full disk fails here),
    then given a hidden name beside its target; only then are the targets
    swapped in, one rename each. If one rename fails, those already done
    are undone: an old target comes back from a hard link made just before
    it was replaced. Only SIGKILL or a power cut in the microseconds
    between two renames can leave some files new and others old; no
    temporary file outlives the writer (see :func:`sweep_stale_temps`).

    Raises OSError (FileExistsError naming the target when one appeared
    and ``replace`` is False).
    """
    for file in files:
        file._flush()
    staged: list[Path] = []
    try:
        for file in files:
            staged.append(file._stage())
        undo: list[Callable[[], None]] = []
        try:
            for file, hidden in zip(files, staged):
                undo.append(file._swap_in(hidden, keep_backup=len(files) > 1))
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except OSError as exc:
                    log.warning(N_("could not undo a partial commit: %s"), exc)
            raise
    finally:
        for hidden in staged:
            _unlink_quietly(hidden)
    for file in files:
        file.committed = True
        file.temp_path = None
        if file._backup is not None:
            _unlink_quietly(file._backup)
            file._backup = None
    for folder in dict.fromkeys(file.folder for file in files if file.durable):
        _sync_folder(folder)


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
