"""Tags and chapters in exported files: chapter frames stand in time order (issue 13, item 5)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import cli
from voiceguide.sinks.tags import read_tags

# Titles of different lengths: mutagen on its own writes frames ordered by size.
SCRIPT = """---
title: Hoofdstukken
language: nl
rate: 160
author: Test
---
# Aankomen in de kamer
Een. [pause 1s]
# Ademen
Twee. [pause 1s]
# Voelen wat er is, zonder oordeel
Drie. [pause 1s]
# Af
Vier.
"""
TITLES = ["Aankomen in de kamer", "Ademen", "Voelen wat er is, zonder oordeel", "Af"]


def id3_frames(data: bytes) -> list[tuple[str, str]]:
    """(frame id, element id) of every frame of the ID3v2.3 tag at the start of
    ``data``, in the order they are stored; the element id only for CHAP and CTOC."""
    start = data.find(b"ID3")
    assert start >= 0 and data[start + 3] == 3, "an ID3v2.3 tag"
    size = sum(byte << (7 * (3 - i)) for i, byte in enumerate(data[start + 6 : start + 10]))
    position, end = start + 10, start + 10 + size
    frames = []
    while position + 10 <= end and data[position : position + 4].strip(b"\0"):
        frame_id = data[position : position + 4].decode("ascii")
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        body = data[position + 10 : position + 10 + length]
        element = body.split(b"\0", 1)[0].decode("latin-1") if frame_id in ("CHAP", "CTOC") else ""
        frames.append((frame_id, element))
        position += 10 + length
    return frames


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tags")
    (folder / "hoofdstukken.vg").write_text(SCRIPT, encoding="utf-8")
    outputs = {}
    for suffix in ("mp3", "wav"):
        out = folder / f"hoofdstukken.{suffix}"
        result = CliRunner().invoke(cli, ["export", str(folder / "hoofdstukken.vg"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        outputs[suffix] = out
    return outputs


@pytest.mark.parametrize("suffix", ["mp3", "wav"])
def test_chapter_frames_are_stored_in_time_order_after_their_table_of_contents(exports, suffix):
    data = exports[suffix].read_bytes()
    chapters = [(frame, element) for frame, element in id3_frames(data) if frame in ("CHAP", "CTOC")]
    assert chapters == [("CTOC", "toc"), ("CHAP", "chp0"), ("CHAP", "chp1"), ("CHAP", "chp2"), ("CHAP", "chp3")]


@pytest.mark.parametrize("suffix", ["mp3", "wav"])
def test_mutagen_reads_the_chapters_in_time_order(exports, suffix):
    from mutagen.id3 import ID3
    from mutagen.wave import WAVE

    id3 = ID3(exports[suffix]) if suffix == "mp3" else WAVE(exports[suffix]).tags
    stored = [frame.sub_frames["TIT2"].text[0] for frame in id3.getall("CHAP")]  # in file order
    assert stored == TITLES
    starts = [frame.start_time for frame in id3.getall("CHAP")]
    assert starts == sorted(starts) and len(set(starts)) == 4
    assert [chapter.title for chapter in read_tags(exports[suffix]).chapters] == TITLES


def test_the_version_in_the_tags_is_the_installed_one(tmp_path, monkeypatch):
    """Read from the dist-info as importlib.metadata reads it (without
    importing it: ~24 ms of every export); a damaged one goes to importlib."""
    from importlib.metadata import version

    from voiceguide.sinks import tags

    assert tags._version() == version("voiceguide")
    fake = tmp_path / "voiceguide-9.8.7.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: voiceguide\nVersion: 9.8.7\n\nVersion: no\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert tags._version() == "9.8.7" == version("voiceguide")
    (fake / "METADATA").write_text("Name: voiceguide\n\nVersion: 1\n", encoding="utf-8")  # no version among the headers
    assert tags._version() == version("voiceguide")
