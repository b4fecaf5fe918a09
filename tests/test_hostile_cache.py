"""Hostile input, round 3 (issue 27): the cache folder.

The cache folder may be pointed at a folder that is not only the cache's
(``VOICEGUIDE_CACHE_DIR=$HOME``): ``cache --clear`` deletes only the entries
voiceguide wrote and recognises, never a user's file under a name the cache
uses. A damaged or planted entry is measured or made again, never trusted
and never a traceback.
"""

from __future__ import annotations

import os

import pytest
from hostile import SHORT, voiceguide


def _users_files(home):
    """A home folder holding the user's own files under the cache's names."""
    mine = {
        "phrases/notes.txt": "my notes",
        "phrases/ab/letter.vgc": "not a phrase",  # our suffix, not our name
        f"phrases/ab/{'a' * 64}.vgc": "not a phrase either",  # our name, not our header
        "meta/settings.json": "{}",
        "meta/voicepack-0123456789abcdef0123456789abcdef.json.bak": "[]",
        "profiles/holiday.jpg": "jpeg",
        "models/my-voice.onnx": "\x08 a model of my own",  # not named as voiceguide names its kept models
        f"models/piper-1-2-{'c' * 32}.onnx": "named like ours, but no ONNX",
        "documents/tax.pdf": "pdf",
    }
    for name, text in mine.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    os.symlink(home / "documents", home / "profiles" / "ab")  # a link is followed by nothing
    return mine


@pytest.mark.slow
def test_clearing_a_cache_pointed_at_home_deletes_only_what_voiceguide_wrote(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    mine = _users_files(home)
    script = tmp_path / "kort.vg"
    script.write_text(SHORT, encoding="utf-8")
    exported = voiceguide("export", script, "-o", tmp_path / "out.wav", VOICEGUIDE_CACHE_DIR=str(home))
    assert exported.returncode == 0, exported.stderr
    kept_model = home / "models" / f"piper-20261126-4096-{'d' * 32}.onnx"  # as speech/piper_network.fixed_model_path names one
    kept_model.write_bytes(b"\x08\x08" + bytes(4094))
    kept_model.with_suffix(".ort-1.32.0.onnx").write_bytes(b"\x08\x08" + bytes(4094))  # its optimised_model_path
    for part in (".durations.onnx", ".durations.ort-1.32.0.onnx"):  # its durations_model_path, and that one's copy
        kept_model.with_suffix(part).write_bytes(b"\x08\x08" + bytes(4094))
    ours = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink() and str(p.relative_to(home)) not in mine]
    assert len([p for p in ours if p.suffix == ".vgc"]) > 2
    assert not (home / "CACHEDIR.TAG").exists()  # $HOME was not made by voiceguide: never tagged
    listed = voiceguide("cache", VOICEGUIDE_CACHE_DIR=str(home))
    assert listed.stdout.startswith(f"cache: {home} ({len(ours)} files,"), listed.stdout  # ours only
    result = voiceguide("cache", "--clear", VOICEGUIDE_CACHE_DIR=str(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"cleared {home} ({len(ours)} files,")
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and not p.is_symlink())
    assert left == sorted(mine), left
    assert all((home / name).read_text() == text for name, text in mine.items())
    again = voiceguide("cache", VOICEGUIDE_CACHE_DIR=str(home))
    assert again.stdout.startswith(f"cache: {home} (0 files,"), again.stdout


@pytest.mark.slow
def test_a_cache_folder_voiceguide_makes_is_tagged_and_cleared_whole(tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "kort.vg"
    script.write_text(SHORT, encoding="utf-8")
    assert voiceguide("export", script, "-o", tmp_path / "out.wav", VOICEGUIDE_CACHE_DIR=str(cache)).returncode == 0
    assert (cache / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55")
    assert voiceguide("cache", "--clear", VOICEGUIDE_CACHE_DIR=str(cache)).returncode == 0
    assert sorted(p.name for p in cache.iterdir()) == ["CACHEDIR.TAG"]


@pytest.mark.slow
def test_a_cached_loudness_profile_holding_nan_is_measured_again(tmp_path):
    import struct
    import zlib

    import numpy as np
    import soundfile as sf

    cache = tmp_path / "cache"
    script = tmp_path / "kort.vg"
    script.write_text(SHORT, encoding="utf-8")
    first = voiceguide("export", script, "-o", tmp_path / "a.wav", VOICEGUIDE_CACHE_DIR=str(cache))
    assert first.returncode == 0, first.stderr
    header = struct.Struct("<4s40sIIIQI")
    for entry in (cache / "profiles").rglob("*"):
        if entry.is_file():
            data = bytearray(entry.read_bytes())
            count = header.unpack_from(data)[-1]
            energy = np.full(count, np.nan, dtype="<f8").tobytes()
            body = energy + bytes(data[header.size + count * 8 : -4])
            entry.write_bytes(bytes(data[: header.size]) + body + struct.pack("<I", zlib.crc32(body)))
    again = voiceguide("export", script, "-o", tmp_path / "b.wav", VOICEGUIDE_CACHE_DIR=str(cache))
    assert again.returncode == 0, again.stderr
    assert "inf" not in again.stdout and again.stdout.split("(", 1)[1] == first.stdout.split("(", 1)[1]
    a, _ = sf.read(tmp_path / "a.wav")
    b, _ = sf.read(tmp_path / "b.wav")
    assert np.array_equal(a, b)


def test_a_cache_folder_trusted_once_is_refused_once_it_changes(tmp_path, monkeypatch):
    """The trust check is made in full once per folder and process, then
    with one stat: a folder whose mode changes, or that is swapped for
    another folder under the same name, is walked again and refused."""
    from voiceguide.folders import cache_problem, private_folder

    cache = tmp_path / "cache"
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(cache))
    leaf = private_folder(cache / "phrases" / "ab")
    assert cache_problem(leaf) is None and cache_problem(leaf) is None  # the second from memory
    os.chmod(leaf, 0o770)
    assert cache_problem(leaf) == f"{leaf} can be written by other users"
    os.chmod(leaf, 0o700)
    assert cache_problem(leaf) is None
    os.rename(leaf, tmp_path / "moved")  # another folder in its place, open to all
    leaf.mkdir()
    os.chmod(leaf, 0o777)
    assert cache_problem(leaf) == f"{leaf} can be written by other users"
    try:
        private_folder(leaf)
    except OSError as exc:
        assert str(exc) == f"{leaf} can be written by other users"
    else:
        raise AssertionError("an open folder was taken for a private one")
    # a folder above the cache made open to anyone: its subfolders, checked before, are checked again
    os.chmod(leaf, 0o700)
    assert cache_problem(leaf) is None
    os.chmod(cache / "phrases", 0o777)
    os.rename(leaf, tmp_path / "moved-again")
    leaf.mkdir(mode=0o700)
    assert cache_problem(leaf) == f"{cache / 'phrases'} can be written by other users"
