"""Stage 3a: speech. Text in, :class:`~voiceguide.audio.Audio` out.

:class:`Pyttsx3Engine` runs pyttsx3 in a worker process (see
``_tts_worker``) with a timeout on every phrase; :class:`PhraseCache` keeps
each synthesized phrase on disk so a re-export skips the engine entirely.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Protocol

import numpy as np
import soundfile as sf

from .audio import Audio
from .errors import EngineError, UsageError

log = logging.getLogger(__name__)

PREFERRED_VOICES = {"nl": ("gmw/nl", "nl"), "en": ("gmw/en", "en-gb", "en")}
ESPEAK_HINT = "install espeak-ng (sudo apt-get install espeak-ng) or run scripts/run, which installs it"


@dataclass(frozen=True)
class VoiceSettings:
    """What the engine is asked to speak with."""

    voice_id: str
    """Engine voice id, e.g. ``gmw/nl`` or ``gmw/nl+f3`` (espeak variant)."""
    rate: int = 125
    """Words per minute."""
    pitch: int = 50
    """espeak pitch 0-99 (ignored by engines without one)."""
    volume: float = 1.0


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]


class SpeechEngine(Protocol):
    """What voiceguide needs from a text-to-speech engine."""

    name: str

    def synthesize(self, text: str, voice: VoiceSettings) -> Audio: ...

    def voices(self) -> list[VoiceInfo]: ...

    def close(self) -> None: ...


class _WorkerDied(Exception):
    """The worker process exited or closed its pipes."""


class _Worker:
    """One pyttsx3 worker process serving one voice setting."""

    def __init__(self, settings: VoiceSettings | None, timeout_s: float):
        payload = json.dumps(_settings_payload(settings) if settings else {})
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "voiceguide._tts_worker", payload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                env=env,
            )
        except OSError as exc:
            raise EngineError(f"cannot start the speech worker: {exc.strerror}") from None
        self.settings = settings
        self.spoken = False
        self.replies: queue.Queue[dict | None] = queue.Queue()
        self.stderr_tail: list[str] = []
        self._readers = [threading.Thread(target=self._read_replies, daemon=True), threading.Thread(target=self._read_stderr, daemon=True)]
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
        self._tmp = tempfile.TemporaryDirectory(prefix="voiceguide-tts-")

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
            raise EngineError(f"the speech engine did not start within {self.timeout_s:g} s; {ESPEAK_HINT}") from None
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
                    raise EngineError(f"the speech engine did not list its voices within {self.timeout_s:g} s") from None
                except _WorkerDied as died:
                    raise EngineError(f"the speech worker stopped unexpectedly: {died}") from None
                if "error" in reply:
                    raise EngineError(f"the speech engine could not list voices: {reply['error']}")
                self._voices = [VoiceInfo(v["id"], v["name"], tuple(v["languages"])) for v in reply["voices"]]
                self._save_voice_list(self._voices)
            return list(self._voices)

    def _voice_list_path(self) -> Path:
        data = espeak_data_dir()
        stamp = int(data.stat().st_mtime) if data else 0
        key = hashlib.sha256(f"{self.describe()}|{data}|{stamp}".encode()).hexdigest()[:16]
        return default_cache_dir().parent / f"voices-{key}.json"

    def _load_voice_list(self) -> list[VoiceInfo] | None:
        try:
            entries = json.loads(self._voice_list_path().read_text(encoding="utf-8"))
            return [VoiceInfo(e["id"], e["name"], tuple(e["languages"])) for e in entries] or None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_voice_list(self, voices: list[VoiceInfo]) -> None:
        path = self._voice_list_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", delete=False, encoding="utf-8") as handle:
                json.dump([asdict(v) for v in voices], handle)
            os.replace(handle.name, path)
        except OSError:
            pass

    def synthesize(self, text: str, voice: VoiceSettings) -> Audio:
        if not text.strip():
            raise EngineError("nothing to say: the phrase is empty")
        with self._lock:
            failure = "no audio"
            for attempt in (1, 2):
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
                    log.warning("speech worker hung on attempt %d; restarting it", attempt)
                    continue
                except _WorkerDied as died:
                    failure = f"the worker stopped ({died})"
                    log.warning("speech worker stopped on attempt %d (%s); restarting it", attempt, died)
                    continue
                if "error" in reply:
                    raise EngineError(f"the speech engine failed on {text[:40]!r}: {reply['error']}")
                self._worker.spoken = True  # type: ignore[union-attr]
                audio = _read_engine_file(path)
                if audio is not None:
                    return audio
                log.warning("speech worker wrote no audio on attempt %d; restarting it", attempt)
                if self._worker:
                    self._worker.kill()
            raise EngineError(f"the speech engine produced no audio for {text[:40]!r} after 2 attempts: {failure}")

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

    def __enter__(self) -> "Pyttsx3Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_engine_file(path: Path) -> Audio | None:
    """Read what the driver wrote (WAV on Linux/Windows, AIFF on macOS),
    or None when it silently wrote nothing."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    finally:
        path.unlink(missing_ok=True)
    if len(samples) == 0:
        return None
    return Audio(samples.mean(axis=1).astype(np.float32), int(rate))


# --- voices ---------------------------------------------------------------------


def espeak_data_dir() -> Path | None:
    """espeak-ng's data folder, where one can be found."""
    candidates = [Path(p) for p in (os.environ.get("ESPEAK_DATA_PATH", ""),) if p]
    candidates += list(Path("/usr/lib").glob("*/espeak-ng-data")) + [
        Path("/usr/share/espeak-ng-data"),
        Path("/usr/lib/espeak-ng-data"),
        Path("/opt/homebrew/share/espeak-ng-data"),
        Path("/usr/local/share/espeak-ng-data"),
    ]
    return next((base for base in candidates if (base / "voices").is_dir()), None)


def espeak_variants() -> set[str] | None:
    """Names of espeak-ng voice variants (``f3``, ``klatt4``...), or None when
    no espeak-ng data folder can be found (then variants are not checked)."""
    data = espeak_data_dir()
    folder = data / "voices" / "!v" if data else None
    if folder is None or not folder.is_dir():
        return None
    return {entry.name for entry in folder.iterdir()}


def resolve_voice(requested: str, language: str, available: list[VoiceInfo]) -> str:
    """Turn ``auto`` or a user's voice id into an id the engine knows.

    Raises UsageError naming the unknown voice and how to list the others.
    """
    ids = {voice.id for voice in available}
    if requested == "auto":
        for preferred in PREFERRED_VOICES.get(language, ()):
            if preferred in ids:
                return preferred
        for voice in available:
            if any(lang.lower().startswith(language) for lang in voice.languages):
                return voice.id
        raise UsageError(f"no voice for language '{language}' is installed; see 'voiceguide voices'")
    base, plus, variant = requested.partition("+")
    by_language = {lang.lower(): voice.id for voice in available for lang in voice.languages}
    if base not in ids:
        if base.lower() not in by_language:
            raise UsageError(f"unknown voice '{requested}'; see 'voiceguide voices --lang {language}' for the ids")
        base = by_language[base.lower()]
    if plus:
        variants = espeak_variants()
        if variants is not None and variant not in variants:
            raise UsageError(f"unknown voice variant '+{variant}' in '{requested}'; try e.g. +f3, +m3 or +klatt4")
    return base + plus + variant


# --- the phrase cache -------------------------------------------------------------

_CACHE_MAGIC = b"VGC1"
_CACHE_HEADER = struct.Struct("<4sIII")


def default_cache_dir() -> Path:
    override = os.environ.get("VOICEGUIDE_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide")) / "phrases"


class PhraseCache:
    """Synthesized phrases on disk, keyed by engine, voice, rate, pitch,
    volume and text. Entries carry a CRC and are rebuilt when damaged; an
    unwritable cache folder only costs speed, never the export."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else default_cache_dir()
        self.hits = 0
        self.misses = 0
        self._warned = False

    def key(self, engine_id: str, voice: VoiceSettings, text: str) -> str:
        identity = json.dumps([engine_id, asdict(voice), text], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.vgc"

    def get(self, key: str) -> Audio | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) >= _CACHE_HEADER.size:
            magic, rate, frames, crc = _CACHE_HEADER.unpack_from(data)
            body = data[_CACHE_HEADER.size :]
            if magic == _CACHE_MAGIC and len(body) == frames * 2 and zlib.crc32(body) == crc and rate > 0:
                samples = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
                return Audio(samples, rate)
        log.warning("cache entry %s is damaged; rebuilding it", path)
        try:
            path.unlink()
        except OSError:
            pass
        return None

    def put(self, key: str, audio: Audio) -> None:
        pcm = np.clip(np.round(audio.samples * 32768.0), -32768, 32767).astype("<i2").tobytes()
        header = _CACHE_HEADER.pack(_CACHE_MAGIC, audio.sample_rate, len(pcm) // 2, zlib.crc32(pcm))
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
                handle.write(header + pcm)
            os.replace(handle.name, path)
        except OSError as exc:
            if not self._warned:
                log.warning("phrase cache %s is not writable (%s); continuing without it", self.folder, exc.strerror)
                self._warned = True
            try:
                os.unlink(handle.name)  # type: ignore[possibly-undefined]
            except (OSError, UnboundLocalError, NameError):
                pass


def synthesize_phrases(
    texts: Iterable[str], voice: VoiceSettings, engine: SpeechEngine, cache: PhraseCache | None
) -> dict[str, Audio]:
    """Synthesize every distinct text once, from the cache where possible.

    Returns the engine's raw audio per text (at the engine's sample rate).
    """
    engine_id = engine.describe() if hasattr(engine, "describe") else engine.name  # type: ignore[attr-defined]
    result: dict[str, Audio] = {}
    for text in dict.fromkeys(texts):
        key = cache.key(engine_id, voice, text) if cache else ""
        audio = cache.get(key) if cache else None
        if audio is None:
            audio = engine.synthesize(text, voice)
            if cache:
                cache.misses += 1
                cache.put(key, audio)
        elif cache:
            cache.hits += 1
        result[text] = audio
    return result
