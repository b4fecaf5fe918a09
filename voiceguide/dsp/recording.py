"""One recorded phrase made ready for a voice pack, and the voice-activity
measures that recording and splitting a take share.

:func:`process_recording` takes what a microphone (or a phone's take)
gives, in order:

1. **clipping check** on the raw samples: runs of ``CLIP_RUN`` or more
   samples at full scale mean the converter ran out of range, which no
   processing repairs: :class:`RecordingError` (the recorder offers a redo);
2. **DC removed** (the mean), then a **high-pass** at ``HIGH_PASS_HZ``
   against rumble, handling noise and pops: a 2nd-order Butterworth run
   forwards and backwards (zero phase, 24 dB/octave, -6 dB at 80 Hz). A
   voice has nothing useful below it (a low male voice's 110 Hz loses 1 dB),
   and zero phase keeps the waveform as spoken, which a causal filter
   would smear around the fundamental (a recording is processed whole, so
   nothing needs to be causal);
3. **trim** to the voice: the first and last 10 ms frame above the voice
   threshold (``VOICE_ABOVE_NOISE_DB`` over the noise floor, at least
   within ``VOICE_BELOW_PEAK_DB`` of the loudest frame), keeping
   ``PRE_ROLL_S`` before (soft onsets such as "f", "h" start below it) and
   the **natural release** after: the tail is kept while it stays above
   the noise floor (up to ``RELEASE_LONGEST_S``) and faded to zero over that
   span with a raised cosine, so the voice decays as it did and the room
   noise does not stop dead. The pre-roll fades in the same way;
4. **levelled** to the voice target of the mix and export
   (:data:`voiceguide.rules.VOICE_RMS_DBFS` unless told otherwise, RMS while
   speaking), peaks tamed and kept under the mix's ceiling, with
   ``EDGE_FADE_S`` edge fades (:func:`voiceguide.dsp.level.level_clip`).

:class:`SilenceStop` decides when a live recording may stop by itself: a
second of silence after the voice has started.
"""

from __future__ import annotations

import numpy as np

from ..audio import Audio, raised_cosine
from ..errors import VoiceguideError
from ..i18n import _, ngettext
from ..rules import MAX_RECORDING_S, PEAK_DBFS, VOICE_RMS_DBFS
from .level import level_clip

HIGH_PASS_HZ = 80.0
HIGH_PASS_ORDER = 2
"""Run twice (forwards and backwards): 4th order in effect."""
CLIP_LEVEL = 0.999
"""A sample at or above this fraction of full scale is at the converter's limit."""
CLIP_RUN = 3
"""This many full-scale samples in a row is clipping (one alone can be a true peak)."""
FRAME_S = 0.01
NOISE_PERCENTILE = 10.0
"""The noise floor is the level of the quietest 10 % of frames."""
LOUD_PERCENTILE = 95.0
VOICE_ABOVE_NOISE_DB = 10.0
VOICE_BELOW_PEAK_DB = 40.0
SPEECH_OVER_NOISE_DB = 12.0
"""A recording whose loudest frames are not this far above its noise holds no speech: the speech
detector's tuning (with the two above), shared with take.py, not a limit a user sets."""
PRE_ROLL_S = 0.06
RELEASE_LONGEST_S = 0.3
"""Trim tuning: a release above the noise is kept for at most this long..."""
RELEASE_ABOVE_NOISE_DB = 4.0
"""The release is kept while it stays this far above the noise floor."""
RELEASE_SHORTEST_S = 0.04
"""...and at least this long after the voice ends."""
SILENCE_STOP_S = 1.0
FLOOR_DBFS = -100.0
"""Digital silence is taken as this level (log of zero)."""


class RecordingError(VoiceguideError):
    """A recording that cannot go into a voice pack (clipped, silent, too
    long); the message says why and what to do. Exit code 2."""

    exit_code = 2


def frame_levels_db(samples: np.ndarray, sample_rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS level of each ``frame_s`` frame in dBFS (digital silence: ``FLOOR_DBFS``)."""
    frame = max(1, int(round(frame_s * sample_rate)))
    usable = len(samples) // frame * frame
    if usable == 0:
        return np.zeros(0)
    power = np.mean(np.square(samples[:usable].reshape(-1, frame), dtype=np.float64), axis=1)
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), FLOOR_DBFS)


def clipped_runs(samples: np.ndarray) -> int:
    """How many runs of ``CLIP_RUN`` or more samples sit at full scale."""
    at_limit = np.abs(np.asarray(samples, dtype=np.float32)) >= CLIP_LEVEL
    if not at_limit.any():
        return 0
    edges = np.diff(np.concatenate([[0], at_limit.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(np.sum(ends - starts >= CLIP_RUN))


def high_pass(audio: Audio) -> Audio:
    """DC removed, then the zero-phase ``HIGH_PASS_HZ`` high-pass (see the module notes)."""
    from scipy.signal import butter, sosfiltfilt  # imported here: scipy.signal takes a second to load

    samples = np.asarray(audio.samples, dtype=np.float64)
    if len(samples) == 0:
        return audio
    samples = samples - samples.mean()
    sos = butter(HIGH_PASS_ORDER, HIGH_PASS_HZ, "highpass", fs=audio.sample_rate, output="sos")
    return Audio(sosfiltfilt(sos, samples).astype(np.float32), audio.sample_rate)


def voice_threshold_db(levels_db: np.ndarray) -> tuple[float, float, float]:
    """(noise floor, loud level, voice threshold) in dBFS for frame levels."""
    noise = float(np.percentile(levels_db, NOISE_PERCENTILE))
    loud = float(np.percentile(levels_db, LOUD_PERCENTILE))
    return noise, loud, max(noise + VOICE_ABOVE_NOISE_DB, loud - VOICE_BELOW_PEAK_DB)


def trim_to_voice(audio: Audio) -> Audio:
    """The voice with ``PRE_ROLL_S`` before it and its natural release after
    it, both faded (see the module notes). Raises RecordingError when there
    is no voice."""
    rate = audio.sample_rate
    samples = audio.samples
    levels = frame_levels_db(samples, rate)
    if len(levels) < 5:
        raise RecordingError(_("the recording is too short to hold a phrase; record it again"))
    noise, loud, threshold = voice_threshold_db(levels)
    if loud - noise < SPEECH_OVER_NOISE_DB or loud < -70.0:
        raise RecordingError(
            _("no voice heard: the recording is silent or only noise; check the microphone and its level, then record again")
        )
    frame = int(round(FRAME_S * rate))
    voiced = np.flatnonzero(levels > threshold)
    first, last = int(voiced[0]), int(voiced[-1])
    tail = last + 1
    limit = min(len(levels), last + 1 + int(round(RELEASE_LONGEST_S / FRAME_S)))
    while tail < limit and levels[tail] > noise + RELEASE_ABOVE_NOISE_DB:
        tail += 1
    start = max(0, first * frame - int(PRE_ROLL_S * rate))
    voice_end = (last + 1) * frame
    end = min(len(samples), max(tail * frame, voice_end + int(RELEASE_SHORTEST_S * rate)))
    out = np.array(samples[start:end], dtype=np.float32)
    rise = first * frame - start
    fall = end - voice_end
    if rise:
        out[:rise] *= raised_cosine(rise)
    if fall > 0:
        out[len(out) - fall :] *= raised_cosine(fall)[::-1]
    return Audio(out, rate)


def process_recording(audio: Audio, voice_rms_dbfs: float = VOICE_RMS_DBFS, peak_dbfs: float = PEAK_DBFS) -> Audio:
    """A raw recording of one phrase -> what a voice pack stores: checked for
    clipping, DC and rumble removed, trimmed with its natural release,
    levelled to ``voice_rms_dbfs`` (RMS while speaking) under ``peak_dbfs``
    with edge fades (see the module notes). Same sample rate as ``audio``.

    Raises RecordingError for a clipped, silent or overlong recording.
    """
    if audio.duration_s > MAX_RECORDING_S:
        raise RecordingError(
            _("the recording lasts over {longest:.0f} s; a phrase is recorded on its own, record it again").format(
                longest=MAX_RECORDING_S
            )
        )
    runs = clipped_runs(audio.samples)
    if runs:
        raise RecordingError(
            ngettext(
                "the recording is clipped ({runs} place at full scale): turn the input level down or move back from the microphone, and record it again",
                "the recording is clipped ({runs} places at full scale): turn the input level down or move back from the microphone, and record it again",
                runs,
            ).format(runs=runs)
        )
    return level_clip(trim_to_voice(high_pass(audio)), voice_rms_dbfs, peak_dbfs)


class SilenceStop:
    """Says when a live recording may stop by itself: once the voice has
    been heard, ``silence_s`` of quiet ends it.

    The voice threshold is 12 dB over the quietest 20 ms frame so far, kept
    between -55 and -35 dBFS: a voice speaking at a sensible level is
    always above it, and a noisy room cannot raise it past the voice (a
    voice too quiet to start it is stopped with Enter).
    """

    FRAME_S = 0.02
    ABOVE_QUIETEST_DB = 12.0
    THRESHOLD_RANGE_DBFS = (-55.0, -35.0)
    VOICE_FRAMES = 3
    """Frames above the threshold (60 ms) before the voice counts as started."""

    def __init__(self, sample_rate: int, silence_s: float = SILENCE_STOP_S):
        self.sample_rate = sample_rate
        self.silence_frames = max(1, int(round(silence_s / self.FRAME_S)))
        self._frame = max(1, int(round(self.FRAME_S * sample_rate)))
        self._pending = np.zeros(0, dtype=np.float32)
        self._quietest = 0.0
        self._voiced = 0
        self._quiet_run = 0

    @property
    def heard_voice(self) -> bool:
        return self._voiced >= self.VOICE_FRAMES

    def add(self, block: np.ndarray) -> bool:
        """Feed the next samples (float, mono); True when the recording may stop."""
        data = np.concatenate([self._pending, np.asarray(block, dtype=np.float32).reshape(-1)])
        usable = len(data) // self._frame * self._frame
        self._pending = data[usable:]
        low, high = self.THRESHOLD_RANGE_DBFS
        for level in frame_levels_db(data[:usable], self.sample_rate, self.FRAME_S):
            self._quietest = min(self._quietest, float(level))
            threshold = min(high, max(low, self._quietest + self.ABOVE_QUIETEST_DB))
            if level > threshold:
                self._voiced += 1
                self._quiet_run = 0
            elif self.heard_voice:
                self._quiet_run += 1
        return self.heard_voice and self._quiet_run >= self.silence_frames
