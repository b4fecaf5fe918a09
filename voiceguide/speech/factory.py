"""Picks and opens a speech engine by name (the contract every engine keeps
is :mod:`voiceguide.speech.engine`)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..errors import UsageError
from ..i18n import _
from ..rules import ENGINES
from .engine import SpeechEngine, VoiceInfo
from .lexicon import BUILTIN_LEXICONS, builtin_lexicon
from .piper import PiperEngine, is_piper_voice


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
    if is_piper_voice(voice) and name not in (None, "piper"):
        raise UsageError(_("'{voice}' is a Piper voice; the {name} engine cannot speak it").format(voice=voice, name=name))
    name = name or ("piper" if is_piper_voice(voice) else default_engine_name())
    # The other engines' modules are imported when opened: espeak's client,
    # pyttsx3's (importlib.metadata) and the test engine add ~12 ms to every
    # start of voiceguide (python -X importtime), and a command opens one.
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine()
    if name == "pyttsx3":
        from .pyttsx3 import Pyttsx3Engine

        return Pyttsx3Engine()
    if name == "piper":
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
    from .espeak_client import EspeakClient, EspeakError, find_library  # 1.4 ms at every start otherwise: see open_engine

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
