"""Stage 3, level: every phrase (and clip) made ready for the mix, one at a
time (run by :class:`voiceguide.session.Phrases`).

The path of a phrase, in order:

1. **trim** leading and trailing near-silence (below ``SILENCE_DBFS``),
   keeping a 20 ms margin;
2. **release**: espeak stops a phrase dead, often while still loud (the
   last 20 ms within 1-10 dB of the speaking level, then digital zero in
   about 5 ms), so the end sounds cut off. The last ``RELEASE_S`` of the
   speech decay linearly in dB down to ``RELEASE_DEPTH_DB`` (a natural
   voice decays over about 80 ms), and ``TAIL_S`` of silence follows;
3. **edge fades** of ``EDGE_FADE_S`` (raised cosine) kill clicks;
4. **peak taming**: peaks more than ``PEAK_THRESHOLD_ABOVE_RMS_DB`` above
   the phrase's speaking level are compressed 3:1 with a soft knee
   (:func:`voiceguide.dsp.dynamics.tame_peaks`): espeak's crest factor
   drops from about 17 dB to 14, so an export reaches its loudness with
   little work left for the true-peak limiter;
5. **gain** to the voice level of the mix (RMS while speaking);
6. **resample** to the mix rate (soxr, band-limited). Last, so the work
   before it runs on the engine's samples (22.05 kHz for espeak: half of
   a 44.1 kHz mix); the export's limiter sees the resampled peaks.

:func:`vowel_onset_s` finds where the vowel of a short word starts, so a
spoken count can be placed with its vowel on the beat (a listener hears the
vowel, not the consonant before it, as the moment of the count).
"""

from __future__ import annotations

import math

import numpy as np

from ..audio import Audio, active_rms, apply_fades, db_to_gain, gain_to_db, resample, trim_silence
from .dynamics import tame_peaks

EDGE_FADE_S = 0.008
"""Fade on every phrase and clip edge: enough to kill clicks, too short to hear."""
RELEASE_S = 0.06
"""How long the end of a phrase takes to decay."""
RELEASE_DEPTH_DB = 40.0
"""How far it decays over RELEASE_S (linear in dB, as a natural voice does)."""
TAIL_S = 0.04
"""Silence after the release (part of the phrase, so gaps are measured from it)."""
RELEASE_FLOOR_DB = -35.0
"""A phrase ends at its last 10 ms frame within this of its speaking level."""
PEAK_THRESHOLD_ABOVE_RMS_DB = 8.0
ONSET_LOW_HZ = 150.0
ONSET_HIGH_HZ = 5000.0
ONSET_BANDS = 8
"""The spectral profile for finding a vowel: 8 bands, evenly spaced in
log frequency from 150 Hz to 5 kHz (the first three formants)."""
PROFILE_FLOOR_DB = -30.0
ONSET_FLOOR_DB = 8.0
STEADY_DB = 1.0
STEADY_S = 0.04
"""A window starts the vowel when it is within 8 dB of the word's loudest
and its profile changes by at most 1 dB per band (on average) over the
next 40 ms."""


def level_voice(audio: Audio, sample_rate: int, voice_rms_dbfs: float, peak_dbfs: float, *, natural_end: bool = False) -> Audio:
    """A phrase as the engine made it -> ready to mix at ``sample_rate``:
    trimmed, released, faded, peaks tamed, levelled to ``voice_rms_dbfs``
    while speaking (no peak above ``peak_dbfs - 1.5``) and resampled; its
    length is :func:`voice_frames` exactly. ``natural_end``: see :func:`shape`."""
    shaped = shape(audio, natural_end=natural_end)
    levelled = level_clip(Audio(shaped, audio.sample_rate), voice_rms_dbfs, peak_dbfs).samples
    step = _resample_step(audio.sample_rate, sample_rate)
    padded = np.concatenate([levelled, np.zeros(-len(levelled) % step, dtype=np.float32)])
    out = resample(Audio(padded, audio.sample_rate), sample_rate).samples
    frames = voice_frames(len(shaped), audio.sample_rate, sample_rate)
    exact = np.zeros(frames, dtype=np.float32)  # the tail stays digital silence
    exact[: min(len(out), frames)] = out[:frames]
    return Audio(exact, sample_rate)


def shape(audio: Audio, *, natural_end: bool = False) -> np.ndarray:
    """The phrase trimmed and released (steps 1 and 2), at the engine's rate.
    ``natural_end``: a person's recording, trimmed already and ending with
    its own release (a voice pack's), is left as it is."""
    if natural_end:
        return np.asarray(audio.samples, dtype=np.float32)
    return release(trim_silence(audio.samples, audio.sample_rate), audio.sample_rate, tail_s=0.0)


PHRASE_GRID_S = 0.02
"""Every phrase is padded to a whole number of these before its tail: 20 ms
is a whole number of frames at every mix rate (``rules.SAMPLE_RATES`` are
all multiples of 50 Hz), so a phrase lasts the same to the sample at every
rate and a session plans the same for ``show``, a WAV and a 32 kHz MP3."""


def _resample_step(from_rate: int, to_rate: int) -> int:
    """Input frames the phrase is padded to a whole number of: 20 ms
    (``PHRASE_GRID_S``) where both rates hold it in whole frames, else the
    fewest frames that resample to a whole number of output frames."""
    grid = from_rate * PHRASE_GRID_S
    if grid == int(grid) and (to_rate * PHRASE_GRID_S) == int(to_rate * PHRASE_GRID_S):
        return int(grid)
    return from_rate // math.gcd(from_rate, to_rate)


def voice_frames(shaped_frames: int, from_rate: int, to_rate: int) -> int:
    """The length at ``to_rate`` of a phrase whose shaped length is
    ``shaped_frames`` at ``from_rate``: padded to a whole resampling step
    (20 ms where the rates allow, see ``PHRASE_GRID_S``; resampling then has
    no rounding to do), resampled, plus TAIL_S. Known without levelling, so
    a session can be planned before its phrases are levelled."""
    step = _resample_step(from_rate, to_rate)
    padded = -(-shaped_frames // step) * step
    return padded * to_rate // from_rate + int(TAIL_S * to_rate)


def release(samples: np.ndarray, sample_rate: int, tail_s: float = TAIL_S) -> np.ndarray:
    """End the speech with a natural decay (see the module notes): the last
    ``RELEASE_S`` before its last loud frame fall to -``RELEASE_DEPTH_DB``,
    then ``tail_s`` of silence."""
    frame = max(1, sample_rate // 100)
    usable = len(samples) // frame * frame
    if usable == 0:
        return np.asarray(samples, dtype=np.float32)
    power = np.mean(np.square(samples[:usable].reshape(-1, frame), dtype=np.float64), axis=1)
    speaking = active_rms(samples, sample_rate)
    if speaking <= 0:
        return np.asarray(samples, dtype=np.float32)
    loud = np.flatnonzero(power > (speaking * db_to_gain(RELEASE_FLOOR_DB)) ** 2)
    end = min(len(samples), (int(loud[-1]) + 1) * frame) if len(loud) else len(samples)
    length = min(end, int(RELEASE_S * sample_rate))
    out = np.zeros(end + int(tail_s * sample_rate), dtype=np.float32)
    out[:end] = samples[:end]
    decay_db = -RELEASE_DEPTH_DB * (np.arange(1, length + 1) / length)
    out[end - length : end] *= (10.0 ** (decay_db / 20.0)).astype(np.float32)
    return out


def level_clip(audio: Audio, voice_rms_dbfs: float, peak_dbfs: float) -> Audio:
    """Fade the edges, tame the sharpest peaks and bring ``audio`` to the voice level."""
    rate = audio.sample_rate
    samples = apply_fades(audio.samples, int(EDGE_FADE_S * rate), int(EDGE_FADE_S * rate))
    rms = active_rms(samples, rate)
    if rms > 0:
        samples, _ = tame_peaks(samples, rate, gain_to_db(rms) + PEAK_THRESHOLD_ABOVE_RMS_DB)
        rms = active_rms(samples, rate)
    if rms > 0:
        gain = db_to_gain(voice_rms_dbfs) / rms
        peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
        headroom = db_to_gain(peak_dbfs - 1.5)
        if peak * gain > headroom:
            gain = headroom / peak
        samples = samples * gain
    return Audio(samples.astype(np.float32), rate)


def vowel_onset_s(audio: Audio) -> float:
    """Seconds from the start of ``audio`` (a short word) to its vowel.

    A vowel is loud and holds its spectrum still; the consonants before it
    are either quieter or moving. Every 20 ms window (hopped by 5 ms) gets a
    spectral profile: its energy in ``ONSET_BANDS`` bands from 150 Hz to
    5 kHz relative to its own total, each floored at ``PROFILE_FLOOR_DB``
    (a deep valley between formants is noise, not shape). The vowel starts
    at the first window that is within ``ONSET_FLOOR_DB`` of the word's
    loudest and whose profile stays within ``STEADY_DB`` (mean absolute
    difference per band) over the next ``STEADY_S``. Loudness alone took
    the voiced [r] of "drie" (nearly as loud as its vowel) for the vowel
    and put the count's vowel over 100 ms late; the [r] glides into the
    vowel, so it is never steady. Measured against espeak-ng's own phoneme
    events for the counts in Dutch and English, on levelled phrases: within
    42 ms ("drie"; the others within 22 ms).
    """
    rate = audio.sample_rate
    hop = max(1, int(0.005 * rate))
    window = 4 * hop
    samples = np.asarray(audio.samples, dtype=np.float64)
    if len(samples) < window:
        return 0.0
    starts = np.arange(0, len(samples) - window + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(samples, window)[starts] * np.hanning(window)
    spectrum = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(window, 1 / rate)
    edges = np.geomspace(ONSET_LOW_HZ, ONSET_HIGH_HZ, ONSET_BANDS + 1)
    bands = np.stack(
        [spectrum[:, (freqs >= low) & (freqs < high)].sum(axis=1) for low, high in zip(edges[:-1], edges[1:])], axis=1
    )
    total = bands.sum(axis=1)
    if not np.any(total > 0):
        return 0.0
    level_db = 10 * np.log10(total + 1e-20)
    level_db -= level_db.max()
    profile = np.maximum(10 * np.log10(bands + 1e-20) - 10 * np.log10(total + 1e-20)[:, None], PROFILE_FLOOR_DB)
    ahead = max(1, int(round(STEADY_S / (hop / rate))))
    change = np.full(len(profile), np.inf)
    for index in range(len(profile) - ahead):
        change[index] = np.abs(profile[index + 1 : index + ahead + 1] - profile[index]).mean()
    vowel = (level_db >= -ONSET_FLOOR_DB) & (change <= STEADY_DB)
    if not np.any(vowel):
        return float(starts[int(np.argmax(level_db))] / rate)
    return float(starts[int(np.argmax(vowel))] / rate)
