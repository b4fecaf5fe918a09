"""Returns: short spoken lines that keep a voice in long sessions
(``~`` lines in a script, placed by :mod:`voiceguide.plan.returns`)."""

from __future__ import annotations

import pytest
from audio_checks import longest_run_s, voice_activity

from voiceguide import ScriptError, export_session, load_script, prepare_session
from voiceguide.parse.exercises import EXERCISES
from voiceguide.parse.script import check_script_text, parse_script
from voiceguide.plan.returns import RETURN_EVERY_S
from voiceguide.plan.timeline import VOICE_KINDS, Kind
from voiceguide.rules import LANGUAGES

BUILTINS = [(name, language) for name in EXERCISES for language in LANGUAGES]
SCRIPT = """---
title: Test
language: nl
---
~ Voel je voeten.
~ Adem rustig mee.
~ Je bent hier.
Welkom. [pause 1-3s]
[breathe seed x1+]
Tot ziens.
"""


def returns_in(session) -> list:
    lines = {line.text for line in session.script.returns}
    return [e for e in session.timeline.of_kind(Kind.SPEECH) if e.text in lines]


def longest_voiceless_s(timeline) -> float:
    voice = sorted((e.start_s, e.end_s) for e in timeline.events if e.kind in VOICE_KINDS)
    edges = [(0.0, 0.0), *voice, (timeline.duration_s, timeline.duration_s)]
    return max(b[0] - a[1] for a, b in zip(edges, edges[1:]))


def test_return_lines_are_read_in_order_and_not_spoken_in_place():
    script = parse_script(SCRIPT)
    assert [line.text for line in script.returns] == ["Voel je voeten.", "Adem rustig mee.", "Je bent hier."]
    assert [(line.at.line, line.at.col) for line in script.returns] == [(5, 3), (6, 3), (7, 3)]
    assert [item.text for item in script.sentences()] == ["Welkom.", "Tot ziens."]


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ("~\n~ Twee.\n~ Drie.\n", "x.vg:5:1", "is empty"),
        ("~ Een [pause 2s] twee.\n~ Drie.\n", "x.vg:5:7", "cannot hold '['"),
        ("~ Een.\n  ~ Een.\n", "x.vg:6:5", "given twice (first on line 5)"),
        ("~ " + " ".join(["woord"] * 13) + "\n~ Twee.\n", "x.vg:5:3", "13 words; keep it to 12"),
        ("~ Alleen.\n", "x.vg:5:3", "at least two '~' lines"),
    ],
)
def test_a_bad_return_line_is_an_error_at_its_line_and_column(body, where, words):
    text = "---\ntitle: T\nlanguage: nl\n---\n" + body + "Hallo.\n"
    report = check_script_text(text, "x.vg")
    assert len(report.errors) == 1
    message = str(report.errors[0])
    assert message.startswith(where + ":") and words in message, message
    with pytest.raises(ScriptError):
        parse_script(text, "x.vg")


@pytest.mark.parametrize("minutes", [10, 20])
def test_long_sessions_get_returns_in_turn_and_keep_their_length(fake_engine, minutes):
    script = parse_script(SCRIPT)
    session = prepare_session(script, engine=fake_engine, cache=False, target_s=minutes * 60)
    assert abs(session.duration_s - minutes * 60) <= 1.0
    said = [e.text for e in returns_in(session)]
    assert len(said) >= minutes * 60 / RETURN_EVERY_S - 2
    pool = [line.text for line in script.returns]
    assert said == [pool[i % len(pool)] for i in range(len(said))]  # in turn: never twice in a row
    assert longest_voiceless_s(session.timeline) <= 180
    # over the tones, never over other speech
    voice = sorted(session.timeline.of_kind(Kind.SPEECH, Kind.COUNT), key=lambda e: e.start_s)
    assert all(a.end_s + 1.0 <= b.start_s + 1e-6 for a, b in zip(voice, voice[1:]))


def test_a_script_without_returns_is_planned_as_before(fake_engine):
    plain = parse_script("\n".join(line for line in SCRIPT.splitlines() if not line.startswith("~")))
    session = prepare_session(plain, engine=fake_engine, cache=False, target_s=600)
    assert [e.text for e in session.timeline.of_kind(Kind.SPEECH)] == ["Welkom.", "Tot ziens."]


@pytest.mark.parametrize(("name", "language"), BUILTINS)
def test_built_ins_have_returns_in_both_languages_and_none_at_the_default_length(fake_engine, name, language):
    script = load_script(name, language)
    assert len(script.returns) >= 4
    assert not returns_in(prepare_session(script, engine=fake_engine, cache=False))
    for minutes in (3, 10, 20):  # 2 minutes with real speech lengths: test_length.py
        session = prepare_session(script, engine=fake_engine, cache=False, target_s=minutes * 60)
        assert abs(session.duration_s - minutes * 60) <= 1.0
        assert longest_voiceless_s(session.timeline) <= 180, minutes


@pytest.mark.parametrize(("name", "minutes"), [("zelfkalmering", 10), ("zelfkalmering", 20), ("herinnering", 20)])
def test_no_stretch_without_a_voice_longer_than_3_minutes_in_exported_audio(engine, tmp_path, name, minutes):
    """Measured on the file: the voice separated from the tones by
    subtracting the re-rendered session without its voice."""
    session = prepare_session(load_script(name), engine=engine, target_s=minutes * 60)
    result = export_session(session, tmp_path / f"{name}-{minutes}.wav")
    active = voice_activity(result.path, session)
    longest = longest_run_s(active)
    print(f"{name} {minutes} min: longest stretch without a voice {longest:.1f} s")
    assert longest <= 180
    assert returns_in(session)
