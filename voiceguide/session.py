"""The pipeline in one place: from a script to a ready-to-render session.

    >>> from voiceguide import load_script, prepare_session, export_session
    >>> session = prepare_session(load_script("zelfkalmering"))
    >>> export_session(session, "zelfkalmering.mp3")

:func:`prepare_session` runs the stages in order:

1. **speech** (:mod:`voiceguide.speech`): every distinct phrase, respelled
   by the lexicon, from the phrase cache or the engine;
2. **level** (:mod:`voiceguide.dsp.level`): trimmed, resampled to the mix
   rate, given a natural release, levelled to the voice level; clips too;
3. **plan** (:mod:`voiceguide.timeline`): absolute times for everything,
   stretched to a target length when asked; counts placed with their vowel
   on the beat;
4. **mix** (:mod:`voiceguide.mix`): a :class:`~voiceguide.mix.Mixer` that
   renders any span of the session in blocks, for the sinks
   (:mod:`voiceguide.sinks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import Audio, quantize, resample
from .dsp.level import level_clip, level_voice, vowel_onset_s
from .errors import ScriptError
from .mix import Mixer, MixSettings
from .script import Clip, Script
from .speech.cache import PhraseCache
from .speech.engine import SpeechEngine, VoiceSettings, open_engine
from .speech.lexicon import Lexicon, load_lexicon
from .speech.phrases import synthesize_phrases
from .speech.voices import resolve_voice
from .timeline import PlanSettings, Timeline, count_words, place_counts_on_beat, plan_timeline, spoken_texts

MAX_CLIP_S = 600.0


@dataclass(frozen=True)
class VoiceOptions:
    """Overrides for the script's own voice settings (None keeps the script's)."""

    voice: str | None = None
    rate: int | None = None
    """Words per minute, as heard."""
    pitch: int | None = None
    engine: str | None = None
    """``espeak`` or ``pyttsx3`` (None: the platform's default, see
    :func:`voiceguide.speech.engine.default_engine_name`)."""


@dataclass
class Session:
    """A planned session, ready to render."""

    script: Script
    timeline: Timeline
    mixer: Mixer
    voice: VoiceSettings
    count_onsets_s: dict[str, float] = field(default_factory=dict)
    """Per count word, where its vowel starts in its audio (s)."""

    @property
    def sample_rate(self) -> int:
        return self.mixer.sample_rate

    @property
    def duration_s(self) -> float:
        return self.timeline.duration_s


def prepare_session(
    script: Script,
    *,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None | bool = True,
    voice: VoiceOptions = VoiceOptions(),
    mix: MixSettings = MixSettings(),
    plan: PlanSettings = PlanSettings(),
    target_s: float | None = None,
    lexicon: Lexicon | None = None,
) -> Session:
    """Synthesize, level and plan ``script``.

    ``engine`` defaults to a new engine (``voice.engine``, else the
    platform's default) that is closed again afterwards; pass your own to
    reuse one across sessions. ``cache=True`` uses the user cache folder,
    ``False``/``None`` disables caching. ``target_s`` stretches or shrinks
    the session to that length (see :func:`~voiceguide.timeline.plan_timeline`).
    ``lexicon`` defaults to the built-in and user respellings for the
    script's language.
    """
    own_engine = engine is None
    engine = engine or open_engine(voice.engine)
    phrase_cache = PhraseCache() if cache is True else (cache or None)
    lexicon = lexicon if lexicon is not None else load_lexicon(script.meta.language)
    try:
        settings = voice_settings(script, engine, voice)
        speech = levelled_phrases(spoken_texts(script), settings, engine, phrase_cache, lexicon, mix)
    finally:
        if own_engine:
            engine.close()
    onsets = {word: vowel_onset_s(speech[word]) for word in count_words(script) if word in speech}
    clips = load_clips(script, mix)
    timeline = plan_timeline(
        script,
        {text: audio.duration_s for text, audio in speech.items()},
        {path: audio.duration_s for path, audio in clips.items()},
        plan,
        target_s=target_s,
    )
    timeline = place_counts_on_beat(timeline, onsets)
    return Session(script, timeline, Mixer(timeline, speech, clips, mix), settings, onsets)


LEVEL_VERSION = 1
"""Bump when :func:`voiceguide.dsp.level.level_voice` changes what it makes:
levelled phrases in the cache are then made again."""


def levelled_phrases(
    texts: list[str], settings: VoiceSettings, engine: SpeechEngine, cache: PhraseCache | None, lexicon: Lexicon, mix: MixSettings
) -> dict[str, Audio]:
    """Every phrase levelled for the mix (stages 1 and 2), from the cache where it can.

    The cache keeps each phrase twice: as the engine made it, and levelled
    at the mix's rate and level; a warm export reads the levelled one and
    neither synthesizes, resamples nor compresses. Levelled audio is kept on
    the 16-bit grid (:func:`~voiceguide.audio.quantize`) whether it comes from
    the cache or not, so cold and warm exports are the same bytes.
    """
    texts = list(dict.fromkeys(texts))
    levelled: dict[str, Audio] = {}
    level_keys: dict[str, str] = {}
    if cache is not None:
        engine_id = engine.describe()
        tag = f"|level {LEVEL_VERSION} {mix.sample_rate} {mix.voice_rms_dbfs} {mix.peak_dbfs}"
        for text in texts:
            level_keys[text] = cache.derived_key(cache.key(engine_id, settings, lexicon.apply(text)), tag)
            found = cache.get(level_keys[text])
            if found is not None:
                levelled[text] = found
    missing = [text for text in texts if text not in levelled]
    if missing:
        raw = synthesize_phrases(missing, settings, engine, cache, lexicon)
        for text in missing:
            levelled[text] = quantize(level_voice(raw[text], mix.sample_rate, mix.voice_rms_dbfs, mix.peak_dbfs))
            if cache is not None:
                cache.put(level_keys[text], levelled[text])
    return {text: levelled[text] for text in texts}


def voice_settings(script: Script, engine: SpeechEngine, options: VoiceOptions = VoiceOptions()) -> VoiceSettings:
    """What the engine speaks ``script`` with: the script's front matter,
    overridden by ``options``, with the voice resolved to one the engine has."""
    meta = script.meta
    requested = options.voice or meta.voice
    voice_id = resolve_voice(requested, meta.language, engine.voices())
    return VoiceSettings(voice_id, options.rate or meta.rate, meta.pitch if options.pitch is None else options.pitch, meta.volume)


def load_clips(script: Script, mix: MixSettings) -> dict[Path, Audio]:
    """Read every clip, mix it down to mono, resample and level it like the voice."""
    clips: dict[Path, Audio] = {}
    for item in script.items:
        if not isinstance(item, Clip) or item.path in clips:
            continue
        try:
            info = sf.info(str(item.path))
            if info.duration > MAX_CLIP_S:
                raise ScriptError(
                    f"clip lasts {info.duration:.0f} s; clips are limited to {MAX_CLIP_S:.0f} s",
                    script.source,
                    item.at.line,
                    item.at.col,
                )
            samples, rate = sf.read(str(item.path), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise ScriptError(
                f"clip {item.path.name} cannot be read as audio ({exc})", script.source, item.at.line, item.at.col
            ) from None
        mono = Audio(samples.mean(axis=1).astype(np.float32), int(rate))
        clips[item.path] = level_clip(resample(mono, mix.sample_rate), mix.voice_rms_dbfs, mix.peak_dbfs)
    return clips
