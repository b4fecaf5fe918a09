"""Every kind of error at the command line is one line on stderr with the
exit code the README's table gives: 2 for usage and bad input, 1 for
everything else."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    # click's own usage errors: unknown command, bad values, missing arguments
    (["nosuch"], 2, "voiceguide: no such command 'nosuch' (see 'voiceguide --help')"),
    (["export"], 2, "voiceguide: missing argument 'SCRIPT' (see 'voiceguide export --help')"),
    (
        ["export", "zelfkalmering", "--minutes", "1000"],
        2,
        "voiceguide: invalid value for '--minutes': 1000.0 is not in the range 0.5<=x<=180 (see 'voiceguide export --help')",
    ),
    (
        ["export", "zelfkalmering", "--lang", "fr"],
        2,
        "voiceguide: invalid value for '--lang': 'fr' is not one of 'nl', 'en' (see 'voiceguide export --help')",
    ),
    (["show", "zelfkalmering", "--nosuch"], 2, "voiceguide: no such option '--nosuch' (see 'voiceguide show --help')"),
    # the library's usage errors
    (
        ["export", "zelfkalmering", "-o", "{tmp}/calm.txt"],
        2,
        "voiceguide: {tmp}/calm.txt: unknown output format '.txt'; use one of: .wav, .flac, .mp3, .ogg, .opus",
    ),
    (
        ["export", "zelfkalmering", "-o", "{tmp}/calm"],
        2,
        "voiceguide: {tmp}/calm has no file extension, so no format; add one of .wav, .flac, .mp3, .ogg, .opus (e.g. calm.mp3)",
    ),
    (
        ["show", "zelfkalmering", "--length", "5"],
        2,
        "voiceguide: --length 5: give a unit: 5m for minutes, 5s for seconds, or m:ss",
    ),
    (["show", "zelfkalmering", "--minutes", "2", "--length", "2m"], 2, "voiceguide: give --minutes or --length, not both"),
    (["voices", "--lang", "xx"], 2, "voiceguide: no voices for language 'xx'; run 'voiceguide voices' for all"),
    (
        ["show", "nosuch"],
        2,
        "voiceguide: 'nosuch' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor a script file",
    ),
    (
        ["check", "{tmp}/missing.vg"],
        2,
        "{tmp}/missing.vg: error: no such script file; give a path to a script or a built-in name (see 'voiceguide list')",
    ),
    (["diary", "add", "--before", "12"], 2, "voiceguide: tension before must be a whole number from 0 (calm) to 10, not '12'"),
    # everything else: exit 1
    (["devices"], 1, None),
]


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(case[0]) for case in CASES])
def test_every_error_is_one_line_with_its_exit_code(tmp_path, args, code, message):
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
        "VOICEGUIDE_DATA_DIR": str(tmp_path / "data"),
    }
    argv = [arg.format(tmp=tmp_path) for arg in args]
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    lines = (result.stderr + result.stdout).strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    if message is not None:
        assert lines[0] == message.format(tmp=tmp_path)


def test_an_existing_output_is_bad_input_and_kept(tmp_path):
    out = tmp_path / "keep.mp3"
    out.write_bytes(b"precious")
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "-o", str(out)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"voiceguide: {out} already exists; pass --force to replace it"
    assert out.read_bytes() == b"precious"


@pytest.mark.slow
def test_export_makes_the_folder_it_writes_into(tmp_path):
    out = tmp_path / "out" / "sub" / "session.wav"
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "--minutes", "2", "-o", str(out)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert out.is_file()
