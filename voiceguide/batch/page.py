"""What a bundle folder shows: ``playlist.m3u8``, ``index.html`` and the zip.

The page is a static, accessible HTML file with no scripts, fonts or files
from elsewhere, made from the templates ``page.html``, ``track.html`` and
``transcript.html`` beside this module. It lists every track that exists,
with a player, its length and what is said in it, in the bundle's language
(``lang`` on the page; a track in another language carries its own ``lang``
and its own words), whatever the interface language.
"""

from __future__ import annotations

import html
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from gettext import NullTranslations
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..atomic import AtomicFile, write_atomically
from ..clock import format_clock
from ..errors import UsageError, os_reason
from ..i18n import _, session_translation
from ..rules import UNSAFE_CHARACTER

if TYPE_CHECKING:
    from .manifest import Manifest, Track


@dataclass(frozen=True)
class TrackResult:
    """A track of the bundle as it stands after a run."""

    track: Track
    rendered: bool
    """False when an unchanged earlier render was kept."""
    duration_s: float
    transcript: str | None
    """The transcript's format, if one was written."""
    lines: tuple[str, ...] = ()
    """What is said, cue by cue (for the page)."""
    voice: str = ""
    """The voice that spoke it, e.g. ``piper:nl_BE-nathalie-medium`` or ``gmw/nl``."""


PLAYLIST = "playlist.m3u8"
INDEX = "index.html"
MIME_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg; codecs=opus"}


@cache
def _template(name: str) -> Template:
    text = resources.files("voiceguide.batch").joinpath(name).read_text(encoding="utf-8")
    return Template(text.rstrip("\n"))


def write_page(
    manifest: Manifest, results: list[TrackResult], folder: Path, *, make_zip: bool = False
) -> tuple[Path, Path, Path | None]:
    """Write the playlist and the page for ``results`` (and the zip): their paths."""
    playlist = write_atomically(folder / PLAYLIST, playlist_text(manifest, results).encode("utf-8"))
    index = write_atomically(folder / INDEX, index_html(manifest, results).encode("utf-8"))
    archive = zip_bundle(folder, manifest, results) if make_zip else None
    return playlist, index, archive


def playlist_text(manifest: Manifest, results: Iterable[TrackResult]) -> str:
    """An extended M3U playlist; each entry says ``artist - title`` as the file's tags do."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(manifest.title)}"]
    for result in results:
        track = result.track
        lines.append(
            f"#EXTINF:{round(result.duration_s)},{_one_line(track.artist + ' - ' if track.artist else '')}{_one_line(track.title)}"
        )
        lines.append(_one_line(track.file))
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """Text that cannot start a playlist entry of its own: the manifest's
    check refuses line breaks and control characters, and this keeps it so."""
    return UNSAFE_CHARACTER.sub(" ", text)


def index_html(manifest: Manifest, results: list[TrackResult]) -> str:
    """The bundle's page."""
    language = next((r.track.language for r in results if r.track.language), "nl")
    words = session_translation(language)
    return _template("page.html").substitute(
        language=language,
        playlist=html.escape(words.gettext("Playlist (M3U8)")),
        title=html.escape(manifest.title),
        author=f"\n    <p>{html.escape(manifest.author)}</p>" if manifest.author else "",
        tracks="\n".join(_track_html(manifest, result, language) for result in results),
    )


def _track_html(manifest: Manifest, result: TrackResult, page_language: str) -> str:
    track = result.track
    words = session_translation(track.language or page_language)
    return _template("track.html").substitute(
        length_label=html.escape(words.gettext("Length:")),
        download=html.escape(words.gettext("Download {file}").format(file=track.file)),
        heading=f"track-{track.number}",
        lang=f' lang="{track.language}"' if track.language and track.language != page_language else "",
        number=track.number,
        title=html.escape(track.title),
        seconds=round(result.duration_s),
        length=format_clock(result.duration_s),
        href=quote(track.file),
        mime=MIME_TYPES[manifest.format],
        transcript=_transcript_html(track, result.transcript, result.lines, words),
    )


def _transcript_html(track: Track, transcript: str | None, lines: tuple[str, ...], words: NullTranslations) -> str:
    if not transcript:
        return ""
    return _template("transcript.html").substitute(
        summary=html.escape(words.gettext("Transcript")),
        lines="<br>".join(html.escape(line) for line in lines),
        href=quote(transcript_file(track, transcript)),
        download=html.escape(words.gettext("Download the transcript ({kind})").format(kind=transcript.upper())),
    )


def transcript_file(track: Track, transcript: str) -> str:
    """The transcript's file name beside the track's audio."""
    return str(Path(track.file).with_suffix(f".{transcript}"))


ZIP_COMMENT = b"voiceguide bundle"
"""Marks a zip as voiceguide's: only such a zip is replaced by a rerun."""


def zip_path(folder: Path) -> Path:
    """``FOLDER.zip`` beside the bundle folder (``bundle.v2`` gives
    ``bundle.v2.zip``: the name is added to, never swapped).

    Raises UsageError for a folder without a name of its own (``/``)."""
    if folder.name in ("", ".", ".."):  # '.', '..', '/': the folder's real name, if it has one
        folder = folder.resolve()
        if not folder.name:
            raise UsageError(_("{folder} has no name to give the zip; pass a folder such as -o bundle").format(folder=folder))
    return folder.with_name(folder.name + ".zip")


def check_zip_target(folder: Path) -> Path:
    """Where the zip goes, before any work: a file there that voiceguide did not
    make is never replaced (UsageError), nor is a folder or a device."""
    archive = zip_path(folder)
    try:
        if archive.is_dir() or (archive.exists() and not archive.is_file()):
            raise UsageError(_("{archive} is not a regular file; move it away or pass another folder").format(archive=archive))
        if archive.exists() and not _ours(archive):
            raise UsageError(
                _("{archive} exists and was not made by voiceguide; move it away or pass another folder").format(archive=archive)
            )
    except OSError as exc:
        raise UsageError(f"{archive}: {os_reason(exc).lower()}") from None
    return archive


def _ours(archive: Path) -> bool:
    try:
        with zipfile.ZipFile(archive) as existing:
            return existing.comment == ZIP_COMMENT
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def zip_bundle(folder: Path, manifest: Manifest, results: list[TrackResult]) -> Path:
    """``FOLDER.zip`` beside the folder, with every track, transcript, the
    playlist and the page, under ``FOLDER/`` (the folder's real name: never
    ``..``, so unpacking it stays where it is unpacked)."""
    archive = check_zip_target(folder)
    top = archive.name.removesuffix(".zip")
    names = [r.track.file for r in results]
    if manifest.transcript:
        names += [transcript_file(r.track, manifest.transcript) for r in results]
    names += [PLAYLIST, INDEX]
    with AtomicFile(archive, replace=True) as out:
        assert out.file is not None
        with zipfile.ZipFile(out.file, "w", compression=zipfile.ZIP_STORED) as bundle:
            bundle.comment = ZIP_COMMENT
            for name in names:
                if (folder / name).is_file() and not (folder / name).is_symlink():  # only what it wrote
                    bundle.write(folder / name, f"{top}/{name}")
        out.commit()
    return archive
