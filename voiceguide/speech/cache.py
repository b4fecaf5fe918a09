"""Synthesized phrases on disk, so a re-export never starts the engine."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..audio import Audio
from .engine import VoiceSettings

log = logging.getLogger(__name__)

_CACHE_MAGIC = b"VGC1"
_CACHE_HEADER = struct.Struct("<4sIII")


def cache_root() -> Path:
    """voiceguide's cache folder: ``$VOICEGUIDE_CACHE_DIR``, else the
    platform's user cache folder (``~/.cache/voiceguide`` on Linux).
    Everything voiceguide caches lives inside it."""
    override = os.environ.get("VOICEGUIDE_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide"))


def default_cache_dir() -> Path:
    """Where synthesized phrases are kept."""
    return cache_root() / "phrases"


def private_folder(folder: Path) -> Path:
    """Create ``folder`` inside the cache folder, every level of it readable
    by the user only (the cache root's own parents are left as they are)."""
    root = cache_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = root
    for part in folder.relative_to(root).parts if folder.is_relative_to(root) else ():
        current = current / part
        current.mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


CACHE_FOLDERS = ("phrases", "meta")
"""What voiceguide keeps in its cache folder: synthesized and levelled
phrases, and small facts (voice lists, calibrations, pack digests)."""


@dataclass(frozen=True)
class CacheUsage:
    """How much the cache holds."""

    folder: Path
    files: int
    bytes: int


def cache_usage() -> CacheUsage:
    """The cache folder and what voiceguide keeps in it."""
    root = cache_root()
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
    """A small JSON value kept under ``key`` in the cache folder, or None."""
    try:
        return json.loads((cache_root() / "meta" / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_cache(key: str, value: object) -> None:
    """Keep ``value`` under ``key``; a cache that cannot be written only costs time."""
    try:
        folder = private_folder(cache_root() / "meta")
        write_atomically(folder / f"{key}.json", json.dumps(value).encode("utf-8"), durable=False)
    except OSError:
        pass


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
            private_folder(path.parent)
            write_atomically(path, header + pcm, durable=False)  # a lost entry costs only time
        except OSError as exc:
            if not self._warned:
                log.warning("phrase cache %s is not writable (%s); continuing without it", self.folder, exc.strerror)
                self._warned = True
