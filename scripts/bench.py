"""voiceguide benchmarks: every number in one run, printed as a Markdown table.

Each measurement runs the real command in a fresh process (Python start-up
and imports included, as a user sees it), with its own phrase cache folder
so "cold" really means nothing cached. Peak memory is the child's max RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    output: str


def run(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run ``python -m voiceguide ARGS`` and measure wall time and peak memory."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "voiceguide", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd or ROOT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: voiceguide {' '.join(args)} failed:\n{output}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def session_seconds(exercise: str, extra: list[str], env: dict[str, str]) -> float:
    shown = run(["show", exercise, *extra], env).output
    line = next(line for line in shown.splitlines() if line.startswith("length "))
    minutes, seconds = line.split()[1].rstrip(",").split(":")[-2:]
    hours = line.split()[1].rstrip(",").split(":")[:-2]
    return (int(hours[0]) * 3600 if hours else 0) + int(minutes) * 60 + int(seconds)


def export_rows(work: Path) -> list[tuple[str, str, str]]:
    rows = []
    cache = work / "cache-export"
    env = {"VOICEGUIDE_CACHE_DIR": str(cache)}
    for suffix in ("mp3", "wav"):
        cold_env = {"VOICEGUIDE_CACHE_DIR": str(work / f"cache-cold-{suffix}")}
        cold = run(["export", "zelfkalmering", "-o", str(work / f"cold.{suffix}"), "--force"], cold_env)
        warm = run(["export", "zelfkalmering", "-o", str(work / f"warm.{suffix}"), "--force"], cold_env)
        length = session_seconds("zelfkalmering", [], env)
        rows.append((f"export default session ({length / 60:.1f} min) to {suffix.upper()}, cold cache", f"{cold.seconds:.2f} s", f"{length / cold.seconds:.0f}x real time"))
        rows.append((f"export default session ({length / 60:.1f} min) to {suffix.upper()}, warm cache", f"{warm.seconds:.2f} s", f"{length / warm.seconds:.0f}x real time; {cold.seconds / warm.seconds:.1f}x faster than cold"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as folder:
        work = Path(folder)
        rows = export_rows(work)
    print("| measurement | result | ratio |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
