"""Planner arithmetic with known phrase lengths (no engine needed)."""

from __future__ import annotations

import pytest

from voiceguide.errors import ScriptError
from voiceguide.parse.script import parse_script
from voiceguide.plan.timeline import Kind, PlanSettings, count_word, counts_in_phase, plan_timeline, spoken_texts

SETTINGS = PlanSettings(
    lead_in_s=1.0, sentence_gap_s=0.5, paragraph_gap_s=1.5, bell_s=7.0, bell_advance_s=3.5, chime_s=7.0, tail_s=2.0
)


def plan(body: str, language: str = "nl", lengths: dict | None = None):
    script = parse_script(f"---\nlanguage: {language}\n---\n{body}", "t.vg")
    texts = spoken_texts(script)
    fixed = {text: (lengths or {}).get(text, 2.0) for text in texts}
    return plan_timeline(script, fixed, {}, SETTINGS)


def starts(timeline, kind):
    return [(e.start_s, e.duration_s) for e in timeline.of_kind(kind)]


def test_sentences_and_paragraphs_get_their_gaps():
    timeline = plan("Een. Twee.\n\nDrie.")
    assert starts(timeline, Kind.SPEECH) == [(1.0, 2.0), (3.5, 2.0), (7.0, 2.0)]
    assert timeline.duration_s == pytest.approx(9.0 + 2.0)


def test_a_pause_replaces_the_gap():
    timeline = plan("Een. [pause 3s] Twee.")
    assert starts(timeline, Kind.SILENCE) == [(3.0, 3.0)]
    assert starts(timeline, Kind.SPEECH)[1] == (6.0, 2.0)


def test_elastic_pause_takes_its_midpoint_by_default():
    assert starts(plan("Een. [pause 2-8s] Twee."), Kind.SILENCE) == [(3.0, 5.0)]


def test_at_marker_waits_until_its_time():
    timeline = plan("Een.\n[at 0:10]\nTwee.")
    assert starts(timeline, Kind.SILENCE) == [(3.0, 7.0)]
    assert starts(timeline, Kind.SPEECH)[1] == (10.0, 2.0)


def test_at_marker_already_passed_names_line_and_amount():
    with pytest.raises(ScriptError) as caught:
        plan("Een. Twee. Drie.\n[at 0:05]", lengths={"Een.": 2.0, "Twee.": 2.0, "Drie.": 2.0})
    error = caught.value
    assert (error.source, error.line, error.col) == ("t.vg", 5, 1)
    assert "[at 0:05] is already passed by 3.0 s" in error.message


def test_breathing_cycles_with_counts():
    timeline = plan("[breathe 4-2-6 x2 count]", lengths={w: 0.5 for w in ("een", "twee", "drie", "vier", "vijf", "zes")})
    phases = [
        (e.kind, e.start_s, e.duration_s, e.cycle) for e in timeline.events if e.kind in (Kind.INHALE, Kind.HOLD, Kind.EXHALE)
    ]
    assert phases == [
        (Kind.INHALE, 1.0, 4.0, 1),
        (Kind.HOLD, 5.0, 2.0, 1),
        (Kind.EXHALE, 7.0, 6.0, 1),
        (Kind.INHALE, 13.0, 4.0, 2),
        (Kind.HOLD, 17.0, 2.0, 2),
        (Kind.EXHALE, 19.0, 6.0, 2),
    ]
    counts = [(e.text, e.start_s) for e in timeline.of_kind(Kind.COUNT) if e.cycle == 1]
    assert counts == [
        ("een", 1.0),
        ("twee", 2.0),
        ("drie", 3.0),
        ("vier", 4.0),
        ("een", 5.0),
        ("twee", 6.0),
        ("een", 7.0),
        ("twee", 8.0),
        ("drie", 9.0),
        ("vier", 10.0),
        ("vijf", 11.0),
        ("zes", 12.0),
    ]
    assert timeline.duration_s == pytest.approx(25.0 + 2.0)


def test_box_breathing_has_a_second_hold_and_zero_phases_are_skipped():
    box = plan("[breathe box x1]")
    assert [e.kind for e in box.events] == [Kind.INHALE, Kind.HOLD, Kind.EXHALE, Kind.HOLD]
    no_hold = plan("[breathe 4-0-6 x1]")
    assert [e.kind for e in no_hold.events] == [Kind.INHALE, Kind.EXHALE]


def test_counts_follow_the_language():
    assert spoken_texts(parse_script("---\nlanguage: en\n---\n[breathe 4-7-8 x1 count]")) == [
        count_word(n, "en") for n in range(1, 9)
    ]
    assert count_word(3, "nl") == "drie" and count_word(12, "nl") == "12"


@pytest.mark.parametrize(("seconds", "counts"), [(4, 4), (4.5, 5), (1, 1), (0.5, 1), (0, 0)])
def test_counts_in_phase(seconds, counts):
    assert counts_in_phase(seconds) == counts


def test_bell_rings_on_while_the_next_item_starts():
    timeline = plan("[bell]\nEen.")
    assert starts(timeline, Kind.BELL) == [(1.0, 7.0)]
    assert starts(timeline, Kind.SPEECH) == [(4.5, 2.0)]
    assert timeline.duration_s == pytest.approx(8.0 + 2.0), "the session waits for the bell to ring out"


def test_chapters_are_marks_at_the_cursor():
    timeline = plan("# Begin\nEen.\n# Eind\n[chime]")
    assert [(e.text, e.start_s) for e in timeline.chapters()] == [("Begin", 1.0), ("Eind", 3.0)]
    assert starts(timeline, Kind.CHIME) == [(3.0, 7.0)]


def test_planning_is_deterministic():
    body = "# A\nEen. Twee. [pause 2-4s]\n[breathe seed x3 count]\n[bell] Drie. [chime]"
    assert plan(body) == plan(body)


def test_sessions_longer_than_the_limit_are_refused(monkeypatch):
    script = parse_script("Een. [breathe 1-30-1 x500]", "t.vg")
    lengths = {text: 1.0 for text in spoken_texts(script)}
    with pytest.raises(ScriptError, match=r"t.vg: this session would last 4:26:4\d.*; the limit is 3:00:00"):
        plan_timeline(script, lengths)
    monkeypatch.setenv("VOICEGUIDE_MAX_MINUTES", "300")
    assert PlanSettings().max_session_s == 18_000
    assert plan_timeline(script, lengths, settings=PlanSettings()).duration_s > 3 * 3600
    with pytest.raises(ScriptError, match="limit is 0:10"):
        plan_timeline(parse_script("Een. [pause 20s]", "t.vg"), {"Een.": 1.0}, settings=PlanSettings(max_session_s=10))
