"""Hostile input, round 3 (issue 27): scripts that declare more than any
session can hold are refused before they are planned, in bounded memory."""

from __future__ import annotations

import pytest
from hostile import one_line, voiceguide


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["", "1440"])
def test_years_of_breathing_are_refused_before_they_are_planned(tmp_path, limit):
    """192 kB of [breathe 30-30-30 x500] lines: 11 years, 4 million cycles.
    Planning them took 2.2 GB and was killed at 30 s."""
    script = tmp_path / "jaren.vg"
    script.write_text("---\ntitle: Jaren\nlanguage: en\n---\n" + "[breathe 30-30-30 x500 count]\n" * 6_600, encoding="utf-8")
    # within 1 GB of address space (hostile.MEMORY_LIMIT_BYTES; planning it took 2.2 GB)
    result = voiceguide("check", script, VOICEGUIDE_MAX_MINUTES=limit, limit_memory=True, timeout=60)
    shown = "24:00:00" if limit else "3:00:00"
    assert result.returncode == 2
    assert result.stderr == (
        f"{script}: error: this session would last at least 82500:00:00 (30 phrases); the limit is {shown}"
        " (a shorter script, or raise the limit with VOICEGUIDE_MAX_MINUTES)\n"
    )


# --- smaller defects a new user met ------------------------------------------------------------------


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("length", "shown"), [("1:02:00", "1:02:00"), ("1h", "1:00:00"), ("0:05:00", "5:00"), ("5:00,0", "5:00")]
)
def test_length_takes_the_times_voiceguide_itself_writes(length, shown):

    result = voiceguide("show", "zelfkalmering", "--length", length)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith(f"length {shown}")


def test_a_length_beyond_the_limit_is_shown_as_written():
    assert one_line(voiceguide("show", "zelfkalmering", "--length", "30h")) == (
        "voiceguide: --length must be between 0:30 and 3:00:00, not '30h'"
    )


def test_a_system_folder_is_named_for_what_it_is(tmp_path):

    assert one_line(voiceguide("export", "zelfkalmering", "-o", "/proc/a.mp3"), 1) == (
        "voiceguide: /proc/a.mp3: cannot write in /proc (this folder takes no files: it belongs to the system, as /proc and /sys do)"
    )


def test_a_name_too_long_leaves_no_folder_behind(tmp_path):

    output = tmp_path / "new" / "deeper" / ("a" * 300 + ".mp3")
    assert one_line(voiceguide("export", "zelfkalmering", "-o", output)) == f"voiceguide: {output}: file name too long"
    assert list(tmp_path.iterdir()) == []
