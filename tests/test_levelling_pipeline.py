"""Phrases levelled while the rest are still being made (an export's
``level_early``, session.EarlyLevelling): the same phrases, in the same
order, the same phrase cache and the same file as levelling them one by
one after the synthesis; an engine failing half-way ends as before."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voiceguide import session as session_module
from voiceguide.audio import Audio
from voiceguide.errors import EngineError
from voiceguide.mix.mixer import MixSettings
from voiceguide.parse.script import parse_script
from voiceguide.session import EarlyLevelling, level_phrase, prepare_session
from voiceguide.sinks.export import export_session
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.fake import FakeEngine

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """---
title: Pipeline
language: nl
rate: 150
---
# Begin
Welkom bij deze korte oefening.
Ga rustig zitten en sluit je ogen als dat prettig voelt.
Snel even dit, dan gaan we verder.
[breathe 4-2-6 x2 count]
Merk op hoe je adem vanzelf gaat.
Voel je voeten op de grond.
Snel nog een zin die te vlot komt.
Laat je schouders zakken.
Je kaak mag zacht worden.
Je handen rusten.
Adem in door je neus.
En laat de adem langzaam gaan.
Je bent hier, nu.
[pause 2s]
Kom rustig terug.
"""


class Hurried(FakeEngine):
    """Says the phrases with "Snel" 40 % too fast at the script's rate (as
    espeak-ng says short phrases faster), so unhurried says them again."""

    exact_rate = False

    def synthesize(self, text, settings):
        if "Snel" in text and settings.rate == 150:
            settings = replace(settings, rate=210)
        return super().synthesize(text, settings)


class FailsAt(FakeEngine):
    """Fails on its ``at``-th phrase, after the first ones were made."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def synthesize(self, text, settings):
        if len(self.spoken) + 1 == self.at:
            raise EngineError("the engine gave up half-way")
        return super().synthesize(text, settings)


def cache_files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def made(engine, folder: Path, monkeypatch, level_early: bool, export: Path | None = None):
    """A session of SCRIPT made with its own cache folder (phrases and loudness profiles), every phrase levelled."""
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(folder))
    script = parse_script(SCRIPT, "pipeline.vg")
    session = prepare_session(
        script, engine=engine, cache=PhraseCache(folder / "phrases"), mix=MixSettings(sample_rate=32_000), level_early=level_early
    )
    if export is not None:
        export_session(session, export)
    phrases = session.mixer.voice
    return session, {text: phrases[text] for text in phrases}


@pytest.mark.parametrize("engine_class", [FakeEngine, Hurried])
def test_early_levelling_makes_the_phrases_cache_and_file_of_the_serial_path(engine_class, tmp_path, monkeypatch):
    serial_engine, early_engine = engine_class(), engine_class()
    serial, serial_phrases = made(serial_engine, tmp_path / "serial", monkeypatch, False, tmp_path / "serial.mp3")
    early, early_phrases = made(early_engine, tmp_path / "early", monkeypatch, True, tmp_path / "early.mp3")
    if engine_class is Hurried:  # the retakes were made, and what was levelled early of a first take was not used
        retaken = [text for text in early_engine.spoken if "Snel" in text]
        assert len(retaken) == 4 and len(set(retaken)) == 2
    assert early_engine.spoken == serial_engine.spoken
    assert list(early_phrases) == list(serial_phrases)  # the same phrases, in the same order
    for text, audio in serial_phrases.items():
        assert early.mixer.voice.frames(text) == serial.mixer.voice.frames(text)
        assert np.array_equal(early_phrases[text].samples, audio.samples), text
    assert early.timeline.events == serial.timeline.events
    assert cache_files(tmp_path / "early") == cache_files(tmp_path / "serial")  # phrases, levelled phrases, loudness profiles
    # every sound's profile is in the cache when the export returns (written beside the encoding)
    assert len([name for name in cache_files(tmp_path / "early") if name.startswith("profiles/")]) >= len(early_phrases)
    assert (tmp_path / "early.mp3").read_bytes() == (tmp_path / "serial.mp3").read_bytes()


def test_an_engine_failing_half_way_raises_its_error_and_caches_what_the_serial_path_does(tmp_path, monkeypatch):
    caches = {}
    for level_early in (False, True):
        folder = tmp_path / f"early-{level_early}"
        engine = FailsAt(10)  # nine phrases made (and levelled early), then the failure
        with pytest.raises(EngineError, match="half-way"):
            made(engine, folder, monkeypatch, level_early)
        assert len(engine.spoken) == 9
        caches[level_early] = cache_files(folder)
    assert len(caches[True]) == 9 and caches[True] == caches[False]  # the raw phrases, no levelled one
    assert not [thread for thread in threading.enumerate() if thread.name == "voiceguide-level-early"]


@pytest.mark.slow  # runs the command as a process
def test_an_engine_failing_half_way_is_one_line_and_no_file(tmp_path):
    """The command line's export levels early: a failure there still ends in
    one line, exit code 1, and no file (nor a temporary one) written."""
    out = tmp_path / "out" / "session.mp3"
    run = (
        "import sys\n"
        "from voiceguide.errors import EngineError\n"
        "from voiceguide.speech import fake\n"
        "said = fake.FakeEngine.synthesize\n"
        "def synthesize(self, text, settings):\n"
        "    if len(self.spoken) == 9:\n"
        "        raise EngineError('the engine gave up half-way')\n"
        "    return said(self, text, settings)\n"
        "fake.FakeEngine.synthesize = synthesize\n"
        "from voiceguide.launch import main\n"
        "sys.argv = ['voiceguide', *sys.argv[1:]]\n"
        "main()\n"
    )
    script = tmp_path / "pipeline.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", run, "export", str(script), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "VOICEGUIDE_ENGINE": "fake", "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "voiceguide: the engine gave up half-way"
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_phrase_is_taken_only_for_the_audio_offered_and_only_once():
    mix = MixSettings(sample_rate=32_000)
    engine = FakeEngine()
    voice = VoiceSettings("gmw/nl", rate=150)
    first, again = engine.synthesize("Adem in.", voice), engine.synthesize("Adem in.", voice)
    early = EarlyLevelling(mix)
    early.offer("Adem in.", first)
    early.close()
    assert early.take("Adem in.", again) is None  # another take of the same text: levelled where it is needed
    early = EarlyLevelling(mix)
    early.offer("Adem in.", first)
    early.close()
    early._thread.join(10)  # levelled by the thread (taken before it started, the caller would level it)
    assert early.frames("Adem in.", again) is None
    length = early.frames("Adem in.", first)  # what Phrases plans with, without trimming the phrase again
    audio, profile = early.take("Adem in.", first)
    assert (
        length
        == len(audio.samples)
        == session_module.voice_frames(len(session_module.shape(first)), first.sample_rate, mix.sample_rate)
    )
    assert np.array_equal(audio.samples, level_phrase(first, mix).samples)
    assert profile.total_frames == len(audio.samples) and profile.sample_rate == 32_000
    assert early.take("Adem in.", first) is None  # once


def test_a_phrase_not_started_yet_is_levelled_by_whoever_needs_it(monkeypatch):
    """The thread is held on a first phrase; the second, still queued, is
    handed to the caller (None), and the thread does not level it after."""
    mix = MixSettings(sample_rate=32_000)
    gate, entered = threading.Event(), threading.Event()
    levelled: list[Audio] = []

    def held(audio, settings):
        entered.set()
        gate.wait(10)
        levelled.append(audio)
        return level_phrase(audio, settings)

    monkeypatch.setattr(session_module, "level_phrase", held)
    engine = FakeEngine()
    voice = VoiceSettings("gmw/nl", rate=150)
    first, second = engine.synthesize("Adem in.", voice), engine.synthesize("Adem uit.", voice)
    early = EarlyLevelling(mix)
    early.offer("Adem in.", first)
    early.offer("Adem uit.", second)
    early.close()
    assert entered.wait(10)  # the thread is on the first phrase
    assert early.take("Adem uit.", second) is None  # not started: the caller levels it
    gate.set()
    assert early.take("Adem in.", first) is not None
    early._thread.join(10)
    assert levelled == [first]


def test_levelling_ahead_levels_each_phrase_once(monkeypatch, tmp_path):
    levelled: list[Audio] = []
    original = session_module.level_phrase

    def counted(audio, settings):
        levelled.append(audio)
        return original(audio, settings)

    monkeypatch.setattr(session_module, "level_phrase", counted)
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path))
    session = prepare_session(parse_script(SCRIPT, "pipeline.vg"), engine=FakeEngine(), cache=False)
    phrases = session.mixer.voice
    before = len(levelled)  # the counts, levelled to find their vowels while planning
    session.level_ahead()
    for worker in phrases._workers:
        worker.join(30)
    assert len(phrases._workers) == 1 and before < len(phrases)
    text_of = {id(audio): text for text, audio in phrases._raw.items()}
    names = [text_of[id(audio)] for audio in levelled]
    assert sorted(names) == sorted(phrases) and len(names) == len(set(names))  # every phrase, once
    assert set(phrases._ready) == set(phrases)


def test_nothing_to_level_starts_no_thread():
    """A warm export: every phrase came levelled from the cache."""
    ready = Audio(np.zeros(320, dtype=np.float32), 32_000)
    phrases = session_module.Phrases({"Adem in.": ready}, {}, MixSettings(sample_rate=32_000), lambda text, audio: None)
    phrases.level_ahead(["Adem in."])
    assert phrases._workers == [] and phrases["Adem in."] is ready


def test_an_abandoned_session_stops_levelling_in_the_background(monkeypatch, tmp_path):
    """An export that fails after the speech is made (a bad file name, a
    folder it cannot write in) stops the early and the ahead levelling
    (the command would otherwise end while they are inside numpy, or level
    every phrase of a long script first); nothing keeps running."""
    gate = threading.Event()
    levelled: list[Audio] = []
    original = session_module.level_phrase

    def held(audio, settings):
        gate.wait(30)
        levelled.append(audio)
        return original(audio, settings)

    monkeypatch.setattr(session_module, "level_phrase", held)
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path))
    without_counts = SCRIPT.replace("[breathe 4-2-6 x2 count]", "[pause 1s]")  # nothing levelled while planning
    session = prepare_session(parse_script(without_counts, "pipeline.vg"), engine=FakeEngine(), cache=False, level_early=True)
    session.level_ahead()
    stopper = threading.Thread(target=session.stop_levelling)
    stopper.start()
    gate.set()  # each thread finishes the phrase in hand, and takes no other
    stopper.join(30)
    assert not stopper.is_alive()
    assert 0 < len(levelled) <= 2 < len(session.mixer.voice)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("voiceguide-level")]


def test_levelling_ahead_passes_over_a_phrase_the_early_thread_has_in_hand(monkeypatch, tmp_path):
    """The phrases the early thread has not started are levelled by the
    thread ahead; one it is levelling is left to it, not waited for."""
    first_held, entered = threading.Event(), threading.Event()
    levelled: list[Audio] = []
    original = session_module.level_phrase

    def held(audio, settings):
        if threading.current_thread().name == "voiceguide-level-early" and not levelled:
            entered.set()
            first_held.wait(30)
        levelled.append(audio)
        return original(audio, settings)

    monkeypatch.setattr(session_module, "level_phrase", held)
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path))
    without_counts = SCRIPT.replace("[breathe 4-2-6 x2 count]", "[pause 1s]")
    session = prepare_session(parse_script(without_counts, "pipeline.vg"), engine=FakeEngine(), cache=False, level_early=True)
    assert entered.wait(30)  # the early thread holds the first phrase
    session.level_ahead()
    phrases = session.mixer.voice
    phrases._workers[0].join(30)
    assert not phrases._workers[0].is_alive()  # it did not wait for the held phrase
    assert len(levelled) == len(phrases) - 1  # every other phrase, levelled by the thread ahead
    first_held.set()
    assert all(np.any(phrases[text].samples) for text in phrases)


def test_profiles_are_written_behind_the_plan_and_there_when_waited_for(tmp_path, monkeypatch):
    from voiceguide.sinks.export import _WrittenBehind
    from voiceguide.speech.cache import BlobCache

    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path))
    store = _WrittenBehind(BlobCache("profiles"))
    store.put("ab" * 20, b"profile one")
    store.put("cd" * 20, b"profile two")
    assert store.get("ab" * 20) is None  # nothing written while the plan is made
    store.write()
    store.wait()
    assert store.get("ab" * 20) == b"profile one" and store.get("cd" * 20) == b"profile two"


def test_writes_behind_are_done_in_order_and_waited_for():
    writes = session_module.WritesBehind()
    done: list[int] = []
    gate = threading.Event()
    writes.submit(lambda: gate.wait(10))
    for n in range(50):
        writes.submit(lambda n=n: done.append(n))
    assert done == []  # held behind the first
    gate.set()
    writes.wait()
    assert done == list(range(50))
    writes.submit(lambda: done.append(50))  # a thread starts again for later work
    writes.wait()
    assert done[-1] == 50


def test_an_engine_that_fills_the_cores_levels_after_its_synthesis(tmp_path, monkeypatch):
    """Piper's runs keep every core busy: levelling early beside them saved
    no time and raised the peak memory, so its phrases are levelled after
    the synthesis, as without level_early (no thread of that name runs)."""

    class Busy(FakeEngine):
        fills_the_cores = True

        def synthesize(self, text, settings):
            seen.update(thread.name for thread in threading.enumerate())
            return super().synthesize(text, settings)

    seen: set[str] = set()
    _session, busy = made(Busy(), tmp_path / "busy", monkeypatch, True)
    assert "voiceguide-level-early" not in seen
    seen.clear()
    _session, serial = made(FakeEngine(), tmp_path / "serial", monkeypatch, False)
    assert list(busy) == list(serial) and all(np.array_equal(busy[t].samples, serial[t].samples) for t in serial)

    class Free(Busy):
        fills_the_cores = False

    made(Free(), tmp_path / "free", monkeypatch, True)
    assert "voiceguide-level-early" in seen  # the check can see the thread where it runs
