"""Piper voices from the voices repository: the catalog, getting a voice and removing it.

Where voices come from: a *base URL* laid out as Piper's official voices
repository is (rhasspy/piper-voices on Hugging Face): the catalog at
``BASE/voices.json`` and every file at ``BASE/<path the catalog gives>``.
``$VOICEGUIDE_VOICES_URL`` sets the base (a mirror, an offline copy, the
tests' local server); the default is the official repository at a pinned
version, so the catalog and the checksums in it do not move under us.

The catalog (``voices.json``) has one entry per voice key
(``nl_BE-nathalie-medium``): its ``language`` (``code`` ``nl_BE``,
``family`` ``nl``...), ``quality`` (``x_low``, ``low``, ``medium``,
``high``), ``num_speakers`` and ``files``: per path its ``size_bytes`` and
``md5_digest``; a voice has a model (``.onnx``), its config (``.onnx.json``)
and a ``MODEL_CARD`` (a short text naming the dataset and its licence).

Getting a voice (:func:`get_voice`), step by step:

1. each file is downloaded into a private folder beside the voices folder
   (``DATA/downloads``, never inside ``DATA/voices``), under a name made of
   its expected MD5, so an interrupted download resumes with an HTTP
   ``Range`` request and never continues another version of the file;
2. a cut or stalled connection (a timeout on every read), a 5xx or a 429 is
   retried with backoff (``attempts``, doubling pauses); a 404 or another
   4xx is reported at once;
3. every file's size and MD5 are checked against the catalog; a file that
   differs is deleted and nothing is installed;
4. only then the voice's folder is assembled beside the voices folder and
   renamed into it in one step (``voices/KEY/``): the voices folder never
   holds half a voice. A full disk, Ctrl-C or any error before that leaves
   the voices folder as it was.

Proxies: urllib follows ``https_proxy``/``http_proxy``/``no_proxy``.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..errors import DownloadError, UsageError, VoiceguideError
from ..folders import voices_dir
from ..i18n import _
from ..progress import Progress, no_progress
from ..rules import MAX_CONFIG_BYTES, MAX_MODEL_CARD_BYTES, MAX_VOICE_CATALOG_BYTES, MAX_VOICE_MODEL_BYTES
from .cache import read_json_cache, write_json_cache
from .choice import voice_order
from .piper import PREFIX, PiperEngine, find_model, find_models

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/"
"""The official voices repository at a pinned version (its catalog and checksums do not change)."""
BASE_URL_ENV = "VOICEGUIDE_VOICES_URL"
TIMEOUT_ENV = "VOICEGUIDE_NET_TIMEOUT"
"""Seconds a connection may stay silent before it counts as stalled (default :data:`TIMEOUT_S`)."""
BACKOFF_ENV = "VOICEGUIDE_NET_BACKOFF"
"""Seconds before the first retry; each further retry waits twice as long."""
TIMEOUT_S = 30.0
BACKOFF_S = 1.0
ATTEMPTS = 4
"""Tries per file before giving up (a try that made progress does not count)."""
CATALOG_REFRESH_S = 30 * 24 * 3600
"""The catalog is fetched again after this long (the pinned one never changes)."""
CHUNK_BYTES = 1 << 16
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
_PATH = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
_LICENCE = re.compile(r"^\W*licen[cs]e\W*:?\s*(?P<licence>\S.*?)\s*$", re.IGNORECASE | re.MULTILINE)


def base_url() -> str:
    """``$VOICEGUIDE_VOICES_URL`` (with a final ``/``), else :data:`DEFAULT_BASE_URL`."""
    base = os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    return base if base.endswith("/") else base + "/"


@dataclass(frozen=True)
class Network:
    """How patient to be with a server."""

    timeout_s: float = TIMEOUT_S
    """Seconds without a byte before a connection counts as stalled."""
    attempts: int = ATTEMPTS
    backoff_s: float = BACKOFF_S
    """Seconds before the first retry (doubling after that)."""

    @classmethod
    def from_env(cls, attempts: int = ATTEMPTS) -> Network:
        """Timeouts and backoff from ``$VOICEGUIDE_NET_TIMEOUT`` and ``$VOICEGUIDE_NET_BACKOFF``."""

        def seconds(name: str, default: float) -> float:
            try:
                value = float(os.environ.get(name, default))
            except ValueError:
                return default
            return value if 0 < value <= 3600 else default

        return cls(seconds(TIMEOUT_ENV, TIMEOUT_S), attempts, seconds(BACKOFF_ENV, BACKOFF_S))


# --- the catalog ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceFile:
    """One file of a voice as the catalog lists it."""

    path: str
    """Relative to the base URL, e.g. ``nl/nl_BE/nathalie/medium/nl_BE-nathalie-medium.onnx``."""
    size_bytes: int
    md5: str
    """Hex MD5 digest."""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CatalogVoice:
    """A voice the catalog offers."""

    key: str
    """``nl_BE-nathalie-medium``: the name it is installed and spoken by (``piper:KEY``)."""
    language: str
    """Language code as the catalog writes it, e.g. ``nl_BE``."""
    family: str
    """Base language, e.g. ``nl``."""
    quality: str
    speakers: int
    model: VoiceFile
    config: VoiceFile
    card: VoiceFile | None

    @property
    def files(self) -> tuple[VoiceFile, ...]:
        """Config and card first (small), then the model."""
        return tuple(f for f in (self.config, self.card, self.model) if f is not None)

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    @property
    def dataset(self) -> str:
        """The part of the key between language and quality: ``nathalie``, ``mls_5809``."""
        parts = self.key.split("-")
        return "-".join(parts[1:-1]) if len(parts) >= 3 else self.key


@dataclass(frozen=True)
class Catalog:
    """The voices a base URL offers."""

    base: str
    voices: dict[str, CatalogVoice] = field(default_factory=dict)

    def for_language(self, language: str | None) -> list[CatalogVoice]:
        """The voices for ``language`` (``nl``, or ``nl_BE``/``nl-BE`` for one region), in :func:`preference_order`."""
        found = list(self.voices.values())
        if language:
            wanted = language.replace("-", "_").lower()
            found = [v for v in found if wanted in (v.family.lower(), v.language.lower())]
        return sorted(found, key=lambda v: (v.family, preference_order(v)))

    def recommended(self, family: str) -> CatalogVoice | None:
        """The recommended voice for a base language (``nl``), if the catalog has one."""
        ranked = self.for_language(family)
        return ranked[0] if ranked else None

    def voice(self, key: str) -> CatalogVoice:
        """The voice named ``key``; UsageError (exit 2) naming close keys when there is none."""
        if key in self.voices:
            return self.voices[key]
        close = difflib.get_close_matches(key, list(self.voices), n=3, cutoff=0.6)
        if not close:
            lowered = {k.lower(): k for k in self.voices}
            close = [lowered[k] for k in difflib.get_close_matches(key.lower(), list(lowered), n=3, cutoff=0.5)]
        if close:
            raise UsageError(
                _("no voice '{key}' in the catalog; did you mean {close}? (see 'voiceguide voices --available')").format(
                    key=key, close=_(" or ").join(close)
                )
            )
        raise UsageError(_("no voice '{key}' in the catalog; see 'voiceguide voices --available'").format(key=key))


def preference_order(voice: CatalogVoice) -> tuple:
    """Sort key: the order installed voices are chosen in (:func:`~voiceguide.speech.choice.voice_order`)."""
    return voice_order(voice.key, voice.family)


def parse_catalog(data: object, base: str) -> Catalog:
    """A :class:`Catalog` from the decoded ``voices.json``; entries that are
    not complete, safe voices (a key or path of unexpected form, a missing
    model or config, sizes out of bounds) are left out with a log line."""
    if not isinstance(data, dict):
        raise DownloadError(_("the voices catalog at {url} is not a JSON object").format(url=base + "voices.json"))
    voices = {}
    for key, entry in data.items():
        try:
            voice = _catalog_voice(key, entry)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.info("catalog entry %r left out: %s", key, exc)
            continue
        voices[voice.key] = voice
    return Catalog(base, voices)


def _catalog_voice(key: object, entry: dict) -> CatalogVoice:
    if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key:
        raise ValueError("not a voice key")
    language = entry["language"]
    code = str(language["code"])
    family = str(language.get("family") or re.split(r"[-_]", code, maxsplit=1)[0])
    files = {}
    for path, facts in dict(entry["files"]).items():
        if not isinstance(path, str) or not _PATH.fullmatch(path) or ".." in path.split("/"):
            raise ValueError(f"file path {path!r}")
        size, md5 = int(facts["size_bytes"]), str(facts["md5_digest"]).lower()
        if not re.fullmatch(r"[0-9a-f]{32}", md5) or size < 0:
            raise ValueError(f"size or MD5 of {path}")
        files[path] = VoiceFile(path, size, md5)
    models = [f for p, f in files.items() if p.endswith(".onnx")]
    configs = [f for p, f in files.items() if p.endswith(".onnx.json")]
    cards = [f for p, f in files.items() if f.name == "MODEL_CARD"]
    if len(models) != 1 or len(configs) != 1:
        raise ValueError("not one model and one config")
    if models[0].size_bytes > MAX_VOICE_MODEL_BYTES or configs[0].size_bytes > MAX_CONFIG_BYTES:
        raise ValueError("files too large")
    card = cards[0] if cards and cards[0].size_bytes <= MAX_MODEL_CARD_BYTES else None
    return CatalogVoice(
        key=key,
        language=code,
        family=family.lower(),
        quality=str(entry.get("quality") or ""),
        speakers=int(entry.get("num_speakers") or 1),
        model=models[0],
        config=configs[0],
        card=card,
    )


def _catalog_cache_key(base: str) -> str:
    return "piper-catalog-" + hashlib.sha256(base.encode()).hexdigest()[:24]


def load_catalog(*, network: Network | None = None, refresh: bool = False) -> Catalog:
    """The catalog of :func:`base_url`: the copy kept in the cache folder
    when there is one (younger than :data:`CATALOG_REFRESH_S`, unless
    ``refresh``), else fetched and kept.

    Raises DownloadError when it can be neither fetched nor found in the cache.
    """
    base = base_url()
    key = _catalog_cache_key(base)
    kept = read_json_cache(key)
    kept_data = kept.get("voices") if isinstance(kept, dict) else None
    fresh = isinstance(kept, dict) and time.time() - float(kept.get("fetched", 0)) < CATALOG_REFRESH_S
    if kept_data is not None and fresh and not refresh:
        return parse_catalog(kept_data, base)
    try:
        raw = fetch_bytes(base + "voices.json", MAX_VOICE_CATALOG_BYTES, network or Network.from_env(attempts=2))
        data = json.loads(raw.decode("utf-8"))
    except DownloadError:
        if kept_data is not None:  # stale, but better than nothing
            return parse_catalog(kept_data, base)
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DownloadError(_("the voices catalog at {url} is not valid JSON").format(url=base + "voices.json")) from None
    catalog = parse_catalog(data, base)
    write_json_cache(key, {"fetched": time.time(), "voices": _trimmed(data, catalog)})
    return catalog


def _trimmed(data: dict, catalog: Catalog) -> dict:
    """What voiceguide keeps of the catalog: the fields it reads, for the voices it accepted."""
    return {
        key: {
            "language": {"code": v.language, "family": v.family},
            "quality": v.quality,
            "num_speakers": v.speakers,
            "files": {f.path: {"size_bytes": f.size_bytes, "md5_digest": f.md5} for f in v.files},
        }
        for key, v in catalog.voices.items()
    }


def card_licence(text: str) -> str | None:
    """The licence a MODEL_CARD names (its ``License:`` line), if any."""
    found = _LICENCE.search(text)
    return found.group("licence").strip() if found else None


def licences(voices: list[CatalogVoice], *, network: Network | None = None, fetch: bool = True) -> dict[str, str | None]:
    """Per voice key, the licence its MODEL_CARD names (None: unknown).
    Cards are fetched (four at a time) and kept in the cache folder by their MD5;
    with ``fetch=False`` only kept ones are read. A card that cannot be fetched is unknown."""
    network = network or Network.from_env(attempts=1)
    base = base_url()

    def one(voice: CatalogVoice) -> str | None:
        card = voice.card
        if card is None:
            return None
        key = "piper-card-" + card.md5
        kept = read_json_cache(key)
        if isinstance(kept, dict) and "licence" in kept:
            return kept["licence"]
        if not fetch:
            return None
        try:
            text = fetch_bytes(base + quote(card.path), MAX_MODEL_CARD_BYTES, network).decode("utf-8", errors="replace")
        except DownloadError as exc:
            log.info("no model card for %s: %s", voice.key, exc)
            return None
        found = card_licence(text)
        write_json_cache(key, {"licence": found})
        return found

    with ThreadPoolExecutor(4) as pool:
        return dict(zip((v.key for v in voices), pool.map(one, voices)))


# --- HTTP -------------------------------------------------------------------------------------

_TRANSIENT = (
    urllib.error.URLError,
    TimeoutError,
    socket.timeout,
    ConnectionError,
    http.client.HTTPException,
)


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"voiceguide/{version('voiceguide')}"
    except PackageNotFoundError:
        return "voiceguide"


def _open(url: str, network: Network, headers: dict[str, str] | None = None):
    """An HTTP response (urllib: proxies from the environment, redirects followed)."""
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), **(headers or {})})
    return urllib.request.build_opener().open(request, timeout=network.timeout_s)


def _reason(exc: BaseException) -> str:
    """A short, lower-case reason for a failed request."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
        if isinstance(exc, str):
            return exc
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return _("no answer (timed out)")
    if isinstance(exc, http.client.IncompleteRead):
        return _("the connection was cut")
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in (408, 429) or exc.code >= 500
    return isinstance(exc, _TRANSIENT)


def _pause(network: Network, failures: int) -> None:
    time.sleep(network.backoff_s * 2 ** (failures - 1))


def fetch_bytes(url: str, limit: int, network: Network) -> bytes:
    """The whole body at ``url`` (at most ``limit`` bytes), retried as the network allows.

    Raises DownloadError, one line, naming the URL and the reason."""
    failures = 0
    while True:
        try:
            with _open(url, network) as response:
                data = response.read(limit + 1)
            if len(data) > limit:
                raise DownloadError(_("{url} is larger than {size} MB").format(url=url, size=limit // 1_000_000 or 1))
            return data
        except _TRANSIENT as exc:
            failures += 1
            if not _retryable(exc) or failures >= network.attempts:
                raise DownloadError(_("cannot fetch {url}: {reason}").format(url=url, reason=_reason(exc))) from None
            _pause(network, failures)


# --- getting a voice --------------------------------------------------------------------------


def downloads_dir() -> Path:
    """Where downloads wait until they are complete and checked: ``downloads``
    beside the voices folder (never inside it), readable by the user only."""
    return voices_dir().parent / "downloads"


def installed_dir(key: str) -> Path:
    """The folder a voice from the catalog is installed in: ``voices/KEY``."""
    return voices_dir() / key


@dataclass(frozen=True)
class Installed:
    """What :func:`get_voice` did."""

    voice: CatalogVoice
    folder: Path
    licence: str | None
    downloaded_bytes: int
    """Bytes fetched in this run (less than the voice's size after a resume)."""


def get_voice(
    key: str,
    *,
    catalog: Catalog | None = None,
    network: Network | None = None,
    progress: Progress = no_progress,
) -> Installed:
    """Download voice ``key`` from the catalog, check it and install it (see
    the module notes). An installed voice with the catalog's checksums is
    left as it is.

    Raises UsageError (exit 2) for a key the catalog lacks, DownloadError
    (exit 1) for anything on the way, OSError for a full disk or an
    unwritable folder; in every case the voices folder is left as it was.
    """
    catalog = catalog or load_catalog(network=network)
    voice = catalog.voice(key)
    network = network or Network.from_env()
    target = installed_dir(voice.key)
    if _is_installed(voice, target):
        return Installed(voice, target, _installed_licence(target), 0)
    folder = _private(downloads_dir())
    with _locked(folder / f".{voice.key}.lock", voice.key):
        _check_space(folder, voice)
        fetched = 0
        parts = {}
        for each in voice.files:
            part = folder / f"{each.md5}.part"
            done = sum(f.size_bytes for f in parts)

            def overall(what: str, have: int, total: int, done: int = done) -> None:
                progress(what, done + have, voice.size_bytes)

            fetched += _download(catalog.base + quote(each.path), part, each, network, overall)
            _verify(part, each)
            parts[each] = part
        staged = folder / f".{voice.key}.{os.getpid()}.staged"
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(mode=0o700)
        try:
            names = {voice.model: f"{voice.key}.onnx", voice.config: f"{voice.key}.onnx.json", voice.card: "MODEL_CARD"}
            for each, part in parts.items():
                os.replace(part, staged / names[each])
            os.chmod(staged, 0o755)
            _swap_in(staged, target)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    return Installed(voice, target, _installed_licence(target), fetched)


def _private(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(path: Path, key: str) -> Iterator[None]:
    """One download of a voice at a time (two would write the same partial file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, one user at a time
        yield
        return
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DownloadError(
                _("another voiceguide is getting {key} right now; try again when it is done").format(key=key)
            ) from None
        yield


def _check_space(folder: Path, voice: CatalogVoice) -> None:
    """Refuse before downloading when the disk cannot hold what is still missing."""
    missing = sum(max(0, f.size_bytes - _size(folder / f"{f.md5}.part")) for f in voice.files)
    free = shutil.disk_usage(folder).free
    if missing > free:
        raise DownloadError(
            _("not enough disk space for {key}: it needs {needed} MB more in {folder}, {free} MB are free").format(
                key=voice.key, needed=_megabytes(missing), folder=folder, free=_megabytes(free)
            )
        )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f}"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _download(url: str, part: Path, expected: VoiceFile, network: Network, progress: Progress) -> int:
    """Bring ``part`` to the expected size, resuming what is there (HTTP
    Range). Returns the bytes fetched. A full disk removes the partial file
    (and raises OSError); any other failure keeps it for the next try."""
    fetched = 0
    failures = 0
    while (have := _size(part)) != expected.size_bytes:
        if have > expected.size_bytes:
            part.unlink()
            continue
        headers = {"Range": f"bytes={have}-"} if have else {}
        before = have
        try:
            with _open(url, network, headers) as response:
                append = have > 0 and response.status == 206 and _range_start(response) == have
                if not append:
                    have = 0
                with open(part, "ab" if append else "wb") as out:
                    progress("downloading", have, expected.size_bytes)
                    while chunk := response.read(CHUNK_BYTES):
                        if have + len(chunk) > expected.size_bytes:
                            raise DownloadError(
                                _("{url} is larger than the catalog says ({size} bytes); not installed").format(
                                    url=url, size=expected.size_bytes
                                )
                            )
                        out.write(chunk)
                        have += len(chunk)
                        fetched += len(chunk)
                        progress("downloading", have, expected.size_bytes)
            if have < expected.size_bytes:
                raise http.client.IncompleteRead(b"", expected.size_bytes - have)
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # our partial file is not a prefix of theirs: start again
                part.unlink(missing_ok=True)
            failures += 1
            if not _retryable(exc) and exc.code != 416 or failures >= network.attempts:
                raise DownloadError(_("cannot fetch {url}: {reason}").format(url=url, reason=_reason(exc))) from None
            _pause(network, failures)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                part.unlink(missing_ok=True)
                raise DownloadError(
                    _("no space left on the disk of {folder} for {name}; nothing was installed").format(
                        folder=part.parent, name=expected.name
                    )
                ) from None
            if not isinstance(exc, _TRANSIENT):
                raise
            failures = 0 if _size(part) > before else failures + 1  # progress was made: a flaky line, not a dead one
            if failures >= network.attempts:
                raise DownloadError(
                    _("cannot fetch {url}: {reason}; 'voiceguide voices get' again resumes it").format(
                        url=url, reason=_reason(exc)
                    )
                ) from None
            _pause(network, max(failures, 1))
        except http.client.HTTPException as exc:
            failures = 0 if _size(part) > before else failures + 1
            if failures >= network.attempts:
                raise DownloadError(
                    _("cannot fetch {url}: {reason}; 'voiceguide voices get' again resumes it").format(
                        url=url, reason=_reason(exc)
                    )
                ) from None
            _pause(network, max(failures, 1))
    return fetched


def _range_start(response) -> int | None:
    """Where a 206 response starts (its ``Content-Range: bytes START-END/TOTAL``)."""
    found = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(found.group(1)) if found else None


def _verify(part: Path, expected: VoiceFile) -> None:
    """The size and MD5 the catalog gives, or DownloadError (and the file deleted)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(part, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    size = _size(part)
    if size != expected.size_bytes or digest.hexdigest() != expected.md5:
        part.unlink(missing_ok=True)
        raise DownloadError(
            _("{name} is not the file the catalog lists (size or MD5 differs); nothing was installed").format(name=expected.name)
        )


def _is_installed(voice: CatalogVoice, folder: Path) -> bool:
    """Whether ``folder`` holds this voice's model and config with the catalog's sizes
    (sizes only: a full MD5 of every file on each call would cost time for nothing)."""
    return (
        _size(folder / f"{voice.key}.onnx") == voice.model.size_bytes
        and _size(folder / f"{voice.key}.onnx.json") == voice.config.size_bytes
    )


def _installed_licence(folder: Path) -> str | None:
    try:
        return card_licence((folder / "MODEL_CARD").read_text(encoding="utf-8", errors="replace")[:MAX_MODEL_CARD_BYTES])
    except OSError:
        return None


def _swap_in(staged: Path, target: Path) -> None:
    """Put the complete folder ``staged`` at ``target`` in one rename (an older
    copy at ``target`` is moved aside first and removed after)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = staged.with_name(staged.name + ".old")
        os.replace(target, old)
    try:
        os.replace(staged, target)
    except OSError as exc:
        if old is not None:
            os.replace(old, target)
        if exc.errno != errno.EXDEV:
            raise
        _copy_in(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _copy_in(staged: Path, target: Path) -> None:
    """The voices folder is on another file system than the downloads: copy
    into a hidden folder there (skipped by :func:`~voiceguide.speech.piper.find_models`), then rename."""
    hidden = target.with_name(f".{target.name}.{os.getpid()}.incoming")
    shutil.rmtree(hidden, ignore_errors=True)
    try:
        shutil.copytree(staged, hidden)
        if target.exists():
            shutil.rmtree(target)
        os.replace(hidden, target)
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def remove_voice(key: str) -> Path:
    """Delete an installed voice (its folder ``voices/KEY``, or a model named
    ``KEY`` anywhere in the voices folder with its config) and any partial
    download of it. Returns what was removed.

    Raises UsageError (exit 2) when no voice of that name is installed."""
    if not _KEY.fullmatch(key):
        raise UsageError(_("'{key}' is not a Piper voice name; see 'voiceguide voices'").format(key=key))
    _remove_partials(key)
    target = installed_dir(key)
    if target.is_dir():
        shutil.rmtree(target)
        return target
    models = {m.name: m for m in find_models()}
    if key not in models:
        installed = ", ".join(sorted(models)) or _("none")
        raise UsageError(_("no Piper voice '{key}' is installed (installed: {installed})").format(key=key, installed=installed))
    model = models[key]
    for path in (model.path, model.config_path, model.path.with_name(model.path.name + ".pace.json")):
        path.unlink(missing_ok=True)
    return model.path


def _remove_partials(key: str) -> None:
    """Delete unfinished downloads of ``key`` (known by the MD5s the kept catalog gives)."""
    kept = read_json_cache(_catalog_cache_key(base_url()))
    if not isinstance(kept, dict) or not isinstance(kept.get("voices"), dict):
        return
    voice = parse_catalog(kept["voices"], base_url()).voices.get(key)
    for each in voice.files if voice else ():
        (downloads_dir() / f"{each.md5}.part").unlink(missing_ok=True)


def measure_pace(key: str, rate_wpm: int = 125, progress: Progress = no_progress) -> bool:
    """Measure an installed voice's pace now (see :mod:`~voiceguide.speech.piper_pace`),
    and keep its model ready in the cache, so the first export does not wait
    for either. Returns False (with a log line) when it cannot be done now,
    e.g. without the runtime: it is then done on first use."""
    progress("measuring the pace", 0, 1)
    try:
        model = find_model(PREFIX + key)
        with PiperEngine() as engine:
            voice_id = engine.resolve_voice(model.voice_id, model.base_language)
            engine.length_scale(voice_id, rate_wpm)
    except VoiceguideError as exc:
        log.warning("the pace of %s is measured on first use instead: %s", key, exc)
        return False
    progress("measuring the pace", 1, 1)
    return True
