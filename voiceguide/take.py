"""One take of a whole script, split into its phrases for a voice pack.

The trainer reads every phrase of the script in order (the order
``voiceguide record SCRIPT --sheet`` prints), pausing a second or more
between phrases, in one recording made anywhere (a phone will do).
:func:`split_take` finds the phrases:

1. **voice activity**: the take is high-passed like a recording, and each
   10 ms frame is voiced when it is ``VOICE_ABOVE_NOISE_DB`` over the noise
   floor (the quietest 10 % of frames), or a third of the way from the
   floor to the loud level if that is more (a phone's automatic gain lifts
   the noise in pauses);
2. **parts**: voiced frames closer than ``PHRASE_PAUSE_S`` belong to one
   part; a part with less than ``SHORTEST_PART_S`` of voice (a click, a breath)
   is dropped;
3. **alignment** of parts to phrases, in order, by dynamic programming:
   one phrase per part costs the squared log ratio of the part's length to
   the phrase's expected length (its syllables at the take's own pace);
   a phrase spread over several parts, or several phrases in one part,
   costs ``MISMATCH_PENALTY`` per extra piece. The cheapest alignment is
   one to one when the pauses fit; where it is not, its first step that is
   not one to one says where the take went wrong (a missing pause after a
   phrase, or a pause inside one), and the take is refused with that place.

Nothing is written unless every phrase is found and every recording
passes :func:`~voiceguide.dsp.recording.process_recording`.

Takes are read with soundfile (WAV, FLAC, MP3, OGG) and, for M4A/AAC, with
PyAV (FFmpeg's decoders in a wheel; an optional dependency:
``pip install 'voiceguide[m4a]'``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import rules
from .audio import Audio
from .clock import format_clock, format_clock_tenths
from .dsp.recording import (
    FRAME_S,
    HIGH_PASS_HZ,
    HIGH_PASS_ORDER,
    SPEECH_OVER_NOISE_DB,
    VOICE_ABOVE_NOISE_DB,
    RecordingError,
    frame_levels_db,
    process_recording,
    voice_threshold_db,
)
from .errors import ScriptError, os_reason
from .i18n import _, ngettext
from .inputs import regular_file_problem
from .mix.mixer import MixSettings
from .speech.pack import VoicePack, short

PHRASE_PAUSE_S = 1.0
"""A silence this long (or longer) ends a phrase; shorter ones are inside it."""
SHORTEST_PART_S = 0.15
"""Aligner tuning: a part with less voice than this (a click, a breath) is no phrase."""
MISMATCH_PENALTY = 0.6
"""Cost of each extra piece when the parts and phrases do not pair one to one
(a one-to-one pair costs (ln ratio)^2: a part 2.2x too long costs 0.6)."""
GROUP_SPAN = 6
"""Aligner tuning: a part may hold up to this many phrases, or a phrase this many parts."""
"""The alignment considers up to this many phrases in one part, or parts in one phrase."""
WILD_RATIO = 3.0
"""A part this many times longer or shorter than its phrase is a wrong reading."""
LEAD_S = 0.5
"""Take audio kept before a phrase's voice (less when the pause is shorter),
for its own trimming to work from."""
TRAIL_S = 0.8
AV_EXTENSIONS = (".m4a", ".aac", ".mp4")
"""Read with PyAV; everything else with soundfile."""
_BLOCK_FRAMES = 1 << 16
_VOWELS = re.compile(r"[aeiouyàáâäèéêëìíîïòóôöùúûü]+", re.IGNORECASE)


class TakeError(ScriptError):
    """A take that cannot be read or split into the script's phrases (exit 2)."""


@dataclass(frozen=True)
class TakePhrase:
    """Where one phrase of the script is in the take."""

    number: int
    """1-based, in the order of the script's phrases."""
    text: str
    start_s: float
    """Where its voice starts in the take."""
    end_s: float

    def describe(self) -> str:
        """``  7  0:42.3-0:45.9  Voel je voeten op de grond.``"""
        span = f"{format_clock_tenths(self.start_s, always=True)}-{format_clock_tenths(self.end_s, always=True)}"
        return f"{self.number:3d}  {span:>15}  {self.text}"


# --- reading ----------------------------------------------------------------------------


def read_take(path: str | Path, max_s: float = rules.MAX_TAKE_S) -> Audio:
    """The take as mono float32 at its own sample rate.

    Raises TakeError for a missing or unreadable file and for one longer
    than ``max_s`` (checked before decoding, and again while decoding in
    case the header says less than the file holds).
    """
    path = Path(path)
    if path.is_dir():
        raise TakeError(_("is a folder; give the take's audio file"), path)
    if problem := regular_file_problem(path):  # a pipe would block, /dev/zero never end
        raise TakeError(problem, path)
    reader = _read_av if path.suffix.lower() in AV_EXTENSIONS else _read_soundfile
    blocks: list[np.ndarray] = []
    frames = 0
    rate = 0
    for block, rate in reader(path, max_s):
        frames += len(block)
        if frames > max_s * rate:
            raise _too_long(path, max_s, None)
        blocks.append(block)
    if frames == 0:
        raise TakeError(_("holds no audio"), path)
    return Audio(np.concatenate(blocks).astype(np.float32, copy=False), rate)


def _too_long(path: Path, max_s: float, duration_s: float | None) -> TakeError:
    lasts = _("lasts {length}").format(length=format_clock(duration_s)) if duration_s else _("is longer than that")
    return TakeError(
        _("the take {lasts}; a take may last {longest} at most: read the script once, pausing a second between phrases").format(
            lasts=lasts, longest=format_clock(max_s)
        ),
        path,
    )


def _read_soundfile(path: Path, max_s: float) -> Iterator[tuple[np.ndarray, int]]:
    try:
        with sf.SoundFile(str(path)) as file:
            rate = file.samplerate
            if file.frames > 0 and file.frames / rate > max_s:
                raise _too_long(path, max_s, file.frames / rate)
            while True:
                block = file.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block.mean(axis=1), rate
    except (sf.LibsndfileError, RuntimeError) as exc:
        detail = str(exc).replace(f"Error opening {str(path)!r}: ", "")
        raise TakeError(
            _("cannot be read as audio ({detail}); use WAV, FLAC, MP3, OGG or M4A").format(detail=detail), path
        ) from None
    except OSError as exc:
        raise TakeError(_("cannot be read ({reason})").format(reason=os_reason(exc)), path) from None


def _read_av(path: Path, max_s: float) -> Iterator[tuple[np.ndarray, int]]:
    try:
        import av
    except ImportError:
        raise TakeError(
            _("reading M4A/AAC takes needs PyAV: pip install 'voiceguide[m4a]' (or convert the take to WAV, FLAC or MP3)"), path
        ) from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise TakeError(_("has no audio stream"), path)
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            if container.duration and container.duration / 1e6 > max_s:
                raise _too_long(path, max_s, container.duration / 1e6)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1), rate
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1), rate
    except av.FFmpegError as exc:
        raise TakeError(
            _("cannot be read as audio ({reason}); use WAV, FLAC, MP3, OGG or M4A").format(reason=exc.strerror or exc), path
        ) from None


# --- splitting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def find_parts(audio: Audio, source: str | Path = "<take>") -> list[tuple[float, float]]:
    """(start, end) in seconds of every stretch of voice between pauses of
    ``PHRASE_PAUSE_S`` or more (see the module notes, steps 1 and 2)."""
    levels = _voice_levels_db(audio)
    if len(levels) == 0:
        raise TakeError(_("holds no audio"), source)
    noise, loud, _threshold = voice_threshold_db(levels)
    if loud - noise < SPEECH_OVER_NOISE_DB:
        raise TakeError(_("no voice heard in the take: it is silent or only noise"), source)
    threshold = noise + max(VOICE_ABOVE_NOISE_DB, (loud - noise) / 3.0)
    voiced = np.flatnonzero(levels > threshold)
    pause = int(round(PHRASE_PAUSE_S / FRAME_S))
    parts: list[tuple[float, float]] = []
    groups = np.split(voiced, np.flatnonzero(np.diff(voiced) > pause) + 1)
    for group in groups:
        if len(group) * FRAME_S >= SHORTEST_PART_S:
            parts.append((float(group[0] * FRAME_S), float((group[-1] + 1) * FRAME_S)))
    if not parts:
        raise TakeError(_("no voice heard in the take: it is silent or only noise"), source)
    return parts


def _voice_levels_db(audio: Audio, block_s: float = 10.0) -> np.ndarray:
    """Levels of 10 ms frames of the take, high-passed like a recording
    (causal here, block by block: only levels are needed, and a long take
    must not be copied whole in float64)."""
    from scipy.signal import butter, sosfilt

    rate = audio.sample_rate
    frame = int(round(FRAME_S * rate))
    block = max(frame, int(block_s * rate) // frame * frame)
    sos = butter(2 * HIGH_PASS_ORDER, HIGH_PASS_HZ, "highpass", fs=rate, output="sos")
    state = np.zeros((sos.shape[0], 2))
    mean = float(np.mean(audio.samples, dtype=np.float64))
    levels = []
    for start in range(0, len(audio.samples), block):
        filtered, state = sosfilt(sos, audio.samples[start : start + block] - mean, zi=state)
        levels.append(frame_levels_db(filtered, rate, FRAME_S))
    return np.concatenate(levels) if levels else np.zeros(0)


def expected_length(text: str) -> float:
    """A phrase's length in relative units: its syllables (vowel groups),
    one for starting to speak, and a little for each comma or stop inside it."""
    syllables = sum(max(1, len(_VOWELS.findall(word))) for word in re.findall(r"\w+", text))
    inner = len(re.findall(r"[,;:]", text)) + 1.5 * len(re.findall(r"[.!?]\s+\S", text))
    return 1.0 + syllables + inner


def split_take(audio: Audio, texts: Sequence[str], source: str | Path = "<take>") -> list[TakePhrase]:
    """Where each of ``texts`` (the script's phrases, in order) is in the take.

    Raises TakeError naming the first phrase where the pauses do not fit
    (see the module notes) and what to do about it.
    """
    texts = list(texts)
    if not texts:
        raise TakeError(_("the script has nothing to say"), source)
    parts = [_Part(*span) for span in find_parts(audio, source)]
    expected = [expected_length(text) for text in texts]
    pace = sum(p.length_s for p in parts) / sum(expected)  # seconds per unit, this reader's
    steps = _align(parts, expected, pace)
    if steps is None:
        raise _unaligned(parts, texts, expected, pace, source)
    found: list[TakePhrase] = []
    i = j = 0
    for a, b in steps:
        if a > 1:
            raise TakeError(
                _(
                    "phrase {number} '{short}' found no pause after {at}; read it again with a longer pause (a second or more) before phrase {next_number} '{next_phrase}'"
                ).format(
                    number=i + 1,
                    short=short(texts[i]),
                    at=format_clock_tenths(parts[j].start_s, always=True),
                    next_number=i + 2,
                    next_phrase=short(texts[i + 1]),
                ),
                source,
            )
        if b > 1:
            raise TakeError(
                _(
                    "phrase {number} '{short}' has a pause in it at {at} (or the take holds something the script does not say there); read it again, pausing only between phrases"
                ).format(number=i + 1, short=short(texts[i]), at=format_clock_tenths(parts[j].end_s, always=True)),
                source,
            )
        part = parts[j]
        ratio = part.length_s / (pace * expected[i])
        if not 1 / WILD_RATIO <= ratio <= WILD_RATIO:
            raise TakeError(
                _(
                    "phrase {number} '{short}' would be {length_s:.1f} s at {at} where about {pace:.1f} s fits it; is the take a reading of this script, in its order (see --sheet)?"
                ).format(
                    number=i + 1,
                    short=short(texts[i]),
                    length_s=part.length_s,
                    at=format_clock_tenths(part.start_s, always=True),
                    pace=pace * expected[i],
                ),
                source,
            )
        found.append(TakePhrase(i + 1, texts[i], part.start_s, part.end_s))
        i, j = i + a, j + b
    return found


def _align(parts: list[_Part], expected: list[float], pace: float) -> list[tuple[int, int]] | None:
    """The cheapest path of steps (phrases, parts) through both lists: each
    step is (1, 1), (a, 1) or (1, b) with a, b up to GROUP_SPAN; None when no
    path fits (the counts differ by too much)."""
    n, m = len(expected), len(parts)
    lengths = np.array([p.length_s for p in parts])
    cum_e = np.concatenate([[0.0], np.cumsum(expected)])
    cum_d = np.concatenate([[0.0], np.cumsum(lengths)])
    band = abs(n - m) + 2 * GROUP_SPAN
    inf = math.inf
    cost = np.full((n + 1, m + 1), inf)
    back: dict[tuple[int, int], tuple[int, int]] = {}
    cost[0, 0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if (i, j) == (0, 0) or abs(i * m - j * n) > band * m:
                continue
            best, step = inf, None
            for a, b in _steps():
                if a > i or b > j or cost[i - a, j - b] == inf:
                    continue
                said = cum_d[j] - cum_d[j - b]
                wanted = pace * (cum_e[i] - cum_e[i - a])
                c = cost[i - a, j - b] + math.log(said / wanted) ** 2 + MISMATCH_PENALTY * (a + b - 2)
                if c < best:
                    best, step = c, (a, b)
            if step is not None:
                cost[i, j] = best
                back[i, j] = step
    if cost[n, m] == inf:
        return None
    path: list[tuple[int, int]] = []
    i, j = n, m
    while (i, j) != (0, 0):
        a, b = back[i, j]
        path.append((a, b))
        i, j = i - a, j - b
    return path[::-1]


def _steps() -> Iterator[tuple[int, int]]:
    yield 1, 1
    for k in range(2, GROUP_SPAN + 1):
        yield k, 1
        yield 1, k


def _unaligned(parts: list[_Part], texts: list[str], expected: list[float], pace: float, source: str | Path) -> TakeError:
    """The error for a take whose parts and phrases differ too much in number to align."""
    if len(parts) > len(texts):
        return TakeError(
            _(
                "the take has {count} parts between pauses and the script only {count2} phrases; is it a reading of this script (see --sheet)? Pause only between phrases"
            ).format(count=len(parts), count2=len(texts)),
            source,
        )
    i = 0
    for part in parts:  # the first part far too long for the phrase it should be
        if part.length_s > 2 * pace * expected[i] or i == len(texts) - 1:
            break
        i += 1
    return TakeError(
        ngettext(
            "phrase {number} '{short}' found no pause after {at} (the take has {count} part between pauses for {count2} phrases); read it again with a pause of a second or more after every phrase",
            "phrase {number} '{short}' found no pause after {at} (the take has {count} parts between pauses for {count2} phrases); read it again with a pause of a second or more after every phrase",
            len(parts),
        ).format(
            number=i + 1,
            short=short(texts[i]),
            at=format_clock_tenths(part.start_s, always=True),
            count=len(parts),
            count2=len(texts),
        ),
        source,
    )


# --- into the pack ------------------------------------------------------------------------


def cut_phrases(audio: Audio, phrases: Sequence[TakePhrase]) -> list[Audio]:
    """Each phrase's audio with up to ``LEAD_S`` before and ``TRAIL_S`` after
    its voice, never past the middle of the pause to its neighbours."""
    rate = audio.sample_rate
    out = []
    for k, phrase in enumerate(phrases):
        before = phrases[k - 1].end_s if k else 0.0
        after = phrases[k + 1].start_s if k + 1 < len(phrases) else audio.duration_s
        start = max(phrase.start_s - LEAD_S, (before + phrase.start_s) / 2)
        end = min(phrase.end_s + TRAIL_S, (phrase.end_s + after) / 2)
        out.append(Audio(audio.samples[int(start * rate) : int(math.ceil(end * rate))], rate))
    return out


def prepare_take(
    audio: Audio, texts: Sequence[str], source: str | Path = "<take>", mix: MixSettings = MixSettings()
) -> list[tuple[TakePhrase, Audio]]:
    """Split the take and process every phrase: (where it is, its processed
    recording) for each of ``texts``. Nothing is written.

    Raises TakeError when the take does not split into the phrases, or a
    phrase's recording cannot be used (clipped...), naming the phrase.
    """
    phrases = split_take(audio, texts, source)
    prepared = []
    for phrase, piece in zip(phrases, cut_phrases(audio, phrases)):
        try:
            prepared.append((phrase, process_recording(piece, mix.voice_rms_dbfs, mix.peak_dbfs)))
        except RecordingError as exc:
            span = f"{format_clock_tenths(phrase.start_s, always=True)}-{format_clock_tenths(phrase.end_s, always=True)}"
            raise TakeError(
                _("phrase {number} '{short}' ({span}): {exc}").format(
                    number=phrase.number, short=short(phrase.text), span=span, exc=exc
                ),
                source,
            ) from None
    return prepared


def store_take(pack: VoicePack, prepared: Sequence[tuple[TakePhrase, Audio]]) -> int:
    """Store prepared phrases in ``pack``, each atomically, replacing older
    recordings; how many replaced one."""
    replaced = 0
    for phrase, recording in prepared:
        replaced += pack.has(phrase.text)
        pack.add(phrase.text, recording)
    return replaced
