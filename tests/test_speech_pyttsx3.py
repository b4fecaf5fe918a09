"""The pyttsx3 engine (its worker process), with real espeak-ng behind it.

Each test provokes one of the espeak driver's known traps (measured on this project's machines) for
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

from voiceguide.errors import EngineError
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.pyttsx3 import Pyttsx3Engine

SENTENCE = "Adem rustig in en voel hoe je lichaam zwaarder wordt op de stoel."

pytestmark = pytest.mark.espeak  # left out of the fast tier (conftest.py)


@pytest.fixture(scope="module")
def pyttsx3_engine():
    with Pyttsx3Engine() as engine:
        yield engine


def espeak_cli_seconds(text: str, rate: int, tmp_path: Path) -> float:
    out = tmp_path / f"cli-{rate}.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-s", str(rate), "-w", str(out), text], check=True)
    return sf.info(str(out)).duration


def test_writes_22050_hz_mono_speech(pyttsx3_engine):
    audio = pyttsx3_engine.synthesize(SENTENCE, VoiceSettings("gmw/nl", rate=150))
    assert audio.sample_rate == 22_050
    assert 2.5 < audio.duration_s < 6.0
    assert np.max(np.abs(audio.samples)) > 0.3


def test_every_rate_takes_effect_even_after_a_change(pyttsx3_engine, tmp_path):
    # The driver ignored the second and third of three rate changes in one
    # engine; here each rate must match the espeak-ng CLI yardstick.
    for rate in (120, 175, 200, 120):
        seconds = pyttsx3_engine.synthesize(SENTENCE, VoiceSettings("gmw/nl", rate=rate)).duration_s
        assert seconds == pytest.approx(espeak_cli_seconds(SENTENCE, rate, tmp_path), abs=0.02), rate


def test_many_phrases_in_a_row_each_get_their_own_audio(pyttsx3_engine):
    # Only one save_to_file per runAndWait is honoured; a stale path or text
    # would repeat the previous phrase.
    voice = VoiceSettings("gmw/nl", rate=140)
    texts = ["Een.", "Dit is een veel langere zin met heel veel woorden erin.", "Twee drie.", "Een."]
    lengths = [pyttsx3_engine.synthesize(text, voice).duration_s for text in texts]
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


def test_threads_share_one_engine_safely(pyttsx3_engine):
    voice = VoiceSettings("gmw/nl", rate=150)
    results: dict[int, float] = {}
    errors: list[BaseException] = []

    def speak(n: int) -> None:
        try:
            results[n] = pyttsx3_engine.synthesize("Zin nummer " + "en nog een " * n, voice).duration_s
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(n,)) for n in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert [results[n] for n in range(1, 7)] == sorted(results.values())


def test_empty_text_is_an_engine_error(pyttsx3_engine):
    with pytest.raises(EngineError, match="empty"):
        pyttsx3_engine.synthesize("   ", VoiceSettings("gmw/nl"))


def test_voices_include_dutch_and_english(pyttsx3_engine):
    ids = {voice.id for voice in pyttsx3_engine.voices()}
    assert {"gmw/nl", "gmw/en"} <= ids


def test_a_half_written_wav_is_never_accepted(tmp_path):
    """The espeak driver can return before its callback has finished the
    file: a WAV whose header does not account for its bytes is refused."""
    from voiceguide.speech.pyttsx3 import _read_engine_file

    whole = tmp_path / "whole.wav"
    sf.write(str(whole), np.zeros(22_050, dtype=np.float32) + 0.1, 22_050, subtype="PCM_16")
    data = whole.read_bytes()
    for cut in (44, 100, len(data) // 2, len(data) - 2):
        part = tmp_path / f"part-{cut}.wav"
        part.write_bytes(data[:cut])
        assert _read_engine_file(part) is None, cut
    grown = tmp_path / "grown.wav"
    grown.write_bytes(data + bytes(2))  # more bytes than the header says: still being written
    assert _read_engine_file(grown) is None
    again = tmp_path / "again.wav"
    again.write_bytes(data)
    assert _read_engine_file(again).duration_s == pytest.approx(1.0)
