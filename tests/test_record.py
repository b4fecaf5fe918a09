"""Recording a voice pack here: the recorder's steps, the microphone, and
``voiceguide record`` in a terminal.

There is no sound card: an ``.asoundrc`` in a temporary HOME makes ALSA's
default device two ``file`` plugins: one reads the "microphone" from a raw
int16 file (``infile``; the plugin would also write what it captures to its
``file``, so that goes to /dev/null), the other writes what is played to a
file (through ``cat >>``, so every playback is appended rather than
starting the file anew). ALSA opens
the input file anew for each recording, so a test puts the next phrase's
sound there before pressing Enter. The plugin is not real time: a
recording is read as fast as it goes, so only the silence stop ends it
(Enter is tested in-process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from audio_checks import dominant_hz
from helpers import Terminal, restart_portaudio

from voiceguide.audio import Audio
from voiceguide.cli.record import parse_record_keys
from voiceguide.recorder import Recorder, Step, play_back, record_phrase
from voiceguide.speech.pack import VoicePack

RATE = 48_000
ASOUNDRC = """\
pcm.!default {{
  type asym
  playback.pcm "speaker"
  capture.pcm "microphone"
}}
pcm.speaker {{
  type file
  slave.pcm "null"
  file "|cat >> {played}"
  format "raw"
}}
pcm.microphone {{
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "{microphone}"
  format "raw"
}}
"""
SCRIPT = """---
title: Opnemen
language: nl
---
Hallo daar.
Voel je voeten.
Tot ziens.
"""
TEXTS = ["Hallo daar.", "Voel je voeten.", "Tot ziens."]


def spoken(f0_hz: float, seconds: float = 1.0, level: float = 0.15) -> np.ndarray:
    """A voice-like sound at ``f0_hz`` (harmonics, syllable envelope)."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in (1, 2, 3))
    envelope = np.sin(np.pi * t / seconds) ** 0.3 * (0.7 + 0.3 * np.sin(2 * np.pi * 4 * t) ** 2)
    return level * tone * envelope / np.max(np.abs(tone))


def microphone_sound(f0_hz: float | None, clipped: bool = False) -> np.ndarray:
    """What the microphone hears for one take: 0.4 s of quiet, the phrase,
    2 s of quiet (a second of it stops the recording)."""
    voice = spoken(f0_hz) if f0_hz else np.zeros(RATE)
    if clipped:
        voice = np.clip(voice * 20, -1.0, 1.0)
    return np.concatenate([np.zeros(int(0.4 * RATE)), voice, np.zeros(2 * RATE)])


def write_int16(path: Path, samples: np.ndarray) -> None:
    path.write_bytes(np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def alsa(tmp_path_factory):
    """A HOME whose ALSA default device records from ``mic.raw`` and plays into ``played.raw``."""
    home = tmp_path_factory.mktemp("alsa-record")
    write_int16(home / "mic.raw", microphone_sound(300.0))  # PortAudio lists a capture device only if the file exists
    (home / ".asoundrc").write_text(ASOUNDRC.format(played=home / "played.raw", microphone=home / "mic.raw"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        restart_portaudio()
        yield home
    restart_portaudio()


def played(home: Path) -> np.ndarray:
    """Everything played so far (float32 mono), once the writer has finished."""
    path = home / "played.raw"
    size, deadline = -1, time.monotonic() + 10
    while time.monotonic() < deadline:
        now = path.stat().st_size if path.exists() else 0
        if now == size:
            break
        size = now
        time.sleep(0.2)
    data = path.read_bytes() if path.exists() else b""
    return np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")


def sounding(samples: np.ndarray, min_s: float = 0.5, rate: int = RATE) -> list[tuple[int, int]]:
    """(start, end) of every stretch louder than -50 dBFS (10 ms frames) lasting ``min_s`` or more."""
    frame = rate // 100
    usable = len(samples) // frame * frame
    loud = np.sqrt(np.mean(samples[:usable].reshape(-1, frame).astype(np.float64) ** 2, axis=1)) > 10 ** (-50 / 20)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    return [(a * frame, b * frame) for a, b in zip(edges[::2], edges[1::2]) if (b - a) * frame >= min_s * rate]


# --- the steps --------------------------------------------------------------------------------


def take(f0_hz: float) -> Audio:
    return Audio(microphone_sound(f0_hz).astype(np.float32), RATE)


def test_keys_move_through_record_review_keep_and_redo(tmp_path):
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    recorder = Recorder(pack, TEXTS + ["Hallo daar."])
    assert (recorder.total, recorder.todo, recorder.current, recorder.step) == (3, TEXTS, "Hallo daar.", Step.READY)
    assert not recorder.press("n")  # nothing to keep yet
    assert recorder.press("enter") and recorder.step is Step.RECORDING
    recorder.finish(take(300.0))
    assert recorder.step is Step.REVIEW and recorder.take is not None
    assert recorder.press("r") and recorder.step is Step.READY and recorder.take is None
    assert not pack.has("Hallo daar.")  # a redo stores nothing
    recorder.press("enter")
    recorder.finish(take(330.0))
    assert recorder.press("n")
    assert recorder.current == "Voel je voeten." and recorder.remaining == 2 and recorder.kept == ["Hallo daar."]
    assert dominant_hz(pack.recording("Hallo daar.").samples, RATE) == pytest.approx(330.0, abs=2)


def test_a_clipped_take_is_rejected_with_the_reason_and_offers_only_redo_or_quit(tmp_path):
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    recorder = Recorder(pack, TEXTS)
    recorder.press("enter")
    recorder.finish(Audio(microphone_sound(300.0, clipped=True).astype(np.float32), RATE))
    assert recorder.step is Step.REJECTED and "clipped" in recorder.problem
    assert not recorder.press("n")  # cannot be kept
    assert recorder.press("r") and recorder.step is Step.READY and recorder.problem is None
    recorder.press("enter")
    recorder.finish(Audio(np.zeros(2 * RATE, dtype=np.float32), RATE))
    assert recorder.step is Step.REJECTED and recorder.problem.startswith("no voice heard")
    assert recorder.press("q") and recorder.step is Step.DONE
    assert pack.recorded() == []


def test_quit_keeps_the_take_under_review_and_a_new_run_resumes_with_what_is_missing(tmp_path):
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    recorder = Recorder(pack, TEXTS)
    recorder.press("enter")
    recorder.finish(take(300.0))
    recorder.press("q")
    assert recorder.step is Step.DONE and recorder.kept == ["Hallo daar."] and recorder.current is None
    again = Recorder(VoicePack.open(tmp_path / "anna"), TEXTS)
    assert again.todo == ["Voel je voeten.", "Tot ziens."] and again.total == 3 and again.remaining == 2
    # a damaged recording is recorded again
    path = pack.path("Hallo daar.")
    path.write_bytes(path.read_bytes()[:300])
    third = Recorder(VoicePack.open(tmp_path / "anna"), TEXTS)
    assert third.todo == TEXTS and third.damaged == ["Hallo daar."]


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        (b"\r", ["enter"]),
        (b"\n", ["enter"]),
        (b"\r\n", ["enter"]),
        (b"nRq", ["n", "r", "q"]),
        (b"\x1b", ["q"]),
        (b"\x1b[A", []),
        (b"x ", []),
    ],
)
def test_record_keys_from_terminal_bytes(data, keys):
    assert parse_record_keys(data) == keys


# --- the microphone and the output --------------------------------------------------------------


def test_the_microphone_is_recorded_until_a_second_of_silence(alsa):
    write_int16(alsa / "mic.raw", microphone_sound(440.0))
    audio = record_phrase(None, RATE)
    assert audio.sample_rate == RATE
    # 0.4 s quiet + 1 s voice + about a second of silence (the voice's own soft end counts as quiet)
    assert 2.2 <= audio.duration_s <= 2.5
    voice = audio.samples[int(0.5 * RATE) : int(1.3 * RATE)]
    assert dominant_hz(voice, RATE) == pytest.approx(440.0, abs=2)
    assert np.max(np.abs(voice)) == pytest.approx(0.15, abs=0.01)  # int16 read back at its level


def test_enter_stops_the_recording_at_once(alsa):
    write_int16(alsa / "mic.raw", microphone_sound(440.0))
    stop = threading.Event()
    blocks = []

    def level(db: float) -> None:
        blocks.append(db)
        if len(blocks) == 12:
            stop.set()  # as the key reader does on Enter

    audio = record_phrase(None, RATE, stop=stop, on_level=level)
    assert audio.duration_s == pytest.approx(12 * 0.05, abs=1e-9)
    # the meter saw the quiet start, then the voice (12 blocks: 0.4 s quiet, 0.2 s of the rising voice)
    assert blocks[:8] == [-100.0] * 8 and -25 < max(blocks[8:]) <= 20 * np.log10(0.15)


def test_a_take_is_played_back_on_the_output(alsa):
    (alsa / "played.raw").unlink(missing_ok=True)
    sound = Audio(spoken(250.0).astype(np.float32), RATE)
    play_back(sound)
    out = played(alsa)
    start = int(np.flatnonzero(np.abs(out) > 1e-4)[0])
    assert np.allclose(
        out[start : start + len(sound.samples) - 100],
        sound.samples[np.flatnonzero(np.abs(sound.samples) > 1e-4)[0] :][: len(sound.samples) - 100],
        atol=1e-6,
    )


# --- the command in a terminal -----------------------------------------------------------------


@pytest.fixture
def terminal(alsa, tmp_path):
    opened = []

    def start(*args: str) -> Terminal:
        env = {**os.environ, "HOME": str(alsa), "TERM": "xterm", "VOICEGUIDE_ENGINE": "fake"}
        term = Terminal(["record", *args], env, rows=30)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_record_in_a_terminal_redo_keep_quit_and_resume(terminal, alsa, tmp_path):
    script = tmp_path / "opnemen.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    pack = tmp_path / "anna"
    (alsa / "played.raw").unlink(missing_ok=True)
    mic = alsa / "mic.raw"

    term = terminal(str(script), "-o", str(pack), "--speaker", "Anna")
    term.shows("phrase 1 of 3, 3 to record")
    term.shows("Hallo daar.")
    term.shows("Enter: record")
    write_int16(mic, microphone_sound(300.0))
    term.type(b"\r")
    term.shows("playing it back")
    term.shows("n: keep and go on", 2)  # shown again once playback has ended
    term.type(b"r")  # record it again
    term.shows("phrase 1 of 3, 3 to record", 2)
    write_int16(mic, microphone_sound(330.0))
    term.type(b"\r")
    term.shows("playing it back", 2)
    term.shows("n: keep and go on", 4)
    term.type(b"n")
    term.shows("phrase 2 of 3, 2 to record")
    write_int16(mic, microphone_sound(360.0, clipped=True))
    term.type(b"\r")
    term.shows("the recording is clipped")
    term.type(b"n")  # means nothing now: a clipped take cannot be kept
    write_int16(mic, microphone_sound(360.0))
    term.type(b"r")
    term.shows("phrase 2 of 3, 2 to record", 2)
    term.type(b"\r")
    term.shows("playing it back", 3)
    term.shows("n: keep and go on", 6)
    term.type(b"q")  # keep this one, then stop
    assert term.wait() == 0
    assert term.restored()
    shown = term.text()
    assert "Traceback" not in shown
    assert f"kept 2 takes; 1 phrase still to record: run 'voiceguide record {script} -o {pack}' again to go on" in shown

    recorded = VoicePack.open(pack, "nl")
    assert recorded.info.speaker == "Anna"
    assert dominant_hz(recorded.recording("Hallo daar.").samples, RATE) == pytest.approx(330.0, abs=2)  # the redo
    assert dominant_hz(recorded.recording("Voel je voeten.").samples, RATE) == pytest.approx(360.0, abs=2)
    assert recorded.missing(TEXTS) == ["Tot ziens."]
    # the three usable takes were played back, in order (the clipped one was not)
    out = played(alsa)
    assert [round(dominant_hz(out[a:b], RATE)) for a, b in sounding(out)] == [300, 330, 360]

    again = terminal(str(script), "-o", str(pack))
    again.shows("phrase 3 of 3, 1 to record")
    again.shows("Tot ziens.")
    write_int16(mic, microphone_sound(390.0))
    again.type(b"\r")
    again.shows("playing it back")
    again.type(b"n")
    assert again.wait() == 0
    assert f"all 3 phrases are in {pack}" in again.text()
    assert VoicePack.open(pack).missing(TEXTS) == []
    assert dominant_hz(VoicePack.open(pack).recording("Tot ziens.").samples, RATE) == pytest.approx(390.0, abs=2)


def test_record_without_a_terminal_points_to_from_take(tmp_path):
    script = tmp_path / "opnemen.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "record", str(script), "-o", str(tmp_path / "anna")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "voiceguide: recording needs a terminal to read keys from; to import a recording made elsewhere use --from-take FILE"
    ]
    assert not (tmp_path / "anna").exists()


def test_record_without_a_microphone_says_so_in_one_line(terminal, alsa, tmp_path):
    script = tmp_path / "opnemen.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    term = terminal(str(script), "-o", str(tmp_path / "anna"), "--input-device", "studio")
    assert term.wait() == 1
    assert term.text().strip().splitlines()[-1] == (
        "voiceguide: no input device matches 'studio'; choose one of: 0 speaker, 1 microphone, 2 default "
        "(see 'voiceguide devices --input')"
    )
    assert not (tmp_path / "anna").exists()


def test_play_speaks_with_the_voice_pack(alsa, tmp_path):
    """What was recorded is what ``play --voice-pack`` plays, phrase by phrase."""
    script = tmp_path / "opnemen.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    for text, pitch in zip(TEXTS, (300.0, 340.0, 380.0)):
        pack.add(text, Audio(spoken(pitch, 1.2).astype(np.float32), RATE))
    (alsa / "played.raw").unlink(missing_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "voiceguide",
            "play",
            str(script),
            "--voice-pack",
            str(pack.folder),
            "--strict",
            "--quiet",
            "--no-diary",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(alsa), "VOICEGUIDE_ENGINE": "fake"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = played(alsa)  # the player opens the output at 44.1 kHz
    heard = [round(dominant_hz(out[a:b], 44_100)) for a, b in sounding(out, rate=44_100)]
    assert heard == [300, 340, 380]
