"""What voiceguide accepts, in one place.

Every limit and every set of choices is written here once; the command
line options, the script parser, the manifest checker and the export all
check against these, so a value that one of them accepts the others accept
too, and the messages read the same everywhere.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from enum import Enum

from .i18n import N_, _


@dataclass(frozen=True)
class Range:
    """A closed range of numbers, with the unit people read it in."""

    low: float
    high: float
    unit: str = ""
    whole: bool = False
    """Only whole numbers."""
    above_low: bool = False
    """``low`` itself is not allowed (only numbers above it)."""

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.whole and (isinstance(value, float) and not value.is_integer()):
            return False
        above = value > self.low if self.above_low else value >= self.low
        return above and value <= self.high  # NaN is never inside

    def describe(self) -> str:
        """``a whole number from 60 to 400`` (in the interface language)."""
        if self.above_low:
            return _("a number above {low:g} and at most {high:g}").format(low=self.low, high=self.high)
        if self.whole:
            return _("a whole number from {low:g} to {high:g}").format(low=self.low, high=self.high)
        return _("a number from {low:g} to {high:g}").format(low=self.low, high=self.high)

    def problem(self, what: str, value: object) -> str:
        """The one-line message for ``value`` outside the range (``what``
        is a setting's or option's name, shown as written)."""
        shown = repr(value) if isinstance(value, str) else f"{value}"
        return _("{what} must be {allowed}, not {value}").format(what=what, allowed=self.describe(), value=shown)


RATE_WPM = Range(60, 400, "words per minute", whole=True)
"""Speaking rate, as heard (the engines are calibrated to it)."""
PITCH = Range(0, 99, whole=True)
"""espeak's pitch scale; 50 is the voice's own."""
VOLUME = Range(0.0, 1.0, above_low=True)
MINUTES = Range(0.5, 180, "minutes")
"""A session length asked for with --minutes, a manifest or --next --cap."""
MIN_SESSION_S = MINUTES.low * 60
LOUDNESS_LUFS = Range(-30, -10, "LUFS")
"""The voice's loudness in an export: -19 for mono on phones (-16 for stereo;
Apple, AES TD1004), -23 for broadcast; outside this range speech is either too quiet to hear on
a phone or needs more limiting than sounds natural."""
AMBIENCE_BELOW_VOICE_DB = Range(6, 60, "dB")
TRACK_NUMBER = Range(1, 999, whole=True)
JOBS = Range(1, 64, whole=True)
TENSION = Range(0, 10, whole=True)
MP3_KBPS = Range(32, 320, "kbps", whole=True)
"""An MP3 constant bitrate (the encoder has its own steps within this range)."""
MAX_BUNDLE_TRACKS = 200
"""A manifest expands to at most this many tracks."""
MAX_MANIFEST_BYTES = 1_000_000
"""A bundle manifest larger than this is not read."""
MAX_PACK_MANIFEST_BYTES = 64_000
"""A voice pack's voicepack.json larger than this is not read."""
MAX_MANIFEST_KEY_PARTS = 32
"""A manifest's dotted key has fewer parts than this (tomllib's time grows
with the square of a key's parts: a 1 MB key ``a.a.a...`` would take hours)."""
COVER_SIDE_PX = Range(1400, 3000, "pixels", whole=True)
"""A manifest's cover image is a square this many pixels a side (what podcast apps accept)."""
MAX_COVER_BYTES = 8_000_000
"""A cover image larger than this is not read."""
MAX_TAKE_S = 30 * 60.0
"""A take of a whole script (``record --from-take``) lasts at most this long:
a script's speech is minutes, and the take is held in memory (about 350 MB
for 30 minutes at 48 kHz)."""
MAX_SOUND_CHANNELS = 8
MIN_SOUND_RATE_HZ = 8_000
MAX_SOUND_RATE_HZ = 192_000
MAX_SOUND_SAMPLES = 600 * 48_000 * 2
"""What a sound file someone else made (a clip, a voice pack's recording)
may declare, and decode to (channels x frames): 10 minutes of stereo at
48 kHz, so that reading it costs at most a second or two and its size in
memory is known before it is read. A 400-byte FLAC declaring 8 channels at
384 kHz for 10 minutes asked for 7 GB."""
MAX_RECORDING_BYTES = 4 * MAX_SOUND_SAMPLES + 1_000_000
"""A voice pack's recording file larger than this (more than 32-bit samples
of the most sound a recording may hold) is refused before it is read or hashed."""


def sound_problem(channels: int, rate: int, frames: int) -> str | None:
    """Why a sound file declaring this much may not be read (to follow its
    name: ``has 9 channels; ...``), else None. ``frames`` is 0 when unknown."""
    if not 1 <= channels <= MAX_SOUND_CHANNELS:
        return _("has {channels} channels; at most {limit} are read").format(channels=channels, limit=MAX_SOUND_CHANNELS)
    if not MIN_SOUND_RATE_HZ <= rate <= MAX_SOUND_RATE_HZ:
        return _("has a sample rate of {rate} Hz; {low} to {high} Hz are read").format(
            rate=rate, low=MIN_SOUND_RATE_HZ, high=MAX_SOUND_RATE_HZ
        )
    if frames * channels > MAX_SOUND_SAMPLES:
        return _(
            "holds {channels} channels x {rate} Hz x {seconds:.0f} s; at most {limit:,} samples (10 minutes of stereo at 48 kHz) are read"
        ).format(channels=channels, rate=rate, seconds=frames / rate, limit=MAX_SOUND_SAMPLES)
    return None


MAX_REPORTED_ERRORS = 100
"""At most this many errors of one file are listed (then how many more there are)."""

LANGUAGES = ("nl", "en")
"""Languages of the built-in exercises and of scripts."""
AMBIENCES = ("none", "pink", "brown")
HOLD_TONES = ("soft", "silent")
FORMATS = ("mp3", "wav", "flac", "ogg", "opus")
"""Audio formats an export can write, by file extension."""
TRANSCRIPTS = ("vtt", "srt", "lrc")
BIT_DEPTHS = (16, 24)
SAMPLE_RATES = (44_100, 48_000, 32_000, 22_050)
DEFAULT_SAMPLE_RATE = 44_100
MP3_SAMPLE_RATE = 32_000
"""An MP3's rate unless one is asked for. espeak-ng and Piper voices are
22.05 kHz, so a session holds nothing above 11 kHz (-84 dB on the bench
session); at 96 kbps a 32 kHz MP3 decodes with a better SNR than a 44.1 kHz
one (38.6 against 38.2 dB) and costs 30 % less to mix, limit and encode
(docs/benchmarks.md). Recorded voices and clips keep what lies below
15.5 kHz, as LAME's own presets do at this bitrate."""
DEFAULT_LOUDNESS_LUFS = -19.0
"""The voice's loudness in a mono export (every export is mono): the podcast
convention is -19 LUFS for mono, -16 for stereo. A mono file plays on both
earbuds, where it measures 3 LU louder than BS.1770 measures it as one
channel; so -19 mono is heard as -16 stereo."""
STEREO_LOUDNESS_LUFS = -16.0
"""The same convention for a stereo export (a stereo source, e.g. ambience)."""


def default_loudness_lufs(channels: int = 1) -> float:
    """The voice's loudness an export of ``channels`` channels aims at by default."""
    return STEREO_LOUDNESS_LUFS if channels >= 2 else DEFAULT_LOUDNESS_LUFS


VOICE_RMS_DBFS = -20.0
"""The voice's level in the mix: RMS while it speaks (phrases, clips and
recordings are levelled to it; the export then sets the loudness)."""
PEAK_DBFS = -1.0
"""No sample of the mix goes above this."""
DEFAULT_MP3_KBPS = 96

VOICE_ID = re.compile(r"(?!piper:.*(/|\.onnx$|\.json$))[A-Za-z0-9_+/.:\- ]{1,80}")
"""An engine voice id as a script or a manifest may give it: ``auto``,
``gmw/nl+f3``, ``piper:nl_NL-mls-medium``. A Piper voice is named, never a
path: a shared script must not make voiceguide open a file of its choosing
(``--voice piper:PATH`` on the command line may)."""
UNSAFE_CHARACTER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Characters that no text voiceguide reads may hold (a tab counts as a
space): control characters (a NUL cut espeak's sentence short while the
transcript showed all of it; ESC starts terminal escape sequences; a line
break would start a new entry in a playlist), Unicode line separators,
bidirectional overrides and isolates (text that shows differently from how
it is stored) and lone surrogates (bytes that were not UTF-8)."""
_CHARACTER_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: N_("backspace"),
    0x0A: N_("line break"),
    0x0D: N_("carriage return"),
    0x1B: "ESC",
    0x7F: "DEL",
    0x85: N_("next line"),
    0x2028: N_("line separator"),
    0x2029: N_("paragraph separator"),
}


def unsafe_character(text: str) -> int | None:
    """The index of the first character of ``text`` that :data:`UNSAFE_CHARACTER` refuses, else None."""
    found = UNSAFE_CHARACTER.search(text)
    return found.start() if found else None


def character_name(char: str) -> str:
    """``U+001B (ESC)``; for a lone surrogate, the byte it stands for."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # how Python keeps a byte that was not UTF-8 (surrogateescape)
        return _("the byte {byte} (not UTF-8)").format(byte=f"0x{code - 0xDC00:02X}")
    if code in _CHARACTER_NAMES:
        return f"U+{code:04X} ({_(_CHARACTER_NAMES[code])})"
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return f"U+{code:04X} ({_('a bidirectional override')})"
    return f"U+{code:04X} ({_('a control character')})"


def text_problem(text: str, what: str) -> str | None:
    """The one-line message for ``text`` holding a character it may not
    hold (see :data:`UNSAFE_CHARACTER`), else None."""
    index = unsafe_character(text)
    if index is None:
        return None
    return _("{what} holds {character} at character {position}; write plain text (UTF-8)").format(
        what=what, character=character_name(text[index]), position=index + 1
    )


class Severity(str, Enum):
    """How bad a finding of ``voiceguide check`` is."""

    ERROR = "error"
    """The script cannot be rendered."""
    WARNING = "warning"
    """It renders, but will not sound right."""


MAX_SESSION_S = 3 * 3600.0
"""No session plans longer than this unless VOICEGUIDE_MAX_MINUTES says so
(a shared script must not make voiceguide render for hours)."""
MAX_SESSION_LIMIT_S = 24 * 3600.0
"""VOICEGUIDE_MAX_MINUTES may raise the limit this far, no further."""


def max_session_s() -> float:
    """The session limit in seconds: VOICEGUIDE_MAX_MINUTES when it is a
    number of minutes above 0 (at most 24 hours), else 3 hours."""
    text = os.environ.get("VOICEGUIDE_MAX_MINUTES", "").strip()
    try:
        minutes = float(text)
    except ValueError:
        return MAX_SESSION_S
    if not math.isfinite(minutes) or minutes <= 0:
        return MAX_SESSION_S
    return min(minutes * 60.0, MAX_SESSION_LIMIT_S)


ENGINES = ("espeak", "pyttsx3", "piper")
"""Engines ``--engine`` (or $VOICEGUIDE_ENGINE) can name."""


# --- how much an input may hold: each reader checks before it reads or keeps ---------------

# checked in script.py
MAX_SCRIPT_CHARS = 200_000
"""The most characters a script may hold."""
MAX_SCRIPT_BYTES = MAX_SCRIPT_CHARS * 4
"""The most a script file may hold (UTF-8 takes at most 4 bytes a character)."""
MAX_RETURN_WORDS = 12
"""A return (a script's ``~`` line) is spoken over the breath tones: a short line, not a paragraph."""
MAX_SENTENCE_CHARS = 1_000
"""The longest sentence a script may speak, in characters."""
MAX_PAUSE_S = 600.0
"""The longest ``[pause]``, in seconds."""
MAX_CYCLES = 500
"""The most cycles a ``[breathe]`` block may ask for."""
MAX_PHASE_S = 30.0
"""The longest phase of a breath (in, hold, out), in seconds."""

# checked in session.py
MAX_CLIP_S = 600.0
"""The longest clip, in seconds."""

# checked in practice/diary.py
MAX_TRIGGER_CHARS = 200
"""The longest trigger a diary entry keeps."""
MAX_NEED_CHARS = 100
"""The longest need a diary entry keeps."""

# checked in practice/store.py
MAX_EXERCISE_CHARS = 100
"""Longest exercise name a log row or diary entry keeps."""

# checked in practice/log.py
MIN_RECORDED_S = 10.0
"""``record_played`` skips sessions shorter than this (a start by mistake)."""

# checked in dsp/recording.py
MAX_RECORDING_S = 120.0
"""No single phrase is recorded for longer."""

# checked in speech/cache.py
MAX_ENTRY_BYTES = 64_000_000
"""A phrase entry larger than this (12 minutes at 44.1 kHz) is not read."""
MAX_JSON_CACHE_BYTES = 4_000_000
"""A cached fact (voice list, calibration) larger than this is not read."""

# checked in speech/lexicon.py
MAX_LEXICON_BYTES = 256_000
"""A lexicon file larger than this is not read."""

# checked in speech/piper.py
MAX_CONFIG_BYTES = 2_000_000
"""A Piper config is a few kB (a multi-speaker one a few hundred)."""
MAX_PACE_FILE_BYTES = 10_000
"""A voice's kept pace measurement is a few hundred bytes (speech/piper_pace.py)."""
MAX_MODEL_BYTES = 200_000_000
"""Piper's models are 5 to 120 MB (x_low to high): anything larger is not
one, and is refused before it is hashed or loaded (a sparse 2 GB file took
2 GB of memory)."""
MAX_PHONEME_ID = 65_535
MAX_SPEAKERS = 10_000
MAX_SCALE = 10.0
"""Noise and noise width beyond this are no voice's (Piper's are 0.3 to 1)."""
MAX_VOICE_CATALOG_BYTES = 8_000_000
"""The Piper voices catalog (voices.json) read at most (the official one is about 0.5 MB)."""
MAX_MODEL_CARD_BYTES = 100_000
"""A voice's MODEL_CARD read at most (they are a few hundred bytes)."""
MAX_VOICE_MODEL_BYTES = MAX_MODEL_BYTES
"""The largest Piper model the catalog may list: one voiceguide would load."""

# checked in batch/render.py
MAX_STATE_BYTES = 64_000_000
"""A state file larger than this is not read (every track is rendered again)."""

# checked in batch/feed.py and batch/marks.py
MAX_FEED_STATE_BYTES = 4_000_000
"""A feed's state file (.voiceguide-feed.json) larger than this is not read."""
MAX_MARKS = 20_000
"""More phases or chapters than this in a state file is not believed (a
session is at most a few hours; a breath takes seconds)."""

# checked in lint.py
MAX_COMFORTABLE_HOLD_S = 8.0
"""``voiceguide check`` warns about a held breath longer than this, in seconds."""
