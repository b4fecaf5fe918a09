"""A whole script read in one take, split at its pauses into a voice pack.

Takes are made of real espeak-ng speech (a different voice from the one
sessions fall back to) with pauses between the phrases, written in every
format a phone or recorder gives, and a little room noise under it all.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import run
from scipy.signal import correlate

from voiceguide import load_script, prepare_session
from voiceguide.audio import Audio, resample, trim_silence
from voiceguide.plan.timeline import Kind, spoken_texts
from voiceguide.session import VoiceOptions
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.pack import VoicePack
from voiceguide.take import TakeError, read_take, split_take

RATE = 48_000
SCRIPT = (Path(__file__).resolve().parent / "data" / "take.vg").read_text(encoding="utf-8")
"""A short Dutch script read aloud in one take (tests_installed/ records it too)."""


@pytest.fixture(scope="module")
def phrases(engine) -> dict[str, np.ndarray]:
    """Each phrase of SCRIPT spoken by espeak (a female Dutch voice), trimmed, at 48 kHz."""
    texts = spoken_texts(load_script_text(SCRIPT))
    spoken = {}
    for text in texts:
        audio = resample(engine.synthesize(text, VoiceSettings("gmw/nl+f3", 150)), RATE)
        spoken[text] = trim_silence(audio.samples, RATE, margin_s=0.0) * 0.7
    return spoken


def load_script_text(text: str):
    from voiceguide.parse.script import parse_script

    return parse_script(text, "take.vg")


def make_take(
    phrases: dict[str, np.ndarray], pauses_s: list[float] | None = None, inside: int | None = None
) -> tuple[Audio, list[tuple[float, float]]]:
    """The phrases in order with ``pauses_s`` after each (default 1.8 s), a
    1.5 s pause inside phrase ``inside`` (0-based) if given, over room noise;
    and where each phrase's voice really is (start, end) in seconds."""
    texts = list(phrases)
    pauses_s = pauses_s or [1.8] * len(texts)
    parts = [np.zeros(int(0.9 * RATE))]
    where = []
    position = 0.9
    for k, text in enumerate(texts):
        voice = phrases[text]
        if k == inside:
            half = len(voice) // 2
            voice = np.concatenate([voice[:half], np.zeros(int(1.5 * RATE)), voice[half:]])
        where.append((position, position + len(voice) / RATE))
        parts += [voice, np.zeros(int(pauses_s[k] * RATE))]
        position += len(voice) / RATE + pauses_s[k]
    x = np.concatenate(parts)
    x += np.random.default_rng(7).standard_normal(len(x)) * 10 ** (-65 / 20)
    return Audio(x.astype(np.float32), RATE), where


def write_take(audio: Audio, path: Path) -> Path:
    if path.suffix == ".m4a":
        av = pytest.importorskip("av")
        with av.open(str(path), "w") as container:
            stream = container.add_stream("aac", rate=audio.sample_rate, layout="mono")
            for start in range(0, len(audio.samples), 1024):
                frame = av.AudioFrame.from_ndarray(audio.samples[None, start : start + 1024], format="flt", layout="mono")
                frame.sample_rate = audio.sample_rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    else:
        sf.write(str(path), audio.samples, audio.sample_rate)
    return path


@pytest.fixture
def script_file(tmp_path) -> Path:
    path = tmp_path / "take.vg"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


# --- splitting ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".ogg", ".m4a"])
def test_a_take_in_any_format_splits_into_the_scripts_phrases(tmp_path, phrases, suffix):
    audio, where = make_take(phrases)
    path = write_take(audio, tmp_path / f"take{suffix}")
    found = split_take(read_take(path), list(phrases), path)
    assert [p.text for p in found] == list(phrases)
    # lossy codecs add their delay (AAC ~21 ms, MP3 ~25 ms) and blur the edges a little; a
    # soft ending (the 'n' of 'een') may fall under the voice threshold before its last sample
    for phrase, (start, end) in zip(found, where):
        assert phrase.start_s == pytest.approx(start, abs=0.06), phrase.text
        assert end - 0.15 <= phrase.end_s <= end + 0.06, phrase.text


def test_phrases_read_at_uneven_pace_and_with_uneven_pauses_still_split(phrases):
    rng = np.random.default_rng(3)
    uneven = {}
    for text, voice in phrases.items():  # each phrase 0.7x to 1.4x its length
        uneven[text] = resample(Audio(voice, RATE), int(RATE * rng.uniform(0.7, 1.4))).samples
    audio, where = make_take(uneven, pauses_s=list(rng.uniform(1.1, 4.0, len(phrases))))
    found = split_take(audio, list(phrases))
    assert [round(p.start_s, 1) for p in found] == [round(start, 1) for start, _ in where]


def test_a_missing_pause_names_the_phrase_and_where_it_started(phrases):
    pauses = [1.8] * len(phrases)
    pauses[1] = 0.4  # after 'Voel je voeten op de grond.'
    audio, where = make_take(phrases, pauses)
    with pytest.raises(TakeError) as raised:
        split_take(audio, list(phrases), "take.m4a")
    start = f"0:{where[1][0]:04.1f}"
    assert str(raised.value) == (
        f"take.m4a: phrase 2 'Voel je voeten op de grond.' found no pause after {start}; "
        "read it again with a longer pause (a second or more) before phrase 3 'Adem nu weer in je eigen tempo.'"
    )


def test_a_pause_inside_a_phrase_is_named_too(phrases):
    audio, where = make_take(phrases, inside=0)
    with pytest.raises(TakeError, match=r"phrase 1 'Ga rustig zitten, op een stoe\.\.\.' has a pause in it at 0:0\d\.\d"):
        split_take(audio, list(phrases))


def test_a_take_without_pauses_is_refused_at_its_first_phrase(phrases):
    audio, _ = make_take(phrases, pauses_s=[0.3] * len(phrases))
    with pytest.raises(TakeError) as raised:
        split_take(audio, list(phrases), "take.wav")
    assert str(raised.value) == (
        "take.wav: phrase 1 'Ga rustig zitten, op een stoe...' found no pause after 0:00.9 "
        f"(the take has 1 part between pauses for {len(phrases)} phrases); "
        "read it again with a pause of a second or more after every phrase"
    )


def test_a_reading_of_another_script_is_refused(phrases):
    audio, _ = make_take(phrases)
    with pytest.raises(TakeError, match=f"the take has {len(phrases)} parts between pauses and the script only 1 phrases"):
        split_take(audio, ["Hallo."])


# --- the command ------------------------------------------------------------------------------


def test_record_from_a_take_fills_a_pack_and_the_export_carries_the_take_at_the_planned_times(
    tmp_path, phrases, script_file, monkeypatch
):
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")  # anything not in the pack would be heard as the fake voice
    audio, where = make_take(phrases)
    take = write_take(audio, tmp_path / "take.flac")
    pack = tmp_path / "anna"
    result = run("record", str(script_file), "--from-take", str(take), "-o", str(pack))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(phrases) + 1 and lines[-1] == f"wrote {len(phrases)} recordings to {pack}"
    for line, text, (start, _) in zip(lines, phrases, where):
        number, span, said = line.split(None, 2)
        assert said == text and span.startswith(f"0:{start:04.1f}"[:5])
    assert VoicePack.open(pack, "nl").info.speaker == "Anna"
    assert VoicePack.open(pack).missing(list(phrases)) == []

    out = tmp_path / "session.wav"
    result = run("export", str(script_file), "--voice-pack", str(pack), "--strict", "-o", str(out))
    assert result.exit_code == 0, result.output
    exported, rate = sf.read(str(out), dtype="float32")
    session = prepare_session(load_script(script_file), voice=VoiceOptions(voice_pack=pack))
    events = session.timeline.of_kind(Kind.SPEECH, Kind.COUNT)
    take_at_export_rate = resample(audio, rate).samples
    seen = set()
    for event in events:
        if event.text in seen:
            continue
        seen.add(event.text)
        start, end = where[list(phrases).index(event.text)]
        voice = take_at_export_rate[int(start * rate) : int(min(end, start + 1.5) * rate)]
        window = exported[int((event.start_s - 0.3) * rate) : int((event.start_s + event.duration_s + 0.3) * rate)]
        scores = correlate(window.astype(np.float64), voice.astype(np.float64), mode="valid", method="fft")
        running = np.concatenate([[0.0], np.cumsum(window.astype(np.float64) ** 2)])
        energy = np.sqrt((running[len(voice) :] - running[: -len(voice)]) * np.sum(voice**2.0))
        best = int(np.argmax(scores))
        assert scores[best] / energy[best] > 0.9, event.text  # the take's own audio, high-passed and levelled
        found_s = event.start_s - 0.3 + best / rate
        # the voice begins just after the event starts: the recording's pre-roll (60 ms) comes first
        assert event.start_s <= found_s <= event.start_s + 0.12, (event.text, found_s - event.start_s)


def test_a_second_take_replaces_the_recordings_it_holds(tmp_path, phrases, script_file):
    audio, _ = make_take(phrases)
    take = write_take(audio, tmp_path / "take.wav")
    pack = tmp_path / "anna"
    assert run("record", str(script_file), "--from-take", str(take), "-o", str(pack)).exit_code == 0
    before = VoicePack.open(pack).identity
    louder = write_take(Audio(audio.samples * 0.5, RATE), tmp_path / "take2.wav")
    result = run("record", str(script_file), "--from-take", str(louder), "-o", str(pack))
    assert result.output.splitlines()[-1] == f"wrote {len(phrases)} recordings to {pack} ({len(phrases)} replaced)"
    assert VoicePack.open(pack).identity != before


def sparse_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A real WAV of ``seconds`` of silence, stored sparsely (no disk used)."""
    size = int(seconds * rate) * 2
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    with path.open("wb") as file:
        file.write(header + b"data" + struct.pack("<I", size))
        file.truncate(44 + size)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: sparse_wav(p.with_suffix(".wav"), 3 * 3600),
            "the take lasts 3:00:00; a take may last 30:00 at most: read the script once, pausing a second between phrases",
        ),
        (
            lambda p: (p.with_suffix(".wav").write_bytes(b"RIFF\x00\x00junk" * 40), p.with_suffix(".wav"))[1],
            "cannot be read as audio (Format not recognised.); use WAV, FLAC, MP3, OGG or M4A",
        ),
        (lambda p: p.with_suffix(".wav"), "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a folder; give the take's audio file"),
        (
            lambda p: (sf.write(str(p.with_suffix(".wav")), np.zeros(RATE * 5, dtype=np.float32), RATE), p.with_suffix(".wav"))[
                1
            ],
            "no voice heard in the take: it is silent or only noise",
        ),
    ],
    ids=["three-hours", "damaged", "missing", "a-folder", "silent"],
)
def test_a_bad_take_is_one_line_exit_2_and_no_pack_is_made(tmp_path, script_file, make, message):
    take = make(tmp_path / "take")
    pack = tmp_path / "anna"
    result = run("record", str(script_file), "--from-take", str(take), "-o", str(pack))
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"voiceguide: {take}: {message}"]
    assert not pack.exists()


def test_a_take_that_does_not_split_leaves_an_existing_pack_as_it_was(tmp_path, phrases, script_file):
    good, _ = make_take(phrases)
    pack = tmp_path / "anna"
    assert (
        run("record", str(script_file), "--from-take", str(write_take(good, tmp_path / "good.wav")), "-o", str(pack)).exit_code
        == 0
    )
    before = {p.name: p.read_bytes() for p in (pack / "phrases").iterdir()}
    bad, _ = make_take(phrases, pauses_s=[1.8, 0.3] + [1.8] * (len(phrases) - 2))
    result = run("record", str(script_file), "--from-take", str(write_take(bad, tmp_path / "bad.wav")), "-o", str(pack))
    assert result.exit_code == 2 and "phrase 2 'Voel je voeten op de grond.' found no pause after" in result.output
    assert {p.name: p.read_bytes() for p in (pack / "phrases").iterdir()} == before


def test_a_pack_of_another_language_is_refused_before_the_take_is_read(tmp_path, script_file):
    VoicePack.create(tmp_path / "anna", speaker="Anna", language="en")
    take = sparse_wav(tmp_path / "take.wav", 10)
    result = run("record", str(script_file), "--from-take", str(take), "-o", str(tmp_path / "anna"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"voiceguide: {tmp_path / 'anna'}: the voice pack speaks 'en' and the script is 'nl'; use a pack recorded in 'nl'"
    ]


def test_an_m4a_take_without_pyav_says_what_to_install(tmp_path, script_file, monkeypatch):
    (tmp_path / "take.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    result = run("record", str(script_file), "--from-take", str(tmp_path / "take.m4a"), "-o", str(tmp_path / "anna"))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"voiceguide: {tmp_path / 'take.m4a'}: reading M4A/AAC takes needs PyAV: pip install 'voiceguide[m4a]' "
        "(or convert the take to WAV, FLAC or MP3)"
    ]
    assert not (tmp_path / "anna").exists()


def test_the_sheet_lists_the_phrases_in_reading_order_and_what_the_pack_has(tmp_path, script_file):
    result = run("record", str(script_file), "--sheet")
    texts = spoken_texts(load_script(script_file))
    assert result.output.splitlines() == [f"{n:3d}  {text}" for n, text in enumerate(texts, start=1)]
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    pack.add("een", Audio(np.full(4800, 0.1, dtype=np.float32), RATE))
    lines = run("record", str(script_file), "--sheet", "-o", str(tmp_path / "anna")).output.splitlines()
    assert [line[5:8] for line in lines] == ["[x]" if text == "een" else "[ ]" for text in texts]
