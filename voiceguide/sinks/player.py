"""Stage 5 (live sink): play a session through an audio output as it is mixed.

Nothing is rendered in full before playing. A render-ahead thread keeps
about two seconds of the mix queued in blocks (``Mixer.render`` works on any
span); the PortAudio callback only copies from that queue, applies the gain
ramps for pause, resume, seek and stop, and fills its whole buffer (silence
on an underrun). Controls come in as commands from other threads, so the
callback never takes a lock that the rest of the program holds.

    >>> from voiceguide import load_script, prepare_session
    >>> from voiceguide.play import Player
    >>> with Player() as player:                 # opens the default output
    ...     player.load(prepare_session(load_script("zelfkalmering")))
    ...     player.wait()                        # or pause(), back(), forward(), stop()

sounddevice is imported only when a player or the device list is needed:
without libportaudio2 the import itself fails, and everything else in
voiceguide must keep working on such a machine.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeviceError
from ..rules import SAMPLE_RATES
from ..timeline import BREATH_KINDS, Kind, Timeline

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger(__name__)

PAUSE_FADE_S = 0.12
"""Fade for pause and resume: quick to react, long enough not to click."""
SEEK_FADE_S = 0.06
"""Fade out before and fade in after a jump (back, forward)."""
STOP_FADE_S = 1.5
"""Fade when the listener stops (q, Esc)."""
INTERRUPT_FADE_S = 0.75
"""Fade on Ctrl-C: done well within a second."""
AHEAD_S = 2.0
"""How much mixed audio the render thread keeps queued ahead of the output."""
RENDER_BLOCK_FRAMES = 4096
LATENCY_S = 0.2
"""Requested output latency. Generous on purpose: nobody needs a fast
reaction when listening with eyes closed, and a deep buffer rides out a
busy machine (the callback shares the GIL with the render thread)."""
BACK_GRACE_S = 1.5
"""``back()`` within this long after a sentence or cycle began goes to the one before."""
SEEK_LEAD_S = 0.1
"""A jump lands this far before its target, so the fade-in is over before it sounds."""
"""Rates a session can be prepared at, the first the device accepts wins."""
NON_REALTIME_AHEAD_S = 1.0
"""An output that has taken this much more audio than wall-clock time
allows is not draining in real time (e.g. ALSA's null or file plugin)."""
PREBUFFER_S = 1.0
"""Mixed audio queued before sound starts (at the start and after a jump):
a few milliseconds of rendering that keep the first second safe."""

NO_DEVICE = "no audio output device found; write the session to a file instead: voiceguide export NAME -o session.mp3"


def _sounddevice() -> Any:
    """Import sounddevice, or explain in one line why playback is impossible."""
    try:
        import sounddevice
    except OSError:  # the module loads, but PortAudio itself is missing
        raise DeviceError(
            "PortAudio is not installed, so nothing can be played; install it (sudo apt-get install libportaudio2) "
            "or write a file with 'voiceguide export'"
        ) from None
    except ImportError:
        raise DeviceError(
            "the sounddevice package is missing; pip install sounddevice, or write a file with 'voiceguide export'"
        ) from None
    return sounddevice


# --- devices ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """One audio output as PortAudio sees it."""

    index: int
    name: str
    hostapi: str
    channels: int
    """Maximum output channels."""
    default_rate: int
    """The device's default sample rate in Hz."""
    is_default: bool = False


def output_devices() -> list[DeviceInfo]:
    """Every device with at least one output channel (empty without a sound card)."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default = sd.default.device[1]
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices ({exc})") from None
    return [
        DeviceInfo(
            int(d["index"]),
            str(d["name"]),
            str(hostapis[d["hostapi"]]["name"]),
            int(d["max_output_channels"]),
            int(d["default_samplerate"]),
            int(d["index"]) == default,
        )
        for d in devices
        if d["max_output_channels"] > 0
    ]


def find_device(device: int | str | None = None) -> DeviceInfo:
    """The output ``device`` names (an index, or part of a name), or the
    system's default output (the first output when there is no default).

    Raises DeviceError when there is no output at all or none matches.
    """
    outputs = output_devices()
    if not outputs:
        raise DeviceError(NO_DEVICE)
    if device is None or device == "":
        return next((d for d in outputs if d.is_default), outputs[0])
    if isinstance(device, int) or str(device).strip().isdigit():
        wanted = int(device)
        found = [d for d in outputs if d.index == wanted]
    else:
        needle = str(device).strip().lower()
        found = [d for d in outputs if d.name.lower() == needle] or [d for d in outputs if needle in d.name.lower()]
    if len(found) == 1:
        return found[0]
    listing = ", ".join(f"{d.index} {d.name}" for d in (found or outputs))
    if not found:
        raise DeviceError(f"no output device matches '{device}'; choose one of: {listing} (see 'voiceguide devices')")
    raise DeviceError(f"'{device}' matches several output devices: {listing}; give the number")


def is_available(device: int | str | None = None) -> bool:
    """Whether ``device`` (default: the system's output) exists and can play."""
    try:
        info = find_device(device)
        _choose_format(_sounddevice(), info)
    except DeviceError:
        return False
    return True


def _choose_format(sd: Any, device: DeviceInfo, preferred_rate: int | None = None) -> tuple[int, int]:
    """The first (sample rate, channels) the device accepts: mono where it
    can (the mix is mono), else stereo with the mix on both channels."""
    rates = [preferred_rate] if preferred_rate else []
    rates += [rate for rate in SAMPLE_RATES if rate == device.default_rate] + list(SAMPLE_RATES)
    for rate in dict.fromkeys(rates):
        for channels in (1, 2):
            if channels > device.channels:
                continue
            try:
                sd.check_output_settings(device=device.index, samplerate=rate, channels=channels, dtype="float32")
            except (sd.PortAudioError, ValueError):
                continue
            return rate, channels
    raise DeviceError(
        f"output device '{device.name}' accepts none of {', '.join(map(str, SAMPLE_RATES))} Hz; "
        "choose another with --device (see 'voiceguide devices') or use 'voiceguide export'"
    )


# --- where we are in the session ------------------------------------------------------


class State(str, Enum):
    PREPARING = "preparing"
    """The output runs (silently) while the session is being prepared."""
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"


PHASE_NAMES = {Kind.INHALE: "breathe in", Kind.HOLD: "hold", Kind.EXHALE: "breathe out"}


@dataclass(frozen=True)
class Status:
    """A snapshot of the playback, for a display."""

    state: State
    position_s: float
    """Where the listener is (what the output plays now), in seconds."""
    duration_s: float
    title: str = ""
    chapter: str = ""
    phase: str = ""
    """``breathe in``, ``hold``, ``breathe out`` or empty outside breathing."""
    cycle: int = 0
    """1-based breath cycle, 0 outside breathing."""
    cycles: int = 0
    """Cycles in the current breathing block."""

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.duration_s - self.position_s)

    @property
    def progress(self) -> float:
        """0.0 at the start, 1.0 at the end."""
        return min(1.0, max(0.0, self.position_s / self.duration_s)) if self.duration_s > 0 else 0.0


class Navigator:
    """Positions that a listener can jump to, read from the timeline."""

    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        events = timeline.events
        starts = {e.start_s for e in events if e.kind in (Kind.SPEECH, Kind.BELL, Kind.CHIME, Kind.CLIP)}
        self.cycles: dict[tuple[int, int], int] = {}
        for event in events:
            if event.kind in BREATH_KINDS:
                block = (event.line, event.col)
                self.cycles[block] = max(self.cycles.get(block, 0), event.cycle)
        cycle_starts: dict[tuple[int, int, int], float] = {}
        for event in events:
            if event.kind in BREATH_KINDS:
                key = (event.line, event.col, event.cycle)
                cycle_starts[key] = min(cycle_starts.get(key, event.start_s), event.start_s)
        self.anchors_s = sorted(starts | set(cycle_starts.values()))
        """Starts of sentences, breath cycles, bells, chimes and clips."""
        self.chapters = [(e.start_s, e.text) for e in timeline.chapters()]
        self._chapter_starts = [start for start, _ in self.chapters]
        self.breaths = sorted((e for e in events if e.kind in BREATH_KINDS), key=lambda e: e.start_s)
        self._breath_starts = [e.start_s for e in self.breaths]
        chimes = timeline.of_kind(Kind.CHIME)
        self.ending_s = chimes[-1].start_s if chimes else max(0.0, timeline.duration_s - 3.0)
        """Where ``forward()`` goes from the last chapter: the closing chime, or the last 3 s."""

    def back(self, position_s: float) -> float:
        """Start of the sentence or breath cycle that sounds at ``position_s``
        (the one before if it began less than BACK_GRACE_S ago)."""
        index = bisect.bisect_right(self.anchors_s, position_s + 1e-6) - 1
        if index >= 0 and position_s - self.anchors_s[index] < BACK_GRACE_S:
            index -= 1
        return self.anchors_s[index] if index >= 0 else 0.0

    def forward(self, position_s: float) -> float | None:
        """Start of the next chapter, or the ending in the last one (None at the very end)."""
        index = bisect.bisect_right(self._chapter_starts, position_s + SEEK_LEAD_S + 0.5)
        if index < len(self._chapter_starts):
            return self._chapter_starts[index]
        return self.ending_s if self.ending_s > position_s + SEEK_LEAD_S + 0.5 else None

    def describe(self, position_s: float) -> tuple[str, str, int, int]:
        """(chapter, breath phase, cycle, cycles) at ``position_s``."""
        index = bisect.bisect_right(self._chapter_starts, position_s + 1e-6) - 1
        chapter = self.chapters[index][1] if index >= 0 else ""
        index = bisect.bisect_right(self._breath_starts, position_s) - 1
        if index >= 0 and position_s < self.breaths[index].end_s:
            event = self.breaths[index]
            return chapter, PHASE_NAMES[event.kind], event.cycle, self.cycles[(event.line, event.col)]
        return chapter, "", 0, 0


# --- the engine: render-ahead thread + what the callback does -------------------------------


class _Ramp:
    """A raised-cosine gain ramp from ``start`` to ``end`` over ``frames``."""

    __slots__ = ("start", "end", "frames", "done", "purpose", "target")

    def __init__(self, start: float, end: float, frames: int, purpose: str, target: int = 0):
        self.start, self.end, self.frames, self.done = start, end, max(1, frames), 0
        self.purpose = purpose
        """What happens when it ends: ``in``, ``pause``, ``stop`` or ``seek``."""
        self.target = target
        """For ``seek``: the frame to jump to."""

    def gains(self, n: int) -> np.ndarray:
        k = np.arange(self.done, self.done + n, dtype=np.float64) + 0.5
        curve = 0.5 - 0.5 * np.cos(np.pi * k / self.frames)
        self.done += n
        return (self.start + (self.end - self.start) * curve).astype(np.float32)

    @property
    def left(self) -> int:
        return self.frames - self.done

    def now(self) -> float:
        """The gain reached so far."""
        if self.done == 0:
            return self.start
        return self.start + (self.end - self.start) * (0.5 - 0.5 * np.cos(np.pi * (self.done - 0.5) / self.frames))


class Transport:
    """The playback engine without the device: feed :meth:`fill` with the
    output buffers and call the control methods from any thread.

    Threads: the render thread writes blocks, the audio thread (``fill``)
    reads them; controls are queued as commands that ``fill`` applies at
    the start of its next buffer. Only ``fill`` changes the playback state.
    """

    def __init__(self, sample_rate: int, *, ahead_s: float = AHEAD_S, block_frames: int = RENDER_BLOCK_FRAMES):
        self.sample_rate = sample_rate
        self.latency_s = 0.0
        """The output's latency, subtracted from the position a display shows."""
        self._ahead = int(ahead_s * sample_rate)
        self._block_frames = block_frames
        self._mixer: Any = None
        self._navigator: Navigator | None = None
        self._title = ""
        self._commands: deque[tuple] = deque()
        self._blocks: deque[tuple[int, int, np.ndarray]] = deque()
        self._cursor = (0, 0)  # (generation, next session frame to play), written by fill only
        self._rendered = (-1, 0)  # (generation, end of what is queued), written by the render thread only
        self._wake_renderer = threading.Event()
        self._data_ready = threading.Event()
        self._poked = threading.Event()
        self._closed = False
        self._renderer: threading.Thread | None = None
        self.render_error: BaseException | None = None
        # owned by the audio thread
        self._state = State.PREPARING
        self._generation = 0
        self._position = 0
        self._block: np.ndarray | None = None
        self._offset = 0
        self._gain = 0.0
        self._ramp: _Ramp | None = None
        self._frames_out = 0
        self._started_at: float | None = None
        self.underruns = 0
        """Buffers that had to be (partly) filled with silence because the mix was not ready."""
        self.stopped = False
        """True when playback ended by stop() rather than at the end of the session."""
        self.jumps = 0
        """Seeks carried out so far (back, forward, seek)."""
        self.finished = threading.Event()

    # -- control (any thread) --

    def load(self, mixer: Any, timeline: Timeline, start_s: float = 0.0) -> None:
        """Start playing ``mixer`` (a :class:`~voiceguide.mix.Mixer`) at ``start_s``."""
        if mixer.sample_rate != self.sample_rate:
            raise DeviceError(f"the session is mixed at {mixer.sample_rate} Hz but the output runs at {self.sample_rate} Hz")
        self._mixer = mixer
        self._navigator = Navigator(timeline)
        self._title = timeline.title
        self._post("load", int(round(start_s * self.sample_rate)))
        if self._renderer is None:
            self._renderer = threading.Thread(target=self._render_loop, name="voiceguide-render", daemon=True)
            self._renderer.start()

    def pause(self) -> None:
        self._post("pause")

    def resume(self) -> None:
        self._post("resume")

    def toggle_pause(self) -> None:
        self._post("toggle")

    def stop(self, fade_s: float = STOP_FADE_S) -> None:
        """Fade out over ``fade_s`` and end."""
        self._post("stop", fade_s)

    def seek(self, position_s: float) -> float:
        """Jump (with a short fade out and in) to ``position_s``; returns it."""
        self._post("seek", max(0, int(round(position_s * self.sample_rate))))
        return position_s

    def back(self) -> float | None:
        """To the start of the current sentence or breath cycle; returns
        where it jumps to (None before a session is loaded)."""
        if self._navigator is None:
            return None
        return self.seek(max(0.0, self._navigator.back(self.status().position_s) - SEEK_LEAD_S))

    def forward(self) -> float | None:
        """To the next chapter (from the last one: to the closing chime);
        returns where it jumps to, None when there is nothing ahead."""
        if self._navigator is None:
            return None
        target = self._navigator.forward(self.status().position_s)
        return None if target is None else self.seek(max(0.0, target - SEEK_LEAD_S))

    def status(self) -> Status:
        state = self._state
        position_s = 0.0
        duration_s = self._mixer.total_frames / self.sample_rate if self._mixer is not None else 0.0
        if self._mixer is not None:
            frame = self._cursor[1]
            if state is State.PLAYING:
                frame -= int(self.latency_s * self.sample_rate)
            position_s = min(duration_s, max(0, frame) / self.sample_rate)
        if state is State.FINISHED and not self.stopped:
            position_s = duration_s
        chapter, phase, cycle, cycles = self._navigator.describe(position_s) if self._navigator else ("", "", 0, 0)
        return Status(state, position_s, duration_s, self._title, chapter, phase, cycle, cycles)

    def close(self) -> None:
        self._closed = True
        self._wake_renderer.set()
        self._data_ready.set()
        if self._renderer is not None:
            self._renderer.join(timeout=2)

    def _post(self, *command: Any) -> None:
        self._commands.append(command)  # deque.append is atomic: no lock needed
        self._poked.set()

    # -- the render thread --

    def _render_loop(self) -> None:
        generation, position = -1, 0
        try:
            while not self._closed:
                self._wake_renderer.clear()
                mixer = self._mixer
                played_generation, played = self._cursor
                if played_generation != generation:
                    generation, position = played_generation, played
                if mixer is None or position >= mixer.total_frames or position - played >= self._ahead:
                    self._wake_renderer.wait(0.02)
                    continue
                samples = mixer.render(position, min(self._block_frames, mixer.total_frames - position))
                self._blocks.append((generation, position, samples))
                position += len(samples)
                self._rendered = (generation, position)
                self._data_ready.set()
        except BaseException as exc:  # noqa: BLE001 - reported through render_error and the output
            log.error("rendering failed: %s", exc)
            self.render_error = exc
            self._post("stop", SEEK_FADE_S)

    # -- the audio thread --

    def fill(self, out: np.ndarray) -> bool:
        """Fill the output buffer ``out`` (frames, channels) completely.

        Returns False once playback has ended (the buffer is then padded
        with silence). Never waits on the render thread, except on an
        output that is not draining in real time (see _ahead_s).
        """
        frames = len(out)
        now = time.monotonic()
        if self._started_at is None:
            self._started_at = now
        if self._silent() and not self._commands and self._ahead_s(now) > NON_REALTIME_AHEAD_S:
            # Nothing to play and the output already holds over a second:
            # don't flood a non-real-time output with silence.
            self._poked.wait(min(0.05, self._ahead_s(now) - NON_REALTIME_AHEAD_S))
            self._poked.clear()
        self._apply_commands()
        mono = np.zeros(frames, dtype=np.float32)
        done = 0
        while done < frames and not self._silent():
            want = frames - done
            if self._ramp is not None:
                want = min(want, self._ramp.left)
            got = self._take(mono[done : done + want]) if self._prebuffered() else 0
            if got == 0:
                if self._position >= self._mixer.total_frames:
                    self._state = State.FINISHED
                    break
                if self._wait_for_data():
                    continue
                if not (self._ramp is not None and self._ramp.purpose == "in" and self._ramp.done == 0):
                    self.underruns += 1  # (waiting for the first block after a start or jump is no underrun)
                break
            if self._ramp is not None:
                mono[done : done + got] *= self._ramp.gains(got)
                if self._ramp.left == 0:
                    self._end_ramp()
            elif self._gain != 1.0:
                mono[done : done + got] *= self._gain
            done += got
        self._cursor = (self._generation, self._position)
        out[:] = mono[:, None]
        self._frames_out += frames
        if self._state is State.FINISHED:
            self.finished.set()
            return False
        if len(self._blocks) * self._block_frames < self._ahead:
            self._wake_renderer.set()
        return True

    def _prebuffered(self) -> bool:
        """False while a start or jump waits for PREBUFFER_S to be mixed."""
        if self._ramp is None or self._ramp.purpose != "in" or self._ramp.done:
            return True
        generation, end = self._rendered
        wanted = min(int(PREBUFFER_S * self.sample_rate), self._mixer.total_frames - self._position)
        return generation == self._generation and end - self._position >= wanted

    def _silent(self) -> bool:
        """True when nothing is consumed: before loading, paused, finished."""
        return self._state in (State.PREPARING, State.FINISHED) or (self._state is State.PAUSED and self._ramp is None)

    def _ahead_s(self, now: float) -> float:
        """How much audio the output holds beyond what real time has played."""
        assert self._started_at is not None
        return self._frames_out / self.sample_rate - (now - self._started_at)

    def _wait_for_data(self) -> bool:
        """On an underrun: wait for the renderer only when the output is so
        far ahead of real time that waiting cannot be heard (a null or file
        output), else give up at once. True when it is worth trying again."""
        ahead = self._ahead_s(time.monotonic())
        if ahead <= NON_REALTIME_AHEAD_S or self._closed:
            return False
        self._data_ready.clear()
        if self._blocks and self._prebuffered():
            return True  # it came in meanwhile
        self._data_ready.wait(min(0.1, ahead - NON_REALTIME_AHEAD_S / 2))
        return True

    def _take(self, dest: np.ndarray) -> int:
        """Copy up to len(dest) frames of the current generation; returns how many."""
        got = 0
        while got < len(dest):
            if self._block is None:
                try:
                    generation, start, samples = self._blocks.popleft()
                except IndexError:
                    break
                if generation != self._generation or start != self._position + got:
                    continue  # rendered before a jump
                self._block, self._offset = samples, 0
            n = min(len(dest) - got, len(self._block) - self._offset)
            dest[got : got + n] = self._block[self._offset : self._offset + n]
            got += n
            self._offset += n
            if self._offset >= len(self._block):
                self._block = None
        self._position += got
        return got

    def _start_ramp(self, end: float, fade_s: float, purpose: str, target: int = 0) -> None:
        start = self._ramp.now() if self._ramp is not None else self._gain
        frames = int(round(fade_s * self.sample_rate * max(abs(end - start), 0.05)))
        self._ramp = _Ramp(start, end, frames, purpose, target)

    def _end_ramp(self) -> None:
        ramp = self._ramp
        assert ramp is not None
        self._ramp = None
        self._gain = ramp.end
        if ramp.purpose == "pause":
            self._state = State.PAUSED
        elif ramp.purpose == "stop":
            self._state = State.FINISHED
        elif ramp.purpose == "seek":
            self._jump(ramp.target)
            self.jumps += 1
            self._start_ramp(1.0, SEEK_FADE_S, "in")

    def _jump(self, frame: int) -> None:
        self._generation += 1
        self._position = min(frame, self._mixer.total_frames)
        self._block = None
        self._cursor = (self._generation, self._position)
        self._wake_renderer.set()

    def _apply_commands(self) -> None:
        while self._commands:
            name, *args = self._commands.popleft()
            state, ramp = self._state, self._ramp
            fading_out = ramp is not None and ramp.purpose in ("pause", "stop", "seek")
            if state is State.FINISHED:
                continue
            if name == "load":
                self._jump(args[0])
                self._state = State.PLAYING
                self._start_ramp(1.0, SEEK_FADE_S, "in")
            elif state is State.PREPARING:
                if name == "stop":
                    self._state, self.stopped = State.FINISHED, True
            elif name == "toggle":
                self._commands.appendleft(
                    ("resume",) if state is State.PAUSED or (ramp and ramp.purpose == "pause") else ("pause",)
                )
            elif name == "pause" and state is State.PLAYING and not fading_out:
                self._start_ramp(0.0, PAUSE_FADE_S, "pause")
            elif name == "resume" and (state is State.PAUSED or (ramp and ramp.purpose == "pause")):
                self._state = State.PLAYING
                self._start_ramp(1.0, PAUSE_FADE_S, "in")
            elif name == "stop":
                self.stopped = True
                if state is State.PAUSED and ramp is None:
                    self._state = State.FINISHED
                else:
                    self._state = State.STOPPING
                    self._start_ramp(0.0, args[0], "stop")
            elif name == "seek" and not (ramp and ramp.purpose == "stop"):
                if state is State.PAUSED and ramp is None:
                    self._jump(args[0])
                    self.jumps += 1
                else:
                    self._start_ramp(0.0, SEEK_FADE_S, "seek", args[0])


# --- the sink ------------------------------------------------------------------------


class Player:
    """A live output stream fed by a :class:`Transport` (the play sink).

    Use it as a context manager: entering opens and starts the output (it
    plays silence until :meth:`load`), leaving stops and closes it. The
    control methods may be called from any thread.

    Parameters
    ----------
    device:
        Output index or part of its name (see :func:`output_devices`);
        None for the system's default output.
    sample_rate:
        Preferred rate in Hz; the device may force another of SAMPLE_RATES,
        so prepare the session at :attr:`sample_rate` after opening.
    latency_s:
        Requested output latency in seconds.
    """

    def __init__(self, device: int | str | None = None, *, sample_rate: int | None = None, latency_s: float = LATENCY_S):
        self._wanted_device = device
        self._wanted_rate = sample_rate
        self._latency_s = latency_s
        self._stream: Any = None
        self._sd: Any = None
        self.device: DeviceInfo | None = None
        self.sample_rate = sample_rate or SAMPLE_RATES[0]
        self.channels = 1
        self.transport = Transport(self.sample_rate)
        self.callback_error: BaseException | None = None
        self.device_underflows = 0
        """Times the output ran dry before a buffer came (PortAudio's underflow flag)."""

    @staticmethod
    def is_available(device: int | str | None = None) -> bool:
        return is_available(device)

    def __enter__(self) -> Player:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        sd = self._sd = _sounddevice()
        self.device = find_device(self._wanted_device)
        self.sample_rate, self.channels = _choose_format(sd, self.device, self._wanted_rate)
        self.transport = Transport(self.sample_rate)
        try:
            self._stream = sd.OutputStream(
                device=self.device.index,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                latency=self._latency_s,
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise DeviceError(
                f"cannot open output device '{self.device.name}' ({exc}); try another with --device or use 'voiceguide export'"
            ) from None
        self.transport.latency_s = float(self._stream.latency)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self.device_underflows += 1
        try:
            more = self.transport.fill(outdata)
        except BaseException as exc:  # exceptions here never reach the main thread
            outdata.fill(0)
            self.callback_error = exc
            raise self._sd.CallbackAbort from None
        if not more:
            raise self._sd.CallbackStop

    def load(self, session: Session, start_s: float = 0.0) -> None:
        """Play ``session`` (prepared at :attr:`sample_rate`) from ``start_s``."""
        self.transport.load(session.mixer, session.timeline, start_s)

    def pause(self) -> None:
        self.transport.pause()

    def resume(self) -> None:
        self.transport.resume()

    def toggle_pause(self) -> None:
        self.transport.toggle_pause()

    def stop(self, fade_s: float = STOP_FADE_S) -> None:
        self.transport.stop(fade_s)

    def back(self) -> float | None:
        return self.transport.back()

    def forward(self) -> float | None:
        return self.transport.forward()

    def seek(self, position_s: float) -> float:
        return self.transport.seek(position_s)

    def status(self) -> Status:
        return self.transport.status()

    @property
    def active(self) -> bool:
        """True while the output still plays (or waits for the session)."""
        return self._stream is not None and bool(self._stream.active)

    def wait(self, timeout_s: float | None = None, poll_s: float = 0.05) -> bool:
        """Wait until playback has ended (or ``timeout_s`` passed); True when
        it has ended. Polls, so Ctrl-C stays responsive (``sd.wait()`` can
        hang). Raises DeviceError if the output failed."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.active:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic())))
        self._raise_errors()
        return True

    def _raise_errors(self) -> None:
        error = self.callback_error or self.transport.render_error
        if error is not None:
            raise DeviceError(f"playback failed: {type(error).__name__}: {error}")

    def close(self) -> None:
        """Stop the output (quickly fading out if it still plays) and release it."""
        stream, self._stream = self._stream, None
        try:
            if stream is not None:
                if stream.active:
                    self.transport.stop(SEEK_FADE_S)
                    deadline = time.monotonic() + 0.5
                    while stream.active and time.monotonic() < deadline:
                        time.sleep(0.01)
                stream.abort() if stream.active else stream.stop()
                stream.close()
        finally:
            self.transport.close()


def play_session(session: Session, *, device: int | str | None = None) -> None:
    """Play ``session`` to the end on ``device`` (blocking).

    Raises DeviceError when there is no usable output, or when the device
    cannot play at the session's sample rate.
    """
    with Player(device, sample_rate=session.sample_rate) as player:
        if player.sample_rate != session.sample_rate:
            raise DeviceError(
                f"output '{player.device.name if player.device else device}' cannot play {session.sample_rate} Hz; prepare the session at {player.sample_rate} Hz"
            )
        player.load(session)
        try:
            player.wait()
        except KeyboardInterrupt:
            player.stop(INTERRUPT_FADE_S)
            player.wait(timeout_s=2 * INTERRUPT_FADE_S)
            raise
