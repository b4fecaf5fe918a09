"""The numpy cues: pitch direction, ramps, decay and level."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import dominant_hz, rms_dbfs

from voiceguide.audio import active_rms
from voiceguide.dsp import tones

RATE = 44_100


@pytest.mark.parametrize(("make", "direction"), [(tones.inhale, 1), (tones.exhale, -1)])
def test_breath_glides_move_the_right_way(make, direction):
    wave = make(4.0, RATE, -35.0)
    assert len(wave) == 4 * RATE
    start = dominant_hz(wave[int(0.4 * RATE) : int(0.9 * RATE)], RATE)
    end = dominant_hz(wave[int(3.1 * RATE) : int(3.6 * RATE)], RATE)
    assert direction * (end - start) > 60
    assert 180 < min(start, end) and max(start, end) < 310


@pytest.mark.parametrize("make", [tones.inhale, tones.exhale])
def test_glides_start_and_end_at_zero_and_are_smooth(make):
    wave = make(5.0, RATE, -35.0)
    assert abs(wave[0]) < 1e-4 and abs(wave[-1]) < 1e-4
    # continuous phase: no step bigger than a full-scale sine at the top frequency allows
    peak = np.max(np.abs(wave))
    assert np.max(np.abs(np.diff(wave))) < peak * 2 * np.pi * 330 * 1.3 / RATE * 1.3


def test_glide_level_is_the_requested_rms():
    assert rms_dbfs(tones.inhale(4.0, RATE, -35.0)) == pytest.approx(-35.0, abs=0.05)


def test_soft_hold_is_quieter_and_silent_hold_is_silent():
    soft = tones.hold(2.0, RATE, -35.0)
    assert -45 < rms_dbfs(soft) < -40
    assert not np.any(tones.hold(2.0, RATE, -35.0, soft=False))


def test_bell_decays_naturally_with_inharmonic_partials():
    wave = tones.bell(6.0, RATE, -32.0)
    levels = [rms_dbfs(wave[int(t * RATE) : int((t + 0.5) * RATE)]) for t in (0.0, 1.0, 2.0, 3.0, 4.0)]
    assert all(a > b for a, b in zip(levels, levels[1:]))
    assert levels[0] - levels[-1] > 10
    spectrum = np.abs(np.fft.rfft(wave[:RATE]))
    freqs = np.fft.rfftfreq(RATE, 1 / RATE)
    strongest = sorted(freqs[np.argsort(spectrum)[-200:]])
    ratios = {round(f / tones.BELL_HZ, 2) for f in strongest}
    assert any(1.15 <= r <= 1.22 for r in ratios), "the minor-third-ish partial of a bell"
    assert abs(wave[-1]) < 1e-4 and abs(wave[0]) < 1e-3


def test_bell_level_is_set_over_its_first_second():
    assert active_rms(tones.bell(6.0, RATE, -32.0)[:RATE], RATE, threshold_dbfs=-90) == pytest.approx(10 ** (-32 / 20), rel=0.02)


def test_chime_has_three_falling_notes():
    wave = tones.chime(7.0, RATE, -32.0)
    notes = [dominant_hz(wave[int((0.05 + 0.6 * i) * RATE) : int((0.55 + 0.6 * i) * RATE)], RATE, 300, 600) for i in range(3)]
    assert notes[0] > 500
    assert abs(wave[-1]) < 1e-4


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000])
def test_the_chime_rings_out_before_it_ends(rate):
    """Its last 0.5 s are at least 40 dB under its attack: nothing is cut
    while it still rings (the end guard is only 10 ms)."""
    from voiceguide.dsp.tones import CHIME_S

    x = tones.chime(CHIME_S, rate, -30.0).astype(np.float64)
    attack = np.sqrt(np.mean(x[: int(0.5 * rate)] ** 2))
    last = np.sqrt(np.mean(x[-int(0.5 * rate) :] ** 2))
    assert 20 * np.log10(last / attack) <= -40


def test_a_bell_rings_out_before_its_event_ends():
    from voiceguide.dsp.tones import BELL_S

    rate = 44_100
    x = tones.bell(BELL_S, rate, -30.0).astype(np.float64)
    attack = np.sqrt(np.mean(x[: int(0.5 * rate)] ** 2))
    assert 20 * np.log10(np.sqrt(np.mean(x[-int(0.5 * rate) :] ** 2)) / attack) <= -40
