"""Loudness and true peak, measured in one streaming pass (ITU-R BS.1770-4).

Export normalises a session to a target integrated loudness without ever
holding the whole session in memory. :class:`LoudnessMeter` takes blocks of
any size, carries the K-weighting filter state across them and keeps one sum
of squares per 100 ms step (36 000 floats for an hour); the 400 ms gating
blocks (75 % overlap, so four steps each) and both gates are evaluated at the
end. The result matches ``pyloudnorm.Meter(rate).integrated_loudness`` on
the whole array (the tests hold it to 0.1 LU).

True peak follows BS.1770-4 Annex 2: the signal is oversampled 4x with a
low-pass interpolation filter and the largest absolute value is taken.
:class:`TruePeakDetector` does that block by block too, and also gives a
per-sample peak envelope for the export limiter (:mod:`voiceguide.dynamics`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_TARGET_LUFS = -19.0
"""Spoken word on phones, for a mono file: the podcast convention is -16 LUFS
for stereo and -19 LUFS for mono (Apple podcasts, AES TD1004). BS.1770
measures a mono file as one channel, but it plays on both earbuds: heard
that way (dual mono) a mono file at -19 LUFS measures -16."""
STEREO_TARGET_LUFS = -16.0
"""The same convention for a stereo file."""
DEFAULT_CEILING_DBTP = -1.0
"""The highest true peak an export may have."""

BLOCK_S = 0.4
"""Gating block length (BS.1770-4 eq. 3)."""
STEPS_PER_BLOCK = 4
"""Blocks overlap by 75 %, so a block is four 100 ms steps."""
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
OVERSAMPLING = 4
CHUNK_FRAMES = 65_536
"""The meter filters this many samples at a time, whatever block sizes it is fed."""
SUB_BLOCK_FRAMES = 2048
"""True-peak oversampling skips stretches of this length that cannot matter."""


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The K-weighting pre-filter as two second-order sections, shape (2, 6).

    Stage 1 is the +4 dB high shelf at 1500 Hz (the head), stage 2 the
    high pass at 38 Hz (RLB curve), both designed with the RBJ cookbook
    formulas and parameters pyloudnorm's ``Meter`` uses, so the two agree.
    """
    sections = []
    for kind, gain_db, q, fc in (("shelf", 4.0, 1 / math.sqrt(2), 1500.0), ("high_pass", 0.0, 0.5, 38.0)):
        a_ = 10 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * fc / sample_rate
        cos, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
        if kind == "shelf":
            root = 2 * math.sqrt(a_) * alpha
            b = [
                a_ * ((a_ + 1) + (a_ - 1) * cos + root),
                -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
                a_ * ((a_ + 1) + (a_ - 1) * cos - root),
            ]
            a = [(a_ + 1) - (a_ - 1) * cos + root, 2 * ((a_ - 1) - (a_ + 1) * cos), (a_ + 1) - (a_ - 1) * cos - root]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        sections.append([c / a[0] for c in b + a])
    return np.array(sections)


KEPT_TAPS = Path(__file__).with_name("k_weighting")
"""The taps :func:`design_k_weighting_fir` makes for each of voiceguide's
sample rates (``<rate>.f64``, little-endian float64), kept with the package:
designing them took 19-25 ms (a 2**17-point inverse FFT, planned anew in
every process), before play's first sound (its level) and in every export
that measures a sound. Made again with ``python -m voiceguide.dsp.loudness``;
tests/test_loudness.py holds them to the design."""


@lru_cache(maxsize=8)
def k_weighting_fir(sample_rate: int) -> np.ndarray:
    """The K-weighting filter's impulse response (see :func:`design_k_weighting_fir`):
    the kept taps for this rate, else designed."""
    try:
        data = (KEPT_TAPS / f"{sample_rate}.f64").read_bytes()
    except OSError:
        data = b""
    if data and len(data) % 8 == 0:
        return np.frombuffer(data, dtype="<f8").astype(np.float64)
    return design_k_weighting_fir(sample_rate)


def design_k_weighting_fir(sample_rate: int) -> np.ndarray:
    """The K-weighting filter's impulse response, cut where it has decayed
    below 1e-13 of its peak (about 7000 taps at 44.1 kHz, for the 38 Hz high
    pass). Filtering with it equals the IIR filter to within rounding, and
    needs nothing but numpy's FFT: scipy.signal costs 50 MB and seconds to import.

    The response is the inverse FFT of the filter's frequency response,
    sampled at ``2**17`` points: the part of the response it folds back
    (what lies beyond 2**17 samples, about 3 s) is below 1e-100."""
    length = int(0.5 * sample_rate)
    points = 1 << 17
    z = np.exp(-1j * np.linspace(0.0, np.pi, points // 2 + 1))  # z^-1 on the unit circle
    spectrum = np.ones_like(z)
    for b0, b1, b2, _, a1, a2 in k_weighting_sos(sample_rate):
        spectrum *= (b0 + b1 * z + b2 * z * z) / (1.0 + a1 * z + a2 * z * z)
    response = np.fft.irfft(spectrum, points)[:length]
    significant = np.flatnonzero(np.abs(response) > 1e-13 * np.max(np.abs(response)))
    return response[: significant[-1] + 1]


def _fast_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n (lengths numpy's FFT handles fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    odd5 = 1
    while odd5 < best:
        odd = odd5
        while odd < best:
            twos = 1 << max(0, (-(-n // odd) - 1).bit_length())  # smallest power of 2 with odd * twos >= n
            best = min(best, odd * twos)
            odd *= 3
        odd5 *= 5
    return best


class FirFilter:
    """A long FIR filter applied block by block (FFT overlap-save); the
    last ``len(h) - 1`` input samples are carried from block to block.
    ``spectra`` keeps the taps' spectrum at each FFT size; filters of the
    same taps may share one (a cold export measures each phrase with a
    filter of its own: for session.vg's 22 phrases the taps' spectrum was
    made 41 times, 23 when shared, at ~0.5 ms each; the same values)."""

    def __init__(self, taps: np.ndarray, spectra: dict[int, np.ndarray] | None = None):
        self._taps = taps
        self._history = np.zeros(len(taps) - 1)
        self._spectra: dict[int, np.ndarray] = {} if spectra is None else spectra

    def __call__(self, block: np.ndarray) -> np.ndarray:
        segment = np.concatenate([self._history, block])
        self._history = segment[len(block) :]
        size = _fast_length(len(segment))
        spectrum = self._spectra.get(size)
        if spectrum is None:
            spectrum = self._spectra[size] = np.fft.rfft(self._taps, size)
        filtered = np.fft.irfft(np.fft.rfft(segment, size) * spectrum, size)
        return filtered[len(self._history) : len(self._history) + len(block)]


_K_SPECTRA: dict[int, dict[int, np.ndarray]] = {}
"""Per sample rate, the K-weighting taps' spectrum at each FFT size (see :class:`FirFilter`)."""


@lru_cache(maxsize=1)
def _interpolator() -> np.ndarray:
    """The 4x interpolation filter: 81 taps, Kaiser (beta 5) windowed sinc
    cut off at the input's Nyquist frequency, scaled by 4 for unity gain
    (what ``scipy.signal.firwin`` designs for ``resample_poly(x, 4, 1)``)."""
    taps = 20 * OVERSAMPLING + 1
    cutoff = 1.0 / OVERSAMPLING
    centred = np.arange(taps) - (taps - 1) / 2
    h = cutoff * np.sinc(cutoff * centred) * np.kaiser(taps, 5.0)
    return h / np.sum(h) * OVERSAMPLING


class TruePeakDetector:
    """4x oversampled peak measurement that streams over blocks.

    The interpolator needs 20 input samples of history, which are carried
    from block to block, so the result does not depend on the block size.
    The interpolated values lag the input by :attr:`delay` samples.
    """

    def __init__(self) -> None:
        h = _interpolator()
        self._phases = [h[p::OVERSAMPLING] for p in range(OVERSAMPLING)]
        self.history_frames = (len(h) - 1) // OVERSAMPLING
        # the four phases as rows of one matrix: interpolated point 4m + p is
        # row p times the window x[m - history .. m] (oldest first), so one
        # matrix product (BLAS) filters all four, 2.6x faster than four
        # np.convolve calls and equal to them within 1e-15
        width = self.history_frames + 1
        self._matrix = np.zeros((OVERSAMPLING, width))
        for p, phase in enumerate(self._phases):
            self._matrix[p, width - len(phase) :] = phase[::-1]
        self.delay = (len(h) - 1) // 2 // OVERSAMPLING
        """Interpolated row n describes the time from n - delay to n - delay + 3/4."""
        self._history = np.zeros(self.history_frames)
        # |interpolated| <= max|input nearby| * gain_bound: used to skip work exactly
        self._gain_bound = max(float(np.sum(np.abs(phase))) for phase in self._phases)
        self._previous_row_peak = 0.0

    def _rows(self, block: np.ndarray, floor: float) -> np.ndarray | None:
        """Per input sample, the largest |value| among its 4 interpolated
        points; None when every value is certainly below ``floor``."""
        segment = np.concatenate([self._history, block])
        self._history = segment[len(segment) - self.history_frames :]
        if len(block) == 0:
            return np.zeros(0)
        magnitude = np.abs(segment)
        if float(np.max(magnitude)) * self._gain_bound < floor:
            return None
        # Oversample only the stretches that could reach ``floor``: the rows
        # of block[a:b] depend on segment[a : b + history] alone.
        context = self.history_frames
        peak = np.zeros(len(block))
        for a in range(0, len(block), SUB_BLOCK_FRAMES):
            b = min(len(block), a + SUB_BLOCK_FRAMES)
            part = segment[a : b + context]
            if float(np.max(magnitude[a : b + context])) * self._gain_bound < floor:
                continue
            points = np.abs(self._matrix @ np.lib.stride_tricks.sliding_window_view(part, context + 1).T)
            np.max(points, axis=0, out=peak[a:b])
        return peak

    def envelope(self, block: np.ndarray, floor: float = 0.0) -> np.ndarray:
        """Peak envelope for ``block`` (float64, same length), lagging by
        :attr:`delay` samples: value n is the largest true-peak value between
        input times n - delay - 1 and n - delay + 3/4. Values certainly below
        ``floor`` may be returned as 0 (that skips the oversampling)."""
        rows = self._rows(np.asarray(block, dtype=np.float64), floor)
        if rows is None:
            self._previous_row_peak = 0.0
            return np.zeros(len(block))
        if len(rows) == 0:
            return rows
        # include the previous row too: the interval between two samples is
        # then covered from both sides, whichever way the peak is assigned
        shifted = np.concatenate([[self._previous_row_peak], rows[:-1]])
        self._previous_row_peak = float(rows[-1])
        return np.maximum(rows, shifted)

    def peak(self, block: np.ndarray, floor: float = 0.0) -> float:
        """The largest interpolated |value| the block adds (0 if certainly below ``floor``)."""
        rows = self._rows(np.asarray(block, dtype=np.float64), floor)
        return float(np.max(rows)) if rows is not None and len(rows) else 0.0

    def flush(self, floor: float = 0.0) -> float:
        """Feed the interpolator's tail (the last input samples' neighbourhood)."""
        return self.peak(np.zeros(self.history_frames), floor)


def amplitude_to_db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


@dataclass(frozen=True)
class Measurement:
    """What a :class:`LoudnessMeter` found."""

    integrated_lufs: float
    """Gated integrated loudness (BS.1770-4); -inf for silence."""
    true_peak_dbtp: float
    """4x oversampled peak in dB relative to full scale."""
    sample_peak_dbfs: float
    frames: int


def gated_loudness(step_energy: np.ndarray, sample_rate: int, frames: int) -> float:
    """Integrated loudness from the K-weighted sums of squares of
    consecutive 100 ms steps (BS.1770-4 eqs. 1-7, mono: G = 1)."""
    duration_s = frames / sample_rate
    if duration_s < BLOCK_S:
        return -math.inf
    # as many blocks as pyloudnorm counts (eq. 3, rounded); a last block
    # that runs past the end sums what there is
    blocks = int(round((duration_s - BLOCK_S) / (BLOCK_S / STEPS_PER_BLOCK))) + 1
    steps = np.concatenate([step_energy, np.zeros(max(0, blocks + STEPS_PER_BLOCK - 1 - len(step_energy)))])
    windows = np.lib.stride_tricks.sliding_window_view(steps, STEPS_PER_BLOCK)[:blocks]
    mean_square = windows.sum(axis=1) / (BLOCK_S * sample_rate)  # eq. 1
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(mean_square)  # eq. 4
    above_absolute = block_lufs >= ABSOLUTE_GATE_LUFS
    if not np.any(above_absolute):
        return -math.inf
    relative_gate = -0.691 + 10.0 * math.log10(float(np.mean(mean_square[above_absolute]))) + RELATIVE_GATE_LU  # eq. 6
    gated = (block_lufs > relative_gate) & (block_lufs > ABSOLUTE_GATE_LUFS)
    if not np.any(gated):
        return -math.inf
    return -0.691 + 10.0 * math.log10(float(np.mean(mean_square[gated])))  # eq. 7


@dataclass(frozen=True, eq=False)
class LoudnessProfile:
    """A session in short frames (about 10 ms): the K-weighted energy and
    the sample peak of each. Small (6 MB for an hour) and enough to predict
    the loudness after a gain and a peak limiter without rendering again."""

    sample_rate: int
    frame_frames: int
    """Samples per frame."""
    frames_per_step: int
    """Frames per 100 ms gating step."""
    energy: np.ndarray
    """K-weighted sum of squares per frame (float64)."""
    peak: np.ndarray
    """Largest |sample| per frame (float32)."""
    total_frames: int

    def step_energy(self, frame_energy: np.ndarray | None = None) -> np.ndarray:
        energy = self.energy if frame_energy is None else frame_energy
        pad = (-len(energy)) % self.frames_per_step
        return np.concatenate([energy, np.zeros(pad)]).reshape(-1, self.frames_per_step).sum(axis=1)

    def integrated_lufs(self) -> float:
        return gated_loudness(self.step_energy(), self.sample_rate, self.total_frames)

    def predict_lufs(self, gain_db: float, ceiling_db: float, release_db_per_s: float) -> float:
        """Integrated loudness after ``gain_db`` and a peak limiter at
        ``ceiling_db`` that recovers at ``release_db_per_s``.

        A frame-rate model of :class:`voiceguide.dynamics.LookaheadGain`:
        each frame is turned down by what its peak needs and the gain
        recovers at the limiter's rate. Holding that reduction over the
        frame alone understates the real limiter's loss a little (it also
        ramps down before the peak), holding it over the neighbours too
        overstates it; the mean of the two was within 0.05 LU of the real
        limiter on the built-ins and on a script of mostly breath cues.
        """
        with np.errstate(divide="ignore"):
            peak_db = 20.0 * np.log10(self.peak.astype(np.float64)) + gain_db
        needed = np.minimum(0.0, ceiling_db - peak_db)
        neighbours = (
            np.minimum(np.concatenate([[0.0], needed[:-1]]), np.concatenate([needed[1:], [0.0]])) if len(needed) else needed
        )
        release = release_db_per_s * self.frame_frames / self.sample_rate
        ramp = np.arange(len(needed)) * release
        results = []
        for held in (needed, np.minimum(needed, neighbours)):
            gain = np.minimum(0.0, np.minimum.accumulate(held - ramp) + ramp) if len(held) else held
            energy = self.energy * 10.0 ** ((gain_db + gain) / 10.0)
            results.append(gated_loudness(self.step_energy(energy), self.sample_rate, self.total_frames))
        return (results[0] + results[1]) / 2

    def gain_for(
        self, target_lufs: float, ceiling_db: float, release_db_per_s: float, max_limiting_db: float = math.inf
    ) -> tuple[float, bool]:
        """The gain (dB) that brings the session, limited at ``ceiling_db``,
        to ``target_lufs``; and whether ``max_limiting_db`` (how far the
        limiter may turn the loudest peak down) capped it short of that."""
        source = self.integrated_lufs()
        if math.isinf(source):
            return 0.0, False
        gain = target_lufs - source
        for _ in range(30):
            # the limiter only takes loudness away, and less for every dB
            # added, so this fixed-point iteration converges from below
            error = target_lufs - self.predict_lufs(gain, ceiling_db, release_db_per_s)
            if abs(error) < 0.005:
                break
            gain += error
        loudest = float(np.max(self.peak)) if len(self.peak) else 0.0
        if loudest > 0 and gain > ceiling_db + max_limiting_db - amplitude_to_db(loudest):
            return ceiling_db + max_limiting_db - amplitude_to_db(loudest), True
        return gain, False


class LoudnessMeter:
    """Integrated loudness and true peak of a stream of mono blocks.

    >>> meter = LoudnessMeter(44_100)
    >>> for block in mixer.blocks():
    ...     meter.add(block)
    >>> meter.result().integrated_lufs
    """

    def __init__(self, sample_rate: int, *, true_peak: bool = True):
        self.sample_rate = sample_rate
        self._k_weighting: FirFilter | None = None
        """Made when the first block is measured: designing it takes ~20 ms
        (once per rate and process), and a meter asked only for its frame
        grid (a warm export's, whose profiles are all cached) never needs it."""
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0
        step = int(round(sample_rate * BLOCK_S / STEPS_PER_BLOCK))
        # frames of about 10 ms that tile the 100 ms steps exactly
        self._frames_per_step = max(d for d in range(1, 11) if step % d == 0)
        self._frame = step // self._frames_per_step
        self._energy: list[np.ndarray] = []
        self._peaks: list[np.ndarray] = []
        self._partial_energy = 0.0
        self._partial_peak = 0.0
        self.frames = 0
        self._true_peak = 0.0
        self._detector = TruePeakDetector() if true_peak else None
        self._finished: Measurement | None = None

    def add(self, block: np.ndarray) -> None:
        """Measure the next ``block`` (1-D samples, any length)."""
        if self._finished is not None:
            raise RuntimeError("the meter is finished; start a new one")
        if len(block):
            self._pending.append(np.asarray(block, dtype=np.float64))
            self._pending_frames += len(block)
        if self._pending_frames >= CHUNK_FRAMES:
            self._flush()

    def _flush(self) -> None:
        """Measure what is pending in chunks of CHUNK_FRAMES (long enough for
        FFT filtering, short enough to keep memory small)."""
        if not self._pending:
            return
        pending = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_frames = [], 0
        for start in range(0, len(pending), CHUNK_FRAMES):
            self._measure(pending[start : start + CHUNK_FRAMES])

    def _measure(self, x: np.ndarray) -> None:
        if self._detector is not None:
            self._true_peak = max(self._true_peak, self._detector.peak(x, floor=self._true_peak))
        if self._k_weighting is None:
            self._k_weighting = FirFilter(k_weighting_fir(self.sample_rate), _K_SPECTRA.setdefault(self.sample_rate, {}))
        weighted = self._k_weighting(x)
        squares = weighted * weighted
        magnitude = np.abs(x)
        # per-frame sums and peaks on the absolute frame grid
        size = self._frame
        into = self.frames % size
        head = min(len(x), size - into) if into else 0
        if head:
            self._partial_energy += float(np.sum(squares[:head]))
            self._partial_peak = max(self._partial_peak, float(np.max(magnitude[:head])))
            if into + head == size:
                self._close_partial()
        whole = (len(x) - head) // size * size
        if whole:
            self._energy.append(squares[head : head + whole].reshape(-1, size).sum(axis=1))
            self._peaks.append(magnitude[head : head + whole].reshape(-1, size).max(axis=1).astype(np.float32))
        if head + whole < len(x):
            self._partial_energy += float(np.sum(squares[head + whole :]))
            self._partial_peak = max(self._partial_peak, float(np.max(magnitude[head + whole :])))
        self.frames += len(x)

    def _close_partial(self) -> None:
        self._energy.append(np.array([self._partial_energy]))
        self._peaks.append(np.array([self._partial_peak], dtype=np.float32))
        self._partial_energy = 0.0
        self._partial_peak = 0.0

    def add_all(self, blocks: Iterable[np.ndarray]) -> Measurement:
        for block in blocks:
            self.add(block)
        return self.result()

    def profile(self) -> LoudnessProfile:
        """The frame profile of everything measured (see :class:`LoudnessProfile`)."""
        self._flush()
        energy = self._energy + ([np.array([self._partial_energy])] if self.frames % self._frame else [])
        peaks = self._peaks + ([np.array([self._partial_peak], dtype=np.float32)] if self.frames % self._frame else [])
        return LoudnessProfile(
            sample_rate=self.sample_rate,
            frame_frames=self._frame,
            frames_per_step=self._frames_per_step,
            energy=np.concatenate(energy) if energy else np.zeros(0),
            peak=np.concatenate(peaks) if peaks else np.zeros(0, dtype=np.float32),
            total_frames=self.frames,
        )

    def result(self) -> Measurement:
        """Finish the measurement (the meter takes no more blocks afterwards)."""
        if self._finished is None:
            profile = self.profile()
            sample_peak = float(np.max(profile.peak)) if len(profile.peak) else 0.0
            if self._detector is not None:
                self._true_peak = max(self._true_peak, self._detector.flush(floor=self._true_peak), sample_peak)
            self._finished = Measurement(
                integrated_lufs=profile.integrated_lufs(),
                true_peak_dbtp=amplitude_to_db(self._true_peak if self._detector is not None else sample_peak),
                sample_peak_dbfs=amplitude_to_db(sample_peak),
                frames=self.frames,
            )
        return self._finished


def frame_profile(samples: np.ndarray, sample_rate: int) -> LoudnessProfile:
    """The :class:`LoudnessProfile` of one whole sound (what an export plans
    its gain from, each distinct sound measured once)."""
    meter = LoudnessMeter(sample_rate, true_peak=False)
    meter.add(samples)
    return meter.profile()


def keep_k_weighting_taps(rates: Iterable[int] = (22_050, 32_000, 44_100, 48_000)) -> None:
    """Write the designed taps for ``rates`` into :data:`KEPT_TAPS` (voiceguide's sample rates)."""
    KEPT_TAPS.mkdir(exist_ok=True)
    for rate in rates:
        (KEPT_TAPS / f"{rate}.f64").write_bytes(design_k_weighting_fir(rate).astype("<f8").tobytes())


if __name__ == "__main__":
    keep_k_weighting_taps()
