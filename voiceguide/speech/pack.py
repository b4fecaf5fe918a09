"""A voice pack: a trainer's own recordings of a script's phrases.

A pack is a folder::

    anna-nl/
      voicepack.json            # format, speaker, language, sample rate, created, voiceguide version
      phrases/
        ga-rustig-zitten-3fa9c2d1e0b4a7f2.flac
        een-9b1e...flac         # count words are phrases too
        ...

One FLAC (mono, 16 bit, at the pack's sample rate) per phrase. Its file
name is derived from the phrase's *normalised* text (:func:`normalise`:
Unicode NFC, case folded, runs of white space made one space), so a phrase
is found without an index, and a phrase that several scripts share is
recorded once. The FLAC's title tag holds the phrase as it was written.
Recordings are stored already processed (trimmed with a natural release,
high-passed, levelled: :func:`voiceguide.dsp.recording.process_recording`).

Every write is atomic and touches one file: the manifest once when the pack
is made, then one FLAC per phrase (:class:`~voiceguide.atomic.AtomicFile`).
A pack is never half-written, whenever the recorder stops.

:class:`VoicePackEngine` puts a pack in front of a speech engine: a phrase
the pack has comes from its recording, any other from the engine (the
fallback). Recordings are found by the script's own text, before the
lexicon respells it, and never pass through the phrase cache (see
:meth:`VoicePackEngine.recording`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import rules
from ..atomic import write_atomically
from ..audio import Audio, resample
from ..errors import ScriptError, os_reason
from ..i18n import N_, _
from ..inputs import InputFileError, JSONInputError, inside, kind_problem, load_json, read_limited, regular_file_problem
from ..rules import MAX_PACK_MANIFEST_BYTES, MAX_RECORDING_BYTES
from .cache import read_json_cache, write_json_cache
from .engine import SpeechEngine, VoiceInfo, VoiceSettings

log = logging.getLogger(__name__)

PACK_FORMAT = 1
"""The manifest format this voiceguide writes and reads; a newer one is refused."""
MANIFEST_NAME = "voicepack.json"
PHRASE_FOLDER = "phrases"
DEFAULT_SAMPLE_RATE = 48_000
PACK_SAMPLE_RATES = (22_050, 44_100, 48_000)
_SLUG_WORDS = 6
_SLUG_CHARS = 40


class VoicePackError(ScriptError):
    """A voice pack that cannot be used: missing, not a pack, damaged, of a
    newer format or another language (exit 2; located at the file when
    there is one)."""


class PackWriteError(VoicePackError):
    """A recording or the manifest could not be written (a full disk, no
    permission): the system's fault, not the input's (exit 1)."""

    exit_code = 1


@dataclass(frozen=True, eq=False)
class Recording(Audio):
    """A phrase from a voice pack: a person's voice, already trimmed with its
    own natural release. :func:`~voiceguide.session.prepare_session` levels it
    like a clip, without the release made for a synthesized voice's abrupt end."""


@dataclass(frozen=True)
class PackInfo:
    """What the manifest says."""

    speaker: str
    language: str
    sample_rate: int
    """Of every recording in the pack, in Hz."""
    created: str
    """When the pack was made (ISO 8601, UTC)."""
    voiceguide: str
    """The voiceguide version that made it."""
    format: int = PACK_FORMAT


def normalise(text: str) -> str:
    """The key a phrase is stored under: NFC, case folded, white space folded.

    >>> normalise("  Voel je\\n  VOETEN. ")
    'voel je voeten.'
    """
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def phrase_file_name(text: str) -> str:
    """``voel-je-voeten-op-de-3fa9c2d1e0b4a7f2.flac``: a readable start and a
    digest of the normalised text (so the name is unique and stable)."""
    key = normalise(text)
    ascii_text = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_text)[:_SLUG_WORDS])[:_SLUG_CHARS].strip("-") or "phrase"
    return f"{slug}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}.flac"


def short(text: str, length: int = 32) -> str:
    """A phrase cut to ``length`` characters for messages: ``Voel je voeten...``."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 3].rstrip() + "..."


def voiceguide_version() -> str:
    try:
        from importlib.metadata import version

        return version("voiceguide")
    except Exception:  # running from a checkout that is not installed
        return "0"


class VoicePack:
    """A voice pack folder (see the module notes). Open one with
    :meth:`open`, make one with :meth:`create`."""

    def __init__(self, folder: Path, info: PackInfo):
        self.folder = folder
        self.info = info

    # --- opening and making -----------------------------------------------------------

    @classmethod
    def open(cls, folder: str | Path, language: str | None = None) -> VoicePack:
        """The pack in ``folder``; with ``language``, it must be of that language.

        Raises VoicePackError (one line) for a folder that is missing, a file,
        not a pack, or a pack that is damaged, newer or of another language.
        """
        folder = Path(folder)
        if folder.is_file():
            raise VoicePackError(_("is a file, not a voice pack folder"), folder)
        if not folder.is_dir():
            if os.path.exists(folder):  # a pipe, a device: say what it is, not "no such"
                kind = kind_problem(os.stat(folder).st_mode) or _("is not a folder")
                raise VoicePackError(_("{kind}, not a voice pack folder").format(kind=kind), folder)
            raise VoicePackError(_("no such voice pack folder; make one with: voiceguide record SCRIPT -o FOLDER"), folder)
        manifest = folder / MANIFEST_NAME
        if not manifest.is_file():
            raise VoicePackError(
                _("not a voice pack (it has no {MANIFEST_NAME}); make one with: voiceguide record SCRIPT -o FOLDER").format(
                    MANIFEST_NAME=MANIFEST_NAME
                ),
                folder,
            )
        pack = cls(folder, _read_manifest(manifest))
        if language is not None and pack.info.language != language:
            raise VoicePackError(
                _(
                    "the voice pack speaks '{language}' and the script is '{script_language}'; use a pack recorded in '{script_language}'"
                ).format(language=pack.info.language, script_language=language),
                folder,
            )
        return pack

    @classmethod
    def create(cls, folder: str | Path, *, speaker: str, language: str, sample_rate: int = DEFAULT_SAMPLE_RATE) -> VoicePack:
        """Make a new, empty pack in ``folder`` (new, or an empty folder).

        Raises VoicePackError when ``folder`` is a file, a folder with other
        files in it, or its parent folder does not exist.
        """
        folder = Path(folder)
        if language not in rules.LANGUAGES:
            raise VoicePackError(
                _("language '{language}' is not supported; use one of: {items}").format(
                    language=language, items=", ".join(rules.LANGUAGES)
                ),
                folder,
            )
        if sample_rate not in PACK_SAMPLE_RATES:
            raise VoicePackError(
                _("sample rate {sample_rate} Hz: a pack records at {items} Hz").format(
                    sample_rate=sample_rate, items=", ".join(map(str, PACK_SAMPLE_RATES))
                ),
                folder,
            )
        cls.check_new(folder)
        info = PackInfo(
            speaker=speaker.strip() or "unknown",
            language=language,
            sample_rate=sample_rate,
            created=datetime.now(UTC).replace(microsecond=0).isoformat(),
            voiceguide=voiceguide_version(),
        )
        try:
            (folder / PHRASE_FOLDER).mkdir(parents=True, exist_ok=True)
            text = json.dumps(
                {
                    "format": info.format,
                    "speaker": info.speaker,
                    "language": info.language,
                    "sample_rate": info.sample_rate,
                    "created": info.created,
                    "voiceguide": info.voiceguide,
                },
                indent=2,
                ensure_ascii=False,
            )
            write_atomically(folder / MANIFEST_NAME, (text + "\n").encode("utf-8"), replace=False)
        except OSError as exc:
            raise PackWriteError(_("cannot write the voice pack ({reason})").format(reason=os_reason(exc)), folder) from None
        return cls(folder, info)

    @staticmethod
    def exists(folder: str | Path) -> bool:
        """Whether ``folder`` holds a voice pack (its manifest, at least)."""
        return (Path(folder) / MANIFEST_NAME).is_file()

    @staticmethod
    def check_new(folder: str | Path) -> None:
        """Raise VoicePackError unless a new pack can be made in ``folder``:
        it must not be a file or a folder with other things in it, and its
        parent folder must exist. (Checked before any work, so a refused
        folder costs nothing.)"""
        folder = Path(folder)
        if folder.is_file():
            raise VoicePackError(_("is a file; give a folder for the voice pack"), folder)
        try:
            crowded = folder.is_dir() and any(folder.iterdir())
        except OSError as exc:
            raise VoicePackError(_("cannot read the folder ({reason})").format(reason=os_reason(exc)), folder) from None
        if crowded:
            raise VoicePackError(
                _("is a folder with other files in it and no {MANIFEST_NAME}; give a new folder for the pack").format(
                    MANIFEST_NAME=MANIFEST_NAME
                ),
                folder,
            )
        parent = folder.parent if str(folder.parent) else Path(".")
        if not parent.is_dir():
            raise VoicePackError(_("folder {parent} does not exist; create it first").format(parent=parent), folder)

    # --- phrases ------------------------------------------------------------------------

    def path(self, text: str) -> Path:
        """Where the recording of ``text`` is (or would be) kept."""
        return self.folder / PHRASE_FOLDER / phrase_file_name(text)

    def has(self, text: str) -> bool:
        """Whether the pack has a recording of ``text`` (not read: see
        :meth:`check`). Anything under the phrase's name counts, a pipe or
        a link out of the pack too: reading it says what is wrong."""
        return os.path.lexists(self.path(text))

    def missing(self, texts: list[str]) -> list[str]:
        """The distinct ``texts`` the pack has no recording of, in order."""
        return [text for text in dict.fromkeys(texts) if not self.has(text)]

    def check(self, text: str) -> str | None:
        """Why the recording of ``text`` cannot be used (damaged, not this
        phrase), or None when it reads (a missing one is not checked)."""
        try:
            self._read(text)
        except VoicePackError as exc:
            return exc.message
        return None

    def recording(self, text: str) -> Recording | None:
        """The recording of ``text``, None when the pack has none.

        Raises VoicePackError for a recording that cannot be read.
        """
        if not self.has(text):
            return None
        return self._read(text)

    def _check_file(self, path: Path, text: str) -> None:
        """Raise VoicePackError unless ``path`` is a regular file inside the
        pack (a link may point within the pack, never out of it)."""
        if not inside(path, self.folder):
            raise VoicePackError(
                _(
                    "the recording of '{text}' leads out of the voice pack (a link to {target}); a pack's recordings are its own files"
                ).format(text=short(text), target=_resolved(path)),
                path,
            )
        if problem := regular_file_problem(path):
            raise VoicePackError(_("the recording of '{text}' {problem}").format(text=short(text), problem=problem), path)
        size = os.stat(path).st_size
        if size > MAX_RECORDING_BYTES:
            raise VoicePackError(
                _("the recording of '{text}' is {size} bytes; a recording is at most {limit} bytes: record it again").format(
                    text=short(text), size=size, limit=MAX_RECORDING_BYTES
                ),
                path,
            )

    def _read(self, text: str) -> Recording:
        path = self.path(text)
        self._check_file(path, text)
        try:
            with sf.SoundFile(str(path)) as file:
                title = file.title
                frames = file.frames
                # a shared pack's file may declare gigabytes: read only what a recording can be
                if problem := rules.sound_problem(file.channels, file.samplerate, frames):
                    raise VoicePackError(
                        _("the recording of '{text}' {problem}; record it again").format(text=short(text), problem=problem), path
                    )
                samples = file.read(dtype="float32", always_2d=True)
                rate = file.samplerate
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            detail = (os_reason(exc) if isinstance(exc, OSError) else str(exc).replace("Error : ", "")).rstrip(". ")
            raise VoicePackError(
                _("the recording of '{short}' is damaged ({detail}); record it again with 'voiceguide record'").format(
                    short=short(text), detail=detail
                ),
                path,
            ) from None
        if frames == 0 or len(samples) != frames:
            raise VoicePackError(
                _("the recording of '{short}' is empty or cut short; record it again with 'voiceguide record'").format(
                    short=short(text)
                ),
                path,
            )
        if not np.isfinite(samples).all():  # NaN would be exported as silence, and poison the levelling
            raise VoicePackError(
                _("the recording of '{short}' holds samples that are not numbers (NaN or infinity); record it again").format(
                    short=short(text)
                ),
                path,
            )
        if title and normalise(title) != normalise(text):
            raise VoicePackError(
                _("holds '{short}', not '{expected}': the file was renamed; record it again").format(
                    short=short(title), expected=short(text)
                ),
                path,
            )
        return Recording(np.ascontiguousarray(samples.mean(axis=1), dtype=np.float32), int(rate))

    def add(self, text: str, audio: Audio) -> Path:
        """Store ``audio`` (processed already) as the recording of ``text``,
        replacing an older one; atomically: the old recording or the new, never part.

        Raises VoicePackError when it cannot be written.
        """
        audio = resample(audio, self.info.sample_rate)
        samples = np.clip(np.asarray(audio.samples, dtype=np.float32), -1.0, 1.0)
        path = self.path(text)
        self._check_phrase_folder(path, text)
        encoded = io.BytesIO()  # a phrase is seconds long: encoded in memory, so a write error keeps its cause
        with sf.SoundFile(encoded, "w", self.info.sample_rate, 1, "PCM_16", format="FLAC") as flac:
            # libsndfile takes strings only before the first samples
            flac.title = text
            flac.software = f"voiceguide {voiceguide_version()}"
            flac.write(samples)
        try:
            path.parent.mkdir(exist_ok=True)
            write_atomically(path, encoded.getvalue(), replace=True)
        except OSError as exc:
            raise PackWriteError(
                _("cannot write the recording of '{short}' ({detail}); nothing was changed").format(
                    short=short(text), detail=os_reason(exc)
                ),
                path,
            ) from None
        self.__dict__.pop("identity", None)  # the pack changed
        return path

    def _check_phrase_folder(self, path: Path, text: str) -> None:
        """Raise VoicePackError unless ``phrases`` is the pack's own folder
        (or not there yet): a link would take the recordings elsewhere."""
        folder = path.parent
        if os.path.islink(folder) or (os.path.lexists(folder) and not inside(folder, self.folder)):
            raise VoicePackError(
                _(
                    "cannot write the recording of '{short}': {folder} is a link to {target}, out of the voice pack; nothing was changed"
                ).format(short=short(text), folder=folder, target=_resolved(folder)),
                self.folder,
            )

    def recorded(self) -> list[Path]:
        """Every recording file in the pack, by name."""
        try:
            return sorted(
                p for p in (self.folder / PHRASE_FOLDER).iterdir() if p.suffix == ".flac" and not p.name.startswith(".")
            )
        except OSError:
            return []

    # --- identity -----------------------------------------------------------------------

    @cached_property
    def identity(self) -> str:
        """A digest of the manifest and of every recording's contents: it
        changes whenever a recording is added, replaced or edited.

        File digests are kept in the cache folder by size and modification
        time, so an unchanged pack costs a ``stat`` per file, not a read.
        """
        cache_key = "voicepack-" + hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:32]
        known = read_json_cache(cache_key)
        known = known if isinstance(known, dict) else {}
        digests: dict[str, list] = {}
        hasher = hashlib.sha256(read_limited(self.folder / MANIFEST_NAME, MAX_PACK_MANIFEST_BYTES, N_("voice pack manifest")))
        for path in self.recorded():
            try:
                info = path.stat()
                # a FIFO would never end, a device neither; a link out is not the pack's
                if not stat.S_ISREG(info.st_mode) or not inside(path, self.folder):
                    continue
                entry = known.get(path.name)
                if not _digest_entry(entry, info):
                    if not _hashable(path, info.st_size):  # a sparse 100 GB file is never read whole
                        continue
                    with path.open("rb") as file:  # in blocks: a recording may be large
                        entry = [info.st_size, info.st_mtime_ns, hashlib.file_digest(file, "sha256").hexdigest()]
            except (OSError, ValueError):
                continue
            digests[path.name] = entry
            hasher.update(f"{path.name}:{entry[2]}\n".encode())
        if digests != known:
            write_json_cache(cache_key, digests)
        return hasher.hexdigest()[:32]


def _digest_entry(entry: object, info: os.stat_result) -> bool:
    """Whether a remembered digest is whole and still the file's (size,
    modification time, 64 hex digits): a damaged one is made again."""
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and entry[:2] == [info.st_size, info.st_mtime_ns]
        and isinstance(entry[2], str)
        and re.fullmatch(r"[0-9a-f]{64}", entry[2]) is not None
    )


def _hashable(path: Path, size: int) -> bool:
    """Whether the file at ``path`` can be a recording by its size and by
    what its header declares (read before any of the file): one that cannot
    is left out of the pack's identity, and refused, naming its phrase,
    when a script needs it (:meth:`VoicePack.recording`)."""
    if size > MAX_RECORDING_BYTES:
        return False
    try:
        with sf.SoundFile(str(path)) as file:  # the header only
            return rules.sound_problem(file.channels, file.samplerate, file.frames) is None
    except (sf.LibsndfileError, RuntimeError):
        return True  # not audio: reading it says so; hashing it is cheap, its size is bounded


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return str(path)


def _read_manifest(path: Path) -> PackInfo:
    try:
        raw = read_limited(path, MAX_PACK_MANIFEST_BYTES, N_("voice pack manifest"))
    except InputFileError:  # a FIFO, a device, a sparse giant: never read
        raise VoicePackError(_("is too large to be a voice pack manifest, or not a file"), path) from None
    except OSError as exc:
        raise VoicePackError(_("cannot read the manifest ({reason})").format(reason=os_reason(exc)), path) from None
    try:
        data = load_json(raw)
    except JSONInputError as exc:
        raise VoicePackError(exc.reason, path, exc.line, exc.col) from None
    if not isinstance(data, dict):
        raise VoicePackError(_("must be a JSON object with format, speaker, language and sample_rate"), path)
    version = data.get("format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise VoicePackError(_("'format' must be a whole number (the pack format version)"), path)
    if version > PACK_FORMAT:
        raise VoicePackError(
            _(
                "the voice pack has format {version}, made by a newer voiceguide ({version_by}); this one reads format {known}: update voiceguide"
            ).format(version=version, version_by=data.get("voiceguide", "?"), known=PACK_FORMAT),
            path,
        )
    language = data.get("language")
    if language not in rules.LANGUAGES:
        raise VoicePackError(
            _("'language' must be one of {items}, not {language!r}").format(items=", ".join(rules.LANGUAGES), language=language),
            path,
        )
    rate = data.get("sample_rate")
    if rate not in PACK_SAMPLE_RATES or isinstance(rate, bool):
        raise VoicePackError(
            _("'sample_rate' must be one of {items}, not {rate!r}").format(
                items=", ".join(map(str, PACK_SAMPLE_RATES)), rate=rate
            ),
            path,
        )
    texts = {key: data.get(key, "") for key in ("speaker", "created", "voiceguide")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise VoicePackError(_("'{key}' must be a string").format(key=key), path)
    return PackInfo(texts["speaker"] or "unknown", language, int(rate), texts["created"], texts["voiceguide"], version)


# --- the engine ---------------------------------------------------------------------------


class VoicePackEngine:
    """A voice pack in front of a speech engine (a
    :class:`~voiceguide.speech.engine.SpeechEngine` itself): a phrase the
    pack has is its recording, any other is the ``fallback`` engine's.

    :meth:`recording` lets :func:`~voiceguide.speech.phrases.synthesize_phrases`
    take recordings by the script's own text, before the lexicon respells
    it, and past the phrase cache (a recording is on disk already, and a
    cached copy could outlive a re-recorded phrase). :meth:`describe`
    includes the pack's identity all the same, so whatever else a cache
    keeps from this engine changes when the pack does. Closing it closes
    the fallback.
    """

    def __init__(self, pack: VoicePack, fallback: SpeechEngine):
        self.pack = pack
        self.fallback = fallback
        self.name = f"voicepack+{fallback.name}"
        self.exact_rate = getattr(fallback, "exact_rate", False)
        """As the engine behind it (see :mod:`voiceguide.speech.unhurried`)."""

    def recording(self, text: str) -> Recording | None:
        """The pack's recording of ``text`` (the phrase as the script writes it), or None."""
        return self.pack.recording(text)

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        return self.recording(text) or self.fallback.synthesize(text, settings)

    def synthesize_many(self, texts: list[str], settings: VoiceSettings) -> list[Audio]:
        found: list[Audio | None] = [self.recording(text) for text in texts]
        rest = [text for text, audio in zip(texts, found) if audio is None]
        many = getattr(self.fallback, "synthesize_many", None)
        made = (
            iter(many(rest, settings) if many else [self.fallback.synthesize(text, settings) for text in rest])
            if rest
            else iter(())
        )
        return [audio if audio is not None else next(made) for audio in found]

    def voices(self) -> list[VoiceInfo]:
        return self.fallback.voices()

    def describe(self) -> str:
        return f"{self.fallback.describe()}+voicepack:{self.pack.identity}"

    def voice_key(self, voice_id: str) -> str:
        """The fallback's name for a voice in cache keys (see :func:`~voiceguide.speech.phrases.cache_identity`)."""
        own = getattr(self.fallback, "voice_key", None)
        return own(voice_id) if own else voice_id

    def close(self) -> None:
        self.fallback.close()


def check_coverage(pack: VoicePack, texts: list[str], *, strict: bool = False) -> list[str]:
    """The phrases of ``texts`` that ``pack`` has no recording of; they are
    logged as one warning (the engine voice says them), or with ``strict``
    refused.

    Raises VoicePackError with ``strict`` when any phrase is missing.
    """
    missing = pack.missing(texts)
    if missing:
        listed = ", ".join(f"'{short(text, 40)}'" for text in missing)
        counted = f"{len(missing)} of {len(dict.fromkeys(texts))} phrases"
        if strict:
            raise VoicePackError.naming(
                _("has no recording of {counted}: {listed}; record them with 'voiceguide record', or leave out {strict}"),
                {"strict": "strict"},
                pack.folder,
                counted=counted,
                listed=listed,
            )
        log.warning(N_("voice pack %s has no recording of %s; the engine voice says them: %s"), pack.folder, counted, listed)
    return missing
