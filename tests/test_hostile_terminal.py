"""Hostile input, round 3 (issue 27): what reaches a terminal.

A file name is someone else's text: on the progress line, in ``wrote ...``
and in the voices folder's warnings its control characters are shown as
escapes. ``log --csv`` and ``diary --csv`` write stored text as it is when
redirected (a CSV file must hold the data), and escaped on a terminal.
"""

from __future__ import annotations

import pytest
from helpers import Terminal
from hostile import SHORT, env, stored_diary_and_session, voiceguide

EVIL = "evil\x1b]0;owned\x07\x1b[2J"


def _on_terminal(args, cwd=None) -> str:
    terminal = Terminal([*map(str, args)], env=env())
    try:
        assert terminal.wait(60) == 0, terminal.text()
        return terminal.text()
    finally:
        terminal.close()


def test_an_output_name_with_escapes_is_shown_as_text_on_the_progress_line_and_in_wrote(tmp_path):
    script = tmp_path / "kort.vg"
    script.write_text(SHORT, encoding="utf-8")
    output = tmp_path / f"{EVIL}.wav"
    shown = _on_terminal(["export", script, "-o", output])
    assert "\x1b[2J" not in shown and "\x07" not in shown and "\x1b]0" not in shown, shown
    assert f"wrote {tmp_path}/evil\\x1b]0;owned\\x07\\x1b[2J.wav (" in shown
    assert output.exists()


@pytest.mark.slow
def test_csv_is_raw_when_redirected_and_escaped_on_a_terminal(tmp_path):
    data = tmp_path / "data"
    stored_diary_and_session(data, f"{EVIL}ruzie", "x", f"{EVIL}.vg")
    for command in ("diary", "log"):
        redirected = voiceguide(command, "--csv", "--data-dir", data)
        assert redirected.returncode == 0 and "evil\x1b]0;owned\x07" in redirected.stdout  # the data as stored
        shown = _on_terminal([command, "--csv", "--data-dir", data])
        assert "\x1b" not in shown and "\x07" not in shown, shown
        assert "evil\\x1b]0;owned\\x07" in shown
