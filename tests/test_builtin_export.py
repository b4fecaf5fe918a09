"""End to end with real espeak-ng: every built-in exercise exported to WAV
and MP3, decoded, and measured against its planned timeline."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from audio_checks import dominant_hz, frame_dbfs, high_band_dbfs, peak_dbfs, rms_dbfs, span, voice_residual

from voiceguide import export_session, load_script, prepare_session
from voiceguide.mix.mixer import MixSettings
from voiceguide.parse.exercises import EXERCISES
from voiceguide.plan.timeline import Kind
from voiceguide.rules import LANGUAGES
from voiceguide.sinks.export import preferred_sample_rate

BUILTINS = [(name, language) for name in EXERCISES for language in LANGUAGES]


@pytest.fixture(scope="module", params=BUILTINS, ids=lambda p: f"{p[0]}-{p[1]}")
def exported(request, tmp_path_factory, engine):
    name, language = request.param
    session = prepare_session(load_script(name, language), engine=engine)
    folder = tmp_path_factory.mktemp(f"{name}-{language}")
    files = {}
    planned = {}  # each export's planned length: the MP3 is planned at its own rate
    for suffix in ("wav", "mp3"):
        if suffix == "mp3":  # as the command line makes it: mixed at the MP3's own rate
            mix = MixSettings(sample_rate=preferred_sample_rate("x.mp3"))
            session_at_rate = prepare_session(load_script(name, language), engine=engine, mix=mix)
            # each phrase is padded to a whole resampling step: 20 ms from 22.05 to 32 kHz, none to 44.1 kHz
            phrases = len(session.timeline.of_kind(Kind.SPEECH, Kind.COUNT))
            assert 0 <= session_at_rate.timeline.duration_s - session.timeline.duration_s <= 0.02 * phrases
        result = export_session(session if suffix == "wav" else session_at_rate, folder / f"{name}.{suffix}")
        samples, rate = sf.read(str(result.path), dtype="float32")
        files[suffix] = (samples, rate)
        planned[suffix] = (session if suffix == "wav" else session_at_rate).timeline.duration_s
    return session, files, planned


def test_length_matches_the_plan(exported):
    _, files, planned = exported
    for suffix, (samples, rate) in files.items():
        assert rate == {"wav": 44_100, "mp3": 32_000}[suffix]
        assert abs(len(samples) / rate - planned[suffix]) <= 0.05, suffix


def test_about_three_minutes_with_a_calm_pace(exported):
    session, _, _ = exported
    assert 150 <= session.timeline.duration_s <= 210
    assert 110 <= session.voice.rate <= 140


def test_speech_where_planned_and_silence_in_the_gaps(exported):
    session, files, _ = exported
    samples, rate = files["wav"]
    events = session.timeline.events
    for event in session.timeline.of_kind(Kind.SPEECH):
        middle = span(samples, rate, event.start_s + 0.2 * event.duration_s, event.end_s - 0.2 * event.duration_s)
        assert rms_dbfs(middle) > -32, event.text
    sounding = [(e.start_s, e.end_s) for e in events if e.kind not in (Kind.SILENCE, Kind.CHAPTER)]
    quiet = [e for e in session.timeline.of_kind(Kind.SILENCE)]
    assert quiet, "built-ins have pauses"
    checked = 0
    for pause in quiet:
        start = max([pause.start_s] + [end for s, end in sounding if s < pause.start_s])
        end = min([pause.end_s] + [s for s, _ in sounding if s > pause.start_s])
        if end - start > 0.3:
            assert rms_dbfs(span(samples, rate, start + 0.05, end - 0.05)) < -60, pause
            checked += 1
    assert checked >= 3


def test_breath_tones_rise_and_fall_between_the_counts(exported):
    session, files, _ = exported
    samples, rate = files["wav"]
    voice = voice_residual(samples, session)
    samples = samples[: len(voice)] - voice  # the tones without the counts
    breaths = [e for e in session.timeline.events if e.kind in (Kind.INHALE, Kind.EXHALE)]
    assert breaths
    for event in breaths:
        # the counts sound in the first 0.6 s of each second; listen after them (and without them)
        first = span(samples, rate, event.start_s + 0.65, event.start_s + 0.95)
        last = span(
            samples, rate, event.start_s + np.floor(event.duration_s) - 0.35, event.start_s + np.floor(event.duration_s) - 0.05
        )
        rising = dominant_hz(last, rate, 150, 400) - dominant_hz(first, rate, 150, 400)
        if event.kind is Kind.INHALE:
            assert rising > 30, event
        else:
            assert rising < -30, event


def test_cues_sit_12_to_18_db_under_the_voice(exported):
    session, files, _ = exported
    samples, rate = files["wav"]
    voice = np.concatenate([span(samples, rate, e.start_s, e.end_s) for e in session.timeline.of_kind(Kind.SPEECH)])
    counts = session.timeline.of_kind(Kind.COUNT)
    uncounted = [
        e
        for e in session.timeline.of_kind(Kind.INHALE, Kind.EXHALE)
        if not any(e.start_s - 0.5 < c.start_s < e.end_s for c in counts)
    ]
    assert uncounted
    tone = np.concatenate(
        [
            span(samples, rate, e.start_s + 0.65 + k, e.start_s + 0.95 + k)
            for e in uncounted
            for k in range(1, int(e.duration_s) - 1)
        ]
    )
    from voiceguide.audio import active_rms

    difference = 20 * np.log10(active_rms(voice, rate) / active_rms(tone, rate, threshold_dbfs=-70))
    assert 12 <= difference <= 18


def test_no_clicks_at_any_cue_boundary(exported):
    session, files, _ = exported
    samples, rate = files["wav"]
    high = high_band_dbfs(samples, rate)
    boundaries = {t for e in session.timeline.events if e.kind is not Kind.CHAPTER for t in (e.start_s, e.end_s)}
    assert len(boundaries) > 20
    for t in sorted(boundaries):
        window = span(high, rate, t - 0.005, t + 0.005)
        assert peak_dbfs(window) < -60, f"click at {t:.3f} s"


def test_peak_stays_under_minus_1_dbfs(exported):
    _, files, _ = exported
    for suffix, (samples, _) in files.items():
        assert peak_dbfs(samples) <= -1.0, suffix  # the decoded MP3 too: the limiter works on true peaks


def test_phone_ready_loudness_and_true_peak(exported):
    from voiceguide.dsp.loudness import LoudnessMeter

    _, files, _ = exported
    for suffix, (samples, rate) in files.items():
        measured = LoudnessMeter(rate).add_all([samples])  # checked against pyloudnorm in test_loudness
        assert measured.integrated_lufs == pytest.approx(-19.0, abs=0.5), suffix
        assert measured.true_peak_dbtp <= -1.0 + 1e-6, suffix


def test_soft_ending(exported):
    session, files, _ = exported
    samples, rate = files["wav"]
    assert session.timeline.events[-1].kind is Kind.CHIME or session.timeline.of_kind(Kind.CHIME)
    assert rms_dbfs(samples[-int(0.2 * rate) :]) < -60
    assert rms_dbfs(samples[: int(0.5 * rate)]) < -60


# --- the claims of docs/how-it-sounds.md, measured on the exported file -----------------


def speaking_dbfs(voice: np.ndarray, rate: int) -> float:
    from voiceguide.audio import active_rms

    return 20 * np.log10(active_rms(voice, rate))


def test_every_phrase_ends_at_least_25_db_under_its_speaking_level(exported):
    """The last 20 ms of a phrase's sound (before its 40 ms silent tail)."""
    from voiceguide.dsp.level import TAIL_S

    session, files, _ = exported
    samples, rate = files["wav"]
    voice = voice_residual(samples, session)
    depths = []
    for event in session.timeline.of_kind(Kind.SPEECH):
        phrase = span(voice, rate, event.start_s, event.end_s)
        end = event.end_s - TAIL_S
        depths.append(speaking_dbfs(phrase, rate) - rms_dbfs(span(voice, rate, end - 0.02, end)))
    print(f"phrase ends: at least {min(depths):.1f} dB down")
    assert min(depths) >= 25.0


def test_every_phrase_at_most_135_words_a_minute_and_a_calm_pace_over_all(exported):
    """Over each phrase's own sound: from its first to its last 10 ms frame
    within 35 dB of its speaking level, in the voice separated from the tones."""
    from voiceguide.speech.unhurried import word_count

    session, files, _ = exported
    samples, rate = files["wav"]
    voice = voice_residual(samples, session)
    rates = []
    words = seconds = 0.0
    for event in session.timeline.of_kind(Kind.SPEECH):
        phrase = span(voice, rate, event.start_s, event.end_s)
        frames = np.flatnonzero(frame_dbfs(phrase, rate) > speaking_dbfs(phrase, rate) - 35)
        sounding = (frames[-1] + 1 - frames[0]) * 0.01
        rates.append((word_count(event.text) / sounding * 60, event.text))
        words, seconds = words + word_count(event.text), seconds + sounding
    print(f"fastest phrase {max(rates)[0]:.0f} wpm ({max(rates)[1]}); over all {words / seconds * 60:.0f} wpm")
    assert max(rates)[0] <= 135, max(rates)
    assert 105 <= words / seconds * 60 <= 135


def test_a_question_has_at_least_1_5_s_of_quiet_after_it(exported):
    """No voice, and nothing starting (tones are 15 dB under the voice), in the
    1.5 s after a question's last sound."""
    from voiceguide.dsp.level import TAIL_S
    from voiceguide.plan.timeline import is_question

    session, files, _ = exported
    samples, rate = files["wav"]
    voice = voice_residual(samples, session)
    level = speaking_dbfs(
        np.concatenate([span(voice, rate, e.start_s, e.end_s) for e in session.timeline.of_kind(Kind.SPEECH)]), rate
    )
    questions = [e for e in session.timeline.of_kind(Kind.SPEECH) if is_question(e.text)]
    for question in questions:
        end = question.end_s - TAIL_S
        assert frame_dbfs(span(voice, rate, end + 0.01, end + 1.5), rate).max() < level - 40, question.text
        assert frame_dbfs(span(samples, rate, end + 0.01, end + 1.5), rate).max() < level - 20, question.text
    assert questions or session.script.meta.title in ("Zelfkalmering", "Self-soothing")


def test_the_chime_rings_out_and_the_session_ends_11_4_s_after_it_starts(exported):
    """Its 9.9 s ring-out to 42 dB under its attack, then the 1.5 s tail with the closing fade."""
    session, files, _ = exported
    samples, rate = files["wav"]
    chime = session.timeline.of_kind(Kind.CHIME)[-1]
    attack = rms_dbfs(span(samples, rate, chime.start_s, chime.start_s + 0.5))
    assert rms_dbfs(span(samples, rate, chime.end_s - 0.5, chime.end_s)) <= attack - 40
    assert len(samples) / rate - chime.start_s == pytest.approx(11.4, abs=0.05)


def test_the_wording_explains_offers_and_does_not_order(exported):
    """What docs/how-it-sounds.md says of the wording, in what the file says (its transcript)."""
    from voiceguide.parse.script import Breathe
    from voiceguide.sinks.transcript import render_transcript

    session, _, _ = exported
    script = session.script
    said = render_transcript(session.timeline, "vtt").lower()
    dutch = script.meta.language == "nl"
    # the tones are explained before the first breathing
    first_breath = next(i for i, item in enumerate(script.items) if isinstance(item, Breathe))
    before = " ".join(item.text for item in script.items[:first_breath] if hasattr(item, "text")).lower()
    assert ("toon" if dutch else "tone") in before
    # eyes open or closed
    assert ("ogen" in said) and ("omlaag" in said) if dutch else ("eyes" in said and "floor" in said)
    # absolutes and orders
    for word in ("altijd", "nooit", "moet", "moeten") if dutch else ("always", "never", "must", "have to"):
        assert f" {word} " not in f" {said} ", word
    if script.meta.title in ("Zelfkalmering", "Self-soothing"):
        assert ("als dat kan" if dutch else "if that's comfortable") in said
        assert ("als je wilt, houd je adem" if dutch else "if you like, hold your breath") in said
