"""Synthesized phrases on disk, so a re-export never starts the engine."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..audio import Audio
from .engine import VoiceSettings

log = logging.getLogger(__name__)

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
            write_atomically(path, header + pcm, durable=False)  # a lost entry costs only time
        except OSError as exc:
            if not self._warned:
                log.warning("phrase cache %s is not writable (%s); continuing without it", self.folder, exc.strerror)
                self._warned = True
