"""Where the vowel of an English count word begins, measured on its audio.

The truth a Piper voice's count placement is held to, independent of the
engine (which places counts by its network's durations, see
``voiceguide.speech.piper_phonemes.vowel_index``) and of the espeak-tuned finder
``voiceguide.dsp.level.vowel_onset_s``: phonetic landmarks of the words'
openings, read from the audio with nothing fitted to either.

- after a voiceless consonant (two, four, five, six, seven, ten: [t f s]) or
  none (eight), the vowel begins where the voice begins: the first 20 ms
  window that is periodic (autocorrelation >= 0.4 at a pitch of 70-400 Hz)
  and within 15 dB of the word's loudest;
- after a voiced consonant the vowel begins halfway through the formant
  transition into it (the usual segmentation of an approximant and a
  vowel): where the energy in the band of the formant that moves most
  crosses halfway (in dB) from its lowest (in the consonant) to its
  highest (in the vowel). "one" opens with [w], whose second formant is low (about 800
  Hz): the band is 1-2 kHz (the vowel's F2); "three" opens with [θɹ], the
  [ɹ] voiced, loud and steady with a low third formant: 2-3.5 kHz (F3 of
  [i:]); "nine" opens with the nasal [n]: 400 Hz-1 kHz (the vowel's F1).
"""

from __future__ import annotations

import numpy as np

FORMANT_BANDS = {"one": (1000.0, 2000.0), "three": (2000.0, 3500.0), "nine": (400.0, 1000.0)}


def english_vowel_s(samples: np.ndarray, rate: int, word: str) -> float:
    """Seconds from the start of ``samples`` (the word, with silence around it) to its vowel."""
    hop, window = int(0.005 * rate), int(0.02 * rate)
    starts = np.arange(0, len(samples) - window, hop)
    freqs = np.fft.rfftfreq(window, 1 / rate)
    low, high = FORMANT_BANDS.get(word, (0.0, 0.0))
    levels, periodic, band = [], [], []
    for start in starts:
        frame = np.asarray(samples[start : start + window], dtype=np.float64)
        frame = frame - frame.mean()
        levels.append(10 * np.log10(np.mean(frame**2) + 1e-20))
        lags = np.correlate(frame, frame, "full")[window - 1 :]
        periodic.append(lags[int(rate / 400) : int(rate / 70)].max() / (lags[0] + 1e-20))
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(window))) ** 2
        band.append(10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].sum() + 1e-20))
    levels_db, band_db = np.array(levels), np.array(band)
    voiced = (np.array(periodic) >= 0.4) & (levels_db >= levels_db.max() - 15)
    assert voiced.any(), f"no voice found in {word!r}"
    first = int(np.argmax(voiced))
    if word in FORMANT_BANDS:
        voiced_band = np.where(voiced, band_db, np.nan)
        peak = int(np.nanargmax(voiced_band))
        floor = first + int(np.nanargmin(voiced_band[first : peak + 1]))  # the consonant, before the vowel's peak
        halfway = (band_db[floor] + band_db[peak]) / 2
        vowel = voiced & (band_db >= halfway)
        vowel[:floor] = False
        first = int(np.argmax(vowel))
    return float(starts[first] / rate)
