"""Measurements on real audio, shared by the tests."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.signal import butter, sosfilt


def span(samples: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> np.ndarray:
    return samples[max(0, int(round(start_s * sample_rate))) : max(0, int(round(end_s * sample_rate)))]


def rms_dbfs(samples: np.ndarray) -> float:
    if len(samples) == 0:
        return -np.inf
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(max(rms, 1e-10))


def peak_dbfs(samples: np.ndarray) -> float:
    return 20 * np.log10(max(float(np.max(np.abs(samples))), 1e-10))


def dominant_hz(samples: np.ndarray, sample_rate: int, low_hz: float = 120, high_hz: float = 1000) -> float:
    """The strongest frequency between low_hz and high_hz (Hann window, 8x zero padding)."""
    n = len(samples)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(n), 8 * n))
    freqs = np.fft.rfftfreq(8 * n, 1 / sample_rate)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    return float(freqs[band][np.argmax(spectrum[band])])


def high_band_dbfs(samples: np.ndarray, sample_rate: int, cutoff_hz: float = 12_000) -> np.ndarray:
    """The signal above cutoff_hz: voice (synthesized at 22.05 kHz) and cues
    have nothing there, so energy in this band reveals clicks."""
    sos = butter(8, cutoff_hz, "highpass", fs=sample_rate, output="sos")
    return sosfilt(sos, samples.astype(np.float64))


def voice_activity(path, session, frame_s: float = 0.1, below_voice_db: float = 35.0) -> np.ndarray:
    """Per ``frame_s`` frame of an exported file (WAV, at the session's rate):
    whether a voice sounds in it. The voice is separated from everything else
    by subtracting the re-rendered session without its voice (tones, bells,
    chime), scaled by the export's gain (least squares over the file); a
    frame is voiced where what is left comes within ``below_voice_db`` of the
    voice's own level (-19 LUFS is about -21 dBFS RMS)."""
    import soundfile as sf

    from voiceguide.mix.mixer import Mixer
    from voiceguide.plan.timeline import VOICE_KINDS

    timeline = session.timeline
    others = replace(timeline, events=tuple(e for e in timeline.events if e.kind not in VOICE_KINDS))
    mixer = session.mixer
    tones = Mixer(others, {}, mixer.clips, mixer.settings)
    info = sf.info(str(path))
    assert info.samplerate == tones.sample_rate and info.channels == 1
    frame = int(frame_s * info.samplerate)
    block = frame * 16

    def pairs():
        start = 0
        for samples in sf.blocks(str(path), blocksize=block, dtype="float32"):
            yield samples.astype(np.float64), tones.render(start, len(samples)).astype(np.float64)
            start += len(samples)

    cross = power = 0.0
    for heard, made in pairs():
        cross += float(np.dot(heard, made))
        power += float(np.dot(made, made))
    gain = cross / power if power > 0 else 0.0
    levels = []
    for heard, made in pairs():
        left = heard - gain * made
        usable = len(left) // frame * frame
        levels.append(np.sqrt(np.mean(np.square(left[:usable]).reshape(-1, frame), axis=1)))
    rms = np.concatenate(levels)
    return 20 * np.log10(np.maximum(rms, 1e-10)) > -21.0 - below_voice_db


def longest_run_s(active: np.ndarray, frame_s: float = 0.1) -> float:
    """The longest run of frames where ``active`` is False, in seconds."""
    longest = run = 0
    for value in active:
        run = 0 if value else run + 1
        longest = max(longest, run)
    return longest * frame_s


def voice_residual(samples: np.ndarray, session) -> np.ndarray:
    """The voice alone in an export of ``session`` (mono, at the session's
    rate): the file minus the re-rendered session without its voice, scaled
    by the export's gain (least squares)."""
    from voiceguide.mix.mixer import Mixer
    from voiceguide.plan.timeline import VOICE_KINDS

    timeline = session.timeline
    others = replace(timeline, events=tuple(e for e in timeline.events if e.kind not in VOICE_KINDS))
    made = Mixer(others, {}, session.mixer.clips, session.mixer.settings).render_all().astype(np.float64)
    heard = np.asarray(samples, dtype=np.float64)[: len(made)]
    made = made[: len(heard)]
    gain = float(np.dot(heard, made) / max(np.dot(made, made), 1e-20))
    return heard - gain * made


def frame_dbfs(samples: np.ndarray, sample_rate: int, frame_s: float = 0.01) -> np.ndarray:
    """RMS in dBFS per ``frame_s`` frame."""
    frame = max(1, int(frame_s * sample_rate))
    usable = len(samples) // frame * frame
    power = np.mean(np.square(np.asarray(samples[:usable], dtype=np.float64)).reshape(-1, frame), axis=1)
    return 10 * np.log10(np.maximum(power, 1e-20))
