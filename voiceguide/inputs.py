"""Reading a file that someone else may have made: a script, a manifest,
a lexicon, a bundle's state file.

Such a name can point at anything: a FIFO (reading it waits forever), a
device such as ``/dev/zero`` (it never ends), a sparse file of gigabytes
(it costs no disk but all the memory). So the file's type and size are
checked first, without opening it, and then at most ``limit + 1`` bytes
are read (a file that grows meanwhile, or one that reports no size, as
``/proc`` files do, still cannot make voiceguide read more).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "is a folder"),
    (stat.S_ISFIFO, "is a pipe (FIFO)"),
    (stat.S_ISCHR, "is a device"),
    (stat.S_ISBLK, "is a device"),
    (stat.S_ISSOCK, "is a socket"),
)


class InputFileError(ValueError):
    """The file cannot be read as an input: ``reason`` says why in a few
    words (``is a pipe (FIFO)``, ``is 2147483648 bytes; the limit is ...``),
    to follow the file's name."""

    def __init__(self, reason: str, path: Path, size: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.size = size
        """The file's size in bytes, when it is too large."""


def kind_problem(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not a regular file, else None."""
    for test, reason in _KINDS:
        if test(mode):
            return reason
    return None if stat.S_ISREG(mode) else "is not a regular file"


def read_limited(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes.

    Raises
    ------
    FileNotFoundError, PermissionError, OSError
        As ``open`` would (a missing file, no permission, a name too long).
    InputFileError
        When it is not a regular file or is larger than ``limit``; nothing
        beyond ``limit + 1`` bytes is read, and a FIFO is never opened.
    """
    path = Path(path)
    problem = kind_problem(os.stat(path).st_mode)
    if problem:
        raise InputFileError(f"{problem}, not a {what}", path)
    # O_NONBLOCK: should the name have been swapped for a FIFO since the
    # stat, opening it still returns at once (and fstat below refuses it)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        problem = kind_problem(info.st_mode)
        if problem:
            raise InputFileError(f"{problem}, not a {what}", path)
        if info.st_size > limit:
            raise InputFileError(f"{what} is {info.st_size} bytes; the limit is {limit}", path, info.st_size)
        chunks = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputFileError(f"{what} is larger than the limit of {limit} bytes", path)
    return data


def is_regular_file(path: str | Path) -> bool:
    """True for an existing regular file (following symlinks); False for
    anything else, including names the file system cannot hold (too long,
    a NUL byte) where :meth:`pathlib.Path.is_file` would raise."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
