"""Which voice speaks when nobody names one: ``voice: auto`` prefers an
installed natural (Piper) voice for the script's language over espeak-ng.

The order among Piper voices is stable and documented
(docs/natural-voice.md): the recommended voice of the language first
(:data:`RECOMMENDED`), then voices not trained on audiobooks, then by
quality (:data:`QUALITY_ORDER`), then by name. The voices catalog
(:mod:`voiceguide.speech.catalog`) lists what can be got in the same order.

A natural voice is chosen only when nothing else decides: not when a voice
is named (``--voice``, a script's ``voice:``), not when an engine is named
(``--engine``, ``$VOICEGUIDE_ENGINE``: the tests' fake engine too), and not
without the runtime that speaks it. ``--voice espeak`` (or ``voice:
espeak``) asks for the engine's own default voice: espeak-ng's on Linux,
as before natural voices were preferred.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ..errors import EngineError
from . import piper
from .piper import PiperModel

log = logging.getLogger(__name__)

QUALITY_ORDER = ("medium", "high", "low", "x_low")
"""Quality, best choice first: ``medium`` sounds natural and costs little
time; ``high`` sounds a little better for about three times the time and
twice the size; ``low`` and ``x_low`` are smaller and duller."""
RECOMMENDED = {"nl": "nl_BE-nathalie-medium", "en": "en_US-joe-medium"}
"""The voice recommended per language, chosen by listening reports (reasons
in docs/natural-voice.md). Other languages: the first in the order."""
AUDIOBOOK_DATASETS = ("mls",)
"""Voices trained on audiobooks: Piper's maintainer advises against them for
short phrases (OHF-Voice/piper1-gpl #219), so they come last in the order."""

ENGINE_DEFAULT = "espeak"
"""The voice id that asks for the engine's own default voice, never a natural one."""


@dataclass(frozen=True)
class VoiceChoice:
    """What speaks, as the engine and voice to ask for."""

    engine: str | None
    """None: the engine the voice needs, else the platform's default."""
    voice: str | None
    """A voice id, ``auto``, or None for the script's own."""
    natural: bool = False
    """True when ``auto`` became an installed natural voice (worth saying so)."""


def voice_order(key: str, language: str) -> tuple:
    """Sort key of a Piper voice named ``key`` (``nl_BE-nathalie-medium``) for
    base language ``language`` (see the module notes)."""
    parts = key.split("-")
    quality = parts[-1] if len(parts) >= 3 else ""
    dataset = "-".join(parts[1:-1]).split("_")[0].lower() if len(parts) >= 3 else ""
    rank = QUALITY_ORDER.index(quality) if quality in QUALITY_ORDER else len(QUALITY_ORDER)
    return (RECOMMENDED.get(language) != key, dataset in AUDIOBOOK_DATASETS, rank, key)


def installed_order(model: PiperModel) -> tuple:
    """Sort key of an installed Piper model (see :func:`voice_order`)."""
    return voice_order(model.name, model.base_language)


def natural_voice(language: str) -> str | None:
    """``piper:NAME`` of the installed natural voice for ``language`` in the
    documented order, or None (no such voice, or no runtime to speak it)."""
    models = [model for model in piper.find_models() if model.base_language == language]
    if not models:
        return None
    try:
        piper.check_runtime()  # by the module: the tests stand in for it
    except EngineError as exc:
        log.info("natural voices are installed but cannot speak: %s", exc)
        return None
    return min(models, key=installed_order).voice_id


def choose_voice(voice: str | None, engine: str | None, script_voice: str, language: str) -> VoiceChoice:
    """The engine and voice to speak a script in ``language`` with, given
    the voice and engine asked for (None: not asked) and the script's own
    ``voice:`` (see the module notes)."""
    requested = voice or script_voice
    if requested == ENGINE_DEFAULT:
        return VoiceChoice(engine, "auto")
    if requested != "auto" or engine or os.environ.get("VOICEGUIDE_ENGINE", "").strip():
        return VoiceChoice(engine, voice)
    natural = natural_voice(language)
    return VoiceChoice(engine, natural, natural=True) if natural else VoiceChoice(engine, voice)
