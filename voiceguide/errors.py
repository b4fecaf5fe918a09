"""The one exception family voiceguide raises on purpose.

Every message is a single line that says what was wrong and what would be
right; the CLI prints it as is and exits non-zero, never with a traceback.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path

from .i18n import N_, _, ngettext
from .rules import MAX_REPORTED_ERRORS


class VoiceguideError(Exception):
    """Base class: anything voiceguide reports to the user."""

    exit_code = 1


class ScriptError(VoiceguideError):
    """A script that cannot be read or planned, located at file:line:col.

    One error may stand for several found in one pass (see :meth:`several`):
    its own message and place are the first in file order, :attr:`errors`
    holds them all, and ``str()`` gives one line per error.
    """

    exit_code = 2

    def __init__(self, message: str, source: str | Path = "<script>", line: int = 0, col: int = 0):
        self.message = message
        self.source = str(source)
        self.line = line
        self.col = col
        self.errors: tuple[ScriptError, ...] = (self,)
        """Every error this one reports, in file order (just itself unless made by :meth:`several`)."""
        super().__init__(self.location + message)

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.col}: "
        return f"{self.source}: "

    @classmethod
    def several(cls, errors: Iterable[ScriptError]) -> ScriptError:
        """One error for all of ``errors`` (at least one), sorted into file
        order; errors without a line come last."""
        ordered = tuple(sorted((e for error in errors for e in error.errors), key=file_order))
        if len(ordered) > MAX_REPORTED_ERRORS:  # a flood of errors helps nobody, and printing it takes long
            more = len(ordered) - MAX_REPORTED_ERRORS
            last = ordered[MAX_REPORTED_ERRORS - 1]
            summary = cls(
                ngettext(
                    "and {count} more error after line {line}; fix these first",
                    "and {count} more errors after line {line}; fix these first",
                    more,
                ).format(count=more, line=last.line),
                last.source,
            )
            ordered = (*ordered[:MAX_REPORTED_ERRORS], summary)
        if len(ordered) == 1:
            return ordered[0]
        first = ordered[0]
        combined = cls(first.message, first.source, first.line, first.col)
        combined.errors = ordered
        combined.args = ("\n".join(str(error) for error in ordered),)
        return combined


def file_order(error: ScriptError) -> tuple[str, bool, int, int]:
    """Sort key: by file, then line and column, unlocated errors last."""
    return (error.source, error.line == 0, error.line, error.col)


class EngineError(VoiceguideError):
    """The speech engine is missing, refused a voice or failed to synthesize."""


class DeviceError(VoiceguideError):
    """No usable audio output device, or playback failed."""


class ExportError(VoiceguideError):
    """An output file could not be written."""


class PracticeDataError(VoiceguideError):
    """The practice log or diary cannot be read or written: locked by another
    program, damaged, not ours or from a newer voiceguide. The file is left
    as it is."""


class UsageError(VoiceguideError):
    """A bad option value or an unknown exercise name."""

    exit_code = 2


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
