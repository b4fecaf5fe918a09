"""``voiceguide check`` and script errors: every problem in one run, in file order (issue 13, items 2 and 6)."""

from __future__ import annotations

import pytest
from helpers import run


def lines(output: str) -> list[str]:
    return output.strip().splitlines()


MARKERS = "pause, at, breathe, bell, chime, clip"
SETTINGS = "author, hold_tone, language, lexicon, pitch, rate, title, voice, volume"


def test_check_lists_every_marker_error_at_once(write_script):
    path = write_script("Hallo. [bel]\n[breath 4-2-6 x5]\nDaar.")
    result = run("check", str(path))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"{path}:6:8: error: unknown marker [bel]; use one of: {MARKERS}",
        f"{path}:7:1: error: unknown marker [breath]; use one of: {MARKERS}",
    ]


def test_check_lists_every_bad_front_matter_line_and_duplicates_are_errors(write_script):
    path = write_script("---\ntitle: T\nrate: fast\ncolour: blue\npitch: 200\nspeed: 3\ntitle: Ander\n---\nHallo.")
    result = run("check", str(path))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"{path}:3:7: error: rate must be a whole number from 60 to 400, not 'fast'",
        f"{path}:4:1: error: unknown setting 'colour'; known settings: {SETTINGS}",
        f"{path}:5:8: error: pitch must be a whole number from 0 to 99, not '200'",
        f"{path}:6:1: error: unknown setting 'speed'; known settings: {SETTINGS}",
        f"{path}:7:1: error: setting 'title' is given twice (first on line 2); keep one",
    ]


def test_errors_and_warnings_come_together_in_file_order(write_script):
    path = write_script("# Aankomen   <- a chapter\nCre\u01aber. [breathe 4-9-4 x2]\n[pause soon]\n[chime x]")
    result = run("check", str(path))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"{path}:6:1: warning: chapter title 'Aankomen <- a chapter' has a note in it; a note goes on a line of its own, after //",
        f"{path}:7:4: warning: encoding damage '\u01ab' was read as '\u00eb'; fix the text",
        f"{path}:7:9: warning: exhale (4 s) is not longer than inhale (4 s); a longer out-breath calms, e.g. 4-2-6",
        f"{path}:7:9: warning: a 9 s hold is long for most people; keep holds at 8 s or less",
        f"{path}:8:8: error: 'soon' is not a duration; write e.g. 3s, 1.5s, 500ms, 2m or 1:30",
        f"{path}:9:8: error: [chime] takes no arguments",
    ]


def test_check_lists_every_passed_at_marker(write_script):
    path = write_script("[breathe seed x2]\n[at 0:10]\n[breathe seed x2]\n[at 0:20]\n[chime]")
    result = run("check", str(path))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"{path}:7:1: error: [at 0:10] is already passed by 15.0 s (what comes before it lasts until 0:25); move the marker later or shorten what precedes it",
        f"{path}:9:1: error: [at 0:20] is already passed by 29.0 s (what comes before it lasts until 0:49); move the marker later or shorten what precedes it",
    ]


def test_a_chapter_note_is_a_warning_only(write_script):
    path = write_script("# Ademen // the breathing part\n[breathe seed x1]")
    result = run("check", str(path))
    assert result.exit_code == 0
    assert lines(result.output) == [
        f"{path}:6:1: warning: chapter title 'Ademen // the breathing part' has a note in it; a note goes on a line of its own, after //",
        "ok: no errors, 1 warning(s)",
    ]


def test_other_commands_print_every_script_error_one_line_each(write_script, tmp_path):
    path = write_script("Hallo. [bel]\n[breath 4-2-6 x5]")
    result = run("export", str(path), "-o", str(tmp_path / "x.wav"))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"voiceguide: {path}:6:8: unknown marker [bel]; use one of: {MARKERS}",
        f"voiceguide: {path}:7:1: unknown marker [breath]; use one of: {MARKERS}",
    ]
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("veilige-plak", "veilige-plek"),
        ("zelfkalmring", "zelfkalmering"),
        ("herineringen", "herinnering"),
        ("safe-plase", "safe-place"),
    ],
)
def test_a_mistyped_exercise_name_gets_a_suggestion(name, suggestion):
    result = run("show", name)
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"voiceguide: '{name}' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor a script file; "
        f"did you mean {suggestion}?"
    ]


def test_a_name_like_no_exercise_gets_no_suggestion():
    result = run("check", "ademhaling")
    assert result.exit_code == 2
    assert lines(result.output) == [
        "voiceguide: 'ademhaling' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor a script file"
    ]
