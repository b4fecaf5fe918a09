"""Gentle peak control: a soft-knee peak compressor for each phrase and a
look-ahead true-peak limiter for the export, both from one gain stage.

espeak speech has a crest factor of about 17 dB; brought to -16 LUFS its
peaks would reach +2 dBTP. Clipping them would crackle, so peaks are turned
down smoothly instead, in two places:

* :func:`tame_peaks` compresses each phrase's peaks with a soft knee
  (ratio 3:1 above a threshold set relative to the phrase's own level)
  when the voice is levelled, so the voice keeps its loudness and loses
  only its sharpest edges;
* :class:`LookaheadGain` with :func:`limit_gain_db` is the export's safety
  limiter: it looks 5 ms ahead at the 4x oversampled signal and has the
  gain down before a peak arrives, so nothing goes over the ceiling.

How the gain is made (all in dB, vectorised, state carried across blocks):

1. detector: the peak level of every sample (4x oversampled for the limiter);
2. gain computer: how far each sample must come down (``gain_db_for``);
3. hold: the minimum of that over a window from ``hold`` before to
   ``lookahead + hold`` after each sample, so the gain is down in time;
4. release: the gain recovers at a constant rate in dB per second; the
   recursion ``g[n] = min(h[n], g[n-1] + rate)`` is computed in closed form
   as ``n * rate + cumulative_min(h[k] - k * rate)``;
5. smoothing: a triangular moving average over the look-ahead (two box
   filters), so the gain moves in smooth ramps and never clicks.

Because every value in the averaging window is at most what the peak needs
(step 3), the smoothed gain is down by the full amount at the peak itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .loudness import TruePeakDetector

GainComputer = Callable[[np.ndarray], np.ndarray]
_TINY = 1e-12


def sliding_min(values: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = min(values[i : i + width])`` for every full window, in O(n)
    (van Herk / Gil-Werman: running minima forwards and backwards inside
    blocks of ``width``; any window spans at most two blocks)."""
    count = len(values) - width + 1
    if width == 1 or count <= 0:
        return values[: max(count, 0)].copy()
    blocks = -(-len(values) // width)
    padded = np.full(blocks * width, np.inf)
    padded[: len(values)] = values
    rows = padded.reshape(blocks, width)
    forward = np.minimum.accumulate(rows, axis=1).ravel()
    backward = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(backward[:count], forward[width - 1 : width - 1 + count])


def _runs(indices: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Sorted ``indices`` as runs ``(first, last)``, split where two are more than ``gap`` apart."""
    if not len(indices):
        return []
    breaks = np.flatnonzero(np.diff(indices) > gap)
    firsts = indices[np.concatenate([[0], breaks + 1])]
    lasts = indices[np.concatenate([breaks, [len(indices) - 1]])]
    return list(zip(firsts.tolist(), lasts.tolist()))


def _joined(first: np.ndarray, second: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``concatenate([first, second])[start:stop]`` without joining the whole."""
    if stop <= len(first):
        return first[start:stop]
    if start >= len(first):
        return second[start - len(first) : stop - len(first)]
    return np.concatenate([first[start:], second[: stop - len(first)]])


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ranges, sorted, without empty ones, overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def soft_knee_gain_db(level_db: np.ndarray, threshold_db: float, ratio: float, knee_db: float) -> np.ndarray:
    """Gain (<= 0 dB) of a soft-knee compressor for each detector level.

    Below the knee nothing changes; above it the level rises 1/``ratio`` dB
    per dB; inside the ``knee_db`` wide knee the curve is the quadratic that
    joins the two (Giannoulis, Massberg and Reiss, JAES 2012, eq. 4).
    """
    over = level_db - threshold_db
    gain = np.zeros_like(level_db)
    slope = 1.0 / ratio - 1.0
    in_knee = np.abs(over) <= knee_db / 2
    above = over > knee_db / 2
    gain[in_knee] = slope * (over[in_knee] + knee_db / 2) ** 2 / (2 * knee_db)
    gain[above] = slope * over[above]
    return gain


def soft_knee_gain(threshold_db: float, ratio: float, knee_db: float) -> GainComputer:
    """:func:`soft_knee_gain_db` as a gain computer that says where it asks
    for nothing: below the knee (see :class:`LookaheadGain`)."""

    def gain(level_db: np.ndarray) -> np.ndarray:
        return soft_knee_gain_db(level_db, threshold_db, ratio, knee_db)

    gain.quiet_below_db = threshold_db - knee_db / 2  # type: ignore[attr-defined]
    return gain


def limit_gain_db(ceiling_db: float) -> GainComputer:
    """A brick-wall gain computer: whatever is above ``ceiling_db`` comes down to it."""

    def gain(level_db: np.ndarray) -> np.ndarray:
        return np.minimum(0.0, ceiling_db - level_db)

    gain.quiet_below_db = ceiling_db  # type: ignore[attr-defined]  # see LookaheadGain
    return gain


class LookaheadGain:
    """A streaming gain stage that turns peaks down before they arrive.

    Feed blocks to :meth:`process`; the output lags the input by
    :attr:`latency` frames, and :meth:`flush` returns the last ones.
    :meth:`stream` does the bookkeeping and gives back exactly as many
    frames as went in. The same input gives the same output whatever the
    block sizes.

    Parameters
    ----------
    sample_rate:
        In Hz.
    gain_db_for:
        Maps detector levels (dBFS, array) to the gain each needs (dB, <= 0).
    lookahead_s:
        How long before a peak the gain starts coming down (the attack).
    hold_s:
        How long the gain stays down around a peak before it recovers.
    release_db_per_s:
        How fast the gain recovers afterwards.
    true_peak:
        Detect 4x oversampled peaks (BS.1770-4) instead of sample peaks.
    active_above_db:
        Blocks whose peaks are certainly below this level are not
        oversampled (set it to the ceiling: below it nothing changes).
    """

    def __init__(
        self,
        sample_rate: int,
        gain_db_for: GainComputer,
        *,
        lookahead_s: float = 0.005,
        hold_s: float = 0.002,
        release_db_per_s: float = 30.0,
        true_peak: bool = False,
        active_above_db: float = -120.0,
    ):
        self.sample_rate = sample_rate
        self._gain_db_for = gain_db_for
        if true_peak:
            self._detector: TruePeakDetector | None = TruePeakDetector()
        else:
            self._detector = None
        self._active_above = 10 ** (active_above_db / 20)
        quiet_db = getattr(gain_db_for, "quiet_below_db", None)
        # a gain computer that says which levels need nothing lets a quiet
        # block (while nothing is recovering) skip it, and the logarithms
        self._quiet_below = 10 ** (quiet_db / 20) * (1 - 1e-9) if quiet_db is not None else 0.0
        detector_delay = self._detector.delay + 1 if self._detector else 0
        # two equal box filters whose triangle spans the look-ahead (odd lengths keep it symmetric)
        self._box = max(1, int(round(lookahead_s * sample_rate / 2)))
        attack = 2 * (self._box - 1)
        self._hold = max(0, int(round(hold_s * sample_rate)))
        self._window = attack + 2 * self._hold + 1
        self.latency = detector_delay + attack + self._hold
        """Frames between input and output."""
        self._release = release_db_per_s / sample_rate
        # carried state
        self._sample_history = np.zeros(detector_delay)
        self._x_delay = np.zeros(self.latency)
        self._needed_history = np.zeros(self._window - 1)
        self._gain_prev = 0.0
        self._box_history = [np.zeros(self._box - 1), np.zeros(self._box - 1)]
        self.max_reduction_db = 0.0
        """The deepest the gain went, in dB (<= 0)."""
        self._level_delay = np.full(attack + self._hold, -np.inf)
        self._peak_out = 0.0
        self.max_output_db = -np.inf
        """The highest output level (true peak when ``true_peak``): the
        detector's level of each sample plus the gain it got."""
        self.reduced_frames = 0
        """How many output frames were turned down by more than 0.1 dB."""

    def _levels(self, x: np.ndarray) -> np.ndarray:
        """The detector's linear level of each sample."""
        if self._detector is None:
            peak = np.abs(x)
        else:
            # blocks that can reach neither the ceiling nor the highest output
            # peak so far are not oversampled: they need no gain and cannot
            # change the maximum
            peak = self._detector.envelope(x, floor=min(self._active_above, self._peak_out))
            # the detector lags by its delay (+1 for the neighbour row); the
            # sample itself is a peak candidate too, delayed to match
            lagged = np.concatenate([self._sample_history, np.abs(x)])
            self._sample_history = lagged[len(x) :]
            peak = np.maximum(peak, lagged[: len(x)])
        return peak

    def _box_filter(self, values: np.ndarray, which: int) -> np.ndarray:
        """Trailing moving average of length ``self._box`` with carried history."""
        if self._box == 1:
            return values
        extended = np.concatenate([self._box_history[which], values])
        self._box_history[which] = extended[len(values) :]
        sums = np.cumsum(np.concatenate([[0.0], extended]))
        return (sums[self._box :] - sums[: len(sums) - self._box]) / self._box

    def _idle(self) -> bool:
        return (
            self._gain_prev == 0.0
            and not np.any(self._needed_history)
            and not np.any(self._box_history[0])
            and not np.any(self._box_history[1])
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        """Gain-processed audio, ``latency`` frames behind the input (float32)."""
        x = np.asarray(block, dtype=np.float64)
        n = len(x)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        peaks = self._levels(x)
        tail = len(self._level_delay)
        if n > tail and float(np.max(peaks)) < self._quiet_below and self._idle():
            # nothing needs turning down and nothing is recovering: the output
            # is the delayed input, as on the full path below; only the
            # levels still in the delay line need their logarithm
            head = float(np.max(peaks[: n - tail]))
            self._track_output(np.array([np.max(self._level_delay, initial=-np.inf), 20.0 * np.log10(max(head, _TINY))]))
            self._level_delay = 20.0 * np.log10(np.maximum(peaks[n - tail :], _TINY))
            self._needed_history = np.zeros(self._window - 1)
            delayed = np.concatenate([self._x_delay, x])
            self._x_delay = delayed[n:]
            return delayed[:n].astype(np.float32)
        levels = 20.0 * np.log10(np.maximum(peaks, _TINY))
        if self._quiet_below > 0.0 and self._box > 1:
            return self._process_sparse(x, peaks, levels)
        needed = self._gain_db_for(levels)
        # the level of each output sample: its detector level, from attack + hold earlier
        aligned = np.concatenate([self._level_delay, levels])
        self._level_delay = aligned[n:]
        aligned = aligned[:n]
        if self._idle() and not np.any(needed):
            # nothing to turn down and nothing still recovering: the output
            # is the delayed input, exactly what the full path would give
            self._needed_history = np.zeros(self._window - 1)
            delayed = np.concatenate([self._x_delay, x])
            self._x_delay = delayed[n:]
            self._track_output(aligned)
            return delayed[:n].astype(np.float32)
        # 3. hold: minimum over a trailing window of self._window values
        extended = np.concatenate([self._needed_history, needed])
        self._needed_history = extended[n:]
        held = sliding_min(extended, self._window)
        # 4. release: g[k] = min(0, held[k], g[k-1] + release)
        ramp = np.arange(n) * self._release
        recovered = np.minimum(np.minimum.accumulate(held - ramp), self._gain_prev + self._release)
        gain = np.minimum(0.0, recovered + ramp)
        self._gain_prev = float(gain[-1])
        # 5. smoothing: triangle = box * box
        smooth = self._box_filter(self._box_filter(gain, 0), 1)
        delayed = np.concatenate([self._x_delay, x])
        self._x_delay = delayed[n:]
        self.max_reduction_db = min(self.max_reduction_db, float(np.min(smooth)))
        self.reduced_frames += int(np.count_nonzero(smooth < -0.1))
        self._track_output(aligned + smooth)
        return (delayed[:n] * 10.0 ** (smooth / 20.0)).astype(np.float32)

    def _process_sparse(self, x: np.ndarray, peaks: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """:meth:`process`'s full path, computed only where the gain can be
        other than 0 dB: the same operations on the same values, so the
        same output to the bit, and the same reported levels.

        A gain computer that names the level below which it asks for
        nothing (``quiet_below_db``) leaves every other sample at exactly
        0 dB, and the stages after it keep exact zeros where their input
        is zero: the hold is a minimum, the release a running minimum
        plus a ramp that comes back to exactly 0 dB once the deepest gain
        has recovered (checked, not assumed: a stretch is extended until
        it has), and the box filters' running sums stay unchanged over
        zeros (each stretch's sum starts from the total before it, as one
        sum over the whole block would). A phrase of speech needs a gain
        on ~7 % of its samples and ~45 % of its length (recoveries
        included): levelling session.vg's 22 phrases took 0.25 s of CPU
        on the full path (``tame_peaks``, one block per phrase)."""
        n = len(x)
        window, box = self._window, self._box
        # 2. gain computer: only where a level may need one; elsewhere exactly 0 dB.
        # The arrays below carry their history in front (one allocation, no copy of the block)
        extended = np.zeros(window - 1 + n)
        extended[: window - 1] = self._needed_history
        loud = np.flatnonzero(peaks >= self._quiet_below)
        if len(loud):
            extended[window - 1 + loud] = self._gain_db_for(levels[loud])
        self._needed_history = extended[n:].copy()
        # 3. hold: held[i] = min(extended[i : i + window]), nonzero only near a nonzero
        held = np.zeros(n)
        holds = _merged((max(0, a - window + 1), min(n, b + 1)) for a, b in _runs(np.flatnonzero(extended), window))
        for lo, hi in holds:
            held[lo:hi] = sliding_min(extended[lo : hi + window - 1], window)
        # 4. release, stretch by stretch: g[k] = min(0, min(M[k], c) + k * rate),
        # M[k] the running minimum of held[j] - j * rate (over zeros: -j * rate)
        rate = self._release
        start_gain = self._gain_prev + rate
        deepest = max(0.0, -float(np.min(held)) if len(holds) else 0.0, -start_gain)
        reach = int(math.ceil(deepest / rate)) + 2  # recovery from the deepest gain, and a margin
        wanted = [(0, min(n, reach))] if start_gain < 0 else []
        wanted = _merged([*wanted, *((lo, min(n, hi + reach)) for lo, hi in holds)])
        gains_ext = np.zeros(box - 1 + n)  # the first box filter's history, then the gain
        gains_ext[: box - 1] = self._box_history[0]
        gain = gains_ext[box - 1 :]
        gains: list[tuple[int, int]] = []
        running = np.inf
        done = 0
        for s, e in wanted:
            s = max(s, done)
            while s < e:
                before = min(running, -((s - 1) * rate)) if s > 0 else np.inf
                ramp = np.arange(s, e) * rate
                lowest = np.minimum(np.minimum.accumulate(held[s:e] - ramp), before)
                gain[s:e] = np.minimum(0.0, np.minimum(lowest, start_gain) + ramp)
                running = float(lowest[-1])
                gains.append((s, e))
                done = e
                # recovered (a zero gain on a zero hold): every later gain is 0 up to the next hold
                if e >= n or (held[e - 1] == 0.0 and gain[e - 1] == 0.0):
                    break
                s, e = e, min(n, e + reach)
        self._gain_prev = float(gain[-1])
        # 5. smoothing: triangle = box * box
        once_ext = np.zeros(box - 1 + n)
        once_ext[: box - 1] = self._box_history[1]
        spans = self._box_sparse(gains_ext, _merged(gains), once_ext[box - 1 :])
        self._box_history[0] = gains_ext[n:].copy()
        smooth = np.zeros(n)
        spans = self._box_sparse(once_ext, spans, smooth)
        self._box_history[1] = once_ext[n:].copy()
        self.max_reduction_db = min(self.max_reduction_db, float(np.min(smooth)))
        self.reduced_frames += int(np.count_nonzero(smooth < -0.1))
        # the level of each output sample: its detector level, from attack + hold earlier
        tail = len(self._level_delay)
        if n >= tail:
            top = np.max(levels[: n - tail] + smooth[tail:], initial=-np.inf)
            self._track_output(np.array([np.max(self._level_delay + smooth[:tail], initial=-np.inf), top]))
            self._level_delay = levels[n - tail :].copy()
        else:
            aligned = np.concatenate([self._level_delay, levels])
            self._track_output(aligned[:n] + smooth)
            self._level_delay = aligned[n:]
        # the output: the input, delayed, and turned down where the gain is
        held_back = len(self._x_delay)
        out = np.empty(n, dtype=np.float32)
        if n >= held_back:
            out[:held_back] = self._x_delay
            out[held_back:] = x[: n - held_back]
            delayed = self._x_delay, x
            self._x_delay = x[n - held_back :].copy()
        else:
            whole = np.concatenate([self._x_delay, x])
            out[:] = whole[:n]
            delayed = whole[:n], x[:0]
            self._x_delay = whole[n:]
        for p, q in spans:
            out[p:q] = _joined(*delayed, p, q) * 10.0 ** (smooth[p:q] / 20.0)
        return out

    def _box_sparse(self, extended: np.ndarray, ranges: list[tuple[int, int]], out: np.ndarray) -> list[tuple[int, int]]:
        """:meth:`_box_filter` into ``out`` (zeros) of ``extended`` (its history,
        then values that are 0 outside ``ranges``), computed only where the
        average can be nonzero; returns those stretches. Each stretch's
        running sum starts from the total of everything before it (zeros
        leave a sum as it is), so the sums are the whole block's, to the bit."""
        box, n = self._box, len(out)
        # out[i] averages extended[i : i + box]: nonzero only next to a nonzero
        sources = ([(0, box - 1)] if np.any(extended[: box - 1]) else []) + [(s + box - 1, e + box - 1) for s, e in ranges]
        spans = _merged((max(0, a - box + 1), min(n, b)) for a, b in sources)
        total = 0.0
        for p, q in spans:
            sums = np.cumsum(np.concatenate([[total], extended[p : q + box - 1]]))
            out[p:q] = (sums[box:] - sums[: q - p]) / box
            total = float(sums[-1])
        return spans

    def _track_output(self, output_db: np.ndarray) -> None:
        if len(output_db):
            self.max_output_db = max(self.max_output_db, float(np.max(output_db)))
            self._peak_out = 10 ** (self.max_output_db / 20)

    def flush(self) -> np.ndarray:
        """The last ``latency`` frames (pushes silence through)."""
        return self.process(np.zeros(self.latency)) if self.latency else np.zeros(0, dtype=np.float32)

    def stream(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Process ``blocks``; yields exactly as many frames as came in."""
        skip = self.latency
        for block in blocks:
            out = self.process(block)
            if skip:
                dropped = min(skip, len(out))
                out, skip = out[dropped:], skip - dropped
            if len(out):
                yield out
        tail = self.flush()
        if skip < len(tail):
            yield tail[skip:]


def tame_peaks(
    samples: np.ndarray,
    sample_rate: int,
    threshold_dbfs: float,
    *,
    ratio: float = 3.0,
    knee_db: float = 6.0,
    lookahead_s: float = 0.004,
    hold_s: float = 0.004,
    release_db_per_s: float = 60.0,
) -> tuple[np.ndarray, float]:
    """Soft-knee peak compression of one phrase (or clip).

    Returns the compressed samples (float32, same length) and the deepest
    gain reduction in dB (<= 0). Only peaks near and above
    ``threshold_dbfs`` are touched; the look-ahead has the gain down before
    each peak, so the compressor adds no overshoot and no click.
    """
    stage = LookaheadGain(
        sample_rate,
        soft_knee_gain(threshold_dbfs, ratio, knee_db),
        lookahead_s=lookahead_s,
        hold_s=hold_s,
        release_db_per_s=release_db_per_s,
    )
    out = np.concatenate(list(stage.stream([samples]))) if len(samples) else np.zeros(0, dtype=np.float32)
    return out.astype(np.float32), stage.max_reduction_db
