"""The library's front door: from a script to a ready-to-render session.

    >>> from voiceguide import load_script, prepare_session, export_session
    >>> session = prepare_session(load_script("zelfkalmering"))
    >>> export_session(session, "zelfkalmering.mp3")

``prepare_session`` runs the pipeline up to the mixer: it synthesizes every
phrase (from the cache where it can), levels the voice, loads clips, plans
the timeline and hands back a :class:`Session` whose mixer renders blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import Audio, active_rms, apply_fades, db_to_gain, gain_to_db, resample, trim_silence
from .dsp.dynamics import tame_peaks
from .errors import ScriptError
from .mix import Mixer, MixSettings
from .script import Clip, Script
from .speech.cache import PhraseCache
from .speech.engine import SpeechEngine, VoiceSettings
from .speech.phrases import synthesize_phrases
from .speech.pyttsx3 import Pyttsx3Engine
from .speech.voices import resolve_voice
from .timeline import PlanSettings, Timeline, plan_timeline, spoken_texts

EDGE_FADE_S = 0.008
"""Fade on every phrase and clip edge: enough to kill clicks, too short to hear."""
PEAK_THRESHOLD_ABOVE_RMS_DB = 8.0
"""Peaks more than this above a phrase's speaking level are compressed 3:1
with a soft knee (see :func:`voiceguide.dynamics.tame_peaks`): espeak's
crest factor drops from about 17 dB to 14, so the export reaches -16 LUFS
with little work left for its true-peak limiter."""
MAX_CLIP_S = 600.0


@dataclass(frozen=True)
class VoiceOptions:
    """Overrides for the script's own voice settings (None keeps the script's)."""

    voice: str | None = None
    rate: int | None = None
    pitch: int | None = None


@dataclass
class Session:
    """A planned session, ready to render."""

    script: Script
    timeline: Timeline
    mixer: Mixer
    voice: VoiceSettings

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
) -> Session:
    """Synthesize, level and plan ``script``.

    ``engine`` defaults to a :class:`Pyttsx3Engine` that is closed again
    afterwards; pass your own to reuse one across sessions. ``cache=True``
    uses the user cache folder, ``False``/``None`` disables caching.
    ``target_s`` stretches or shrinks the session to that length (see
    :func:`~voiceguide.timeline.plan_timeline`).
    """
    own_engine = engine is None
    engine = engine or Pyttsx3Engine()
    phrase_cache = PhraseCache() if cache is True else (cache or None)
    try:
        settings = voice_settings(script, engine, voice)
        raw = synthesize_phrases(spoken_texts(script), settings, engine, phrase_cache)
    finally:
        if own_engine:
            engine.close()
    speech = {text: level_voice(audio, mix) for text, audio in raw.items()}
    clips = load_clips(script, mix)
    timeline = plan_timeline(
        script,
        {text: audio.duration_s for text, audio in speech.items()},
        {path: audio.duration_s for path, audio in clips.items()},
        plan,
        target_s=target_s,
    )
    return Session(script, timeline, Mixer(timeline, speech, clips, mix), settings)


def voice_settings(script: Script, engine: SpeechEngine, options: VoiceOptions = VoiceOptions()) -> VoiceSettings:
    meta = script.meta
    requested = options.voice or meta.voice
    voice_id = resolve_voice(requested, meta.language, engine.voices())
    return VoiceSettings(voice_id, options.rate or meta.rate, meta.pitch if options.pitch is None else options.pitch, meta.volume)


def level_voice(audio: Audio, mix: MixSettings) -> Audio:
    """Trim, resample, fade the edges, round off the sharpest peaks (soft-knee
    compression, see PEAK_THRESHOLD_ABOVE_RMS_DB) and bring the phrase to the
    voice level."""
    audio = resample(Audio(trim_silence(audio.samples, audio.sample_rate), audio.sample_rate), mix.sample_rate)
    return _level(audio, mix)


def _level(audio: Audio, mix: MixSettings) -> Audio:
    samples = apply_fades(audio.samples, int(EDGE_FADE_S * audio.sample_rate), int(EDGE_FADE_S * audio.sample_rate))
    rms = active_rms(samples, audio.sample_rate)
    if rms > 0:
        samples, _ = tame_peaks(samples, audio.sample_rate, gain_to_db(rms) + PEAK_THRESHOLD_ABOVE_RMS_DB)
        rms = active_rms(samples, audio.sample_rate)
    if rms > 0:
        gain = db_to_gain(mix.voice_rms_dbfs) / rms
        peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
        headroom = db_to_gain(mix.peak_dbfs - 1.5)
        if peak * gain > headroom:
            gain = headroom / peak
        samples = samples * gain
    return Audio(samples.astype(np.float32), audio.sample_rate)


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
        clips[item.path] = _level(resample(mono, mix.sample_rate), mix)
    return clips
