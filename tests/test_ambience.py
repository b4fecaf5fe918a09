"""Ambience: pink or brown noise under the session, ducked under the voice."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import high_band_dbfs, peak_dbfs, rms_dbfs, span

from voiceguide.audio import Audio
from voiceguide.mix.mixer import AMBIENCE_LOOP_S, Mixer, MixSettings
from voiceguide.parse.script import parse_script
from voiceguide.plan.timeline import Kind, PlanSettings, plan_timeline, spoken_texts

RATE = 44_100


def mixer(ambience: str, body: str = "[pause 40s] Een. [pause 5s]", **settings) -> Mixer:
    script = parse_script(body, "t.vg")
    t = np.arange(int(2.0 * RATE)) / RATE
    voice = {text: Audio((0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), RATE) for text in spoken_texts(script)}
    timeline = plan_timeline(script, {k: v.duration_s for k, v in voice.items()}, {}, PlanSettings())
    return Mixer(timeline, voice, {}, MixSettings(ambience=ambience, **settings))


def octave_levels(samples: np.ndarray) -> list[float]:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return [10 * np.log10(spectrum[(freqs >= f) & (freqs < 2 * f)].sum()) for f in (125, 250, 500, 1000, 2000, 4000)]


@pytest.mark.parametrize(("kind", "slope_db"), [("pink", 0.0), ("brown", -3.0)])
def test_noise_colour(kind, slope_db):
    # power per octave: flat for pink (-3 dB/octave per Hz), -3 dB/octave more for brown
    audio = mixer(kind).render(5 * RATE, 20 * RATE)
    levels = octave_levels(audio)
    steps = np.diff(levels)
    assert np.mean(steps) == pytest.approx(slope_db, abs=0.6)


def test_the_loop_has_no_seam():
    audio = mixer("pink").render(int((AMBIENCE_LOOP_S - 1) * RATE), 2 * RATE)
    high = high_band_dbfs(audio, RATE, cutoff_hz=16_000)
    seam = span(high, RATE, 0.995, 1.005)
    assert peak_dbfs(seam) < peak_dbfs(high) + 1.0  # nothing special at the loop point


def test_level_is_under_the_voice_and_ducks_while_it_speaks():
    m = mixer("pink", ambience_below_voice_db=24.0)
    audio = m.render_all()
    speech = m.timeline.of_kind(Kind.SPEECH)[0]
    quiet = rms_dbfs(span(audio, RATE, 10, 30))
    assert quiet == pytest.approx(-20 - 24, abs=0.5)
    # during the phrase: the voice sine plus ducked noise; measure the noise above 1 kHz
    from scipy.signal import butter, sosfilt

    sos = butter(6, 1000, "highpass", fs=RATE, output="sos")
    noise = sosfilt(sos, audio)
    ducked = rms_dbfs(span(noise, RATE, speech.start_s + 0.5, speech.end_s - 0.5))
    open_air = rms_dbfs(span(noise, RATE, 10, 30))
    assert open_air - ducked == pytest.approx(10.0, abs=0.7)


def test_never_as_loud_as_the_voice():
    loud = mixer("brown", ambience_below_voice_db=0.0).render_all()
    assert rms_dbfs(span(loud, RATE, 10, 30)) == pytest.approx(-20 - 6, abs=0.5)


def test_fades_in_and_out_and_is_deterministic():
    m = mixer("pink")
    audio = m.render_all()
    assert rms_dbfs(audio[: RATE // 10]) < -70
    assert rms_dbfs(audio[-RATE // 10 :]) < -70
    assert np.array_equal(audio, mixer("pink").render_all())


def test_no_ambience_means_silence_in_pauses():
    assert rms_dbfs(span(mixer("none").render_all(), RATE, 10, 30)) < -100


@pytest.mark.slow
def test_export_and_play_take_ambience_options(tmp_path, write_script):
    import soundfile as sf
    from click.testing import CliRunner

    from voiceguide import load_script, prepare_session
    from voiceguide.cli import cli
    from voiceguide.mix.mixer import MixSettings

    script = write_script("Hallo daar. [pause 6s] Tot ziens.")
    in_pause = {}
    for kind in ("pink", "none"):
        out = tmp_path / f"{kind}.wav"
        result = CliRunner().invoke(cli, ["export", str(script), "-o", str(out), "--ambience", kind, "--ambience-level", "24"])
        assert result.exit_code == 0, result.output
        samples, rate = sf.read(str(out), dtype="float32")
        in_pause[kind] = rms_dbfs(span(high_band_dbfs(samples, rate, cutoff_hz=12_000), rate, 4.0, 6.0))
    assert in_pause["none"] < -90 < -70 < in_pause["pink"]
    # the level option, on the mix itself (an export then normalises the whole)
    relative = {}
    for level in (24.0, 12.0):
        mixer = prepare_session(load_script(str(script)), mix=MixSettings(ambience="pink", ambience_below_voice_db=level)).mixer
        mix = mixer.render_all()
        voice = rms_dbfs(span(mix, RATE, 1.1, 1.6))
        relative[level] = rms_dbfs(span(high_band_dbfs(mix, RATE, cutoff_hz=12_000), RATE, 4.0, 6.0)) - voice
    assert relative[12.0] - relative[24.0] == pytest.approx(12.0, abs=0.5)
    assert "--ambience" in CliRunner().invoke(cli, ["play", "--help"]).output
