"""Stage 6 (file sink): a session as a phone-ready file.

:func:`export_session` makes the file in one streaming pass, so memory
stays the same however long the session is:

1. **plan** (:mod:`voiceguide.sinks.normalise`): the voice is the anchor. Its
   loudness is known from the levelled phrases alone (no render needed),
   and one gain brings it to the target (-19 LUFS: mono) after the true-peak
   limiter, allowing for what the codec changes (LAME: a fixed -0.45 dB;
   Vorbis and Opus: measured on a 10 s excerpt). Cues, bells and ambience
   get the same gain, so they keep their distance under the voice.
2. **write**: the mixer's blocks are gained, passed through the look-ahead
   true-peak limiter (:mod:`voiceguide.dsp.dynamics`, which also reports
   the highest true peak it let through) and encoded: MP3 with
   LAME through lameenc (:mod:`voiceguide.sinks.mp3`, in a second thread,
   with a LAME Info tag so decoders drop the encoder delay and every time
   in the file is exact), the rest with libsndfile.

No decode-and-measure pass: the codec's level change is predicted, and the
tests decode every format and hold the prediction to the target.

Tags and chapters (:mod:`voiceguide.sinks.tags`) go into the file before it
becomes visible; the file and an optional transcript
(:mod:`voiceguide.sinks.transcript`) are written through
:class:`~voiceguide.atomic.AtomicFile`, so an error, Ctrl-C or even
``kill -9`` leaves any old file untouched and no temporary file behind.
No dither, no timestamps: the same script and settings give the same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import logging
import math
import os
import queue
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from mutagen import MutagenError

from ..atomic import AtomicFile, commit_together
from ..audio import Blocks, db_to_gain, resample, to_pcm16
from ..dsp.loudness import (
    DEFAULT_CEILING_DBTP,
    DEFAULT_TARGET_LUFS,
    LoudnessMeter,
    LoudnessProfile,
)
from ..errors import ExportError, UsageError, os_reason
from ..i18n import N_, _
from ..mix.mixer import Mixer
from ..progress import Progress, no_progress
from ..rules import BIT_DEPTHS, DEFAULT_MP3_KBPS, DEFAULT_SAMPLE_RATE, LOUDNESS_LUFS, MP3_SAMPLE_RATE, TRANSCRIPTS, text_problem
from ..session import WritesBehind
from ..speech.cache import BlobCache
from .mp3 import Mp3Writer, lame_input_gain
from .normalise import (
    LIMITER_RELEASE_DB_PER_S,
    LIMITING_BUDGET_DB,
    LevelPlan,
    make_limiter,
    mix_profiles,
    plan_levels,
)
from .tags import LoudnessTags, session_tags, write_tags
from .transcript import render_transcript

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputFormat:
    """An audio file format voiceguide writes, picked by the file extension."""

    suffix: str
    name: str
    """As shown to people."""
    container: str
    """soundfile's format name."""
    subtype: str | None
    """soundfile's subtype; None for PCM at the chosen bit depth."""
    lossy: bool
    tag_kind: str
    """Which tag writer (see :func:`voiceguide.tags.write_tags`)."""
    sample_rate: int | None = None
    """The only sample rate the codec takes (Opus: 48 kHz), else None."""
    peak_margin_db: float = 0.05
    """How far under the true-peak ceiling the limiter aims: enough for
    rounding to PCM, or (lossy) for what the codec usually adds."""
    compression_level: float | None = None
    """soundfile's quality knob for Vorbis and Opus (0 best, 1 smallest)."""

    def margin_db(self, bitrate_kbps: int | None) -> float:
        """The limiter's distance under the ceiling; low MP3 bitrates overshoot more."""
        if self.container == "MP3" and bitrate_kbps is not None and bitrate_kbps < 96:
            return 1.3
        return self.peak_margin_db


FORMATS = {
    ".wav": OutputFormat(".wav", "WAV", "WAV", None, False, "WAV"),
    ".flac": OutputFormat(".flac", "FLAC", "FLAC", None, False, "FLAC"),
    # Lossy codecs add noise, so decoded peaks overshoot the limiter's
    # ceiling. LAME (lameenc, see sinks/mp3.py) at 96 kbps: +0.33 dB beyond
    # its fixed 0.95 input gain on steady speech and cues (120 files), but
    # +0.62 dB on the burst of a spoken count ("twee"), +0.83 at 64 kbps;
    # Opus at its default ~55 kbps: 2.2 dB, hence ~96 kbps; Vorbis ~64 kbps.
    # The margins cover that (tests decode every format of every built-in).
    ".mp3": OutputFormat(".mp3", "MP3", "MP3", "MPEG_LAYER_III", True, "MP3", peak_margin_db=0.8),
    ".ogg": OutputFormat(".ogg", "OGG Vorbis", "OGG", "VORBIS", True, "OGG", peak_margin_db=0.5, compression_level=0.4),
    ".opus": OutputFormat(
        ".opus", "Opus", "OGG", "OPUS", True, "OPUS", sample_rate=48_000, peak_margin_db=0.6, compression_level=0.6
    ),
}
PCM_SUBTYPES = {depth: f"PCM_{depth}" for depth in BIT_DEPTHS}
"""libsndfile's subtype for each bit depth WAV and FLAC may have (:data:`voiceguide.rules.BIT_DEPTHS`)."""
BLOCK_FRAMES = 65_536
"""Export block size: large enough that per-block overhead stays small."""
CALIBRATION_S = 10.0
"""Seconds of the session encoded in memory to learn a lossy codec's level change."""
MP3_QUALITY = 7
"""LAME's -q for MP3 (2 best, 7 fastest), chosen by listening-oriented
measurements on what voiceguide encodes (espeak speech, soft glides, bells;
96 kbps mono 44.1 kHz): decoded SNR with
LAME's input gain undone 38.4 dB at q7 vs 36.8-37.6 at q2/q3/q5, glides
62.3 vs 40.8-62.1 dB, bells 67.4 vs 44.2-57.0 dB, pre-echo before bell
strokes -73.7 vs -66 dB, log-spectral distance 2.46 vs 2.35-2.60 dB,
wideband PESQ 4.60/4.58 (female/male voice) vs 4.60/4.53 at q5. q7 switches
LAME's psychoacoustic noise shaping off, which helps music, not this
material; it takes 0.70x the CPU of q5 and 0.40x of q2."""

# LAME's constant bitrates at each MPEG version.
_MP3_BITRATES = {
    "MPEG-1": (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "MPEG-2": (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    "MPEG-2.5": (8, 16, 24, 32, 40, 48, 56, 64),
}


@dataclass(frozen=True)
class ExportResult:
    """What was written, and how it measured."""

    path: Path
    duration_s: float
    sample_rate: int
    format: str
    loudness_lufs: float = math.nan
    """Integrated loudness of the whole file (BS.1770-4; after the codec)."""
    speech_lufs: float = math.nan
    """Loudness of the voice: BS.1770 gated over where it speaks (the target)."""
    true_peak_dbtp: float = math.nan
    """The 4x oversampled peak; for a lossy format, of what went into the
    encoder (scaled by the codec's gain): decoding adds up to ``peak_margin_db``."""
    ceiling_dbtp: float = math.nan
    """The ceiling the export kept true peaks under, after decoding too."""
    peak_margin_db: float = 0.0
    """How far under the ceiling the limiter stayed, for the codec's overshoot."""
    limiter_db: float = 0.0
    """The deepest the limiter turned a peak down (<= 0)."""
    bitrate_kbps: int | None = None
    transcript: Path | None = None


def format_for(path: Path, bit_depth: int | None = None) -> tuple[OutputFormat, str]:
    """The output format and soundfile subtype for ``path``'s extension.

    Raises UsageError for an unknown or missing extension and for a bit
    depth on a format without one, ExportError for a format this
    libsndfile cannot write.
    """
    suffix = path.suffix.lower()
    if not suffix:
        raise UsageError(
            _("{path} has no file extension, so no format; add one of {items} (e.g. {name}.mp3)").format(
                path=path, items=", ".join(FORMATS), name=path.name
            )
        )
    if suffix not in FORMATS:
        raise UsageError(
            _("{path}: unknown output format '{suffix}'; use one of: {items}").format(
                path=path, suffix=suffix, items=", ".join(FORMATS)
            )
        )
    fmt = FORMATS[suffix]
    if fmt.subtype is None:
        if bit_depth is not None and bit_depth not in PCM_SUBTYPES:
            raise UsageError(_("bit depth {bit_depth} is not supported; use 16 or 24").format(bit_depth=bit_depth))
        subtype = PCM_SUBTYPES[bit_depth or 16]
    else:
        if bit_depth is not None:
            raise UsageError.naming(
                _("{bit_depth} applies to WAV and FLAC; {name} has no bit depth"), {"bit_depth": "bit_depth"}, name=fmt.name
            )
        subtype = fmt.subtype
    if fmt.container not in sf.available_formats() or subtype not in sf.available_subtypes(fmt.container):
        raise ExportError(
            _(
                "{path}: this libsndfile ({version}) cannot write {name}; install soundfile >= 0.13, whose wheels bundle a complete libsndfile (pip install -U soundfile)"
            ).format(path=path, version=sf.__libsndfile_version__, name=fmt.name)
        )
    return fmt, subtype


def mp3_bitrates(sample_rate: int) -> tuple[int, ...]:
    """The constant bitrates MP3 offers at ``sample_rate`` (kbps)."""
    if sample_rate >= 32_000:
        return _MP3_BITRATES["MPEG-1"]
    if sample_rate >= 16_000:
        return _MP3_BITRATES["MPEG-2"]
    return _MP3_BITRATES["MPEG-2.5"]


def check_mp3_bitrate(kbps: int, sample_rate: int = DEFAULT_SAMPLE_RATE) -> int:
    """``kbps`` if MP3 has that constant bitrate at ``sample_rate``; else UsageError."""
    rates = mp3_bitrates(sample_rate)
    if kbps not in rates:
        raise UsageError(
            _("MP3 at {sample_rate} Hz has no {kbps} kbps; use one of: {items}").format(
                sample_rate=sample_rate, kbps=kbps, items=", ".join(map(str, rates))
            )
        )
    return kbps


def preferred_sample_rate(path: str | Path) -> int:
    """The render rate for ``path``: what its codec needs (48 kHz for Opus),
    32 kHz for MP3 (see :data:`~voiceguide.rules.MP3_SAMPLE_RATE`), else 44.1 kHz."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt and fmt.sample_rate:
        return fmt.sample_rate
    return MP3_SAMPLE_RATE if fmt and fmt.container == "MP3" else DEFAULT_SAMPLE_RATE


def default_output(script: str, language: str | None = None) -> Path:
    """Where ``export`` writes when no ``-o`` is given: ``NAME.mp3`` (``NAME-en.mp3`` with a language)."""
    return Path(f"{Path(script).stem}{'-' + language if language else ''}.mp3")


def transcript_path(path: Path, transcript: str) -> Path:
    """Where the transcript of ``path`` goes: beside it, e.g. ``out.vtt``."""
    return path.with_suffix(f".{transcript}")


def existing_targets(path: str | Path, transcript: str | None = None) -> list[Path]:
    """The files an export would replace."""
    path = Path(path)
    targets = [path] + ([transcript_path(path, transcript)] if transcript else [])
    return [target for target in targets if os.path.lexists(target)]  # False for a name too long, not an error


def session_mixer(session, sample_rate: int) -> Mixer:
    """The session's mixer, or an equal one at ``sample_rate`` (levelled
    voice and clips resampled; the timeline stays as planned)."""
    mixer: Mixer = session.mixer
    if mixer.sample_rate == sample_rate:
        return mixer
    return Mixer(
        mixer.timeline,
        {text: resample(audio, sample_rate) for text, audio in mixer.voice.items()},
        {path: resample(audio, sample_rate) for path, audio in mixer.clips.items()},
        replace(mixer.settings, sample_rate=sample_rate),
    )


def export_session(
    session,
    path: str | Path,
    *,
    force: bool = False,
    bitrate_kbps: int | None = None,
    loudness_lufs: float = DEFAULT_TARGET_LUFS,
    true_peak_dbtp: float = DEFAULT_CEILING_DBTP,
    bit_depth: int | None = None,
    album: str | None = None,
    track: int | None = None,
    transcript: str | None = None,
    progress: Progress = no_progress,
) -> ExportResult:
    """Render ``session`` into ``path``, normalised on the voice, tagged and atomically.

    Parameters
    ----------
    session:
        A :class:`~voiceguide.session.Session`.
    path:
        Target file; the extension picks the format: ``.wav``, ``.flac``,
        ``.mp3`` (mono CBR), ``.ogg`` (Vorbis) or ``.opus`` (48 kHz).
    force:
        Replace existing files (the audio and the transcript).
    bitrate_kbps:
        MP3 only: a LAME constant bitrate; default 96.
    loudness_lufs:
        The voice's loudness in the file (ITU-R BS.1770-4 gated over the
        speech; see :mod:`voiceguide.sinks.normalise`).
    true_peak_dbtp:
        The highest 4x oversampled peak allowed.
    bit_depth:
        WAV and FLAC only: 16 (default) or 24.
    album, track:
        Collection name (default "voiceguide") and optional track number.
    transcript:
        ``vtt``, ``srt`` or ``lrc``: also write the transcript beside the
        audio, e.g. ``session.vtt``.
    progress:
        Told how far the writing is (``("writing", frames done, frames)``).

    Raises
    ------
    ExportError
        The target exists (without ``force``), its folder is missing or
        unwritable, the format is unknown or unsupported, or writing failed.
    UsageError
        An option that does not fit the format.
    """
    path = Path(path)
    fmt, subtype = format_for(path, bit_depth)
    check_request(fmt, bitrate_kbps=bitrate_kbps, loudness_lufs=loudness_lufs, album=album, transcript=transcript)
    session.level_ahead()  # the second core levels phrases while this one plans
    mixer = session_mixer(session, fmt.sample_rate or session.sample_rate)
    rate = mixer.sample_rate
    if fmt.container == "MP3":
        bitrate_kbps = check_mp3_bitrate(bitrate_kbps or DEFAULT_MP3_KBPS, rate)
    check_targets(path, transcript, force)

    tags = session_tags(mixer.timeline, album=album, track=track)
    transcript_text = render_transcript(mixer.timeline, transcript, album=tags.album) if transcript else None
    audio_file, text_file = _open_targets(path, transcript, force)
    files = [audio_file] + ([text_file] if text_file else [])
    try:
        with contextlib.ExitStack() as stack:
            for file in files:
                stack.enter_context(file)
            profiles = _WrittenBehind(BlobCache("profiles"))
            stack.callback(profiles.wait)  # the profiles measured now are in the cache when the export returns
            written = getattr(session, "wait_written", None)  # and the phrases levelled for it (written behind the plan)
            if written is not None:
                stack.callback(written)
            plan, codec_db, whole = _plan_levels(mixer, fmt, subtype, bitrate_kbps, loudness_lufs, true_peak_dbtp, profiles)
            profiles.write()
            true_peak, limiter_db = _write_audio(
                audio_file, mixer.stream(BLOCK_FRAMES), fmt, subtype, bitrate_kbps, plan, progress
            )
            integrated = whole.predict_lufs(plan.gain_db, plan.ceiling_dbtp, LIMITER_RELEASE_DB_PER_S)
            loudness = LoudnessTags(plan.speech_lufs, integrated + codec_db, true_peak + codec_db)
            assert audio_file.file is not None
            write_tags(audio_file.file, fmt.tag_kind, replace(tags, loudness=loudness))
            if text_file is not None and transcript_text is not None:
                assert text_file.file is not None
                text_file.file.write(transcript_text.encode("utf-8"))
            # the audio and its transcript appear together or not at all
            commit_together(*files)
    except FileExistsError as exc:
        raise ExportError.naming(
            _("{file} appeared while exporting; pass {force} to replace it"), {"force": "force=True"}, file=exc.filename or path
        ) from None
    except (OSError, sf.LibsndfileError, RuntimeError, MutagenError) as exc:
        detail = os_reason(exc) if isinstance(exc, OSError) else str(exc)
        raise ExportError(_("{path}: writing failed ({detail}); nothing was written").format(path=path, detail=detail)) from None
    return ExportResult(
        path=path,
        duration_s=mixer.total_frames / rate,
        sample_rate=rate,
        format=fmt.name,
        loudness_lufs=loudness.integrated_lufs,
        speech_lufs=loudness.speech_lufs,
        true_peak_dbtp=loudness.true_peak_dbtp,
        ceiling_dbtp=true_peak_dbtp,
        peak_margin_db=fmt.margin_db(bitrate_kbps) if fmt.lossy else 0.0,
        limiter_db=limiter_db,
        bitrate_kbps=bitrate_kbps if fmt.container == "MP3" else None,
        transcript=text_file.target if text_file else None,
    )


def _check_name_lengths(path: Path) -> None:
    """Raise OSError(ENAMETOOLONG) when a part of ``path`` that does not
    exist yet is longer than its file system allows (asked of the nearest
    folder that exists), so that no folder is made for a file that cannot be."""
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.absolute().relative_to(existing).parts:
        if len(os.fsencode(part)) > limit:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))


def check_request(
    fmt: OutputFormat,
    *,
    bitrate_kbps: int | None = None,
    loudness_lufs: float = DEFAULT_TARGET_LUFS,
    album: str | None = None,
    transcript: str | None = None,
) -> None:
    """The export's settings checked against the format and the rules
    before any work (:func:`export_session` runs it; the MP3 bitrate is
    checked against the rate once that is known). Raises UsageError."""
    if transcript is not None and transcript not in TRANSCRIPTS:
        raise UsageError(
            _("unknown transcript format '{transcript}'; use one of: {items}").format(
                transcript=transcript, items=", ".join(TRANSCRIPTS)
            )
        )
    if bitrate_kbps is not None and fmt.container != "MP3":
        raise UsageError.naming(
            _("{bitrate} applies to MP3; {name} is written at its encoder's default quality"),
            {"bitrate": "bitrate_kbps"},
            name=fmt.name,
        )
    if album is not None and (problem := text_problem(album, _("the album"))):
        raise UsageError(problem)
    if loudness_lufs not in LOUDNESS_LUFS:
        raise UsageError(
            LOUDNESS_LUFS.problem("loudness", loudness_lufs)
            + " LUFS; spoken word is usually -19 (mono on phones) to -23 (broadcast)"
        )


def _open_targets(path: Path, transcript: str | None, force: bool) -> tuple[AtomicFile, AtomicFile | None]:
    """The audio file and the transcript's, opened before any work: a
    read-only or forbidden folder fails at once. Raises ExportError."""
    audio_file = AtomicFile(path, replace=force)
    text_file = AtomicFile(transcript_path(path, transcript), replace=force) if transcript else None
    files = [audio_file] + ([text_file] if text_file else [])
    try:
        for file in files:
            file.open()
    except OSError as exc:
        for file in files:
            file.discard()
        reason = os_reason(exc).lower()
        if exc.errno == errno.ENOENT and audio_file.folder.is_dir():  # /proc, /sys: the folder is there, a file can never be
            reason = _("this folder takes no files: it belongs to the system, as /proc and /sys do")
        raise ExportError(
            _("{path}: cannot write in {folder} ({reason})").format(path=path, folder=audio_file.folder, reason=reason)
        ) from None
    return audio_file, text_file


class _WrittenBehind:
    """A loudness-profile store whose new entries are written by a thread of
    their own once the plan is made (:meth:`write`), beside the encoding: a
    cold export of session.vg wrote 25 of them, ~2 ms each, 51 ms before its
    first block. A profile that cannot be written only costs time later."""

    def __init__(self, store: BlobCache):
        self._store = store
        self._puts: list[tuple[str, bytes]] = []
        self._writes = WritesBehind()

    def get(self, key: str) -> bytes | None:
        return self._store.get(key)

    def put(self, key: str, data: bytes) -> None:
        self._puts.append((key, data))

    def write(self) -> None:
        puts, self._puts = self._puts, []
        for key, data in puts:
            self._writes.submit(functools.partial(self._store.put, key, data))

    def wait(self) -> None:
        self._writes.wait()


def _plan_levels(
    mixer: Mixer,
    fmt: OutputFormat,
    subtype: str,
    bitrate_kbps: int | None,
    loudness_lufs: float,
    true_peak_dbtp: float,
    profiles: _WrittenBehind | BlobCache,
) -> tuple[LevelPlan, float, LoudnessProfile]:
    """The gain plan (see :mod:`voiceguide.sinks.normalise`), the codec's
    level change in dB and the whole session's loudness profile."""
    voice, whole = mix_profiles(mixer, profiles)
    codec_db = _codec_level_change(fmt, bitrate_kbps, mixer, subtype, voice)
    plan = plan_levels(voice, loudness_lufs, true_peak_dbtp, codec_change_db=codec_db, peak_margin_db=fmt.margin_db(bitrate_kbps))
    if plan.capped:
        log.warning(
            N_("%s: the voice would need more than %g dB of peak limiting to reach %g LUFS; it is exported at %.1f LUFS"),
            mixer.timeline.title,
            LIMITING_BUDGET_DB,
            loudness_lufs,
            plan.speech_lufs,
        )
    return plan, codec_db, whole


def check_targets(path: Path, transcript: str | None = None, force: bool = False) -> None:
    """Every file the export would write can be written, before any work
    starts: a transcript that could not be written must not cost the old audio.

    Makes the folder it writes into. Raises ExportError: a folder that
    cannot be made, a folder or a device or pipe where a file goes, a name
    the file system cannot hold; UsageError: a file that exists (without
    ``force``)."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        for target in [path] + ([transcript_path(path, transcript)] if transcript else []):
            if target.is_dir():
                example = target / "session.mp3" if target == path else target.with_name("session.vtt")
                raise ExportError(
                    _("{path} is a folder; give a file name such as {example}").format(path=target, example=example)
                )
            if target.exists() and not target.is_file():
                raise ExportError(
                    _("{target} is not a regular file (a device or a pipe); give another file name").format(target=target)
                )
            if target.exists() and not force:
                raise UsageError.naming(
                    _("{target} already exists; pass {force} to replace it"), {"force": "force=True"}, target=target
                )
        if not folder.is_dir():
            _check_name_lengths(path)  # a name too long is refused before any folder is made for it
            try:
                folder.mkdir(parents=True, exist_ok=True)  # -o out/session.mp3 makes out/
            except OSError as exc:
                raise ExportError(
                    _("{path}: cannot create the folder {folder} ({reason})").format(
                        path=path, folder=folder, reason=os_reason(exc).lower()
                    )
                ) from None
    except OSError as exc:
        problem = f"{exc.filename or path}: {os_reason(exc).lower()}"
        raise (UsageError if exc.errno == errno.ENAMETOOLONG else ExportError)(problem) from None


def _write_audio(
    out: AtomicFile, audio: Blocks, fmt: OutputFormat, subtype: str, bitrate_kbps: int | None, plan: LevelPlan, progress: Progress
) -> tuple[float, float]:
    """The one pass that makes the file: mix, gain, limit, encode.

    Returns the true peak of what went into the encoder (dBTP) and the
    limiter's deepest reduction (dB). Loudness is not measured here: it is
    planned from the sounds' profiles (:mod:`voiceguide.sinks.normalise`), and
    the tests hold that plan to the decoded files. MP3 is encoded in a second
    thread (lameenc releases the GIL), overlapping the mixing."""
    rate = audio.sample_rate
    limiter = make_limiter(rate, plan.ceiling_dbtp)
    gain = np.float32(db_to_gain(plan.gain_db))
    written = [0]

    def gained(block: np.ndarray) -> np.ndarray:
        progress("writing", written[0], audio.frames)
        written[0] += len(block)
        return block * gain

    blocks = limiter.stream(audio.map(gained))
    try:
        if fmt.container == "MP3":
            assert out.file is not None
            with Mp3Writer(out.file, rate, bitrate_kbps or DEFAULT_MP3_KBPS, quality=MP3_QUALITY) as encoder:
                # the 16-bit samples are made and the frames written here, while the encoder's thread encodes
                _encode_in_thread(map(encoder.pcm16, blocks), encoder.encode_pcm16, encoder.append)
        else:
            options = {} if fmt.compression_level is None else {"compression_level": fmt.compression_level}
            with sf.SoundFile(
                out.path, "w", samplerate=rate, channels=1, format=fmt.container, subtype=subtype, **options
            ) as sink:
                for block in blocks:
                    # 16-bit made here: half the time of libsndfile's own conversion, on the cache's grid
                    sink.write(to_pcm16(block) if subtype == "PCM_16" else block)
    except (sf.LibsndfileError, RuntimeError, AssertionError) as exc:  # soundfile asserts on short writes
        raise OSError(_write_failure(exc, out.folder)) from None
    progress("writing", audio.frames, audio.frames)
    return limiter.max_output_db, limiter.max_reduction_db


def _encode_in_thread(blocks, encode, append) -> None:
    """``encode`` every block in a second thread while this one mixes and
    measures, and ``append`` what it gives back here, in order: the
    encoder's thread, which the export waits for, does nothing but encode."""
    pending: queue.Queue = queue.Queue(maxsize=8)
    encoded: queue.SimpleQueue = queue.SimpleQueue()
    failure: list[BaseException] = []

    def work() -> None:
        while (block := pending.get()) is not None:
            if not failure:
                try:
                    encoded.put(encode(block))
                except BaseException as exc:  # reported in the main thread
                    failure.append(exc)

    def drain() -> None:
        while True:
            try:
                data = encoded.get_nowait()
            except queue.Empty:
                return
            append(data)

    worker = threading.Thread(target=work, name="voiceguide-encoder", daemon=True)
    worker.start()
    try:
        for block in blocks:
            if failure:
                break
            pending.put(block)
            drain()
    finally:
        pending.put(None)
        worker.join()
    if failure:
        raise failure[0]
    drain()


def _write_failure(exc: BaseException, folder: Path) -> str:
    """Why libsndfile could not write: its messages say only "System
    error", so look at the one cause people can fix, a full disk."""
    try:
        space = os.statvfs(folder)
        if space.f_bavail * space.f_frsize < 1 << 20:
            return os.strerror(errno.ENOSPC)
    except OSError:
        pass
    return str(exc).strip() or "the encoder stopped"


def _codec_level_change(fmt: OutputFormat, bitrate_kbps: int | None, mixer: Mixer, subtype: str, voice: LoudnessProfile) -> float:
    """How much louder (+) or quieter (-) the codec makes the session, in dB.

    LAME scales its input by a fixed gain (0.95 up to 160 kbps: -0.45 dB,
    measured -0.444 +- 0.004 dB decoded over 120 files), so MP3's is known.
    For Vorbis and Opus the loudest ``CALIBRATION_S`` of the voice are
    encoded in memory, decoded and measured.
    """
    if not fmt.lossy:
        return 0.0
    if fmt.container == "MP3":
        return float(20.0 * np.log10(lame_input_gain(bitrate_kbps or DEFAULT_MP3_KBPS)))
    rate = mixer.sample_rate
    length = min(mixer.total_frames, int(CALIBRATION_S * rate))
    if length < rate:
        return 0.0
    step_frames = voice.frame_frames * voice.frames_per_step
    loudest = int(np.argmax(voice.step_energy())) * step_frames
    start = max(0, min(loudest - length // 2, mixer.total_frames - length))
    excerpt = mixer.render(start, length)
    buffer = io.BytesIO()
    options = {} if fmt.compression_level is None else {"compression_level": fmt.compression_level}
    with sf.SoundFile(buffer, "w", samplerate=rate, channels=1, format=fmt.container, subtype=subtype, **options) as sink:
        sink.write(excerpt)
    buffer.seek(0)
    decoded, _rate = sf.read(buffer, dtype="float32", always_2d=False)
    before = LoudnessMeter(rate, true_peak=False).add_all([excerpt]).integrated_lufs
    after = LoudnessMeter(rate, true_peak=False).add_all([decoded]).integrated_lufs
    if math.isinf(before) or math.isinf(after):
        return 0.0
    log.info("%s changes the loudness by %+.2f LU", fmt.name, after - before)
    return after - before
