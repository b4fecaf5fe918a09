"""Every phrase of a script as audio: from the cache where it can, else the engine."""

from __future__ import annotations

from collections.abc import Iterable

from ..audio import Audio
from .cache import PhraseCache
from .engine import SpeechEngine, VoiceSettings


def synthesize_phrases(
    texts: Iterable[str], voice: VoiceSettings, engine: SpeechEngine, cache: PhraseCache | None
) -> dict[str, Audio]:
    """Synthesize every distinct text once, from the cache where possible.

    Returns the engine's raw audio per text (at the engine's sample rate).
    """
    engine_id = engine.describe() if hasattr(engine, "describe") else engine.name  # type: ignore[attr-defined]
    result: dict[str, Audio] = {}
    for text in dict.fromkeys(texts):
        key = cache.key(engine_id, voice, text) if cache else ""
        audio = cache.get(key) if cache else None
        if audio is None:
            audio = engine.synthesize(text, voice)
            if cache:
                cache.misses += 1
                cache.put(key, audio)
        elif cache:
            cache.hits += 1
        result[text] = audio
    return result
