"""A bundle as a podcast: ``feed.xml``, its cover and a chapters file per track.

Published on any static host (or a shared folder served over HTTPS), the
bundle folder is a podcast that a group subscribes to by URL in the app they
already have. The feed is RSS 2.0 with the two namespaces podcast apps read:

* Apple's ``itunes:`` tags (``http://www.itunes.com/dtds/podcast-1.0.dtd``):
  ``itunes:image``, ``itunes:category``, ``itunes:explicit``,
  ``itunes:author``, ``itunes:type``; per item ``itunes:duration`` (whole
  seconds), ``itunes:episode`` and ``itunes:episodeType``.
* Podcasting 2.0 (``https://podcastindex.org/namespace/1.0``):
  ``podcast:guid`` (a UUIDv5 of the feed URL without its scheme and
  trailing slashes, in the namespace's own UUID namespace), per item
  ``podcast:transcript`` (WebVTT as ``text/vtt``, SRT as
  ``application/x-subrip``; LRC has no transcript type and is left out)
  and ``podcast:chapters`` (a JSON chapters file, see :mod:`.marks`).

RSS 2.0's ``enclosure`` carries the audio's URL, exact length in bytes and
MIME type. Every URL is the feed's folder URL and a percent-encoded file
name; the XML is built with ElementTree, which escapes every text and
attribute.

An item's identity must survive reruns, or subscribers see an episode twice:
its ``guid`` is a UUIDv5 of the feed URL and the track's content (script or
exercise, language, length, voice, rate, ambience, voice pack; not its title
or number, which a trainer may change), and its ``pubDate`` is the time it
first appeared in the feed. Both are kept in a small state file beside the
feed, so a rerun adds new tracks with the time of that run, keeps the others
as they were, and drops the tracks the manifest no longer has.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_atomically
from ..errors import UsageError
from ..inputs import read_limited
from ..rules import MAX_FEED_STATE_BYTES
from .cover import CoverError, cover_png, read_cover
from .marks import CHAPTERS_MIME, chapters_file, chapters_json
from .page import TrackResult, transcript_file
from .publish import FEED_FILE, file_url, podcast_guid

if TYPE_CHECKING:
    from .manifest import Manifest, Track

FEED = FEED_FILE
FEED_STATE = ".voiceguide-feed.json"
FEED_STATE_VERSION = 1
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
CATEGORY = ("Health & Fitness", "Mental Health")
"""Apple's category and subcategory for guided calming exercises."""
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip"}
ENCLOSURE_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg"}
DESCRIPTION_CUT_CHARS = 4000
"""An item's description is what is said in it, cut here (Apple shows at most 4000 characters)."""

for _prefix, _uri in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM)):
    ET.register_namespace(_prefix, _uri)


# --- what the feed writes ---------------------------------------------------------------------


def cover_name(manifest: Manifest) -> str:
    """The cover's file name in the bundle: the trainer's kind, or the drawn PNG."""
    return "cover.jpg" if manifest.cover and Path(manifest.cover).suffix.lower() in (".jpg", ".jpeg") else "cover.png"


def feed_outputs(manifest: Manifest) -> list[str]:
    """The files a feed adds to the bundle folder (none without a feed URL)."""
    if not manifest.feed_url:
        return []
    return [FEED, cover_name(manifest)] + [chapters_file(track.file) for track in manifest.tracks]


def track_identity(manifest: Manifest, track: Track) -> str:
    """What a track is, apart from its title, number and file name."""
    folder = manifest.path.resolve().parent

    def relative(path: str | None) -> str | None:
        if path is None or not Path(path).is_absolute():
            return path
        try:
            return Path(path).relative_to(folder).as_posix()
        except ValueError:
            return path

    return json.dumps(
        [
            relative(track.source),
            track.language,
            track.minutes,
            track.voice,
            track.rate,
            track.ambience,
            relative(track.voice_pack),
        ]
    )


def item_guids(manifest: Manifest) -> dict[str, str]:
    """Each track's item GUID, by file name: UUIDv5 of the feed URL and its
    identity (the second of two identical tracks adds ``#2``)."""
    seen: Counter[str] = Counter()
    guids = {}
    for track in manifest.tracks:
        identity = track_identity(manifest, track)
        seen[identity] += 1
        if seen[identity] > 1:
            identity += f"#{seen[identity]}"
        guids[track.file] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{manifest.feed_url}#{identity}"))
    return guids


@dataclass(frozen=True)
class FeedResult:
    feed: Path
    cover: Path
    added: int
    """Items new in this run."""


def write_feed(manifest: Manifest, results: list[TrackResult], folder: Path, *, now_s: float | None = None) -> FeedResult:
    """Write the feed, the cover and each track's chapters file (atomically).

    ``now_s`` is the time given to new items (default: ``$SOURCE_DATE_EPOCH``
    if set, else now), in seconds since the epoch."""
    assert manifest.feed_url, "a feed needs the bundle's URL"
    now = int(now_s if now_s is not None else _now_s())
    guids = item_guids(manifest)
    published = _read_state(folder, manifest.feed_url)
    new = [r for r in results if guids[r.track.file] not in published]
    for index, result in enumerate(new):  # new items a second apart, in track order (the last is newest)
        published[guids[result.track.file]] = now - (len(new) - 1 - index)
    current = set(guids.values())
    kept = {guid: at for guid, at in published.items() if guid in current}
    # recorded before they are written: a stop in between leaves them the bundle's own
    _write_state(folder, manifest.feed_url, kept, feed_written_names(folder) | set(feed_outputs(manifest)))
    for result in results:
        track = result.track
        text = chapters_json(result.marks, title=track.title, podcast=manifest.title, audio_file=track.file)
        write_atomically(folder / chapters_file(track.file), text)
    cover = folder / cover_name(manifest)
    if manifest.cover:
        try:
            image = read_cover(manifest.cover)
        except CoverError as exc:  # changed since the manifest was read
            raise UsageError(f"{manifest.cover}: {exc}") from None
        write_atomically(cover, image)
    else:
        write_atomically(cover, cover_png(manifest.title, manifest.author))
    sizes = {r.track.file: (folder / r.track.file).stat().st_size for r in results}
    xml = feed_xml(manifest, results, guids, published, sizes)
    return FeedResult(write_atomically(folder / FEED, xml), cover, len(new))


def _now_s() -> float:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return float(epoch) if epoch.isdigit() else time.time()


def feed_xml(
    manifest: Manifest, results: list[TrackResult], guids: dict[str, str], published: dict[str, int], sizes: dict[str, int]
) -> bytes:
    """The feed document: RSS 2.0 with the itunes and podcast namespaces."""
    base = manifest.feed_url
    assert base
    language = next((r.track.language for r in results if r.track.language), "nl")
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")

    def add(parent: ET.Element, tag: str, content: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attributes)
        if content is not None:
            element.text = content
        return element

    add(channel, "title", manifest.title)
    add(channel, "link", base)
    add(channel, "description", manifest.description or manifest.title)
    add(channel, "language", language)
    add(channel, "generator", "voiceguide")
    if published and results:
        newest = max(published[guids[r.track.file]] for r in results)
        add(channel, "lastBuildDate", _rfc2822(newest))
    add(channel, f"{{{ATOM}}}link", href=file_url(base, FEED), rel="self", type="application/rss+xml")
    cover_url = file_url(base, cover_name(manifest))
    image = add(channel, "image")
    add(image, "url", cover_url)
    add(image, "title", manifest.title)
    add(image, "link", base)
    add(channel, f"{{{ITUNES}}}image", href=cover_url)
    if manifest.author:
        add(channel, f"{{{ITUNES}}}author", manifest.author)
        owner = add(channel, f"{{{ITUNES}}}owner")
        add(owner, f"{{{ITUNES}}}name", manifest.author)
    category = add(channel, f"{{{ITUNES}}}category", None, text=CATEGORY[0])  # Apple names a category in 'text'
    add(category, f"{{{ITUNES}}}category", None, text=CATEGORY[1])
    add(channel, f"{{{ITUNES}}}explicit", "false")
    add(channel, f"{{{ITUNES}}}type", "episodic")
    add(channel, f"{{{PODCAST}}}guid", podcast_guid(base))
    for result in results:
        track = result.track
        item = add(channel, "item")
        add(item, "title", track.title)
        add(item, "description", _description(result.lines) or track.title)
        add(item, "guid", guids[track.file], isPermaLink="false")
        add(item, "pubDate", _rfc2822(published[guids[track.file]]))
        add(item, "link", f"{base}#track-{track.number}")  # its place on the bundle's page
        add(
            item,
            "enclosure",
            url=file_url(base, track.file),
            length=str(sizes[track.file]),
            type=ENCLOSURE_TYPES[manifest.format],
        )
        add(item, f"{{{ITUNES}}}title", track.title)
        add(item, f"{{{ITUNES}}}duration", str(round(result.duration_s)))
        add(item, f"{{{ITUNES}}}episode", str(track.number))
        add(item, f"{{{ITUNES}}}episodeType", "full")
        add(item, f"{{{ITUNES}}}explicit", "false")
        if track.artist:
            add(item, f"{{{ITUNES}}}author", track.artist)
        if result.transcript in TRANSCRIPT_TYPES:
            add(
                item,
                f"{{{PODCAST}}}transcript",
                url=file_url(base, transcript_file(track, result.transcript)),
                type=TRANSCRIPT_TYPES[result.transcript],
                language=track.language or language,
                rel="captions",
            )
        add(item, f"{{{PODCAST}}}chapters", url=file_url(base, chapters_file(track.file)), type=CHAPTERS_MIME)
    ET.indent(rss, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode").encode("utf-8") + b"\n"


def _description(lines: tuple[str, ...]) -> str:
    text = " ".join(lines)
    return text if len(text) <= DESCRIPTION_CUT_CHARS else text[: DESCRIPTION_CUT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _rfc2822(epoch_s: int) -> str:
    """RSS 2.0 dates are RFC 822 dates (with four-digit years): ``Mon, 07 Dec 2026 13:30:00 GMT``."""
    return email.utils.format_datetime(datetime.fromtimestamp(epoch_s, UTC), usegmt=True)


# --- what the feed remembers ------------------------------------------------------------------


def _load_state(folder: Path) -> dict:
    try:
        state = json.loads(read_limited(folder / FEED_STATE, MAX_FEED_STATE_BYTES, "feed state file").decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) and state.get("version") == FEED_STATE_VERSION else {}


def feed_written_names(folder: Path) -> set[str]:
    """The files a feed wrote (or was about to write) in ``folder``: only
    these may a feed replace (a ``cover.png`` of one's own is never drawn over)."""
    files = _load_state(folder).get("files")
    return {name for name in files if isinstance(name, str)} if isinstance(files, list) else set()


def _read_state(folder: Path, feed_url: str) -> dict[str, int]:
    """When each item was first published, by GUID ({} when there is no
    readable state, or it is for another feed URL)."""
    state = _load_state(folder)
    if state.get("feed_url") != feed_url:
        return {}
    items = state.get("published")
    if not isinstance(items, dict):
        return {}
    return {
        guid: at
        for guid, at in items.items()
        if isinstance(guid, str) and isinstance(at, int) and not isinstance(at, bool) and 0 <= at < 2**40
    }


def _write_state(folder: Path, feed_url: str, published: dict[str, int], files: set[str]) -> None:
    state = {"version": FEED_STATE_VERSION, "feed_url": feed_url, "published": published, "files": sorted(files)}
    text = json.dumps(state, indent=1, sort_keys=True)
    write_atomically(folder / FEED_STATE, text.encode("utf-8"))
