"""Hostile input, round 2 (issue 18): data loss and security.

A shared script or manifest may read only beside itself and write only into
the output folder; an export that fails late keeps every old file; text that
reaches a playlist, a terminal or the engine holds no control characters; a
cache folder someone else could write into is not trusted. Everything here
is provoked for real: full disks (tmpfs in a private mount namespace),
folders where files should be, symlinks, chown and chmod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hostile import SHORT, env, in_namespace, needs_namespaces, needs_root, one_line, stored_diary_and_session, voiceguide

from voiceguide.atomic import AtomicFile, commit_together
from voiceguide.errors import ScriptError
from voiceguide.parse.script import parse_script

# --- an export that fails late keeps the old files ------------------------------------------


def test_a_transcript_that_cannot_be_written_keeps_the_old_audio(tmp_path):
    (tmp_path / "out.mp3").write_bytes(b"precious")
    (tmp_path / "out.vtt").mkdir()  # a folder where the transcript should go
    result = voiceguide("export", "zelfkalmering", "-o", "out.mp3", "--transcript", "vtt", "--force", cwd=tmp_path)
    assert one_line(result, 1) == "voiceguide: out.vtt is a folder; give a file name such as session.vtt"
    assert (tmp_path / "out.mp3").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp3", "out.vtt"]


def test_a_pipe_or_device_as_target_is_refused_before_any_work(tmp_path):
    os.mkfifo(tmp_path / "out.vtt")
    (tmp_path / "out.wav").write_bytes(b"precious")
    result = voiceguide("export", "zelfkalmering", "-o", "out.wav", "--transcript", "vtt", "--force", cwd=tmp_path, timeout=30)
    assert one_line(result, 1) == "voiceguide: out.vtt is not a regular file (a device or a pipe); give another file name"
    assert (tmp_path / "out.wav").read_bytes() == b"precious"


@pytest.mark.slow
@needs_namespaces
def test_a_disk_that_fills_during_the_transcript_keeps_the_old_audio(tmp_path):
    """The tmpfs holds the new audio and the old transcript, not one page
    more: the new transcript cannot be written, so nothing may change."""
    script = tmp_path / "kort.vg"
    script.write_text(SHORT, encoding="utf-8")
    probe = tmp_path / "probe.wav"
    assert voiceguide("export", script, "-o", probe, "--sample-rate", "22050").returncode == 0
    pages = -(-probe.stat().st_size // 4096) + 1
    small = tmp_path / "small"
    small.mkdir()
    outside = tmp_path / "seen"
    result = in_namespace(
        f"mount -t tmpfs -o size={pages * 4096} tmpfs {small}\n"
        f": > {small}/s.wav\nprintf oldvtt > {small}/s.vtt\n"
        f"$VG export {script} -o {small}/s.wav --sample-rate 22050 --transcript vtt --force\necho rc=$? > {outside}\n"
        f"ls -A {small} >> {outside}\nstat -c %s {small}/s.wav >> {outside}\ncat {small}/s.vtt >> {outside}"
    )
    assert outside.read_text().split() == ["rc=1", "s.vtt", "s.wav", "0", "oldvtt"], result.stderr
    assert result.stderr == f"voiceguide: {small}/s.wav: writing failed (No space left on device); nothing was written\n"


def test_files_committed_together_are_all_put_back_when_one_cannot_be(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    first, second = AtomicFile(tmp_path / "a.txt", replace=True), AtomicFile(tmp_path / "b.txt", replace=True)
    with first, second:
        assert first.file is not None and second.file is not None
        first.file.write(b"new a")
        second.file.write(b"new b")
        (tmp_path / "b.txt").unlink()
        (tmp_path / "b.txt").mkdir()  # a folder appeared where b goes: renaming onto it fails
        (tmp_path / "b.txt" / "keep").write_text("x")
        with pytest.raises(OSError):
            commit_together(first, second)
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]  # no hidden names left


@pytest.mark.slow
def test_two_exports_racing_for_one_name_name_the_file(tmp_path):
    script = tmp_path / "lang.vg"
    script.write_text(SHORT.replace("x2]", "x30]"), encoding="utf-8")
    voiceguide("show", script)  # warm the cache: both then spend their time rendering
    command = [sys.executable, "-m", "voiceguide", "export", str(script), "-o", "same.mp3"]
    racers = [subprocess.Popen(command, cwd=tmp_path, env=env(), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [racer.communicate(timeout=120)[1] for racer in racers]
    codes = sorted(racer.returncode for racer in racers)
    assert codes == [0, 1], errors
    loser = next(error for error in errors if error)
    assert loser == "voiceguide: same.mp3 appeared while exporting; pass --force to replace it\n"


# --- a shared manifest reads only beside itself ---------------------------------------------------

SECRET = "---\ntitle: Geheim\n---\nDit is het geheime wachtwoord zwaardvis.\n"


@pytest.fixture
def shared(tmp_path):
    """A manifest folder, and a script outside it that it must not reach."""
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.vg").write_text(SECRET, encoding="utf-8")
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "sub").mkdir()
    (folder / "sub" / "ok.vg").write_text(SHORT, encoding="utf-8")
    return folder, outside / "secret.vg"


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("line", "col"),
    [
        ("[[track]]\nscript = '../private/secret.vg'\n", 2),
        ("[[track]]\nscript = '{secret}'\n", 2),
        ("[[track]]\nscript = 'sub/../../private/secret.vg'\n", 2),
        ("[[track]]\nscript = 'link.vg'\n", 2),
        ("[grid]\nscripts = ['sub/ok.vg', '../private/secret.vg']\n", 2),
    ],
)
def test_a_manifest_cannot_render_a_script_from_outside_its_folder(shared, line, col):
    folder, secret = shared
    (folder / "link.vg").symlink_to(secret)
    manifest = folder / "m.toml"
    manifest.write_text(line.format(secret=secret), encoding="utf-8")
    result = voiceguide("batch", manifest, "-o", folder / "out")
    message = one_line(result)
    assert message.startswith(f"voiceguide: {manifest}:{col}:1: script '")
    assert message.endswith("must be a file in the manifest's folder or below it, without '..' or an absolute path")
    assert "zwaardvis" not in result.stdout + result.stderr and not (folder / "out").exists()


@pytest.mark.parametrize("pack", ["../private/anna", "{outside}", "link"])
def test_a_manifest_cannot_take_a_voice_pack_from_outside_its_folder(shared, pack):
    from voiceguide.speech.pack import VoicePack

    folder, secret = shared
    outside = secret.parent / "anna"
    VoicePack.create(outside, speaker="Anna", language="en")
    (folder / "link").symlink_to(outside)
    manifest = folder / "m.toml"
    manifest.write_text(f"[[track]]\nscript = 'sub/ok.vg'\nvoice_pack = '{pack.format(outside=outside)}'\n", encoding="utf-8")
    message = one_line(voiceguide("batch", manifest, "-o", folder / "out", "--check"))
    assert message.startswith(f"voiceguide: {manifest}:3:1: voice pack '")
    assert message.endswith("must be a folder in the manifest's folder or below it, without '..' or an absolute path")


def test_a_manifest_may_use_scripts_in_folders_below_it(shared):
    folder, _ = shared
    manifest = folder / "m.toml"
    manifest.write_text("[bundle]\nformat = 'wav'\n[[track]]\nscript = 'sub/ok.vg'\n", encoding="utf-8")
    result = voiceguide("batch", manifest, "-o", folder / "out", "--check")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_an_exercise_is_the_built_in_whatever_the_current_folder_holds(tmp_path):
    (tmp_path / "zelfkalmering").write_text(SECRET, encoding="utf-8")  # a file named like the built-in
    (tmp_path / "m.toml").write_text("[bundle]\nformat = 'wav'\n[[track]]\nexercise = 'zelfkalmering'\n", encoding="utf-8")
    result = voiceguide("batch", "m.toml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "Zelfkalmering" in page and "zwaardvis" not in page


def test_a_script_cannot_take_a_lexicon_from_outside_its_folder(shared):
    folder, secret = shared
    (secret.parent / "words.tsv").write_text("zwaardvis\tgeheim\n", encoding="utf-8")
    (folder / "words.tsv").symlink_to(secret.parent / "words.tsv")
    script = folder / "lex.vg"
    script.write_text("---\ntitle: Lex\nlexicon: words.tsv\n---\nAdem in.\n", encoding="utf-8")
    result = voiceguide("show", script)
    assert (
        one_line(result)
        == f"voiceguide: {script}: lexicon 'words.tsv' must be a file beside the script, not a link out of its folder"
    )


# --- a bundle writes only into its folder (and FOLDER.zip beside it) ---------------------------------

BUNDLE = "[bundle]\ntitle = 'Groep'\nformat = 'wav'\ntranscript = 'none'\n[[track]]\nscript = 'kort.vg'\n"


@pytest.fixture
def bundle_dir(tmp_path):
    (tmp_path / "kort.vg").write_text(SHORT, encoding="utf-8")
    (tmp_path / "m.toml").write_text(BUNDLE, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_the_zip_adds_to_the_folder_name_and_never_replaces_another_file(bundle_dir):
    (bundle_dir / "other.zip").write_bytes(b"precious")
    result = voiceguide("batch", "m.toml", "-o", "other.v2", "--zip", cwd=bundle_dir)
    assert result.returncode == 0, result.stderr
    assert (bundle_dir / "other.zip").read_bytes() == b"precious"
    with zipfile.ZipFile(bundle_dir / "other.v2.zip") as archive:
        assert sorted(archive.namelist()) == [
            "other.v2/01-kort-nl.wav",
            "other.v2/index.html",
            "other.v2/playlist.m3u8",
        ]
    # an existing FOLDER.zip that voiceguide did not make is not replaced either
    (bundle_dir / "mine.zip").write_bytes(b"my own zip")
    refused = voiceguide("batch", "m.toml", "-o", "mine", "--zip", cwd=bundle_dir)
    assert one_line(refused) == (
        "voiceguide: mine.zip exists and was not made by voiceguide; move it away or pass another folder"
    )
    assert (bundle_dir / "mine.zip").read_bytes() == b"my own zip" and not (bundle_dir / "mine").exists()
    again = voiceguide("batch", "m.toml", "-o", "other.v2", "--zip", cwd=bundle_dir)  # its own zip is replaced
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("extra", "mine", "shown"),
    [
        ("file = 'favourite.wav'\n", ["favourite.wav"], "favourite.wav"),
        ("", ["index.html"], "index.html"),
        ("", ["01-kort-nl.wav", "playlist.m3u8", "index.html", "x"], "01-kort-nl.wav, playlist.m3u8, index.html"),
    ],
)
def test_a_bundle_never_replaces_a_file_no_bundle_wrote(bundle_dir, extra, mine, shown):
    """-o ~/Music with file = 'favourite.wav' would have replaced the song."""
    (bundle_dir / "m.toml").write_text(BUNDLE + extra, encoding="utf-8")
    music = bundle_dir / "music"
    music.mkdir()
    for name in mine:
        (music / name).write_bytes(b"mine")
    result = voiceguide("batch", "m.toml", "-o", "music", cwd=bundle_dir)
    assert one_line(result).startswith(f"voiceguide: music holds {shown}, which no bundle wrote there; move ")
    assert sorted(p.name for p in music.iterdir()) == sorted(mine)
    assert all((music / name).read_bytes() == b"mine" for name in mine)


@pytest.mark.slow
def test_a_bundle_replaces_what_it_wrote_before(bundle_dir):
    assert voiceguide("batch", "m.toml", "-o", "out", cwd=bundle_dir).returncode == 0
    (bundle_dir / "kort.vg").write_text(SHORT.replace("Welcome back.", "Welcome back, again."), encoding="utf-8")
    again = voiceguide("batch", "m.toml", "-o", "out", cwd=bundle_dir)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "wrote out: 1 tracks (1 rendered, 0 unchanged), playlist.m3u8, index.html"


@pytest.mark.slow
@pytest.mark.parametrize("output", ["..", "."])
def test_a_zip_of_a_relative_folder_holds_no_path_that_climbs_out(bundle_dir, output):
    inner = bundle_dir / "sub" / "inner"
    inner.mkdir(parents=True)
    result = voiceguide("batch", bundle_dir / "m.toml", "-o", output, "--zip", cwd=inner)
    assert result.returncode == 0, result.stderr
    folder = (inner / output).resolve()
    archive = folder.with_name(folder.name + ".zip")
    assert result.stdout.splitlines()[-1] == f"wrote {archive}"
    with zipfile.ZipFile(archive) as packed:
        names = packed.namelist()
    assert names and all(name.startswith(f"{folder.name}/") and ".." not in Path(name).parts for name in names)


def test_a_zip_of_the_root_folder_is_one_line(bundle_dir):
    result = voiceguide("batch", "m.toml", "-o", "/", "--zip", cwd=bundle_dir)
    assert one_line(result) == "voiceguide: / has no name to give the zip; pass a folder such as -o bundle"


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("toml", "where", "what"),
    [
        ('[bundle]\ntitle = "Rust\\n#EXTINF:1,x\\nevil.mp3"\n', "2:1", "title holds U+000A (line break) at character 5"),
        ('[bundle]\nauthor = "Ik\\r\\nevil.mp3"\n', "2:1", "author holds U+000D (carriage return) at character 3"),
        ('[[track]]\nexercise = "zelfkalmering"\ntitle = "a\\u2028b"\n', "3:1", "title holds U+2028 (line separator)"),
        ('[[track]]\nexercise = "zelfkalmering"\ntitle = "\\u001b]0;x\\u0007"\n', "3:1", "title holds U+001B (ESC)"),
        ('[grid]\nexercises = ["zelfkalmering\\u0000"]\n', "2:1", "exercises holds U+0000 (NUL) at character 14"),
        (
            '[[track]]\nexercise = "zelfkalmering"\nvoice = "auto\\u202e"\n',
            "3:1",
            "voice holds U+202E (a bidirectional override)",
        ),
    ],
)
def test_control_characters_in_manifest_text_are_refused_where_they_are(tmp_path, toml, where, what):
    manifest = tmp_path / "m.toml"
    manifest.write_text(toml, encoding="utf-8")
    message = one_line(voiceguide("batch", manifest, "-o", tmp_path / "out", "--check"))
    assert message.startswith(f"voiceguide: {manifest}:{where}: {what}")
    assert not (tmp_path / "out").exists()


def test_a_playlist_entry_is_one_line_whatever_the_title_holds():
    from voiceguide.batch.manifest import Manifest, Track
    from voiceguide.batch.page import TrackResult, playlist_text

    track = Track(1, "zelfkalmering", "Rust\r\nevil.mp3", "01.mp3", artist="Ik\n#EXTINF:1,x")
    manifest = Manifest(Path("m.toml"), "Bundel\nevil2.mp3", "", "mp3", None, None, -16.0, (track,))
    lines = playlist_text(manifest, [TrackResult(track, True, 60.0, None)]).splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["01.mp3"]
    assert len(lines) == 4


# --- text reaching the engine, the transcript and the terminal ---------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "name"),
    [
        ("Adem rustig\x00 in.\n", 6, 12, "U+0000 (NUL)"),
        ("Adem \x1bcin.\n", 6, 6, "U+001B (ESC)"),  # ESC c resets a terminal
        ("# Hoofd\x07stuk\nAdem in.\n", 6, 8, "U+0007 (BEL)"),
        ("Adem in.\nEn \u202euit.\n", 7, 4, "U+202E (a bidirectional override)"),
    ],
)
def test_control_characters_in_a_script_are_refused_at_their_place(text, line, col, name):
    with pytest.raises(ScriptError) as info:
        parse_script(f"---\ntitle: T\nlanguage: nl\nrate: 150\n---\n{text}", "s.vg")
    assert [str(error) for error in info.value.errors] == [
        f"s.vg:{line}:{col}: {name} in the text; scripts are plain text: remove it"
    ]


def test_a_nul_in_front_matter_is_refused_and_a_tab_is_a_space():
    with pytest.raises(ScriptError, match=r"^s\.vg:2:10: U\+0000 \(NUL\) in the text"):
        parse_script("---\ntitle: Ru\x00st\n---\nAdem in.\n", "s.vg")
    script = parse_script("---\ntitle: Rust\n---\nAdem\tin.\n", "s.vg")
    assert [s.text for s in script.sentences()] == ["Adem in."]


def test_check_reports_a_nul_in_a_script_file_at_its_place(tmp_path):
    script = tmp_path / "s.vg"
    script.write_bytes(b"---\ntitle: T\n---\nAdem rustig\x00 in. Adem uit.\n")
    result = voiceguide("check", script)
    assert result.returncode == 2
    assert result.stderr == f"{script}:4:12: error: U+0000 (NUL) in the text; scripts are plain text: remove it\n"


def test_terminal_escapes_in_a_diary_entry_are_refused(tmp_path):
    data = tmp_path / "data"
    result = voiceguide(
        "diary", "add", "--trigger", "\x1b]0;pwned\x07\x1b[2J", "--need", "safety", "--exercise", "x",
        "--before", "5", "--after", "2", "--data-dir", data,
    )  # fmt: skip
    assert one_line(result) == "voiceguide: trigger holds U+001B (ESC) at character 1; write plain text (UTF-8)"
    assert not (data / "practice.sqlite3").exists()


@pytest.mark.slow
def test_stored_escapes_reach_the_terminal_as_visible_text(tmp_path):
    data = tmp_path / "data"
    stored_diary_and_session(data, "\x1b]0;pwned\x07ruzie", "oef\x1b[31m", "s\x1b[2J.vg")
    for command in (["diary"], ["log"], ["next"]):
        shown = voiceguide(*command, "--data-dir", data)
        assert shown.returncode == 0, shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]0;pwned\\x07ruzie" in voiceguide("diary", "--data-dir", data).stdout
    assert "s\\x1b[2J.vg" in voiceguide("log", "--data-dir", data).stdout


def test_a_script_file_name_with_escapes_is_logged_as_plain_text(tmp_path):
    from voiceguide.practice.log import exercise_key

    name = tmp_path / "s\x1b[2J\udce9.vg"
    name.write_text(SHORT, encoding="utf-8")
    assert exercise_key(name) == ("s\ufffd[2J\ufffd.vg", "")


@pytest.mark.slow
def test_an_error_naming_a_file_shows_its_escapes(tmp_path):
    result = voiceguide("show", "bad\x1b[2J.vg", cwd=tmp_path)
    assert one_line(result) == (
        "voiceguide: bad\\x1b[2J.vg: no such script file; give a path to a script or a built-in name (see 'voiceguide list')"
    )
    checked = voiceguide("check", "bad\x1b[2J.vg", cwd=tmp_path)
    assert checked.returncode == 2 and checked.stderr == (
        "bad\\x1b[2J.vg: error: no such script file; give a path to a script or a built-in name (see 'voiceguide list')\n"
    )


# --- the cache: private, inside its own folder, never someone else's -----------------------------------


def _espeak_voice_list_key() -> str:
    import hashlib

    from voiceguide.speech.espeak import EspeakEngine

    return "espeak-voices-" + hashlib.sha256(EspeakEngine().describe().encode()).hexdigest()[:16]


def _plant_voice_list(cache: Path) -> None:
    """The attack from the issue: a voice list that speaks Dutch with the English voice."""
    (cache / "meta").mkdir(parents=True, exist_ok=True)
    planted = [["gmw/en", "English", ["nl"]]]
    (cache / "meta" / f"{_espeak_voice_list_key()}.json").write_text(json.dumps(planted), encoding="utf-8")


def _voice_shown(cache: Path) -> tuple[str, str]:
    result = voiceguide("show", "zelfkalmering", VOICEGUIDE_CACHE_DIR=str(cache), VOICEGUIDE_ENGINE="espeak")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0], result.stderr


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("how", ["world-writable", "group-writable", "someone else's", "meta world-writable"])
def test_a_cache_folder_others_could_write_into_is_not_trusted(tmp_path, how):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    _plant_voice_list(cache)
    os.chmod(cache / "meta", 0o700)
    {
        "world-writable": lambda: os.chmod(cache, 0o777),
        "group-writable": lambda: os.chmod(cache, 0o770),
        "someone else's": lambda: os.chown(cache, 65534, 65534),
        "meta world-writable": lambda: os.chmod(cache / "meta", 0o777),
    }[how]()
    header, warning = _voice_shown(cache)
    assert header.startswith("Zelfkalmering  (nl, voice gmw/nl,")
    assert warning.startswith("voiceguide: the cache is not used: ") and warning.count("\n") == 1


@pytest.mark.slow
def test_the_planted_voice_list_would_switch_the_voice_in_a_cache_of_ones_own(tmp_path):
    """The control for the test above: the same file in a private cache is
    trusted (it is the user's own), which is what makes the attack real."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    _plant_voice_list(cache)
    os.chmod(cache / "meta", 0o700)
    header, warning = _voice_shown(cache)
    assert header.startswith("Zelfkalmering  (nl, voice gmw/en,") and warning == ""


@pytest.mark.slow
def test_a_cache_in_a_world_writable_folder_is_refused_and_nothing_is_put_there(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o777)  # like /tmp, without the sticky bit: anyone could swap the cache
    header, warning = _voice_shown(shared / "x")
    assert header.startswith("Zelfkalmering  (nl, voice gmw/nl,")
    assert (
        warning
        == f"voiceguide: the cache is not used: {shared} can be written by anyone; make it private (chmod 700) or set VOICEGUIDE_CACHE_DIR to a folder of your own\n"
    )
    assert list(shared.iterdir()) in ([], [shared / "x"]) and not any((shared / "x").rglob("*"))


@pytest.mark.parametrize("clear", [[], ["--clear"]])
def test_cache_neither_measures_nor_clears_a_folder_that_is_not_ours(tmp_path, clear):
    shared = tmp_path / "shared"
    (shared / "phrases").mkdir(parents=True)
    (shared / "phrases" / "someone-elses.txt").write_text("keep me")
    os.chmod(shared, 0o777)
    result = voiceguide("cache", *clear, VOICEGUIDE_CACHE_DIR=str(shared))
    assert one_line(result, 1) == (
        f"voiceguide: {shared} can be written by other users: voiceguide does not use this cache folder and leaves it as it is"
    )
    assert (shared / "phrases" / "someone-elses.txt").read_text() == "keep me"


@pytest.mark.slow
def test_everything_cached_lives_inside_the_cache_folder_and_is_private(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    cache = parent / "cache"
    result = voiceguide(
        "export", "zelfkalmering", "-o", tmp_path / "out.wav", VOICEGUIDE_CACHE_DIR=str(cache), VOICEGUIDE_ENGINE="espeak"
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in parent.iterdir()] == ["cache"]
    folders = [cache, *(p for p in cache.rglob("*") if p.is_dir())]
    assert {"meta", "phrases"} <= {p.name for p in folders}
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in folders), [oct(p.stat().st_mode) for p in folders]


def test_a_phrase_planted_in_an_open_cache_is_not_spoken(fake_engine, tmp_path):
    from voiceguide.speech.cache import PhraseCache
    from voiceguide.speech.engine import VoiceSettings
    from voiceguide.speech.phrases import synthesize_phrases

    folder = tmp_path / "phrases"
    cache = PhraseCache(folder)
    voice = VoiceSettings("gmw/nl")
    honest = synthesize_phrases(["Rustig."], voice, fake_engine, cache)["Rustig."]
    entry = cache.path(cache.key(fake_engine.describe(), voice, "Rustig."))
    planted = synthesize_phrases(["Iets heel anders en veel langer dan dit."], voice, fake_engine, None)
    cache.put(cache.key(fake_engine.describe(), voice, "Rustig."), next(iter(planted.values())))
    os.chmod(entry.parent, 0o777)  # anyone could have put it there
    again = synthesize_phrases(["Rustig."], voice, fake_engine, PhraseCache(folder))["Rustig."]
    assert again.duration_s == pytest.approx(honest.duration_s, abs=0.01)
