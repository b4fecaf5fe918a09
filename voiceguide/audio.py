"""Small audio value type and the signal helpers every stage shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

SILENCE_DBFS = -50.0


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono float32 samples in [-1, 1] together with their sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True, eq=False)
class Blocks:
    """A stream of audio: mono float32 blocks in order, with their sample
    rate and how many frames they make in all (what sinks consume)."""

    sample_rate: int
    frames: int
    blocks: Iterable[np.ndarray]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.blocks)

    def map(self, change: Callable[[np.ndarray], np.ndarray]) -> Blocks:
        """The same stream with ``change`` applied to every block (same lengths)."""
        return Blocks(self.sample_rate, self.frames, (change(block) for block in self.blocks))


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) as little-endian 16-bit integers:
    scaled by 32768 in their own float type (exact: a power of two),
    rounded to the nearest step (half to even) and clipped. The grid the
    phrase cache keeps and the 16-bit writers and encoders take."""
    scaled = np.asarray(samples, dtype=np.result_type(samples, np.float32)) * 32768.0
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype("<i2")


def quantize(audio: Audio) -> Audio:
    """``audio`` on the 16-bit grid (what the phrase cache stores), so audio
    made now and audio read back from the cache are the same samples."""
    return Audio(to_pcm16(audio.samples).astype(np.float32) / np.float32(32768.0), audio.sample_rate)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    return float(20.0 * np.log10(max(gain, 1e-12)))


def resample(audio: Audio, sample_rate: int) -> Audio:
    """Band-limited resampling with the SoX resampler (soxr, "HQ"), never
    linear interpolation. soxr imports in milliseconds, where scipy.signal
    takes seconds: that matters for the first sample of live playback."""
    if audio.sample_rate == sample_rate:
        return audio
    import soxr

    samples = soxr.resample(audio.samples.astype(np.float32), audio.sample_rate, sample_rate, quality="HQ")
    return Audio(np.asarray(samples, dtype=np.float32), sample_rate)


def raised_cosine(n: int) -> np.ndarray:
    """A ramp from 0 to 1 over ``n`` samples (half a Hann window)."""
    if n <= 0:
        return np.ones(0, dtype=np.float32)
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def apply_fades(samples: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    """Raised-cosine fade in and out, in place-safe (returns a new array)."""
    out = np.array(samples, dtype=np.float32, copy=True)
    fade_in = min(fade_in, len(out))
    fade_out = min(fade_out, len(out))
    if fade_in:
        out[:fade_in] *= raised_cosine(fade_in)
    if fade_out:
        out[len(out) - fade_out :] *= raised_cosine(fade_out)[::-1]
    return out


def active_rms(samples: np.ndarray, sample_rate: int, threshold_dbfs: float = -40.0) -> float:
    """RMS over the 20 ms frames that are louder than ``threshold_dbfs``
    (the level of the voice while it speaks, not diluted by its pauses)."""
    frame = max(1, sample_rate // 50)
    usable = len(samples) // frame * frame
    if usable == 0:
        return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    power = np.mean(np.square(samples[:usable].reshape(-1, frame), dtype=np.float64), axis=1)
    loud = power[power > 10 ** (threshold_dbfs / 10)]
    if len(loud) == 0:
        return float(np.sqrt(np.mean(power)))
    return float(np.sqrt(np.mean(loud)))


def silence_before(samples: np.ndarray, sample_rate: int, margin_s: float = 0.02) -> int:
    """The samples :func:`trim_silence` cuts from the start of ``samples``."""
    loud = np.flatnonzero(np.abs(samples) > db_to_gain(SILENCE_DBFS))
    return max(0, int(loud[0]) - int(margin_s * sample_rate)) if len(loud) else 0


def trim_silence(samples: np.ndarray, sample_rate: int, margin_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping a short margin."""
    threshold = db_to_gain(SILENCE_DBFS)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if len(loud) == 0:
        return samples[:0]
    margin = int(margin_s * sample_rate)
    return samples[max(0, loud[0] - margin) : min(len(samples), loud[-1] + 1 + margin)]
