"""The block mixer: blocks equal the whole, levels, fades and the peak limit."""

from __future__ import annotations

import numpy as np
import pytest
from audio_checks import peak_dbfs, rms_dbfs, span

from voiceguide.audio import Audio
from voiceguide.mix.mixer import Mixer, MixSettings
from voiceguide.parse.script import parse_script
from voiceguide.plan.timeline import Kind, PlanSettings, plan_timeline, spoken_texts

RATE = 44_100


def tone_voice(seconds: float, amplitude: float = 0.5) -> Audio:
    t = np.arange(int(seconds * RATE)) / RATE
    return Audio((amplitude * np.sin(2 * np.pi * 150 * t)).astype(np.float32), RATE)


def mixer_for(
    body: str, voice_amplitude: float = 0.5, settings: MixSettings = MixSettings(), plan: PlanSettings = PlanSettings()
) -> Mixer:
    script = parse_script(body, "t.vg")
    voice = {text: tone_voice(1.0, voice_amplitude) for text in spoken_texts(script)}
    timeline = plan_timeline(script, {t: a.duration_s for t, a in voice.items()}, {}, plan)
    return Mixer(timeline, voice, {}, settings)


BODY = "Een. [pause 1s]\n[breathe 4-2-6 x2 count]\n[bell]\nTwee.\n[chime]"


def test_blocks_of_any_size_give_the_same_audio():
    whole = mixer_for(BODY).render(0, 10**9)
    for size in (1000, 4096, 44_100):
        assert np.array_equal(np.concatenate(list(mixer_for(BODY).blocks(block_frames=size))), whole)


def test_random_access_matches_sequential_rendering():
    mixer = mixer_for(BODY)
    whole = mixer.render_all()
    for start in (RATE * 9 + 17, 5, RATE * 3):
        assert np.array_equal(mixer.render(start, 5000), whole[start : start + 5000])


def test_length_is_the_planned_duration():
    mixer = mixer_for(BODY)
    assert len(mixer.render_all()) == round(mixer.timeline.duration_s * RATE)


def test_peak_never_exceeds_the_limit_even_with_a_hot_voice():
    audio = mixer_for(BODY, voice_amplitude=1.5).render_all()
    assert peak_dbfs(audio) <= -1.0 + 1e-6


def test_closing_fade_reaches_silence():
    # no tail: the exhale still sounds when the closing fade begins
    mixer = mixer_for("Een. [pause 0.1s] [breathe 4-0-30 x1]", plan=PlanSettings(tail_s=0.0))
    audio = mixer.render_all()
    assert rms_dbfs(audio[-200:]) < -80
    fade = mixer.settings.fade_out_s
    before = rms_dbfs(span(audio, RATE, len(audio) / RATE - fade - 0.5, len(audio) / RATE - fade))
    during = rms_dbfs(span(audio, RATE, len(audio) / RATE - fade / 2 - 0.25, len(audio) / RATE - fade / 2 + 0.25))
    assert before - during > 3


def test_cue_level_follows_the_settings():
    quiet = mixer_for("[breathe 4-0-6 x1]", settings=MixSettings(cue_below_voice_db=18)).render_all()
    loud = mixer_for("[breathe 4-0-6 x1]", settings=MixSettings(cue_below_voice_db=12)).render_all()
    assert rms_dbfs(loud) - rms_dbfs(quiet) == pytest.approx(6.0, abs=0.1)


def test_silent_hold_is_silent_and_soft_hold_is_not():
    soft = mixer_for("---\nhold_tone: soft\n---\n[breathe 4-3-6 x1]")
    silent = mixer_for("---\nhold_tone: silent\n---\n[breathe 4-3-6 x1]")
    hold = soft.timeline.of_kind(Kind.HOLD)[0]
    middle = (hold.start_s + 0.8, hold.end_s - 0.8)
    assert rms_dbfs(span(soft.render_all(), RATE, *middle)) > -50
    assert rms_dbfs(span(silent.render_all(), RATE, *middle)) < -90
