"""Every phrase of a script as audio: from the cache where it can, else the engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..audio import Audio, quantize
from ..progress import Progress, no_progress
from .cache import PhraseCache
from .engine import SpeechEngine, VoiceSettings
from .lexicon import Lexicon

PROGRESS_STEP = 8
"""Phrases sent to the engine at once between progress reports."""


def cache_identity(engine: SpeechEngine, voice: VoiceSettings) -> tuple[str, VoiceSettings]:
    """What the phrase cache keys a phrase on besides its text: the engine's
    identity and the voice settings, the voice named by what it is where the
    engine can say so (``voice_key``: a Piper model by its content, so the
    same model by name or by path shares its phrases)."""
    voice_key = getattr(engine, "voice_key", None)
    return engine.describe(), (replace(voice, voice_id=voice_key(voice.voice_id)) if voice_key else voice)


def synthesize_phrases(
    texts: Iterable[str],
    voice: VoiceSettings,
    engine: SpeechEngine,
    cache: PhraseCache | None,
    lexicon: Lexicon | None = None,
    progress: Progress = no_progress,
) -> dict[str, Audio]:
    """Synthesize every distinct text once, from the cache where possible.

    The ``lexicon``'s respellings are applied first: the engine gets the
    respelled text, and the cache keys on it (a changed lexicon gives new
    audio). Returns the engine's raw audio per original text (at the
    engine's sample rate). Phrases missing from the cache go to the engine
    together when it can speak several at once (``synthesize_many``).

    An engine with recordings (a voice pack: ``recording(text) -> Audio |
    None``) is asked first, by the original text: a recording is neither
    respelled nor cached.
    """
    spoken = {text: lexicon.apply(text) if lexicon else text for text in dict.fromkeys(texts)}
    engine_id, keyed = cache_identity(engine, voice)
    result: dict[str, Audio] = {}
    missing: dict[str, str] = {}
    recording = getattr(engine, "recording", None)
    for text, said in spoken.items():
        if recording is not None and (recorded := recording(text)) is not None:
            result[text] = recorded
            continue
        key = cache.key(engine_id, keyed, said) if cache else ""
        audio = cache.get(key) if cache else None
        if audio is None:
            missing[text] = key
        else:
            cache.hits += 1  # type: ignore[union-attr]
            result[text] = audio
    pending = list(missing.items())
    many = getattr(engine, "synthesize_many", None)
    for start in range(0, len(pending), PROGRESS_STEP):
        progress("synthesizing", start, len(pending))
        chunk = pending[start : start + PROGRESS_STEP]
        said = [spoken[text] for text, _ in chunk]
        made = many(said, voice) if many else [engine.synthesize(text, voice) for text in said]
        for (text, key), made_audio in zip(chunk, made):
            audio = quantize(made_audio)  # what the cache would give back: cold and warm runs use the same samples
            if cache:
                cache.misses += 1
                cache.put(key, audio)
            result[text] = audio
    if pending:
        progress("synthesizing", len(pending), len(pending))
    return {text: result[text] for text in spoken}
