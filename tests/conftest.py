"""Shared fixtures (isolated user folders, the real and the fake speech
engine) and the two test tiers.

``scripts/test`` runs everything. ``scripts/test --fast`` sets
VOICEGUIDE_TEST_TIER=fast: speech comes from the deterministic fake engine
(VOICEGUIDE_ENGINE=fake, also for the commands tests start), and tests that
need espeak-ng itself, an audio device, a browser or a Piper voice are left
out. Those are marked here from the fixtures they use, or by hand. So are
the tests marked ``slow`` by hand: each costs half a second of CPU or more
in the fast tier (it runs the command as processes, or renders whole
sessions or bundles), measured with ``resource.getrusage`` over the test,
children included. Parametrized tests whose every case runs the command
as a process are marked ``sampled(n)``: the fast tier runs every n-th
case, the whole suite all of them. So the fast tier keeps its 900-odd
tests well under 90 s.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

FAST = os.environ.get("VOICEGUIDE_TEST_TIER") == "fast"
LEFT_OUT_WHEN_FAST = ("espeak", "device", "browser", "piper", "slow")
DEVICE_FIXTURES = {"alsa_home", "capture", "terminal", "alsa"}


def pytest_configure(config):
    for marker, meaning in (
        ("espeak", "needs the real espeak-ng (its audio, pace or timing is the point)"),
        ("device", "plays or records through ALSA's file plugin"),
        ("browser", "opens a page in Debian's headless Chromium"),
        ("slow", "costs half a second of CPU or more (commands run as processes, whole sessions rendered): the full tier only"),
        ("sampled", "sampled(every): each case runs a process; the fast tier runs every every-th case (the first too)"),
    ):
        config.addinivalue_line("markers", f"{marker}: {meaning}")
    if FAST:
        os.environ["VOICEGUIDE_ENGINE"] = "fake"


def pytest_collection_modifyitems(config, items):
    kept, left_out = [], []
    cases = Counter()
    for item in items:
        sampled = item.get_closest_marker("sampled")
        if FAST and sampled:
            case = cases[item.path, item.originalname]
            cases[item.path, item.originalname] += 1
            if case % sampled.args[0]:
                left_out.append(item)
                continue
        fixtures = set(getattr(item, "fixturenames", ()))
        if "engine" in fixtures:
            item.add_marker(pytest.mark.espeak)
        if fixtures & DEVICE_FIXTURES:
            item.add_marker(pytest.mark.device)
        if FAST and any(item.get_closest_marker(marker) for marker in LEFT_OUT_WHEN_FAST):
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def isolated_user_folders(tmp_path_factory):
    """Never touch the user's phrase cache or practice log: every test run
    gets its own folders (and speaks English)."""
    folders = {
        "VOICEGUIDE_CACHE_DIR": tmp_path_factory.mktemp("phrase-cache"),
        "VOICEGUIDE_DATA_DIR": tmp_path_factory.mktemp("user-data"),
        # the tests read English messages whatever the developer's own
        # locale; tests/test_i18n.py sets the language it checks
        "LANGUAGE": "en",
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
