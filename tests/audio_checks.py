"""Measurements on real audio, shared by the tests."""

from __future__ import annotations

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
