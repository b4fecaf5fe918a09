"""espeak-ng's server, started first thing, beside the command's imports.

A cold ``play`` or ``export`` waits for the speech server (a second Python
that loads libespeak-ng: ~40 ms on a quiet machine, 80-100 ms at load 6)
after voiceguide's own imports (numpy, soundfile, click: ~170 ms). The
command line starts the server before those imports (:func:`start_early`,
from :mod:`voiceguide.launch`), so the two start-ups overlap on two cores;
:class:`~voiceguide.speech.espeak_client.EspeakClient` then takes the
running server (:func:`take`) instead of starting its own. A server nobody
takes is closed at exit (it ends on EOF).

Only the standard library here (and the cache folder's name): this runs
before anything heavy is imported. ``play`` always starts it; ``export``,
``show`` and ``check`` only on a cache without espeak-ng's voice list (a
cold one), since a warm export speaks nothing and a server beside it cost
~0.2 s there; the voice list is asked for only when it is not cached.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, NamedTuple

from ..folders import cache_root

SERVER_SCRIPT = Path(__file__).resolve().with_name("espeak_server.py")
SPEAKING_COMMANDS = frozenset({"play", "export", "show", "check"})
"""Commands that speak a script with the engine (on a cold cache)."""


class _Early(NamedTuple):
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]
    asked_voices: bool


_early: _Early | None = None


def server_command(python: str = sys.executable) -> list[str]:
    """How the server runs: by path with ``-S`` (stdlib only, skips site: ~10 ms)."""
    return [python, "-S", str(SERVER_SCRIPT)]


def start_early(args: list[str]) -> None:
    """Start the server now when the command line ``args`` (without the
    program) will speak with espeak-ng: a speaking command, no ``--help``,
    no other engine or Piper voice asked for, espeak the default engine."""
    global _early
    if _early is not None or not _speaks_with_espeak(args):
        return
    cold = not _voices_cached()
    if not cold and args[0] != "play":
        # A warm cache: an export or show most likely speaks nothing, and a server
        # nobody takes costs a warm export of session.vg ~0.2 s of its two cores (load 6).
        return
    stderr = tempfile.TemporaryFile()
    command = server_command()
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=dict(os.environ), close_fds=True
        )
    except OSError:
        stderr.close()
        return  # the client starts it again, and says what is wrong
    _early = _Early(command, dict(os.environ), process, stderr, cold)
    atexit.register(_discard)
    if not cold:
        return  # the voice list is cached: not asked for
    # Ask for the voice list at once (a cold cache needs it to resolve the
    # script's voice; the server answers beside the imports): the client
    # reads the answer first (see EspeakClient._ensure_server).
    from . import espeak_server as protocol  # stdlib only, 4 ms: after the server is on its way

    try:
        assert process.stdin is not None
        process.stdin.write(protocol.pack_frame(protocol.OP_VOICES, b""))
        process.stdin.flush()
    except OSError:
        pass  # a server that died already is found out by the client


def take(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], IO[bytes], bool] | None:
    """The server started early, if it was started as ``command`` with ``env``
    and still runs; else None. Once only. The caller reads its hello and,
    when the third item is True, the answer to the voice list it was asked
    for (``OP_VOICES``)."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early.command != command or early.env != env or early.process.poll() is not None:
        _close(early)
        return None
    return early.process, early.stderr, early.asked_voices


def _voices_cached() -> bool:
    """Whether an espeak-ng voice list is in the cache (a cache in use)."""
    try:
        return any((cache_root() / "meta").glob("espeak-voices-*.json"))
    except OSError:
        return False


def _discard() -> None:
    global _early
    early, _early = _early, None
    if early is not None:
        _close(early)


def _close(early: _Early) -> None:
    for stream in (early.process.stdin, early.process.stdout, early.stderr):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass  # it ends on EOF; nothing waits for it


def _speaks_with_espeak(args: list[str]) -> bool:
    words = [arg for arg in args if not arg.startswith("-")]
    if not words or words[0] not in SPEAKING_COMMANDS or args[0] != words[0]:
        return False  # options before the command (their values look like words): leave it to the client
    if any(arg in ("--help", "-h") for arg in args):
        return False
    for index, arg in enumerate(args):
        value = arg.split("=", 1)[1] if "=" in arg else (args[index + 1] if index + 1 < len(args) else "")
        if arg.split("=", 1)[0] == "--engine" and value.strip().lower() != "espeak":
            return False
        if arg.split("=", 1)[0] == "--voice" and value.startswith("piper:"):
            return False
    chosen = os.environ.get("VOICEGUIDE_ENGINE", "").strip().lower()
    return (chosen or ("espeak" if sys.platform.startswith("linux") else "")) == "espeak"
