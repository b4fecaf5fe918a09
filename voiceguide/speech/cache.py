"""Synthesized phrases on disk, so a re-export never starts the engine."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..audio import Audio, to_pcm16
from ..errors import VoiceguideError, os_reason
from ..folders import UntrustedCacheError, cache_problem, cache_root, private_folder
from ..i18n import N_, _
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
            N_("the cache is not used: %s; make it private (chmod 700) or set VOICEGUIDE_CACHE_DIR to a folder of your own"),
            problem,
        )


CACHE_FOLDERS = ("phrases", "meta", "profiles", "models")
"""What voiceguide keeps in its cache folder: synthesized and levelled
phrases, small facts (voice lists, calibrations, pack digests), the
loudness profiles of sounds and Piper models with their noise fixed."""

_FOLDER_PROBLEMS = (
    N_("{folder} belongs to another user"),
    N_("{folder} can be written by other users"),
    N_("{folder} can be written by anyone"),
)
"""What :func:`voiceguide.folders.cache_problem` says (it translates them
itself: this puts them in the catalog)."""

_ENTRIES: dict[str, tuple[re.Pattern[str], bytes]] = {
    "phrases": (re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}\.vgc"), _CACHE_MAGIC),
    "meta": (re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{16,64}\.json"), b""),
    "profiles": (re.compile(r"[0-9a-f]{2}/[0-9a-f]{40,64}"), b"VGP1"),
    # speech/piper_network.fixed_model_path: piper-<noise seed>-<size>-<digest>.onnx, an ONNX
    # protobuf (its first field, ir_version, is tag 1 as a varint: 0x08), and beside it
    # optimised_model_path: the same name with .ort-<onnxruntime version> before .onnx; and
    # durations_model_path: .durations before .onnx (with its own optimised copy)
    "models": (
        re.compile(r"piper-[0-9]+-[0-9]+-[0-9a-f]{32}(?:\.durations)?(?:\.ort-[0-9]+(?:\.[0-9a-z]+)*)?\.onnx"),
        b"\x08",
    ),
}
"""Each folder's entries as voiceguide names them (relative path) and the
bytes each starts with: what ``cache --clear`` may delete, and nothing else."""


@dataclass(frozen=True)
class CacheUsage:
    """How much the cache holds."""

    folder: Path
    files: int
    bytes: int


def _own_entries(root: Path) -> list[tuple[Path, int]]:
    """Every entry in ``root``'s cache folders that voiceguide wrote (by its
    name and its first bytes) with its size; links, other files and folders
    are not ours, whatever they are called, and are not followed."""
    found = []
    for name in CACHE_FOLDERS:
        pattern, magic = _ENTRIES[name]
        top = root / name
        for folder in (top, *_subfolders(top)):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                relative = os.path.relpath(entry.path, top).replace(os.sep, "/")
                try:
                    if not (pattern.fullmatch(relative) and entry.is_file(follow_symlinks=False)):
                        continue
                    size = entry.stat(follow_symlinks=False).st_size
                    if magic:
                        fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
                        try:
                            if os.read(fd, len(magic)) != magic:
                                continue
                        finally:
                            os.close(fd)
                except OSError:
                    continue
                found.append((Path(entry.path), size))
    return found


def _subfolders(top: Path) -> list[Path]:
    """The two-letter folders an entry kind spreads over (real folders, not links)."""
    try:
        return [Path(e.path) for e in os.scandir(top) if re.fullmatch(r"[0-9a-f]{2}", e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def cache_usage() -> CacheUsage:
    """The cache folder and what voiceguide keeps in it.

    Raises VoiceguideError for a cache folder voiceguide does not use (see
    :func:`cache_problem`): it is not walked, let alone cleared."""
    root = cache_root()
    if problem := cache_problem(root) or next(filter(None, (cache_problem(root / name) for name in CACHE_FOLDERS)), None):
        raise VoiceguideError(
            _("{problem}: voiceguide does not use this cache folder and leaves it as it is").format(problem=problem)
        )
    entries = _own_entries(root)
    return CacheUsage(root, len(entries), sum(size for _path, size in entries))


def clear_cache() -> CacheUsage:
    """Delete what voiceguide keeps in its cache folder and say how much
    that was. Only entries voiceguide wrote are deleted: files named as it
    names them that start as its entries start (see ``_ENTRIES``), then the
    folders they leave empty. Anything else, even in ``phrases/`` (the cache
    folder may be pointed at a folder that is not only the cache's), stays.
    Everything deleted is made again when needed, at the cost of time."""
    usage = cache_usage()
    for path, _size in _own_entries(usage.folder):
        try:
            path.unlink()
        except OSError:
            pass
    for name in CACHE_FOLDERS:
        for folder in (*_subfolders(usage.folder / name), usage.folder / name):
            try:
                folder.rmdir()  # only when empty: what is left is not ours
            except OSError:
                pass
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
        return read_limited(path, max_bytes, N_("cache entry"))
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
        log.warning(N_("cache entry %s is damaged; rebuilding it"), path)
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
            log.warning(N_("phrase cache %s is not writable (%s); continuing without it"), self.folder, os_reason(failure))
            self._warned = True
