"""Trainer bundles: manifests, parallel rendering, resume, playlist, page, zip."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_checks import dominant_hz, high_band_dbfs, rms_dbfs, span
from click.testing import CliRunner

from voiceguide.batch.manifest import read_manifest
from voiceguide.cli import cli

SCRIPT = """---
title: Kort
language: nl
rate: 140
author: Test
---
# Begin
[clip stem.wav]
Welkom. [pause 1-6s]
[breathe 3-1-4 x1+]
Tot ziens. [pause 1-4s]
[chime]
"""


def write_clip(folder: Path, level_dbfs: float = -38.0) -> Path:
    rate = 16_000
    t = np.arange(int(1.5 * rate)) / rate
    voice_like = np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    voice_like *= 10 ** (level_dbfs / 20) / np.sqrt(np.mean(voice_like**2))
    path = folder / "stem.wav"
    sf.write(str(path), voice_like.astype(np.float32), rate)
    return path


MANIFEST = """[bundle]
title = "Groep"
author = "Trainer"
format = "{fmt}"
transcript = "vtt"

[[track]]
script = "kort.vg"
minutes = 0.75
ambience = "pink"
title = "Met ruis"

[grid]
scripts = ["kort.vg"]
minutes = [0.5, 0.75, 1]
voices = ["auto", "gmw/nl+f3"]
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    (folder / "kort.vg").write_text(SCRIPT, encoding="utf-8")
    write_clip(folder)
    manifest = folder / "groep.toml"
    manifest.write_text(MANIFEST.format(fmt="mp3"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(folder / "out"), "--zip"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder, read_manifest(manifest), result


@pytest.mark.slow
def test_every_track_is_rendered_with_tags_and_transcript(bundle):
    folder, manifest, result = bundle
    out = folder / "out"
    assert len(manifest.tracks) == 7
    assert "7 tracks (7 rendered, 0 unchanged)" in result.output
    from mutagen.id3 import ID3

    for track in manifest.tracks:
        info = sf.info(str(out / track.file))
        assert info.format == "MP3"
        assert abs(info.duration - track.minutes * 60) <= 1.0, track
        tags = ID3(str(out / track.file))
        assert str(tags["TALB"]) == "Groep" and str(tags["TRCK"]).split("/")[0] == str(track.number)
        assert str(tags["TIT2"]) == track.title
        vtt = (out / track.file).with_suffix(".vtt").read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT") and "Welkom." in vtt and "Tot ziens." in vtt
    names = [t.file for t in manifest.tracks]
    assert names[1] == "02-kort-nl-0.5min.mp3" and names[2] == "03-kort-nl-0.5min-gmw-nl-f3.mp3"


def test_playlist_lists_the_tracks_in_order(bundle):
    folder, manifest, _ = bundle
    lines = (folder / "out" / "playlist.m3u8").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries == [t.file for t in manifest.tracks]
    lengths = [int(re.match(r"#EXTINF:(\d+),", line).group(1)) for line in lines if line.startswith("#EXTINF")]
    assert lengths == [round(t.minutes * 60) for t in manifest.tracks]


def test_zip_holds_the_whole_bundle(bundle):
    folder, manifest, _ = bundle
    with zipfile.ZipFile(folder / "out.zip") as archive:
        names = set(archive.namelist())
    assert {f"out/{t.file}" for t in manifest.tracks} <= names
    assert {"out/index.html", "out/playlist.m3u8"} <= names


def test_clip_is_levelled_to_the_voice(bundle):
    folder, manifest, _ = bundle
    from voiceguide import load_script, prepare_session
    from voiceguide.audio import active_rms

    track = manifest.tracks[1]
    samples, rate = sf.read(str(folder / "out" / track.file), dtype="float32")
    session = prepare_session(load_script(track.source))
    clip = session.timeline.of_kind(__import__("voiceguide").Kind.CLIP)[0]
    speech = session.timeline.of_kind(__import__("voiceguide").Kind.SPEECH)[0]
    clip_level = active_rms(span(samples, rate, clip.start_s, clip.end_s), rate)
    voice_level = active_rms(span(samples, rate, speech.start_s, speech.end_s), rate)
    assert 20 * np.log10(clip_level / voice_level) == pytest.approx(0.0, abs=2.0)  # it was 18 dB quieter on disk


def test_ambience_is_ducked_under_real_speech(bundle):
    folder, manifest, _ = bundle
    from voiceguide import Kind, load_script, prepare_session

    track = manifest.tracks[0]
    samples, rate = sf.read(str(folder / "out" / track.file), dtype="float32")
    session = prepare_session(load_script(track.source), target_s=track.minutes * 60)
    # espeak has nothing above 11 kHz: the band above 12 kHz is the ambience alone
    noise = high_band_dbfs(samples, rate, cutoff_hz=12_000)
    speech = max(session.timeline.of_kind(Kind.SPEECH), key=lambda e: e.duration_s)
    pause = max(session.timeline.of_kind(Kind.SILENCE), key=lambda e: e.duration_s)
    during = rms_dbfs(span(noise, rate, speech.start_s + 0.05, speech.end_s - 0.05))
    between = rms_dbfs(span(noise, rate, pause.start_s + 0.5, pause.end_s - 0.5))
    assert between - during == pytest.approx(10.0, abs=2.0)
    plain, _ = sf.read(str(folder / "out" / manifest.tracks[2].file), dtype="float32")
    assert rms_dbfs(high_band_dbfs(plain, rate, 12_000)) < between - 20


@pytest.mark.slow
def test_rerun_skips_unchanged_tracks_and_renders_changed_ones(bundle, tmp_path):
    folder, _, _ = bundle
    manifest = folder / "groep.toml"
    before = {p.name: p.stat().st_mtime_ns for p in (folder / "out").glob("*.mp3")}
    again = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(folder / "out")], catch_exceptions=False)
    assert "7 tracks (0 rendered, 7 unchanged)" in again.output
    assert before == {p.name: p.stat().st_mtime_ns for p in (folder / "out").glob("*.mp3")}
    manifest.write_text(
        MANIFEST.format(fmt="mp3").replace("minutes = 0.75\nambience", "minutes = 0.6\nambience"), encoding="utf-8"
    )
    changed = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(folder / "out")], catch_exceptions=False)
    assert "7 tracks (1 rendered, 6 unchanged)" in changed.output
    manifest.write_text(MANIFEST.format(fmt="mp3"), encoding="utf-8")
    restored = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(folder / "out")], catch_exceptions=False)
    assert "7 tracks (0 rendered, 7 unchanged)" in restored.output, "the first render is still remembered"


@pytest.mark.browser
def test_index_html_plays_every_track_in_chromium(bundle):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup --test installs it)")
    from playwright.sync_api import sync_playwright

    folder, manifest, _ = bundle
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder / "out"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
    ]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=flags)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            durations = page.evaluate(
                """() => Promise.all([...document.querySelectorAll('audio')].map(a => a.readyState >= 1 ? a.duration :
                   new Promise(done => { a.addEventListener('loadedmetadata', () => done(a.duration)); a.addEventListener('error', () => done(-1)); a.load(); })))"""
            )
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            labelled = page.eval_on_selector_all("audio", "els => els.every(e => e.getAttribute('aria-labelledby'))")
            external = page.eval_on_selector_all(
                "[src],[href]",
                "els => els.map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => /^(https?:)?\\/\\//.test(u))",
            )
            browser.close()
    finally:
        server.shutdown()
    assert [round(d) for d in durations] == [round(t.minutes * 60) for t in manifest.tracks]
    assert headings == [f"{t.number}. {t.title}" for t in manifest.tracks]
    assert labelled and external == []


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("[bundle]\ntitle = 'x'\n[[track]]\nexercise = 'nope'\n", ":4:1:", "unknown exercise 'nope'"),
        (
            "[bundle]\nformat = 'aiff'\n[[track]]\nexercise = 'zelfkalmering'\n",
            ":2:1:",
            "format must be one of mp3, wav, flac, ogg, opus",
        ),
        (
            "[[track]]\nexercise = 'zelfkalmering'\n\n[[track]]\nexercise = 'herinnering'\n  minutes = 'lang'\n",
            ":6:3:",
            "minutes must be a number",
        ),
        ("[[track]]\nexercise = 'zelfkalmering'\nspeed = 3\n", ":3:1:", "unknown key 'speed' in [[track]]"),
        ("[[track]]\nscript = 'missing.vg'\n", ":2:1:", "script file 'missing.vg' not found"),
        ("[[track]]\nexercise = 'zelfkalmering'\nfile = '../x.mp3'\n", ":3:1:", "file must be a plain file name"),
        (
            "[[track]]\nexercise = 'zelfkalmering'\nfile = 'a.mp3'\n[[track]]\nexercise = 'herinnering'\nfile = 'A.mp3'\n",
            ":4:1:",
            "file name 'A.mp3' is used by track 1 too",
        ),
        ("[[track]]\nexercise = 'zelfkalmering'\nlanguage = 'fr'\n", ":3:1:", "language 'fr' is not supported"),
        ("[[track]]\nexercise = 'zelfkalmering'\nambience = 'rain'\n", ":3:1:", "ambience must be one of none, pink, brown"),
        ("[grid]\nminutes = [2]\n", ":1:1:", "[grid] needs 'exercises' or 'scripts'"),
        ("[bundle]\ntitle = 'x'\n", ":1:1:", "the manifest lists no tracks"),
        ("[[track]\nexercise = 1\n", ":1:", "not valid TOML"),
        ("[[track]]\nexercise = 'zelfkalmering'\nscript = 'x.vg'\n", ":1:1:", "either 'exercise'"),
    ],
)
def test_bad_manifests_fail_before_rendering_with_file_line_col(tmp_path, text, where, message):
    manifest = tmp_path / "m.toml"
    manifest.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out)])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.count("\n") == 0
    assert line.startswith(f"voiceguide: {manifest}{where}") and message in line
    assert not out.exists()


def test_grid_expands_exercises_lengths_voices_languages(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        "[grid]\nexercises = ['zelfkalmering', 'memory']\nminutes = [2, 5]\nvoices = ['auto', 'gmw/nl+f3']\nlanguages = ['nl', 'en']\n"
    )
    tracks = read_manifest(manifest).tracks
    assert len(tracks) == 16
    assert [t.number for t in tracks] == list(range(1, 17))
    assert {(t.source, t.language, t.minutes, t.voice) for t in tracks} == {
        (e, lang, m, v)
        for e in ("zelfkalmering", "herinnering")
        for lang in ("nl", "en")
        for m in (2.0, 5.0)
        for v in ("auto", "gmw/nl+f3")
    }


# --- every problem before anything renders (issue 13, items 2 and 3) -----------------


def test_batch_check_reports_every_problem_at_once_in_file_order(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        "[bundle]\nformat = 'aiff'\nauthor = 'Praktijk'\n\n"
        "[[track]]\nexercise = 'veilige-plak'\nminutes = 'lang'\nspeed = 3\n\n"
        "[[track]]\nscript = 'missing.vg'\n\n"
        "[grid]\nexercises = ['zelfkalmering', 'herinering']\nminutes = [2, 0.1]\nvoices = ['<bad>']\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(tmp_path / "out"), "--check"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"voiceguide: {manifest}:2:1: format must be one of mp3, wav, flac, ogg, opus, not 'aiff'",
        f"voiceguide: {manifest}:6:1: unknown exercise 'veilige-plak'; did you mean veilige-plek?",
        f"voiceguide: {manifest}:7:1: minutes must be a number from 0.5 to 180, not 'lang'",
        f"voiceguide: {manifest}:8:1: unknown key 'speed' in [[track]]; known keys: ambience, exercise, file, language, minutes, rate, script, title, voice, voice_pack",
        f"voiceguide: {manifest}:11:1: script file 'missing.vg' not found next to the manifest",
        f"voiceguide: {manifest}:14:1: unknown exercise 'herinering'; did you mean herinnering?",
        f"voiceguide: {manifest}:15:1: minutes must be a number from 0.5 to 180, not 0.1",
        f"voiceguide: {manifest}:16:1: voice must be 'auto' or an engine voice id such as gmw/nl+f3, not '<bad>'",
    ]
    assert not (tmp_path / "out").exists()


def builtin_reach(name: str) -> tuple[str, str]:
    """A built-in's shortest and longest session as the planner gives them
    for an MP3 track (mixed at the MP3's rate: phrase lengths depend on it)."""
    from voiceguide import Kind, load_script, prepare_session
    from voiceguide.clock import format_clock_tenths
    from voiceguide.mix.mixer import MixSettings
    from voiceguide.plan.timeline import length_range, reported_range
    from voiceguide.sinks.export import preferred_sample_rate

    session = prepare_session(load_script(name), mix=MixSettings(sample_rate=preferred_sample_rate("track.mp3")))
    lengths = {e.text: e.duration_s for e in session.timeline.events if e.kind in (Kind.SPEECH, Kind.COUNT)}
    return tuple(map(format_clock_tenths, reported_range(*length_range(session.script, lengths))))  # type: ignore[return-value]


@pytest.mark.parametrize("check_only", [True, False], ids=["check", "render"])
def test_a_track_that_cannot_be_made_fails_before_anything_is_rendered(tmp_path, check_only):
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        "[[track]]\nexercise = 'zelfkalmering'\nminutes = 0.5\n\n[bundle]\nminutes = 1\n[[track]]\nexercise = 'herinnering'\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out), *(["--check"] if check_only else [])])
    assert result.exit_code == 2
    calm, memory = builtin_reach("zelfkalmering"), builtin_reach("herinnering")
    assert result.output.splitlines() == [
        f"voiceguide: {manifest}:3:1: track 1 (01-zelfkalmering-nl-0.5min.mp3): cannot make this session 0:30 long; it can be from {calm[0]} to {calm[1]}",
        f"voiceguide: {manifest}:6:1: track 2 (02-herinnering-nl-1min.mp3): cannot make this session 1:00 long; it can be from {memory[0]} to {memory[1]}",
    ]
    assert not out.exists(), "nothing is written"


def test_a_passed_at_in_a_track_script_is_found_by_check(tmp_path):
    (tmp_path / "laat.vg").write_text("---\ntitle: Laat\n---\nWelkom. [breathe seed x2]\n[at 0:10]\nDaar.\n", encoding="utf-8")
    manifest = tmp_path / "m.toml"
    manifest.write_text("[[track]]\nscript = 'laat.vg'\n")
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(tmp_path / "out"), "--check"])
    assert result.exit_code == 2
    script = tmp_path / "laat.vg"
    assert re.fullmatch(
        rf"voiceguide: {re.escape(str(manifest))}:2:1: track 1 \(01-laat-nl\.mp3\): {re.escape(str(script))}:5:1: "
        r"\[at 0:10\] is already passed by \d+\.\d s \(what comes before it lasts until 0:\d\d\.\d\); move the marker later or shorten what precedes it\n",
        result.output,
    ), result.output


def test_a_clip_that_is_not_audio_is_found_by_check(tmp_path):
    (tmp_path / "stem.wav").write_text("not audio", encoding="utf-8")
    (tmp_path / "clip.vg").write_text("---\ntitle: Clip\n---\nWelkom.\n[clip stem.wav]\n", encoding="utf-8")
    manifest = tmp_path / "m.toml"
    manifest.write_text("[[track]]\nscript = 'clip.vg'\n")
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(tmp_path / "out"), "--check"])
    assert result.exit_code == 2
    prefix = f"voiceguide: {manifest}:2:1: track 1 (01-clip-nl.mp3): {tmp_path / 'clip.vg'}:5:1: clip stem.wav cannot be read as audio ("
    assert result.output.startswith(prefix) and result.output.count("\n") == 1, result.output


# --- partial bundles and resuming (issue 13, item 4) ------------------------------------

SMALL = """---
title: Kort
author: Test
---
Welkom. [pause 1-6s]
[breathe 3-1-4 x1+]
Tot ziens. [pause 1-4s]
"""
SMALL_MANIFEST = """[bundle]
title = "Klein"
author = "Trainer"
format = "wav"
[[track]]
script = "kort.vg"
minutes = 0.5
[[track]]
script = "kort.vg"
minutes = 0.6
[[track]]
script = "kort.vg"
minutes = 0.7
"""
NAMES = ["01-kort-nl-0.5min.wav", "02-kort-nl-0.6min.wav", "03-kort-nl-0.7min.wav"]


@pytest.fixture
def small(tmp_path) -> tuple[Path, Path]:
    (tmp_path / "kort.vg").write_text(SMALL, encoding="utf-8")
    manifest = tmp_path / "klein.toml"
    manifest.write_text(SMALL_MANIFEST, encoding="utf-8")
    return manifest, tmp_path / "out"


def batch(manifest: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out), *extra])


def test_check_passes_what_renders(small):
    manifest, out = small
    checked = batch(manifest, out, "--check")
    assert checked.exit_code == 0 and checked.output == "ok: 3 tracks, from 0:30 to 0:42\n"
    assert not out.exists()
    assert batch(manifest, out).exit_code == 0


@pytest.mark.slow
def test_a_track_that_fails_to_render_leaves_the_others_a_playlist_and_a_page(small):
    manifest, out = small
    (out / NAMES[1]).mkdir(parents=True)  # the file cannot be written: a folder stands in its place
    result = batch(manifest, out, "--zip")
    assert result.exit_code == 1
    target = out / NAMES[1]
    assert [line for line in result.output.splitlines() if not line.startswith("[")] == [
        f"wrote {out}: 2 of 3 tracks (2 rendered, 0 unchanged), playlist.m3u8, index.html",
        f"wrote {out}.zip",
        f"voiceguide: {manifest}:8:1: track 2 ({NAMES[1]}) failed: {target} is a folder; give a file name such as {target}/session.mp3",
        "voiceguide: 1 of 3 tracks failed; run the same command again to render only what is missing",
    ]
    playlist = (out / "playlist.m3u8").read_text(encoding="utf-8")
    assert [line for line in playlist.splitlines() if not line.startswith("#")] == [NAMES[0], NAMES[2]]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<li ") == 2 and NAMES[1] not in page
    with zipfile.ZipFile(f"{out}.zip") as archive:
        assert f"out/{NAMES[1]}" not in archive.namelist() and f"out/{NAMES[2]}" in archive.namelist()
    target.rmdir()
    again = batch(manifest, out)
    assert again.exit_code == 0
    assert again.output.splitlines()[-1] == f"wrote {out}: 3 tracks (1 rendered, 2 unchanged), playlist.m3u8, index.html"
    assert [line for line in (out / "playlist.m3u8").read_text().splitlines() if not line.startswith("#")] == NAMES


@pytest.mark.slow
def test_a_resumed_batch_renders_again_what_is_missing_emptied_or_changed(small):
    manifest, out = small
    assert batch(manifest, out).exit_code == 0
    kept = (out / NAMES[2]).stat().st_mtime_ns
    (out / NAMES[0]).write_bytes(b"")  # emptied
    (out / NAMES[1]).with_suffix(".vtt").unlink()  # its transcript is gone
    again = batch(manifest, out)
    assert again.exit_code == 0
    assert again.output.splitlines()[-1] == f"wrote {out}: 3 tracks (2 rendered, 1 unchanged), playlist.m3u8, index.html"
    assert sf.info(str(out / NAMES[0])).duration == pytest.approx(30, abs=1.0)
    assert (out / NAMES[1]).with_suffix(".vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert (out / NAMES[2]).stat().st_mtime_ns == kept
    with open(out / NAMES[2], "r+b") as audio:  # changed in place, same size
        audio.seek(-2, 2)
        audio.write(b"\x01\x01")
    third = batch(manifest, out)
    assert third.output.splitlines()[-1] == f"wrote {out}: 3 tracks (1 rendered, 2 unchanged), playlist.m3u8, index.html"


# --- one author, a clean page (issue 13, item 6) ------------------------------------------


def test_artist_tag_and_playlist_both_name_the_bundles_author(bundle):
    from mutagen.id3 import ID3

    folder, manifest, _ = bundle
    out = folder / "out"
    playlist = (out / "playlist.m3u8").read_text(encoding="utf-8")
    for track in manifest.tracks:
        assert str(ID3(str(out / track.file))["TPE1"]) == "Trainer"  # the script says "Test"; the bundle's author wins
        assert f"#EXTINF:{round(track.minutes * 60)},Trainer - {track.title}\n{track.file}\n" in playlist


def test_the_page_shows_what_is_said_not_the_transcript_header(bundle):
    folder, manifest, _ = bundle
    page = (folder / "out" / "index.html").read_text(encoding="utf-8")
    assert "WEBVTT" not in page
    said = re.findall(
        r"<details><summary>Uitgeschreven tekst</summary>\s*<p>(.*?)</p>", page
    )  # a Dutch bundle: its page speaks Dutch
    assert len(said) == len(manifest.tracks)
    assert all(text.split("<br>")[0] == "Welkom." and text.split("<br>")[-1] == "Tot ziens." for text in said)


def test_every_track_of_a_bundle_has_its_voice_at_one_loudness(bundle):
    """Tracks of 0.5 to 1 minute, with and without ambience: the voice is the
    anchor, so it lands at the same loudness in every one (the file's own
    measurement, held to the decoded audio for one track)."""
    import mutagen

    folder, manifest, _ = bundle
    speech = []
    for track in manifest.tracks:
        id3 = mutagen.File(str(folder / "out" / track.file)).tags
        values = {frame.desc: str(frame.text[0]) for frame in id3.getall("TXXX")}
        speech.append(float(values["VOICEGUIDE_SPEECH_LOUDNESS"].split()[0]))
    assert max(speech) - min(speech) <= 1.0
    assert all(value == pytest.approx(-19.0, abs=0.5) for value in speech)


# --- voice packs ----------------------------------------------------------------------


PACK_SCRIPT = """---
title: Pakket
language: nl
rate: 150
---
Ga rustig zitten. [pause 1-6s]
[breathe 3-1-4 x1+]
Tot ziens.
"""


def pack_voice(f0_hz: float, seconds: float = 1.0, rate: int = 48_000):
    from voiceguide.audio import Audio

    t = np.arange(int(seconds * rate)) / rate
    tone = (np.sin(2 * np.pi * f0_hz * t) + 0.5 * np.sin(4 * np.pi * f0_hz * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    return Audio((0.1 * tone / np.sqrt(np.mean(tone**2))).astype(np.float32), rate)


@pytest.fixture
def packed(tmp_path, monkeypatch):
    from voiceguide.speech.pack import VoicePack

    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")  # workers inherit it; the pack speaks everything anyway
    (tmp_path / "pakket.vg").write_text(PACK_SCRIPT, encoding="utf-8")
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    pack.add("Ga rustig zitten.", pack_voice(330.0, 1.2))
    pack.add("Tot ziens.", pack_voice(390.0, 0.8))
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[bundle]\ntitle = "Eigen stem"\nformat = "wav"\nvoice_pack = "anna"\n\n'
        '[[track]]\nscript = "pakket.vg"\nfile = "met-stem.wav"\n\n'
        '[[track]]\nscript = "pakket.vg"\nfile = "met-stem-lang.wav"\nminutes = 0.75\n',
        encoding="utf-8",
    )
    return tmp_path, manifest, pack


@pytest.mark.slow
def test_a_bundle_speaks_with_its_voice_pack_and_renders_again_when_a_recording_changes(packed):
    from voiceguide import Kind, load_script, prepare_session
    from voiceguide.session import VoiceOptions

    folder, manifest, pack = packed
    out = folder / "out"
    first = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert read_manifest(manifest).tracks[0].voice_pack == str(folder / "anna")
    samples, rate = sf.read(str(out / "met-stem.wav"), dtype="float32")
    session = prepare_session(load_script(folder / "pakket.vg"), voice=VoiceOptions(voice_pack=folder / "anna"))
    for event, pitch in zip(session.timeline.of_kind(Kind.SPEECH), (330.0, 390.0)):
        assert dominant_hz(span(samples, rate, event.start_s + 0.1, event.end_s - 0.1), rate) == pytest.approx(pitch, abs=3)
    again = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out)], catch_exceptions=False)
    assert "2 tracks (0 rendered, 2 unchanged)" in again.output
    pack.add("Tot ziens.", pack_voice(450.0, 0.8))  # the trainer re-records a phrase
    third = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(out)], catch_exceptions=False)
    assert "2 tracks (2 rendered, 0 unchanged)" in third.output
    samples, rate = sf.read(str(out / "met-stem.wav"), dtype="float32")
    last = session.timeline.of_kind(Kind.SPEECH)[-1]
    assert dominant_hz(span(samples, rate, last.start_s + 0.1, last.end_s - 0.1), rate) == pytest.approx(450.0, abs=3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"nergens"', "voice pack 'nergens': no such voice pack folder; make one with: voiceguide record SCRIPT -o FOLDER"),
        ('"engels"', "voice pack 'engels': the voice pack speaks 'en' and the script is 'nl'; use a pack recorded in 'nl'"),
        ("3", "voice_pack must be a folder (made with 'voiceguide record') beside the manifest"),
    ],
    ids=["missing", "other-language", "not-a-name"],
)
def test_a_bad_voice_pack_in_a_manifest_is_found_at_its_line(packed, value, message):
    from voiceguide.speech.pack import VoicePack

    folder, manifest, _ = packed
    VoicePack.create(folder / "engels", speaker="Anna", language="en")
    manifest.write_text(
        f'[bundle]\ntitle = "Eigen stem"\n\n[[track]]\nscript = "pakket.vg"\nvoice_pack = {value}\n', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(folder / "out"), "--check"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"voiceguide: {manifest}:6:1: {message}"]


def test_tracks_that_share_their_phrases_speak_them_once_with_two_jobs(tmp_path, monkeypatch):
    """The grid's lengths of one exercise speak the same phrases: the first
    track of each such group speaks (and levels) them alone, the others find
    them in the cache; two workers never speak the same phrase twice (two
    languages: two groups, side by side, with no phrase in common)."""
    spoken = tmp_path / "spoken.txt"
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "fake")
    monkeypatch.setenv("VOICEGUIDE_FAKE_SPOKEN", str(spoken))
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[bundle]\ntitle = "Gedeeld"\n[grid]\nexercises = ["zelfkalmering"]\nminutes = [2, 3, 4]\nlanguages = ["nl", "en"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["batch", str(manifest), "-o", str(tmp_path / "uit"), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "uit").glob("*.mp3"))) == 6
    lines = spoken.read_text(encoding="utf-8").splitlines()
    assert lines and len(lines) == len(set(lines)), [line for line in set(lines) if lines.count(line) > 1]
