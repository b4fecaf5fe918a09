"""Breath cues, bells and the closing chime, made with numpy (the sounds
stage 5, the mix, places; stage 4, the plan, reads how long a bell and the
chime ring, so they live here, below both).

Tones are memoised and returned read-only: a session repeats the same
inhale, exhale and bell many times. Every tone starts and ends on a raised-cosine ramp (no clicks) and keeps a
continuous phase through its glide. Levels are RMS in dBFS over the sounding
part, so the mixer can place cues a fixed number of dB under the voice.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..audio import apply_fades, db_to_gain

INHALE_HZ = (196.0, 293.7)  # G3 up to D4: a rising fifth
EXHALE_HZ = (293.7, 196.0)
HOLD_HZ = 293.7
BELL_HZ = 392.0
CHIME_HZ = (523.3, 392.0, 329.6)  # C5, G4, E4: a soft descending arpeggio
CHIME_NOTE_S = 0.6
"""Time between the chime's notes."""
CHIME_DECAY_SCALE = 0.6
"""The chime's notes ring shorter than the bell (decay times x 0.6)."""
RING_OUT_DB = 42.0
"""A bell or chime event lasts until its partials have decayed this far:
it rings out naturally and is never cut while still audible."""

# Partials of a small bowl-like bell: (frequency ratio, relative amplitude,
# decay time constant in seconds). The ratios are inharmonic on purpose.
BELL_PARTIALS = (
    (0.5, 0.35, 3.0),
    (1.0, 1.0, 2.4),
    (1.183, 0.45, 1.6),
    (1.506, 0.3, 1.3),
    (2.0, 0.25, 1.0),
    (2.514, 0.18, 0.7),
    (3.011, 0.1, 0.5),
)


def _normalise_rms(samples: np.ndarray, rms_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms == 0.0:
        return samples.astype(np.float32)
    return (samples * (db_to_gain(rms_dbfs) / rms)).astype(np.float32)


def _frozen(samples: np.ndarray) -> np.ndarray:
    samples.flags.writeable = False
    return samples


@lru_cache(maxsize=64)
def glide(
    duration_s: float, start_hz: float, end_hz: float, sample_rate: int, rms_dbfs: float, swell_s: float = 0.35
) -> np.ndarray:
    """A soft tone gliding exponentially from ``start_hz`` to ``end_hz``.

    The phase is the running integral of the frequency, so the glide is
    smooth; a little second and third harmonic make it warm rather than pure.
    Amplitude swells in and out over ``swell_s`` (raised cosine).
    """
    n = int(round(duration_s * sample_rate))
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    t = np.arange(n) / n
    freq = start_hz * (end_hz / start_hz) ** t
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    wave = np.sin(phase) + 0.18 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
    ramp = min(int(swell_s * sample_rate), n // 2)
    return _frozen(_normalise_rms(apply_fades(wave, ramp, ramp), rms_dbfs))


def inhale(duration_s: float, sample_rate: int, rms_dbfs: float) -> np.ndarray:
    """Rising cue for breathing in."""
    return glide(duration_s, *INHALE_HZ, sample_rate, rms_dbfs)


def exhale(duration_s: float, sample_rate: int, rms_dbfs: float) -> np.ndarray:
    """Falling cue for breathing out."""
    return glide(duration_s, *EXHALE_HZ, sample_rate, rms_dbfs)


def hold(duration_s: float, sample_rate: int, rms_dbfs: float, soft: bool = True) -> np.ndarray:
    """A very quiet steady note (or silence) while the breath is held."""
    n = int(round(duration_s * sample_rate))
    if not soft or n == 0:
        return _frozen(np.zeros(n, dtype=np.float32))
    return glide(duration_s, HOLD_HZ, HOLD_HZ, sample_rate, rms_dbfs - 8.0, swell_s=0.25)


def ring_out_s(decay_scale: float = 1.0) -> float:
    """How long a bell (its decay times scaled by ``decay_scale``) takes to
    decay RING_OUT_DB: ``tau * ln(10^(dB/20))`` for its slowest partial."""
    slowest = max(decay_s for _, _, decay_s in BELL_PARTIALS) * decay_scale
    return slowest * float(np.log(10 ** (RING_OUT_DB / 20)))


BELL_S = ring_out_s()
"""A bell's natural length (it rings on under what follows it)."""
CHIME_S = (len(CHIME_HZ) - 1) * CHIME_NOTE_S + ring_out_s(CHIME_DECAY_SCALE)
"""The closing chime's natural length, its last note rung out."""


@lru_cache(maxsize=16)
def bell(
    duration_s: float, sample_rate: int, rms_dbfs: float, fundamental_hz: float = BELL_HZ, decay_scale: float = 1.0
) -> np.ndarray:
    """A struck bell: inharmonic partials, each decaying exponentially.

    ``rms_dbfs`` is the level over the first second, where the bell is heard.
    Given at least its :func:`ring_out_s`, it ends more than 40 dB under its
    attack; the last 10 ms only guard against a click.
    """
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    wave = np.zeros(n)
    for ratio, amplitude, decay_s in BELL_PARTIALS:
        wave += amplitude * np.exp(-t / (decay_s * decay_scale)) * np.sin(2 * np.pi * fundamental_hz * ratio * t)
    wave = apply_fades(wave, int(0.004 * sample_rate), int(0.01 * sample_rate))
    head = wave[:sample_rate]
    rms = float(np.sqrt(np.mean(np.square(head, dtype=np.float64)))) or 1.0
    return _frozen((wave * (db_to_gain(rms_dbfs) / rms)).astype(np.float32))


@lru_cache(maxsize=4)
def chime(duration_s: float, sample_rate: int, rms_dbfs: float) -> np.ndarray:
    """The closing chime: three soft bell notes, falling, 0.6 s apart, each
    ringing out (give it :data:`CHIME_S`)."""
    n = int(round(duration_s * sample_rate))
    out = np.zeros(n, dtype=np.float32)
    for index, freq in enumerate(CHIME_HZ):
        offset = int(index * CHIME_NOTE_S * sample_rate)
        if offset >= n:
            break
        note = bell(
            duration_s - index * CHIME_NOTE_S,
            sample_rate,
            rms_dbfs - 3.0 * index,
            fundamental_hz=freq,
            decay_scale=CHIME_DECAY_SCALE,
        )
        out[offset : offset + len(note)] += note[: n - offset]
    return _frozen(out)
