"""Voice packs: the folder format, and sessions spoken by a trainer's recordings.

Recordings here are synthetic voices with a known pitch per phrase (the
fake engine speaks at about 220 Hz), so the tests can hear in the mix and
in exported files which phrase came from where.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_checks import dominant_hz, rms_dbfs, span
from helpers import run

from voiceguide import load_script, prepare_session
from voiceguide.audio import Audio, active_rms, gain_to_db
from voiceguide.dsp.level import TAIL_S, vowel_onset_s
from voiceguide.plan.timeline import Kind
from voiceguide.session import VoiceOptions
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.lexicon import Lexicon
from voiceguide.speech.pack import (
    MANIFEST_NAME,
    PACK_FORMAT,
    Recording,
    VoicePack,
    VoicePackEngine,
    VoicePackError,
    normalise,
    phrase_file_name,
)

RATE = 48_000
ENGINE_HZ = 220.0
"""The fake engine's pitch at the default settings (140 + 50 * 1.6)."""

SCRIPT = """---
title: Pakket
language: nl
rate: 150
---
# Begin
Ga rustig zitten.
Voel je voeten op de grond. [pause 2s]
[breathe 3-0-3 x1 count]
Tot ziens.
"""
PHRASES = ["Ga rustig zitten.", "Voel je voeten op de grond.", "Tot ziens.", "een", "twee", "drie"]


def voice(f0_hz: float, seconds: float = 1.2, rate: int = RATE, consonant_s: float = 0.0, release_s: float = 0.0) -> Audio:
    """A voice-like sound: harmonics of ``f0_hz`` under a syllable envelope
    at about -20 dBFS while speaking, after ``consonant_s`` of hiss (energy
    above 2 kHz only), ending in a ``release_s`` exponential decay."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    tone = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in (1, 2, 3))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2
    envelope[: int(0.01 * rate)] *= np.linspace(0, 1, int(0.01 * rate))
    if release_s:
        tail = int(release_s * rate)
        envelope[-tail:] *= np.exp(-np.arange(tail) / rate / (release_s / 6))
    samples = tone * envelope
    samples *= 0.1 / np.sqrt(np.mean(samples**2))
    if consonant_s:
        rng = np.random.default_rng(int(f0_hz))
        hiss = np.diff(np.diff(rng.standard_normal(int(consonant_s * rate) + 2)))  # mostly high frequencies
        hiss *= 0.05 / np.sqrt(np.mean(hiss**2))
        samples = np.concatenate([hiss, samples])
    return Audio(samples.astype(np.float32), rate)


def pitch_of(text: str) -> float:
    """A distinct pitch per phrase, well away from the engine's 220 Hz."""
    return 300.0 + 25.0 * PHRASES.index(text)


def make_pack(folder: Path, texts=PHRASES, language: str = "nl") -> VoicePack:
    pack = VoicePack.create(folder, speaker="Anna", language=language)
    for text in texts:
        pack.add(text, voice(pitch_of(text), 0.5 if len(text) < 6 else 1.4, consonant_s=0.08 if len(text) < 6 else 0.0))
    return pack


@pytest.fixture
def script(write_script):
    return load_script(write_script(SCRIPT))


# --- the folder ---------------------------------------------------------------------------


def test_phrases_are_keyed_by_their_text_with_case_and_white_space_folded():
    assert normalise("  Voel je\n\tVOETEN  op de grond. ") == "voel je voeten op de grond."
    assert phrase_file_name("Voel je voeten op de grond.") == phrase_file_name("voel  JE voeten op de grond.")
    assert phrase_file_name("Voel je voeten op de grond.") != phrase_file_name("Voel je voeten op de grond")
    assert phrase_file_name("Één moment.").startswith("een-moment-") and phrase_file_name("Één moment.").endswith(".flac")


def test_a_pack_keeps_a_manifest_and_one_flac_per_phrase(tmp_path):
    pack = make_pack(tmp_path / "anna")
    manifest = json.loads((tmp_path / "anna" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["format"] == PACK_FORMAT and manifest["speaker"] == "Anna" and manifest["language"] == "nl"
    assert manifest["sample_rate"] == RATE and manifest["created"] and "voiceguide" in manifest
    files = sorted(p.name for p in (tmp_path / "anna" / "phrases").iterdir())
    assert files == sorted(phrase_file_name(text) for text in PHRASES)  # nothing else: no temporary files
    info = sf.info(str(pack.path("Tot ziens.")))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_16", RATE, 1)
    with sf.SoundFile(str(pack.path("Tot ziens."))) as flac:
        assert flac.title == "Tot ziens."
    back = pack.recording("TOT ZIENS.")
    assert isinstance(back, Recording) and back.sample_rate == RATE
    assert dominant_hz(back.samples, RATE) == pytest.approx(pitch_of("Tot ziens."), abs=2)
    assert pack.recording("Nog niet opgenomen.") is None
    assert VoicePack.open(tmp_path / "anna", "nl").missing(["Tot ziens.", "Nieuw.", "Nieuw."]) == ["Nieuw."]


def test_a_replaced_recording_is_swapped_whole_and_changes_the_identity(tmp_path):
    pack = make_pack(tmp_path / "anna")
    before = VoicePack.open(tmp_path / "anna").identity
    assert VoicePack.open(tmp_path / "anna").identity == before  # stable while nothing changes
    pack.add("Tot ziens.", voice(500.0))
    after = VoicePack.open(tmp_path / "anna").identity
    assert after != before
    assert dominant_hz(pack.recording("Tot ziens.").samples, RATE) == pytest.approx(500.0, abs=2)
    assert [p.name for p in (tmp_path / "anna" / "phrases").iterdir() if p.name.startswith(".")] == []
    # an edit in place (same size and name) is seen too
    path = pack.path("een")
    data = bytearray(path.read_bytes())
    stat = path.stat()
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert VoicePack.open(tmp_path / "anna").identity != after


def test_a_new_pack_needs_a_new_or_empty_folder(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(VoicePackError, match="other files in it"):
        VoicePack.create(tmp_path / "notes", speaker="A", language="nl")
    (tmp_path / "file").write_text("x")
    with pytest.raises(VoicePackError, match="is a file"):
        VoicePack.create(tmp_path / "file", speaker="A", language="nl")
    with pytest.raises(VoicePackError, match="does not exist"):
        VoicePack.create(tmp_path / "no" / "pack", speaker="A", language="nl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "notes"]


# --- sessions -------------------------------------------------------------------------------


def test_recordings_speak_the_phrases_the_pack_has_and_the_engine_the_rest(tmp_path, script, fake_engine, caplog):
    make_pack(tmp_path / "anna", texts=[t for t in PHRASES if t not in ("Tot ziens.", "drie")])
    with caplog.at_level(logging.WARNING):
        session = prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "anna"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"voice pack {tmp_path / 'anna'} has no recording of 2 of 6 phrases; the engine voice says them: 'Tot ziens.', 'drie'"
    ]
    assert fake_engine.spoken == ["Tot ziens.", "drie"]
    assert session.recorded == frozenset(PHRASES) - {"Tot ziens.", "drie"}
    mix = session.mixer.render_all()
    rate = session.sample_rate
    for event in session.timeline.of_kind(Kind.SPEECH, Kind.COUNT):
        heard = span(mix, rate, event.start_s + 0.1, event.start_s + min(event.duration_s, 0.5))
        wanted = pitch_of(event.text) if event.text in session.recorded else ENGINE_HZ
        assert dominant_hz(heard, rate, 150, 800) == pytest.approx(wanted, abs=4), event.text
        # levelled to the voice level like the engine's phrases
        assert gain_to_db(active_rms(session.mixer.voice[event.text].samples, rate)) == pytest.approx(-20.0, abs=1.0)


def test_strict_refuses_a_pack_that_lacks_phrases_before_the_engine_speaks(tmp_path, script, fake_engine):
    make_pack(tmp_path / "anna", texts=PHRASES[:-1])
    with pytest.raises(VoicePackError) as raised:
        prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "anna", strict=True))
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        f"{tmp_path / 'anna'}: has no recording of 1 of 6 phrases: 'drie'; "
        "record them with 'voiceguide record', or leave out strict"  # the command line says --strict (below)
    )
    assert fake_engine.spoken == []
    make_pack(tmp_path / "full")
    session = prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "full", strict=True))
    assert session.recorded == frozenset(PHRASES) and fake_engine.spoken == []


def test_the_pack_is_asked_with_the_scripts_own_text_and_the_engine_with_the_respelling(tmp_path, script, fake_engine):
    make_pack(tmp_path / "anna", texts=[t for t in PHRASES if t != "Ga rustig zitten."])
    lexicon = Lexicon({"voeten": "voetuh", "rustig": "ruustug"})
    session = prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "anna"), lexicon=lexicon)
    assert "Voel je voeten op de grond." in session.recorded  # found by its own spelling
    assert fake_engine.spoken == ["Ga ruustug zitten."]  # the missing phrase, respelled for the engine


def test_recordings_are_not_cached_as_engine_audio_and_a_re_recording_is_heard_at_once(tmp_path, script, fake_engine):
    """The raw phrase cache holds only what the engine said; the levelled
    copies of recordings are keyed by the pack's identity, so they are
    made anew when a phrase is recorded again."""
    pack = make_pack(tmp_path / "anna", texts=PHRASES[:-1])
    cache = PhraseCache(tmp_path / "cache")
    options = VoiceOptions(voice_pack=tmp_path / "anna")
    session = prepare_session(script, engine=fake_engine, cache=cache, voice=options)
    engine_id = VoicePackEngine(VoicePack.open(tmp_path / "anna"), fake_engine).describe()
    raw = {text for text in PHRASES if cache.path(cache.key(engine_id, session.voice, text)).exists()}
    assert raw == {"drie"} and fake_engine.spoken == ["drie"]
    again = prepare_session(script, engine=fake_engine, cache=cache, voice=options)
    assert fake_engine.spoken == ["drie"]  # all from the cache the second time
    assert all(np.array_equal(again.mixer.voice[t].samples, session.mixer.voice[t].samples) for t in PHRASES)
    pack.add("Tot ziens.", voice(520.0))
    assert VoicePackEngine(VoicePack.open(tmp_path / "anna"), fake_engine).describe() != engine_id
    session = prepare_session(script, engine=fake_engine, cache=cache, voice=options)
    event = next(e for e in session.timeline.of_kind(Kind.SPEECH) if e.text == "Tot ziens.")
    heard = span(session.mixer.render_all(), session.sample_rate, event.start_s + 0.1, event.start_s + 0.6)
    assert dominant_hz(heard, session.sample_rate, 150, 800) == pytest.approx(520.0, abs=4)


def test_a_recording_keeps_its_own_release_where_the_engine_voice_gets_one(tmp_path, script, fake_engine):
    """A recording is levelled without the engine voice's trim and release:
    nothing cut, no release laid on top of the speaker's own decay
    (level_voice would end it 40 ms after its last loud frame with a fixed
    60 ms fade); only the usual 40 ms of silence follows, as for every phrase."""
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    recorded = voice(310.0, 1.5, rate=44_100, release_s=0.4)
    pack.add("Tot ziens.", recorded)
    session = prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "anna"))
    levelled = session.mixer.voice["Tot ziens."].samples
    tail = int(TAIL_S * 44_100)
    assert len(levelled) == len(recorded.samples) + tail  # same rate: not a sample cut
    assert not levelled[-tail:].any()
    levelled = levelled[:-tail]
    end = int(0.4 * 44_100)
    decay_in = rms_dbfs(recorded.samples[-end : -end // 2]) - rms_dbfs(recorded.samples[-end // 2 : -end // 4])
    decay_out = rms_dbfs(levelled[-end : -end // 2]) - rms_dbfs(levelled[-end // 2 : -end // 4])
    assert decay_out == pytest.approx(decay_in, abs=0.5)


def test_recorded_counts_are_placed_with_their_vowel_on_the_beat(tmp_path, script, fake_engine):
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    for text in PHRASES:  # every count starts with 120 ms of hiss before its vowel
        pack.add(text, voice(pitch_of(text), 0.45 if len(text) < 6 else 1.2, consonant_s=0.12 if len(text) < 6 else 0))
    session = prepare_session(script, engine=fake_engine, voice=VoiceOptions(voice_pack=tmp_path / "anna"))
    rate = session.sample_rate
    for word in ("een", "twee", "drie"):
        assert session.count_onsets_s[word] == pytest.approx(vowel_onset_s(session.mixer.voice[word]), abs=1e-9)
        assert 0.11 <= session.count_onsets_s[word] <= 0.16
    inhale, exhale = session.timeline.of_kind(Kind.INHALE)[0], session.timeline.of_kind(Kind.EXHALE)[0]
    beats = [inhale.start_s + n for n in range(3)] + [exhale.start_s + n for n in range(3)]
    counts = session.timeline.of_kind(Kind.COUNT)
    mix = session.mixer.render_all()
    for count, beat in zip(counts, beats):
        # the vowel (the count's pitch, 150-1000 Hz) starts on the beat in the mix
        around = span(mix, rate, beat - 0.2, beat + 0.2)
        frame = int(0.005 * rate)
        bands = []
        for k in range(0, len(around) - 4 * frame, frame):
            spectrum = np.abs(np.fft.rfft(around[k : k + 4 * frame] * np.hanning(4 * frame)))
            freqs = np.fft.rfftfreq(4 * frame, 1 / rate)
            bands.append(np.sum(spectrum[np.abs(freqs - pitch_of(count.text)) < 30] ** 2))
        bands = np.array(bands)
        heard = (np.argmax(bands >= bands.max() * 0.25) * frame + 2 * frame) / rate + beat - 0.2
        assert heard == pytest.approx(beat, abs=0.02), count.text


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def fake_voice(monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")


def test_show_marks_which_phrases_the_pack_speaks(tmp_path, write_script, fake_voice):
    path = write_script(SCRIPT)
    make_pack(tmp_path / "anna", texts=[t for t in PHRASES if t != "Tot ziens."])
    result = run("show", str(path), "--voice-pack", str(tmp_path / "anna"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"voice pack {tmp_path / 'anna'}: 5 of 6 phrases recorded" in lines
    assert lines.index(next(line for line in lines if line.startswith("START"))) > 0
    assert next(line for line in lines if line.startswith("START")).split() == ["START", "LENGTH", "WHAT", "VOICE", "DETAIL"]
    rows = {line.split(None, 4)[-1]: line.split()[3] for line in lines if " speech " in line}
    assert rows == {"Ga rustig zitten.": "pack", "Voel je voeten op de grond.": "pack", "Tot ziens.": "engine"}
    assert [line.split()[3] for line in lines if " inhale " in line or " exhale " in line] == ["pack", "pack"]


def test_export_with_a_pack_carries_each_recording_at_its_planned_time(tmp_path, write_script, fake_voice):
    path = write_script(SCRIPT)
    make_pack(tmp_path / "anna")
    out = tmp_path / "out.wav"
    result = run("export", str(path), "--voice-pack", str(tmp_path / "anna"), "--strict", "-o", str(out))
    assert result.exit_code == 0, result.output
    audio, rate = sf.read(str(out), dtype="float32")
    session = prepare_session(load_script(path), voice=VoiceOptions(voice_pack=tmp_path / "anna"))
    for event in session.timeline.of_kind(Kind.SPEECH, Kind.COUNT):
        heard = span(audio, rate, event.start_s + 0.15, event.start_s + min(event.duration_s, 0.45))
        assert dominant_hz(heard, rate, 150, 800) == pytest.approx(pitch_of(event.text), abs=4), event.text


def damage(pack: Path) -> None:
    flac = next((pack / "phrases").glob("een-*.flac"))
    flac.write_bytes(flac.read_bytes()[: len(flac.read_bytes()) // 2])


def rename(pack: Path) -> None:
    files = sorted((pack / "phrases").glob("*.flac"))
    een, twee = next(f for f in files if f.name.startswith("een-")), next(f for f in files if f.name.startswith("twee-"))
    data = twee.read_bytes()
    twee.write_bytes(een.read_bytes())
    een.write_bytes(data)


def newer(pack: Path) -> None:
    manifest = pack / MANIFEST_NAME
    manifest.write_text(manifest.read_text().replace('"format": 1', '"format": 7'))


def broken_json(pack: Path) -> None:
    (pack / MANIFEST_NAME).write_text('{\n  "format": 1,\n  "speaker" "Anna"\n}\n')


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            damage,
            "{pack}/phrases/{een}: the recording of 'een' is damaged (flac decoder lost sync); record it again with 'voiceguide record'",
        ),
        (rename, "{pack}/phrases/{een}: holds 'twee', not 'een': the file was renamed; record it again"),
        (
            newer,
            "{pack}/voicepack.json: the voice pack has format 7, made by a newer voiceguide ({version}); this one reads format 1: update voiceguide",
        ),
        (broken_json, "{pack}/voicepack.json:3:13: not valid JSON: Expecting ':' delimiter"),
        (lambda pack: None, "{pack}: the voice pack speaks 'nl' and the script is 'en'; use a pack recorded in 'en'"),
    ],
    ids=["damaged-flac", "renamed-flac", "newer-format", "broken-manifest", "other-language"],
)
def test_a_bad_pack_is_one_line_exit_2_and_nothing_written(tmp_path, write_script, fake_voice, spoil, message):
    language = "en" if "speaks 'nl'" in message else "nl"
    path = write_script(SCRIPT.replace("language: nl", f"language: {language}"))
    pack = make_pack(tmp_path / "anna")
    version = pack.info.voiceguide
    spoil(tmp_path / "anna")
    out = tmp_path / "out.wav"
    result = run("export", str(path), "--voice-pack", str(tmp_path / "anna"), "-o", str(out))
    een = phrase_file_name("een")
    assert result.exit_code == 2
    assert result.output.splitlines() == ["voiceguide: " + message.format(pack=tmp_path / "anna", een=een, version=version)]
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("x"), "is a file, not a voice pack folder"),
        (lambda p: None, "no such voice pack folder; make one with: voiceguide record SCRIPT -o FOLDER"),
        (lambda p: p.mkdir(), "not a voice pack (it has no voicepack.json); make one with: voiceguide record SCRIPT -o FOLDER"),
    ],
    ids=["a-file", "missing", "not-a-pack"],
)
def test_a_pack_folder_that_is_not_one_is_one_line(tmp_path, write_script, fake_voice, make, message):
    path = write_script(SCRIPT)
    make(tmp_path / "anna")
    for command in ("show", "export"):
        result = run(
            command,
            str(path),
            "--voice-pack",
            str(tmp_path / "anna"),
            *(["-o", str(tmp_path / "o.wav")] if command == "export" else []),
        )
        assert result.exit_code == 2
        assert result.output.splitlines() == [f"voiceguide: {tmp_path / 'anna'}: {message}"]
    assert not (tmp_path / "o.wav").exists()


def test_strict_without_a_pack_is_a_usage_error(write_script, fake_voice):
    result = run("show", str(write_script(SCRIPT)), "--strict")
    assert result.exit_code == 2
    assert result.output.splitlines() == ["voiceguide: --strict applies to a voice pack: add --voice-pack PACK"]


def test_strict_missing_phrases_exit_2_on_the_command_line(tmp_path, write_script, fake_voice):
    make_pack(tmp_path / "anna", texts=PHRASES[:3])
    result = run(
        "export", str(write_script(SCRIPT)), "--voice-pack", str(tmp_path / "anna"), "--strict", "-o", str(tmp_path / "o.mp3")
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"voiceguide: {tmp_path / 'anna'}: has no recording of 3 of 6 phrases: 'een', 'twee', 'drie'; "
        "record them with 'voiceguide record', or leave out --strict"
    ]
    assert not (tmp_path / "o.mp3").exists()
