"""Tags and chapters inside the exported file, written with mutagen.

A session on a phone or in a trainer's folder should say what it is: title,
author, collection (album), track number, language, year, which script it
came from, and where its chapters begin, so a player can skip to
"Breathing". Two tag systems cover the formats:

* ID3v2.3 (MP3, and an ``id3`` chunk in WAV): TIT2, TPE1, TALB, TRCK,
  TLAN, TYER, COMM, and one CHAP frame per chapter under a CTOC table of
  contents (the ID3v2 Chapter Frame Addendum, read by podcast players and
  ``ffprobe -show_chapters``). Version 2.3 because more players read it.
* Vorbis comments (FLAC, OGG Vorbis, Opus): TITLE, ARTIST, ALBUM,
  TRACKNUMBER, LANGUAGE, DATE, COMMENT, and ``CHAPTER001=HH:MM:SS.mmm`` with
  ``CHAPTER001NAME`` (the Xiph chapter extension).

Tags are written to the export's temporary file before it is renamed into
place, so a tagged file appears whole or not at all.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..clock import format_timestamp, parse_timestamp
from ..plan.timeline import Timeline
from ..rules import UNSAFE_CHARACTER

DEFAULT_ALBUM = "voiceguide"
ISO_639_2 = {"nl": "nld", "en": "eng"}
"""ID3 wants three-letter language codes."""
ID3_FORMATS = ("MP3", "WAV")
VORBIS_FORMATS = ("FLAC", "OGG", "OPUS")


@dataclass(frozen=True)
class ChapterMark:
    """A chapter as a player sees it: a title and its span in seconds."""

    title: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class LoudnessTags:
    """How loud the file is, for players that normalise (ReplayGain, R128)."""

    speech_lufs: float
    """The voice's loudness (BS.1770 gated over the speech): what the export aims at."""
    integrated_lufs: float
    """The whole file's integrated loudness (BS.1770-4)."""
    true_peak_dbtp: float
    channels: int = 1
    """The file's channels: a mono file's loudness is measured as one channel
    (BS.1770), so it is heard 3 LU louder on two earbuds."""

    def dual_mono_lufs(self) -> float:
        """The voice's loudness as heard on two earbuds (the same signal on both)."""
        return self.speech_lufs + DUAL_MONO_GAIN_DB if self.channels == 1 else self.speech_lufs

    def replaygain_db(self) -> float:
        """ReplayGain 2.0 track gain: to the -18 LUFS reference, from the integrated loudness."""
        return REPLAYGAIN_REFERENCE_LUFS - self.integrated_lufs

    def r128_q78(self) -> int:
        """Opus R128_TRACK_GAIN: Q7.8 fixed point dB to -23 LUFS (RFC 7845 5.2.1)."""
        return max(-32768, min(32767, round((R128_REFERENCE_LUFS - self.integrated_lufs) * 256)))


DUAL_MONO_GAIN_DB = 10 * math.log10(2)
"""BS.1770 sums the channels' energies: one signal on two channels measures 3.01 LU more."""
REPLAYGAIN_REFERENCE_LUFS = -18.0
R128_REFERENCE_LUFS = -23.0


@dataclass(frozen=True)
class Tags:
    """What is written into an exported file."""

    title: str
    artist: str = ""
    """The script's author (empty: no artist tag)."""
    album: str = DEFAULT_ALBUM
    """The collection the session belongs to."""
    track: int | None = None
    language: str = ""
    """Two-letter code, e.g. ``nl``."""
    year: int | None = None
    comment: str = ""
    chapters: tuple[ChapterMark, ...] = field(default=())
    loudness: LoudnessTags | None = None


def export_year() -> int:
    """The current year, or the year of ``$SOURCE_DATE_EPOCH`` when set
    (the reproducible-builds convention, for byte-identical re-exports)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).year
    return datetime.date.today().year


def script_name(source: str) -> str:
    """A script's name for people: ``zelfkalmering.nl.vg (built-in)`` or the file name."""
    if source.startswith("<built-in ") and source.endswith(">"):
        return f"{source[len('<built-in ') : -1]} (built-in)"
    name = Path(source).name or source
    # a file name is bytes: one that is not UTF-8 (a Latin-1 name) becomes U+FFFD, as do control characters
    name = os.fsencode(name).decode("utf-8", errors="replace")
    return UNSAFE_CHARACTER.sub("\ufffd", name)


def _version() -> str:
    """The installed voiceguide's version, as ``importlib.metadata.version``
    gives it, or "" when it is not installed (running from a checkout).

    Read from the first ``voiceguide-*.dist-info`` (or ``.egg-info``) on
    ``sys.path``, where importlib.metadata finds it too: importing that and
    asking it took ~24 ms of every export (most of it importing the email
    parser); this takes well under 1 ms. Anything else goes to importlib.metadata."""
    import sys

    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("voiceguide-") and name.endswith((".dist-info", ".egg-info")):
                found = _metadata_version(os.path.join(entry or ".", name))
                if found is not None:
                    return found
                return _version_from_importlib()
    return _version_from_importlib()


def _metadata_version(folder: str) -> str | None:
    """The ``Version:`` of a distribution's METADATA (or PKG-INFO), else None."""
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, file), encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Version:"):
                        return line[len("Version:") :].strip() or None
                    if not line.strip():
                        return None  # the headers end at the first blank line
        except OSError:
            continue
    return None


def _version_from_importlib() -> str:
    try:
        from importlib.metadata import version

        return version("voiceguide")
    except Exception:  # not installed (running from a checkout)
        return ""


def chapter_marks(timeline: Timeline) -> tuple[ChapterMark, ...]:
    """One mark per script chapter, each lasting until the next (the last until the end)."""
    chapters = timeline.chapters()
    ends = [c.start_s for c in chapters[1:]] + [timeline.duration_s]
    return tuple(ChapterMark(c.text, c.start_s, max(c.start_s, end)) for c, end in zip(chapters, ends))


def session_tags(timeline: Timeline, *, album: str | None = None, track: int | None = None, year: int | None = None) -> Tags:
    """The tags for an exported session, from its timeline and script."""
    version = _version()
    made_by = f"voiceguide {version}" if version else "voiceguide"
    return Tags(
        title=timeline.title,
        artist=str(timeline.meta.get("author") or ""),
        album=album or DEFAULT_ALBUM,
        track=track,
        language=timeline.language,
        year=year if year is not None else export_year(),
        comment=f"Made with {made_by} from the script {script_name(timeline.source)}",
        chapters=chapter_marks(timeline),
    )


# --- writing ------------------------------------------------------------------------


def write_tags(file: BinaryIO, kind: str, tags: Tags) -> None:
    """Write ``tags`` into an open, complete audio file.

    ``kind`` is ``MP3`` or ``WAV`` (ID3) or ``FLAC``, ``OGG``, ``OPUS``
    (Vorbis comments). The file object must be readable, writable and
    seekable; it is left open.
    """
    file.seek(0)
    if kind in ID3_FORMATS:
        _write_id3(file, kind, tags)
    elif kind in VORBIS_FORMATS:
        _write_vorbis(file, kind, tags)
    else:
        raise ValueError(f"no tag format for {kind}")
    file.flush()


def _id3_frames(tags: Tags) -> list:
    from mutagen.id3 import CHAP, COMM, CTOC, TALB, TDRC, TIT2, TLAN, TPE1, TRCK, TSSE, TXXX, CTOCFlags

    utf8 = 3  # mutagen stores v2.3 text as UTF-16, which every reader knows
    language = ISO_639_2.get(tags.language, "und")
    frames = [TIT2(encoding=utf8, text=[tags.title]), TALB(encoding=utf8, text=[tags.album])]
    if tags.artist:
        frames.append(TPE1(encoding=utf8, text=[tags.artist]))
    if tags.track is not None:
        frames.append(TRCK(encoding=utf8, text=[str(tags.track)]))
    if tags.language:
        frames.append(TLAN(encoding=utf8, text=[language]))
    if tags.year is not None:
        frames.append(TDRC(encoding=utf8, text=[str(tags.year)]))
    if tags.comment:
        frames.append(COMM(encoding=utf8, lang=language, desc="", text=[tags.comment]))
    frames.append(TSSE(encoding=utf8, text=["voiceguide"]))
    for name, value in _loudness_pairs(tags.loudness, "MP3"):
        frames.append(TXXX(encoding=utf8, desc=name, text=[value]))
    if tags.chapters:
        ids = [f"chp{index}" for index in range(len(tags.chapters))]
        frames.append(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=utf8, text=[tags.title])],
            )
        )
        for element_id, chapter in zip(ids, tags.chapters):
            frames.append(
                CHAP(
                    element_id=element_id,
                    start_time=int(round(chapter.start_s * 1000)),
                    end_time=int(round(chapter.end_s * 1000)),
                    start_offset=0xFFFFFFFF,  # "use the times"
                    end_offset=0xFFFFFFFF,
                    sub_frames=[TIT2(encoding=utf8, text=[chapter.title])],
                )
            )
    return frames


class _FramesInOrder:
    """Writes ID3 frames in the order they were added.

    mutagen sorts frames by size before writing, which scatters the chapter
    frames (chp2, chp0, chp3, CTOC, chp1), and players such as ffprobe list
    chapters in the order their frames stand. ``_write`` is the hook mutagen's
    ID3 classes use to serialise their frames; this keeps the frames as
    :func:`_id3_frames` lists them: the text frames, the table of contents,
    then the chapters in time order.
    """

    def _write(self, config):
        from mutagen.id3._tags import save_frame

        return bytearray().join(save_frame(frame, config=config) for frame in self.values())


@functools.cache
def _in_order(id3_class: type) -> type:
    return type(f"InOrder{id3_class.__name__}", (_FramesInOrder, id3_class), {})


def _write_id3(file: BinaryIO, kind: str, tags: Tags) -> None:
    if kind == "MP3":
        from mutagen.id3 import ID3

        id3 = _in_order(ID3)()
        for frame in _id3_frames(tags):
            id3.add(frame)
        id3.save(file, v2_version=3, v1=0, padding=lambda info: 0)
        return
    from mutagen.wave import WAVE

    wave = WAVE(file)
    if wave.tags is None:
        wave.add_tags()
    wave.tags.__class__ = _in_order(type(wave.tags))
    for frame in _id3_frames(tags):
        wave.tags.add(frame)
    file.seek(0)
    wave.save(file, v2_version=3, padding=lambda info: 0)


def _loudness_pairs(loudness: LoudnessTags | None, kind: str) -> list[tuple[str, str]]:
    """ReplayGain 2.0 (ID3 TXXX, Vorbis comments) or, for Opus, R128_TRACK_GAIN
    (Opus files must not carry ReplayGain, RFC 7845), plus voiceguide's own
    speech and integrated loudness."""
    if loudness is None:
        return []
    if kind == "OPUS":
        pairs = [("R128_TRACK_GAIN", str(loudness.r128_q78()))]
    else:
        pairs = [
            ("REPLAYGAIN_TRACK_GAIN", f"{loudness.replaygain_db():+.2f} dB"),
            ("REPLAYGAIN_TRACK_PEAK", f"{10 ** (loudness.true_peak_dbtp / 20):.6f}"),
        ]
    return pairs + [
        ("VOICEGUIDE_SPEECH_LOUDNESS", f"{loudness.speech_lufs:.1f} LUFS"),
        *_as_heard(loudness),
        ("VOICEGUIDE_INTEGRATED_LOUDNESS", f"{loudness.integrated_lufs:.1f} LUFS"),
    ]


def _as_heard(loudness: LoudnessTags) -> list[tuple[str, str]]:
    """For a mono file, the voice's loudness as heard on two earbuds
    (``VOICEGUIDE_DUAL_MONO_LOUDNESS``): the podcast convention is -19 LUFS
    mono, -16 stereo, and this says which a player should compare with."""
    if loudness.channels != 1:
        return []
    return [("VOICEGUIDE_DUAL_MONO_LOUDNESS", f"{loudness.dual_mono_lufs():.1f} LUFS")]


def _vorbis_comments(tags: Tags, kind: str = "") -> list[tuple[str, str]]:
    pairs = [("TITLE", tags.title), ("ALBUM", tags.album)]
    if tags.artist:
        pairs.append(("ARTIST", tags.artist))
    if tags.track is not None:
        pairs.append(("TRACKNUMBER", str(tags.track)))
    if tags.language:
        pairs.append(("LANGUAGE", tags.language))
    if tags.year is not None:
        pairs.append(("DATE", str(tags.year)))
    if tags.comment:
        pairs.append(("COMMENT", tags.comment))
    pairs += _loudness_pairs(tags.loudness, kind)
    for index, chapter in enumerate(tags.chapters, start=1):
        pairs.append((f"CHAPTER{index:03d}", format_timestamp(chapter.start_s)))
        pairs.append((f"CHAPTER{index:03d}NAME", chapter.title))
    return pairs


def _vorbis_file(file: BinaryIO, kind: str):
    if kind == "FLAC":
        from mutagen.flac import FLAC

        return FLAC(file)
    if kind == "OPUS":
        from mutagen.oggopus import OggOpus

        return OggOpus(file)
    from mutagen.oggvorbis import OggVorbis

    return OggVorbis(file)


def _write_vorbis(file: BinaryIO, kind: str, tags: Tags) -> None:
    audio = _vorbis_file(file, kind)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()
    for key, value in _vorbis_comments(tags, kind):
        audio.tags.append((key, value))
    file.seek(0)
    if kind == "FLAC":
        audio.save(file, padding=lambda info: 0)
    else:
        audio.save(file)


# --- reading (for checks and tests) -------------------------------------------------


def read_tags(path: str | Path) -> Tags:
    """The tags and chapters of an exported file, read back with mutagen."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".mp3", ".wav"):
        if suffix == ".mp3":
            from mutagen.id3 import ID3

            id3 = ID3(path)
        else:
            from mutagen.wave import WAVE

            id3 = WAVE(path).tags
        return _from_id3(id3)
    with open(path, "rb") as file:
        kind = {".flac": "FLAC", ".opus": "OPUS"}.get(suffix, "OGG")
        return _from_vorbis(_vorbis_file(file, kind).tags)


def _from_id3(id3) -> Tags:
    def text(frame_id: str) -> str:
        frame = id3.get(frame_id) if id3 is not None else None
        return str(frame.text[0]) if frame is not None and frame.text else ""

    if id3 is None:
        return Tags(title="")
    languages = {three: two for two, three in ISO_639_2.items()}
    comments = id3.getall("COMM")
    chapters = sorted(id3.getall("CHAP"), key=lambda frame: frame.start_time)
    year = text("TDRC") or text("TYER")
    return Tags(
        title=text("TIT2"),
        artist=text("TPE1"),
        album=text("TALB"),
        track=int(text("TRCK").split("/")[0]) if text("TRCK") else None,
        language=languages.get(text("TLAN"), text("TLAN")),
        year=int(year[:4]) if year else None,
        comment=str(comments[0].text[0]) if comments else "",
        chapters=tuple(
            ChapterMark(
                str(c.sub_frames["TIT2"].text[0]) if "TIT2" in c.sub_frames else "", c.start_time / 1000, c.end_time / 1000
            )
            for c in chapters
        ),
    )


def _from_vorbis(comments) -> Tags:
    values: dict[str, str] = {}
    for key, value in comments or []:
        values.setdefault(key.upper(), value)
    starts = []
    index = 1
    while f"CHAPTER{index:03d}" in values:
        starts.append((parse_timestamp(values[f"CHAPTER{index:03d}"]), values.get(f"CHAPTER{index:03d}NAME", "")))
        index += 1
    chapters = tuple(
        ChapterMark(title, start, starts[i + 1][0] if i + 1 < len(starts) else start) for i, (start, title) in enumerate(starts)
    )
    return Tags(
        title=values.get("TITLE", ""),
        artist=values.get("ARTIST", ""),
        album=values.get("ALBUM", ""),
        track=int(values["TRACKNUMBER"].split("/")[0]) if "TRACKNUMBER" in values else None,
        language=values.get("LANGUAGE", ""),
        year=int(values["DATE"][:4]) if "DATE" in values else None,
        comment=values.get("COMMENT", ""),
        chapters=chapters,
    )
