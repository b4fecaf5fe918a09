"""The pipeline in one place: from a script to a ready-to-render session.

    >>> from voiceguide import load_script, prepare_session, export_session
    >>> session = prepare_session(load_script("zelfkalmering"))
    >>> export_session(session, "zelfkalmering.mp3")

:func:`prepare_session` runs stages 2 to 5 on a script that stage 1
(**parse**, :mod:`voiceguide.parse.script`) made:

2. **speak** (:mod:`voiceguide.speech`): every distinct phrase, respelled
   by the lexicon, from the phrase cache or the engine;
3. **level** (:mod:`voiceguide.dsp.level`): trimmed, resampled to the mix
   rate, given a natural release, levelled to the voice level; clips too;
4. **plan** (:mod:`voiceguide.plan.timeline`): absolute times for everything,
   stretched to a target length when asked; short returns laid over long
   stretches without a voice (:mod:`voiceguide.plan.returns`); counts placed
   with their vowel on the beat;
5. **mix** (:mod:`voiceguide.mix.mixer`): a :class:`~voiceguide.mix.mixer.Mixer` that
   renders any span of the session in blocks, for stage 6, the sinks
   (:mod:`voiceguide.sinks`: export and player).
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from . import rules
from .audio import Audio, quantize, silence_before
from .clock import format_clock_tenths
from .dsp.level import level_clip, level_voice, shape, voice_frames, vowel_onset_s
from .dsp.loudness import LoudnessProfile, frame_profile
from .errors import ScriptError
from .i18n import _, ngettext
from .mix.mixer import Mixer, MixSettings
from .parse.exercises import builtins
from .parse.script import At, Breathe, Clip, Pause, Script, parse_script
from .plan.returns import with_returns
from .plan.timeline import (
    Kind,
    PlanSettings,
    Timeline,
    count_words,
    length_range,
    place_counts_on_beat,
    plan_timeline,
    spoken_texts,
)
from .progress import Progress, no_progress
from .rules import MAX_CLIP_S
from .speech.cache import PhraseCache, read_json_cache, write_json_cache
from .speech.choice import choose_voice
from .speech.engine import SpeechEngine, VoiceSettings
from .speech.factory import open_engine
from .speech.lexicon import Lexicon, load_lexicon
from .speech.pack import Recording, VoicePack, VoicePackEngine, check_coverage
from .speech.phrases import cache_identity, synthesize_each
from .speech.unhurried import UNHURRIED, planned_rates, too_fast, unhurried
from .speech.voices import resolve_voice

CLIP_BLOCK_FRAMES = 65_536


@dataclass(frozen=True)
class VoiceOptions:
    """Overrides for the script's own voice settings (None keeps the script's)."""

    voice: str | None = None
    rate: int | None = None
    """Words per minute, as heard."""
    pitch: int | None = None
    engine: str | None = None
    """``espeak``, ``pyttsx3`` or ``piper`` (None: ``piper`` for a ``piper:``
    voice, else the platform's default, see
    :func:`voiceguide.speech.factory.default_engine_name`)."""
    voice_pack: Path | None = None
    """A voice pack folder: its recordings speak the phrases it has, the
    engine the rest (see :mod:`voiceguide.speech.pack`)."""
    strict: bool = False
    """Refuse a voice pack that lacks any of the script's phrases."""


@dataclass
class Session:
    """A planned session, ready to render."""

    script: Script
    timeline: Timeline
    mixer: Mixer
    voice: VoiceSettings
    count_onsets_s: dict[str, float] = field(default_factory=dict)
    """Per count word, where its vowel starts in its audio (s)."""
    recorded: frozenset[str] = frozenset()
    """The phrases spoken by a voice pack's recordings."""

    @property
    def sample_rate(self) -> int:
        return self.mixer.sample_rate

    @property
    def duration_s(self) -> float:
        return self.timeline.duration_s

    def wait_written(self) -> None:
        """Return once the levelled phrases are in the phrase cache."""
        phrases = self.mixer.voice
        if isinstance(phrases, Phrases):
            phrases.wait_written()

    def stop_levelling(self) -> None:
        """Stop what :meth:`level_ahead` (and an export's early levelling) does in
        the background: the session is abandoned (an export that failed)."""
        phrases = self.mixer.voice
        if isinstance(phrases, Phrases):
            phrases.stop_levelling()

    def level_ahead(self) -> None:
        """Start levelling, in a background thread and in speaking order, the
        phrases not levelled yet (a sink that will need them all calls this:
        export and play; show and check never level)."""
        phrases = self.mixer.voice
        if isinstance(phrases, Phrases):
            phrases.level_ahead([event.text for event in self.timeline.events if event.kind in (Kind.SPEECH, Kind.COUNT)])


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
    progress: Progress = no_progress,
    level_early: bool = False,
) -> Session:
    """Synthesize, level and plan ``script``.

    ``engine`` defaults to a new engine (``voice.engine``, else the
    platform's default) that is closed again afterwards; pass your own to
    reuse one across sessions. ``cache=True`` uses the user cache folder,
    ``False``/``None`` disables caching. ``target_s`` stretches or shrinks
    the session to that length (see :func:`~voiceguide.plan.timeline.plan_timeline`).
    ``lexicon`` defaults to the built-in and user respellings for the
    script's language. ``voice.voice_pack`` puts a voice pack in front of
    the engine (a missing phrase is one warning, or with ``voice.strict``
    a VoicePackError); its recordings keep their own natural ends.
    ``level_early``: the caller will level every phrase (an export; ``show``
    and ``check`` level none), so each is levelled in the background as soon
    as it is made (see :class:`EarlyLevelling`).
    """
    own_engine = engine is None
    pack, engine, voice = open_speaker(script, engine, voice, plan, target_s)
    phrase_cache = PhraseCache() if cache is True else (cache or None)
    lexicon = lexicon if lexicon is not None else load_lexicon(script.meta.language, script_lexicon(script))
    try:
        if pack is not None:
            engine = VoicePackEngine(pack, engine)
        settings = voice_settings(script, engine, voice)
        speech = levelled_phrases(
            spoken_texts(script),
            settings,
            engine,
            phrase_cache,
            lexicon,
            mix,
            progress,
            counts=frozenset(count_words(script)),
            level_early=level_early,
        )
    finally:
        if own_engine:
            engine.close()
    return assemble_session(script, speech, load_clips(script, mix), settings, mix, plan, target_s, pack)


def open_speaker(
    script: Script, engine: SpeechEngine | None, voice: VoiceOptions, plan: PlanSettings, target_s: float | None
) -> tuple[VoicePack | None, SpeechEngine, VoiceOptions]:
    """What every way of preparing a session does first, before any speech
    is made: refuse a script too long for any voice, open the voice pack and
    check what it covers, choose the voice (``auto``: an installed natural
    voice, see :mod:`voiceguide.speech.choice`) and open an engine for it
    unless ``engine`` is given. Returns the pack, the engine and the options
    with the chosen voice."""
    refuse_overlong(script, plan, target_s)
    pack = VoicePack.open(voice.voice_pack, script.meta.language) if voice.voice_pack is not None else None
    if pack is not None:
        check_coverage(pack, spoken_texts(script), strict=voice.strict)
    chosen = choose_voice(voice.voice, voice.engine or getattr(engine, "name", None), script.meta.voice, script.meta.language)
    voice = replace(voice, voice=chosen.voice)
    return pack, engine or open_engine(voice.engine, voice.voice or script.meta.voice), voice


def assemble_session(
    script: Script,
    speech: Phrases,
    clips: dict[Path, Audio],
    settings: VoiceSettings,
    mix: MixSettings = MixSettings(),
    plan: PlanSettings = PlanSettings(),
    target_s: float | None = None,
    pack: VoicePack | None = None,
) -> Session:
    """Stages 4 and 5 once every phrase's length is known: the count words'
    vowel onsets, the plan, the mixer. The one place a session is planned,
    so a session played while its phrases were still being made
    (:mod:`voiceguide.live`) ends with the same plan as its export."""
    onsets = {word: speech.vowel_onset_s(word) for word in count_words(script) if word in speech}
    timeline = plan_timeline(
        script,
        {text: speech.frames(text) / mix.sample_rate for text in speech},
        {path: audio.duration_s for path, audio in clips.items()},
        plan,
        target_s=target_s,
    )
    timeline = with_returns(
        timeline, script.returns, {line.text: speech.frames(line.text) / mix.sample_rate for line in script.returns}
    )
    timeline = place_counts_on_beat(timeline, onsets)
    recorded = frozenset(text for text in speech if pack is not None and pack.has(text))
    return Session(script, timeline, Mixer(timeline, speech, clips, mix), settings, onsets, recorded)


SHORTEST_WORD_S = 0.1
"""No engine speaks a word in less (600 words per minute; the fastest rate
voiceguide asks for is 400): a lower bound on every phrase's length."""


def least_possible_s(script: Script, words_s: Mapping[str, float]) -> float:
    """A floor under the script's length, summed item by item without
    planning it: every pause at its minimum, every breathing block at its
    fewest cycles, every sentence at ``words_s``. The planner lays out each
    breath cycle as events, so a script of 8,000 blocks of 500 cycles (11
    years) took gigabytes before it could be refused; this takes a pass."""
    total = 0.0
    for item in script.items:
        if isinstance(item, Pause):
            total += item.min_s
        elif isinstance(item, Breathe):
            total += item.cycles_min * item.cycle_s
    return total + sum(words_s.get(sentence.text, 0.0) for sentence in script.sentences())


def refuse_overlong(script: Script, plan: PlanSettings = PlanSettings(), target_s: float | None = None) -> None:
    """Refuse, before any speech is made, a script that would last beyond
    the session limit even if every word took only ``SHORTEST_WORD_S``, every
    clip nothing and no ``[at]`` waited (the shortest it can be made, when
    ``target_s`` asks for a length).

    200 kB of short, different sentences planned 6.7 hours, past the
    3-hour limit; but only after synthesizing 20,000 phrases (minutes of
    espeak, half a GB of cache, 1 GB of memory). Such a script is
    refused now, with the least it would last.

    Raises ScriptError (at the script, without a line).
    """
    rough = replace(script, items=tuple(item for item in script.items if not isinstance(item, At)))
    words = {
        text: SHORTEST_WORD_S * sum(any(ch.isalnum() for ch in word) for word in text.split()) for text in spoken_texts(rough)
    }
    clips = {item.path: 0.0 for item in rough.items if isinstance(item, Clip)}
    floor_s = least_possible_s(rough, words)
    try:
        if floor_s > plan.max_session_s:  # years of breathing: refused without planning millions of cycles
            least = floor_s
        elif target_s is None:
            least = plan_timeline(rough, words, clips, replace(plan, max_session_s=math.inf)).duration_s
        else:
            least, _longest = length_range(rough, words, clips, replace(plan, max_session_s=math.inf))
    except ScriptError:
        return  # what the real plan will report, with real lengths
    if least <= plan.max_session_s:
        return  # the real plan says what is wrong, if anything, with real lengths
    least_text = ngettext("at least {length} ({count} phrase)", "at least {length} ({count} phrases)", len(words)).format(
        length=format_clock_tenths(least), count=len(words)
    )
    limit = format_clock_tenths(plan.max_session_s)
    if target_s is None:
        raise ScriptError(
            _(
                "this session would last {least}; the limit is {limit} (a shorter script, or raise the limit with VOICEGUIDE_MAX_MINUTES)"
            ).format(least=least_text, limit=limit),
            script.source,
        )
    raise ScriptError(
        _("cannot make this session {length} long; it lasts {least}, beyond the limit of {limit}").format(
            length=format_clock_tenths(target_s), least=least_text, limit=limit
        ),
        script.source,
    )


LEVEL_VERSION = 5
"""Bump when :func:`voiceguide.dsp.level.level_voice` (or what feeds it:
:func:`voiceguide.speech.unhurried.unhurried` since 4) changes what it
makes: levelled phrases in the cache are then made again (5: phrases padded
to a 20 ms grid at every rate)."""
ONSET_VERSION = 1
"""Bump when how an engine's vowel onsets are found changes: kept ones are then asked for again."""


def level_phrase(raw: Audio, mix: MixSettings) -> Audio:
    """One phrase as the engine made it (or a voice pack's recording), levelled
    for the mix and put on the 16-bit grid: what :class:`Phrases` keeps."""
    natural = isinstance(raw, Recording)
    return quantize(level_voice(raw, mix.sample_rate, mix.voice_rms_dbfs, mix.peak_dbfs, natural_end=natural))


class EarlyLevelling:
    """Phrases levelled in a background thread as the engine makes them, in
    the order they are offered, while the main thread waits for the rest.

    An export needs every phrase levelled: a cold export of session.vg
    waited ~0.2 s for the speech server (with a core to spare) and then
    levelled all 22 phrases. :func:`levelled_phrases` offers each phrase
    that is final as it comes (one :func:`~voiceguide.speech.unhurried.unhurried`
    will not say again, a count, a recording), and the retakes once they
    are made. :class:`Phrases` takes a result only for the very audio that
    was offered (else it levels the phrase itself), and a phrase not
    started yet when it is needed is levelled by whoever needs it. Nothing
    is written here: the phrase cache gets a levelled phrase when
    :class:`Phrases` takes it, so a failure in synthesis leaves the cache
    as the one-by-one path does.
    """

    def __init__(self, mix: MixSettings):
        self._mix = mix
        self._lock = threading.Lock()
        self._entries: dict[str, _Early] = {}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        # not a daemon: a process never ends while it is inside numpy (that
        # aborted the interpreter's exit); whoever abandons the session stops it
        self._thread = threading.Thread(target=self._run, name="voiceguide-level-early")
        self._thread.start()

    def offer(self, text: str, raw: Audio) -> None:
        """Level ``raw`` for ``text`` when the thread gets to it (a text offered again replaces it)."""
        with self._lock:
            self._entries[text] = _Early(raw)
        self._queue.put(text)

    def offered(self, text: str, raw: Audio) -> bool:
        with self._lock:
            entry = self._entries.get(text)
        return entry is not None and entry.raw is raw

    def close(self) -> None:
        """Offer no more: the thread levels what is queued, then ends."""
        self._queue.put(None)

    def cancel(self) -> None:
        """Level nothing that has not started, and end the thread (the session
        will not be made): it finishes the phrase it is on (~10 ms)."""
        with self._lock:
            for entry in self._entries.values():
                if entry.state == "queued":
                    entry.state = "taken"
        self.close()
        self._thread.join()

    def frames(self, text: str, raw: Audio) -> int | None:
        """The levelled phrase's length if ``raw`` was levelled for ``text``
        already (without waiting), else None: a phrase's length is otherwise
        found by trimming and releasing it again (~0.8 ms a phrase, before
        the plan)."""
        with self._lock:
            entry = self._entries.get(text)
            if entry is None or entry.raw is not raw or not entry.done.is_set() or entry.result is None:
                return None
            return len(entry.result[0].samples)

    def busy(self, text: str) -> bool:
        """Whether the thread is levelling ``text`` now (whoever needs it will wait for it)."""
        with self._lock:
            entry = self._entries.get(text)
            return entry is not None and entry.state == "levelling"

    def take(self, text: str, raw: Audio) -> tuple[Audio, LoudnessProfile] | None:
        """The levelled ``raw`` and its loudness profile if it was offered for
        ``text`` (waiting while it is being levelled); None if it was not,
        has not started (the caller levels it), or failed (the caller levels
        it again, and sees why)."""
        with self._lock:
            entry = self._entries.pop(text, None)
            if entry is None or entry.raw is not raw:
                return None
            if entry.state == "queued":
                entry.state = "taken"
                return None
        entry.done.wait()
        return entry.result

    def _run(self) -> None:
        while (text := self._queue.get()) is not None:
            with self._lock:
                entry = self._entries.get(text)
                if entry is None or entry.state != "queued":
                    continue
                entry.state = "levelling"
            try:
                audio = level_phrase(entry.raw, self._mix)
                entry.result = audio, frame_profile(audio.samples, audio.sample_rate)
            except Exception:  # noqa: BLE001 - the phrase is levelled again where it is needed, and raises there
                entry.result = None
            finally:
                entry.done.set()


class WritesBehind:
    """Calls made in order by a thread of their own, started when there is
    work and ending when there is none; not a daemon, so what was handed to
    it is done before the process ends. An export's levelled phrases go to
    the cache this way: taken from the early levelling by the thread that
    plans the gain, their writes (~2.8 ms each, 48 ms for session.vg) held
    up the plan."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: deque[Callable[[], None]] = deque()
        self._thread: threading.Thread | None = None

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            self._work.append(work)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voiceguide-cache-writes")
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._work:
                    self._thread = None
                    return
                work = self._work.popleft()
            work()

    def wait(self) -> None:
        """Return once everything handed over is done."""
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return
            thread.join()


class _CacheWritesBehind(PhraseCache):
    """The phrase cache with its writes done by a :class:`WritesBehind` thread;
    an entry not written yet reads back as written. An export's synthesis
    wrote each phrase as it came back (~3 ms each, 30 for session.vg with
    the retakes) before asking the speech server for the next ones."""

    def __init__(self, cache: PhraseCache, writes: WritesBehind):
        super().__init__(cache.folder)
        self._cache = cache
        self._writes = writes
        self._pending: dict[str, Audio] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Audio | None:
        with self._lock:
            pending = self._pending.get(key)
        return pending if pending is not None else self._cache.get(key)

    def put(self, key: str, audio: Audio) -> None:
        with self._lock:
            self._pending[key] = audio

        def write() -> None:
            self._cache.put(key, audio)
            with self._lock:
                if self._pending.get(key) is audio:
                    del self._pending[key]

        self._writes.submit(write)


@dataclass(eq=False)
class _Early:
    raw: Audio
    state: str = "queued"
    """queued, levelling (by the thread), or taken (by whoever needs it first)."""
    result: tuple[Audio, LoudnessProfile] | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Phrases(Mapping[str, Audio]):
    """The session's phrases, levelled for the mix (stage 3), made when first used.

    Their lengths are known at once (:func:`voiceguide.dsp.level.voice_frames`),
    so the session is planned before any phrase is levelled; a phrase is
    levelled the first time it is needed (by the mixer, or by
    :meth:`level_ahead` in the background, in the order they are spoken),
    then kept, and written to the phrase cache. So ``play`` starts sounding
    once the first phrase is ready, and ``show`` never levels at all.
    Levelled audio is kept on the 16-bit grid (:func:`~voiceguide.audio.quantize`)
    whether it comes from the cache or not: cold and warm exports are the same bytes.
    A voice pack's recording (:class:`~voiceguide.speech.pack.Recording`) is
    levelled with ``natural_end``: it is trimmed and ends with the speaker's
    own release already, so it gets neither the trim nor the release made for
    a synthesized voice's abrupt end.
    """

    def __init__(
        self,
        ready: dict[str, Audio],
        raw: dict[str, Audio],
        mix: MixSettings,
        store,
        onsets: Mapping[str, float] | None = None,
        early: EarlyLevelling | None = None,
        writes: WritesBehind | None = None,
    ):
        self._onsets = dict(onsets or {})
        self._ready = dict(ready)
        self._raw = dict(raw)
        self._mix = mix
        self._stores = dict.fromkeys(raw, store)
        self._early = dict.fromkeys(raw, early) if early is not None else {}
        self._early_levelling = early
        self._writes = writes
        self._profiles: dict[str, LoudnessProfile] = {}
        self._measuring = early is not None
        self._locks = {text: threading.Lock() for text in raw}
        self._order = [*ready, *raw]
        self._frames = {text: len(audio.samples) for text, audio in ready.items()}
        for text, audio in raw.items():
            known = early.frames(text, audio) if early is not None else None
            self._frames[text] = (
                known
                if known is not None
                else voice_frames(len(shape(audio, natural_end=isinstance(audio, Recording))), audio.sample_rate, mix.sample_rate)
            )
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()

    def frames(self, text: str) -> int:
        """The phrase's length at the mix rate, without levelling it."""
        return self._frames[text]

    def vowel_onset_s(self, text: str) -> float:
        """Seconds from the start of the levelled phrase to its first vowel:
        as the engine tells it (a Piper voice, from its network's durations),
        else found in the audio (:func:`~voiceguide.dsp.level.vowel_onset_s`)."""
        told = self._onsets.get(text)
        return told if told is not None else vowel_onset_s(self[text])

    def __getitem__(self, text: str) -> Audio:
        found = self._ready.get(text)
        if found is not None:
            return found
        with self._locks[text]:  # KeyError for a text the session does not have
            if text not in self._ready:
                raw = self._raw[text]
                early = self._early.pop(text, None)
                made = early.take(text, raw) if early is not None else None
                if made is not None:
                    audio, self._profiles[text] = made
                else:
                    audio = level_phrase(raw, self._mix)
                    if self._measuring:
                        self._profiles[text] = frame_profile(audio.samples, audio.sample_rate)
                self._stores[text](text, audio)
                self._ready[text] = audio
            return self._ready[text]

    def measured_profile(self, text: str, samples: np.ndarray) -> LoudnessProfile | None:
        """The loudness profile of phrase ``text`` if it was measured as it was
        levelled (an early-levelled session's, see :class:`EarlyLevelling`)
        and ``samples`` are that phrase's; else None (the export measures it)."""
        found = self._ready.get(text)
        return self._profiles.get(text) if found is not None and found.samples is samples else None

    def __iter__(self):
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, text: object) -> bool:
        return text in self._frames  # without levelling it (Mapping's own would)

    def merge(self, more: Phrases) -> None:
        """Take in phrases made later (:mod:`voiceguide.live`); texts already here stay as they are."""
        for text in more._order:
            if text in self._frames:
                continue
            if text in more._raw:
                self._raw[text] = more._raw[text]
                self._stores[text] = more._stores[text]
                self._locks[text] = threading.Lock()
                if text in more._early:
                    self._early[text] = more._early[text]
            else:
                self._ready[text] = more._ready[text]
            if text in more._onsets:
                self._onsets[text] = more._onsets[text]
            self._frames[text] = more._frames[text]
            self._order.append(text)

    def wait_written(self) -> None:
        """Return once the levelled phrases are in the cache (an export's are written behind it)."""
        if self._writes is not None:
            self._writes.wait()

    def stop_levelling(self) -> None:
        """Level nothing more in the background (the session is abandoned: an
        export that failed); returns once the threads have finished the
        phrase in hand."""
        self._stopping.set()
        if self._early_levelling is not None:
            self._early_levelling.cancel()
        for worker in self._workers:
            worker.join()

    def level_ahead(self, order: list[str]) -> None:
        """Level the phrases not yet made, in ``order``, in a background thread
        (a second one was no faster beside an export's early levelling:
        1.008 s against 1.002 s for session.vg, medians of 10 paired runs)."""
        texts = [text for text in dict.fromkeys(order) if text not in self._ready]

        def level() -> None:
            for text in texts:
                if self._stopping.is_set():
                    return
                early = self._early.get(text)
                if early is not None and early.busy(text):
                    continue  # the early thread has it in hand: take the next, rather than wait
                self[text]

        if texts and not self._workers:
            self._workers = [threading.Thread(target=level, name="voiceguide-level")]
            self._workers[0].start()


def levelled_phrases(
    texts: list[str],
    settings: VoiceSettings,
    engine: SpeechEngine,
    cache: PhraseCache | None,
    lexicon: Lexicon,
    mix: MixSettings,
    progress: Progress = no_progress,
    counts: frozenset[str] = frozenset(),
    level_early: bool = False,
) -> Phrases:
    """Every phrase of the script, for the mix (stages 2 and 3): from the
    cache levelled where it can, else synthesized (or from the cache as the
    engine made it) and levelled when first used (see :class:`Phrases`).
    No phrase is faster than a calm pace (:mod:`voiceguide.speech.unhurried`),
    except the spoken ``counts``: one word on a beat, said as the engine says it.

    The cache keeps each phrase twice, as the engine made it and levelled at
    the mix's rate and level: a warm export reads the levelled one and
    neither synthesizes, resamples nor compresses. A voice pack's recordings
    are not kept as the engine made them (they are on disk already); their
    levelled copies are keyed by the pack's identity (in the engine's
    ``describe()``), so a re-recorded phrase is levelled anew.

    ``level_early`` (a caller that will level every phrase: an export)
    levels each phrase in a background thread as soon as it is made and
    final, beside the synthesis of the rest (see :class:`EarlyLevelling`);
    the same phrases, the same cache.
    """
    texts = list(dict.fromkeys(texts))
    ready: dict[str, Audio] = {}
    level_keys: dict[str, str] = {}
    # an engine that knows where a count's vowel lies (Piper) tells it; kept beside the levelled phrase
    telling = getattr(engine, "vowel_onsets_s", None) if counts else None
    onsets: dict[str, float] = {}
    onset_keys: dict[str, str] = {}
    if cache is not None:
        engine_id, keyed = cache_identity(engine, settings)
        tag = f"|level {LEVEL_VERSION} {mix.sample_rate} {mix.voice_rms_dbfs} {mix.peak_dbfs} {UNHURRIED}"
        for text in texts:
            level_keys[text] = cache.derived_key(cache.key(engine_id, keyed, lexicon.apply(text)), tag)
            if telling is not None and text in counts:
                onset_keys[text] = "vowel-onset-" + cache.derived_key(level_keys[text], f"|vowel {ONSET_VERSION}")[:32]
                kept = read_json_cache(onset_keys[text])
                if not isinstance(kept, (int, float)) or isinstance(kept, bool) or not 0 <= kept < 60:
                    continue  # made again, so the engine can tell its onset
                onsets[text] = float(kept)
            found = cache.get(level_keys[text])
            if found is not None:
                ready[text] = found
    missing = [text for text in texts if text not in ready]
    # not beside an engine that keeps every core busy itself (Piper's threads): there levelling early
    # saved no time and raised a cold export's peak memory by 10-24 MB (306-310 -> 320-330 MB)
    early = EarlyLevelling(mix) if level_early and missing and not getattr(engine, "fills_the_cores", False) else None
    writes = WritesBehind() if early is not None and cache is not None else None
    speech_cache = _CacheWritesBehind(cache, writes) if writes is not None and cache is not None else cache
    exact = getattr(engine, "exact_rate", False)

    def made(text: str, audio: Audio) -> None:
        # final as made: a count, a recording, or a phrase unhurried will not say again
        if early is not None and (
            text in counts or isinstance(audio, Recording) or exact or too_fast(text, audio, settings) is None
        ):
            early.offer(text, audio)

    try:
        # an engine that knows its phrases' lengths before making them (Piper) says the fast ones slower at once
        planned = planned_rates([text for text in missing if text not in counts], settings, engine, lexicon) if missing else {}
        raw = (
            synthesize_each(
                {text: replace(settings, rate=planned.get(text, settings.rate)) for text in missing},
                engine,
                speech_cache,
                lexicon,
                progress,
                made,
            )
            if missing
            else {}
        )
        paced = unhurried(
            {text: audio for text, audio in raw.items() if text not in counts},
            settings,
            engine,
            speech_cache,
            lexicon,
            progress,
            planned,
        )
        raw = {text: paced.get(text, audio) for text, audio in raw.items()}
        if early is not None:
            for text, audio in raw.items():  # the retakes, now final
                if not early.offered(text, audio):
                    early.offer(text, audio)
            early.close()
        told = [text for text in raw if text in counts and text not in onsets and not isinstance(raw[text], Recording)]
        if telling is not None and told:
            for text, onset_s in zip(told, telling([lexicon.apply(text) for text in told], settings)):
                if onset_s is None:
                    continue
                audio = raw[text]  # levelling trims its leading silence (dsp.level.shape): the onset moves with it
                onsets[text] = max(0.0, round(onset_s - silence_before(audio.samples, audio.sample_rate) / audio.sample_rate, 6))
                if text in onset_keys:
                    write_json_cache(onset_keys[text], onsets[text])
    except BaseException:
        if early is not None:
            early.cancel()
        if writes is not None:
            writes.wait()  # the phrases made before the failure are in the cache, as without the early levelling
        raise

    def store(text: str, audio: Audio) -> None:
        if speech_cache is not None:  # an export's is written behind the plan (see WritesBehind)
            speech_cache.put(level_keys[text], audio)

    return Phrases({text: ready[text] for text in texts if text in ready}, raw, mix, store, onsets, early, writes)


def script_lexicon(script: Script) -> Path | None:
    """The lexicon file a script names in its front matter (``lexicon: words.tsv``), beside it."""
    if not script.meta.lexicon:
        return None
    folder = Path(script.source).resolve().parent
    found = (folder / script.meta.lexicon).resolve()
    if not found.is_relative_to(folder):  # a symlink beside it that leads out: a shared script reads only beside itself
        raise ScriptError(
            _("lexicon '{name}' must be a file beside the script, not a link out of its folder").format(name=script.meta.lexicon),
            script.source,
        )
    return found


def voice_settings(script: Script, engine: SpeechEngine, options: VoiceOptions = VoiceOptions()) -> VoiceSettings:
    """What the engine speaks ``script`` with: the script's front matter,
    overridden by ``options``, with the voice resolved to one the engine has."""
    meta = script.meta
    requested = options.voice or meta.voice
    own_resolve = getattr(engine, "resolve_voice", None)  # an engine with voices beyond its list (Piper model files)
    voice_id = own_resolve(requested, meta.language) if own_resolve else resolve_voice(requested, meta.language, engine.voices())
    return VoiceSettings(voice_id, options.rate or meta.rate, meta.pitch if options.pitch is None else options.pitch, meta.volume)


def load_clips(script: Script, mix: MixSettings) -> dict[Path, Audio]:
    """Read every clip, mix it down to mono, resample and level it like the voice."""
    clips: dict[Path, Audio] = {}
    for item in script.items:
        if not isinstance(item, Clip) or item.path in clips:
            continue
        try:
            mono = read_clip(item.path, mix.sample_rate)
        except ValueError as problem:
            raise ScriptError(
                _("clip {name} {problem}").format(name=item.path.name, problem=problem), script.source, item.at.line, item.at.col
            ) from None
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise ScriptError(
                _("clip {name} cannot be read as audio ({exc})").format(name=item.path.name, exc=exc),
                script.source,
                item.at.line,
                item.at.col,
            ) from None
        clips[item.path] = level_clip(mono, mix.voice_rms_dbfs, mix.peak_dbfs)
    return clips


def read_clip(path: Path, sample_rate: int) -> Audio:
    """A clip as mono at ``sample_rate``, decoded block by block.

    A small file can declare a huge sound (8 channels at 384 kHz for ten
    minutes: 7 GB as float32), so what its header declares is checked
    before anything is decoded, and what is decoded is counted (a header
    can lie): memory stays at the mono result, at most ``MAX_CLIP_S`` at
    ``sample_rate``.

    Raises ValueError (saying what is too much, to follow "clip NAME"),
    or what soundfile raises for a file that is not audio.
    """
    with sf.SoundFile(str(path)) as file:
        rate, channels = int(file.samplerate), int(file.channels)
        declared = file.frames if file.frames < 1 << 62 else 0  # libsndfile says 2**63 - 1 for "unknown"
        if problem := rules.sound_problem(channels, rate, 0):  # channels and rate first
            raise ValueError(problem)
        if declared > int(MAX_CLIP_S * rate):
            raise ValueError(
                _("lasts {seconds:.0f} s; clips are limited to {limit:.0f} s").format(seconds=declared / rate, limit=MAX_CLIP_S)
            )
        if problem := rules.sound_problem(channels, rate, declared):
            raise ValueError(problem)
        most = min(int(MAX_CLIP_S * rate), rules.MAX_SOUND_SAMPLES // channels)
        resampler = None
        if rate != sample_rate:
            import soxr  # as in audio.resample: band-limited, imports fast

            resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
        # the result, filled as blocks come (a header that understates the length grows it)
        samples = np.empty(int((declared or rate) * sample_rate / rate) + 1024, dtype=np.float32)
        filled = decoded = 0

        def add(chunk: np.ndarray) -> None:
            nonlocal samples, filled
            if filled + len(chunk) > len(samples):
                samples = np.concatenate([samples[:filled], np.empty(len(chunk) + len(samples) // 2, dtype=np.float32)])
            samples[filled : filled + len(chunk)] = chunk
            filled += len(chunk)

        for block in file.blocks(blocksize=CLIP_BLOCK_FRAMES, dtype="float32", always_2d=True):
            decoded += len(block)
            if decoded > most:
                raise ValueError(
                    _("holds more than a clip may ({seconds} s, {samples} samples); its header did not say so").format(
                        seconds=f"{MAX_CLIP_S:.0f}", samples=f"{rules.MAX_SOUND_SAMPLES:,}"
                    )
                )
            mono = block.mean(axis=1, dtype=np.float32)
            add(resampler.resample_chunk(mono) if resampler else mono)
        if resampler:
            add(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return Audio(samples[:filled].copy() if filled < len(samples) - 4096 else samples[:filled], sample_rate)


@dataclass(frozen=True)
class BuiltinEntry:
    """A built-in exercise as ``voiceguide list`` shows it."""

    name: str
    language: str
    title: str
    length_s: float
    """Its planned length at the default settings, in seconds."""


def list_builtins(progress: Progress = no_progress) -> list[BuiltinEntry]:
    """Every built-in exercise in every language, with its title and its
    planned length at the default settings (the length an export has:
    phrases are synthesized, from the phrase cache after the first time)."""
    entries = []
    everything = builtins()
    with closing(open_engine()) as engine:
        for number, builtin in enumerate(everything):
            progress("planning the built-ins", number, len(everything))
            script = parse_script(builtin.text(), f"<built-in {builtin.resource_name}>")
            session = prepare_session(script, engine=engine)
            entries.append(BuiltinEntry(builtin.name, builtin.language, script.meta.title, session.duration_s))
    return entries
