"""The espeak-ng engine as sessions use it: deterministic under load,
calibrated pace, clean phrase ends, the lexicon."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import cpu_load

from voiceguide import load_script, prepare_session
from voiceguide.audio import active_rms
from voiceguide.dsp.level import TAIL_S
from voiceguide.errors import UsageError
from voiceguide.plan.timeline import Kind
from voiceguide.session import VoiceOptions
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.espeak import espeak_parameters
from voiceguide.speech.factory import open_engine
from voiceguide.speech.lexicon import Lexicon, load_lexicon, parse_lexicon
from voiceguide.speech.phrases import synthesize_phrases

BUILT_INS = [(name, language) for name in ("herinnering", "veilige-plek", "zelfkalmering") for language in ("nl", "en")]

pytestmark = pytest.mark.espeak  # left out of the fast tier (conftest.py)


def speech_wpm(session) -> float:
    """Words per minute over speech time, as ``voiceguide show`` would count them."""
    events = session.timeline.of_kind(Kind.SPEECH)
    words = sum(sum(1 for token in e.text.split() if any(ch.isalnum() for ch in token)) for e in events)
    return words / sum(e.duration_s for e in events) * 60


@pytest.mark.parametrize(("name", "language"), BUILT_INS)
@pytest.mark.parametrize("rate", [110, 125, 140])
def test_the_pace_heard_is_the_pace_asked_for(engine, name, language, rate):
    # the calibration was measured on other sentences (scripts/calibrate_pace.py)
    session = prepare_session(load_script(name, language), engine=engine, voice=VoiceOptions(rate=rate))
    # phrases espeak hurries (short ones, questions) are said again at the rate asked
    # for, the rest stay: over all a little under it (#25)
    assert rate * 0.87 <= speech_wpm(session) <= rate * 1.05


def test_below_espeaks_slowest_rate_words_get_gaps():
    assert espeak_parameters(150.15, "nl") == (125, 0)
    rate, gap = espeak_parameters(70, "nl")
    assert rate == 80 and gap > 0  # espeak speaks no slower than ~100 wpm by its rate alone
    assert espeak_parameters(1000, "nl")[0] == 450  # the top of the table


def test_every_phrase_ends_with_a_natural_release(engine):
    for name, language in BUILT_INS:
        session = prepare_session(load_script(name, language), engine=engine)
        rate = session.sample_rate
        tail = int(TAIL_S * rate)
        last = int(0.02 * rate)
        for text, audio in session.mixer.voice.items():
            samples = audio.samples
            assert np.all(samples[-tail:] == 0), text
            speaking = active_rms(samples, rate)
            end = samples[-tail - last : -tail]
            ending_db = 20 * np.log10(max(float(np.sqrt(np.mean(end.astype(np.float64) ** 2))), 1e-9) / speaking)
            assert ending_db <= -25, f"{text!r} ends only {ending_db:.1f} dB under its speaking level"


def test_the_lexicon_reaches_the_engine_and_changes_the_audio(engine, fake_engine):
    lexicon = load_lexicon("nl")
    assert lexicon.apply("Volg de tonen, en je lichaam.") == "Volg de toonen, en je lichaem."
    voice = VoiceSettings("gmw/nl", 125)
    synthesize_phrases(["Volg de tonen."], voice, fake_engine, None, lexicon)
    assert fake_engine.spoken == ["Volg de toonen."]
    plain = synthesize_phrases(["Volg de tonen."], voice, engine, None, Lexicon())["Volg de tonen."]
    respelled = synthesize_phrases(["Volg de tonen."], voice, engine, None, lexicon)["Volg de tonen."]
    direct = engine.synthesize("Volg de toonen.", voice)
    assert not np.array_equal(plain.samples, respelled.samples)
    assert np.array_equal(respelled.samples, direct.samples)


def test_a_user_lexicon_overrides_and_keys_the_cache(tmp_path, monkeypatch, fake_engine):
    from voiceguide.speech.cache import PhraseCache

    monkeypatch.setenv("VOICEGUIDE_LEXICON_DIR", str(tmp_path / "lexicon"))
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "nl.tsv").write_text("# mine\nrustig\truustig\ntonen\ttoonen\n", encoding="utf-8")
    lexicon = load_lexicon("nl")
    assert lexicon.apply("Rustig, rustig.") == "Ruustig, ruustig."
    cache = PhraseCache(tmp_path / "cache")
    voice = VoiceSettings("gmw/nl", 125)
    synthesize_phrases(["Rustig."], voice, fake_engine, cache, Lexicon())
    synthesize_phrases(["Rustig."], voice, fake_engine, cache, lexicon)
    assert fake_engine.spoken == ["Rustig.", "Ruustig."]  # another respelling is another cache entry


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("rustig", "words.tsv:1:1", "a lexicon line is 'word<TAB>respelling'"),
        ("twee woorden\tx", "words.tsv:1:1", "a lexicon line is 'word<TAB>respelling' (one word, letters only)"),
        ("ok\tgoed\nrust\tru<st", "words.tsv:2:6", "respelling 'ru<st' must be plain words"),
    ],
)
def test_a_bad_lexicon_line_is_located(text, where, message):
    from voiceguide.errors import ScriptError

    if text == "rustig":
        assert parse_lexicon(text).problems("Heel rustig.") == [(5, "rustig")]  # a word alone marks a known problem
        return
    with pytest.raises(ScriptError) as error:
        parse_lexicon(text, "words.tsv")
    assert str(error.value) == f"{where}: {message}"


def test_an_unknown_engine_lists_the_ones_there_are():
    with pytest.raises(UsageError, match="unknown speech engine 'festival'; use one of: espeak, pyttsx3"):
        open_engine("festival")


def test_twelve_cold_exports_under_cpu_load_are_byte_identical(tmp_path):
    """The pyttsx3 path failed 1 cold export in 4-6 at load 3-15 and differed
    run to run: now every cold export under load succeeds, never retries,
    and gives the same bytes."""
    digests = []
    with cpu_load(3):
        for run in range(12):
            env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / f"cache-{run}")}
            out = tmp_path / f"run-{run}.wav"
            result = subprocess.run(
                [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "--minutes", "2", "-o", str(out)],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""  # no retries, no warnings
            digests.append(hashlib.sha256(Path(out).read_bytes()).hexdigest())
    assert len(set(digests)) == 1
