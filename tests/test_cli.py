"""The command line, through click's runner and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import soundfile as sf
from helpers import run

from voiceguide import load_script, prepare_session
from voiceguide.cli import cli
from voiceguide.clock import format_clock

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"voiceguide {command}" in result.output


@pytest.mark.slow
def test_list_shows_all_built_ins_in_both_languages():
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "LANG", "TITLE", "LENGTH"]
    rows = {tuple(line.split()[:2]) for line in lines[1:]}
    assert rows == {(n, lang) for n in ("herinnering", "veilige-plek", "zelfkalmering") for lang in ("nl", "en")}
    for line in lines[1:]:
        name, language = line.split()[:2]
        minutes, seconds = line.split()[-1].split(":")
        assert 2 <= int(minutes) <= 3
        # the length a session of it really has, as show and export plan it
        assert line.split()[-1] == format_clock(prepare_session(load_script(name, language)).duration_s)


def test_show_prints_the_timeline(write_script):
    path = write_script("# Begin\nHallo daar. [pause 2s]\n[breathe seed x2 count]\n[chime]")
    result = run("show", str(path))
    assert result.exit_code == 0, result.output
    assert "Test  (nl, voice gmw/nl, 150 wpm)" in result.output
    assert "Hallo daar." in result.output and "chapter  Begin" in result.output
    assert result.output.count("inhale") == 2 and "cycle 2, counted" in result.output
    assert "silence" in result.output and "chime" in result.output


def test_export_writes_the_file_and_says_where(tmp_path, write_script):
    path = write_script("Hallo daar. [pause 1s] Tot ziens. [chime]")
    out = tmp_path / "out.wav"
    result = run("export", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    info = sf.info(str(out))
    assert info.samplerate == 44_100 and info.channels == 1 and info.duration > 5


@pytest.mark.slow
def test_export_of_a_built_in_with_language_and_rate(tmp_path):
    out = tmp_path / "calm.mp3"
    result = run("export", "self-soothing", "--rate", "130", "--sample-rate", "22050", "-o", str(out))
    assert result.exit_code == 0, result.output
    info = sf.info(str(out))
    assert info.samplerate == 22_050 and info.format == "MP3" and info.duration > 150


def test_export_refuses_to_overwrite_without_force(tmp_path, write_script):
    path = write_script("Hallo.")
    out = tmp_path / "keep.wav"
    out.write_bytes(b"precious")
    result = run("export", str(path), "-o", str(out))
    assert result.exit_code == 2  # bad input: the README's exit-code table
    assert result.output.strip() == f"voiceguide: {out} already exists; pass --force to replace it"
    assert out.read_bytes() == b"precious"
    assert run("export", str(path), "-o", str(out), "--force").exit_code == 0
    assert sf.info(str(out)).duration > 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hallo. [bel]", "script.vg:6:8: unknown marker [bel]; use one of: pause, at, breathe, bell, chime, clip"),
        ("[pause soon]", "script.vg:6:8: 'soon' is not a duration; write e.g. 3s, 1.5s, 500ms, 2m or 1:30"),
        ("[clip missing.wav]", "script.vg:6:7: clip 'missing.wav' not found"),
        ("[clip ../../etc/passwd.wav]", "script.vg:6:7: clip '../../etc/passwd.wav' must be a file name inside"),
        ("Een lange zin die wel even duurt.\n[at 0:01]", "script.vg:7:1: [at 0:01] is already passed by"),
    ],
)
def test_bad_scripts_give_one_line_with_file_line_col(write_script, tmp_path, body, expected):
    path = write_script(body)
    out = tmp_path / "never.wav"
    result = run("export", str(path), "-o", str(out))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"voiceguide: {path.parent}/{expected}")
    assert not out.exists() and list(tmp_path.glob(".never*")) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export", "nosuchexercise"], 2, "'nosuchexercise' is neither a built-in exercise"),
        (["export", "zelfkalmering", "--voice", "klingon"], 2, "unknown voice 'klingon'"),
        (["export", "zelfkalmering", "-o", "/dev/null/folder/x.mp3"], 1, "cannot create the folder /dev/null/folder"),
        (["export", "zelfkalmering", "-o", "x.aiff"], 2, "unknown output format '.aiff'"),
        (["show", "missing-file.vg"], 2, "missing-file.vg: no such script file"),
    ],
)
def test_bad_options_give_one_clear_line(args, code, message):
    result = run(*args)
    assert result.exit_code == code
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_check_reports_warnings_and_errors(write_script):
    good = write_script("---\ntitle: T\n---\nZo gaat het goed. [breathe 4-9-4 x2]", name="warn.vg")
    result = run("check", str(good))
    assert result.exit_code == 0
    assert f"{good}:4:19: warning: exhale (4 s) is not longer than inhale (4 s)" in result.output
    assert f"{good}:4:19: warning: a 9 s hold is long" in result.output
    assert "ok: no errors, 2 warning(s)" in result.output
    broken = write_script("Hallo [pause", name="broken.vg")
    result = run("check", str(broken))
    assert result.exit_code == 2
    assert f"{broken}:6:7: error: marker is not closed" in result.output


def test_check_warns_about_repaired_encoding_damage(write_script):
    path = write_script("Cre\u01aber een plek, kies \u01a9\u01a9n oefening, 2 \u01a0 3 minuten.")
    result = run("check", str(path))
    assert result.exit_code == 0
    assert "encoding damage '\u01ab' was read as '\u00eb'" in result.output


@pytest.mark.espeak  # real speech lengths are the point
def test_check_warns_when_a_count_runs_into_the_next_cue(write_script):
    path = write_script("---\nrate: 80\n---\n[breathe 3.5-0-4 x1 count]")
    result = run("check", str(path))
    assert result.exit_code == 0
    assert "ends" in result.output and "into the next breath cue" in result.output


def test_built_ins_pass_check_cleanly():
    for name in ("herinnering", "veilige-plek", "zelfkalmering"):
        for lang in ("nl", "en"):
            result = run("check", name, "--lang", lang)
            assert result.exit_code == 0 and "no warnings" in result.output, (name, lang, result.output)


def test_voices_lists_dutch():
    result = run("voices", "--lang", "nl")
    assert result.exit_code == 0
    assert "gmw/nl" in result.output and "Dutch" in result.output
    unknown = run("voices", "--lang", "xx")
    assert unknown.exit_code == 2  # a bad option value is bad input (exit 2)
    assert unknown.output.strip() == "voiceguide: no voices for language 'xx'; run 'voiceguide voices' for all"


def test_python_dash_m_works_and_errors_have_no_traceback(tmp_path):
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "nope.vg"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        == "voiceguide: nope.vg: no such script file; give a path to a script or a built-in name (see 'voiceguide list')"
    )


def test_version_names_the_engine_espeak_ng_and_the_lexicons(engine):
    """``--version`` is what a bug report needs: the package, the engine that
    speaks, the espeak-ng it found and how many built-in lexicon entries it read."""
    from voiceguide.speech.lexicon import builtin_lexicon

    result = run("--version")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("voiceguide ")
    assert lines[1] == "speech engine: espeak"
    assert lines[2].startswith(f"espeak-ng: {engine.client.version()} (")
    nl, en = len(builtin_lexicon("nl").entries), len(builtin_lexicon("en").entries)
    assert nl >= 20 and en >= 1
    assert lines[3] == f"built-in lexicon entries: en {en}, nl {nl}"
    dutch = run("--ui-lang", "nl", "--version").output.splitlines()
    assert dutch[1] == "spraakengine: espeak" and dutch[3] == f"woorden in de ingebouwde lexicons: en {en}, nl {nl}"


@pytest.mark.parametrize(
    "ui, expected",
    [
        ("en", "voiceguide: give --next or --minutes/--length, not both"),
        ("nl", "voiceguide: geef --next of --minutes/--length, niet allebei"),
    ],
)
def test_the_library_names_its_settings_and_the_command_line_its_options(tmp_path, ui, expected):
    # the library says use_next and target_s (see test_practice); the CLI's funnel names the options
    result = run("--ui-lang", ui, "play", "zelfkalmering", "--next", "--minutes", "5", "--data-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip() == expected
