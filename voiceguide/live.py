"""Play from what is known: a session that starts sounding before all of its
phrases are made.

:func:`~voiceguide.session.prepare_session` makes every phrase before it
plans (the plan needs their lengths), which a cold ``play`` would wait for.
:func:`prepare_live_session` plans the session from estimates and returns
at once when what may play before the first phrase is silence (the
lead-in), else once that phrase is made (a bell, the ambience: a wait
there would be heard); a settling thread makes the phrases in speaking
order (the count words where they are first spoken, the returns last) and then
plans the session exactly as :func:`~voiceguide.session.assemble_session`
does for an export.

What may be rendered before that is the span the estimates cannot change:
:func:`~voiceguide.plan.timeline.settled_until_s` walks the script from the
lead-in to the first item whose place or length is not fixed yet, and the
mix's own reach is taken off it (the ambience ducks ahead of a voice, the
closing fades hang off the session's end). Until the count words are made
the walk stops at the first count; until the returns are made, at the
first stretch long enough to get one. :class:`LiveMixer` refuses to
render past that horizon, and the player's render thread waits there
for the settled plan (:meth:`LiveMixer.wait_ready`). Without a length to
fit, each part of the plan depends only on what comes before it, so the
horizon moves on as phrases are made (a slow engine keeps ahead of the
listener); a session fitted to a length settles once, when all are known.
So the played samples are those of the export's mixer, byte for byte.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import Audio
from .errors import ScriptError
from .mix.mixer import AMBIENCE_FADE_S, DUCK_RAMP_S, Mixer, MixSettings
from .parse.script import Breathe, Script, Speech
from .plan.returns import RETURN_MARGIN_S, earliest_return_s, with_returns
from .plan.timeline import (
    VOICE_KINDS,
    PlanSettings,
    Timeline,
    count_word,
    count_words,
    counts_in_phase,
    place_counts_on_beat,
    plan_timeline,
    settled_until_s,
    spoken_texts,
)
from .progress import Progress, no_progress
from .session import (
    Phrases,
    Session,
    VoiceOptions,
    assemble_session,
    levelled_phrases,
    load_clips,
    open_speaker,
    script_lexicon,
    voice_settings,
)
from .speech.cache import PhraseCache
from .speech.engine import SpeechEngine, VoiceSettings
from .speech.lexicon import Lexicon, load_lexicon
from .speech.pack import VoicePack, VoicePackEngine

log = logging.getLogger(__name__)

FIRST_CHUNK = 1
"""Phrases made at once by the settling thread at first; each next chunk is
twice as large (up to CHUNK_CEILING), so the horizon moves early and the engine
still gets batches."""
CHUNK_CEILING = 16


def speaking_order(script: Script) -> list[str]:
    """Every distinct phrase, in the order the session first speaks it."""
    order: list[str] = []
    for item in script.items:
        if isinstance(item, Speech):
            order.append(item.text)
        elif isinstance(item, Breathe) and item.count:
            longest = max(counts_in_phase(phase) for phase in item.pattern_s)
            order += [count_word(n, script.meta.language) for n in range(1, longest + 1)]
    return list(dict.fromkeys(order + spoken_texts(script)))


class LiveMixer:
    """The mixer a player pulls from while the plan is still settling.

    Renders from the plan of the moment, never past :attr:`ready_frames`
    (the horizon the estimates cannot change); once settled, from the
    session's own :class:`~voiceguide.mix.mixer.Mixer`, to its end.
    """

    def __init__(self, mixer: Mixer, ready_frames: int):
        self._mixer = mixer
        self._ready = min(ready_frames, mixer.total_frames)
        self._changed = threading.Event()
        self.settled = threading.Event()
        self.error: BaseException | None = None

    @property
    def sample_rate(self) -> int:
        return self._mixer.sample_rate

    @property
    def total_frames(self) -> int:
        """The session's length in frames (an estimate until settled)."""
        return self._mixer.total_frames

    @property
    def timeline(self) -> Timeline:
        return self._mixer.timeline

    @property
    def voice(self):
        """The phrases of the plan of the moment (``made(text)`` says which are made)."""
        return self._mixer.voice

    @property
    def ready_frames(self) -> int:
        """Frames that may be rendered now; raises what settling failed with."""
        if self.error is not None:
            raise self.error
        return self._ready

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until the horizon moves (or ``timeout_s`` passes)."""
        self._changed.wait(timeout_s)
        self._changed.clear()

    def render(self, start: int, frames: int) -> np.ndarray:
        ready = self.ready_frames
        mixer = self._mixer  # read after the horizon: a new horizon comes with its own plan
        if min(start + frames, mixer.total_frames) > ready:
            raise RuntimeError(f"frames {start}-{start + frames} asked for before the plan is settled there ({ready})")
        return mixer.render(start, frames)

    def advance(self, mixer: Mixer, ready_frames: int) -> None:
        """A newer plan, certain up to ``ready_frames``."""
        self._mixer = mixer
        self._ready = max(self._ready, min(ready_frames, mixer.total_frames))
        self._changed.set()

    def settle(self, mixer: Mixer) -> None:
        """The session's final plan: everything may be rendered."""
        self._mixer = mixer
        self._ready = mixer.total_frames
        self.settled.set()
        self._changed.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.settled.set()
        self._changed.set()


@dataclass
class LiveSession:
    """A session whose plan settles while it plays (see the module's docstring)."""

    script: Script
    mixer: LiveMixer
    voice: VoiceSettings
    session: Session | None = None
    """The settled session, once it is."""
    _cancel: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None

    @property
    def timeline(self) -> Timeline:
        return self.mixer.timeline

    @property
    def sample_rate(self) -> int:
        return self.mixer.sample_rate

    @property
    def duration_s(self) -> float:
        return self.timeline.duration_s

    @property
    def settled(self) -> bool:
        return self.mixer.settled.is_set()

    def level_ahead(self) -> None:
        """Nothing to start: the settling thread levels every phrase in speaking order."""

    def wait_settled(self, timeout_s: float | None = None) -> Session | None:
        """The settled session (None if ``timeout_s`` passed first); raises what settling failed with."""
        self.mixer.settled.wait(timeout_s)
        if self.mixer.error is not None:
            raise self.mixer.error
        return self.session

    def close(self) -> None:
        """Stop making phrases (a listener who stopped early)."""
        self._cancel.set()
        if self._worker is not None:
            self._worker.join(timeout=5)


def prepare_live_session(
    script: Script,
    *,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None | bool = True,
    voice: VoiceOptions = VoiceOptions(),
    mix: MixSettings = MixSettings(),
    plan: PlanSettings = PlanSettings(),
    target_s: float | None = None,
    lexicon: Lexicon | None = None,
    progress: Progress = no_progress,
) -> LiveSession:
    """Like :func:`~voiceguide.session.prepare_session`, but returns at once
    when the session's lead-in is silence, else once its first phrase is
    made: the rest is made, and the plan settled, in a background thread
    while the session plays (see the module's docstring).
    An engine passed in stays open; one made here is closed when settled.
    Errors found before any sound (a script too long, a missing voice) are
    raised here; one found while settling (a phrase the engine fails on, a
    length the real phrases cannot reach) stops the player, which raises it.
    """
    own_engine = engine is None
    pack, engine, voice = open_speaker(script, engine, voice, plan, target_s)  # as prepare_session does
    try:
        phrase_cache = PhraseCache() if cache is True else (cache or None)
        if phrase_cache is not None:
            phrase_cache = _WritesLater(phrase_cache)  # 7 entries written cost 24-70 ms before the first sound (load 6-10)
        lexicon = lexicon if lexicon is not None else load_lexicon(script.meta.language, script_lexicon(script))
        if pack is not None:
            engine = VoicePackEngine(pack, engine)
        settings = voice_settings(script, engine, voice)
        order = speaking_order(script)
        counts = count_words(script)
        recorded = [text for text in order if pack is not None and pack.has(text)]  # known at once, read from disk
        spoken_counts = frozenset(counts)
        speech = levelled_phrases(recorded, settings, engine, phrase_cache, lexicon, mix, progress, counts=spoken_counts)
        clips = load_clips(script, mix)
        live = _Settler(script, speech, clips, settings, mix, plan, target_s, pack, order)
        provisional = live.provisional()
        if order and order[0] not in speech and not _silent_lead_in(provisional):
            # the session sounds before its first phrase (a bell, the ambience): a wait for that
            # phrase would be heard, so it is made before the first sound; the count words and
            # the returns never are (the horizon stops short of where their lengths matter)
            speech.merge(
                levelled_phrases(order[:1], settings, engine, phrase_cache, lexicon, mix, progress, counts=spoken_counts)
            )
            provisional = live.provisional()
    except BaseException:
        if own_engine:
            engine.close()
        raise
    mixer = LiveMixer(*provisional) if provisional else None
    rest = [text for text in order if text not in speech]
    if mixer is None or not rest:  # nothing to estimate, or estimates that do not plan: make it all first
        try:
            if rest:
                speech.merge(levelled_phrases(rest, settings, engine, phrase_cache, lexicon, mix, progress, counts=spoken_counts))
        finally:
            if own_engine:
                engine.close()
        if phrase_cache is not None:
            phrase_cache.flush()
        session = assemble_session(script, speech, clips, settings, mix, plan, target_s, pack)
        mixer = LiveMixer(session.mixer, session.mixer.total_frames)
        mixer.settle(session.mixer)
        return LiveSession(script, mixer, settings, session)
    result = LiveSession(script, mixer, settings)

    def settle() -> None:
        try:
            live.make(rest, engine, phrase_cache, lexicon, mixer, result._cancel)
            if phrase_cache is not None:
                phrase_cache.flush()
            if result._cancel.is_set():
                return
            result.session = assemble_session(script, speech, clips, settings, mix, plan, target_s, pack)
            mixer.settle(result.session.mixer)
            for text in order:  # level in speaking order, ahead of the render thread
                if result._cancel.is_set():
                    return
                speech[text]
        except BaseException as exc:  # noqa: BLE001 - the player raises it
            log.debug("settling the session failed: %s", exc)
            mixer.fail(exc)
        finally:
            if own_engine:
                engine.close()

    result._worker = threading.Thread(target=settle, name="voiceguide-settle", daemon=True)
    result._worker.start()
    return result


def _silent_lead_in(provisional: tuple[Mixer, int] | None) -> bool:
    """True when what may be played before the first phrase is made is
    silence: the session may then start at once, with the first phrase made
    while its lead-in plays (a wait for it at the horizon is silence too)."""
    if provisional is None or provisional[1] <= 0:
        return False
    mixer, ready = provisional
    return not np.any(mixer.render(0, ready))


class _Settler:
    """Plans a session from the phrases made so far and estimates for the rest."""

    def __init__(
        self,
        script: Script,
        speech: Phrases,
        clips: dict[Path, Audio],
        settings: VoiceSettings,
        mix: MixSettings,
        plan: PlanSettings,
        target_s: float | None,
        pack: VoicePack | None,
        order: list[str],
    ):
        self.script, self.speech, self.clips, self.settings = script, speech, clips, settings
        self.mix, self.plan, self.target_s, self.pack, self.order = mix, plan, target_s, pack, order
        self.counts = count_words(script)
        self.onsets: dict[str, float] = {}

    def lengths_s(self) -> tuple[dict[str, float], set[str]]:
        """Every phrase's length in seconds, estimated for those not made
        yet (from the pace of those made), and the set of real ones."""
        rate = self.mix.sample_rate
        real = {text: self.speech.frames(text) / rate for text in self.order if text in self.speech}
        chars = sum(len(text) for text in real)
        per_char = sum(real.values()) / chars if chars else 60.0 / max(self.settings.rate, 1) / 6
        return {text: real.get(text, per_char * len(text)) for text in self.order}, set(real)

    def provisional(self) -> tuple[Mixer, int] | None:
        """A mixer over the plan of the moment and the frames it is certain
        for; None when the estimates do not plan (the real lengths decide)."""
        lengths, real = self.lengths_s()
        clip_s = {path: audio.duration_s for path, audio in self.clips.items()}
        try:
            timeline = plan_timeline(self.script, lengths, clip_s, self.plan, target_s=self.target_s)
        except ScriptError:
            return None
        known = real - {word for word in self.counts if word not in self.onsets}  # a count's place needs its onset
        onset_s = max((lengths[word] for word in self.counts), default=0.0)  # an onset lies inside its word
        until_s = settled_until_s(
            self.script, known, clip_s, self.plan, speech_s=lengths, target_s=self.target_s, count_onset_s=onset_s
        )
        if self.script.returns:
            # a return goes into a stretch without a voice once its end is known: none lies within
            # RETURN_MARGIN_S after the last voice before the horizon (earlier stretches are settled)
            voiced = [e.end_s for e in timeline.events if e.kind in VOICE_KINDS and e.start_s < until_s]
            until_s = min(until_s, max(voiced, default=self.plan.lead_in_s) + RETURN_MARGIN_S)
            if not all(line.text in real for line in self.script.returns):  # where they go depends on their lengths
                until_s = min(until_s, earliest_return_s(timeline.events, timeline.duration_s))
            timeline = with_returns(timeline, self.script.returns, lengths)
        timeline = place_counts_on_beat(timeline, self.onsets)
        mixer = Mixer(timeline, _Estimated(self.speech, lengths, self.mix.sample_rate), self.clips, self.mix)
        return mixer, self.frames_until(until_s, mixer.total_frames)

    def frames_until(self, until_s: float, total_frames: int | None = None) -> int:
        """The frames that may be rendered while the events before ``until_s``
        are certain: the mix reaches beyond an event (the ambience ducks ahead
        of a voice; the closing fades hang off the end, which lies at least
        the tail after ``until_s``), and one frame of rounding is kept."""
        if math.isinf(until_s):
            assert total_frames is not None
            return total_frames
        ambience = self.mix.ambience != "none"
        reach_s = DUCK_RAMP_S if ambience else 0.0
        end_s = until_s + self.plan.tail_s - max(self.mix.fade_out_s, AMBIENCE_FADE_S if ambience else 0.0)
        return max(0, math.floor(min(until_s - reach_s, end_s) * self.mix.sample_rate) - 1)

    def make(
        self,
        rest: list[str],
        engine: SpeechEngine,
        cache: PhraseCache | None,
        lexicon: Lexicon,
        mixer: LiveMixer,
        cancel: threading.Event,
    ) -> None:
        """Make the phrases in ``rest`` in chunks, moving the horizon after each."""
        size, start = FIRST_CHUNK, 0
        while start < len(rest) and not cancel.is_set():
            chunk = rest[start : start + size]
            start += len(chunk)
            self.speech.merge(
                levelled_phrases(chunk, self.settings, engine, cache, lexicon, self.mix, counts=frozenset(self.counts))
            )
            if isinstance(cache, _WritesLater):
                cache.flush()  # the first sound is out by now (or being mixed)
            if set(self.counts) <= set(self.speech) and not self.onsets:
                self.onsets = {word: self.speech.vowel_onset_s(word) for word in self.counts}
            # a fitted plan moves on once, past its first phrase (the fitter stretches only what
            # follows), and then settles once all are known
            if start < len(rest) and (self.target_s is None or start == len(chunk)):
                provisional = self.provisional()
                if provisional is not None:
                    mixer.advance(*provisional)
            size = min(2 * size, CHUNK_CEILING)


class _Estimated(Mapping[str, Audio]):
    """The phrases for a plan of the moment: real lengths where made, the
    estimate elsewhere (never rendered: they lie past the horizon)."""

    def __init__(self, speech: Phrases, lengths_s: dict[str, float], rate: int):
        self._speech = speech
        self._frames_est = {text: round(seconds * rate) for text, seconds in lengths_s.items()}

    def frames(self, text: str) -> int:
        return self._speech.frames(text) if text in self._speech else self._frames_est[text]

    def made(self, text: str) -> bool:
        """True for a phrase made already, False for one planned from an estimate."""
        return text in self._speech

    def __getitem__(self, text: str) -> Audio:
        return self._speech[text]

    def __iter__(self):
        return iter(self._frames_est)

    def __len__(self) -> int:
        return len(self._frames_est)

    def __contains__(self, text: object) -> bool:
        return text in self._frames_est


class _WritesLater(PhraseCache):
    """The phrase cache with its writes held back until :meth:`flush`: what
    is made before the first sound is written by the settling thread, not
    in the way of that sound. A held entry reads back as written."""

    def __init__(self, cache: PhraseCache):
        super().__init__(cache.folder)
        self._cache = cache
        self._held: dict[str, Audio] | None = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Audio | None:
        with self._lock:
            held = self._held.get(key) if self._held is not None else None
        return held if held is not None else self._cache.get(key)

    def put(self, key: str, audio: Audio) -> None:
        with self._lock:
            if self._held is not None:
                self._held[key] = audio
                return
        self._cache.put(key, audio)

    def flush(self) -> None:
        """Write what is held, and every later entry at once."""
        with self._lock:
            held, self._held = self._held or {}, None
        for key, audio in held.items():
            self._cache.put(key, audio)
