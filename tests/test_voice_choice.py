"""voice: auto prefers an installed natural voice for the script's language,
in a stable order; --voice espeak and a named engine keep espeak-ng; bundles
record the voice that spoke each track and say when it differs on a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_piper import CONFIG, fake_model

from voiceguide.batch.render import STATE_FILE
from voiceguide.cli import cli
from voiceguide.errors import EngineError
from voiceguide.speech import piper
from voiceguide.speech.choice import VoiceChoice, choose_voice, natural_voice


@pytest.fixture
def voices_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    monkeypatch.setattr(piper, "check_runtime", lambda: None)
    return tmp_path / "data" / "voices"


def dutch(folder: Path, *names: str) -> None:
    for name in names:
        fake_model(folder, name, {**CONFIG, "language": {"code": name.split("-")[0]}, "espeak": {"voice": "nl"}})


def test_the_order_is_recommended_then_not_audiobooks_then_quality_then_name(voices_folder):
    assert natural_voice("nl") is None
    dutch(voices_folder, "nl_NL-mls-medium", "nl_BE-rdh-x_low", "nl_NL-pim-low", "nl_BE-abc-high")
    assert natural_voice("nl") == "piper:nl_BE-abc-high"  # medium > high > low > x_low, audiobook voices last
    dutch(voices_folder, "nl_BE-zed-medium")
    assert natural_voice("nl") == "piper:nl_BE-zed-medium"
    dutch(voices_folder, "nl_BE-nathalie-x_low")
    assert natural_voice("nl") == "piper:nl_BE-zed-medium"  # the recommended one is nathalie-medium, not x_low
    dutch(voices_folder, "nl_BE-nathalie-medium")
    assert natural_voice("nl") == "piper:nl_BE-nathalie-medium"
    assert natural_voice("en") is None


def test_auto_becomes_the_natural_voice_only_when_nothing_else_decides(voices_folder, monkeypatch):
    dutch(voices_folder, "nl_BE-nathalie-medium")
    natural = VoiceChoice(None, "piper:nl_BE-nathalie-medium", natural=True)
    assert choose_voice(None, None, "auto", "nl") == natural
    assert choose_voice("auto", None, "auto", "nl") == natural
    assert choose_voice("espeak", None, "auto", "nl") == VoiceChoice(None, "auto")  # --voice espeak
    assert choose_voice(None, None, "espeak", "nl") == VoiceChoice(None, "auto")  # voice: espeak in a script
    assert choose_voice("gmw/nl+f3", None, "auto", "nl") == VoiceChoice(None, "gmw/nl+f3")
    assert choose_voice(None, None, "gmw/nl", "nl") == VoiceChoice(None, None)  # the script names its voice
    assert choose_voice(None, "espeak", "auto", "nl") == VoiceChoice("espeak", None)  # --engine espeak
    assert choose_voice(None, None, "auto", "en") == VoiceChoice(None, None)  # nothing natural for English
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")  # the tests' fast tier, or a user's choice
    assert choose_voice(None, None, "auto", "nl") == VoiceChoice(None, None)


def test_without_the_runtime_auto_stays_with_espeak(voices_folder, monkeypatch):
    dutch(voices_folder, "nl_BE-nathalie-medium")

    def missing() -> None:
        raise EngineError("no runtime")

    monkeypatch.setattr(piper, "check_runtime", missing)
    assert natural_voice("nl") is None


SCRIPT = "---\ntitle: Kort\nlanguage: nl\nrate: 140\n---\nWelkom.\n[pause 1s]\nTot ziens.\n"
MANIFEST = '[bundle]\ntitle = "Groep"\nformat = "wav"\n\n[[track]]\nscript = "kort.vg"\n'


def test_a_bundle_records_its_voice_and_a_rerun_says_when_the_voice_differs(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "groep.toml").write_text(MANIFEST, encoding="utf-8")
    out = tmp_path / "out"
    first = CliRunner().invoke(cli, ["batch", str(tmp_path / "groep.toml"), "-o", str(out)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    state = json.loads((out / STATE_FILE).read_text())
    (entry,) = state["tracks"].values()
    assert entry["voice"] and not entry["voice"].startswith("piper:")
    entry["voice"] = "piper:nl_BE-nathalie-medium"  # as if rendered on a machine with a natural voice
    (out / STATE_FILE).write_text(json.dumps(state))
    again = CliRunner().invoke(cli, ["batch", str(tmp_path / "groep.toml"), "-o", str(out)], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    (track_file,) = state["tracks"]
    assert (
        f"track 1 ({track_file}) was spoken by piper:nl_BE-nathalie-medium when it was rendered; "
        "here the voice is the engine's own (no natural voice is installed here)"
    ) in again.output
