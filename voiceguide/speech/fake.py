"""A deterministic stand-in engine for tests: no espeak, no processes.

Every phrase becomes a chain of "syllables": a vowel-like harmonic tone
(about 180 Hz, its second and third partials at 2/3 and 1/3) with a
raised-cosine envelope, one per vowel group of the text, each preceded by a
short noise burst for a consonant onset; words are separated by 60 ms of
silence and a comma or full stop adds a longer gap. Lengths follow the rate
exactly: at ``rate`` words per minute a word of ``n`` syllables lasts
``n / SYLLABLES_PER_WORD * 60 / rate`` seconds, so pace tests can compute
what they should measure. The same text and settings always give the same
samples (the noise is seeded from the text).
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np

from ..audio import Audio
from .engine import VoiceInfo, VoiceSettings

SAMPLE_RATE = 22_050
SYLLABLES_PER_WORD = 1.6
"""The average word length the fake pace is scaled by."""
WORD_GAP_S = 0.06
COMMA_GAP_S = 0.25
CONSONANT_S = 0.035
"""The noise burst that starts every syllable: the vowel (the beat a
listener hears) begins this long after the syllable starts."""
VOICES = (
    VoiceInfo("gmw/nl", "Dutch (fake)", ("nl",)),
    VoiceInfo("gmw/en", "English (fake)", ("en-gb", "en")),
)

_VOWELS = re.compile(r"[aeiouyàáâäèéêëìíîïòóôöùúûü]+", re.IGNORECASE)


def syllables(word: str) -> int:
    """Vowel groups in ``word`` (at least one)."""
    return max(1, len(_VOWELS.findall(word)))


class FakeEngine:
    """Implements the :class:`~voiceguide.speech.engine.SpeechEngine` protocol."""

    name = "fake"
    exact_rate = True
    """Lengths follow the rate exactly (pace tests compute them): no phrase is said again slower."""

    def __init__(self) -> None:
        self.spoken: list[str] = []
        """Every text synthesized, in order (tests check what reached the engine)."""

    def voices(self) -> list[VoiceInfo]:
        return list(VOICES)

    def describe(self) -> str:
        return "fake-1"

    def close(self) -> None:
        pass

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        self.spoken.append(text)
        log = os.environ.get("VOICEGUIDE_FAKE_SPOKEN")
        if log:  # tests of commands that run workers: every text spoken, by any process, one line each
            with open(log, "a", encoding="utf-8") as spoken:
                spoken.write(f"{settings.voice_id}|{text}\n")
        seed = int.from_bytes(hashlib.sha256(f"{settings.voice_id}|{text}".encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        syllable_s = 60.0 / settings.rate / SYLLABLES_PER_WORD
        pitch_hz = 140.0 + settings.pitch * 1.6
        parts: list[np.ndarray] = []
        for word in re.findall(r"[^\s]+", text):
            letters = re.sub(r"[^\w]", "", word)
            if letters:
                for _ in range(syllables(letters)):
                    parts.append(_syllable(syllable_s, pitch_hz, settings.volume, rng))
            gap = COMMA_GAP_S if word[-1] in ",.;:!?" else WORD_GAP_S
            parts.append(np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32))
        if parts:
            parts.pop()  # no gap after the last word
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Audio(samples.astype(np.float32), SAMPLE_RATE)

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _syllable(length_s: float, pitch_hz: float, volume: float, rng: np.random.Generator) -> np.ndarray:
    consonant = int(CONSONANT_S * SAMPLE_RATE)
    vowel = max(1, int(length_s * SAMPLE_RATE) - consonant)
    noise = rng.standard_normal(consonant).astype(np.float32) * 0.05
    t = np.arange(vowel) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * pitch_hz * t) + 0.66 * np.sin(4 * np.pi * pitch_hz * t) + 0.33 * np.sin(6 * np.pi * pitch_hz * t)
    envelope = np.sin(np.pi * (np.arange(vowel) + 0.5) / vowel) ** 0.5
    return np.concatenate([noise, (0.3 * volume * tone * envelope).astype(np.float32)])
