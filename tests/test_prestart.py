"""The speech server started beside the command line's imports (voiceguide.speech.prestart)."""

from __future__ import annotations

import os

import pytest

from voiceguide.speech import prestart
from voiceguide.speech.espeak_client import EspeakClient


@pytest.mark.parametrize(
    "args, expected",
    [
        (["play", "zelfkalmering"], True),
        (["export", "x.vg", "-o", "x.mp3", "--engine", "espeak"], True),
        (["show", "x.vg"], True),
        (["play", "x.vg", "--engine", "fake"], False),
        (["play", "x.vg", "--engine=pyttsx3"], False),
        (["play", "x.vg", "--voice", "piper:/models/joe.onnx"], False),
        (["play", "--help"], False),
        (["list"], False),
        (["--data-dir", "play", "export"], False),
        ([], False),
    ],
)
def test_only_commands_that_speak_with_espeak_start_it_early(args, expected, monkeypatch):
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    monkeypatch.setattr(prestart.sys, "platform", "linux")
    assert prestart._speaks_with_espeak(args) is expected


def test_another_engine_in_the_environment_starts_nothing(monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")
    assert not prestart._speaks_with_espeak(["play", "zelfkalmering"])


@pytest.mark.espeak
def test_the_client_takes_the_server_started_early(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cold"))  # no voice list cached: it is asked for
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    monkeypatch.setattr(prestart.sys, "platform", "linux")
    prestart.start_early(["export", "zelfkalmering"])
    early = prestart._early
    assert early is not None
    with EspeakClient() as client:
        assert client.synthesize("hallo", "nl", 150).size > 0  # the voice list it was asked for is read first
        assert client.server_pid == early.process.pid
        voices = client.voices()  # that answer, asked for before the imports
        assert any(voice.id.endswith("nl") for voice in voices)
        assert client.voices() == voices  # and from the server again
        assert client.synthesize("hallo", "nl", 150).size > 0
    assert prestart._early is None


@pytest.mark.espeak
def test_a_server_started_with_other_settings_is_not_taken(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cold"))
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    monkeypatch.setattr(prestart.sys, "platform", "linux")
    prestart.start_early(["play", "zelfkalmering"])
    early = prestart._early
    assert early is not None
    monkeypatch.setenv("VOICEGUIDE_LIBESPEAK", os.environ.get("VOICEGUIDE_LIBESPEAK", "") or "/nonexistent/libespeak-ng.so.1")
    assert prestart.take(prestart.server_command(), dict(os.environ)) is None
    assert early.process.wait(timeout=10) is not None  # closed: it ended on EOF


@pytest.mark.espeak
def test_a_warm_cache_starts_a_server_only_for_play_and_asks_no_voices(monkeypatch, tmp_path):
    """An export from a warm cache speaks nothing: no server beside it. play
    starts one (a new script needs it at once) but does not ask for the
    voice list it has cached."""
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "warm"))
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    monkeypatch.setattr(prestart.sys, "platform", "linux")
    (tmp_path / "warm" / "meta").mkdir(parents=True)
    (tmp_path / "warm" / "meta" / "espeak-voices-0123456789abcdef.json").write_text("[]")
    prestart.start_early(["export", "zelfkalmering"])
    assert prestart._early is None
    prestart.start_early(["play", "zelfkalmering"])
    early = prestart._early
    assert early is not None and not early.asked_voices
    with EspeakClient() as client:
        assert client.synthesize("hallo", "nl", 150).size > 0
        assert client.server_pid == early.process.pid
        assert any(voice.id.endswith("nl") for voice in client.voices())


@pytest.mark.parametrize("chosen, expected", [(None, "1"), ("3", "3")])
def test_the_command_asks_openblas_for_one_thread_unless_told(chosen, expected):
    """numpy's OpenBLAS starts a thread per core at import (0.138 s of the
    import against 0.082 s with one): the command asks for one before numpy
    loads, and the speech server gets the same environment."""
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "sys.argv = ['voiceguide', '--version']\n"
        "import voiceguide.launch as launch\n"
        "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
        "import numpy\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), file=sys.stderr)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if chosen is not None:
        env["OPENBLAS_NUM_THREADS"] = chosen
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == expected
