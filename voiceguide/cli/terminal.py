"""The terminal side of ``voiceguide play``: single keys without Enter and a
calm status line. Only the CLI uses this module; the library itself never
touches the terminal.

Keys are read in cbreak mode (no echo, no Enter; Ctrl-C still sends
SIGINT), only when stdin is a terminal in the foreground, and the terminal
settings are restored on every way out. Without a terminal, playback runs
with keys off.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TextIO

import click

from ..clock import format_clock
from ..i18n import N_, _
from ..sinks.player import Player
from ..sinks.transport import INTERRUPT_FADE_S, State, Status
from .options import printable
from .signals import Terminated

log = logging.getLogger(__name__)

KEY_HELP = N_("space pause/resume   \u2190 back   \u2192 next chapter   q stop")
"""The keys while playing (translated where shown)."""
ESC_WAIT_S = 0.03
"""After a lone Esc byte, how long to wait for the rest of an arrow key's sequence."""
REFRESH_S = 0.2


def parse_keys(data: bytes) -> list[str]:
    """Key names in bytes read from a terminal in cbreak mode: ``space``,
    ``q``, ``esc``, ``left``, ``right``; anything else is ignored.

    Arrows arrive as ``ESC [ D`` / ``ESC O D`` (also with modifier
    parameters such as ``ESC [ 1 ; 5 D``); a lone ESC is the Esc key.
    """
    keys: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x1B:
            if i + 1 < len(data) and data[i + 1] in b"[O":
                j = i + 2
                while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                    j += 1
                if j >= len(data):
                    break  # an incomplete sequence: drop it
                name = {ord("C"): "right", ord("D"): "left"}.get(data[j])
                if name:
                    keys.append(name)
                i = j + 1
                continue
            keys.append("esc")
        elif byte == 0x20:
            keys.append("space")
        elif byte in b"qQ":
            keys.append("q")
        i += 1
    return keys


class KeyReader:
    """Calls ``on_key(name)`` from a thread for every key pressed (named by
    ``parse``, :func:`parse_keys` unless given), while the context is open."""

    def __init__(self, stream: TextIO, on_key: Callable[[str], None], parse: Callable[[bytes], list[str]] = parse_keys):
        self.stream = stream
        self.on_key = on_key
        self.parse = parse
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: list | None = None

    @staticmethod
    def usable(stream: TextIO | None) -> bool:
        """True for a terminal we may read keys from: in the foreground
        (changing a background job's terminal settings would stop it)."""
        try:
            fd = stream.fileno()  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError):
            return False
        if not os.isatty(fd):
            return False
        if os.name == "nt":
            return True
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            return False

    def __enter__(self) -> KeyReader:
        if os.name == "nt":
            target = self._run_windows
        else:
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)  # no echo, no Enter; ISIG stays, so Ctrl-C is SIGINT
            target = self._run_posix
        self._thread = threading.Thread(target=target, name="voiceguide-keys", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            except (OSError, termios.error):
                pass
            self._saved = None

    def _emit(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.on_key(key)
            except Exception:  # a failing action must not end the key reader
                log.exception("key %s failed", key)

    def _run_posix(self) -> None:
        fd = self.stream.fileno()
        while not self._stop.is_set():
            try:
                ready, _unused, _unused = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(fd, 64)
                if not data:
                    return  # end of input
                if data.endswith(b"\x1b") and select.select([fd], [], [], ESC_WAIT_S)[0]:
                    data += os.read(fd, 64)
            except (OSError, ValueError):
                return
            self._emit(self.parse(data))

    def _run_windows(self) -> None:  # pragma: no cover - Windows only
        import msvcrt

        while not self._stop.is_set():
            if not msvcrt.kbhit():  # type: ignore[attr-defined]
                time.sleep(0.05)
                continue
            char = msvcrt.getwch()  # type: ignore[attr-defined]
            if char in ("\x00", "\xe0"):
                key = {"K": "left", "M": "right"}.get(msvcrt.getwch())  # type: ignore[attr-defined]
                self._emit([key] if key else [])
            else:
                self._emit(self.parse(char.encode("utf-8", "ignore")))


# --- the status line ----------------------------------------------------------------------


def format_status(status: Status, width: int = 80, bar: tuple[str, str] = ("\u2501", "\u2500")) -> str:
    """One line: title, chapter, breath phase, elapsed, a progress bar and
    the time left, never wider than ``width``. The breath phase is in the
    session's language (it belongs to the session); the rest in the interface's."""
    if status.state is State.PREPARING:
        return _("preparing the session\u2026")[: max(0, width)]
    parts = [status.title, status.chapter]
    if status.phase:
        parts.append(f"{status.phase} {status.cycle}/{status.cycles}")
    if status.state is State.PAUSED:
        parts.append(_("paused"))
    elif status.state is State.STOPPING:
        parts.append(_("stopping"))
    left = "  \u00b7  ".join(part for part in parts if part)
    times = (format_clock(int(status.position_s)), "-" + format_clock(int(status.remaining_s)))
    room = width - len(left) - len(times[0]) - len(times[1]) - 6
    size = max(8, min(30, room))
    filled = int(round(status.progress * size))
    right = f"{times[0]} {bar[0] * filled}{bar[1] * (size - filled)} {times[1]}"
    space = width - len(right) - 4
    if len(left) > space:
        left = left[: max(0, space - 1)] + "\u2026" if space > 1 else ""
    return f"{left}    {right}" if left else right


class StatusLine:
    """Redraws one line in place (``\\r``) on a terminal; does nothing when disabled."""

    def __init__(self, stream: TextIO, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self._shown = ""
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "\u2501\u2500\u2190\u2192\u00b7\u2026".encode(encoding)
            self.bar = ("\u2501", "\u2500")
            self.plain = False
        except (UnicodeEncodeError, LookupError):
            self.bar = ("#", "-")
            self.plain = True

    @property
    def width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = shutil.get_terminal_size().columns
        return max(20, columns - 1)  # never touch the last column: some terminals wrap there

    def _text(self, text: str) -> str:
        text = printable(text)  # a file name in the line (the output's) must not steer the terminal
        if self.plain:
            text = text.replace("\u2190", "<-").replace("\u2192", "->").replace("\u00b7", "|").replace("\u2026", "...")
        return text

    def show(self, text: str) -> None:
        text = self._text(text)
        if not self.enabled or text == self._shown:
            return
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._shown = text

    def message(self, text: str) -> None:
        """A line of its own; the status line is redrawn under it later."""
        if not self.enabled:
            return
        self.stream.write("\r\x1b[K" + self._text(text) + "\n")
        self.stream.flush()
        self._shown = ""

    def clear(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = ""


# --- the play command's loop ----------------------------------------------------------------


@dataclass(frozen=True)
class PlayOutcome:
    """How a played session went (for a practice log)."""

    planned_s: float
    """The session's length in seconds."""
    played_s: float
    """How far the listener got, in seconds of the session."""
    completed: bool
    """True when it played to the end, False when stopped (q, Esc)."""


def play_interactive(
    prepare: Callable[..., object],
    *,
    device: int | str | None = None,
    quiet: bool = False,
    stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> PlayOutcome:
    """Open the output, prepare the session (``prepare(sample_rate=...)``
    returns a Session) while the output already runs, then play it with
    keys and a status line.

    The output is opened before the session is prepared, so a missing
    device is reported at once and sound starts as soon as the first block
    is mixed. Ctrl-C (KeyboardInterrupt) fades out within a second and is
    re-raised once the terminal is restored; SIGTERM (raised as
    :class:`~voiceguide.cli.signals.Terminated` inside the command) does the same and
    the command exits 143. Returns how far the listener got.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stderr = stderr if stderr is not None else sys.stderr
    line = StatusLine(stderr, enabled=not quiet and is_terminal(stderr))
    session: object = None
    try:
        with Player(device) as player:
            line.show(_("preparing the session\u2026"))
            session = prepare(sample_rate=player.sample_rate)
            player.load(session)  # type: ignore[arg-type]
            keys = KeyReader.usable(stdin)  # keys work with --quiet too; only the display is off
            announce = not quiet and not line.enabled

            def announce_once_settled() -> None:  # a live session's length is known once its plan settles
                nonlocal announce
                if announce and getattr(session, "settled", True):
                    announce = False
                    stderr.write(
                        _("playing {title} ({length}) on {device}").format(
                            title=session.timeline.title,  # type: ignore[attr-defined]
                            length=format_clock(session.duration_s),  # type: ignore[attr-defined]
                            device=player.device.name if player.device else _("default"),
                        )
                        + "\n"
                    )
                    stderr.flush()

            announce_once_settled()
            if keys:
                line.message(_(KEY_HELP))
            actions = {
                "space": player.toggle_pause,
                "q": player.stop,
                "esc": player.stop,
                "left": player.back,
                "right": player.forward,
            }
            with KeyReader(stdin, lambda key: actions[key]()) if keys else nullcontext():
                try:
                    while not player.wait(timeout_s=REFRESH_S):
                        announce_once_settled()
                        line.show(format_status(player.status(), line.width, line.bar))
                    announce_once_settled()
                except (KeyboardInterrupt, Terminated):
                    line.clear()
                    player.stop(INTERRUPT_FADE_S)
                    try:
                        player.wait(timeout_s=2 * INTERRUPT_FADE_S)
                    except (KeyboardInterrupt, Terminated):
                        pass  # a second Ctrl-C: leave now
                    raise
            status = player.status()
            if player.transport.stopped:
                line.message(
                    _("stopped at {position} of {length}").format(
                        position=format_clock(int(status.position_s)), length=format_clock(status.duration_s)
                    )
                )
            else:
                line.message(_("{title}: finished ({length})").format(title=status.title, length=format_clock(status.duration_s)))
            return PlayOutcome(status.duration_s, status.position_s, not player.transport.stopped)
    finally:
        line.clear()
        close = getattr(session, "close", None)  # a live session still making phrases stops
        if close is not None:
            close()


def is_terminal(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a terminal a person reads or types at (never in
    scripts, pipes or tests' runners)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


PROGRESS_STEPS = (
    N_("synthesizing"),
    N_("writing"),
    N_("planning the built-ins"),
    N_("tracks"),
    N_("downloading"),
    N_("measuring the pace"),
)
"""The steps the library reports through ``progress(what, done, total)``, translated when drawn."""


def confirm(question: str, default: bool = False) -> bool:
    """Ask ``question`` with a yes/no answer in the interface language
    (``[y/N]``, in Dutch ``[j/N]``); y/yes and n/no are understood whatever
    the language. Enter alone gives ``default``; any other answer asks
    again. Ctrl-C or the end of input raises :class:`click.Abort`."""
    yes, no = _("y"), _("n")
    answers = {"y": True, "yes": True, "n": False, "no": False, yes: True, _("yes"): True, no: False, _("no"): False}

    def answer(text: str) -> bool:
        value = answers.get(text.strip().lower())
        if value is None:
            raise click.BadParameter(_("answer {yes} or {no}").format(yes=yes, no=no))
        return value

    choices = f"{yes.upper()}/{no}" if default else f"{yes}/{no.upper()}"
    return click.prompt(f"{question} [{choices}]", default=yes if default else no, show_default=False, value_proc=answer)


class ProgressLine:
    """Draws a step's progress on one line of a terminal (``synthesizing
    12/24``, ``writing 40%``), at most ten times a second, and clears it
    when done; draws nothing when ``enabled`` is false (not a terminal, or
    ``--quiet``). Use it as the library's ``progress`` callback."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None, label: str = ""):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.label = printable(label)  # the output's file name: its ESC must not steer the terminal
        self._shown = False
        self._last = 0.0
        self._clearer = _ClearBeforeLog(self)
        self._handlers: list[logging.Handler] = []

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        text = " ".join(part for part in (self.label, _(what), progress_amount(what, done, total)) if part)
        self.stream.write("\r" + text[: max(20, shutil.get_terminal_size().columns - 1)] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self._clearer)
        self._handlers = []
        self.clear()

    def clear(self) -> None:
        """Take the line away (it comes back with the next report)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
            self._last = 0.0

    def __enter__(self) -> ProgressLine:
        if self.enabled:
            # a log line (a warning, "measuring the pace...") must not land on the progress line:
            # every handler of the root logger clears the line before it writes
            self._handlers = list(logging.getLogger().handlers)
            for handler in self._handlers:
                handler.addFilter(self._clearer)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ClearBeforeLog(logging.Filter):
    """A handler filter that clears a progress line before the record is written (it lets every record through)."""

    def __init__(self, line: ProgressLine):
        super().__init__()
        self.line = line

    def filter(self, record: logging.LogRecord) -> bool:
        self.line.clear()
        return True


def progress_amount(what: str, done: int, total: int) -> str:
    """How far a step is: ``40%`` while writing, a bar with the megabytes
    while downloading, else ``12/24``."""
    if what == "writing":
        return f"{100 * done // max(total, 1)}%"
    if what == "downloading":
        size = 20
        filled = size * done // max(total, 1)
        bar = "#" * filled + "-" * (size - filled)
        return f"[{bar}] {100 * done // max(total, 1)}% {done / 1e6:.1f}/{total / 1e6:.1f} MB"
    return f"{done}/{total}"
