"""Every error path the tests know, under a Dutch interface: nothing English
reaches the screen.

The catalog test only sees strings inside ``_()``; this drives the command
line itself (``LANG=nl_NL.UTF-8``, as a new user has it) through the error
paths of tests/test_cli_errors.py and of the hostile-input tests, and fails
on a common English word that is not also Dutch in what is shown. Paths,
quoted names, option names and ``<built-in ...>`` sources are left out of
the check: they are the user's or the program's names, not its language.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hostile import DUTCH_SCREEN, SHORT, env, voiceguide
from test_cli_errors import CASES

ENGLISH = frozenset(
    """the not neither nor cannot can't use file files should no such or and must give which with would found folder
    you your this that than from does did mean only into without missing invalid error expected got there while been
    write read pass has have are was will device directory allowed already exists least most beyond make record
    recording recordings holds link out of the its be""".split()
)
"""Common English words that are not Dutch words (``is``, ``in``, ``op``,
``pipe``, ``script``, ``cache``, ``engine``, ``limit``... are left out: Dutch
uses them too). ``of`` means "or" in Dutch: it is left out too."""
ENGLISH = ENGLISH - {"of"}

_NAMES = re.compile(r"voiceguide \w+|'[^']*'|\"[^\"]*\"|<[^>]*>|(?:\S*[/.=$\\]\S*)|--?[a-z][a-z-]*|\b[A-Z_]{2,}\b")


def english_words(screen: str) -> list[str]:
    """The English words in ``screen``, names (paths, quoted, options) left out."""
    text = _NAMES.sub(" ", screen)
    return [word for word in re.findall(r"[A-Za-z']+", text) if word.lower() in ENGLISH]


def _dutch(args, cwd: Path, **extra) -> subprocess.CompletedProcess:
    return voiceguide(*args, cwd=cwd, timeout=120, input="", **{**extra, **DUTCH_SCREEN})


# --- the hostile tests' error paths: how each is provoked ---------------------------------------


def _pack(folder: Path):
    from voiceguide.audio import Audio
    from voiceguide.speech.pack import VoicePack

    pack = VoicePack.create(folder / "anna", speaker="Anna", language="nl")
    tone = np.sin(2 * np.pi * 330 * np.arange(48_000) / 48_000).astype(np.float32) * 0.1
    for text in ("Ga rustig zitten.", "Tot ziens."):
        pack.add(text, Audio(tone, 48_000))
    (folder / "pakket.vg").write_text("---\ntitle: Pakket\nlanguage: nl\n---\nGa rustig zitten.\nTot ziens.\n", encoding="utf-8")
    return pack


def _export_pack(folder: Path) -> list:
    return ["export", "pakket.vg", "--voice-pack", "anna", "-o", "uit.wav"]


def fifo_script(folder):
    os.mkfifo(folder / "pipe.vg")
    return ["show", "pipe.vg"]


def sparse_script(folder):
    with (folder / "huge.vg").open("wb") as file:
        file.truncate(2 << 30)
    return ["show", "huge.vg"]


def sparse_manifest(folder):
    with (folder / "huge.toml").open("wb") as file:
        file.truncate(1 << 30)
    return ["batch", "huge.toml", "-o", "uit"]


def fifo_manifest(folder):
    os.mkfifo(folder / "pipe.toml")
    return ["batch", "pipe.toml", "-o", "uit"]


def script_errors(folder):
    (folder / "fout.vg").write_text(
        "---\ntitle: Fout\nlanguage: nl\n---\nHallo. [pause 9000s]\n[breathe 90-1-1 x2]\n", encoding="utf-8"
    )
    return ["show", "fout.vg"]


def checked_script(folder):
    script_errors(folder)
    return ["check", "fout.vg"]


def years_of_breathing(folder):
    (folder / "jaren.vg").write_text(
        "---\ntitle: Jaren\nlanguage: nl\n---\n" + "[breathe 30-30-30 x500]\n" * 100, encoding="utf-8"
    )
    return ["show", "jaren.vg"]


def length_out_of_reach(folder):
    return ["show", "zelfkalmering", "--length", "1m"]


def length_beyond_the_limit(folder):
    return ["show", "zelfkalmering", "--length", "30h"]


def unknown_exercise(folder):
    return ["show", "zelfkalmeering"]


def existing_output(folder):
    (folder / "er.mp3").write_bytes(b"kostbaar")
    return ["export", "zelfkalmering", "-o", "er.mp3"]


def output_is_a_folder(folder):
    (folder / "map.mp3").mkdir()
    return ["export", "zelfkalmering", "-o", "map.mp3", "--force"]


def system_folder(folder):
    return ["export", "zelfkalmering", "-o", "/proc/a.mp3"]


def name_too_long(folder):
    return ["export", "zelfkalmering", "-o", folder / "nieuw" / ("a" * 300 + ".mp3")]


def read_only_folder(folder):
    (folder / "ro").mkdir()
    os.chmod(folder / "ro", 0o500)
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    return ["export", "zelfkalmering", "-o", "ro/a.mp3"]


def pack_recording_with_nan(folder):
    pack = _pack(folder)
    samples = np.full(48_000, 0.1, dtype=np.float32)
    samples[100:200] = np.nan
    sf.write(pack.path("Tot ziens."), samples, 48_000, format="WAV", subtype="FLOAT")
    return _export_pack(folder)


def pack_recording_links_out(folder):
    pack = _pack(folder)
    (folder / "elders").mkdir()
    os.replace(pack.path("Tot ziens."), folder / "elders" / "x.flac")
    os.symlink(folder / "elders" / "x.flac", pack.path("Tot ziens."))
    return _export_pack(folder)


def pack_recording_sparse(folder):
    pack = _pack(folder)
    with pack.path("Tot ziens.").open("r+b") as file:
        file.truncate(100 << 30)
    return _export_pack(folder)


def pack_recording_fifo(folder):
    pack = _pack(folder)
    os.unlink(pack.path("Tot ziens."))
    os.mkfifo(pack.path("Tot ziens."))
    return _export_pack(folder)


def pack_manifest_huge_number(folder):
    pack = _pack(folder)
    (pack.folder / "voicepack.json").write_text('{"format": 1, "language": "nl", "sample_rate": ' + "1" * 5000 + "}")
    return _export_pack(folder)


def pack_manifest_not_json(folder):
    pack = _pack(folder)
    (pack.folder / "voicepack.json").write_text("{kapot")
    return _export_pack(folder)


def pack_of_another_language(folder):
    _pack(folder)
    (folder / "en.vg").write_text(SHORT, encoding="utf-8")
    return ["export", "en.vg", "--voice-pack", "anna", "-o", "uit.wav"]


def pack_is_a_device(folder):
    _pack(folder)
    return ["export", "pakket.vg", "--voice-pack", "/dev/zero", "-o", "uit.wav"]


def no_pack(folder):
    _pack(folder)
    return ["export", "pakket.vg", "--voice-pack", "geen", "-o", "uit.wav"]


def take_is_a_fifo(folder):
    _pack(folder)
    os.mkfifo(folder / "take.wav")
    return ["record", "pakket.vg", "--from-take", "take.wav", "-o", "nieuw"]


def take_missing(folder):
    _pack(folder)
    return ["record", "pakket.vg", "--from-take", "geen.wav", "-o", "nieuw"]


def _piper(folder, config) -> Path:
    from test_piper import CONFIG, fake_model

    return fake_model(folder / "modellen", config={**CONFIG, **config})


def piper_config_nan(folder):
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    model = _piper(folder, {"inference": {"noise_scale": float("nan")}})
    return ["export", "kort.vg", "--voice", f"piper:{model}", "-o", "uit.wav"]


def piper_config_huge_id(folder):
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    model = _piper(folder, {"phoneme_id_map": {"_": [0], "^": [1], "$": [10**30]}})
    return ["export", "kort.vg", "--voice", f"piper:{model}", "-o", "uit.wav"]


def piper_config_broken(folder):
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    model = _piper(folder, {})
    model.with_name(model.name + ".json").write_text("{kapot")
    return ["export", "kort.vg", "--voice", f"piper:{model}", "-o", "uit.wav"]


def piper_model_sparse(folder):
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    model = _piper(folder, {})
    with model.open("r+b") as file:
        file.truncate(2 << 30)
    return ["export", "kort.vg", "--voice", f"piper:{model}", "-o", "uit.wav"]


def piper_model_missing(folder):
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    return ["export", "kort.vg", "--voice", f"piper:{folder}/geen.onnx", "-o", "uit.wav"]


def voices_folder_warning(folder):
    model = _piper(folder / "data" / "voices", {"num_speakers": -1})
    del model
    return ["voices", "--lang", "en"]


def cache_not_ours(folder):
    shared = folder / "gedeeld"
    (shared / "phrases").mkdir(parents=True)
    os.chmod(shared, 0o777)
    return ["cache", "--clear"]


def cache_warning(folder):
    shared = folder / "gedeeld"
    shared.mkdir()
    os.chmod(shared, 0o777)
    (folder / "kort.vg").write_text(SHORT, encoding="utf-8")
    return ["show", "kort.vg"]


def manifest_script_outside(folder):
    (folder / "m.toml").write_text("[[track]]\nscript = '../x.vg'\n", encoding="utf-8")
    return ["batch", "m.toml", "-o", "uit", "--check"]


def manifest_unknown_key(folder):
    (folder / "m.toml").write_text("titel = 'x'\n[[track]]\nexercise = 'zelfkalmering'\n", encoding="utf-8")
    return ["batch", "m.toml", "-o", "uit"]


def cover_not_an_image(folder):
    (folder / "omslag.png").write_text("geen afbeelding", encoding="utf-8")
    (folder / "m.toml").write_text(
        "[bundle]\ncover = 'omslag.png'\nfeed_url = 'https://example.org/groep/'\n[[track]]\nexercise = 'zelfkalmering'\n",
        encoding="utf-8",
    )
    return ["batch", "m.toml", "-o", "uit", "--check"]


def bundle_into_a_foreign_folder(folder):
    (folder / "uit").mkdir()
    (folder / "uit" / "index.html").write_text("mijn pagina")
    (folder / "m.toml").write_text("[bundle]\nformat = 'wav'\n[[track]]\nexercise = 'zelfkalmering'\n", encoding="utf-8")
    return ["batch", "m.toml", "-o", "uit"]


def diary_with_escape(folder):
    return ["diary", "add", "--trigger", "\x1b[2J", "--need", "safety", "--exercise", "x", "--before", "5", "--after", "2"]


HOSTILE = [
    fifo_script,
    sparse_script,
    sparse_manifest,
    fifo_manifest,
    script_errors,
    checked_script,
    years_of_breathing,
    length_out_of_reach,
    length_beyond_the_limit,
    unknown_exercise,
    existing_output,
    output_is_a_folder,
    system_folder,
    name_too_long,
    read_only_folder,
    pack_recording_with_nan,
    pack_recording_links_out,
    pack_recording_sparse,
    pack_recording_fifo,
    pack_manifest_huge_number,
    pack_manifest_not_json,
    pack_of_another_language,
    pack_is_a_device,
    no_pack,
    take_is_a_fifo,
    take_missing,
    piper_config_nan,
    piper_config_huge_id,
    piper_config_broken,
    piper_model_sparse,
    piper_model_missing,
    voices_folder_warning,
    cache_not_ours,
    cache_warning,
    manifest_script_outside,
    manifest_unknown_key,
    cover_not_an_image,
    bundle_into_a_foreign_folder,
    diary_with_escape,
]


def test_the_english_word_check_finds_english_and_passes_dutch():
    english = "voiceguide: /a/b.vg: 'x' is neither a built-in exercise nor a script file; did you mean y?"
    assert english_words(english) == ["neither", "nor", "file", "did", "you", "mean"]
    dutch = "voiceguide: <built-in x.vg>: kan deze sessie niet 1:00 lang maken; ze kan van 1:58,3 tot 1:43:08,7 duren"
    assert english_words(dutch) == []


@pytest.mark.sampled(2)
@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(case[0]) for case in CASES])
def test_the_command_line_errors_speak_dutch(tmp_path, args, code, message):
    result = _dutch([arg.format(tmp=tmp_path) for arg in args], tmp_path, VOICEGUIDE_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == code, result.stderr
    screen = result.stderr + result.stdout
    assert "Traceback" not in screen and not english_words(screen), screen


@pytest.mark.sampled(4)
@pytest.mark.parametrize("provoke", HOSTILE, ids=[provoke.__name__ for provoke in HOSTILE])
def test_the_hostile_input_errors_speak_dutch(tmp_path, provoke):
    args = provoke(tmp_path)
    extra = {"VOICEGUIDE_DATA_DIR": str(tmp_path / "data")}
    if provoke in (cache_not_ours, cache_warning):
        extra["VOICEGUIDE_CACHE_DIR"] = str(tmp_path / "gedeeld" / ("" if provoke is cache_not_ours else "x"))
    result = _dutch(args, tmp_path, **extra)
    screen = result.stderr + (result.stdout if result.returncode else "")
    assert result.returncode != 0 or result.stderr, (result.returncode, screen)
    assert "Traceback" not in screen and not english_words(screen), screen


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="set-up installs system packages only as root (or with sudo)")
def test_setup_and_run_speak_dutch(tmp_path):
    """scripts/setup and scripts/run say what they do in Dutch under a Dutch LANG."""
    root = Path(__file__).resolve().parent.parent
    apt = tmp_path / "apt-get"
    apt.write_text("#!/bin/sh\nexit 0\n")
    apt.chmod(0o755)
    environment = {key: value for key, value in env().items() if key not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    environment.update(
        LANG="nl_NL.UTF-8",
        VOICEGUIDE_APT_GET=str(apt),
        VOICEGUIDE_DPKG_LOCK=str(tmp_path / "lock"),
        VOICEGUIDE_EXTRA_PACKAGES="voiceguide-no-such-package",
    )
    setup = subprocess.run([root / "scripts" / "setup"], capture_output=True, text=True, env=environment, timeout=600)
    assert setup.returncode == 0, setup.stderr
    assert setup.stderr.splitlines()[0] == "voiceguide setup: voiceguide-no-such-package installeren met apt-get"
    assert not english_words(setup.stderr), setup.stderr
    del environment["VOICEGUIDE_EXTRA_PACKAGES"]
    environment.update(VOICEGUIDE_EXPORT="1", VOICEGUIDE_OUT=str(tmp_path / "uit"))
    run = subprocess.run(
        [root / "scripts" / "run", "--minutes", "2"], capture_output=True, text=True, env=environment, timeout=600
    )
    assert run.returncode == 0, run.stderr
    assert (
        run.stderr.splitlines()[0]
        == f"voiceguide: de sessie gaat naar een bestand, zoals VOICEGUIDE_EXPORT vraagt: {tmp_path}/uit/zelfkalmering.mp3"
    )
    assert not english_words(run.stderr + run.stdout), run.stderr + run.stdout
