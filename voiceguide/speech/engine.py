"""What voiceguide needs from a text-to-speech engine, and the settings it speaks with."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Protocol

from ..audio import Audio
from ..errors import UsageError
from ..i18n import _


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


ENGINES = ("espeak", "pyttsx3", "piper")
"""Engines ``--engine`` (or $VOICEGUIDE_ENGINE) can name."""


def default_engine_name() -> str:
    """``$VOICEGUIDE_ENGINE``, else espeak-ng on Linux and pyttsx3 (SAPI5,
    NSSpeechSynthesizer) on Windows and macOS."""
    chosen = os.environ.get("VOICEGUIDE_ENGINE", "").strip().lower()
    if chosen:
        return chosen
    return "espeak" if sys.platform.startswith("linux") else "pyttsx3"


def open_engine(name: str | None = None, voice: str | None = None) -> SpeechEngine:
    """A new engine by name (default: the one ``voice`` needs, a ``piper:``
    voice the Piper engine, else :func:`default_engine_name`); close it after use.

    Raises UsageError for an engine that does not exist or cannot speak ``voice``.
    """
    from .piper import is_piper_voice

    if is_piper_voice(voice) and name not in (None, "piper"):
        raise UsageError(_("'{voice}' is a Piper voice; the {name} engine cannot speak it").format(voice=voice, name=name))
    name = name or ("piper" if is_piper_voice(voice) else default_engine_name())
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine()
    if name == "pyttsx3":
        from .pyttsx3 import Pyttsx3Engine

        return Pyttsx3Engine()
    if name == "piper":
        from .piper import PiperEngine

        return PiperEngine()
    if name == "fake":  # the deterministic test engine
        from .fake import FakeEngine

        return FakeEngine()
    raise UsageError(_("unknown speech engine '{name}'; use one of: {items}").format(name=name, items=", ".join(ENGINES)))


def list_voices(language: str | None = None, engine: str | None = None) -> list[VoiceInfo]:
    """The engine's voices, those for ``language`` (``nl``, ``en``...) when
    given. Without ``engine``: the default engine's voices, then the Piper
    voices in the user's voices folder."""
    speaker = open_engine(engine)
    try:
        found = speaker.voices()
    finally:
        speaker.close()
    if engine is None and speaker.name != "piper":
        from .piper import PiperEngine

        found += PiperEngine().voices()  # reads the voices' configs only: no runtime needed
    if language:
        language = language.lower()
        found = [v for v in found if any(lang.lower().split("-")[0] == language for lang in v.languages)]
    return found


@dataclass(frozen=True)
class Installation:
    """What ``voiceguide --version`` reports: the engine a session would use
    and what it found of espeak-ng and the built-in lexicons."""

    engine: str
    espeak_version: str | None
    espeak_library: str | None
    espeak_problem: str | None
    lexicon_words: dict[str, int]
    """Entries per language in the built-in lexicon (0 means it is missing)."""


def installation() -> Installation:
    """Ask the installed pieces what they are (starts espeak-ng once, ~50 ms)."""
    from .espeak_client import EspeakClient, EspeakError, find_library
    from .lexicon import BUILTIN_LEXICONS, builtin_lexicon

    library = find_library()
    version = problem = None
    if library is None:
        problem = _("no libespeak-ng library; install espeak-ng")
    else:
        try:
            with EspeakClient() as client:
                version = client.version()
        except EspeakError as exc:
            problem = str(exc)
    words = {language: len(builtin_lexicon(language).entries) for language in BUILTIN_LEXICONS}
    return Installation(default_engine_name(), version, library, problem, words)
