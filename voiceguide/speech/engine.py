"""The speech contract: what voiceguide needs from a text-to-speech engine
(:class:`SpeechEngine`), the settings it speaks with and the voices it
offers. Every engine imports this module; :mod:`voiceguide.speech.factory`
picks and opens one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..audio import Audio


@dataclass(frozen=True)
class VoiceSettings:
    """What the engine is asked to speak with."""

    voice_id: str
    """Engine voice id, e.g. ``gmw/nl`` or ``gmw/nl+f3`` (espeak variant)."""
    rate: int = 125
    """Words per minute."""
    pitch: int = 50
    """espeak pitch 0-99 (ignored by engines without one)."""
    volume: float = 1.0


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]


class SpeechEngine(Protocol):
    """What voiceguide needs from a text-to-speech engine.

    espeak-ng, pyttsx3 and the test engine implement it; so can a recorded
    voice pack or a neural voice model. An engine may also offer
    ``synthesize_many(texts, settings) -> list[Audio]`` to speak several
    phrases at once; :func:`~voiceguide.speech.phrases.synthesize_phrases`
    uses it where it exists.
    """

    name: str

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        """One phrase, as the engine makes it (any sample rate, mono)."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """The voices it can speak with."""
        ...

    def describe(self) -> str:
        """The engine's identity for cache keys: name, version, and whatever
        else changes its output (data files, calibration, model)."""
        ...

    def close(self) -> None: ...
