"""Session length scaling: elastic pauses and breathing fit a requested length."""

from __future__ import annotations

import re

import pytest
import soundfile as sf
from click.testing import CliRunner

from voiceguide import Kind, ScriptError, load_script, prepare_session
from voiceguide.cli import cli
from voiceguide.cli.options import target_seconds
from voiceguide.errors import UsageError
from voiceguide.parse.exercises import EXERCISES
from voiceguide.parse.script import parse_script
from voiceguide.plan.timeline import length_range, plan_timeline, spoken_texts
from voiceguide.rules import LANGUAGES

BUILTINS = [(name, language) for name in EXERCISES for language in LANGUAGES]


@pytest.fixture(scope="module", params=BUILTINS, ids=lambda p: f"{p[0]}-{p[1]}")
def builtin(request, engine):
    session = prepare_session(load_script(*request.param), engine=engine)
    lengths = {e.text: e.duration_s for e in session.timeline.events if e.kind in (Kind.SPEECH, Kind.COUNT)}
    return session, lengths


@pytest.mark.parametrize("minutes", [2, 3, 5, 10, 20])
def test_every_built_in_fits_2_to_20_minutes_with_speech_intact(builtin, minutes):
    session, lengths = builtin
    default = session.timeline
    timeline = plan_timeline(session.script, lengths, target_s=minutes * 60)
    assert abs(timeline.duration_s - minutes * 60) <= 1.0
    speech = [(e.text, e.duration_s) for e in timeline.of_kind(Kind.SPEECH)]
    assert speech == [(e.text, e.duration_s) for e in default.of_kind(Kind.SPEECH)]
    assert [e.text for e in timeline.chapters()] == [e.text for e in default.chapters()]
    # natural: no long silence anywhere, no speech overlapping speech
    assert max(e.duration_s for e in timeline.of_kind(Kind.SILENCE)) <= 15
    voice = timeline.of_kind(Kind.SPEECH)
    assert all(a.end_s <= b.start_s for a, b in zip(voice, voice[1:]))
    cycles = len(timeline.of_kind(Kind.INHALE))
    if minutes >= 5:
        assert cycles > len(default.of_kind(Kind.INHALE)), "longer sessions breathe more"


def test_pauses_stretch_in_proportion_to_their_ranges():
    script = parse_script("Een. [pause 2-4s] Twee. [pause 2-10s] Drie.", "t.vg")
    lengths = {t: 1.0 for t in spoken_texts(script)}
    default = plan_timeline(script, lengths)
    longer = plan_timeline(script, lengths, target_s=default.duration_s + 4.0)
    short, long = [e.duration_s for e in longer.of_kind(Kind.SILENCE)]
    assert (short - 3.0) * 4 == pytest.approx(long - 6.0, abs=0.01)
    assert longer.duration_s == pytest.approx(default.duration_s + 4.0, abs=0.01)
    shorter = plan_timeline(script, lengths, target_s=default.duration_s - 3.0)
    assert [round(e.duration_s, 2) for e in shorter.of_kind(Kind.SILENCE)] == [2.4, 3.6]
    shortest = plan_timeline(script, lengths, target_s=default.duration_s - 5.0)
    assert [round(e.duration_s, 2) for e in shortest.of_kind(Kind.SILENCE)] == [2.0, 2.0]


def test_fixed_items_are_respected_and_at_markers_scale():
    script = parse_script("Een. [pause 3s]\n[at 0:20]\nTwee. [pause 2-30s] [breathe seed x2+]", "t.vg")
    lengths = {t: 1.0 for t in spoken_texts(script)}
    default = plan_timeline(script, lengths)
    doubled = plan_timeline(script, lengths, target_s=default.duration_s * 2)
    assert doubled.of_kind(Kind.SILENCE)[0].duration_s == 3.0
    second = doubled.of_kind(Kind.SPEECH)[1]
    assert second.start_s == pytest.approx(40.0, abs=0.01)
    assert doubled.duration_s == pytest.approx(default.duration_s * 2, abs=1.0)


def test_unreachable_lengths_give_the_possible_range():
    script = parse_script("Een. [pause 1-3s] Twee.", "t.vg")
    lengths = {t: 2.0 for t in spoken_texts(script)}
    shortest, longest = length_range(script, lengths)
    for target in (shortest - 5, longest + 5):
        with pytest.raises(ScriptError, match=r"cannot make this session .* long; it can be from 0:0\d(\.\d)? to 0:\d\d"):
            plan_timeline(script, lengths, target_s=target)
    assert plan_timeline(script, lengths, target_s=shortest).duration_s == pytest.approx(shortest, abs=0.01)


def test_fill_to_time_breathing_adds_whole_cycles():
    script = parse_script("Een. [breathe 4-2-6 x*] Twee.", "t.vg")
    lengths = {t: 1.0 for t in spoken_texts(script)}
    base = plan_timeline(script, lengths)
    longer = plan_timeline(script, lengths, target_s=base.duration_s + 36.0)
    assert len(longer.of_kind(Kind.INHALE)) == len(base.of_kind(Kind.INHALE)) + 3
    with pytest.raises(ScriptError, match="cannot make this session"):
        plan_timeline(script, lengths, target_s=base.duration_s + 30.0)  # no pause to absorb half a cycle


@pytest.mark.parametrize(
    ("minutes", "length", "expected"),
    [(5, None, 300.0), (None, "90s", 90.0), (None, "5m", 300.0), (None, "1:30", 90.0), (None, None, None)],
)
def test_target_seconds(minutes, length, expected):
    assert target_seconds(minutes, length) == expected


@pytest.mark.parametrize(
    ("minutes", "length", "message"),
    [(5, "5m", "not both"), (None, "soon", "is not a duration"), (None, "200m", "between 0:30 and 3:00:00")],
)
def test_target_seconds_errors(minutes, length, message):
    with pytest.raises(UsageError, match=message):
        target_seconds(minutes, length)


@pytest.mark.slow
def test_export_at_two_minutes_decodes_to_two_minutes(tmp_path):
    out = tmp_path / "short.wav"
    result = CliRunner().invoke(cli, ["export", "veilige-plek", "--minutes", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert abs(sf.info(str(out)).duration - 120) <= 1.0


def test_show_prints_the_stretched_timeline_and_errors_are_one_line():
    result = CliRunner().invoke(cli, ["show", "zelfkalmering", "--length", "10m"])
    assert result.exit_code == 0
    assert "length 10:00" in result.output
    result = CliRunner().invoke(cli, ["show", "zelfkalmering", "--minutes", "1"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "cannot make this session 1:00 long; it can be from 1:5" in result.output


# --- [at] and session lengths (issue 13, item 1) --------------------------------

AT_SCRIPT = """---
title: At
---
# Begin
Welkom. [pause 2-8s]
Ga zitten. [pause 1-5s]
[at 0:30]
# Ademen
[breathe seed x2+]
Dank je. [pause 1-4s]
[chime]
"""


def test_a_script_with_at_plans_every_length_it_reports():
    script = parse_script(AT_SCRIPT, "at.vg")
    lengths = {"Welkom.": 1.2, "Ga zitten.": 1.4, "Dank je.": 1.1}
    shortest, longest = length_range(script, lengths)
    own = plan_timeline(script, lengths).duration_s
    assert shortest < own < longest
    for step in range(201):
        target = shortest + (longest - shortest) * step / 200
        timeline = plan_timeline(script, lengths, target_s=target)
        assert abs(timeline.duration_s - target) <= 1.0
        breathing = timeline.of_kind(Kind.INHALE)[0]
        assert breathing.start_s == pytest.approx(30 * target / own, abs=1e-3), "the marker scales with the session"
        silence_before = [e for e in timeline.of_kind(Kind.SILENCE) if e.end_s == pytest.approx(breathing.start_s)]
        assert silence_before[0].duration_s <= (30 - 1 - 1.2 - 5 - 1.4 - 3) + 30 + 1e-6, "its wait grows by 30 s at most"


def test_a_marker_near_its_natural_time_plans_at_and_near_the_natural_length():
    script = parse_script("Een. [pause 1-5s] Twee. [pause 2-6s]\n[at 1:00]\nDrie. [pause 2-8s] [breathe seed x1-4]", "t.vg")
    lengths = {"Een.": 2.0, "Twee.": 2.0, "Drie.": 2.0}
    own = plan_timeline(script, lengths).duration_s
    for target in (own, own - 0.4, own + 0.4, own - 3, own + 3):
        assert abs(plan_timeline(script, lengths, target_s=target).duration_s - target) <= 1.0, target


def test_every_passed_marker_is_an_error_at_every_length_and_for_the_range():
    script = parse_script("Een. Twee.\n[at 0:02]\nDrie. [pause 1-9s]\n[at 0:05]\n[breathe seed x1+]", "t.vg")
    lengths = {"Een.": 2.0, "Twee.": 2.0, "Drie.": 2.0}
    expected = [
        # lead-in 1 s, two sentences with a 0.7 s gap
        "t.vg:2:1: [at 0:02] is already passed by 3.7 s (what comes before it lasts until 0:05.7); move the marker later or shorten what precedes it",
        # planning goes on from there: a sentence and a 5 s pause later
        "t.vg:4:1: [at 0:05] is already passed by 7.7 s (what comes before it lasts until 0:12.7); move the marker later or shorten what precedes it",
    ]
    for target in (None, 60.0, 600.0):
        with pytest.raises(ScriptError) as passed:
            plan_timeline(script, lengths, target_s=target)
        assert str(passed.value).splitlines() == expected
    with pytest.raises(ScriptError, match=r"\[at 0:02\] is already passed"):
        length_range(script, lengths)


def test_a_marker_passed_by_a_hair_says_by_how_much():
    script = parse_script("Een.\n[at 0:02.98]\n[bell]", "t.vg")
    with pytest.raises(ScriptError, match=r"\[at 0:03\] is already passed by 0\.020 s "):
        plan_timeline(script, {"Een.": 2.0})


def test_whole_breath_cycles_name_the_nearest_lengths(write_script):
    # lead-in 1 s, 12 s cycles, the chime rung out (9.9 s) and a 1.5 s tail: 12.4 s + 12 s per cycle
    path = write_script("[breathe seed x1+]\n[chime]")
    result = CliRunner().invoke(cli, ["show", str(path), "--length", "10:06"])
    assert result.exit_code == 2
    assert (
        result.output
        == f"voiceguide: {path}: cannot make this session 10:06 long; lengths in steps of 12 s: 10:00.4 or 10:12.4\n"
    )
    for length in ("10:00.4", "10:12.4"):
        assert CliRunner().invoke(cli, ["show", str(path), "--length", length]).exit_code == 0


# --- show and export agree on the range (issue 27) -------------------------------

RANGE = re.compile(r"it can be from (\S+) to (\S+)$")


def _refusal(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    return result.output.strip()


@pytest.mark.parametrize(("name", "language"), BUILTINS)
def test_show_and_every_export_format_report_the_same_range(tmp_path, name, language):
    shown = _refusal(["show", name, "--lang", language, "--length", "31s"])
    assert RANGE.search(shown), shown
    for suffix in ("mp3", "wav", "opus", "flac"):
        out = tmp_path / f"x.{suffix}"
        assert _refusal(["export", name, "--lang", language, "--length", "31s", "-o", str(out)]) == shown, suffix
        assert not out.exists()


@pytest.mark.parametrize("suffix", ["mp3", "wav"])
def test_an_export_at_the_reported_ends_lands_inside_the_reported_range(tmp_path, suffix):
    shortest, longest = RANGE.search(_refusal(["show", "zelfkalmering", "--length", "31s"])).groups()
    low, high = (target_seconds(None, text) for text in (shortest, longest))
    for asked in (shortest, f"{low - 0.05:.2f}s"):
        out = tmp_path / f"{asked.replace(':', '_')}.{suffix}"
        result = CliRunner().invoke(cli, ["export", "zelfkalmering", "--length", asked, "-o", str(out)])
        assert result.exit_code == 0, result.output
        length = sf.info(str(out)).duration
        assert low <= length <= high and abs(length - low) <= 1.0, (asked, length, low)
