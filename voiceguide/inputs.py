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

import errno
import json
import math
import os
import stat
from pathlib import Path


def N_(message: str) -> str:
    """Marks ``message`` for the catalog (see :mod:`voiceguide.i18n`)."""
    return message


def translate(message: str) -> str:
    """``message`` in the interface language. This module is below
    :mod:`voiceguide.i18n` and imports none of voiceguide: i18n puts its
    own translation here when it is loaded (until then, English)."""
    return message


def _(message: str) -> str:
    return translate(message)


_KINDS = (
    (stat.S_ISDIR, N_("is a folder")),
    (stat.S_ISFIFO, N_("is a pipe (FIFO)")),
    (stat.S_ISCHR, N_("is a device")),
    (stat.S_ISBLK, N_("is a device")),
    (stat.S_ISSOCK, N_("is a socket")),
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
    """Why a file of this ``st_mode`` is not a regular file (in the
    interface language), else None."""
    for test, reason in _KINDS:
        if test(mode):
            return _(reason)
    return None if stat.S_ISREG(mode) else _("is not a regular file")


def regular_file_problem(path: str | Path) -> str | None:
    """Why ``path`` is not an existing regular file, in a few words to
    follow its name (``no such file``, ``is a pipe (FIFO), not a regular
    file``), else None. Never opens it: a FIFO would block, a device never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return _("no such file")
    except OSError as exc:
        return os_reason(exc).lower()
    except ValueError:  # a NUL in the name
        return _("no such file")
    problem = kind_problem(mode)
    if problem is None:
        return None
    return problem if problem == _("is not a regular file") else _("{kind}, not a regular file").format(kind=problem)


def inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path``, with every symlink on its way followed, stays in
    ``folder`` (itself resolved): a shared folder's link must not lead out."""
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL
        return False


def read_limited(path: str | Path, limit: int, what: str = N_("file")) -> bytes:
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
        raise InputFileError(_("{problem}, not a {what}").format(problem=problem, what=_(what)), path)
    # O_NONBLOCK: should the name have been swapped for a FIFO since the
    # stat, opening it still returns at once (and fstat below refuses it)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        problem = kind_problem(info.st_mode)
        if problem:
            raise InputFileError(_("{problem}, not a {what}").format(problem=problem, what=_(what)), path)
        if info.st_size > limit:
            raise InputFileError(
                _("{what} is {size} bytes; the limit is {limit}").format(what=_(what), size=info.st_size, limit=limit),
                path,
                info.st_size,
            )
        chunks = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputFileError(_("{what} is larger than the limit of {limit} bytes").format(what=_(what), limit=limit), path)
    return data


def is_regular_file(path: str | Path) -> bool:
    """True for an existing regular file (following symlinks); False for
    anything else, including names the file system cannot hold (too long,
    a NUL byte) where :meth:`pathlib.Path.is_file` would raise."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


class JSONInputError(ValueError):
    """JSON that cannot be taken as data: ``reason`` says why in a few
    words; ``line`` and ``col`` locate it when the parser knows where (else 0)."""

    def __init__(self, reason: str, line: int = 0, col: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.col = col


def load_json(data: bytes | str) -> object:
    """JSON from someone else, as data that cannot trip the code reading it.

    Python's parser takes more than JSON allows, and some of it breaks the
    reader later rather than now: ``NaN`` and ``Infinity`` (and ``1e999``,
    read as infinity) are not numbers anything can be computed with;
    nesting thousands deep raises RecursionError; an integer of more than
    4,300 digits raises a bare ValueError. Each of these is refused here,
    as is text that is not UTF-8.

    Raises
    ------
    JSONInputError
        With a short reason (translated) and, for syntax errors, the line and column.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise JSONInputError(_("not UTF-8 text")) from None
    try:
        return json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise JSONInputError(_("not valid JSON: {reason}").format(reason=_(exc.msg)), exc.lineno, exc.colno) from None
    except RecursionError:
        raise JSONInputError(_("not valid JSON: nested too deeply")) from None
    except JSONInputError:
        raise
    except ValueError:  # the int-str conversion limit: a number of more than 4,300 digits
        raise JSONInputError(_("holds a number of more than {digits} digits").format(digits=_PYTHON_INT_DIGITS)) from None


_PYTHON_INT_DIGITS = 4300
_JSON_MESSAGES = (
    N_("Expecting value"),
    N_("Expecting property name enclosed in double quotes"),
    N_("Expecting ',' delimiter"),
    N_("Expecting ':' delimiter"),
    N_("Extra data"),
    N_("Unterminated string starting at"),
    N_("Invalid control character at"),
    N_("Invalid \\escape"),
    N_("Invalid \\uXXXX escape"),
    N_("Illegal trailing comma before end of object"),
    N_("Illegal trailing comma before end of array"),
)
"""The json module's messages (its ``msg``), so that they can be translated."""


def _not_a_number(word: str) -> float:
    raise JSONInputError(_("holds {word}, which is not a number").format(word=word))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(_("holds {number}, which is too large").format(number=text[:20]))
    return value


_OS_REASONS = {
    errno.ENOENT: N_("No such file or directory"),
    errno.EACCES: N_("Permission denied"),
    errno.EPERM: N_("Operation not permitted"),
    errno.ENOSPC: N_("No space left on device"),
    errno.EDQUOT: N_("Disk quota exceeded"),
    errno.EROFS: N_("Read-only file system"),
    errno.ENAMETOOLONG: N_("File name too long"),
    errno.EISDIR: N_("Is a directory"),
    errno.ENOTDIR: N_("Not a directory"),
    errno.EEXIST: N_("File exists"),
    errno.ENOTEMPTY: N_("Directory not empty"),
    errno.EIO: N_("Input/output error"),
    errno.ELOOP: N_("Too many levels of symbolic links"),
    errno.EBUSY: N_("Device or resource busy"),
    errno.EXDEV: N_("Invalid cross-device link"),
    errno.EMFILE: N_("Too many open files"),
    errno.ENFILE: N_("Too many open files in system"),
    errno.ENOMEM: N_("Cannot allocate memory"),
    errno.EFBIG: N_("File too large"),
    errno.EINVAL: N_("Invalid argument"),
    errno.ENXIO: N_("No such device or address"),
    errno.ENODEV: N_("No such device"),
    errno.ETXTBSY: N_("Text file busy"),
    errno.EOPNOTSUPP: N_("Operation not supported"),
}
"""The system's own words for the common errors (as glibc says them), so
that they can be translated; the rest keep the system's text."""


def os_reason(exc: OSError) -> str:
    """What the system said (``No space left on device``), in the interface
    language for the common errors (by their number, not their text), the
    system's own text for any other."""
    reason = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    if reason is not None:
        return _(reason)
    return exc.strerror or str(exc) or type(exc).__name__
