"""Synthesized phrases on disk, so a re-export never starts the engine."""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..audio import Audio, to_pcm16
from ..errors import VoiceguideError
from ..folders import UntrustedCacheError, cache_problem, cache_root, private_folder
from ..i18n import _
from ..inputs import read_limited
from ..rules import MAX_ENTRY_BYTES, MAX_JSON_CACHE_BYTES
from .engine import VoiceSettings

log = logging.getLogger(__name__)

_CACHE_MAGIC = b"VGC1"
_CACHE_HEADER = struct.Struct("<4sIII")


def default_cache_dir() -> Path:
    """Where synthesized phrases are kept."""
    return cache_root() / "phrases"


_WARNED: set[str] = set()


def _warn_untrusted(problem: str) -> None:
    if problem not in _WARNED:
        _WARNED.add(problem)
        log.warning(
            "the cache is not used: %s; make it private (chmod 700) or set VOICEGUIDE_CACHE_DIR to a folder of your own", problem
        )


CACHE_FOLDERS = ("phrases", "meta", "profiles", "models")
"""What voiceguide keeps in its cache folder: synthesized and levelled
phrases, small facts (voice lists, calibrations, pack digests), the
loudness profiles of sounds and Piper models with their noise fixed."""


@dataclass(frozen=True)
class CacheUsage:
    """How much the cache holds."""

    folder: Path
    files: int
    bytes: int


def cache_usage() -> CacheUsage:
    """The cache folder and what voiceguide keeps in it.

    Raises VoiceguideError for a cache folder voiceguide does not use (see
    :func:`cache_problem`): it is not walked, let alone cleared."""
    root = cache_root()
    if problem := cache_problem(root) or next(filter(None, (cache_problem(root / name) for name in CACHE_FOLDERS)), None):
        raise VoiceguideError(
            _("{problem}: voiceguide does not use this cache folder and leaves it as it is").format(problem=problem)
        )
    files = [path for name in CACHE_FOLDERS for path in (root / name).rglob("*") if path.is_file()]
    return CacheUsage(root, len(files), sum(path.stat().st_size for path in files))


def clear_cache() -> CacheUsage:
    """Delete what voiceguide keeps in its cache folder (only its own
    folders in it, nothing else) and say how much that was. Everything in
    it is made again when needed, at the cost of time."""
    import shutil

    usage = cache_usage()
    for name in CACHE_FOLDERS:
        shutil.rmtree(usage.folder / name, ignore_errors=True)
    return usage


def read_json_cache(key: str) -> object | None:
    """A small JSON value kept under ``key`` in the cache folder, or None
    (also when the folder could hold someone else's file: see :func:`cache_problem`)."""
    data = _read_entry(cache_root(), _json_path(key), MAX_JSON_CACHE_BYTES)
    try:
        return None if data is None else json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def write_json_cache(key: str, value: object) -> None:
    """Keep ``value`` under ``key``; a cache that cannot be written only costs time."""
    _write_entry(_json_path(key), json.dumps(value).encode("utf-8"))


def _json_path(key: str) -> Path:
    return cache_root() / "meta" / f"{key}.json"


def _read_entry(folder: Path, path: Path, max_bytes: int) -> bytes | None:
    """The bytes of cache entry ``path`` in ``folder``; None when it is
    missing, too large, unreadable, or the folders could hold someone else's."""
    problem = cache_problem(folder) or cache_problem(path.parent)
    if problem:
        _warn_untrusted(problem)
        return None
    try:
        return read_limited(path, max_bytes, "cache entry")
    except (OSError, ValueError):
        return None


def _write_entry(path: Path, data: bytes) -> OSError | None:
    """Write cache entry ``path``, its folders made private. A cache that
    cannot be written only costs time: the error is returned, not raised
    (and a folder that could be someone else's is warned about and left alone)."""
    try:
        private_folder(path.parent)
        write_atomically(path, data, durable=False)
    except UntrustedCacheError as exc:
        _warn_untrusted(exc.strerror)
    except OSError as exc:
        return exc
    return None


class BlobCache:
    """Small binary entries under a folder of the cache, keyed by a hex
    digest; what cannot be read is None and what cannot be written only
    costs time (the entry's own format checks what it reads)."""

    def __init__(self, name: str, max_bytes: int = MAX_JSON_CACHE_BYTES):
        self.folder = cache_root() / name
        self.max_bytes = max_bytes

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> bytes | None:
        return _read_entry(self.folder, self.path(key), self.max_bytes)

    def put(self, key: str, data: bytes) -> None:
        _write_entry(self.path(key), data)


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

    @staticmethod
    def derived_key(key: str, tag: str) -> str:
        """The key of something made from entry ``key`` (e.g. the phrase levelled for a mix)."""
        return hashlib.sha256((key + tag).encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.vgc"

    def get(self, key: str) -> Audio | None:
        path = self.path(key)
        data = _read_entry(self.folder, path, MAX_ENTRY_BYTES)
        if data is None:
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
        pcm = to_pcm16(audio.samples).tobytes()
        header = _CACHE_HEADER.pack(_CACHE_MAGIC, audio.sample_rate, len(pcm) // 2, zlib.crc32(pcm))
        failure = _write_entry(self.path(key), header + pcm)  # a lost entry costs only time
        if failure is not None and not self._warned:
            log.warning("phrase cache %s is not writable (%s); continuing without it", self.folder, failure.strerror)
            self._warned = True
