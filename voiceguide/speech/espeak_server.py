"""A small process that speaks through libespeak-ng, one forked child per phrase.

The client, :class:`voiceguide.speech.espeak.EspeakClient`, runs it by path
as ``python -S .../espeak_server.py`` (~40 ms to its hello): ``-m`` would
import the voiceguide package (numpy and the pipeline) first. Only the
standard library is imported so that start-up stays at a few tens of
milliseconds.

Why a fork per phrase
---------------------
Within one process libespeak-ng's output depends on what it spoke before (the
same sentence came out a few hundred samples longer or shorter at different
positions of a sequence; measured on this project's machines). This server therefore keeps a
*pristine* espeak: the parent calls ``espeak_Initialize`` and
``espeak_ListVoices`` once (the latter only to cache the voice list) and then
never sets a voice or parameter and never synthesises. Every phrase (and every
voice listing) runs in a child made with ``os.fork()``, which starts from that
same state, sets voice and parameters, synthesises in
``AUDIO_OUTPUT_SYNCHRONOUS`` mode, writes its samples to a pipe and calls
``os._exit()``. The same (text, voice, rate, pitch, volume) hence gives the
same bytes whatever was spoken before, in whichever order, in any process,
and the same bytes as the ``espeak-ng`` CLI.

The parent has no Python threads. libespeak-ng itself starts one helper
thread in ``espeak_Initialize`` (its asynchronous command queue), which
waits on a condition variable; synchronous synthesis never touches that
queue, so the children (which inherit only the forking thread) do not need
it. Children die with the server (``PR_SET_PDEATHSIG``), so a killed server
leaves no stray synthesis behind.

Protocol (stdin -> stdout, little-endian)
-----------------------------------------
Every message in both directions is a *frame*: ``u8 kind`` + ``u32 length`` +
``length`` payload bytes.

On start-up the server sends one hello frame: ``OK`` + info payload, or
``ERROR`` + a one-line UTF-8 message (after which it exits).

Requests (``kind`` is the operation):

``OP_SYNTH``
    payload = ``u16 jobs, f64 timeout_s, u32 count`` then ``count`` phrases,
    each ``i32 rate_wpm, i32 pitch_0_99, i32 volume_0_200, i32 word_gap_10ms, u16 voice_len,
    u32 text_len`` + voice bytes + text bytes (UTF-8, no NUL).
    Reply: ``count`` frames in request order, each ``OK`` + native int16
    samples at the sample rate, or ``ERROR`` + a one-line message.
``OP_VOICES``
    Reply: one ``OK`` frame: ``u32 count`` then per voice ``str id, str name,
    u16 n_languages, n_languages * str`` (``str`` = ``u32 length`` + UTF-8).
``OP_INFO``
    Reply: one ``OK`` frame with the info payload: ``i32 sample_rate_hz,
    str version, str data_path``.

A malformed request gets one ``ERROR`` frame and the server exits (the
stream can no longer be trusted). EOF on stdin ends the server.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable

try:  # in the package
    from . import libespeak
except ImportError:  # run by path with python -S: the binding is the file beside this one
    import libespeak  # type: ignore[no-redef]

# --- protocol constants (the client imports these; keep them in one place) ---
OP_SYNTH = 1
OP_VOICES = 2
OP_INFO = 3
KIND_OK = 0
KIND_ERROR = 1

FRAME_HEADER = struct.Struct("<BI")
SYNTH_HEADER = struct.Struct("<HdI")
PHRASE_HEADER = struct.Struct("<iiiiHI")
INFO_HEADER = struct.Struct("<i")
U32 = struct.Struct("<I")
U16 = struct.Struct("<H")

MAX_JOBS = 64
"""Upper bound on concurrent children per request (protects the machine). Local, not in
rules.py: the server runs by path on the standard library alone (espeak_client checks
it too, before sending)."""

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True)


class ProtocolError(Exception):
    """A request that does not follow the protocol."""


# --- framing helpers ---


def pack_frame(kind: int, payload: bytes) -> bytes:
    """One frame: kind byte, payload length, payload."""
    return FRAME_HEADER.pack(kind, len(payload)) + payload


def pack_str(text: str) -> bytes:
    """A length-prefixed UTF-8 string (``u32`` byte count + bytes)."""
    data = text.encode("utf-8", "replace")
    return U32.pack(len(data)) + data


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to a blocking file descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly ``n`` bytes; None on EOF before the first byte."""
    parts: list[bytes] = []
    remaining = n
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            if remaining == n:
                return None
            raise ProtocolError(f"request truncated: {n - remaining} of {n} bytes")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def one_line(text: str) -> str:
    """Collapse a message to one line (protocol error messages are one line)."""
    return " ".join(text.split())


# --- the library ---


class Espeak:
    """libespeak-ng, initialised once in synchronous mode.

    Only ``__init__`` and :meth:`info` run in the server's parent process;
    everything that sets a voice or parameter, or synthesises, runs in
    forked children. ``cache_voice_list=False`` is for experiments only
    (setting a voice in the parent, to measure what that changes).
    """

    def __init__(self, library: str, cache_voice_list: bool = True) -> None:
        self.lib = libespeak.bind(library)
        lib = self.lib

        self.sample_rate_hz = lib.espeak_Initialize(libespeak.AUDIO_OUTPUT_SYNCHRONOUS, 0, None, libespeak.INITIALIZE_DONT_EXIT)
        if self.sample_rate_hz <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {self.sample_rate_hz})")
        self.version, self.data_path = self.info()
        # With INITIALIZE_DONT_EXIT a missing data folder is only printed, so check it here.
        if not os.path.exists(os.path.join(self.data_path, "phontab")):
            raise RuntimeError(f"espeak-ng is missing or broken (no voice data at {self.data_path}); {libespeak.INSTALL_HINT}")

        # Warm espeak's voice list once: SetVoiceByName("nl+f3") otherwise
        # scans every voice file (~2 ms) in each child. Listing voices only
        # reads voice files into that list; it selects no voice, and children
        # of a parent that listed voices (or even set several voices)
        # produced the same bytes as children of an untouched parent.
        if cache_voice_list:
            lib.espeak_ListVoices(None)

        # The callback only appends to a list; it is installed once, in the
        # parent, and each child fills its own copy of the (empty) list.
        self._chunks: list[bytes] = []
        self._callback = libespeak.SYNTH_CALLBACK(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)

    def info(self) -> tuple[str, str]:
        """(version, data path); espeak_Info only reads two globals."""
        path = ctypes.c_char_p()
        version = self.lib.espeak_Info(ctypes.byref(path))
        return (version or b"").decode(), (path.value or b"").decode()

    def _on_samples(self, wav: ctypes._Pointer, n_samples: int, _events: int) -> int:
        if wav and n_samples > 0:
            self._chunks.append(ctypes.string_at(wav, n_samples * 2))
        return 0  # 0 = continue synthesis

    def speak(self, text: bytes, voice: bytes, rate_wpm: int, pitch: int, volume: int, word_gap: int = 0) -> bytes:
        """Synthesise one phrase; return native int16 samples. Call in a child only.

        ``rate_wpm`` is espeak's rate parameter, ``pitch`` 0-99, ``volume``
        0-200 (100 = normal), ``word_gap`` extra silence between words in
        10 ms units (at espeak's default speed). Voice first, then parameters, and the same
        voice fallback: what the espeak-ng CLI does.
        """
        lib = self.lib
        if lib.espeak_SetVoiceByName(voice) != libespeak.EE_OK:
            # Like the CLI's -v: a name that is no voice may be a language (en-gb).
            language = ctypes.create_string_buffer(voice)
            spec = libespeak.EspeakVoice(languages=ctypes.addressof(language))
            if lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) != libespeak.EE_OK:
                raise ValueError(f"espeak-ng has no voice {voice.decode(errors='replace')!r}")
        for param, value in (
            (libespeak.PARAM_RATE, rate_wpm),
            (libespeak.PARAM_VOLUME, volume),
            (libespeak.PARAM_PITCH, pitch),
            (libespeak.PARAM_WORDGAP, word_gap),
        ):
            if lib.espeak_SetParameter(param, value, 0) != libespeak.EE_OK:
                raise ValueError(f"espeak_SetParameter({param}, {value}) failed")
        self._chunks.clear()
        status = lib.espeak_Synth(
            text, len(text) + 1, 0, libespeak.POS_CHARACTER, 0, libespeak.CHARS_UTF8 | libespeak.ENDPAUSE, None, None
        )
        if status != libespeak.EE_OK:
            raise RuntimeError(f"espeak_Synth returned {status}")
        samples = b"".join(self._chunks)
        if not samples:
            raise RuntimeError("espeak produced no samples")
        return samples

    def list_voices(self) -> bytes:
        """All voices as the OP_VOICES payload. Call in a child only."""
        table = self.lib.espeak_ListVoices(None)
        entries: list[bytes] = []
        i = 0
        while table[i]:
            voice = table[i].contents
            languages = _unpack_languages(voice.languages)
            entries.append(
                pack_str((voice.identifier or b"").decode(errors="replace"))
                + pack_str((voice.name or b"").decode(errors="replace"))
                + U16.pack(len(languages))
                + b"".join(pack_str(lang) for lang in languages)
            )
            i += 1
        return U32.pack(len(entries)) + b"".join(entries)


def _unpack_languages(address: int | None) -> list[str]:
    """Read espeak_VOICE.languages: (priority byte, NUL-terminated name) pairs, 0 ends."""
    languages: list[str] = []
    if not address:
        return languages
    while True:
        priority = ctypes.c_ubyte.from_address(address).value
        if priority == 0:
            return languages
        name = ctypes.string_at(address + 1)  # stops at the NUL
        languages.append(name.decode(errors="replace"))
        address += 1 + len(name) + 1


# --- children ---


class _Child:
    """One forked child and what it has written so far.

    A plain class: ``dataclasses`` would add ~30 ms to the server's start-up.
    """

    __slots__ = ("index", "pid", "fd", "pidfd", "deadline", "data", "eof", "status")

    def __init__(self, index: int, pid: int, fd: int, deadline: float) -> None:
        self.index = index
        self.pid = pid
        self.fd = fd
        self.pidfd = _pidfd_open(pid)  # readable once the child has exited; -1 if unsupported
        self.deadline = deadline  # time.monotonic() after which the child is killed
        self.data = bytearray()  # what the child wrote so far: one frame
        self.eof = False  # its pipe is closed (it exited, or is exiting)
        self.status: int | None = None  # os.waitpid status once reaped


Work = tuple[Callable[..., bytes], tuple]
"""A function run in a child and its arguments; it returns the reply payload."""


def _pidfd_open(pid: int) -> int:
    """A pidfd for ``pid`` (Linux >= 5.3), or -1: then exits are polled instead."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


def _fork_child(work: Work, index: int, timeout_s: float, close_fds: list[int]) -> _Child:
    """Fork a child that runs ``work`` and writes its one reply frame to a pipe.

    The child closes ``close_fds``: the server's protocol pipes (a child that
    held the client's pipe would hide the server's death from the client)
    and the pipes and pidfds of the other children.
    """
    read_fd, write_fd = os.pipe()
    parent_pid = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: never return from here
        code = 1
        try:
            # Die with the server (not linger as an orphan if it is killed).
            # Safe here because the server forks from its only Python thread.
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent_pid:  # the server died before prctl
                os._exit(1)
            os.close(read_fd)
            for fd in close_fds:
                os.close(fd)
            try:
                function, args = work
                payload = function(*args)
                frame = pack_frame(KIND_OK, payload)
                code = 0
            except Exception as exc:  # noqa: BLE001 - reported to the client
                frame = pack_frame(KIND_ERROR, one_line(str(exc) or type(exc).__name__).encode())
            write_all(write_fd, frame)
        finally:
            os._exit(code)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return _Child(index, pid, read_fd, time.monotonic() + timeout_s)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"child killed by signal {name}"
    return f"child exited with status {os.waitstatus_to_exitcode(status)}"


def _result_of(child: _Child) -> tuple[int, bytes]:
    """Turn what a finished child wrote, and how it ended, into (kind, payload)."""
    data = bytes(child.data)
    frame_ok = len(data) >= FRAME_HEADER.size
    if frame_ok:
        kind, length = FRAME_HEADER.unpack_from(data)
        frame_ok = len(data) == FRAME_HEADER.size + length and kind in (KIND_OK, KIND_ERROR)
    assert child.status is not None
    exited_ok = os.WIFEXITED(child.status) and os.WEXITSTATUS(child.status) == 0
    if frame_ok:
        payload = data[FRAME_HEADER.size :]
        if kind == KIND_ERROR:
            return KIND_ERROR, payload
        if not exited_ok:
            return KIND_ERROR, _describe_exit(child.status).encode()
        return KIND_OK, payload
    if not exited_ok:
        return KIND_ERROR, _describe_exit(child.status).encode()
    return KIND_ERROR, f"child wrote a truncated reply ({len(data)} bytes)".encode()


def run_children(
    works: list[Work],
    jobs: int,
    timeout_s: float,
    deliver: Callable[[int, int, bytes], None],
    private_fds: tuple[int, ...] = (),
) -> None:
    """Run each work in its own child, at most ``jobs`` at once.

    ``deliver(index, kind, payload)`` is called in request order. All pipes
    are drained as data arrives (select + non-blocking reads) so no child
    blocks on a full pipe; a child is done when its pipe is at EOF and it has
    exited (its pidfd is readable); a child past ``timeout_s`` seconds is
    killed. ``private_fds`` are closed in every child.
    """
    pending = deque(enumerate(works))
    running: dict[int, _Child] = {}  # by pid
    done: dict[int, tuple[int, bytes]] = {}
    next_index = 0
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index, work = pending.popleft()
                close_fds = [*private_fds, *_open_fds(running.values())]
                child = _fork_child(work, index, timeout_s, close_fds)
                running[child.pid] = child

            by_fd = {c.fd if not c.eof else c.pidfd: c for c in running.values()}
            by_fd.pop(-1, None)
            now = time.monotonic()
            wait_s = max(0.0, min(c.deadline for c in running.values()) - now)
            if any(c.eof and c.pidfd < 0 for c in running.values()):
                wait_s = min(wait_s, 0.002)  # no pidfd: poll for the exit
            ready = select.select(list(by_fd), [], [], wait_s)[0] if by_fd else _sleep(wait_s)

            for fd in ready:
                child = by_fd[fd]
                if child.eof:
                    continue  # its pidfd: reaped below
                while True:
                    try:
                        chunk = os.read(fd, 1 << 20)
                    except BlockingIOError:
                        break
                    if not chunk:
                        child.eof = True
                        os.close(fd)
                        break
                    child.data += chunk

            now = time.monotonic()
            for pid, child in list(running.items()):
                if child.eof:
                    reaped, status = os.waitpid(pid, os.WNOHANG)
                    if reaped:
                        child.status = status
                        done[child.index] = _result_of(child)
                        _close_pidfd(child)
                        del running[pid]
                        continue
                if now >= child.deadline:
                    _kill(child)
                    del running[pid]
                    done[child.index] = (KIND_ERROR, f"timed out after {timeout_s:g} s".encode())

            while next_index in done:
                kind, payload = done.pop(next_index)
                deliver(next_index, kind, payload)
                next_index += 1
    finally:
        for child in running.values():  # only on an exception (e.g. the client went away)
            _kill(child)


def _open_fds(children: Iterable[_Child]) -> list[int]:
    """The parent's descriptors for these children (pipes still open, pidfds)."""
    fds = [c.fd for c in children if not c.eof]
    return fds + [c.pidfd for c in children if c.pidfd >= 0]


def _close_pidfd(child: _Child) -> None:
    if child.pidfd >= 0:
        os.close(child.pidfd)
        child.pidfd = -1


def _sleep(seconds: float) -> list[int]:
    time.sleep(seconds)
    return []


def _kill(child: _Child) -> None:
    """SIGKILL and reap a child; close its pipe if still open."""
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(child.pid, 0)
    if not child.eof:
        os.close(child.fd)
        child.eof = True
    _close_pidfd(child)


# --- requests ---


def parse_synth(payload: bytes) -> tuple[int, float, list[tuple[bytes, bytes, int, int, int, int]]]:
    """OP_SYNTH payload -> (jobs, timeout_s, [(text, voice, rate, pitch, volume, word_gap)])."""
    try:
        jobs, timeout_s, count = SYNTH_HEADER.unpack_from(payload)
        offset = SYNTH_HEADER.size
        phrases = []
        for _ in range(count):
            rate, pitch, volume, word_gap, voice_len, text_len = PHRASE_HEADER.unpack_from(payload, offset)
            offset += PHRASE_HEADER.size
            voice = payload[offset : offset + voice_len]
            offset += voice_len
            text = payload[offset : offset + text_len]
            offset += text_len
            if len(voice) != voice_len or len(text) != text_len:
                raise ProtocolError("phrase runs past the end of the request")
            if b"\0" in text or b"\0" in voice:
                raise ProtocolError("NUL byte in text or voice")
            phrases.append((text, voice, rate, pitch, volume, word_gap))
    except struct.error as exc:
        raise ProtocolError(f"malformed synth request: {exc}") from None
    if offset != len(payload):
        raise ProtocolError("trailing bytes after the last phrase")
    if not 1 <= jobs <= MAX_JOBS:
        raise ProtocolError(f"jobs must be 1..{MAX_JOBS}, got {jobs}")
    if not timeout_s > 0:
        raise ProtocolError(f"timeout must be positive, got {timeout_s}")
    return jobs, timeout_s, phrases


def info_payload(espeak: Espeak) -> bytes:
    return INFO_HEADER.pack(espeak.sample_rate_hz) + pack_str(espeak.version) + pack_str(espeak.data_path)


def serve(espeak: Espeak, in_fd: int, out_fd: int) -> None:
    """Answer requests until EOF on ``in_fd``."""

    def deliver(_index: int, kind: int, payload: bytes) -> None:
        write_all(out_fd, pack_frame(kind, payload))

    while True:
        header = read_exact(in_fd, FRAME_HEADER.size)
        if header is None:
            return
        op, length = FRAME_HEADER.unpack(header)
        payload = read_exact(in_fd, length) if length else b""
        if payload is None:
            raise ProtocolError("request truncated")
        if op == OP_SYNTH:
            jobs, timeout_s, phrases = parse_synth(payload)
            works = [(espeak.speak, phrase) for phrase in phrases]
            run_children(works, jobs, timeout_s, deliver, (in_fd, out_fd))
        elif op == OP_VOICES:
            run_children([(espeak.list_voices, ())], 1, 30.0, deliver, (in_fd, out_fd))
        elif op == OP_INFO:
            deliver(0, KIND_OK, info_payload(espeak))
        else:
            raise ProtocolError(f"unknown operation {op}")


def main() -> int:
    # The protocol owns the original stdin/stdout; fd 0 becomes /dev/null and
    # fd 1 goes to stderr, so nothing the library (or a stray print) writes can
    # corrupt the frames.
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    # Ctrl-C in a terminal reaches the whole process group: the client
    # decides what to do, the server and its children just finish or see EOF.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    library = os.environ.get(libespeak.LIBRARY_ENV) or libespeak.DEFAULT_LIBRARY
    try:
        espeak = Espeak(library)
    except OSError as exc:
        message = f"espeak-ng is missing or broken (cannot load {library}: {one_line(str(exc))}); {libespeak.INSTALL_HINT}"
        write_all(out_fd, pack_frame(KIND_ERROR, message.encode()))
        return 1
    except RuntimeError as exc:
        write_all(out_fd, pack_frame(KIND_ERROR, one_line(str(exc)).encode()))
        return 1
    write_all(out_fd, pack_frame(KIND_OK, info_payload(espeak)))
    try:
        serve(espeak, in_fd, out_fd)
    except ProtocolError as exc:
        write_all(out_fd, pack_frame(KIND_ERROR, f"protocol error: {exc}".encode()))
        return 2
    except BrokenPipeError:  # the client went away mid-reply
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
