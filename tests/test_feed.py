"""A bundle as a podcast (issue 28): feed.xml read back by two independent
parsers, reruns that keep GUIDs and dates, the cover, the feed served over
HTTP, and the page's breathing visual in Chromium."""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import shutil
import struct
import threading
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import podcastparser
import pytest
import soundfile as sf
from click.testing import CliRunner

from voiceguide.batch.cover import COVER_PX, INK, CoverError, check_cover, cover_png, draw_cover, image_size, png_bytes
from voiceguide.batch.feed import FEED, FEED_STATE
from voiceguide.batch.manifest import ManifestError, read_manifest
from voiceguide.batch.marks import BreathPhase, Chapter, TrackMarks, marks_from_json, marks_to_json
from voiceguide.batch.publish import feed_folder_url, podcast_guid
from voiceguide.cli import cli

SCRIPT = """---
title: Kort
author: Test
---
# Begin
Welkom. [pause 1-6s]
# Adem
[breathe 3-2-4 x1+]
Tot ziens. [pause 1-4s]
"""
TITLE = "Rust & <adem> \"één\" 'samen' – ü"
FEED_URL = "https://example.org/groep rust/"
TRACK = '[[track]]\nscript = "kort.vg"\nminutes = {minutes}\n'


def manifest_text(minutes=(0.5, 0.6), *, feed_url: str | None = FEED_URL, extra: str = "") -> str:
    bundle = f'[bundle]\ntitle = {json.dumps(TITLE)}\nauthor = "Praktijk De Linde"\nformat = "mp3"\n'
    bundle += 'description = "Oefeningen voor de groep"\n' + extra
    if feed_url:
        bundle += f"feed_url = {json.dumps(feed_url)}\n"
    return bundle + "".join(TRACK.format(minutes=m) for m in minutes)


def batch(manifest: Path, out: Path, *extra: str, epoch: int | None = None):
    env = {"SOURCE_DATE_EPOCH": str(epoch)} if epoch is not None else {}
    return CliRunner(env=env).invoke(cli, ["batch", str(manifest), "-o", str(out), *extra], catch_exceptions=False)


@pytest.fixture(scope="module")
def podcast(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("podcast")
    (folder / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest = folder / "groep.toml"
    manifest.write_text(manifest_text(), encoding="utf-8")
    result = batch(manifest, folder / "out", epoch=1_790_000_000)
    assert result.exit_code == 0, result.output
    assert "feed.xml (2 episodes, 2 new)" in result.output
    return manifest, folder / "out"


# --- the feed, read back ------------------------------------------------------------------


@pytest.mark.slow
def test_two_parsers_read_the_channel_back_exactly(podcast):
    manifest, out = podcast
    base = "https://example.org/groep%20rust/"
    raw = (out / FEED).read_bytes()
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.bozo_exception
    channel = parsed.feed
    assert channel.title == TITLE and channel.language == "nl"
    assert channel.subtitle == "Oefeningen voor de groep"  # feedparser's name for the channel's description
    assert channel.author == "Praktijk De Linde"
    assert channel.image.href == base + "cover.png"
    assert [tag.term for tag in channel.tags] == ["Health & Fitness", "Mental Health"]
    assert channel.podcast_guid == podcast_guid(base)
    with (out / FEED).open("rb") as file:
        other = podcastparser.parse(base + FEED, file)
    assert other["title"] == TITLE and other["description"] == "Oefeningen voor de groep"
    assert other["itunes_author"] == "Praktijk De Linde" and other["language"] == "nl"
    assert other["explicit"] is False and other["cover_url"] == base + "cover.png"
    assert other["itunes_categories"] == [["Health & Fitness", "Mental Health"]]
    root = ET.fromstring(raw)
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    assert root.find(f"channel/{itunes}explicit").text == "false"
    assert root.find("channel/{http://www.w3.org/2005/Atom}link").get("href") == base + FEED


def test_every_item_says_what_its_file_is(podcast):
    manifest, out = podcast
    base = "https://example.org/groep%20rust/"
    tracks = read_manifest(manifest).tracks
    parsed = feedparser.parse((out / FEED).read_bytes())
    with (out / FEED).open("rb") as file:
        episodes = sorted(podcastparser.parse(base + FEED, file)["episodes"], key=lambda e: e["number"])
    assert [e.itunes_episode for e in parsed.entries] == ["1", "2"]
    for track, entry, episode in zip(tracks, parsed.entries, episodes):
        audio = out / track.file
        samples, rate = sf.read(str(audio))
        assert entry.title == episode["title"] == track.title
        assert entry.id == episode["guid"]
        (enclosure,) = episode["enclosures"]
        assert enclosure == {"url": base + track.file, "file_size": audio.stat().st_size, "mime_type": "audio/mpeg"}
        assert [(e.href, int(e.length), e.type) for e in entry.enclosures] == [
            (base + track.file, audio.stat().st_size, "audio/mpeg")
        ]
        assert abs(episode["total_time"] - len(samples) / rate) <= 1.0
        assert int(entry.itunes_duration) == episode["total_time"]
        assert episode["number"] == track.number
        transcript = audio.with_suffix(".vtt")
        assert entry.podcast_transcript == {
            "url": base + transcript.name,
            "type": "text/vtt",
            "language": "nl",
            "rel": "captions",
        }
        chapters_name = audio.stem + ".chapters.json"
        assert entry.podcast_chapters == {"url": base + chapters_name, "type": "application/json+chapters"}
        chapters = json.loads((out / chapters_name).read_text(encoding="utf-8"))
        assert chapters["version"] == "1.2.0" and [c["title"] for c in chapters["chapters"]] == ["Begin", "Adem"]
        assert all(0 <= c["startTime"] < len(samples) / rate for c in chapters["chapters"])
    assert episodes[0]["published"] < episodes[1]["published"] <= 1_790_000_000  # in track order, the last newest


@pytest.mark.slow
def test_a_rerun_keeps_guids_and_dates_adds_new_tracks_and_drops_removed_ones(tmp_path):
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest, out = tmp_path / "groep.toml", tmp_path / "out"
    manifest.write_text(manifest_text((0.5, 0.6)), encoding="utf-8")
    assert batch(manifest, out, epoch=1_790_000_000).exit_code == 0

    def items() -> dict[str, tuple[str, str]]:
        parsed = feedparser.parse((out / FEED).read_bytes())
        return {e.title: (e.id, e.published) for e in parsed.entries}

    first = items()
    again = batch(manifest, out, epoch=1_790_600_000)
    assert "(2 episodes, 0 new)" in again.output
    assert items() == first
    manifest.write_text(manifest_text((0.5, 0.6, 0.7)), encoding="utf-8")  # next week's session
    grown = batch(manifest, out, epoch=1_791_000_000)
    assert "(3 episodes, 1 new)" in grown.output
    now = items()
    assert {title: now[title] for title in first} == first
    (new,) = set(now) - set(first)
    assert now[new][1] == "Sat, 03 Oct 2026 04:00:00 GMT" and now[new][0] not in {guid for guid, _ in first.values()}
    manifest.write_text(manifest_text((0.5, 0.7)), encoding="utf-8")  # the 0.6 min track is taken out
    shrunk = batch(manifest, out, epoch=1_792_000_000)
    assert shrunk.exit_code == 0, shrunk.output
    after = items()
    assert len(after) == 2 and "Kort (0.6 min)" not in after
    assert after["Kort (0.5 min)"] == first["Kort (0.5 min)"] and after["Kort (0.7 min)"] == now["Kort (0.7 min)"]
    state = json.loads((out / FEED_STATE).read_text(encoding="utf-8"))
    assert len(state["published"]) == 2


@pytest.mark.slow
def test_a_feed_url_on_the_command_line_and_a_bundle_without_one(tmp_path):
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest, out = tmp_path / "groep.toml", tmp_path / "out"
    manifest.write_text(manifest_text((0.5,), feed_url=None), encoding="utf-8")
    plain = batch(manifest, out)
    assert plain.exit_code == 0 and "feed.xml" not in plain.output
    assert not (out / FEED).exists() and not (out / "cover.png").exists()
    fed = batch(manifest, out, "--feed-url", "https://example.org/a/feed.xml", "--zip")
    assert fed.exit_code == 0, fed.output
    assert "(1 episodes, 1 new), for https://example.org/a/" in fed.output
    assert "1 tracks (0 rendered, 1 unchanged)" in fed.output  # a feed does not render the audio again
    with __import__("zipfile").ZipFile(tmp_path / "out.zip") as archive:
        names = set(archive.namelist())
    assert {"out/feed.xml", "out/cover.png", "out/01-kort-nl-0.5min.chapters.json"} <= names
    bad = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out), "--feed-url", "ftp://example.org/"])
    assert bad.exit_code == 2 and "feed_url must be an http or https URL with a host" in bad.output


@pytest.mark.parametrize(
    ("given", "folder"),
    [
        ("https://example.org/groep/", "https://example.org/groep/"),
        ("https://example.org/groep", "https://example.org/groep/"),
        ("HTTPS://Example.org/groep/feed.xml", "https://example.org/groep/"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"),
        ("https://example.org/mijn groep/één", "https://example.org/mijn%20groep/%C3%A9%C3%A9n/"),
        ("https://bücher.example/x/", "https://xn--bcher-kva.example/x/"),
        ("https://[::1]:8443/p/", "https://[::1]:8443/p/"),
    ],
)
def test_feed_urls_are_folder_urls(given, folder):
    assert feed_folder_url(given) == folder


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"ftp://example.org/"', "feed_url must be an http or https URL with a host"),
        ('"https:///groep/"', "feed_url must be an http or https URL with a host"),
        ('"example.org/groep"', "feed_url must be an http or https URL with a host"),
        ('"https://anna:geheim@example.org/"', "feed_url must be a plain folder URL, without a user name"),
        ('"https://example.org/?groep=1"', "feed_url must be a plain folder URL"),
        ('"https://example.org:99999/"', "feed_url 'https://example.org:99999/' is not a URL"),
        ("42", "feed_url must be a string"),
    ],
)
def test_a_bad_feed_url_is_found_at_its_line(tmp_path, value, message):
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest = tmp_path / "groep.toml"
    manifest.write_text(
        manifest_text((0.5,), feed_url=None).replace("[[track]]", f"feed_url = {value}\n[[track]]"), encoding="utf-8"
    )
    with pytest.raises(ManifestError) as caught:
        read_manifest(manifest)
    assert f"groep.toml:6:1: {message}" in str(caught.value)


# --- the cover ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_drawn_cover_is_a_small_square_png_with_the_title_on_it():
    data = cover_png(TITLE, "Praktijk De Linde")
    assert image_size(data) == ("png", COVER_PX, COVER_PX) and 1400 <= COVER_PX <= 3000
    assert len(data) < 300_000
    assert data == cover_png(TITLE, "Praktijk De Linde"), "the same title gives the same bytes"
    pixels = _decode_png(data)
    assert (pixels == draw_cover(TITLE, "Praktijk De Linde")).all()
    ink = (abs(pixels.astype(int) - INK).sum(axis=2) < 30).mean()
    assert 0.01 < ink < 0.2, "the title is written, on a background that is mostly calm"
    blank = draw_cover("平静的呼吸")  # a script the font lacks: no text rather than boxes
    assert (abs(blank.astype(int) - INK).sum(axis=2) < 30).mean() == 0


def _decode_png(data: bytes):
    """Decode the drawn cover: one IDAT, 8-bit RGB, every row with the Sub filter."""
    import numpy as np

    width, height = struct.unpack(">II", data[16:24])
    at, idat = 8, b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * 3)
    assert (rows[:, 0] == 1).all()
    return np.cumsum(rows[:, 1:].reshape(height, width, 3).astype(np.int64), axis=1).astype(np.uint8)


def test_a_cover_named_in_the_manifest_is_checked_and_used(tmp_path):
    import numpy as np

    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    (tmp_path / "klein.png").write_bytes(png_bytes(np.zeros((800, 800, 3), np.uint8)))
    (tmp_path / "eigen.png").write_bytes(cover_png("Eigen"))
    (tmp_path / "tekst.png").write_text("geen plaatje", encoding="utf-8")
    manifest = tmp_path / "groep.toml"
    for name, message in (
        ("klein.png", "cover 'klein.png': is 800x800 pixels; podcast apps want 1400 to 3000 pixels a side"),
        ("tekst.png", "cover 'tekst.png': is neither a PNG nor a JPEG image"),
        ("weg.png", "cover image 'weg.png' not found next to the manifest"),
        ("../x.png", "cover '../x.png' must be an image in the manifest's folder"),
    ):
        manifest.write_text(manifest_text((0.5,), extra=f'cover = "{name}"\n'), encoding="utf-8")
        with pytest.raises(ManifestError) as caught:
            read_manifest(manifest)
        assert f"groep.toml:6:1: {message}" in str(caught.value)
    manifest.write_text(manifest_text((0.5,), extra='cover = "eigen.png"\n'), encoding="utf-8")
    assert batch(manifest, tmp_path / "out").exit_code == 0
    assert (tmp_path / "out" / "cover.png").read_bytes() == (tmp_path / "eigen.png").read_bytes()


def test_a_jpeg_cover_size_is_read_from_its_frame_header(tmp_path):
    jpeg = (
        b"\xff\xd8" + b"\xff\xe0\x00\x10" + b"JFIF\x00" + b"\x00" * 9 + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 1500, 1500)
    )
    (tmp_path / "c.jpg").write_bytes(jpeg + b"\x00" * 20)
    assert check_cover(tmp_path / "c.jpg") == "jpg"
    (tmp_path / "d.jpg").write_bytes(jpeg.replace(struct.pack(">HH", 1500, 1500), struct.pack(">HH", 1500, 1600)))
    with pytest.raises(CoverError, match="square"):
        check_cover(tmp_path / "d.jpg")


# --- marks --------------------------------------------------------------------------------


def test_marks_survive_the_state_file_and_damaged_ones_are_refused():
    marks = TrackMarks((BreathPhase("in", 1.0, 4.0), BreathPhase("hold", 4.0, 6.0)), (Chapter("Begin", 0.5),))
    assert marks_from_json(json.loads(json.dumps(marks_to_json(marks)))) == marks
    for damaged in (
        None,
        {"phases": [["breathe", 1, 2]], "chapters": []},
        {"phases": [["in", 1, float("nan")]], "chapters": []},
        {"phases": [["in", True, 2]], "chapters": []},
        {"phases": [["in", 1]], "chapters": []},
        {"phases": [], "chapters": [["a\x1b[2J", 1]]},
        {"phases": [], "chapters": [[1, 1]]},
        {"phases": "in", "chapters": []},
    ):
        assert marks_from_json(damaged) is None, damaged


# --- served over HTTP ---------------------------------------------------------------------


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static host as podcast apps and browsers meet it: byte ranges (seeking needs them)."""

    def send_head(self):
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not wanted or not os.path.isfile(path):
            return super().send_head()
        data = Path(path).read_bytes()
        start = int(wanted.group(1))
        end = min(int(wanted.group(2) or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data[start : end + 1])

    def log_message(self, *args):
        pass


@contextmanager
def serving() -> Iterator[tuple[http.server.ThreadingHTTPServer, list[Path]]]:
    """An HTTP server on 127.0.0.1 whose folder is set later (its port is needed first)."""
    folder: list[Path] = []

    class Handler(_RangeHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder[0]), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()  # shutdown() waits a poll
    try:
        yield server, folder
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_podcast_app_fetches_the_feed_an_episode_and_its_transcript_over_http(tmp_path):
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest, out = tmp_path / "groep.toml", tmp_path / "bundel"
    with serving() as (server, folder):
        folder.append(out)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        manifest.write_text(manifest_text((0.5,), feed_url=url), encoding="utf-8")
        assert batch(manifest, out).exit_code == 0
        with urllib.request.urlopen(url + FEED, timeout=10) as response:
            feed = response.read()
        with io.BytesIO(feed) as file:
            (episode,) = podcastparser.parse(url + FEED, file)["episodes"]
        (entry,) = feedparser.parse(feed).entries
        with urllib.request.urlopen(episode["enclosures"][0]["url"], timeout=10) as response:
            audio = response.read()
        with urllib.request.urlopen(entry.podcast_transcript["url"], timeout=10) as response:
            transcript = response.read().decode("utf-8")
        with urllib.request.urlopen(entry.podcast_chapters["url"], timeout=10) as response:
            chapters = json.loads(response.read())
        with urllib.request.urlopen(feedparser.parse(feed).feed.image.href, timeout=10) as response:
            cover = response.read()
    assert len(audio) == episode["enclosures"][0]["file_size"] == (out / "01-kort-nl-0.5min.mp3").stat().st_size
    assert transcript.startswith("WEBVTT") and "Welkom." in transcript
    assert chapters["chapters"][0]["title"] == "Begin"
    assert image_size(cover)[0] == "png"


# --- the page breathes --------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_breathes_with_the_playing_track_and_loads_nothing_from_elsewhere(tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup --test installs it)")
    from playwright.sync_api import sync_playwright

    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest, out = tmp_path / "groep.toml", tmp_path / "bundel"
    manifest.write_text(manifest_text((0.5,), feed_url=None), encoding="utf-8")
    assert batch(manifest, out).exit_code == 0
    page_text = (out / "index.html").read_text(encoding="utf-8")
    marks = json.loads(re.search(r'<script type="application/json" class="marks">(.*?)</script>', page_text).group(1))
    phases = {name: (start, end) for name, start, end in reversed(marks["phases"])}  # the first of each
    (hold_start, hold_end), (in_start, in_end), (out_start, out_end) = phases["hold"], phases["in"], phases["out"]
    quiet = marks["chapters"][0][1] + 0.2  # speech in the first chapter, before any breath
    assert quiet < in_start

    def inside(start: float, end: float) -> tuple[float, float]:
        return start + 0.3 * (end - start), start + 0.7 * (end - start)

    times = [quiet, *inside(in_start, in_end), *inside(hold_start, hold_end), *inside(out_start, out_end)]
    flags = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required", "--disable-background-networking"]
    elsewhere: list[str] = []
    with serving() as (server, folder), sync_playwright() as playwright:
        folder.append(out)
        home = f"http://127.0.0.1:{server.server_address[1]}/"
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        try:
            page = browser.new_page()

            def only_the_folder(route):
                if route.request.url.startswith(home):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_folder)
            page.goto(home + "index.html")
            before = page.eval_on_selector(".breath", "v => [v.dataset.phase, v.hidden]")
            played = page.evaluate(
                """async () => { const a = document.querySelector('audio'); await a.play();
                   await new Promise(done => a.addEventListener('timeupdate', done, {once: true}));
                   a.pause(); return !a.paused || a.currentTime > 0; }"""
            )
            states = [
                page.evaluate(
                    """async (t) => { const a = document.querySelector('audio'); a.currentTime = t;
                       await new Promise(done => a.addEventListener('seeked', done, {once: true}));
                       const v = document.querySelector('.breath');
                       return [v.dataset.phase, parseFloat(v.dataset.scale), v.querySelector('.breath-chapter').textContent,
                               a.currentTime]; }""",
                    t,
                )
                for t in times
            ]
            hidden_dot = page.eval_on_selector(".breath-dot", "d => d.getAttribute('aria-hidden')")
            live = page.eval_on_selector(".breath-chapter", "c => c.getAttribute('aria-live')")
            transcript = page.eval_on_selector("details p", "p => p.textContent")
            reduced = browser.new_page()
            reduced.emulate_media(reduced_motion="reduce")
            reduced.route("**/*", only_the_folder)
            reduced.goto(home + "index.html")
            still = reduced.evaluate(
                """async (t) => { const a = document.querySelector('audio'); a.currentTime = t;
                   await new Promise(done => a.addEventListener('seeked', done, {once: true}));
                   const v = document.querySelector('.breath');
                   return [v.dataset.phase, v.dataset.motion, getComputedStyle(v.querySelector('.breath-dot')).transform]; }""",
                times[1],
            )
            offline = browser.new_page()  # opened from the folder itself, as a downloaded zip is
            offline.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else only_the_folder(route)
            )
            offline.goto((out / "index.html").as_uri())
            from_folder = offline.evaluate(
                """async () => { const a = document.querySelector('audio');
                   if (a.readyState < 1) await new Promise(done => a.addEventListener('loadedmetadata', done, {once: true}));
                   const v = document.querySelector('.breath'); return [v.hidden, v.dataset.phase, a.duration > 0]; }"""
            )
        finally:
            browser.close()
    assert from_folder == [False, "still", True]
    assert before == ["still", False]
    assert played
    assert [round(s[3], 1) for s in states] == [round(t, 1) for t in times], "every seek landed (byte ranges served)"
    (q_phase, q_scale, q_chapter, _), in1, in2, hold1, hold2, out1, out2 = states
    assert (q_phase, q_scale, q_chapter) == ("still", 0.5, "Begin")
    assert in1[0] == in2[0] == "in" and in1[1] < in2[1], "grows on the in-breath"
    assert hold1[0] == hold2[0] == "hold" and hold1[1] == hold2[1] == 1.0, "rests on the hold"
    assert out1[0] == out2[0] == "out" and out1[1] > out2[1], "shrinks on the out-breath"
    assert in1[2] == hold1[2] == out2[2] == "Adem"
    assert hidden_dot == "true" and live == "polite" and "Welkom." in transcript
    assert still == ["in", "reduce", "none"], "with reduced motion the circle does not move"
    assert elsewhere == []


def test_the_page_embeds_a_chapter_title_that_could_end_the_script_safely(tmp_path):
    (tmp_path / "kort.vg").write_text(SCRIPT.replace("# Adem", "# </script><script>alert(1)</script> & <!--"), encoding="utf-8")
    manifest = tmp_path / "groep.toml"
    manifest.write_text(manifest_text((0.5,), feed_url=None), encoding="utf-8")
    assert batch(manifest, tmp_path / "out").exit_code == 0
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    embedded = re.search(r'<script type="application/json" class="marks">(.*?)</script>', page).group(1)
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    assert json.loads(embedded)["chapters"][1][0] == "</script><script>alert(1)</script> & <!--"
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the marks and the page's own script


@pytest.mark.slow
def test_a_feed_never_replaces_a_file_it_did_not_write(tmp_path):
    (tmp_path / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    manifest, out = tmp_path / "groep.toml", tmp_path / "out"
    manifest.write_text(manifest_text((0.5,), feed_url=None), encoding="utf-8")
    assert batch(manifest, out).exit_code == 0
    (out / "cover.png").write_bytes(b"the trainer's own picture")
    refused = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out), "--feed-url", "https://example.org/g/"])
    assert refused.exit_code == 2 and "holds cover.png, which no bundle wrote there" in refused.output
    assert (out / "cover.png").read_bytes() == b"the trainer's own picture" and not (out / FEED).exists()
    (out / "cover.png").unlink()
    assert batch(manifest, out, "--feed-url", "https://example.org/g/").exit_code == 0
    again = batch(manifest, out, "--feed-url", "https://example.org/g/")
    assert again.exit_code == 0, "what the feed wrote, it may write again"


def test_the_page_of_a_podcast_links_its_feed(podcast):
    _, out = podcast
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" type="application/rss+xml" title="Rust &amp; &lt;adem&gt; &quot;één&quot;' in page
    assert '<a href="feed.xml">Abonneer je in een podcast-app (RSS)</a>' in page  # the bundle's language, Dutch
