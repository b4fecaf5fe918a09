"""Docs that run: the README's example script passes ``check`` and ``export``.

The example is the fenced block that follows the line holding
``<!-- example: script -->`` in README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from voiceguide.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = "<!-- example: script -->"


def readme_example() -> str:
    """The fenced block after the marker line (any fence of three or more backticks)."""
    text = README.read_text(encoding="utf-8")
    marker = text.find(MARKER)
    if marker < 0:
        pytest.fail(
            f"README.md has no line with {MARKER}: put it on the line before the fenced example script, "
            "so that this test can check that the example works"
        )
    block = re.match(r"[^\n]*\n\s*(`{3,})[^\n]*\n(.*?)\n\1[ \t]*(\n|$)", text[marker:], re.DOTALL)
    if block is None:
        pytest.fail(f"README.md: the line with {MARKER} is not followed by a fenced block (```) holding the example script")
    return block.group(2) + "\n"


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("readme") / "example.vg"
    path.write_text(readme_example(), encoding="utf-8")
    return path


def test_the_readme_example_passes_check(example):
    result = CliRunner().invoke(cli, ["check", str(example)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "ok: no errors, no warnings", result.output


def test_the_readme_example_exports(example, tmp_path):
    out = tmp_path / "example.wav"
    result = CliRunner().invoke(cli, ["export", str(example), "-o", str(out)])
    assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(cli, ["show", str(example)])
    length = re.search(r"^length (\d+):(\d\d)", shown.output, re.MULTILINE)
    assert length, shown.output
    assert sf.info(str(out)).duration == pytest.approx(int(length.group(1)) * 60 + int(length.group(2)), abs=1.0)


RUNNABLE = "<!-- runnable -->"


def runnable_commands() -> list[str]:
    """Every ``voiceguide ...`` line of the README's fenced blocks marked runnable, in order."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for found in re.finditer(re.escape(RUNNABLE) + r"[^\n]*\n\s*(`{3,})[^\n]*\n(.*?)\n\1", text, re.DOTALL):
        for line in found.group(2).splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("voiceguide "):
                commands.append(line)
    return commands


def test_the_readme_has_runnable_blocks():
    assert len(runnable_commands()) >= 8


@pytest.mark.slow
def test_every_runnable_command_in_the_readme_works_as_written(tmp_path):
    """The README's marked blocks are run as written, in one folder, in
    order (a later command may use what an earlier one made)."""
    import os
    import shlex
    import shutil
    import subprocess
    import sys

    root = README.parent
    shutil.copytree(root / "examples", tmp_path / "examples")
    env = {
        **os.environ,
        "VOICEGUIDE_DATA_DIR": str(tmp_path / "data"),
        "VOICEGUIDE_CACHE_DIR": os.environ["VOICEGUIDE_CACHE_DIR"],
    }
    for command in runnable_commands():
        args = shlex.split(command)[1:]
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
        )
        assert result.returncode == 0, f"README: {command}\n{result.stderr}"
    assert (tmp_path / "calm.mp3").is_file() and (tmp_path / "out" / "safe-place.vtt").is_file()
