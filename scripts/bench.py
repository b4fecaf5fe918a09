"""voiceguide benchmarks: every number in one run, printed as a Markdown table.

Each measurement runs the real command in a fresh process (Python start-up
and imports included, as a user sees it), with its own phrase cache folder
so "cold" really means nothing cached. Peak memory is the child's max RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
        [PYTHON, "-m", "voiceguide", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        text=True,
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
        rows.append(
            (
                f"export default session ({length / 60:.1f} min) to {suffix.upper()}, cold cache",
                f"{cold.seconds:.2f} s",
                f"{length / cold.seconds:.0f}x real time",
            )
        )
        rows.append(
            (
                f"export default session ({length / 60:.1f} min) to {suffix.upper()}, warm cache",
                f"{warm.seconds:.2f} s",
                f"{length / warm.seconds:.0f}x real time; {cold.seconds / warm.seconds:.1f}x faster than cold",
            )
        )
    return rows


# --- live playback: time to first sample -----------------------------------------------------

ASOUNDRC = """pcm.!default {
  type file
  slave.pcm "null"
  file "%s"
  format "wav"
}
"""


def hour_script(path: Path) -> Path:
    """A generated 60-minute session: chapters of speech, breathing and pauses."""
    parts = ["---", "title: An hour", "language: en", "---"]
    for chapter in range(1, 14):
        parts += [
            f"# Part {chapter}",
            "Sit comfortably and let your breathing settle. Follow the tones. [pause 2-8s]",
            "[breathe 4-2-6 x20]",
            "Notice how your body feels right now. [pause 30s]",
        ]
    path.write_text("\n".join(parts + ["[chime]"]) + "\n", encoding="utf-8")
    return path


def time_to_first_sample(script: str, env: dict[str, str], capture: Path) -> tuple[float, float]:
    """Seconds from starting ``voiceguide play`` to the first sample at the
    output (ALSA's file plugin writes it), and to the first non-silent one
    (the session's own audio, once prepared). Stops the player with Ctrl-C."""
    import signal

    import numpy as np

    capture.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "voiceguide", "play", script, "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=ROOT,
        text=True,
    )
    first = audible = None
    data_start, read_to = 0, 0
    try:
        while audible is None:
            if process.poll() is not None:
                raise SystemExit(
                    f"bench: voiceguide play {script} ended early:\n{process.stderr.read() if process.stderr else ''}"
                )
            if time.perf_counter() - start > 120:
                raise SystemExit(f"bench: voiceguide play {script} played nothing within 120 s")
            try:
                size = capture.stat().st_size
            except FileNotFoundError:
                size = 0
            if not data_start and size >= 44:
                header = capture.read_bytes()[:128]
                data_start = header.find(b"data") + 8 if b"data" in header else 0
                read_to = data_start
            if data_start and size > data_start:
                now = time.perf_counter()
                first = first or now - start
                with capture.open("rb") as handle:
                    handle.seek(read_to)
                    chunk = handle.read((size - read_to) // 4 * 4)
                read_to += len(chunk)
                if np.any(np.abs(np.frombuffer(chunk, dtype="<f4")) > 1e-4):
                    audible = now - start
            time.sleep(0.0005)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return first, audible


def play_rows(work: Path) -> list[tuple[str, str, str]]:
    """Time to first sample of ``voiceguide play`` for a 3- and a 60-minute
    session, warm phrase cache, median of three. The output is ALSA's file
    plugin over its null device (an .asoundrc in a temporary HOME), which
    writes what it is given at once, so the file shows when sound starts."""
    home = work / "alsa-home"
    home.mkdir()
    capture = work / "played.wav"
    (home / ".asoundrc").write_text(ASOUNDRC % capture)
    env = {"HOME": str(home), "VOICEGUIDE_CACHE_DIR": str(work / "cache-play")}
    startup = min(run(["--version"], env).seconds for _ in range(3))
    rows = [("start-up floor: `voiceguide --version` (Python, imports)", f"{startup:.2f} s", "")]
    for script in ("zelfkalmering", str(hour_script(work / "hour.vg"))):
        length = session_seconds(script, [], env)  # also fills the phrase cache
        times = sorted(time_to_first_sample(script, env, capture) for _ in range(3))
        first, audible = times[1]
        name = "default session" if script == "zelfkalmering" else "generated session"
        rows.append(
            (
                f"play {name} ({length / 60:.0f} min), warm cache: first sample at the output",
                f"{first:.2f} s",
                f"{first - startup:+.2f} s over start-up",
            )
        )
        rows.append(
            (
                f"play {name} ({length / 60:.0f} min), warm cache: first non-silent sample",
                f"{audible:.2f} s",
                "session prepared; the null output skips the 1 s lead-in",
            )
        )
    return rows


def reference_pipeline(work: Path) -> float:
    """The same work by hand, the way one would script it without
    voiceguide: espeak-ng per phrase, sox to resample, synthesize the cues,
    place everything on the timeline and mix, normalise, lame to MP3.
    Returns the wall time; the timeline comes from voiceguide (not timed)."""
    sys.path.insert(0, str(ROOT))
    from voiceguide import Kind, load_script, prepare_session

    session = prepare_session(load_script("zelfkalmering"))
    timeline = session.timeline
    folder = work / "pipeline"
    folder.mkdir()
    start = time.perf_counter()
    phrases: dict[str, Path] = {}
    placed: list[Path] = []
    for index, event in enumerate(timeline.events):
        if event.kind in (Kind.SPEECH, Kind.COUNT):
            if event.text not in phrases:
                raw = folder / f"phrase-{len(phrases)}.wav"
                subprocess.run(["espeak-ng", "-v", "nl", "-s", str(session.voice.rate), "-w", str(raw), event.text], check=True)
                phrases[event.text] = raw
            source = [str(phrases[event.text])]
            effects = ["rate", "44100", "gain", "-3"]
        elif event.kind in (Kind.INHALE, Kind.EXHALE, Kind.HOLD):
            sweep = {"inhale": "196-293.7", "exhale": "293.7-196", "hold": "293.7"}[event.kind.value]
            source = ["-n", "-r", "44100"]
            effects = [
                "synth",
                f"{event.duration_s}",
                "sine",
                sweep,
                "fade",
                "h",
                "0.35",
                f"{event.duration_s}",
                "0.35",
                "gain",
                "-18",
            ]
        elif event.kind in (Kind.BELL, Kind.CHIME):
            source = ["-n", "-r", "44100"]
            effects = [
                "synth",
                f"{event.duration_s}",
                "sine",
                "392",
                "sine",
                "784",
                "fade",
                "q",
                "0.004",
                f"{event.duration_s}",
                f"{event.duration_s - 0.1}",
                "gain",
                "-15",
            ]
        else:
            continue
        out = folder / f"event-{index}.wav"
        subprocess.run(["sox", *source, "-c", "1", str(out), *effects, "pad", f"{event.start_s}"], check=True)
        placed.append(out)
    mixed = folder / "mixed.wav"
    # sox mixes a limited number of inputs at once: mix in groups, then the groups
    groups = []
    for number in range(0, len(placed), 64):
        group = folder / f"group-{number}.wav"
        chunk = placed[number : number + 64]
        subprocess.run(
            ["sox", "-m", *map(str, chunk), str(group)] if len(chunk) > 1 else ["sox", str(chunk[0]), str(group)], check=True
        )
        groups.append(group)
    subprocess.run(
        ["sox", "-m", *map(str, groups), str(mixed), "gain", "-n", "-1"]
        if len(groups) > 1
        else ["sox", str(groups[0]), str(mixed), "gain", "-n", "-1"],
        check=True,
    )
    subprocess.run(["lame", "--quiet", "-m", "m", "-b", "96", "--cbr", str(mixed), str(folder / "session.mp3")], check=True)
    return time.perf_counter() - start


def pipeline_rows(work: Path) -> list[tuple[str, str, str]]:
    if not all(shutil.which(tool) for tool in ("espeak-ng", "sox", "lame")):
        return [("espeak-ng + sox + lame pipeline", "skipped", "install sox and lame to compare")]
    by_hand = reference_pipeline(work)
    ours = run(
        ["export", "zelfkalmering", "-o", str(work / "ours.mp3"), "--force"],
        {"VOICEGUIDE_CACHE_DIR": str(work / "cache-vs-pipeline")},
    )
    return [
        ("espeak-ng + sox + lame by hand, default session to MP3 (no cache)", f"{by_hand:.2f} s", ""),
        (
            "voiceguide export, same session to MP3 (cold cache)",
            f"{ours.seconds:.2f} s",
            f"{by_hand / ours.seconds:.2f}x the pipeline's speed",
        ),
    ]


def memory_rows(work: Path) -> list[tuple[str, str, str]]:
    env = {"VOICEGUIDE_CACHE_DIR": str(work / "cache-memory")}
    rows = []
    for script, name in (("zelfkalmering", "3-minute"), (str(hour_script(work / "hour-mem.vg")), "60-minute")):
        length = session_seconds(script, [], env)
        exported = run(["export", script, "-o", str(work / "memory.mp3"), "--force"], env)
        rows.append(
            (
                f"peak memory, export of a {name} session ({length / 60:.0f} min) to MP3",
                f"{exported.max_rss_mb:.0f} MB",
                f"{exported.seconds:.1f} s, {length / exported.seconds:.0f}x real time",
            )
        )
    return rows


def batch_rows(work: Path) -> list[tuple[str, str, str]]:
    manifest = work / "bench.toml"
    manifest.write_text(
        '[bundle]\ntitle = "Bench"\n[grid]\nexercises = ["zelfkalmering", "veilige-plek"]\nminutes = [2, 3]\n', encoding="utf-8"
    )
    env = {"VOICEGUIDE_CACHE_DIR": str(work / "cache-batch")}
    run(["batch", str(manifest), "-o", str(work / "warm-up"), "--jobs", "2"], env)  # fills the phrase cache for both
    one = run(["batch", str(manifest), "-o", str(work / "one"), "--jobs", "1"], env)
    cores = os.cpu_count() or 1
    many = run(["batch", str(manifest), "-o", str(work / "many"), "--jobs", str(cores)], env)
    return [
        ("batch of 4 tracks (2-3 min, MP3), one at a time", f"{one.seconds:.1f} s", ""),
        (
            f"batch of 4 tracks, {cores} at a time ({cores} cores)",
            f"{many.seconds:.1f} s",
            f"{one.seconds / many.seconds:.2f}x speed-up",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as folder:
        work = Path(folder)
        started = time.perf_counter()
        rows = export_rows(work)
        rows += pipeline_rows(work)
        rows += play_rows(work)
        rows += memory_rows(work)
        rows += batch_rows(work)
        rows.append(("the whole benchmark", f"{time.perf_counter() - started:.0f} s", ""))
    print("| measurement | result | ratio |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
