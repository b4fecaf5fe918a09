"""No phrase faster than a calm pace, short ones and questions included.

An engine's rate is an average: espeak-ng says a short phrase or a question
("Wat hoor je?", "Ik tel voor je.") faster than a long sentence at the same
rate (138-189 words a minute measured at 125). These are the moments a
listener is asked to imagine something, so no phrase may be more than
``FASTEST_OVER_RATE`` faster than the rate asked for, over its own speech
(from its first to its last sound): 135 words a minute at the built-ins'
125. A phrase that comes out faster than ``SAY_AGAIN_ABOVE_RATE`` is said
again at a rate lowered by what it measured (at most ``ATTEMPTS`` times),
aiming at the rate asked for. Phrases espeak says slower stay as they are,
so a script's pace over all its speech ends up a little under the rate
asked for (112-118 words a minute at 125 on the built-ins).
"""

from __future__ import annotations

import math
from dataclasses import replace

from .. import rules
from ..audio import Audio, trim_silence
from ..progress import Progress, no_progress
from .cache import PhraseCache
from .engine import SpeechEngine, VoiceSettings
from .lexicon import Lexicon
from .phrases import synthesize_each

FASTEST_OVER_RATE = 1.08
"""The fastest any phrase may be, over the rate asked for (135 wpm at 125)."""
SAY_AGAIN_ABOVE_RATE = 1.04
"""A phrase faster than this (130 wpm at 125) is said again: a margin under
the cap for how a listener (or a meter) finds the edges of the speech."""
ATTEMPTS = 3
UNHURRIED = f"unhurried {SAY_AGAIN_ABOVE_RATE:g} (counts as said)"
"""What keys the levelled phrases made under these settings in the cache."""


def word_count(text: str) -> int:
    """Words as a listener counts them (tokens with a letter or digit)."""
    return sum(any(ch.isalnum() for ch in token) for token in text.split())


def words_a_minute(text: str, speech_s: float | None) -> float:
    """Words a minute of ``text`` said in ``speech_s`` seconds of speech (0 when not known)."""
    return word_count(text) / speech_s * 60.0 if speech_s else 0.0


def phrase_wpm(text: str, audio: Audio) -> float:
    """Words a minute over the phrase's speech (its near-silent edges cut)."""
    return words_a_minute(text, len(trim_silence(audio.samples, audio.sample_rate, margin_s=0.0)) / audio.sample_rate)


def _hurried(wpm: float, voice: VoiceSettings) -> bool:
    """The rule: a phrase faster than ``SAY_AGAIN_ABOVE_RATE`` times ``voice.rate`` is said again slower."""
    return wpm > voice.rate * SAY_AGAIN_ABOVE_RATE


def too_fast(text: str, audio: Audio, voice: VoiceSettings) -> float | None:
    """The phrase's words a minute if it is to be said again slower
    (:func:`_hurried`), else None: a phrase :func:`unhurried` leaves as it is."""
    wpm = phrase_wpm(text, audio)
    return wpm if _hurried(wpm, voice) else None


def _new_rate(asked: int, current: int, wpm: float) -> int:
    """The rate to say a phrase again at, that came out at ``wpm`` when said at ``current``."""
    return max(int(rules.RATE_WPM.low), math.floor(current * asked / wpm))


def planned_rates(texts: list[str], voice: VoiceSettings, engine: SpeechEngine, lexicon: Lexicon | None = None) -> dict[str, int]:
    """The rate each text is first said at, where the engine can tell how
    long its speech will be without making it (``speech_seconds``: Piper):
    :func:`unhurried`'s rule applied to those lengths, so a phrase is made
    once at a calm pace instead of made, measured and made again. Texts
    said at ``voice.rate`` are left out; an engine that cannot tell gives {}."""
    telling = getattr(engine, "speech_seconds", None)
    if telling is None or getattr(engine, "exact_rate", False):
        return {}
    try:
        return _planned(texts, voice, engine, telling, lexicon)
    finally:
        release = getattr(engine, "release_lengths", None)  # what telling needed is not needed while speaking
        if release is not None:
            release()


def _planned(texts: list[str], voice: VoiceSettings, engine: SpeechEngine, telling, lexicon: Lexicon | None) -> dict[str, int]:
    recording = getattr(engine, "recording", None)
    todo = [text for text in texts if recording is None or recording(text) is None]
    rates = {text: voice.rate for text in todo}
    for _attempt in range(ATTEMPTS):
        by_rate: dict[int, list[str]] = {}
        for text in todo:
            by_rate.setdefault(rates[text], []).append(text)
        todo = []
        for rate, group in by_rate.items():
            told = telling([lexicon.apply(text) if lexicon else text for text in group], replace(voice, rate=rate))
            for text, seconds in zip(group, told):
                wpm = words_a_minute(text, seconds)
                if _hurried(wpm, voice) and (slower := _new_rate(voice.rate, rate, wpm)) < rate:
                    rates[text] = slower
                    todo.append(text)
        if not todo:
            break
    return {text: rate for text, rate in rates.items() if rate != voice.rate}


def unhurried(
    phrases: dict[str, Audio],
    voice: VoiceSettings,
    engine: SpeechEngine,
    cache: PhraseCache | None,
    lexicon: Lexicon | None = None,
    progress: Progress = no_progress,
    planned: dict[str, int] | None = None,
) -> dict[str, Audio]:
    """``phrases`` (raw, from :func:`synthesize_phrases`) with every one faster
    than ``SAY_AGAIN_ABOVE_RATE`` times ``voice.rate`` said again, slower. A voice pack's recordings
    (a person's own pace) and an engine whose lengths must follow the rate
    exactly (``exact_rate``, the test engine) are left as they are.
    ``planned``: the rates phrases were said at already (:func:`planned_rates`),
    where not ``voice.rate``; the audio is still measured, and a phrase the
    engine's own length misjudged is said again."""
    if getattr(engine, "exact_rate", False):
        return phrases
    recording = getattr(engine, "recording", None)
    out = dict(phrases)
    rates = {text: (planned or {}).get(text, voice.rate) for text in phrases}
    for _attempt in range(ATTEMPTS):
        fast = {
            text: wpm
            for text, audio in out.items()
            if (wpm := too_fast(text, audio, voice)) is not None and (recording is None or recording(text) is None)
        }
        if not fast:
            break
        by_rate: dict[int, list[str]] = {}
        for text, wpm in fast.items():
            rate = _new_rate(voice.rate, rates[text], wpm)
            if rate >= rates[text]:
                continue
            rates[text] = rate
            by_rate.setdefault(rate, []).append(text)
        if not by_rate:
            break
        slower = {text: replace(voice, rate=rate) for rate, texts in by_rate.items() for text in texts}
        out.update(synthesize_each(slower, engine, cache, lexicon, progress))  # one request, whatever the rates
    return out
