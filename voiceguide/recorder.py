"""Recording a voice pack phrase by phrase: the state machine of
``voiceguide record``, and the microphone and playback it uses.

:class:`Recorder` knows which phrases are still to record and what each
key means at each step; it never touches a terminal or a device, so it is
driven the same way by the command line and by tests::

    READY --Enter--> RECORDING --(Enter, or a second of silence)--> REVIEW or REJECTED
    REVIEW   --n--> stored, next phrase (READY, or DONE after the last)
    REVIEW   --r--> READY (the take is dropped)      REJECTED --r--> READY
    any step --q--> DONE (a take under REVIEW is stored first)

A take is processed (:func:`~voiceguide.dsp.recording.process_recording`)
as soon as it is recorded: one that is clipped or silent is REJECTED with
the reason, and only a redo or quitting is offered. A kept take is written
to the pack at once, atomically, so stopping at any moment (q, Ctrl-C, a
crash) loses at most the phrase being recorded, and running the command
again resumes with the phrases still missing.

:func:`record_phrase` captures from a microphone (int16, mono, through
sounddevice) until told to stop or :class:`~voiceguide.dsp.recording.SilenceStop`
hears a second of silence after the voice; :func:`play_back` plays a take.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from enum import Enum

import numpy as np

from .audio import Audio, resample
from .dsp.recording import SILENCE_STOP_S, RecordingError, SilenceStop, process_recording
from .errors import DeviceError
from .i18n import N_, _
from .mix.mixer import MixSettings
from .rules import MAX_RECORDING_S
from .sinks.devices import choose_format, find_device, find_input_device, sounddevice_module
from .speech.pack import VoicePack

BLOCK_S = 0.05
"""Microphone reads: short, so Enter stops a recording at once."""


class Step(str, Enum):
    READY = "ready"
    """The phrase is shown; Enter starts recording it."""
    RECORDING = "recording"
    REVIEW = "review"
    """A usable take: it is played back; keep it, redo it or quit."""
    REJECTED = "rejected"
    """A take that cannot be used (see :attr:`Recorder.problem`): redo or quit."""
    DONE = "done"


KEYS: dict[Step, dict[str, str]] = {
    Step.READY: {"enter": N_("record"), "q": N_("save and quit")},
    Step.RECORDING: {"enter": N_("stop")},
    Step.REVIEW: {"n": N_("keep and go on"), "r": N_("record again"), "q": N_("keep, save and quit")},
    Step.REJECTED: {"r": N_("record again"), "q": N_("save and quit")},
    Step.DONE: {},
}
"""What each key does at each step (the recorder's help line shows these)."""


class Recorder:
    """Which phrases of a script a pack still lacks, and recording them one
    by one (see the module notes for the steps).

    Parameters
    ----------
    pack:
        Where kept takes are stored.
    texts:
        The script's phrases, in order (:func:`voiceguide.plan.timeline.spoken_texts`).
        Those the pack has a readable recording of are skipped.
    """

    def __init__(self, pack: VoicePack, texts: Sequence[str], mix: MixSettings = MixSettings()):
        self.pack = pack
        self.mix = mix
        phrases = list(dict.fromkeys(texts))
        self.total = len(phrases)
        """Distinct phrases in the script."""
        self.damaged = [text for text in phrases if pack.has(text) and pack.check(text)]
        """Phrases whose recording cannot be read: they are recorded again."""
        self.todo = [text for text in phrases if not pack.has(text) or text in self.damaged]
        """The phrases to record in this run, in order."""
        self.index = 0
        self.step = Step.READY if self.todo else Step.DONE
        self.take: Audio | None = None
        """The processed take under review."""
        self.problem: str | None = None
        """Why the last take was rejected."""
        self.kept: list[str] = []
        """Phrases stored in this run."""

    @property
    def current(self) -> str | None:
        """The phrase being recorded, None when done."""
        return self.todo[self.index] if self.step is not Step.DONE and self.index < len(self.todo) else None

    @property
    def remaining(self) -> int:
        """Phrases still without a recording (the current one included)."""
        return len(self.todo) - len(self.kept)

    def press(self, key: str) -> bool:
        """Act on a key (``enter``, ``n``, ``r``, ``q``); False when it means nothing now."""
        action = {
            (Step.READY, "enter"): self.start,
            (Step.READY, "q"): self.quit,
            (Step.REVIEW, "n"): self.keep,
            (Step.REVIEW, "r"): self.redo,
            (Step.REVIEW, "q"): self.quit,
            (Step.REJECTED, "r"): self.redo,
            (Step.REJECTED, "q"): self.quit,
        }.get((self.step, key))
        if action is None:
            return False
        action()
        return True

    def start(self) -> None:
        self._expect(Step.READY)
        self.step = Step.RECORDING

    def finish(self, raw: Audio) -> None:
        """The recording has stopped: process it for review, or reject it."""
        self._expect(Step.RECORDING)
        try:
            self.take, self.problem = process_recording(raw, self.mix.voice_rms_dbfs, self.mix.peak_dbfs), None
            self.step = Step.REVIEW
        except RecordingError as exc:
            self.take, self.problem = None, str(exc)
            self.step = Step.REJECTED

    def keep(self) -> None:
        """Store the take under review (atomically) and go on to the next phrase."""
        self._expect(Step.REVIEW)
        assert self.take is not None and self.current is not None
        self.pack.add(self.current, self.take)
        self.kept.append(self.current)
        self.take = None
        self.index += 1
        self.step = Step.READY if self.index < len(self.todo) else Step.DONE

    def redo(self) -> None:
        self.take, self.problem = None, None
        self.step = Step.READY

    def quit(self) -> None:
        """Stop here; a take under review is kept first."""
        if self.step is Step.REVIEW:
            self.keep()
        self.step = Step.DONE

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise RuntimeError(f"the recorder is {self.step.value}, not {step.value}")


# --- devices -------------------------------------------------------------------------


def record_phrase(
    device: int | str | None = None,
    sample_rate: int = 48_000,
    *,
    stop: threading.Event | None = None,
    silence_s: float | None = SILENCE_STOP_S,
    max_s: float = MAX_RECORDING_S,
    on_level: Callable[[float], None] | None = None,
) -> Audio:
    """Record from the microphone until ``stop`` is set, ``silence_s`` of
    silence follows the voice (None: only ``stop``), or ``max_s`` passed.

    Captures int16 mono (what every microphone driver gives without
    conversion) at ``sample_rate`` when the device takes it, else at its
    own rate. ``on_level`` gets each block's peak in dBFS (for a meter).

    Raises DeviceError when there is no microphone or it fails.
    """
    sd = sounddevice_module()
    info = find_input_device(device)
    rate = _input_rate(sd, info.index, sample_rate, info.default_rate)
    block = max(1, int(BLOCK_S * rate))
    stop = stop or threading.Event()
    stopper = SilenceStop(rate, silence_s) if silence_s else None
    chunks: list[np.ndarray] = []
    frames = 0
    try:
        with sd.InputStream(device=info.index, samplerate=rate, channels=1, dtype="int16", blocksize=block) as stream:
            while not stop.is_set() and frames < max_s * rate:
                data, _overflowed = stream.read(block)
                samples = data[:, 0].astype(np.float32) / 32768.0
                chunks.append(samples)
                frames += len(samples)
                if on_level is not None:
                    on_level(20.0 * float(np.log10(max(float(np.max(np.abs(samples), initial=0.0)), 1e-5))))
                if stopper is not None and stopper.add(samples):
                    break
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError.naming(
            _("recording from '{name}' failed ({exc}); choose another with {input_device}"),
            {"input_device": "input_device"},
            name=info.name,
            exc=exc,
        ) from None
    return Audio(np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32), rate)


def _input_rate(sd, index: int, wanted: int, default: int) -> int:
    for rate in dict.fromkeys((wanted, default)):
        try:
            sd.check_input_settings(device=index, samplerate=rate, channels=1, dtype="int16")
            return rate
        except (sd.PortAudioError, ValueError):
            continue
    raise DeviceError.naming(
        _("the microphone records at neither {wanted} nor {default} Hz; choose another with {input_device}"),
        {"input_device": "input_device"},
        wanted=wanted,
        default=default,
    )


def play_back(audio: Audio, device: int | str | None = None, *, interrupted: Callable[[], bool] = lambda: False) -> None:
    """Play ``audio`` on an output and wait until it ends, or until
    ``interrupted()`` says so (checked every 20 ms; it stops at once).

    Raises DeviceError when there is no output or it fails.
    """
    sd = sounddevice_module()
    info = find_device(device)
    rate, channels = choose_format(sd, info, audio.sample_rate)
    samples = resample(audio, rate).samples
    data = np.column_stack([samples] * channels) if channels > 1 else samples
    try:
        sd.play(data, rate, device=info.index)
        stream = sd.get_stream()
        while stream.active:
            if interrupted():
                sd.stop()
                break
            time.sleep(0.02)
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError.naming(
            _("playing the take back on '{name}' failed ({exc}); choose another with {device}"),
            {"device": "device"},
            name=info.name,
            exc=exc,
        ) from None
