"""The pyttsx3 worker and the phrase cache, with real espeak-ng.

Each test provokes one of the espeak driver's known traps (STACK-NOTES) for
real and shows that voiceguide's wrapper does not fall into it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguide.errors import EngineError, UsageError
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import VoiceInfo, VoiceSettings
from voiceguide.speech.phrases import synthesize_phrases
from voiceguide.speech.pyttsx3 import Pyttsx3Engine
from voiceguide.speech.voices import resolve_voice

SENTENCE = "Adem rustig in en voel hoe je lichaam zwaarder wordt op de stoel."


def espeak_cli_seconds(text: str, rate: int, tmp_path: Path) -> float:
    out = tmp_path / f"cli-{rate}.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-s", str(rate), "-w", str(out), text], check=True)
    return sf.info(str(out)).duration


def test_writes_22050_hz_mono_speech(engine):
    audio = engine.synthesize(SENTENCE, VoiceSettings("gmw/nl", rate=150))
    assert audio.sample_rate == 22_050
    assert 2.5 < audio.duration_s < 6.0
    assert np.max(np.abs(audio.samples)) > 0.3


def test_every_rate_takes_effect_even_after_a_change(engine, tmp_path):
    # The driver ignored the second and third of three rate changes in one
    # engine; here each rate must match the espeak-ng CLI yardstick.
    for rate in (120, 175, 200, 120):
        seconds = engine.synthesize(SENTENCE, VoiceSettings("gmw/nl", rate=rate)).duration_s
        assert seconds == pytest.approx(espeak_cli_seconds(SENTENCE, rate, tmp_path), abs=0.02), rate


def test_many_phrases_in_a_row_each_get_their_own_audio(engine):
    # Only one save_to_file per runAndWait is honoured; a stale path or text
    # would repeat the previous phrase.
    voice = VoiceSettings("gmw/nl", rate=140)
    texts = ["Een.", "Dit is een veel langere zin met heel veel woorden erin.", "Twee drie.", "Een."]
    lengths = [engine.synthesize(text, voice).duration_s for text in texts]
    assert lengths[1] > 2 * lengths[0]
    assert lengths[0] == pytest.approx(lengths[3], abs=0.001)
    assert lengths[2] != pytest.approx(lengths[0], abs=0.05)


def test_a_hung_worker_is_killed_and_the_phrase_retried():
    with Pyttsx3Engine(timeout_s=2.0) as engine:
        voice = VoiceSettings("gmw/nl", rate=150)
        engine.synthesize("Eerst.", voice)
        stuck = engine.worker_pid
        os.kill(stuck, signal.SIGSTOP)  # a worker that never answers, for real
        try:
            audio = engine.synthesize("Daarna.", voice)
        finally:
            try:
                os.kill(stuck, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert audio.duration_s > 0.3
        assert engine.worker_pid not in (None, stuck)


def test_a_crashed_worker_is_replaced():
    with Pyttsx3Engine() as engine:
        voice = VoiceSettings("gmw/nl", rate=150)
        engine.synthesize("Eerst.", voice)
        dead = engine.worker_pid
        os.kill(dead, signal.SIGKILL)
        assert engine.synthesize("Daarna.", voice).duration_s > 0.3
        assert engine.worker_pid != dead


def test_a_missing_output_folder_is_not_swallowed():
    # The driver swallows the error when the target folder is missing and
    # writes nothing; the worker recreates the folder, so speech still comes.
    with Pyttsx3Engine() as engine:
        shutil.rmtree(engine._tmp.name)
        assert engine.synthesize("Nog steeds hier.", VoiceSettings("gmw/nl")).duration_s > 0.5


def test_threads_share_one_engine_safely(engine):
    voice = VoiceSettings("gmw/nl", rate=150)
    results: dict[int, float] = {}
    errors: list[BaseException] = []

    def speak(n: int) -> None:
        try:
            results[n] = engine.synthesize("Zin nummer " + "en nog een " * n, voice).duration_s
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(n,)) for n in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert [results[n] for n in range(1, 7)] == sorted(results.values())


def test_empty_text_is_an_engine_error(engine):
    with pytest.raises(EngineError, match="empty"):
        engine.synthesize("   ", VoiceSettings("gmw/nl"))


def test_voices_include_dutch_and_english(engine):
    ids = {voice.id for voice in engine.voices()}
    assert {"gmw/nl", "gmw/en"} <= ids


@pytest.mark.parametrize(
    ("requested", "language", "expected"),
    [
        ("auto", "nl", "gmw/nl"),
        ("auto", "en", "gmw/en"),
        ("gmw/nl+f3", "nl", "gmw/nl+f3"),
        ("nl", "nl", "gmw/nl"),
        ("gmw/en-us", "en", "gmw/en-us"),
    ],
)
def test_resolve_voice(engine, requested, language, expected):
    assert resolve_voice(requested, language, engine.voices()) == expected


@pytest.mark.parametrize(
    ("requested", "message"), [("klingon", "unknown voice 'klingon'"), ("gmw/nl+nosuchvariant", "unknown voice variant")]
)
def test_unknown_voices_are_refused(engine, requested, message):
    with pytest.raises(UsageError, match=message):
        resolve_voice(requested, "nl", engine.voices())


def test_no_voice_for_the_language():
    with pytest.raises(UsageError, match="no voice for language 'nl'"):
        resolve_voice("auto", "nl", [VoiceInfo("x", "X", ("fr",))])


class CountingEngine:
    """Wraps the real engine and counts how often it is asked to speak."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def describe(self):
        return self.inner.describe()

    def synthesize(self, text, voice):
        self.calls += 1
        return self.inner.synthesize(text, voice)


def test_cache_skips_synthesis_the_second_time(engine, tmp_path):
    counting = CountingEngine(engine)
    cache = PhraseCache(tmp_path / "cache")
    voice = VoiceSettings("gmw/nl", rate=130)
    first = synthesize_phrases(["Een.", "Twee.", "Een."], voice, counting, cache)
    assert counting.calls == 2
    second = synthesize_phrases(["Een.", "Twee."], voice, counting, cache)
    assert counting.calls == 2 and cache.hits == 2
    assert np.allclose(first["Twee."].samples, second["Twee."].samples, atol=1 / 32768)
    synthesize_phrases(["Een."], VoiceSettings("gmw/nl", rate=131), counting, cache)
    assert counting.calls == 3, "a different rate is a different cache entry"


def test_damaged_cache_entries_are_rebuilt(engine, tmp_path):
    counting = CountingEngine(engine)
    cache = PhraseCache(tmp_path / "cache")
    voice = VoiceSettings("gmw/nl", rate=130)
    good = synthesize_phrases(["Rustig."], voice, counting, cache)["Rustig."]
    entry = cache.path(cache.key(counting.describe(), voice, "Rustig."))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    again = synthesize_phrases(["Rustig."], voice, counting, cache)["Rustig."]
    assert counting.calls == 2
    assert again.duration_s == pytest.approx(good.duration_s, abs=0.005)
    entry.write_bytes(b"VGC1")  # truncated
    synthesize_phrases(["Rustig."], voice, counting, cache)
    assert counting.calls == 3


def test_an_unwritable_cache_costs_speed_not_the_result(engine, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cache = PhraseCache(blocker / "cache")
    audio = synthesize_phrases(["Toch gelukt."], VoiceSettings("gmw/nl"), engine, cache)["Toch gelukt."]
    assert audio.duration_s > 0.5
