"""The pyttsx3 engine: SAPI5 on Windows, NSSpeechSynthesizer on macOS, and
espeak when asked for on Linux.

:class:`Pyttsx3Engine` runs pyttsx3 in a worker process (see
``_pyttsx3_worker``) with a timeout on every phrase and checks every file
the driver writes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import queue
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

from ..atomic import left_by_dead_processes
from ..audio import Audio
from ..errors import EngineError, os_reason
from ..i18n import N_, _
from .cache import read_json_cache, write_json_cache
from .engine import VoiceInfo, VoiceSettings
from .voices import espeak_data_dir

log = logging.getLogger(__name__)

ESPEAK_HINT = "install espeak-ng (sudo apt-get install espeak-ng) or run scripts/run, which installs it"


TEMP_PREFIX = "voiceguide-tts-"
"""Folders for the driver's files: ``voiceguide-tts-PID-XXXX`` in the temp folder."""
_TEMP_FOLDER = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[^/]+")


def sweep_stale_temp_folders() -> list[Path]:
    """Remove this user's ``voiceguide-tts-PID-*`` folders whose process is gone
    (killed with SIGKILL: ``TemporaryDirectory`` cleans up on every other way out)."""
    removed = []
    for entry in left_by_dead_processes(Path(tempfile.gettempdir()), _TEMP_FOLDER):
        try:
            info = entry.stat(follow_symlinks=False)
            mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
            if stat.S_ISDIR(info.st_mode) and mine:
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


class _WorkerDied(Exception):
    """The worker process exited or closed its pipes."""


class _Worker:
    """One pyttsx3 worker process serving one voice setting."""

    def __init__(self, settings: VoiceSettings | None, timeout_s: float):
        payload = json.dumps(_settings_payload(settings) if settings else {})
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "voiceguide.speech._pyttsx3_worker", payload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                env=env,
            )
        except OSError as exc:
            raise EngineError(_("cannot start the speech worker: {strerror}").format(strerror=os_reason(exc))) from None
        self.settings = settings
        self.spoken = False
        self.replies: queue.Queue[dict | None] = queue.Queue()
        self.stderr_tail: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_replies, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        try:
            ready = self.receive(timeout_s)
        except _WorkerDied as died:
            raise EngineError(_explain_init_error(str(died), self.stderr_tail)) from None
        if "error" in ready:
            self.kill()
            raise EngineError(_explain_init_error(ready["error"], self.stderr_tail))

    def _read_replies(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.replies.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.replies.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if not line.startswith("Audio saved to"):
                self.stderr_tail = (self.stderr_tail + [line.strip()])[-5:]

    def request(self, message: dict, timeout_s: float) -> dict:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:
            self.kill()
            raise _WorkerDied(" ".join(self.stderr_tail) or f"exit code {self.process.poll()}") from None
        return self.receive(timeout_s)

    def receive(self, timeout_s: float) -> dict:
        try:
            reply = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            raise TimeoutError from None
        if reply is None:
            self.kill()
            raise _WorkerDied(" ".join(self.stderr_tail) or f"exit code {self.process.poll()}")
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        # The readers see end-of-file once the worker is gone. Let them
        # finish before the pipes close: a daemon thread still inside a
        # read at interpreter exit aborts Python (SIGABRT) after a Ctrl-C.
        for reader in self._readers:
            if reader is not threading.current_thread():
                reader.join(timeout=2)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


def _settings_payload(settings: VoiceSettings) -> dict:
    return {"voice": settings.voice_id, "rate": settings.rate, "pitch": settings.pitch, "volume": settings.volume}


def _explain_init_error(error: str, stderr: list[str]) -> str:
    text = error + " " + " ".join(stderr)
    if "No module named 'pyttsx3'" in text:
        return "pyttsx3 is not installed in this Python; run scripts/run or pip install voiceguide"
    if "espeak" in text.lower() or "libespeak" in text.lower() or "OSError" in text:
        return f"espeak-ng is missing or broken ({error}); {ESPEAK_HINT}"
    return f"the speech engine could not start: {error}"


class Pyttsx3Engine:
    """pyttsx3 behind a worker process with a timeout on every phrase.

    A worker is started per voice setting (a setting change starts a fresh
    process, so a rate can never be silently ignored); a hung or crashed
    worker is killed and the phrase retried once in a new one. Safe to call
    from several threads: requests are serialised.
    """

    name = "pyttsx3"

    def __init__(self, timeout_s: float = 20.0):
        self.timeout_s = timeout_s
        self._worker: _Worker | None = None
        self._lock = threading.Lock()
        self._voices: list[VoiceInfo] | None = None
        self._requests = 0
        sweep_stale_temp_folders()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-")

    @property
    def worker_pid(self) -> int | None:
        return self._worker.process.pid if self._worker and self._worker.alive() else None

    def _worker_for(self, settings: VoiceSettings | None) -> _Worker:
        worker = self._worker
        if worker and worker.alive() and (settings is None or worker.settings == settings):
            return worker
        if worker and worker.alive() and worker.settings is None and settings is not None and not worker.spoken:
            # a fresh worker (it only listed voices) takes its one setting now
            try:
                if "configured" in worker.request({"op": "configure", "settings": _settings_payload(settings)}, self.timeout_s):
                    worker.settings = settings
                    return worker
            except (TimeoutError, _WorkerDied):
                pass
        if self._worker:
            self._worker.kill()
        try:
            self._worker = _Worker(settings, timeout_s=self.timeout_s)
        except TimeoutError:
            raise EngineError(
                _("the speech engine did not start within {timeout_s:g} s; {ESPEAK_HINT}").format(
                    timeout_s=self.timeout_s, ESPEAK_HINT=ESPEAK_HINT
                )
            ) from None
        return self._worker

    def voices(self) -> list[VoiceInfo]:
        """The engine's voices; remembered on disk (next to the phrase cache)
        until the engine or its voice data change."""
        with self._lock:
            if self._voices is None:
                self._voices = self._load_voice_list()
            if self._voices is None:
                try:
                    reply = self._worker_for(None).request({"op": "voices"}, self.timeout_s)
                except TimeoutError:
                    raise EngineError(
                        _("the speech engine did not list its voices within {timeout_s:g} s").format(timeout_s=self.timeout_s)
                    ) from None
                except _WorkerDied as died:
                    raise EngineError(_("the speech worker stopped unexpectedly: {died}").format(died=died)) from None
                if "error" in reply:
                    raise EngineError(_("the speech engine could not list voices: {reply}").format(reply=reply["error"]))
                self._voices = [VoiceInfo(v["id"], v["name"], tuple(v["languages"])) for v in reply["voices"]]
                self._save_voice_list(self._voices)
            return list(self._voices)

    def _voice_list_key(self) -> str:
        data = espeak_data_dir()
        stamp = int(data.stat().st_mtime) if data else 0
        return "pyttsx3-voices-" + hashlib.sha256(f"{self.describe()}|{data}|{stamp}".encode()).hexdigest()[:16]

    def _load_voice_list(self) -> list[VoiceInfo] | None:
        entries = read_json_cache(self._voice_list_key())
        try:
            return [VoiceInfo(e["id"], e["name"], tuple(e["languages"])) for e in entries] or None  # type: ignore[union-attr]
        except (KeyError, TypeError):
            return None

    def _save_voice_list(self, voices: list[VoiceInfo]) -> None:
        write_json_cache(self._voice_list_key(), [asdict(v) for v in voices])

    def synthesize(self, text: str, voice: VoiceSettings) -> Audio:
        if not text.strip():
            raise EngineError(_("nothing to say: the phrase is empty"))
        with self._lock:
            failure = "no audio"
            attempt = silent = 0
            while attempt < 2:
                attempt += 1
                # a fresh name for every request: the espeak driver keeps its
                # last path and text, and a late or repeated save must never
                # land in the file read for the next phrase
                self._requests += 1
                path = Path(self._tmp.name) / f"phrase-{self._requests}.wav"
                path.unlink(missing_ok=True)
                timeout = self.timeout_s + len(text) / 20
                try:
                    reply = self._worker_for(voice).request({"op": "say", "text": text, "path": str(path)}, timeout)
                except TimeoutError:
                    failure = f"no answer within {timeout:.0f} s"
                    log.warning(N_("speech worker hung on attempt %d; restarting it"), attempt)
                    continue
                except _WorkerDied as died:
                    failure = f"the worker stopped ({died})"
                    log.warning(N_("speech worker stopped on attempt %d (%s); restarting it"), attempt, died)
                    continue
                if "error" in reply:
                    raise EngineError(
                        _("the speech engine failed on {text!r}: {reply}").format(text=text[:40], reply=reply["error"])
                    )
                self._worker.spoken = True  # type: ignore[union-attr]
                audio = _await_engine_file(path, FILE_SETTLE_S)
                if audio is not None:
                    return audio
                log.warning(N_("speech worker wrote no audio on attempt %d; restarting it"), attempt)
                if self._worker:
                    self._worker.kill()
                if silent < SILENT_RETRIES:  # the driver's known fault, not a hang: it does not use up an attempt
                    silent += 1
                    attempt -= 1
            raise EngineError(
                _("the speech engine produced no audio for {text!r} after 2 attempts: {failure}").format(
                    text=text[:40], failure=failure
                )
            )

    def describe(self) -> str:
        """Engine identity for cache keys: pyttsx3's version and the platform
        driver, known without starting a worker (so a warm cache never starts
        the engine at all)."""
        try:
            version = importlib.metadata.version("pyttsx3")
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        driver = {"win32": "sapi5", "darwin": "nsss"}.get(sys.platform, "espeak")
        return f"{self.name}-{version}-{driver}"

    def close(self) -> None:
        with self._lock:
            if self._worker:
                self._worker.kill()
                self._worker = None
        self._tmp.cleanup()

    def __enter__(self) -> Pyttsx3Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SILENT_RETRIES = 3
"""Extra tries, each with a new worker, when the driver said it was done but
wrote nothing: pyttsx3's espeak driver sometimes ends its loop before
espeak's last callback (measured: a phrase in 5 to 10 on a fresh worker
when run in a loop, independent of the wait below)."""
FILE_SETTLE_S = 0.5
"""How long the driver's file may take to be complete after it said it is
done: pyttsx3's espeak driver returns from runAndWait() about 10 ms before
espeak's callback has written the WAV, longer on a busy machine."""


def _await_engine_file(path: Path, within_s: float) -> Audio | None:
    """What the driver wrote, once it is whole (see :func:`_read_engine_file`),
    waiting up to ``within_s`` for it; None when it never becomes whole."""
    deadline = time.monotonic() + within_s
    while True:
        audio = _read_engine_file(path)
        if audio is not None or time.monotonic() >= deadline:
            return audio
        time.sleep(0.005)


def _read_engine_file(path: Path) -> Audio | None:
    """Read what the driver wrote (WAV on Linux/Windows, AIFF on macOS), or
    None when it wrote nothing or is still writing: a WAV whose header does
    not account for exactly the bytes in the file is never accepted (the
    espeak driver can return before its callback has finished the file)."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        if not _wav_complete(path):
            return None
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    finally:
        path.unlink(missing_ok=True)
    if len(samples) == 0:
        return None
    return Audio(samples.mean(axis=1).astype(np.float32), int(rate))


def _wav_complete(path: Path) -> bool:
    """False for a RIFF/WAVE file whose RIFF size or data chunk size does not
    match the file's length (half-written); True for complete WAVs and for
    other formats (AIFF on macOS), which soundfile checks itself."""
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return header[:4] != b"RIFF"
        size = path.stat().st_size
        if int.from_bytes(header[4:8], "little") + 8 != size:
            return False
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return False
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return handle.tell() + length == size and length > 0
            handle.seek(length + (length & 1), 1)
