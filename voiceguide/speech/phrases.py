"""Every phrase of a script as audio: from the cache where it can, else the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    made: Callable[[str, Audio], None] | None = None,
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

    ``made(text, audio)`` is told of each phrase as soon as it is there
    (from a recording or the cache at once, from the engine as each request
    comes back), so its next stage can start before the last phrase is made.
    """
    return synthesize_each(dict.fromkeys(texts, voice), engine, cache, lexicon, progress, made)


def synthesize_each(
    voices: Mapping[str, VoiceSettings],
    engine: SpeechEngine,
    cache: PhraseCache | None,
    lexicon: Lexicon | None = None,
    progress: Progress = no_progress,
    made: Callable[[str, Audio], None] | None = None,
) -> dict[str, Audio]:
    """:func:`synthesize_phrases` with each text's own voice settings (a
    phrase said again slower, :mod:`voiceguide.speech.unhurried`): an engine
    that takes several settings at once (``synthesize_each``, espeak-ng's
    server) gets them in one request, the others once per settings."""
    spoken = {text: lexicon.apply(text) if lexicon else text for text in voices}
    identities: dict[VoiceSettings, tuple[str, VoiceSettings]] = {}
    result: dict[str, Audio] = {}
    missing: dict[str, str] = {}
    recording = getattr(engine, "recording", None)
    for text, said in spoken.items():
        if recording is not None and (recorded := recording(text)) is not None:
            result[text] = recorded
            if made is not None:
                made(text, recorded)
            continue
        voice = voices[text]
        if voice not in identities:
            identities[voice] = cache_identity(engine, voice)
        engine_id, keyed = identities[voice]
        key = cache.key(engine_id, keyed, said) if cache else ""
        audio = cache.get(key) if cache else None
        if audio is None:
            missing[text] = key
        else:
            cache.hits += 1  # type: ignore[union-attr]
            result[text] = audio
            if made is not None:
                made(text, audio)
    pending = list(missing.items())
    for start in range(0, len(pending), PROGRESS_STEP):
        progress("synthesizing", start, len(pending))
        chunk = pending[start : start + PROGRESS_STEP]
        answers = _speak([(spoken[text], voices[text]) for text, _ in chunk], engine)
        for (text, key), made_audio in zip(chunk, answers):
            audio = quantize(made_audio)  # what the cache would give back: cold and warm runs use the same samples
            if cache:
                cache.misses += 1
                cache.put(key, audio)
            result[text] = audio
            if made is not None:
                made(text, audio)
    if pending:
        progress("synthesizing", len(pending), len(pending))
    return {text: result[text] for text in spoken}


def _speak(requests: list[tuple[str, VoiceSettings]], engine: SpeechEngine) -> list[Audio]:
    """The engine's audio for each (text, settings), in order: in one call
    where the engine takes several settings at once, else one call per
    settings (``synthesize_many``) or per phrase. Each phrase comes out the
    same either way (espeak-ng speaks each in a child of its own)."""
    each = getattr(engine, "synthesize_each", None)
    if each is not None:
        return list(each(requests))
    many = getattr(engine, "synthesize_many", None)
    made: dict[int, Audio] = {}
    groups: dict[VoiceSettings, list[int]] = {}
    for index, (_text, voice) in enumerate(requests):
        groups.setdefault(voice, []).append(index)
    for voice, indexes in groups.items():
        said = [requests[index][0] for index in indexes]
        audio = many(said, voice) if many else [engine.synthesize(text, voice) for text in said]
        made.update(zip(indexes, audio))
    return [made[index] for index in range(len(requests))]
