"""Live playback, played for real and captured.

There is no sound card here, so an ``.asoundrc`` in a temporary HOME points
ALSA's default output at its ``file`` plugin (over the ``null`` device):
sounddevice -> PortAudio -> ALSA really plays, and every sample played
lands in a WAV file that the tests measure. The null device is not real
time (it takes audio as fast as it comes), so the tests check content,
order and fades, never wall-clock pacing.

In-process tests drive the player's controls directly; subprocess tests
run ``voiceguide play`` as a user would, in a pseudo-terminal for keys and
Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_checks import rms_dbfs
from helpers import Terminal, restart_portaudio, wait_for
from scipy.signal import correlate

from voiceguide import load_script, prepare_session
from voiceguide.cli.terminal import format_status, parse_keys
from voiceguide.clock import format_clock
from voiceguide.dsp.loudness import LoudnessMeter
from voiceguide.mix.mixer import MixSettings
from voiceguide.plan.timeline import Kind
from voiceguide.sinks.normalise import play_gain
from voiceguide.sinks.player import Player
from voiceguide.sinks.transport import (
    AHEAD_S,
    INTERRUPT_FADE_S,
    PAUSE_FADE_S,
    RENDER_BLOCK_FRAMES,
    SEEK_FADE_S,
    SEEK_LEAD_S,
    STOP_FADE_S,
    Navigator,
    State,
    Status,
    Transport,
)

RATE = 44_100
CAPTURE_VAR = "VOICEGUIDE_TEST_CAPTURE"
ASOUNDRC = """\
pcm.!default {
  type file
  slave.pcm "null"
  file { @func getenv vars [ %s ] default "%s" }
  format "wav"
}
"""

# Mostly speech, like a real session: the export's loudness normalisation
# then needs only a modest gain and its peak limiter hardly acts.
PLAY_SCRIPT = """---
title: Play test
language: en
rate: 160
---
# Arriving
Sit down comfortably, on a chair or on the couch. Close your eyes if that feels good.
Feel your feet on the floor, and notice where they touch the ground.
[bell]
# Breathing
Breathe in with the rising tone, and out with the falling tone.
[breathe 3-1-4 x1]
Well done. Take this calm with you into the rest of your day.
[chime]
"""

# One long breath cycle (50 s): a steady tone with no repeats, for exact fade checks.
STEADY_SCRIPT = """---
title: Steady
language: en
---
Breathe.
[breathe 20-0-30 x1]
"""

NAV_SCRIPT = """---
title: Navigation
language: en
rate: 150
---
# One
The first sentence is here, and it takes a little while to say.
The second sentence follows the first one, and it is rather long as well. [pause 1s]
# Two
The third sentence opens the second chapter of this test. [pause 20s]
[chime]
"""

# An hour of breathing, so that playback is still going when a key or a
# signal arrives (the null device plays far faster than real time).
LONG_SCRIPT = """---
title: Long breathing
language: en
---
# Breathing
Breathe with the tones.
[breathe 4-2-6 x300]
[chime]
"""


# --- the capture ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def alsa_home(tmp_path_factory):
    """A HOME whose .asoundrc sends ALSA's default output to a file, for this
    process (sounddevice reads it when PortAudio starts) and subprocesses."""
    home = tmp_path_factory.mktemp("alsa-home")
    (home / ".asoundrc").write_text(ASOUNDRC % (CAPTURE_VAR, home / "played.wav"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        restart_portaudio()
        yield home
    restart_portaudio()


@pytest.fixture
def capture(alsa_home, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "played.wav"
    monkeypatch.setenv(CAPTURE_VAR, str(path))
    return path


def read_played(path: Path) -> np.ndarray:
    """The samples ALSA's file plugin wrote, as float32 mono.

    The plugin writes a WAV header but labels float samples as 32-bit PCM
    (format tag 1), and leaves the sizes unset until it is closed, so the
    header is read by hand and the data taken up to the end of the file.
    """
    data = path.read_bytes()
    fmt = data.index(b"fmt ") + 8
    _, channels, rate = struct.unpack_from("<HHI", data, fmt)
    bits = struct.unpack_from("<H", data, fmt + 14)[0]
    start = data.index(b"data") + 8
    assert (channels, rate, bits) == (1, RATE, 32), "the player should open the output as mono float32 at 44.1 kHz"
    usable = (len(data) - start) // 4 * 4
    samples = np.frombuffer(data[start : start + usable], dtype="<f4")
    assert np.all(np.isfinite(samples)) and np.max(np.abs(samples), initial=0) <= 1.0, "not float32 audio"
    return samples


def align(played: np.ndarray, template: np.ndarray) -> int:
    """Where ``template`` starts in ``played``, by cross-correlation."""
    scores = correlate(played.astype(np.float64), template.astype(np.float64), mode="valid", method="fft")
    return int(np.argmax(scores))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def zero_runs(samples: np.ndarray, min_frames: int) -> list[tuple[int, int]]:
    """(start, end) of every run of exact zeros at least ``min_frames`` long."""
    zero = np.concatenate([[False], samples == 0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_frames]


def first_sound(samples: np.ndarray) -> int:
    return int(np.flatnonzero(samples)[0])


def exact_runs(played: np.ndarray, reference: np.ndarray, min_hits: int = 200) -> list[tuple[int, int, int]]:
    """Stretches of ``played`` that are sample for sample the reference
    (unfaded playback is bit-identical to the mixer's output), as
    (played_start, reference_start, frames) in playing order. Positions
    come from pairs of consecutive loud samples that occur once in the
    reference; a run's ends are its first and last such pair."""

    def pairs(x: np.ndarray) -> np.ndarray:
        bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        return (bits[:-1] << np.uint64(32)) | bits[1:]

    loud = np.flatnonzero(np.abs(reference[:-1]) > 1e-3)
    keys, first, counts = np.unique(pairs(reference)[loud], return_index=True, return_counts=True)
    keys, where = keys[counts == 1], loud[first[counts == 1]]
    wanted = pairs(played)
    slot = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    hits = np.flatnonzero(keys[slot] == wanted)
    offsets = where[slot[hits]] - hits
    runs: list[tuple[int, int, int]] = []
    for group in np.split(np.arange(len(hits)), np.flatnonzero(np.diff(offsets)) + 1):
        if len(group) < min_hits:
            continue
        start, end, offset = int(hits[group[0]]), int(hits[group[-1]]) + 2, int(offsets[group[0]])
        if runs and runs[-1][1] - runs[-1][0] == offset:
            start = runs.pop()[0]
        runs.append((start, start + offset, end - start))
    return runs


def fade(frames: int, down: bool) -> np.ndarray:
    """The player's raised-cosine ramp, sample for sample."""
    k = np.arange(frames, dtype=np.float64) + 0.5
    up = 0.5 - 0.5 * np.cos(np.pi * k / frames)
    return (1.0 - up if down else up).astype(np.float32)


def assert_faded(played: np.ndarray, reference: np.ndarray, start: int, offset: int, end: int, n: int) -> None:
    """``played[start:end]`` is the reference (``offset`` frames on) times a
    gain that only falls, from 1 to 0, within ``n`` frames: faded out, not
    cut off. (Audio that is the mix times a smooth gain has no click.)"""
    got = played[start:end].astype(np.float64)
    ref = reference[start + offset : end + offset].astype(np.float64)
    assert not got[ref == 0].any()
    loud = np.flatnonzero(np.abs(ref) > 1e-4)
    gain = got[loud] / ref[loud]
    assert gain.min() >= -1e-6 and gain.max() <= 1 + 1e-6
    assert (np.diff(gain) <= 1e-6).all(), "the gain rises again during a fade-out"
    if len(loud) and loud[-1] >= len(ref) - n // 4:
        assert gain[-1] < 0.15, "still loud at the end of the fade-out"
    ramp = loud[(gain > 0.02) & (gain < 0.98)]
    assert len(ramp) == 0 or ramp[-1] - ramp[0] <= n


def assert_fades_in(played: np.ndarray, reference: np.ndarray, at: int, frame: int, n: int, until: int) -> None:
    """From ``played[at]`` on, the reference from ``frame`` fades in over
    ``n`` frames and then plays unchanged up to ``played[until]``."""
    assert np.allclose(played[at : at + n], reference[frame : frame + n] * fade(n, down=False), atol=1e-6)
    assert np.array_equal(played[at + n : until], reference[frame + n : frame + until - at])


@pytest.fixture
def prepared(tmp_path):
    def prepare(text: str, name: str = "session.vg"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path, prepare_session(load_script(path))

    return prepare


# --- pure parts: keys, status line, navigation --------------------------------------------


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        (b" ", ["space"]),
        (b"q", ["q"]),
        (b"Q", ["q"]),
        (b"\x1b", ["esc"]),
        (b"\x1b[D", ["left"]),
        (b"\x1b[C", ["right"]),
        (b"\x1bOD\x1bOC", ["left", "right"]),
        (b"\x1b[1;5C", ["right"]),
        (b"\x1b[A\x1b[B x", ["space"]),
        (b"  q", ["space", "space", "q"]),
        (b"\x1b[", []),
    ],
)
def test_keys_are_read_from_raw_terminal_bytes(data, keys):
    assert parse_keys(data) == keys


def test_status_line_shows_title_chapter_phase_times_and_bar():
    status = Status(State.PLAYING, 83.0, 184.0, "Self-soothing", "Breathing", "breathe in", 2, 5)
    line = format_status(status, 100)
    assert line.startswith("Self-soothing  \u00b7  Breathing  \u00b7  breathe in 2/5")
    assert line.endswith("1:23 " + "\u2501" * 14 + "\u2500" * 16 + " -1:41")
    assert len(format_status(status, 40)) <= 40 and "1:23" in format_status(status, 40)
    paused = format_status(Status(State.PAUSED, 10.0, 60.0, "T", "C"), 80)
    assert "paused" in paused


def test_navigation_follows_sentences_cycles_and_chapters(prepared):
    _, session = prepared(NAV_SCRIPT.replace("[chime]", "[breathe 4-2-6 x2]\n[chime]"))
    timeline = session.timeline
    nav = Navigator(timeline)
    s1, s2, s3 = [e.start_s for e in timeline.of_kind(Kind.SPEECH)]
    two = timeline.chapters()[1].start_s
    assert nav.back(s2 + 2.0) == s2  # into a sentence: back to its start
    assert nav.back(s2 + 0.5) == s1  # just after it began: the one before
    assert nav.back(0.3) == 0.0
    cycle2 = [e for e in timeline.of_kind(Kind.INHALE) if e.cycle == 2][0].start_s
    assert nav.back(cycle2 + 7.0) == cycle2  # in the exhale of cycle 2: back to its in-breath
    assert nav.forward(s1 + 1.0) == two
    chime = timeline.of_kind(Kind.CHIME)[0].start_s
    assert nav.forward(two + 1.0) == chime  # from the last chapter: to the closing chime
    assert nav.forward(chime + 1.0) is None
    chapter, phase, cycle, cycles = nav.describe(cycle2 + 5.0)
    assert (chapter, phase, cycle, cycles) == ("Two", "hold", 2, 2)
    assert nav.describe(s1 + 1)[:2] == ("One", "")


def test_transport_fills_whole_buffers_and_ends_without_a_device(prepared):
    _, session = prepared(STEADY_SCRIPT)  # loaded without a level: the mix as it is
    transport = Transport(RATE)
    out = np.ones((1000, 2), dtype=np.float32)
    assert transport.fill(out) and not out.any()  # silence (and on) before a session is loaded
    transport.load(session.mixer, session.timeline)
    played = []
    try:
        while transport.fill(out):
            played.append(out[:, 0].copy())
            assert np.array_equal(out[:, 0], out[:, 1])
            if len(played) > 10_000:
                pytest.fail("never ended")
    finally:
        transport.close()
    whole = np.concatenate(played + [out[:, 0]])
    reference = session.mixer.render_all()
    start = first_sound(whole) - first_sound(reference)
    assert np.array_equal(whole[start : start + len(reference)], reference)
    assert not whole[start + len(reference) :].any()
    assert transport.status().state is State.FINISHED and not transport.stopped


# --- in-process playback on the (captured) default output ----------------------------------


class Heard:
    """A mixer as the player plays it: every block times the player's level
    (:func:`voiceguide.sinks.normalise.play_gain`), the voice as loud as in an export."""

    def __init__(self, mixer):
        self.mixer = mixer
        self.gain = np.float32(play_gain(mixer))

    def render(self, start: int, frames: int) -> np.ndarray:
        return self.mixer.render(start, frames) * self.gain

    def render_all(self) -> np.ndarray:
        return self.mixer.render_all() * self.gain


def play_in_process(session, during=None) -> Player:
    with Player() as player:
        player.load(session)
        if during:
            during(player)
        assert player.wait(timeout_s=60)
    assert player.transport.underruns == 0
    return player


def test_pause_and_resume_fade_and_lose_nothing(capture, prepared):
    _, session = prepared(STEADY_SCRIPT)
    reference = Heard(session.mixer).render_all()

    def pause_and_resume(player):
        wait_for(lambda: player.status().position_s >= 5.0, what="5 s played")
        player.pause()
        wait_for(lambda: player.status().state is State.PAUSED, what="the pause")
        time.sleep(0.2)
        player.toggle_pause()

    play_in_process(session, pause_and_resume)
    played = read_played(capture)
    offset = first_sound(played) - first_sound(reference)
    # the pause: the first run of silence that the session itself does not have there
    (z0, z1), *_ = [
        run
        for run in zero_runs(played, 2000)
        if run[0] > first_sound(played) and reference[run[0] - offset : run[1] - offset].any()
    ]
    n = round(PAUSE_FADE_S * RATE)
    paused_at = z0 - offset  # the reference frame where playing stopped
    assert 5 * RATE <= paused_at < len(reference) - 2 * RATE
    assert_faded(played, reference, first_sound(played), -offset, z0, n)
    assert np.allclose(played[z0 - n : z0], reference[paused_at - n : paused_at] * fade(n, down=True), atol=1e-6)
    assert not played[z0:z1].any()
    assert_fades_in(played, reference, z1, paused_at, n, z1 + len(reference) - paused_at)  # nothing skipped or repeated
    assert not played[z1 + len(reference) - paused_at :].any()


def test_stop_fades_out_over_one_and_a_half_seconds(capture, prepared):
    _, session = prepared(STEADY_SCRIPT)
    reference = Heard(session.mixer).render_all()

    def stop(player):
        wait_for(lambda: player.status().position_s >= 14.0, what="14 s played")
        player.stop()

    player = play_in_process(session, stop)
    assert player.transport.stopped and player.status().state is State.FINISHED
    played = read_played(capture)
    offset = first_sound(played) - first_sound(reference)
    end = int(np.flatnonzero(played)[-1]) + 1
    n = round(STOP_FADE_S * RATE)
    assert 14 * RATE < end - offset < len(reference) - RATE
    assert_faded(played, reference, first_sound(played), -offset, end, n)
    assert np.allclose(played[end - n : end], reference[end - offset - n : end - offset] * fade(n, down=True), atol=1e-6)
    assert not played[end:].any()


def test_back_and_forward_jump_to_sentence_and_chapter_starts(capture, prepared):
    _, session = prepared(NAV_SCRIPT)
    reference = Heard(session.mixer).render_all()
    timeline = session.timeline
    s2 = timeline.of_kind(Kind.SPEECH)[1]
    targets = []

    def back_then_forward(player):
        wait_for(lambda: player.status().position_s >= s2.start_s + 2.0, what="2 s into the second sentence")
        targets.append(player.back())
        wait_for(lambda: player.transport.jumps == 1, what="the jump back")
        wait_for(lambda: player.status().position_s >= targets[0] + 1.5, what="1.5 s after the jump back")
        targets.append(player.forward())

    play_in_process(session, back_then_forward)
    back_to, forward_to = targets
    # Where the jumps go is the navigator's (tested above); wherever the
    # fast null output was when the keys came, they land on a sentence or
    # chapter start just after a short lead, with a fade on either side.
    anchors = Navigator(timeline).anchors_s + [c.start_s for c in timeline.chapters()]
    assert back_to is not None and forward_to is not None
    assert min(abs(back_to + SEEK_LEAD_S - a) for a in anchors) < 1e-6
    assert min(abs(forward_to + SEEK_LEAD_S - a) for a in anchors) < 1e-6
    played = read_played(capture)
    runs = exact_runs(played, reference)
    assert len(runs) == 3, runs
    (p_a, r_a, n_a), (p_b, r_b, n_b), (p_c, r_c, n_c) = runs
    assert r_b < r_a + n_a  # went back: something is played again
    assert r_c > r_b + n_b  # went forward: something is skipped
    last_loud = int(np.flatnonzero(np.abs(reference) > 1e-3)[-1])  # where the chime has rung out to -60 dBFS
    assert r_c + n_c > last_loud - RATE // 10  # then on to the natural end
    n = round(SEEK_FADE_S * RATE)
    for (p_from, r_from, _), to_s, (p_to, r_to, n_to) in (
        ((p_a, r_a, n_a), back_to, (p_b, r_b, n_b)),
        ((p_b, r_b, n_b), forward_to, (p_c, r_c, n_c)),
    ):
        frame = round(to_s * RATE)
        at = frame - (r_to - p_to)  # where the new place starts in what was played
        assert_faded(played, reference, p_from, r_from - p_from, at, n)
        assert_fades_in(played, reference, at, frame, n, p_to + n_to)


def test_renders_only_a_little_ahead_so_long_sessions_start_at_once(capture, prepared):
    _, session = prepared(LONG_SCRIPT)
    assert session.duration_s > 3500
    rendered_to = []
    render = session.mixer.render

    def counting(start, frames):
        rendered_to.append(start + frames)
        return render(start, frames)

    session.mixer.render = counting

    def stop_soon(player):
        wait_for(lambda: player.status().position_s >= 30.0, what="30 s played")
        player.stop(INTERRUPT_FADE_S)

    started = time.monotonic()
    play_in_process(session, stop_soon)
    assert time.monotonic() - started < 20
    played_s = (len(read_played(capture))) / RATE
    assert max(rendered_to) / RATE < played_s + AHEAD_S + RENDER_BLOCK_FRAMES / RATE + 1.0
    assert max(rendered_to) / RATE < 120  # of an hour


# --- the command, as a user runs it -----------------------------------------------------------


def voiceguide_env(alsa_home: Path, capture: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HOME": str(alsa_home), CAPTURE_VAR: str(capture), **extra}


def test_play_plays_what_export_writes(capture, alsa_home, tmp_path):
    """The same session, live and exported. The export is normalised to a
    loudness target (one gain, and a peak limiter), so the comparison is a
    correlation, which does not depend on the level."""
    script = tmp_path / "play.vg"
    script.write_text(PLAY_SCRIPT, encoding="utf-8")
    exported = tmp_path / "exported.wav"
    assert (
        subprocess.run(
            [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(exported)], capture_output=True
        ).returncode
        == 0
    )
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=voiceguide_env(alsa_home, capture),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"playing Play test ({format_clock(sf.info(str(exported)).duration)}) on default"]
    played = read_played(capture)
    reference, rate = sf.read(str(exported), dtype="float32")
    assert rate == RATE
    sounding = first_sound(reference)
    start = align(played, reference[sounding : sounding + 5 * RATE]) - sounding
    assert start >= 0
    assert correlation(played[start : start + len(reference)], reference) >= 0.99
    assert len(played) - start >= len(reference)  # all of it was played, in order
    assert not played[start + len(reference) :].any() and not played[:start].any()
    # as loud as the export: the player's level comes from the first phrase, the export's from the whole voice
    loudness = [LoudnessMeter(RATE).add_all([audio]).integrated_lufs for audio in (played[start:], reference)]
    assert abs(loudness[0] - loudness[1]) <= 0.7, loudness
    assert np.max(np.abs(played)) <= 10 ** (-1 / 20)  # no limiter needed: peaks under -1 dBFS


MANY_PHRASES = Path(__file__).resolve().parent.parent / "bench" / "many-phrases.vg"
"""A session of 40 different sentences (most of its time is speech), with counted
breathing, elastic pauses and breathing that a length stretches (scripts/bench plays it too)."""


@pytest.mark.parametrize("minutes", [None, 6], ids=["own-length", "stretched"])
def test_play_plays_the_exports_mix_sample_for_sample(capture, alsa_home, tmp_path, minutes):
    """A cold ``play`` starts with its first phrase and makes the other 39
    while it plays (voiceguide.live); what it plays is the mix an export of
    the same session makes, sample for sample, at its own length and
    stretched to one (the player adds one level gain, the export its own)."""
    script = MANY_PHRASES
    extra = ["--minutes", str(minutes)] if minutes else []
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--quiet", *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=voiceguide_env(alsa_home, capture, VOICEGUIDE_CACHE_DIR=str(tmp_path / "cold-cache")),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    played = read_played(capture)
    target_s = minutes * 60.0 if minutes else None
    session = prepare_session(load_script(script), cache=False, mix=MixSettings(sample_rate=RATE), target_s=target_s)
    reference = Heard(session.mixer).render_all()
    start = first_sound(played) - first_sound(reference)
    assert start >= 0 and not played[:start].any()
    assert np.array_equal(played[start : start + len(reference)], reference)
    assert not played[start + len(reference) :].any()
    if target_s:
        assert abs(session.duration_s - target_s) <= 1.0


def test_quiet_without_a_terminal_prints_nothing(capture, alsa_home, tmp_path):
    script = tmp_path / "steady.vg"
    script.write_text(STEADY_SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--quiet"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=voiceguide_env(alsa_home, capture),
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert np.count_nonzero(read_played(capture)) > 15 * RATE


def test_play_records_the_session_in_the_practice_log(capture, alsa_home, tmp_path):
    data = tmp_path / "data"
    env = voiceguide_env(alsa_home, capture, VOICEGUIDE_DATA_DIR=str(data))
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", "zelfkalmering", "--next", "--quiet"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert (data / "practice.sqlite3").is_file()
    sounding = np.flatnonzero(read_played(capture))
    assert 110 < (sounding[-1] - sounding[0]) / RATE < 121, "--next starts a new user at 2 minutes"
    log = subprocess.run([sys.executable, "-m", "voiceguide", "log"], capture_output=True, text=True, env=env, timeout=60)
    assert log.returncode == 0, log.stderr
    assert "zelfkalmering" in log.stdout and "2:00" in log.stdout


def test_devices_lists_the_output(capture, alsa_home):
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "devices"], capture_output=True, text=True, env=voiceguide_env(alsa_home, capture)
    )
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["DEVICE", "NAME", "SYSTEM", "CHANNELS", "RATE"]
    assert rows and rows[0].split()[:4] == ["0", "*", "default", "ALSA"]


@pytest.mark.slow
@pytest.mark.parametrize("command", [["devices"], ["play", "zelfkalmering"], ["play", "zelfkalmering", "--device", "0"]])
def test_without_an_output_device_one_line_suggests_export(tmp_path, command):
    env = {**os.environ, "HOME": str(tmp_path)}  # no .asoundrc: on this machine, no output at all
    if subprocess.run([sys.executable, "-m", "voiceguide", "devices"], capture_output=True, env=env).returncode == 0:
        pytest.skip("this machine has a real audio output")
    result = subprocess.run([sys.executable, "-m", "voiceguide", *command], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "voiceguide: no audio output device found; write the session to a file instead: voiceguide export NAME -o session.mp3"
    ]


def test_an_unknown_device_is_one_line(capture, alsa_home):
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", "zelfkalmering", "--device", "loudspeaker"],
        capture_output=True,
        text=True,
        env=voiceguide_env(alsa_home, capture),
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "voiceguide: no output device matches 'loudspeaker'; choose one of: 0 default (see 'voiceguide devices')"
    ]


# --- in a terminal: keys, Ctrl-C ---------------------------------------------------------------


@pytest.fixture
def terminal(alsa_home, capture, tmp_path):
    opened = []

    def start(*args: str) -> Terminal:
        term = Terminal(["play", *args], voiceguide_env(alsa_home, capture))
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def sounding_s(capture: Path) -> float:
    """Seconds of audio since the first sound in the capture so far."""
    try:
        played = read_played(capture)
    except (FileNotFoundError, ValueError, AssertionError, struct.error):
        return 0.0  # not there yet, or the plugin is still writing its header
    loud = np.flatnonzero(played)
    return (len(played) - loud[0]) / RATE if len(loud) else 0.0


def assert_faded_out(played: np.ndarray, end: int, mixer, offset: int, fade_s: float) -> None:
    """The played audio up to ``end`` is the mix (shifted by ``offset``)
    unchanged, then faded out over ``fade_s`` with the player's ramp."""
    n = round(fade_s * RATE)
    at = end - offset
    assert np.array_equal(played[end - n - RATE : end - n], mixer.render(at - n - RATE, RATE))
    assert np.allclose(played[end - n : end], mixer.render(at - n, n) * fade(n, down=True), atol=1e-6)
    assert not played[end:].any()


def test_keys_in_a_terminal_pause_resume_and_stop(terminal, capture, tmp_path):
    script = tmp_path / "long.vg"
    script.write_text(LONG_SCRIPT, encoding="utf-8")
    term = terminal(str(script))
    wait_for(lambda: sounding_s(capture) > 10, what="sound")
    term.type(b" ")
    time.sleep(0.4)
    term.type(b" ")
    time.sleep(0.2)
    term.type(b"q")
    # at a terminal, a finished or stopped session offers a diary entry in one line
    wait_for(lambda: b"Add a diary entry for this session? [y/N]" in term.output, what="the diary offer")
    term.type(b"n\r")
    assert term.wait() == 0
    assert term.restored()
    assert term.leftovers() == []
    shown = term.output.decode("utf-8", "replace")
    assert "Long breathing" in shown and "space pause/resume" in shown and "stopped at" in shown
    assert "Traceback" not in shown
    mixer = Heard(prepare_session(load_script(script)).mixer)
    played = read_played(capture)
    offset = first_sound(played) - first_sound(mixer.render(0, 5 * RATE))
    # the pause: the first run of silence that the session itself does not have there
    (z0, z1), *_ = [
        run
        for run in zero_runs(played, 2000)
        if run[0] > first_sound(played) and mixer.render(run[0] - offset, run[1] - run[0]).any()
    ]
    n = round(PAUSE_FADE_S * RATE)
    paused_at = z0 - offset
    assert np.allclose(played[z0 - n : z0], mixer.render(paused_at - n, n) * fade(n, down=True), atol=1e-6)
    assert np.allclose(played[z1 : z1 + n], mixer.render(paused_at, n) * fade(n, down=False), atol=1e-6)
    assert np.array_equal(played[z1 + n : z1 + n + RATE], mixer.render(paused_at + n, RATE))  # resumed where it paused
    end = int(np.flatnonzero(played)[-1]) + 1
    assert_faded_out(played, end, mixer, z1 - paused_at, STOP_FADE_S)


@pytest.mark.parametrize("how", ["signal", "ctrl-c key"])
def test_ctrl_c_fades_out_within_a_second_restores_the_terminal_and_exits_130(terminal, capture, tmp_path, how):
    script = tmp_path / "long.vg"
    script.write_text(LONG_SCRIPT, encoding="utf-8")
    term = terminal(str(script))
    wait_for(lambda: sounding_s(capture) > 20, what="sound")
    interrupted = time.monotonic()
    if how == "signal":
        term.process.send_signal(signal.SIGINT)
    else:
        term.type(b"\x03")  # through the terminal's line discipline, as a user types it
    assert term.wait() == 130
    # the fade's length is checked on the captured audio below; wall time only
    # guards against a hang (this machine may be busy, so no tight bound)
    assert time.monotonic() - interrupted < 15
    assert term.restored()
    assert term.leftovers() == []
    shown = term.output.decode("utf-8", "replace")
    assert shown.rstrip().endswith("voiceguide: interrupted") and "Traceback" not in shown
    mixer = Heard(prepare_session(load_script(script)).mixer)
    played = read_played(capture)
    offset = first_sound(played) - first_sound(mixer.render(0, 5 * RATE))
    end = int(np.flatnonzero(played)[-1]) + 1
    assert INTERRUPT_FADE_S < 1.0
    assert_faded_out(played, end, mixer, offset, INTERRUPT_FADE_S)
    unfaded = mixer.render(end - offset - RATE // 2, RATE // 2)
    # the sample-exact fade is checked above; this only says it is audible as one
    # (about 7 dB over the last half second of a 0.75 s fade, less where the cue swells)
    assert rms_dbfs(played[end - RATE // 2 : end]) < rms_dbfs(unfaded) - 3
