"""Shared fixtures: an isolated phrase cache and one real speech engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest



@pytest.fixture(scope="session", autouse=True)
def isolated_phrase_cache(tmp_path_factory):
    """Never touch the user's cache: every test run gets its own."""
    folder = tmp_path_factory.mktemp("phrase-cache")
    previous = os.environ.get("VOICEGUIDE_CACHE_DIR")
    os.environ["VOICEGUIDE_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("VOICEGUIDE_CACHE_DIR", None)
    else:
        os.environ["VOICEGUIDE_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def engine():
    from voiceguide.speech import Pyttsx3Engine

    with Pyttsx3Engine() as real_engine:
        yield real_engine


@pytest.fixture
def write_script(tmp_path: Path):
    """Write a script file (front matter added unless the text has one)."""

    def write(body: str, name: str = "script.vg", language: str = "nl", rate: int = 150) -> Path:
        text = body if body.lstrip().startswith("---") else f"---\ntitle: Test\nlanguage: {language}\nrate: {rate}\n---\n{body}"
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
