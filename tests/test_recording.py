"""Processing one recording for a voice pack, and stopping on silence."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import rms_dbfs

from voiceguide.audio import Audio, active_rms, gain_to_db
from voiceguide.dsp.recording import (
    HIGH_PASS_HZ,
    PRE_ROLL_S,
    RecordingError,
    SilenceStop,
    clipped_runs,
    process_recording,
)
from voiceguide.mix.mixer import MixSettings

RATE = 48_000


def room(seconds: float, level_dbfs: float = -62.0, seed: int = 1) -> np.ndarray:
    """Room noise: white noise at ``level_dbfs`` RMS."""
    noise = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    return noise * 10 ** (level_dbfs / 20)


def spoken(seconds: float = 1.5, f0_hz: float = 180.0, level_dbfs: float = -26.0, decay_s: float = 0.25) -> np.ndarray:
    """A voice: harmonics of f0 under syllable bumps, ending in a natural
    (exponential) decay of ``decay_s``."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in (1, 2, 3, 4))
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 3 * t))
    tail = int(decay_s * RATE)
    envelope[-tail:] *= np.exp(-np.arange(tail) / RATE / (decay_s / 5))
    envelope[: int(0.02 * RATE)] *= np.linspace(0, 1, int(0.02 * RATE))
    x = tone * envelope
    return x * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(x[: -tail or None] ** 2))


def take(
    voice: np.ndarray, before_s: float = 0.8, after_s: float = 1.2, rumble_dbfs: float | None = -30.0, dc: float = 0.02
) -> Audio:
    """What a microphone gives: room noise, the voice, DC offset and 25 Hz rumble."""
    x = np.concatenate([room(before_s, seed=2), voice + room(len(voice) / RATE, seed=3), room(after_s, seed=4)])
    t = np.arange(len(x)) / RATE
    if rumble_dbfs is not None:
        x = x + np.sqrt(2) * 10 ** (rumble_dbfs / 20) * np.sin(2 * np.pi * 25 * t)
    return Audio((x + dc).astype(np.float32), RATE)


def band_db(samples: np.ndarray, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return 10 * np.log10(np.sum(spectrum[(freqs >= low_hz) & (freqs < high_hz)]) + 1e-30)


def test_a_recording_is_trimmed_cleaned_and_levelled_to_the_voice_target():
    voice = spoken(1.5)
    raw = take(voice)
    out = process_recording(raw)
    assert out.sample_rate == RATE
    # trimmed: a little pre-roll, the voice, its natural decay; the 0.8 s and 1.2 s of room are gone
    assert len(voice) / RATE <= out.duration_s <= len(voice) / RATE + PRE_ROLL_S + 0.1
    # levelled: the voice target of the mix, while speaking
    assert gain_to_db(active_rms(out.samples, RATE)) == pytest.approx(MixSettings().voice_rms_dbfs, abs=0.5)
    # no DC, and the 25 Hz rumble (4 dB under the voice before) is 40 dB down relative to the voice
    assert abs(float(np.mean(out.samples))) < 1e-3
    voice_band = band_db(out.samples, 150, 1000)
    assert band_db(out.samples, 15, 35) < voice_band - 40
    assert band_db(raw.samples, 15, 35) > band_db(raw.samples, 150, 1000) - 10
    # edges faded to silence (8 ms ramps): no click at either end
    assert np.max(np.abs(out.samples[:8])) < 1e-3 and np.max(np.abs(out.samples[-8:])) < 1e-3


def test_the_natural_release_is_kept_and_faded_into_silence():
    voice = spoken(1.5, decay_s=0.25)
    out = process_recording(take(voice, rumble_dbfs=None, dc=0.0)).samples
    # the loud part's end and the decay are there: the last 100 ms still hold the fading voice, above the room
    tail = out[-int(0.1 * RATE) :]
    assert rms_dbfs(tail) > rms_dbfs(out) - 45
    # and it decays: each 50 ms of the last 200 ms quieter than the one before
    quarters = [rms_dbfs(out[len(out) - int((k + 1) * 0.05 * RATE) : len(out) - int(k * 0.05 * RATE)]) for k in range(4)]
    assert quarters[0] < quarters[1] < quarters[2] < quarters[3]


def test_a_voice_with_a_soft_onset_keeps_its_start():
    """A soft consonant before the vowel (a breathy 'h', 20 dB under the
    voice) is kept: the pre-roll starts before the voiced frames."""
    hiss = np.random.default_rng(5).standard_normal(int(0.05 * RATE)) * 10 ** (-46 / 20)
    voice = np.concatenate([hiss, spoken(1.0)])
    out = process_recording(take(voice, rumble_dbfs=None, dc=0.0))
    assert out.duration_s >= len(voice) / RATE - 0.01


def test_a_clipped_recording_is_refused_with_the_reason():
    voice = spoken(1.2, level_dbfs=-3.0)
    clipped = np.clip(voice * 4, -1.0, 32767 / 32768)
    with pytest.raises(RecordingError, match=r"clipped \(\d+ places at full scale\): turn the input level down"):
        process_recording(take(clipped, rumble_dbfs=None, dc=0.0))
    assert clipped_runs(spoken(1.2, level_dbfs=-12.0)) == 0  # loud but not clipped


def test_silence_and_noise_alone_are_refused():
    with pytest.raises(RecordingError, match="no voice heard"):
        process_recording(Audio(room(2.0).astype(np.float32), RATE))
    with pytest.raises(RecordingError, match="no voice heard"):
        process_recording(Audio(np.zeros(RATE, dtype=np.float32), RATE))


def test_high_pass_leaves_the_voice_band_alone():
    voice = spoken(1.5, f0_hz=110.0)
    out = process_recording(take(voice, rumble_dbfs=None, dc=0.0)).samples
    # the fundamental at 110 Hz loses little against the 3rd harmonic (330 Hz) compared with the input
    before = band_db(voice, 100, 120) - band_db(voice, 320, 340)
    after = band_db(out, 100, 120) - band_db(out, 320, 340)
    assert 0 <= before - after < 3.0
    assert HIGH_PASS_HZ == 80.0


def feed(stop: SilenceStop, samples: np.ndarray, block: int = 2400) -> float | None:
    """Feed in blocks; the time (s) at which it said stop, or None."""
    for start in range(0, len(samples), block):
        if stop.add(samples[start : start + block]):
            return (start + block) / RATE
    return None


def test_silence_stops_a_recording_a_second_after_the_voice():
    signal = np.concatenate([room(0.5), spoken(2.0, decay_s=0.02) + room(2.0), room(3.0)]).astype(np.float32)
    stopped = feed(SilenceStop(RATE), signal)
    assert stopped is not None and 2.5 + 1.0 <= stopped <= 2.5 + 1.2


def test_silence_before_the_voice_does_not_stop_it_nor_pauses_shorter_than_a_second():
    before = np.concatenate([room(4.0), spoken(1.0)]).astype(np.float32)
    assert feed(SilenceStop(RATE), before) is None
    with_pause = np.concatenate([spoken(1.0, decay_s=0.02), room(0.8), spoken(1.0), room(0.5)]).astype(np.float32)
    assert feed(SilenceStop(RATE), with_pause) is None


def test_a_noisy_room_cannot_hide_the_end():
    """In a room at -40 dBFS the voice still stands out, and silence ends it."""
    voice = spoken(1.5, level_dbfs=-18, decay_s=0.02) + room(1.5, -40)
    signal = np.concatenate([room(0.5, -40), voice, room(2.0, -40)]).astype(np.float32)
    stopped = feed(SilenceStop(RATE), signal)
    assert stopped is not None and 2.0 + 1.0 <= stopped <= 2.0 + 1.3
