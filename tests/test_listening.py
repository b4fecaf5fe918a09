"""What a listener hears, measured on exported audio of the built-ins:
the voice at one loudness whatever the length, counts on the beat, a
chime that rings out, a calm pace."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voiceguide import export_session, load_script, prepare_session
from voiceguide.audio import Audio
from voiceguide.dsp.level import vowel_onset_s
from voiceguide.dsp.loudness import LoudnessMeter
from voiceguide.mix import Mixer
from voiceguide.sinks.normalise import speech_loudness
from voiceguide.timeline import Kind

BUILT_INS = [(name, language) for name in ("herinnering", "veilige-plek", "zelfkalmering") for language in ("nl", "en")]


def measured_speech_lufs(path, session) -> float:
    samples, rate = sf.read(str(path), dtype="float32")
    meter = LoudnessMeter(rate, true_peak=False)
    meter.add(samples)
    return speech_loudness(session.timeline, meter.profile())


def test_the_voice_is_equally_loud_at_3_10_and_20_minutes(engine, tmp_path):
    script = load_script("zelfkalmering")
    loudness = {}
    integrated = {}
    for minutes in (3, 10, 20):
        session = prepare_session(script, engine=engine, target_s=minutes * 60)
        result = export_session(session, tmp_path / f"{minutes}.mp3")
        loudness[minutes] = measured_speech_lufs(result.path, session)
        integrated[minutes] = result.loudness_lufs
        assert result.speech_lufs == pytest.approx(loudness[minutes], abs=0.2)  # the summary says what the file holds
    assert max(loudness.values()) - min(loudness.values()) <= 1.0
    assert all(value == pytest.approx(-16.0, abs=0.5) for value in loudness.values())
    # the whole file gets quieter as cues and pauses take over; the voice does not
    assert integrated[20] < integrated[3] - 2


def test_counts_land_with_their_vowel_on_the_beat(engine):
    for language in ("nl", "en"):
        session = prepare_session(load_script("zelfkalmering", language), engine=engine)
        rate = session.sample_rate
        voice_only = [e for e in session.timeline.events if e.kind in (Kind.SPEECH, Kind.COUNT)]
        timeline = session.timeline.__class__(**{**session.timeline.__dict__, "events": tuple(voice_only)})
        mix = Mixer(timeline, session.mixer.voice, {}, session.mixer.settings).render_all()
        breaths = session.timeline.of_kind(Kind.INHALE, Kind.HOLD, Kind.EXHALE)
        counts = session.timeline.of_kind(Kind.COUNT)
        assert counts
        for count in counts:
            phase = next(b for b in breaths if b.start_s <= (count.start_s + count.end_s) / 2 < b.end_s)
            beat = phase.start_s + round(count.start_s + 0.3 - phase.start_s)  # the whole second it belongs to
            # find the vowel in the rendered audio around the beat
            start = int((beat - 0.4) * rate)
            window = Audio(mix[start : start + int(0.8 * rate)], rate)
            heard = beat - 0.4 + vowel_onset_s(window)
            assert abs(heard - beat) <= 0.05, (language, count.text, round(heard - beat, 3))


def test_the_chime_rings_out_before_the_session_fades(engine):
    session = prepare_session(load_script("veilige-plek"), engine=engine)
    chime = session.timeline.of_kind(Kind.CHIME)[-1]
    fade_start = session.duration_s - session.mixer.settings.fade_out_s
    assert chime.end_s <= fade_start + 1e-5  # event times are rounded to the microsecond
    audio = session.mixer.render_all()
    rate = session.sample_rate
    attack = np.sqrt(np.mean(audio[int(chime.start_s * rate) : int((chime.start_s + 0.5) * rate)].astype(np.float64) ** 2))
    last = np.sqrt(np.mean(audio[int((chime.end_s - 0.5) * rate) : int(chime.end_s * rate)].astype(np.float64) ** 2))
    assert 20 * np.log10(max(last, 1e-12) / attack) <= -40


@pytest.mark.parametrize(("name", "language"), BUILT_INS)
def test_built_ins_speak_at_115_to_135_words_a_minute(engine, name, language):
    session = prepare_session(load_script(name, language), engine=engine)
    events = session.timeline.of_kind(Kind.SPEECH)
    words = sum(sum(1 for token in e.text.split() if any(ch.isalnum() for ch in token)) for e in events)
    assert 115 <= words / sum(e.duration_s for e in events) * 60 <= 135
