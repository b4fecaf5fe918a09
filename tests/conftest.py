"""Shared fixtures: isolated user folders, the real and the fake speech engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_user_folders(tmp_path_factory):
    """Never touch the user's phrase cache or practice log: every test run
    gets its own folders."""
    folders = {
        "VOICEGUIDE_CACHE_DIR": tmp_path_factory.mktemp("phrase-cache"),
        "VOICEGUIDE_DATA_DIR": tmp_path_factory.mktemp("user-data"),
    }
    previous = {name: os.environ.get(name) for name in folders}
    os.environ.update({name: str(folder) for name, folder in folders.items()})
    yield folders
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def engine():
    """The real espeak-ng engine (one server for the whole run)."""
    from voiceguide.speech.espeak import EspeakEngine

    with EspeakEngine() as real_engine:
        yield real_engine


@pytest.fixture
def fake_engine():
    """The deterministic test engine: tones shaped like syllables, no espeak."""
    from voiceguide.speech.fake import FakeEngine

    return FakeEngine()


@pytest.fixture
def write_script(tmp_path: Path):
    """Write a script file (front matter added unless the text has one)."""

    def write(body: str, name: str = "script.vg", language: str = "nl", rate: int = 150) -> Path:
        text = body if body.lstrip().startswith("---") else f"---\ntitle: Test\nlanguage: {language}\nrate: {rate}\n---\n{body}"
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
