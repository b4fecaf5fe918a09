"""Hostile input, round 2 (issue 18): what used to end in a traceback is one
line and the right exit code: NaN, names too long for the file system,
digits Python will not convert, bytes that are not UTF-8 under LC_ALL=POSIX,
an output that cannot be written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import mutagen
import pytest
from hostile import SHORT, env, one_line, voiceguide

LONG = "a" * 300
"""Longer than the 255 bytes a file name may have."""
LATIN1 = os.fsdecode(b"caf\xe9")
"""'café' in Latin-1, as a POSIX-locale shell passes it: not UTF-8."""


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["show", "zelfkalmering", "--minutes", "nan"],
            "'--minutes': must be a number from 0.5 to 180, not nan (see 'voiceguide show --help')",
        ),
        (
            ["show", "zelfkalmering", "--minutes", "inf"],
            "'--minutes': inf is not in the range 0.5<=x<=180 (see 'voiceguide show --help')",
        ),
        (
            ["export", "zelfkalmering", "--loudness", "nan"],
            "'--loudness': must be a number from -30 to -10, not nan (see 'voiceguide export --help')",
        ),
        (["next", "--cap", "nan"], "'--cap': must be a number from 1 to 180, not nan (see 'voiceguide next --help')"),
    ],
)
def test_nan_and_infinity_are_usage_errors(tmp_path, args, expected):
    assert one_line(voiceguide(*args, cwd=tmp_path)) == f"voiceguide: invalid value for {expected}"


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", f"{LONG}.vg"], f"voiceguide: {LONG}.vg: cannot read: file name too long"),
        (["export", f"{LONG}.vg"], f"voiceguide: {LONG}.mp3: file name too long"),  # its default output, checked first
        (["export", "zelfkalmering", "-o", f"{LONG}.mp3"], f"voiceguide: {LONG}.mp3: file name too long"),
        (["export", "zelfkalmering", "-o", f"{LONG}/x.mp3"], f"voiceguide: {LONG}/x.mp3: file name too long"),
        (
            ["next", LONG],
            f"voiceguide: '{LONG}' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor in the practice log; see 'voiceguide log'",
        ),
        (["batch", f"{LONG}.toml", "-o", "out"], f"voiceguide: {LONG}.toml: cannot read the manifest (file name too long)"),
    ],
)
def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path, args, expected):
    assert one_line(voiceguide(*args, cwd=tmp_path)) == expected
    assert list(tmp_path.iterdir()) == []


def test_check_of_a_name_too_long_is_one_finding(tmp_path):
    result = voiceguide("check", f"{LONG}.vg", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == f"{LONG}.vg: error: cannot read: file name too long\n"


@pytest.mark.sampled(2)
@pytest.mark.parametrize(("value", "shown"), [("9" * 5000, "9" * 20 + "..."), ("²", "²"), ("٣", "٣"), ("1e1", "1e1")])
def test_a_tension_that_is_not_0_to_10_is_one_line(tmp_path, value, shown):
    result = voiceguide(
        "diary", "add", "--trigger", "x", "--need", "safety", "--exercise", "y", "--before", value, "--after", "1",
        "--data-dir", tmp_path,
    )  # fmt: skip
    assert one_line(result) == f"voiceguide: tension before must be a whole number from 0 (calm) to 10, not '{shown}'"


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["show", f"{LATIN1}.vg"],
            "voiceguide: caf\\xe9.vg: no such script file; give a path to a script or a built-in name (see 'voiceguide list')",
        ),
        (
            ["diary", "add", "--trigger", LATIN1, "--need", "safety", "--exercise", "y", "--before", "1", "--after", "1"],
            "voiceguide: trigger holds the byte 0xE9 (not UTF-8) at character 4; write plain text (UTF-8)",
        ),
        (
            ["export", "zelfkalmering", "-o", "a.flac", "--album", LATIN1],
            "voiceguide: the album holds the byte 0xE9 (not UTF-8) at character 4; write plain text (UTF-8)",
        ),
        (
            ["export", "zelfkalmering", "--voice", LATIN1],
            re.compile(
                r"voiceguide: unknown voice 'caf\\xe9'; voices for 'nl': \S.* \(all of them: 'voiceguide voices --lang nl'\)"
            ),
        ),
        (
            ["next", LATIN1],
            "voiceguide: 'caf\\xe9' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor in the practice log; see 'voiceguide log'",
        ),
    ],
)
def test_a_latin1_argument_under_the_posix_locale_is_one_line(tmp_path, args, expected):
    result = voiceguide(*args, cwd=tmp_path, LC_ALL="POSIX", VOICEGUIDE_DATA_DIR=str(tmp_path / "data"))
    if isinstance(expected, re.Pattern):
        assert expected.fullmatch(one_line(result)), one_line(result)
    else:
        assert one_line(result) == expected
    assert not (tmp_path / "a.flac").exists() and not (tmp_path / "data" / "practice.sqlite3").exists()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".flac", ".mp3"])
def test_a_latin1_script_name_reaches_the_tags_as_a_replacement_character(tmp_path, suffix):
    (tmp_path / f"{LATIN1}.vg").write_text(SHORT, encoding="utf-8")
    result = voiceguide("export", f"{LATIN1}.vg", "-o", f"out{suffix}", cwd=tmp_path, LC_ALL="POSIX")
    assert result.returncode == 0, result.stderr
    tags = mutagen.File(tmp_path / f"out{suffix}")
    comment = str(tags["comment"][0] if suffix == ".flac" else tags.tags.getall("COMM")[0])
    assert comment.endswith("from the script caf\ufffd.vg")


@pytest.mark.slow
def test_an_output_that_cannot_be_written_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", "list"], stdout=full, stderr=subprocess.PIPE, text=True, env=env(), timeout=60
        )
    assert result.returncode == 1
    assert result.stderr == "voiceguide: cannot write the output: no space left on device\n"


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()
    )
    process.stdout.close()  # like 'voiceguide list | head -0'
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert stderr == ""


def test_a_nul_never_reaches_the_espeak_engine(tmp_path):
    script = tmp_path / "s.vg"
    script.write_bytes(b"---\ntitle: T\n---\nAdem rustig\x00 in.\n")
    result = voiceguide("export", script, "-o", tmp_path / "s.wav", VOICEGUIDE_ENGINE="espeak")
    assert one_line(result) == f"voiceguide: {script}:4:12: U+0000 (NUL) in the text; scripts are plain text: remove it"
    assert not (tmp_path / "s.wav").exists()
