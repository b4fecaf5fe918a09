"""Hostile input, round 2 (issue 18): resource exhaustion.

A shared script, manifest or clip gets bounded time and memory: its file
type and size are checked before it is read, a clip's declared size before
it is decoded, and no parser step grows faster than the input. Runs that
must not read something whole get 1 GB of address space (reading the
hostile files whole needed 2 to 7 GB); a hang fails at the timeout.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hostile import SHORT, one_line, voiceguide

from voiceguide import rules

# --- clips: what a file declares is bounded before it is decoded ---------------------------------


def sparse_wav(path: Path, channels: int, rate: int, seconds: float) -> Path:
    """A WAV whose header declares ``seconds`` of silence, the data a sparse
    hole: gigabytes of samples that cost the disk nothing."""
    with sf.SoundFile(path, "w", samplerate=rate, channels=channels, subtype="PCM_16", format="WAV") as file:
        file.write(np.zeros((16, channels), dtype=np.int16))
    size = channels * 2 * int(rate * seconds)
    header = bytearray(path.read_bytes()[:44])
    assert header[36:40] == b"data"
    header[4:8] = (36 + size).to_bytes(4, "little")
    header[40:44] = size.to_bytes(4, "little")
    with path.open("r+b") as file:
        file.write(header)
        file.truncate(44 + size)
    return path


def clip_script(folder: Path, clip: str) -> Path:
    script = folder / "clip.vg"
    script.write_text(f"---\ntitle: Clip\n---\nWelkom.\n[clip {clip}]\n", encoding="utf-8")
    return script


@pytest.mark.parametrize(
    ("channels", "rate", "seconds", "message"),
    [
        (8, 384_000, 590, "has a sample rate of 384000 Hz; 8000 to 192000 Hz are read"),
        (
            8,
            48_000,
            300,
            "holds 8 channels x 48000 Hz x 300 s; at most 57,600,000 samples (10 minutes of stereo at 48 kHz) are read",
        ),
        (2, 44_100, 700, "lasts 700 s; clips are limited to 600 s"),
    ],
)
def test_a_clip_declaring_gigabytes_of_sound_is_refused_before_it_is_decoded(tmp_path, channels, rate, seconds, message):
    sparse_wav(tmp_path / "big.wav", channels, rate, seconds)
    script = clip_script(tmp_path, "big.wav")
    result = voiceguide("check", script, limit_memory=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"{script}:5:1: error: clip big.wav {message}\n"


@pytest.mark.slow
def test_a_clip_that_hides_its_length_is_stopped_while_decoding(tmp_path):
    """A FLAC whose header says its length is unknown, holding 610 s."""
    path = tmp_path / "lang.flac"
    sf.write(path, np.zeros(8_000 * 610, dtype=np.float32), 8_000, format="FLAC")
    data = bytearray(path.read_bytes())
    offset = 8 + 10  # 'fLaC', the block header, then STREAMINFO: 10 bytes before rate, channels, bits and total
    fields = int.from_bytes(data[offset : offset + 8], "big")
    data[offset : offset + 8] = (fields & ~((1 << 36) - 1)).to_bytes(8, "big")  # total samples: 0, unknown
    path.write_bytes(bytes(data))
    script = clip_script(tmp_path, "lang.flac")
    result = voiceguide("check", script, limit_memory=True)
    assert result.stderr == (
        f"{script}:5:1: error: clip lang.flac holds more than a clip may (600 s, 57,600,000 samples); its header did not say so\n"
    )


@pytest.mark.slow
def test_a_long_stereo_clip_within_the_limits_is_read_in_bounded_memory(tmp_path):
    sparse_wav(tmp_path / "lang.wav", 2, 48_000, 590)
    result = voiceguide("check", clip_script(tmp_path, "lang.wav"), limit_memory=True)
    assert result.returncode == 0 and result.stdout == "ok: no errors, no warnings\n", result.stderr


# --- a shared voice pack: its recordings are bounded like clips --------------------------------------

PACK_SCRIPT = "---\ntitle: Pakket\nlanguage: nl\n---\nGa rustig zitten.\nTot ziens.\n"


def flac_declaring(path: Path, channels: int, rate: int, seconds: float) -> Path:
    """A tiny FLAC whose header declares ``seconds`` of sound (STREAMINFO's total)."""
    sf.write(path, np.zeros((rate // 100, channels), dtype=np.float32), rate, format="FLAC")
    data = bytearray(path.read_bytes())
    offset = 8 + 10
    fields = int.from_bytes(data[offset : offset + 8], "big")
    data[offset : offset + 8] = ((fields & ~((1 << 36) - 1)) | int(seconds * rate)).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def shared_pack(tmp_path):
    from voiceguide.audio import Audio
    from voiceguide.speech.pack import VoicePack

    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    tone = np.sin(2 * np.pi * 330 * np.arange(48_000) / 48_000).astype(np.float32) * 0.1
    pack.add("Ga rustig zitten.", Audio(tone, 48_000))
    pack.add("Tot ziens.", Audio(tone, 48_000))
    (tmp_path / "pakket.vg").write_text(PACK_SCRIPT, encoding="utf-8")
    return tmp_path, pack


def test_a_voice_pack_recording_declaring_gigabytes_is_refused_before_it_is_read(shared_pack):
    folder, pack = shared_pack
    flac_declaring(pack.path("Tot ziens."), 8, 384_000, 590)
    result = voiceguide("export", "pakket.vg", "--voice-pack", "anna", "-o", "out.wav", cwd=folder, limit_memory=True)
    message = one_line(result, code=result.returncode)
    assert result.returncode in (1, 2) and not (folder / "out.wav").exists()
    assert "the recording of 'Tot ziens.' has a sample rate of 384000 Hz; 8000 to 192000 Hz are read" in message


def test_a_pipe_among_a_voice_packs_recordings_does_not_hang(shared_pack):
    folder, pack = shared_pack
    os.mkfifo(pack.path("Tot ziens.").with_name("zz-pipe.flac"))
    result = voiceguide("export", "pakket.vg", "--voice-pack", "anna", "-o", "out.wav", cwd=folder, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_voice_pack_manifest_that_is_a_sparse_giant_is_one_line(shared_pack):
    folder, pack = shared_pack
    with (pack.folder / "voicepack.json").open("r+b") as file:
        file.truncate(1 << 30)
    result = voiceguide("export", "pakket.vg", "--voice-pack", "anna", "-o", "out.wav", cwd=folder, limit_memory=True, timeout=30)
    assert "voice pack manifest" in one_line(result, code=result.returncode) and result.returncode in (1, 2)


# --- files that are not what they say -----------------------------------------------------------------


@pytest.fixture
def odd_files(tmp_path):
    os.mkfifo(tmp_path / "pipe.vg")
    os.mkfifo(tmp_path / "pipe.toml")
    with (tmp_path / "huge.vg").open("wb") as file:
        file.truncate(2 << 30)  # 2 GB, sparse
    with (tmp_path / "huge.toml").open("wb") as file:
        file.truncate(1 << 30)
    return tmp_path


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "pipe.vg"], "voiceguide: pipe.vg: is a pipe (FIFO), not a script"),
        (["export", "pipe.vg", "-o", "x.wav"], "voiceguide: pipe.vg: is a pipe (FIFO), not a script"),
        (["show", "/dev/zero"], "voiceguide: /dev/zero: is a device, not a script"),
        (["show", "huge.vg"], "voiceguide: huge.vg: script is 2147483648 bytes; scripts are limited to 200000 characters"),
        (["batch", "pipe.toml", "-o", "out"], "voiceguide: pipe.toml: is a pipe (FIFO), not a manifest"),
        (["batch", "/dev/zero", "-o", "out"], "voiceguide: /dev/zero: is a device, not a manifest"),
        (["batch", "huge.toml", "-o", "out"], "voiceguide: huge.toml: manifest is 1073741824 bytes; the limit is 1000000"),
    ],
)
def test_a_pipe_a_device_or_a_sparse_giant_is_one_line_at_once(odd_files, args, expected):
    result = voiceguide(*args, cwd=odd_files, timeout=30, limit_memory=True)
    assert one_line(result) == expected
    assert not (odd_files / "out").exists() and not (odd_files / "x.wav").exists()


@pytest.mark.parametrize("kind", ["pipe", "sparse"])
def test_a_lexicon_that_is_a_pipe_or_a_sparse_giant_is_one_line(tmp_path, kind):
    lexicon = tmp_path / "words.tsv"
    if kind == "pipe":
        os.mkfifo(lexicon)
    else:
        with lexicon.open("wb") as file:
            file.truncate(1 << 30)
    script = tmp_path / "lex.vg"
    script.write_text("---\ntitle: Lex\nlexicon: words.tsv\n---\nAdem in.\n", encoding="utf-8")
    result = voiceguide("show", script, timeout=30, limit_memory=True)
    assert one_line(result) == f"voiceguide: {lexicon}: a lexicon must be a text file of at most 256 kB"


def test_check_says_what_a_pipe_is(odd_files):
    result = voiceguide("check", "pipe.vg", cwd=odd_files, timeout=30)
    assert result.returncode == 2 and result.stderr == "pipe.vg: error: is a pipe (FIFO), not a script\n"


# --- parsers take time in proportion to the input ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        "<break " * 28_000,  # one line of unclosed tags
        "<break \n" * 24_000,  # a line each
        "<b\n" * 60_000,  # an SSML error on every line: the once-per-line check scanned every error so far
        "<break time='" * 15_000,
    ],
)
def test_a_script_of_unclosed_tags_is_checked_in_one_pass(tmp_path, body):
    script = tmp_path / "tags.vg"
    script.write_text("---\ntitle: T\n---\n" + body, encoding="utf-8")
    result = voiceguide("check", script, timeout=60)  # these took from 13 s to minutes
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and 1 <= len(lines) <= rules.MAX_REPORTED_ERRORS + 1
    if len(lines) > rules.MAX_REPORTED_ERRORS:
        assert lines[-1].startswith(f"{script}: error: and ") and lines[-1].endswith("fix these first")


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[track]]\nexercise = 'zelfkalmering'\n" * 4_000, ":1:1: the manifest expands to 4000 tracks; the limit is 200"),
        ("a = " + "[" * 5_000 + "]" * 5_000 + "\n", ": not valid TOML: arrays or tables are nested too deeply"),
        ("a = " + "{b = " * 3_000 + "1" + "}" * 3_000 + "\n", ": not valid TOML: arrays or tables are nested too deeply"),
        ("a." * 400_000 + "b = 1\n", ":1:1: a key with more than 32 dotted parts; a manifest's keys have at most two"),
        (
            "[bundle]\n" + "x." * 300_000 + "y = 1\n",
            ":2:1: a key with more than 32 dotted parts; a manifest's keys have at most two",
        ),
        ("a = 1" + "0" * 100_000 + "\n", ": not valid TOML: a number has too many digits"),
    ],
)
def test_a_hostile_manifest_is_one_line_in_bounded_time(tmp_path, text, expected):
    manifest = tmp_path / "m.toml"
    manifest.write_text(text, encoding="utf-8")
    result = voiceguide("batch", manifest, "-o", tmp_path / "out", "--check", timeout=30)
    assert one_line(result) == f"voiceguide: {manifest}{expected}"


def test_a_line_of_spaces_in_a_multi_line_string_is_read_in_one_pass(tmp_path):
    """A table header pattern took cubic time on '[' and a line of spaces."""
    (tmp_path / "kort.vg").write_text(SHORT, encoding="utf-8")
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[bundle]\nauthor = """\n[' + " " * 20_000 + 'x\n"""\nformat = "wav"\n[[track]]\nscript = "kort.vg"\n', encoding="utf-8"
    )
    result = voiceguide("batch", manifest, "-o", tmp_path / "out", "--check", timeout=30)
    assert result.returncode == 2 and "author holds U+000A (line break)" in result.stderr  # read, then refused


# --- the session limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "limit_s"),
    [
        ("", 3 * 3600),
        ("90", 90 * 60),
        ("1e9", 24 * 3600),
        ("inf", 3 * 3600),
        ("nan", 3 * 3600),
        ("-5", 3 * 3600),
        ("0", 3 * 3600),
        ("lots", 3 * 3600),
    ],
)
def test_the_session_limit_is_never_above_a_day_nor_disabled(monkeypatch, value, limit_s):
    monkeypatch.setenv("VOICEGUIDE_MAX_MINUTES", value)
    assert rules.max_session_s() == limit_s


def _hours_of_pauses(folder: Path, parts: int) -> Path:
    script = folder / "lang.vg"
    script.write_text(
        "---\ntitle: Lang\nlanguage: en\n---\n" + "".join(f"Part {n}. [pause 600s]\n" for n in range(parts)), encoding="utf-8"
    )
    return script


@pytest.mark.parametrize(("value", "shown"), [("1e9", "24:00:00"), ("nan", "3:00:00"), ("-1", "3:00:00")])
def test_a_script_beyond_the_limit_is_refused_whatever_the_limit_says(tmp_path, value, shown):
    script = _hours_of_pauses(tmp_path, 150)  # 25 hours
    result = voiceguide("check", script, VOICEGUIDE_MAX_MINUTES=value, limit_memory=True)
    assert result.returncode == 2
    assert f"; the limit is {shown} " in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_script_far_beyond_the_limit_is_refused_before_any_speech_is_made(tmp_path):
    """200 kB of short, different sentences: 17,000 phrases, 6.7 hours. It
    used to be refused only after all of them were synthesized (26 s with
    the fake engine, minutes with espeak, half a GB of cache, 1 GB of memory)."""
    words = "calm breath slow rest soft warm light deep ease still".split()
    body = " ".join(f"{words[n % 10]} {n}." for n in range(17_000))
    script = tmp_path / "veel.vg"
    script.write_text("---\ntitle: Veel\nlanguage: en\n---\n" + body, encoding="utf-8")
    cache = tmp_path / "cache"
    result = voiceguide("check", script, VOICEGUIDE_CACHE_DIR=str(cache), limit_memory=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{script}: error: this session would last at least 4:1")
    assert "(17000 phrases); the limit is 3:00:00" in result.stderr and result.stderr.count("\n") == 1
    assert not any(cache.rglob("*.vgc")), "nothing was synthesized"


@pytest.mark.slow
def test_a_day_long_session_is_planned_in_bounded_memory(tmp_path):
    script = _hours_of_pauses(tmp_path, 140)  # 23 hours 20 minutes
    result = voiceguide("check", script, VOICEGUIDE_MAX_MINUTES="1e9", limit_memory=True)
    assert result.returncode == 0, result.stderr


# --- a bundle's state file is data, not instructions ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        lambda track: track.update(duration_s=math.nan),
        lambda track: track.update(duration_s=1e300),
        lambda track: track.update(lines=["Welkom\n#EXTINF:1,x\nevil.mp3"]),
    ],
)
def test_a_state_file_that_lies_is_not_trusted(tmp_path, damage):
    (tmp_path / "kort.vg").write_text(SHORT, encoding="utf-8")
    (tmp_path / "m.toml").write_text("[bundle]\nformat = 'wav'\n[[track]]\nscript = 'kort.vg'\n", encoding="utf-8")
    assert voiceguide("batch", "m.toml", "-o", "out", cwd=tmp_path).returncode == 0
    state_file = tmp_path / "out" / ".voiceguide-batch.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    damage(next(iter(state["tracks"].values())))
    state_file.write_text(json.dumps(state), encoding="utf-8")
    again = voiceguide("batch", "m.toml", "-o", "out", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].endswith("1 tracks (1 rendered, 0 unchanged), playlist.m3u8, index.html")


@pytest.mark.slow
def test_a_state_file_nested_too_deep_is_ignored(tmp_path):
    (tmp_path / "kort.vg").write_text(SHORT, encoding="utf-8")
    (tmp_path / "m.toml").write_text("[bundle]\nformat = 'wav'\n[[track]]\nscript = 'kort.vg'\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".voiceguide-batch.json").write_text("[" * 100_000 + "]" * 100_000)
    result = voiceguide("batch", "m.toml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
