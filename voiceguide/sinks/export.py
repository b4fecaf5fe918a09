"""Stage 5 (file sink): a session as a phone-ready file.

:func:`export_session` streams the session twice, so memory stays the same
however long it is:

1. **measure**: every block of ``mixer.blocks()`` goes through a
   :class:`~voiceguide.loudness.LoudnessMeter` (BS.1770-4 K-weighting and
   gating), which also keeps a small profile of the session (energy and
   peak per 10 ms). From it comes the one gain that brings the session to
   the target loudness (-16 LUFS), allowing for what the limiter will take
   off. Voice, cues and bells all get that gain, so the cues stay where the
   mixer put them relative to the voice. For a lossy format the loudest
   10 s are encoded in memory first, to learn how much the codec changes
   the level (LAME at 96 kbps: -0.45 dB).
2. **write**: the mixer renders the same samples again (it is
   deterministic); they are gained, passed through a look-ahead true-peak
   limiter (:mod:`voiceguide.dynamics`) that keeps every 4x oversampled
   peak under the ceiling without clipping, metered again, and encoded.
3. **verify**: a lossy file is decoded again and measured, since a codec
   moves peaks; if the true peak went over the ceiling or the loudness is
   more than 0.2 LU off, it is written once more with a lower limiter
   ceiling or a corrected gain (rarely needed).

Tags and chapters (:mod:`voiceguide.tags`) go into the file before it
becomes visible; the file and an optional transcript
(:mod:`voiceguide.transcript`) are written through
:class:`~voiceguide.atomic.AtomicFile`, so an error, Ctrl-C or even
``kill -9`` leaves any old file untouched and no temporary file behind.
No dither, no timestamps: the same script and settings give the same bytes.
"""

from __future__ import annotations

import errno
import io
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from mutagen import MutagenError

from ..atomic import AtomicFile
from ..audio import db_to_gain, resample
from ..dsp.loudness import DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS, LoudnessMeter, LoudnessProfile, Measurement
from ..errors import ExportError, UsageError
from ..mix import Mixer
from ..rules import DEFAULT_MP3_KBPS, DEFAULT_SAMPLE_RATE, LOUDNESS_LUFS, TRANSCRIPTS
from .tags import session_tags, write_tags
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


FORMATS = {
    ".wav": OutputFormat(".wav", "WAV", "WAV", None, False, "WAV"),
    ".flac": OutputFormat(".flac", "FLAC", "FLAC", None, False, "FLAC"),
    # Lossy codecs add noise, so decoded peaks overshoot the limiter's
    # ceiling: by up to 0.4 dB at these settings on speech (Opus at its
    # default ~55 kbps: 2.2 dB, hence ~96 kbps; Vorbis ~64 kbps). The margin
    # covers that; the export checks the decoded file and retries if not.
    ".mp3": OutputFormat(".mp3", "MP3", "MP3", "MPEG_LAYER_III", True, "MP3", peak_margin_db=0.5),
    ".ogg": OutputFormat(".ogg", "OGG Vorbis", "OGG", "VORBIS", True, "OGG", peak_margin_db=0.5, compression_level=0.4),
    ".opus": OutputFormat(
        ".opus", "Opus", "OGG", "OPUS", True, "OPUS", sample_rate=48_000, peak_margin_db=0.6, compression_level=0.6
    ),
}
BIT_DEPTHS = {16: "PCM_16", 24: "PCM_24"}
LOUDNESS_TOLERANCE_LU = 0.2
"""A written file further than this from the target is written again."""
MAX_ATTEMPTS = 3
BLOCK_FRAMES = 65_536
"""Export block size: large enough that per-block overhead stays small."""
CALIBRATION_S = 10.0
"""Seconds of the session encoded in memory to learn a lossy codec's level change."""
LIMITER_LOOKAHEAD_S = 0.005
"""The limiter's gain is fully down this long before a peak..."""
LIMITER_HOLD_S = 0.005
"""...stays down this long around it (longer than a pitch period of the voice)..."""
LIMITER_RELEASE_DB_PER_S = 60.0
"""...and recovers at this rate: a few dB within a syllable, without pumping."""
MAX_LIMITING_DB = 6.0
"""The limiter may turn the loudest peak down this far, no further. A
session of mostly quiet breath cues has a low integrated loudness, so its
voice would need more; it is then exported quieter than the target, with a
warning, rather than squashed."""

# LAME's constant bitrates. soundfile takes a compression level instead:
# libsndfile maps level c to max - c * (max - min) kbps and rounds down to
# one of these (measured with mutagen for 22.05, 44.1 and 48 kHz).
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
    """Integrated loudness of the file as written (decoded, for lossy formats)."""
    true_peak_dbtp: float = math.nan
    limiter_db: float = 0.0
    """The deepest the limiter turned a peak down (<= 0)."""
    bitrate_kbps: int | None = None
    transcript: Path | None = None


def format_for(path: Path, bit_depth: int | None = None) -> tuple[OutputFormat, str]:
    """The output format and soundfile subtype for ``path``'s extension.

    Raises ExportError for an unknown extension or one this libsndfile
    cannot write, UsageError for a bit depth on a format without one.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path}: unknown output format '{suffix or '(none)'}'; use one of: {', '.join(FORMATS)}")
    fmt = FORMATS[suffix]
    if fmt.subtype is None:
        if bit_depth is not None and bit_depth not in BIT_DEPTHS:
            raise UsageError(f"bit depth {bit_depth} is not supported; use 16 or 24")
        subtype = BIT_DEPTHS[bit_depth or 16]
    else:
        if bit_depth is not None:
            raise UsageError(f"--bit-depth applies to WAV and FLAC; {fmt.name} has no bit depth")
        subtype = fmt.subtype
    if fmt.container not in sf.available_formats() or subtype not in sf.available_subtypes(fmt.container):
        raise ExportError(
            f"{path}: this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt.name}; "
            "install soundfile >= 0.13, whose wheels bundle a complete libsndfile (pip install -U soundfile)"
        )
    return fmt, subtype


def mp3_bitrates(sample_rate: int) -> tuple[int, ...]:
    """The constant bitrates MP3 offers at ``sample_rate`` (kbps)."""
    if sample_rate >= 32_000:
        return _MP3_BITRATES["MPEG-1"]
    if sample_rate >= 16_000:
        return _MP3_BITRATES["MPEG-2"]
    return _MP3_BITRATES["MPEG-2.5"]


def mp3_compression_level(kbps: int, sample_rate: int = DEFAULT_SAMPLE_RATE) -> float:
    """The soundfile compression level that gives ``kbps`` exactly.

    Raises UsageError for a bitrate MP3 does not have at this sample rate.
    """
    rates = mp3_bitrates(sample_rate)
    if kbps not in rates:
        raise UsageError(f"MP3 at {sample_rate} Hz has no {kbps} kbps; use one of: {', '.join(map(str, rates))}")
    index = rates.index(kbps)
    # aim between this bitrate and the next, so rounding down lands on it
    aim = kbps if index == len(rates) - 1 else (kbps + rates[index + 1]) / 2
    return (rates[-1] - aim) / (rates[-1] - rates[0])


def preferred_sample_rate(path: str | Path) -> int:
    """The render rate for ``path``: what its codec needs, else 44.1 kHz."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    return fmt.sample_rate if fmt and fmt.sample_rate else DEFAULT_SAMPLE_RATE


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
    return [target for target in targets if target.exists()]


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
) -> ExportResult:
    """Render ``session`` into ``path``, normalised, tagged and atomically.

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
        Integrated loudness to normalise to (ITU-R BS.1770-4).
    true_peak_dbtp:
        The highest 4x oversampled peak allowed.
    bit_depth:
        WAV and FLAC only: 16 (default) or 24.
    album, track:
        Collection name (default "voiceguide") and optional track number.
    transcript:
        ``vtt``, ``srt`` or ``lrc``: also write the transcript beside the
        audio, e.g. ``session.vtt``.

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
    if transcript is not None and transcript not in TRANSCRIPTS:
        raise UsageError(f"unknown transcript format '{transcript}'; use one of: {', '.join(TRANSCRIPTS)}")
    if bitrate_kbps is not None and fmt.container != "MP3":
        raise UsageError(f"--bitrate applies to MP3; {fmt.name} is written at its encoder's default quality")
    if loudness_lufs not in LOUDNESS_LUFS:
        raise UsageError(
            LOUDNESS_LUFS.problem("loudness", loudness_lufs) + " LUFS; spoken word is usually -16 (phones) to -23 (broadcast)"
        )
    mixer = session_mixer(session, fmt.sample_rate or session.sample_rate)
    rate = mixer.sample_rate
    options: dict = {} if fmt.compression_level is None else {"compression_level": fmt.compression_level}
    if fmt.container == "MP3":
        bitrate_kbps = bitrate_kbps or DEFAULT_MP3_KBPS
        options = {"compression_level": mp3_compression_level(bitrate_kbps, rate), "bitrate_mode": "CONSTANT"}
    _check_targets(path, transcript, force)

    timeline = mixer.timeline
    tags = session_tags(timeline, album=album, track=track)
    transcript_text = render_transcript(timeline, transcript, album=tags.album) if transcript else None

    audio_file = AtomicFile(path, replace=force)
    text_file = AtomicFile(transcript_path(path, transcript), replace=force) if transcript else None
    try:
        audio_file.open()  # before any work: a read-only or forbidden folder fails at once
    except OSError as exc:
        raise ExportError(f"{path}: cannot write in {audio_file.folder} ({(exc.strerror or str(exc)).lower()})") from None
    try:
        with audio_file as out:
            plan = _plan(mixer, fmt, subtype, options, loudness_lufs, true_peak_dbtp)  # 1. measure
            measured, limiter_db = _write_verified(
                out.path, out.folder, mixer, fmt, subtype, options, plan
            )  # 2. write, 3. verify
            assert out.file is not None
            write_tags(out.file, fmt.tag_kind, tags)
            if text_file is not None and transcript_text is not None:
                with text_file as text_out:
                    assert text_out.file is not None
                    text_out.file.write(transcript_text.encode("utf-8"))
                    audio_file.commit()
                    text_file.commit()
            else:
                audio_file.commit()
    except FileExistsError as exc:
        raise ExportError(f"{exc.filename or path} appeared while exporting; pass --force to replace it") from None
    except (OSError, sf.LibsndfileError, RuntimeError, MutagenError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        raise ExportError(f"{path}: writing failed ({detail}); nothing was written") from None
    return ExportResult(
        path=path,
        duration_s=mixer.total_frames / rate,
        sample_rate=rate,
        format=fmt.name,
        loudness_lufs=measured.integrated_lufs,
        true_peak_dbtp=measured.true_peak_dbtp,
        limiter_db=limiter_db,
        bitrate_kbps=bitrate_kbps if fmt.container == "MP3" else None,
        transcript=text_file.target if text_file else None,
    )


@dataclass
class _Plan:
    """How loud to make the session: the gain, the limiter's ceiling, and
    the loudness aimed at before encoding (the target, corrected for what
    the codec does)."""

    profile: LoudnessProfile
    target_lufs: float
    target_dbtp: float
    aim_lufs: float
    ceiling_db: float
    gain_db: float = 0.0
    capped: bool = False
    """Whether the limiting allowance (MAX_LIMITING_DB) keeps it below the target."""

    @property
    def silent(self) -> bool:
        return math.isinf(self.profile.integrated_lufs())

    def update(self) -> None:
        self.gain_db, self.capped = self.profile.gain_for(
            self.aim_lufs, self.ceiling_db, LIMITER_RELEASE_DB_PER_S, MAX_LIMITING_DB
        )


def _plan(mixer: Mixer, fmt: OutputFormat, subtype: str, options: dict, target_lufs: float, target_dbtp: float) -> _Plan:
    """Pass 1: measure the session and work out the gain."""
    meter = LoudnessMeter(mixer.sample_rate, true_peak=False)
    meter.add_all(mixer.blocks(block_frames=BLOCK_FRAMES))
    plan = _Plan(meter.profile(), target_lufs, target_dbtp, target_lufs, target_dbtp - fmt.peak_margin_db)
    plan.update()
    if plan.silent:
        log.warning("the session is silent; it is written without loudness normalisation")
    elif fmt.lossy:
        change_db = _codec_loudness_change(mixer, plan.profile, fmt, subtype, options, plan.gain_db, plan.ceiling_db)
        plan.aim_lufs -= change_db
        plan.ceiling_db -= change_db  # the codec scales the peaks as it scales the loudness
        plan.update()
    log.info(
        "%s measures %.2f LUFS: gain %+.2f dB, limiter ceiling %.2f dBTP",
        mixer.timeline.title,
        plan.profile.integrated_lufs(),
        plan.gain_db,
        plan.ceiling_db,
    )
    return plan


def _write_verified(
    path: str, folder: Path, mixer: Mixer, fmt: OutputFormat, subtype: str, options: dict, plan: _Plan
) -> tuple[Measurement, float]:
    """Passes 2 and 3: write the file and measure it (decoded, if lossy);
    write it again with a corrected plan while it misses the target."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        written, limiter_db = _write_audio(path, folder, mixer, fmt, subtype, options, plan.gain_db, plan.ceiling_db)
        measured = written if written is not None else _decode_and_measure(path, mixer.sample_rate)
        loudness_error = 0.0 if plan.silent else measured.integrated_lufs - plan.target_lufs
        peak_over = measured.true_peak_dbtp - plan.target_dbtp
        log.info(
            "attempt %d: %.2f LUFS, %.2f dBTP, limiter %.1f dB",
            attempt,
            measured.integrated_lufs,
            measured.true_peak_dbtp,
            limiter_db,
        )
        loud_enough = abs(loudness_error) <= LOUDNESS_TOLERANCE_LU or (plan.capped and loudness_error < 0)
        if peak_over <= 0 and loud_enough:
            break
        if attempt == MAX_ATTEMPTS:
            log.warning(
                "%s measures %.2f LUFS and %.2f dBTP after %d attempts (asked for %g LUFS and %g dBTP)",
                mixer.timeline.title,
                measured.integrated_lufs,
                measured.true_peak_dbtp,
                attempt,
                plan.target_lufs,
                plan.target_dbtp,
            )
            break
        if peak_over > 0:
            plan.ceiling_db -= peak_over + 0.1
        if not loud_enough:
            plan.aim_lufs -= loudness_error
        plan.update()
    if plan.capped and loudness_error < -LOUDNESS_TOLERANCE_LU:
        log.warning(
            "%s measures %.1f LUFS: %g LUFS would need more than %g dB of peak limiting "
            "(a session of mostly quiet cues needs a loud voice); choose a lower --loudness to silence this",
            mixer.timeline.title,
            measured.integrated_lufs,
            plan.target_lufs,
            MAX_LIMITING_DB,
        )
    return measured, limiter_db


def _check_targets(path: Path, transcript: str | None, force: bool) -> None:
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name such as {path / 'session.mp3'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: folder {folder} does not exist; create it first")
    if not force:
        for target in existing_targets(path, transcript):
            raise ExportError(f"{target} already exists; pass --force to replace it")


def _gained(mixer: Mixer, gain: float) -> Iterator[np.ndarray]:
    for block in mixer.blocks(block_frames=BLOCK_FRAMES):
        yield block * np.float32(gain)


def _write_audio(
    path: str, folder: Path, mixer: Mixer, fmt: OutputFormat, subtype: str, options: dict, gain_db: float, ceiling_db: float
) -> tuple[Measurement | None, float]:
    """Gain, limit and encode the whole session into the file at ``path``
    (replacing what is there). Returns the measurement of what went into the
    encoder (None for lossy formats, whose decoded file is measured instead)
    and the limiter's deepest reduction."""
    from ..dsp.dynamics import LookaheadGain, limit_gain_db

    rate = mixer.sample_rate
    limiter = LookaheadGain(
        rate,
        limit_gain_db(ceiling_db),
        lookahead_s=LIMITER_LOOKAHEAD_S,
        hold_s=LIMITER_HOLD_S,
        release_db_per_s=LIMITER_RELEASE_DB_PER_S,
        true_peak=True,
        active_above_db=ceiling_db,
    )
    meter = None if fmt.lossy else LoudnessMeter(rate)
    try:
        with sf.SoundFile(path, "w", samplerate=rate, channels=1, format=fmt.container, subtype=subtype, **options) as sink:
            for block in limiter.stream(_gained(mixer, db_to_gain(gain_db))):
                if meter is not None:
                    meter.add(block)
                sink.write(block)
    except (sf.LibsndfileError, RuntimeError, AssertionError) as exc:  # soundfile asserts on short writes
        raise OSError(_write_failure(exc, folder)) from None
    return (meter.result() if meter is not None else None), limiter.max_reduction_db


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


def _codec_loudness_change(
    mixer: Mixer, profile: LoudnessProfile, fmt: OutputFormat, subtype: str, options: dict, gain_db: float, ceiling_db: float
) -> float:
    """How much louder (+) or quieter (-) the codec makes the session, in LU.

    LAME at 96 kbps, for one, decodes about 0.45 dB quieter than its input,
    evenly across the spectrum (its quantiser rounds towards zero). The
    loudest ``CALIBRATION_S`` of the session are encoded in memory, decoded
    and measured, so the first full write already lands on the target.
    """
    from ..dsp.dynamics import LookaheadGain, limit_gain_db

    rate = mixer.sample_rate
    length = min(mixer.total_frames, int(CALIBRATION_S * rate))
    if length < rate:
        return 0.0
    step_frames = profile.frame_frames * profile.frames_per_step
    loudest = int(np.argmax(profile.step_energy())) * step_frames
    start = max(0, min(loudest - length // 2, mixer.total_frames - length))
    limiter = LookaheadGain(
        rate,
        limit_gain_db(ceiling_db),
        lookahead_s=LIMITER_LOOKAHEAD_S,
        hold_s=LIMITER_HOLD_S,
        release_db_per_s=LIMITER_RELEASE_DB_PER_S,
        true_peak=True,
        active_above_db=ceiling_db,
    )
    excerpt = np.concatenate(list(limiter.stream([mixer.render(start, length) * np.float32(db_to_gain(gain_db))])))
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", samplerate=rate, channels=1, format=fmt.container, subtype=subtype, **options) as sink:
        sink.write(excerpt)
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype="float32", always_2d=False)
    before = LoudnessMeter(rate, true_peak=False).add_all([excerpt]).integrated_lufs
    after = LoudnessMeter(rate, true_peak=False).add_all([decoded]).integrated_lufs
    if math.isinf(before) or math.isinf(after):
        return 0.0
    log.info("%s changes the loudness by %+.2f LU", fmt.name, after - before)
    return after - before


def _decode_and_measure(path: str, sample_rate: int) -> Measurement:
    """Measure what a player will decode from the written (lossy) file."""
    meter = LoudnessMeter(sample_rate)
    with sf.SoundFile(path, "r") as decoded:
        for block in decoded.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=False):
            meter.add(block)
    return meter.result()
