"""Long commands show progress on a terminal, and nothing otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from voiceguide.cli.terminal import ProgressLine


def run_with_terminal_stderr(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", *args], stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_export_shows_progress_at_a_terminal_only(tmp_path):
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    code, shown = run_with_terminal_stderr(["export", "zelfkalmering", "--minutes", "2", "-o", str(tmp_path / "a.wav")], env)
    assert code == 0
    assert "synthesizing" in shown and "a.wav writing" in shown and "100%" in shown
    assert shown.endswith("\r\x1b[K")  # the line is cleared when done
    quiet_code, quiet = run_with_terminal_stderr(
        ["export", "zelfkalmering", "--minutes", "2", "-q", "-o", str(tmp_path / "b.wav")], env
    )
    assert quiet_code == 0 and quiet == ""
    piped = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "--minutes", "2", "-o", str(tmp_path / "c.wav")],
        capture_output=True,
        text=True,
        env={**env, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cold")},
    )
    assert piped.returncode == 0 and piped.stderr == ""


class Terminal:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return True


def test_the_progress_line_counts_phrases_and_percent_and_clears():
    screen = Terminal()
    with ProgressLine(screen, label="calm.mp3") as line:
        line("synthesizing", 0, 24)
        line("synthesizing", 24, 24)
        line("writing", 60, 60)
    assert "\rcalm.mp3 synthesizing 0/24\x1b[K" in screen.text
    assert "\rcalm.mp3 synthesizing 24/24\x1b[K" in screen.text
    assert "\rcalm.mp3 writing 100%\x1b[K" in screen.text
    assert screen.text.endswith("\r\x1b[K")
    off = Terminal()
    with ProgressLine(off, enabled=False) as line:
        line("writing", 1, 2)
    assert off.text == ""
