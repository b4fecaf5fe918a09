"""Hostile input, round 3 (issue 27): scripts that declare more than any
session can hold are refused before they are planned, in bounded memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hostile import ROOT, env


def _peak_rss_mb(*args, **extra) -> tuple[subprocess.CompletedProcess, float]:
    """Run voiceguide in a child and measure the child's peak memory (ru_maxrss)."""
    code = f"import resource, runpy, sys; sys.argv = ['voiceguide', *{list(map(str, args))!r}]\n"
    code += "try:\n    runpy.run_module('voiceguide', run_name='__main__')\nfinally:\n"
    code += "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(**extra), cwd=ROOT, timeout=120)
    *lines, peak_kb = result.stderr.splitlines()
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout, "\n".join(lines) + "\n"), int(
        peak_kb
    ) / 1024


@pytest.mark.parametrize("limit", ["", "1440"])
def test_years_of_breathing_are_refused_before_they_are_planned(tmp_path, limit):
    """192 kB of [breathe 30-30-30 x500] lines: 11 years, 4 million cycles.
    Planning them took 2.2 GB and was killed at 30 s."""
    script = tmp_path / "jaren.vg"
    script.write_text("---\ntitle: Jaren\nlanguage: en\n---\n" + "[breathe 30-30-30 x500 count]\n" * 6_600, encoding="utf-8")
    result, peak_mb = _peak_rss_mb("check", script, VOICEGUIDE_MAX_MINUTES=limit)
    shown = "24:00:00" if limit else "3:00:00"
    assert result.returncode == 2
    assert result.stderr == (
        f"{script}: error: this session would last at least 82500:00:00 (30 phrases); the limit is {shown}"
        " (a shorter script, or raise the limit with VOICEGUIDE_MAX_MINUTES)\n"
    )
    assert peak_mb < 300, peak_mb
