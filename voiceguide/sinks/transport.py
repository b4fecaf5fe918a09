"""The playback engine without the device: a render-ahead thread keeps about
two seconds of the mix queued in blocks (``Mixer.render`` works on any
span); :meth:`Transport.fill`, called from the audio callback, only copies
from that queue, applies the gain ramps for pause, resume, seek and stop,
and fills its whole buffer (silence on an underrun). Controls come in as
:class:`Command` messages from other threads, so the callback never takes a
lock that the rest of the program holds.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from ..errors import DeviceError
from ..i18n import N_, _, session_translation
from ..plan.timeline import BREATH_KINDS, Kind, Timeline

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


# --- where we are in the session ------------------------------------------------------


class State(str, Enum):
    PREPARING = "preparing"
    """The output runs (silently) while the session is being prepared."""
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"


PHASE_NAMES = {Kind.INHALE: N_("breathe in"), Kind.HOLD: N_("hold"), Kind.EXHALE: N_("breathe out")}
"""Breath phases as a status line shows them, translated into the session's language (not the interface's)."""


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
    """``breathe in``, ``hold``, ``breathe out`` in the session's language
    (``inademen``... in a Dutch one), or empty outside breathing."""
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
        self._words = session_translation(timeline.language)
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
            return chapter, self._words.gettext(PHASE_NAMES[event.kind]), event.cycle, self.cycles[(event.line, event.col)]
        return chapter, "", 0, 0


# --- the engine: render-ahead thread + what the callback does -------------------------------


class Command(Enum):
    """A control message from any thread to the audio thread."""

    LOAD = "load"
    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE = "toggle"
    STOP = "stop"
    SEEK = "seek"


class Ramp(Enum):
    """What happens when a gain ramp ends."""

    FADE_IN = "in"
    PAUSE = "pause"
    """Faded out for a pause: playback holds."""
    STOP = "stop"
    """Faded out for a stop: playback ends."""
    SEEK = "seek"
    """Faded out for a jump: jump, then fade in."""


class _Ramp:
    """A raised-cosine gain ramp from ``start`` to ``end`` over ``frames``."""

    __slots__ = ("start", "end", "frames", "done", "purpose", "target")

    def __init__(self, start: float, end: float, frames: int, purpose: Ramp, target: int = 0):
        self.start, self.end, self.frames, self.done = start, end, max(1, frames), 0
        self.purpose = purpose
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
        self._commands: deque[tuple[Command, *tuple[Any, ...]]] = deque()
        self._blocks: deque[tuple[int, int, np.ndarray]] = deque()
        self._cursor = (0, 0)  # (generation, next session frame to play), written by fill only
        self._rendered = (-1, 0)  # (generation, end of what is queued), written by the render thread only
        self._wake_renderer = threading.Event()
        self._data_ready = threading.Event()
        self._poked = threading.Event()
        self._closed = False
        self._renderer: threading.Thread | None = None
        self._gain_level: np.float32 | None = np.float32(1.0)
        self._gain_source: Callable[[], float | None] | None = None
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

    def load(self, mixer: Any, timeline: Timeline, start_s: float = 0.0, gain: float | Callable[[], float | None] = 1.0) -> None:
        """Start playing ``mixer`` (a :class:`~voiceguide.mix.mixer.Mixer`) at
        ``start_s``, every block scaled by ``gain`` (the player's level, see
        :func:`voiceguide.sinks.normalise.play_gain`). A callable ``gain`` is
        not known yet: the render thread asks it before each block until it
        answers, and meanwhile renders only what was ready before it asked,
        which comes before the first phrase (:mod:`voiceguide.live` starts
        early only where that is silence, which no gain changes)."""
        if mixer.sample_rate != self.sample_rate:
            raise DeviceError(
                _("the session is mixed at {sample_rate} Hz but the output runs at {sample_rate2} Hz").format(
                    sample_rate=mixer.sample_rate, sample_rate2=self.sample_rate
                )
            )
        self._gain_source = gain if callable(gain) else None
        self._gain_level = None if callable(gain) else np.float32(gain)
        self._mixer = mixer
        self._navigator = Navigator(timeline)
        self._title = timeline.title
        self._post(Command.LOAD, int(round(start_s * self.sample_rate)))
        if self._renderer is None:
            self._renderer = threading.Thread(target=self._render_loop, name="voiceguide-render", daemon=True)
            self._renderer.start()

    def pause(self) -> None:
        self._post(Command.PAUSE)

    def resume(self) -> None:
        self._post(Command.RESUME)

    def toggle_pause(self) -> None:
        self._post(Command.TOGGLE)

    def stop(self, fade_s: float = STOP_FADE_S) -> None:
        """Fade out over ``fade_s`` and end."""
        self._post(Command.STOP, fade_s)

    def seek(self, position_s: float) -> float:
        """Jump (with a short fade out and in) to ``position_s``; returns it."""
        self._post(Command.SEEK, max(0, int(round(position_s * self.sample_rate))))
        return position_s

    def back(self) -> float | None:
        """To the start of the current sentence or breath cycle; returns
        where it jumps to (None before a session is loaded)."""
        navigator = self._nav()
        if navigator is None:
            return None
        return self.seek(max(0.0, navigator.back(self.status().position_s) - SEEK_LEAD_S))

    def forward(self) -> float | None:
        """To the next chapter (from the last one: to the closing chime);
        returns where it jumps to, None when there is nothing ahead."""
        navigator = self._nav()
        if navigator is None:
            return None
        target = navigator.forward(self.status().position_s)
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
        navigator = self._nav()
        chapter, phase, cycle, cycles = navigator.describe(position_s) if navigator else ("", "", 0, 0)
        return Status(state, position_s, duration_s, self._title, chapter, phase, cycle, cycles)

    def close(self) -> None:
        self._closed = True
        self._wake_renderer.set()
        self._data_ready.set()
        if self._renderer is not None:
            self._renderer.join(timeout=2)

    def _post(self, command: Command, *args: Any) -> None:
        self._commands.append((command, *args))  # deque.append is atomic: no lock needed
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
                ready = self._ready_frames(mixer)
                if position >= ready:  # the plan is not settled this far yet (voiceguide.live): wait for it
                    mixer.wait_ready(0.02)
                    continue
                if self._gain_level is None and self._gain_source is not None:  # asked after reading the horizon
                    level = self._gain_source()
                    if level is not None:
                        self._gain_level = np.float32(level)
                samples = mixer.render(position, min(self._block_frames, ready - position))
                if self._gain_level is not None and self._gain_level != 1:
                    samples = samples * self._gain_level
                self._blocks.append((generation, position, samples))
                position += len(samples)
                self._rendered = (generation, position)
                self._data_ready.set()
        except BaseException as exc:  # noqa: BLE001 - reported through render_error and the output
            log.error("rendering failed: %s", exc)
            self.render_error = exc
            self._post(Command.STOP, SEEK_FADE_S)

    @staticmethod
    def _ready_frames(mixer: Any) -> int:
        """How far ``mixer`` may be rendered now: a live session's mixer
        (:class:`voiceguide.live.LiveMixer`) only as far as its plan is
        settled, any other to its end."""
        ready = getattr(mixer, "ready_frames", None)
        return mixer.total_frames if ready is None else min(ready, mixer.total_frames)

    def _nav(self) -> Navigator | None:
        """The navigator over the mixer's plan of the moment (a live session's settles while it plays)."""
        navigator, mixer = self._navigator, self._mixer
        timeline = getattr(mixer, "timeline", None)
        if navigator is not None and timeline is not None and timeline is not navigator.timeline:
            navigator = self._navigator = Navigator(timeline)
        return navigator

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
                if not (self._ramp is not None and self._ramp.purpose is Ramp.FADE_IN and self._ramp.done == 0):
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
        if self._ramp is None or self._ramp.purpose is not Ramp.FADE_IN or self._ramp.done:
            return True
        generation, end = self._rendered
        wanted = min(int(PREBUFFER_S * self.sample_rate), self._ready_frames(self._mixer) - self._position)
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

    def _start_ramp(self, end: float, fade_s: float, purpose: Ramp, target: int = 0) -> None:
        start = self._ramp.now() if self._ramp is not None else self._gain
        frames = int(round(fade_s * self.sample_rate * max(abs(end - start), 0.05)))
        self._ramp = _Ramp(start, end, frames, purpose, target)

    def _end_ramp(self) -> None:
        ramp = self._ramp
        assert ramp is not None
        self._ramp = None
        self._gain = ramp.end
        if ramp.purpose is Ramp.PAUSE:
            self._state = State.PAUSED
        elif ramp.purpose is Ramp.STOP:
            self._state = State.FINISHED
        elif ramp.purpose is Ramp.SEEK:
            self._jump(ramp.target)
            self.jumps += 1
            self._start_ramp(1.0, SEEK_FADE_S, Ramp.FADE_IN)

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
            fading_out = ramp is not None and ramp.purpose in (Ramp.PAUSE, Ramp.STOP, Ramp.SEEK)
            if state is State.FINISHED:
                continue
            if name is Command.LOAD:
                self._jump(args[0])
                self._state = State.PLAYING
                self._start_ramp(1.0, SEEK_FADE_S, Ramp.FADE_IN)
            elif state is State.PREPARING:
                if name is Command.STOP:
                    self._state, self.stopped = State.FINISHED, True
            elif name is Command.TOGGLE:
                self._commands.appendleft(
                    (Command.RESUME,) if state is State.PAUSED or (ramp and ramp.purpose is Ramp.PAUSE) else (Command.PAUSE,)
                )
            elif name is Command.PAUSE and state is State.PLAYING and not fading_out:
                self._start_ramp(0.0, PAUSE_FADE_S, Ramp.PAUSE)
            elif name is Command.RESUME and (state is State.PAUSED or (ramp and ramp.purpose is Ramp.PAUSE)):
                self._state = State.PLAYING
                self._start_ramp(1.0, PAUSE_FADE_S, Ramp.FADE_IN)
            elif name is Command.STOP:
                self.stopped = True
                if state is State.PAUSED and ramp is None:
                    self._state = State.FINISHED
                else:
                    self._state = State.STOPPING
                    self._start_ramp(0.0, args[0], Ramp.STOP)
            elif name is Command.SEEK and not (ramp and ramp.purpose is Ramp.STOP):
                if state is State.PAUSED and ramp is None:
                    self._jump(args[0])
                    self.jumps += 1
                else:
                    self._start_ramp(0.0, SEEK_FADE_S, Ramp.SEEK, args[0])
