"""Voices: where espeak-ng keeps its data, and turning ``auto`` or a user's
voice id into an id the engine knows."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError
from ..i18n import _
from .engine import VoiceInfo

PREFERRED_VOICES = {"nl": ("gmw/nl", "nl"), "en": ("gmw/en", "en-gb", "en")}


def espeak_data_dir() -> Path | None:
    """espeak-ng's data folder, where one can be found."""
    candidates = [Path(p) for p in (os.environ.get("ESPEAK_DATA_PATH", ""),) if p]
    candidates += list(Path("/usr/lib").glob("*/espeak-ng-data")) + [
        Path("/usr/share/espeak-ng-data"),
        Path("/usr/lib/espeak-ng-data"),
        Path("/opt/homebrew/share/espeak-ng-data"),
        Path("/usr/local/share/espeak-ng-data"),
    ]
    return next((base for base in candidates if (base / "voices").is_dir()), None)


def espeak_variants() -> set[str] | None:
    """Names of espeak-ng voice variants (``f3``, ``klatt4``...), or None when
    no espeak-ng data folder can be found (then variants are not checked)."""
    data = espeak_data_dir()
    folder = data / "voices" / "!v" if data else None
    if folder is None or not folder.is_dir():
        return None
    return {entry.name for entry in folder.iterdir()}


def resolve_voice(requested: str, language: str, available: list[VoiceInfo]) -> str:
    """Turn ``auto`` or a user's voice id into an id the engine knows.

    Raises UsageError naming the unknown voice and how to list the others.
    """
    ids = {voice.id for voice in available}
    if requested == "auto":
        for preferred in PREFERRED_VOICES.get(language, ()):
            if preferred in ids:
                return preferred
        for voice in available:
            if any(lang.lower().startswith(language) for lang in voice.languages):
                return voice.id
        raise UsageError(_("no voice for language '{language}' is installed; see 'voiceguide voices'").format(language=language))
    base, plus, variant = requested.partition("+")
    by_language = {lang.lower(): voice.id for voice in available for lang in voice.languages}
    by_language.update({voice.id.lower(): voice.id for voice in available})  # ids in any case: gmw/en-us is gmw/en-US
    if base not in ids:
        if base.lower() not in by_language:
            ours = [voice.id for voice in available if any(lang.lower().split("-")[0] == language for lang in voice.languages)]
            listed = ", ".join(ours[:8]) + (", ..." if len(ours) > 8 else "")
            raise UsageError(
                _(
                    "unknown voice '{requested}'; voices for '{language}': {listed} (all of them: 'voiceguide voices --lang {language}')"
                ).format(requested=requested, language=language, listed=listed or _("none"))
            )
        base = by_language[base.lower()]
    if plus:
        variants = espeak_variants()
        if variants is not None and variant not in variants:
            raise UsageError(
                _("unknown voice variant '+{variant}' in '{requested}'; try e.g. +f3, +m3 or +klatt4").format(
                    variant=variant, requested=requested
                )
            )
    return base + plus + variant
