"""Stage 6 (live sink): play a session through an audio output as it is mixed.

Nothing is rendered in full before playing. A render-ahead thread keeps
about two seconds of the mix queued in blocks (``Mixer.render`` works on any
span); the PortAudio callback only copies from that queue, applies the gain
ramps for pause, resume, seek and stop, and fills its whole buffer (silence
on an underrun). Controls come in as commands from other threads, so the
callback never takes a lock that the rest of the program holds.

    >>> from voiceguide import load_script, prepare_session
    >>> from voiceguide.sinks.player import Player
    >>> with Player() as player:                 # opens the default output
    ...     player.load(prepare_session(load_script("zelfkalmering")))
    ...     player.wait()                        # or pause(), back(), forward(), stop()

sounddevice is imported only when a player or the device list is needed:
without libportaudio2 the import itself fails, and everything else in
voiceguide must keep working on such a machine.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeviceError, VoiceguideError
from ..i18n import _
from ..rules import SAMPLE_RATES
from .devices import DeviceInfo, choose_format, find_device, is_available, sounddevice_module
from .normalise import play_gain
from .transport import SEEK_FADE_S, STOP_FADE_S, Status, Transport

if TYPE_CHECKING:
    from ..session import Session

LATENCY_S = 0.2
"""Requested output latency. Generous on purpose: nobody needs a fast
reaction when listening with eyes closed, and a deep buffer rides out a
busy machine (the callback shares the GIL with the render thread)."""


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
        sd = self._sd = sounddevice_module()
        self.device = find_device(self._wanted_device)
        self.sample_rate, self.channels = choose_format(sd, self.device, self._wanted_rate)
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
            raise DeviceError.naming(
                _("cannot open output device '{name}' ({exc}); try another with {device} or use 'voiceguide export'"),
                {"device": "device"},
                name=self.device.name,
                exc=exc,
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
        """Play ``session`` (prepared at :attr:`sample_rate`) from ``start_s``,
        its voice as loud as in an export (:func:`~voiceguide.sinks.normalise.play_gain`)."""
        gain = play_gain(session.mixer)
        self.transport.load(
            session.mixer, session.timeline, start_s, gain=gain if gain is not None else lambda: play_gain(session.mixer)
        )
        session.level_ahead()  # phrases not levelled yet are made in the background, ahead of the render thread

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
        if isinstance(error, VoiceguideError):  # a live session's plan that failed to settle: its own words
            raise error
        if error is not None:
            raise DeviceError(_("playback failed: {kind}: {error}").format(kind=type(error).__name__, error=error))

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
