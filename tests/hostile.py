"""Helpers for the hostile-input tests: voiceguide as a real process, with
the fake engine (speech is not the point), optional memory limits, and
checks that a failure is one clean line."""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mount namespaces)")
needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private mount namespace"
)
MEMORY_LIMIT_BYTES = 1_000_000_000
"""Address space for runs that must not read a hostile file whole: voiceguide
needs ~400 MB of it; reading the hostile files whole needed 2 to 7 GB."""


DUTCH_SCREEN = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "nl_NL.UTF-8"}
"""The environment of a Dutch user's terminal (no other locale setting wins over LANG)."""


def env(**extra: str) -> dict[str, str]:
    """The environment for a run: this tree first on the path, the fake engine."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "VOICEGUIDE_ENGINE": "fake",
        **extra,
    }


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def voiceguide(
    *args: str | Path,
    cwd: Path | None = None,
    timeout: float = 60,
    limit_memory: bool = False,
    input: str | None = None,
    **extra_env: str,
) -> subprocess.CompletedProcess:
    """Run ``python -m voiceguide ARGS``; a hang fails the test at ``timeout``.

    With ``VOICEGUIDE_TEST_DUTCH_SCREEN=1`` in the environment, a run that
    fails is run again under ``LANG=nl_NL.UTF-8`` and must show no English
    (see tests/test_dutch_screen.py): every error path of these tests, in Dutch.
    """

    def run(**more: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voiceguide", *map(str, args)],
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=timeout,
            env=env(**{**extra_env, **more}),
            cwd=cwd or ROOT,
            input=input,
            preexec_fn=_limit_memory if limit_memory else None,
        )

    result = run()
    if result.returncode not in (0, None) and os.environ.get("VOICEGUIDE_TEST_DUTCH_SCREEN") == "1":
        from test_dutch_screen import english_words

        dutch = run(**DUTCH_SCREEN)
        screen = dutch.stderr + dutch.stdout
        assert "Traceback" not in screen and not english_words(screen), (args, screen)
    return result


def stored_diary_and_session(data: Path, trigger: str, exercise: str, session_exercise: str) -> None:
    """A practice store in ``data`` with one diary entry and one played session
    holding these texts as stored, as an older voiceguide or another program
    could have written them (the command line itself refuses such text)."""
    added = voiceguide(
        "diary", "add", "--trigger", "ruzie", "--need", "safety", "--exercise", "x", "--before", "5", "--after", "2",
        "--data-dir", data,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    with sqlite3.connect(data / "practice.sqlite3") as conn:
        conn.execute("UPDATE diary SET trigger_text = ?, exercise = ?", (trigger, exercise))
        conn.execute(
            "INSERT INTO sessions (played_at, exercise, planned_s, played_s, language, completed) VALUES (?, ?, 60, 60, 'nl', 1)",
            ("2026-01-01T10:00:00+01:00", session_exercise),
        )


def one_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The one error line of a failed run (asserting there is exactly one,
    no traceback, and the exit code)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr.replace("voiceguide:", ""), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def in_namespace(script: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run shell ``script`` in a private mount namespace (as root), with
    ``$VG`` set to the voiceguide command."""
    command = f"VG={shlex.quote(sys.executable)}' -m voiceguide'\n{script}"
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        cwd=ROOT,
    )


SHORT = "---\ntitle: Kort\nlanguage: en\n---\n# Begin\nBreathe in slowly. [breathe 4-2-6 x2]\nWelcome back.\n"
"""A script that renders in about a second with the fake engine."""
