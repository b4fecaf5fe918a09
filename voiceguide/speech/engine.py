"""What voiceguide needs from a text-to-speech engine, and the settings it speaks with."""

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
    """What voiceguide needs from a text-to-speech engine."""

    name: str

    def synthesize(self, text: str, voice: VoiceSettings) -> Audio: ...

    def voices(self) -> list[VoiceInfo]: ...

    def close(self) -> None: ...


def list_voices(language: str | None = None) -> list[VoiceInfo]:
    """The default engine's voices, those for ``language`` (``nl``, ``en``...) when given."""
    from .pyttsx3 import Pyttsx3Engine

    with Pyttsx3Engine() as engine:
        found = engine.voices()
    if language:
        language = language.lower()
        found = [v for v in found if any(lang.lower().split("-")[0] == language for lang in v.languages)]
    return found
