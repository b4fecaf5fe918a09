"""The one exception family voiceguide raises on purpose.

Every message is a single line that says what was wrong and what would be
right; the CLI prints it as is and exits non-zero, never with a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .i18n import ngettext
from .inputs import os_reason  # noqa: F401 (the library's errors say the system's reasons through it)
from .rules import MAX_REPORTED_ERRORS


class VoiceguideError(Exception):
    """Base class: anything voiceguide reports to the user."""

    exit_code = 1
    template: str | None = None
    """For a message that names settings (see :meth:`naming`): the message
    with a ``{placeholder}`` for each."""
    values: Mapping[str, object] = {}

    @classmethod
    def naming(cls, template: str, settings: Mapping[str, str], *args: object, **values: object) -> VoiceguideError:
        """An error whose message names settings of the library, as the
        library calls them (``settings``: placeholder -> name, e.g.
        ``{"force": "force=True"}``); an interface that calls them otherwise
        (the command line's options) words it with :meth:`named`. ``args``
        go to the class after the message (a ScriptError's source...)."""
        error = cls(template.format(**settings, **values), *args)
        error.template, error.values = template, {**settings, **values}
        return error

    def named(self, names: Mapping[str, str]) -> str:
        """The message with its settings called by ``names`` (placeholder -> name)."""
        if self.template is None:
            return str(self)
        renamed = {**self.values, **{key: names[key] for key in names if key in self.values}}
        # str() may add to the message (a ScriptError its location): only the message is reworded
        return str(self).replace(self.template.format(**self.values), self.template.format(**renamed))


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


class DownloadError(VoiceguideError):
    """A voice could not be fetched: offline, a server error, a cut or stalled
    connection, a file that is not what the catalog says. Nothing is installed."""
