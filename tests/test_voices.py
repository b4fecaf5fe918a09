"""Turning ``auto`` or a user's voice id into an engine voice, with espeak-ng's real voice list."""

from __future__ import annotations

import pytest

from voiceguide.errors import UsageError
from voiceguide.speech.engine import VoiceInfo
from voiceguide.speech.voices import resolve_voice


@pytest.mark.parametrize(
    ("requested", "language", "expected"),
    [
        ("auto", "nl", "gmw/nl"),
        ("auto", "en", "gmw/en"),
        ("gmw/nl+f3", "nl", "gmw/nl+f3"),
        ("nl", "nl", "gmw/nl"),
        ("gmw/en-us", "en", "gmw/en-US"),  # ids in any case
        ("en-us", "en", "gmw/en-US"),
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


def test_an_unknown_voice_lists_the_voices_for_the_language(engine):
    with pytest.raises(UsageError) as error:
        resolve_voice("klingon", "nl", engine.voices())
    assert str(error.value) == "unknown voice 'klingon'; voices for 'nl': gmw/nl (all of them: 'voiceguide voices --lang nl')"
