"""Deterministic espeak-ng speech through a small fork-per-phrase server process.

:class:`EspeakClient` starts :mod:`voiceguide.speech.espeak_server` lazily,
on first use (``python -S espeak_server.py``), and talks to it over its
stdin/stdout; see that module for why each phrase is spoken in a forked
child and for the protocol. The same (text, voice, rate, pitch, volume,
word gap) gives byte-identical int16 samples whatever was spoken before, in
any order, in any process; the samples equal those of the ``espeak-ng`` CLI
with the same voice and rate.

The client is thread-safe: one lock serialises the requests on the pipe.
Speed comes from ``jobs``, the number of phrases the server synthesises at
once in separate children.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple

import numpy as np

# The server imports only the standard library; importing it here costs
# nothing and keeps the protocol constants in one place.
from ..errors import EngineError
from ..i18n import _
from . import espeak_server as _proto
from . import prestart
from .libespeak import DEFAULT_LIBRARY, LIBRARY_ENV

__all__ = ["EspeakClient", "EspeakError", "EspeakVoice", "SpeechRequest", "SAMPLE_RATE"]

SAMPLE_RATE = 22050
"""Hz; what libespeak-ng produces for its own (non-MBROLA) voices."""

SERVER_SCRIPT = Path(_proto.__file__).resolve()
"""The server's source file, run by path by default (see :class:`EspeakClient`)."""

DEFAULT_PHRASE_TIMEOUT_S = 30.0
"""Seconds one phrase may take in the server before its child is killed."""

RATE_MIN_WPM, RATE_MAX_WPM = 80, 450
"""espeak's accepted range for espeakRATE (speak_lib.h); not the heard pace."""

_REPLY_SLACK_S = 10.0
"""Extra seconds the client waits for a reply beyond the phrase timeout."""

_STARTUP_TIMEOUT_S = 10.0
_STOP_GRACE_S = 2.0
"""Seconds a server has to exit after EOF before it is killed."""


class EspeakError(EngineError):
    """espeak-ng failed: not installed, unknown voice, a phrase failed, or the server died.

    The message is one line, suitable for the user.
    """


class EspeakVoice(NamedTuple):
    """One voice espeak-ng offers."""

    id: str
    """Identifier for ``voice_id``, e.g. ``gmw/nl``; append a variant as ``gmw/nl+f3``."""
    name: str
    """Display name, e.g. ``Dutch``."""
    languages: tuple[str, ...]
    """Language tags in espeak's priority order, e.g. ``("nl",)``."""


class SpeechRequest(NamedTuple):
    """One phrase to synthesise; a plain 5-tuple works just as well."""

    text: str
    """UTF-8 text without NUL; espeak reads punctuation, not SSML."""
    voice_id: str
    """espeak voice name, e.g. ``gmw/nl+f3`` or ``nl+f3``."""
    rate: int
    """espeak rate parameter, 80-450 ("words per minute", not the heard pace)."""
    pitch: int = 50
    """espeak pitch, 0-99 (50 = the voice's own)."""
    volume: float = 1.0
    """0-1, linear; 1 = espeak's normal amplitude (CLI ``-a 100``)."""
    word_gap: int = 0
    """Extra silence between words, in 10 ms units at espeak's default speed."""


class _ServerGone(Exception):
    """The server process died, closed its pipe or hangs; a restart may help."""

    def __init__(self, message: str, hung: bool = False) -> None:
        super().__init__(message)
        self.hung = hung  # alive but silent: kill it rather than wait for it


class EspeakClient:
    """Speak with libespeak-ng; deterministic int16 samples at :data:`SAMPLE_RATE` Hz.

    Parameters
    ----------
    server_module:
        None (default): run the server's file by path, ``python -S
        .../espeak_server.py``. A module name: run ``python -m
        server_module`` instead (e.g. ``voiceguide.speech._espeak_server``, or
        a test double). Running by path starts in ~40 ms because it imports
        no package ``__init__`` and no site-packages; ``-m`` on a module inside
        a package first imports that package (voiceguide's ``__init__``
        imports numpy and the pipeline, ~250 ms today).
    phrase_timeout_s:
        Seconds a single phrase may take before the server kills its child
        and reports an error for it.
    python:
        Interpreter that runs the server.

    Use as a context manager or call :meth:`close`; a forgotten engine's
    server is closed when the engine is garbage-collected or at exit.
    """

    sample_rate: int = SAMPLE_RATE
    """Hz, of every array this engine returns."""

    def __init__(
        self,
        *,
        server_module: str | None = None,
        phrase_timeout_s: float = DEFAULT_PHRASE_TIMEOUT_S,
        python: str = sys.executable,
    ) -> None:
        if not phrase_timeout_s > 0:
            raise ValueError(f"phrase_timeout_s must be positive, got {phrase_timeout_s}")
        self._server_module = server_module
        self._phrase_timeout_s = float(phrase_timeout_s)
        self._python = python
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._version = ""
        self._data_path = ""
        self._closed = False
        self._finalizer: weakref.finalize | None = None
        self._voices_reply: tuple[int, bytes] | None = None
        """The voice list a server started early was asked for (voiceguide.speech.prestart)."""

    # --- public API ---

    def synthesize(
        self, text: str, voice_id: str, rate: int, pitch: int = 50, volume: float = 1.0, word_gap: int = 0
    ) -> np.ndarray:
        """One phrase -> int16 samples, shape ``(n,)``, at :attr:`sample_rate` Hz.

        ``rate`` is espeak's rate parameter (80-450), ``pitch`` 0-99,
        ``volume`` 0-1. Raises :class:`EspeakError` if espeak fails and
        ``ValueError`` for out-of-range arguments or NUL in the text.
        """
        return self.synthesize_many([(text, voice_id, rate, pitch, volume, word_gap)], jobs=1)[0]

    def synthesize_many(
        self,
        requests: Sequence[tuple[str, str, int, int, float, int]],
        jobs: int = 2,
    ) -> list[np.ndarray]:
        """Several phrases -> one int16 array per phrase, in request order.

        Each request is ``(text, voice_id, rate, pitch, volume, word_gap)`` as in
        :meth:`synthesize` (a :class:`SpeechRequest` fits). Up to ``jobs``
        phrases are synthesised at once, each in its own child process; the
        result does not depend on ``jobs``. If any phrase fails, all are still
        collected and then :class:`EspeakError` names the first failure.
        """
        if not 1 <= jobs <= _proto.MAX_JOBS:
            raise ValueError(f"jobs must be 1..{_proto.MAX_JOBS}, got {jobs}")
        phrases = [_encode_request(i, request) for i, request in enumerate(requests)]
        if not phrases:
            return []
        payload = _proto.SYNTH_HEADER.pack(jobs, self._phrase_timeout_s, len(phrases))
        payload += b"".join(phrases)
        replies = self._exchange(_proto.OP_SYNTH, payload, len(phrases))
        results: list[np.ndarray] = []
        for i, (kind, data) in enumerate(replies):
            if kind == _proto.KIND_OK and not data:
                kind, data = _proto.KIND_ERROR, b"no samples"
            if kind != _proto.KIND_OK:
                text = str(requests[i][0])
                excerpt = text if len(text) <= 40 else text[:37] + "..."
                raise EspeakError(
                    _("espeak-ng failed on phrase {number} of {count} ({excerpt!r}): {reason}").format(
                        number=i + 1, count=len(replies), excerpt=excerpt, reason=data.decode(errors="replace")
                    )
                )
            samples = np.frombuffer(data, dtype=np.int16)  # native order, written on this machine
            samples.flags.writeable = False  # shared, cacheable result
            results.append(samples)
        return results

    def voices(self) -> list[EspeakVoice]:
        """The voices espeak-ng offers (``espeak_ListVoices``), sorted by id."""
        with self._lock:
            self._ensure_server()
            early, self._voices_reply = self._voices_reply, None
        ((kind, data),) = [early] if early is not None else self._exchange(_proto.OP_VOICES, b"", 1)
        if kind != _proto.KIND_OK:
            raise EspeakError(_("listing espeak-ng voices failed: {reason}").format(reason=data.decode(errors="replace")))
        return sorted(_parse_voices(data))

    def version(self) -> str:
        """libespeak-ng's version, e.g. ``1.51``."""
        with self._lock:
            self._ensure_server()
            return self._version

    def data_path(self) -> str:
        """Folder of the espeak-ng-data libespeak-ng uses."""
        with self._lock:
            self._ensure_server()
            return self._data_path

    @property
    def server_pid(self) -> int | None:
        """Process id of the running server, or None (for diagnostics)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def close(self) -> None:
        """Stop the server (it finishes on EOF); the engine cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._stop_server()

    def __enter__(self) -> EspeakClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the server process ---

    def _exchange(self, op: int, payload: bytes, n_replies: int) -> list[tuple[int, bytes]]:
        """Send one request and read its replies; restart a dead server once."""
        request = _proto.pack_frame(op, payload)
        with self._lock:
            for attempt in (1, 2):
                proc = self._ensure_server()
                try:
                    return self._send_and_receive(proc, request, n_replies)
                except _ServerGone as exc:
                    detail = str(exc) if exc.hung else self._server_failure(str(exc))
                    self._stop_server(grace_s=0.0 if exc.hung else _STOP_GRACE_S)
                    if attempt == 2:
                        raise EspeakError(_("the espeak-ng server failed twice: {detail}").format(detail=detail)) from None
                except BaseException:
                    # Interrupted mid-reply (e.g. KeyboardInterrupt): unread
                    # frames would answer the next request, so start afresh.
                    self._stop_server()
                    raise
        raise AssertionError("unreachable")

    def _send_and_receive(self, proc: subprocess.Popen[bytes], request: bytes, n_replies: int) -> list[tuple[int, bytes]]:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _ServerGone(f"writing the request failed ({exc})") from None
        fd = proc.stdout.fileno()
        # Replies come in request order; each arrives within one phrase
        # timeout of the previous one (the server kills slower children).
        wait_s = self._phrase_timeout_s + _REPLY_SLACK_S
        replies = []
        for _reply in range(n_replies):
            kind, length = _proto.FRAME_HEADER.unpack(_read_exact(fd, _proto.FRAME_HEADER.size, wait_s))
            replies.append((kind, _read_exact(fd, length, wait_s)))
        return replies

    def _ensure_server(self) -> subprocess.Popen[bytes]:
        """Start the server if it is not running; read its hello. Caller holds the lock."""
        if self._closed:
            raise EspeakError(_("the espeak-ng engine is closed"))
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop_server()
        env = dict(os.environ)
        if self._server_module is None:
            # -S: the server needs only the standard library; skipping site
            # (and its .pth files) saves ~10 ms of a ~45 ms start.
            command = prestart.server_command(self._python)
        else:
            command = [self._python, "-m", self._server_module]
            # so that the module (and espeak_server, which a double imports) is found
            root = _import_root()
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        early = prestart.take(command, env) if self._server_module is None else None
        asked_voices = False
        if early is not None:  # started beside the command's imports (voiceguide.launch)
            proc, self._stderr, asked_voices = early
        else:
            proc = self._start(command, env)
        self._proc = proc
        self._finalizer = weakref.finalize(self, _stop_process, proc, _STOP_GRACE_S)
        assert proc.stdout is not None
        try:
            header = _read_exact(proc.stdout.fileno(), _proto.FRAME_HEADER.size, _STARTUP_TIMEOUT_S)
            kind, length = _proto.FRAME_HEADER.unpack(header)
            hello = _read_exact(proc.stdout.fileno(), length, _STARTUP_TIMEOUT_S)
        except _ServerGone as exc:
            detail = self._server_failure(str(exc))
            self._stop_server()
            raise EspeakError(_("the espeak-ng server did not start: {detail}").format(detail=detail)) from None
        if kind != _proto.KIND_OK:
            self._stop_server()
            raise EspeakError(hello.decode(errors="replace"))
        sample_rate_hz, version, data_path = _parse_info(hello)
        if sample_rate_hz != SAMPLE_RATE:
            self._stop_server()
            raise EspeakError(
                _("libespeak-ng speaks at {sample_rate_hz} Hz, expected {SAMPLE_RATE} Hz").format(
                    sample_rate_hz=sample_rate_hz, SAMPLE_RATE=SAMPLE_RATE
                )
            )
        self._version, self._data_path = version, data_path
        if asked_voices:  # it was asked for its voices at once: the answer comes next
            try:
                kind, length = _proto.FRAME_HEADER.unpack(
                    _read_exact(proc.stdout.fileno(), _proto.FRAME_HEADER.size, _STARTUP_TIMEOUT_S)
                )
                self._voices_reply = (kind, _read_exact(proc.stdout.fileno(), length, _STARTUP_TIMEOUT_S))
            except _ServerGone as exc:
                detail = self._server_failure(str(exc))
                self._stop_server()
                raise EspeakError(_("the espeak-ng server did not start: {detail}").format(detail=detail)) from None
        return proc

    def _start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """A new server process (its stderr kept in a temporary file)."""
        self._stderr = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                close_fds=True,
            )
        except OSError as exc:
            raise EspeakError(
                _("cannot start the espeak-ng server with {python}: {exc}").format(python=self._python, exc=exc)
            ) from None
        return proc

    def _server_failure(self, reason: str) -> str:
        """One line on why the server failed: its exit and the last line of its stderr."""
        parts = [reason]
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                parts.append(f"server exit status {code}")
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            if lines:
                parts.append(f"stderr: {lines[-1].strip()}")
        return "; ".join(parts)

    def _stop_server(self, grace_s: float = _STOP_GRACE_S) -> None:
        """Stop the server if running; ``grace_s`` seconds to exit after EOF before a kill."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._proc is not None:
            _stop_process(self._proc, grace_s)
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _stop_process(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Close the server's pipes (it exits on EOF); kill it if it lingers ``grace_s`` seconds."""
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _import_root() -> str:
    """The sys.path entry this module was imported from, so the server module is found too."""
    depth = __name__.count(".")
    return str(Path(__file__).resolve().parents[depth])


def _read_exact(fd: int, n: int, timeout_s: float) -> bytes:
    """Read ``n`` bytes from a pipe, waiting at most ``timeout_s`` s for each chunk."""
    parts: list[bytes] = []
    remaining = n
    while remaining:
        deadline = time.monotonic() + timeout_s
        while not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if time.monotonic() >= deadline:
                raise _ServerGone(f"no reply within {timeout_s:g} s", hung=True)
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise _ServerGone("the server closed its output")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _encode_request(index: int, request: tuple[str, str, int, int, float, int]) -> bytes:
    """Validate one request and encode it as an OP_SYNTH phrase."""
    try:
        text, voice_id, rate, pitch, volume, word_gap = request
    except (TypeError, ValueError):
        raise ValueError(
            f"request {index + 1}: expected (text, voice_id, rate, pitch, volume, word_gap), got {request!r}"
        ) from None
    where = f"request {index + 1}"
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: text must be a non-empty string")
    if "\0" in text:
        raise ValueError(f"{where}: text contains a NUL character")
    if not isinstance(voice_id, str) or not voice_id or "\0" in voice_id:
        raise ValueError(f"{where}: voice_id must be a non-empty string without NUL")
    if int(rate) != rate or not RATE_MIN_WPM <= rate <= RATE_MAX_WPM:
        raise ValueError(f"{where}: rate must be an integer {RATE_MIN_WPM}-{RATE_MAX_WPM}, got {rate!r}")
    if int(pitch) != pitch or not 0 <= pitch <= 99:
        raise ValueError(f"{where}: pitch must be an integer 0-99, got {pitch!r}")
    if not 0.0 <= volume <= 1.0:
        raise ValueError(f"{where}: volume must be 0-1, got {volume!r}")
    text_bytes = text.encode("utf-8")
    voice_bytes = voice_id.encode("utf-8")
    if int(word_gap) != word_gap or not 0 <= word_gap <= 1000:
        raise ValueError(f"{where}: word_gap must be an integer 0-1000, got {word_gap!r}")
    header = _proto.PHRASE_HEADER.pack(
        int(rate), int(pitch), round(volume * 100), int(word_gap), len(voice_bytes), len(text_bytes)
    )
    return header + voice_bytes + text_bytes


def _read_str(data: bytes, offset: int) -> tuple[str, int]:
    (length,) = _proto.U32.unpack_from(data, offset)
    offset += _proto.U32.size
    return data[offset : offset + length].decode(errors="replace"), offset + length


def _parse_info(data: bytes) -> tuple[int, str, str]:
    (sample_rate_hz,) = _proto.INFO_HEADER.unpack_from(data)
    version, offset = _read_str(data, _proto.INFO_HEADER.size)
    data_path, _offset = _read_str(data, offset)
    return sample_rate_hz, version, data_path


def _parse_voices(data: bytes) -> list[EspeakVoice]:
    (count,) = _proto.U32.unpack_from(data)
    offset = _proto.U32.size
    voices = []
    for _voice in range(count):
        voice_id, offset = _read_str(data, offset)
        name, offset = _read_str(data, offset)
        (n_languages,) = _proto.U16.unpack_from(data, offset)
        offset += _proto.U16.size
        languages = []
        for _language in range(n_languages):
            language, offset = _read_str(data, offset)
            languages.append(language)
        voices.append(EspeakVoice(voice_id, name, tuple(languages)))
    return voices


LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/homebrew/lib",
)


def find_library() -> str | None:
    """The libespeak-ng file the server will load (``$VOICEGUIDE_LIBESPEAK``
    or the usual places), found without loading it; None if there is none."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return override if os.path.exists(override) else None
    for folder in LIBRARY_DIRS:
        for name in (DEFAULT_LIBRARY, "libespeak-ng.1.dylib"):
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate):
                return candidate
    return None
