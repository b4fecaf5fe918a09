"""The espeak-ng client and server (voiceguide.speech.espeak_client, espeak_server) with the real libespeak-ng.

Run: /work/main/.venv/bin/python -m pytest /work/scratch/espeak
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import cpu_load

from voiceguide.speech import espeak_client
from voiceguide.speech.espeak_client import SAMPLE_RATE, EspeakClient, EspeakError

# the sentences of the benchmark session (shared/bench/session.vg), one phrase each
SESSION = [
    "Welkom.",
    "Ga rustig en gemakkelijk zitten, met je voeten op de grond.",
    "Sluit je ogen als dat prettig voelt, of laat je blik zacht op een punt voor je rusten.",
    "Merk op hoe je nu ademt.",
    "Je hoeft niets te veranderen.",
    "We gaan samen rustig ademen.",
    "Adem in door je neus terwijl ik tel tot vier.",
    "Houd je adem even vast.",
    "Adem dan langzaam uit, langer dan je inademde.",
    "Goed zo.",
    "Laat je ademhaling weer vanzelf gaan.",
    "Voel het contact van je voeten met de vloer, en van je lichaam met de stoel.",
    "Merk drie dingen op die je nu hoort.",
    "Merk op waar je lichaam zich zwaar of warm voelt.",
    "Adem nog eens rustig in, en langzaam uit.",
    "Als je gedachten afdwalen, is dat helemaal goed.",
    "Breng je aandacht vriendelijk terug naar je adem.",
    "Zeg in gedachten tegen jezelf: ik ben hier, en het is nu veilig genoeg.",
    "We ronden af.",
    "Beweeg je vingers en tenen een beetje.",
    "Open je ogen wanneer je er klaar voor bent.",
    "Neem deze rust mee in de rest van je dag.",
]

VOICE = "nl+f3"
RATE = 130
A = "Adem in door je neus terwijl ik tel tot vier."
B = "Voel het contact van je voeten met de vloer, en van je lichaam met de stoel."
C = "Breathe in slowly, and let your shoulders soften."

pytestmark = pytest.mark.espeak  # left out of the fast tier (conftest.py)


@pytest.fixture(scope="module")
def engine() -> Iterator[EspeakClient]:
    with EspeakClient() as shared:
        yield shared


@pytest.fixture(scope="module")
def session_reference(engine: EspeakClient) -> list[bytes]:
    """The session's sentences, spoken one by one: the expected bytes."""
    return [engine.synthesize(text, VOICE, RATE).tobytes() for text in SESSION]


def digest(arrays: list[np.ndarray] | list[bytes]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        data = a if isinstance(a, bytes) else a.tobytes()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


# --- basics ---


def test_sample_rate_and_version(engine: EspeakClient) -> None:
    assert engine.sample_rate == SAMPLE_RATE == 22050
    assert engine.version().startswith("1.")
    assert Path(engine.data_path(), "phontab").exists()


def test_synthesize_returns_int16_speech(engine: EspeakClient) -> None:
    x = engine.synthesize(A, VOICE, RATE)
    assert x.dtype == np.int16 and x.ndim == 1
    assert 1.5 < len(x) / SAMPLE_RATE < 6.0
    assert np.abs(x.astype(np.int32)).max() > 3000


def test_voices_lists_dutch_and_english(engine: EspeakClient) -> None:
    voices = {v.id: v for v in engine.voices()}
    assert voices["gmw/nl"].languages == ("nl",)
    assert voices["gmw/nl"].name == "Dutch"
    assert "en" in voices["gmw/en"].languages
    assert voices["gmw/en"].languages[0] == "en-gb"  # priority order is kept
    assert "en-us" in voices["gmw/en-US"].languages
    assert len(voices) > 50


@pytest.mark.parametrize("voice_id", ["nl+f3", "gmw/nl+f3"])
def test_voice_id_forms_are_the_same_voice(engine: EspeakClient, voice_id: str) -> None:
    assert np.array_equal(engine.synthesize(A, voice_id, RATE), engine.synthesize(A, "nl+f3", RATE))


def test_server_runs_as_a_module_too(engine: EspeakClient) -> None:
    with EspeakClient(server_module="voiceguide.speech.espeak_server") as by_module:
        assert by_module.synthesize(A, VOICE, RATE).tobytes() == engine.synthesize(A, VOICE, RATE).tobytes()


def test_language_name_falls_back_like_the_cli(engine: EspeakClient) -> None:
    assert np.array_equal(engine.synthesize(C, "en-gb", 150), engine.synthesize(C, "gmw/en", 150))


def test_volume_scales_amplitude(engine: EspeakClient) -> None:
    loud = engine.synthesize(A, VOICE, RATE, volume=1.0).astype(np.float64)
    soft = engine.synthesize(A, VOICE, RATE, volume=0.5).astype(np.float64)
    assert len(loud) == len(soft)
    ratio = np.sqrt(np.mean(soft**2) / np.mean(loud**2))
    assert 0.4 < ratio < 0.6


# --- argument checks ---


@pytest.mark.parametrize(
    "request_, message",
    [
        (("a\0b", VOICE, RATE, 50, 1.0, 0), "NUL"),
        (("   ", VOICE, RATE, 50, 1.0, 0), "non-empty"),
        ((A, VOICE, 79, 50, 1.0, 0), "rate"),
        ((A, VOICE, 451, 50, 1.0, 0), "rate"),
        ((A, VOICE, RATE, 100, 1.0, 0), "pitch"),
        ((A, VOICE, RATE, 50, 1.5), "volume"),
        ((A, "", RATE, 50, 1.0, 0), "voice_id"),
        ((A, VOICE), "expected"),
    ],
)
def test_bad_requests_raise_value_error(engine: EspeakClient, request_: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        engine.synthesize_many([request_])


def test_unknown_voice_is_an_espeak_error_and_the_engine_goes_on(engine: EspeakClient) -> None:
    with pytest.raises(EspeakError, match=r"phrase 2 of 3 .*no voice 'xx-nonsense'"):
        engine.synthesize_many([(A, VOICE, RATE, 50, 1.0, 0), (A, "xx-nonsense", RATE, 50, 1.0, 0), (B, VOICE, RATE, 50, 1.0, 0)])
    assert len(engine.synthesize(A, VOICE, RATE)) > 0


# --- determinism ---


def test_same_phrase_at_positions_1_3_5_is_identical(engine: EspeakClient) -> None:
    sequence = [
        (A, VOICE, RATE, 50, 1.0, 0),
        (B, VOICE, 180, 50, 1.0, 0),
        (A, VOICE, RATE, 50, 1.0, 0),
        (C, "gmw/en", 100, 70, 0.8, 0),
        (A, VOICE, RATE, 50, 1.0, 0),
    ]
    for jobs in (1, 2, 4):
        out = engine.synthesize_many(sequence, jobs=jobs)
        assert out[0].tobytes() == out[2].tobytes() == out[4].tobytes()
    # and one call at a time, with other phrases in between
    singles = [engine.synthesize(*request).tobytes() for request in sequence]
    assert singles[0] == singles[2] == singles[4] == out[0].tobytes()


def test_fresh_engines_in_different_orders_are_identical(session_reference: list[bytes]) -> None:
    order = list(range(len(SESSION)))
    shuffled = order[::-1][::2] + order[::-1][1::2]
    with EspeakClient() as first:
        forward = first.synthesize_many([(SESSION[i], VOICE, RATE, 50, 1.0, 0) for i in order], jobs=1)
    with EspeakClient() as second:
        backward = second.synthesize_many([(SESSION[i], VOICE, RATE, 50, 1.0, 0) for i in shuffled], jobs=3)
    by_index = dict(zip(shuffled, backward))
    for i in order:
        assert forward[i].tobytes() == by_index[i].tobytes() == session_reference[i]


def test_threads_share_one_engine(engine: EspeakClient, session_reference: list[bytes]) -> None:
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def speak(indices: list[int]) -> None:
        try:
            for i in indices:
                results[i] = engine.synthesize(SESSION[i], VOICE, RATE).tobytes()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(list(range(k, len(SESSION), 4)),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [results[i] for i in range(len(SESSION))] == session_reference


# --- equal to the espeak-ng CLI ---

CLI_CASES = [(text, VOICE, RATE, 50, 1.0, 0) for text in SESSION] + [
    (C, "gmw/en", 175, 50, 1.0, 0),
    (C, "en-gb", 100, 70, 1.0, 0),
    (A, "gmw/nl", 240, 30, 0.5, 0),
    ("Is je kaak ontspannen?", "nl+m3", 110, 50, 1.0, 0),
]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng CLI not installed")
def test_equals_espeak_ng_cli(engine: EspeakClient, tmp_path: Path) -> None:
    ours = engine.synthesize_many(CLI_CASES, jobs=2)
    for i, ((text, voice, rate, pitch, volume, _), samples) in enumerate(zip(CLI_CASES, ours)):
        wav = tmp_path / f"{i}.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-a", str(round(volume * 100)), "-w", str(wav), text],
            check=True,
        )
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        cli, _ = sf.read(str(wav), dtype="int16")
        assert np.array_equal(samples, cli), f"case {i}: {voice} {rate} {text!r}"


# --- under load and in parallel ---


def test_twelve_cold_runs_under_cpu_load_are_identical(session_reference: list[bytes]) -> None:
    expected = digest(session_reference)
    requests = [(text, VOICE, RATE, 50, 1.0, 0) for text in SESSION]
    with cpu_load(3):
        for run in range(12):
            with EspeakClient() as cold:  # a new server each run: cold start included
                assert digest(cold.synthesize_many(requests, jobs=2)) == expected, f"run {run}"


WORKER = textwrap.dedent(
    """
    import hashlib
    from voiceguide.speech.espeak_client import EspeakClient
    h = hashlib.sha256()
    with EspeakClient() as engine:
        for a in engine.synthesize_many([(t, {voice!r}, {rate}, 50, 1.0, 0) for t in {sentences!r}], jobs=2):
            data = a.tobytes()
            h.update(len(data).to_bytes(8, "little") + data)
    print(h.hexdigest())
    """
)


def test_eight_processes_at_once(session_reference: list[bytes]) -> None:
    code = WORKER.format(sentences=SESSION, voice=VOICE, rate=RATE)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err.decode()
        assert out.decode().strip() == digest(session_reference)


# --- failures give errors, not hangs ---

FAULTY_SERVER = textwrap.dedent(
    """
    '''espeak_server with children that misbehave on request (tests only).'''
    import os, signal, sys, time
    from voiceguide.speech import espeak_server as base

    _speak = base.Espeak.speak

    def speak(self, text, voice, rate, pitch, volume, word_gap=0):
        if text == b"CRASH":
            os.kill(os.getpid(), signal.SIGKILL)
        if text == b"HANG":
            time.sleep(3600)
        if text == b"EXIT":
            os._exit(3)
        if text == b"SILENT":
            return b""
        if text == b"KILLSERVER":  # and try to outlive it
            with open(os.environ["FAULTY_PID_FILE"], "a") as pids:
                print(os.getpid(), file=pids)
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(3600)
        return _speak(self, text, voice, rate, pitch, volume, word_gap)

    _parse_synth = base.parse_synth

    def parse_synth(payload):  # runs in the server itself, not in a child
        if b"SERVERHANG" in payload:
            time.sleep(3600)
        return _parse_synth(payload)

    base.Espeak.speak = speak
    base.parse_synth = parse_synth
    sys.exit(base.main())
    """
)


@pytest.fixture
def faulty_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EspeakClient]:
    (tmp_path / "faulty_espeak_server.py").write_text(FAULTY_SERVER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAULTY_PID_FILE", str(tmp_path / "orphans.txt"))
    with EspeakClient(server_module="faulty_espeak_server", phrase_timeout_s=1.0) as faulty:
        yield faulty


@pytest.mark.parametrize(
    "text, message",
    [
        ("CRASH", "killed by signal SIGKILL"),
        ("HANG", r"timed out after 1 s"),
        ("EXIT", "exited with status 3"),
        ("SILENT", "no samples"),
    ],
)
def test_a_failing_child_is_an_error_not_a_hang(faulty_engine: EspeakClient, text: str, message: str) -> None:
    batch = [(A, VOICE, RATE, 50, 1.0, 0), (text, VOICE, RATE, 50, 1.0, 0), (B, VOICE, RATE, 50, 1.0, 0)]
    started = time.monotonic()
    with pytest.raises(EspeakError, match=rf"phrase 2 of 3 \('{text}'\): .*{message}"):
        faulty_engine.synthesize_many(batch, jobs=2)
    assert time.monotonic() - started < 5.0
    # the same server goes on, and still speaks deterministically
    pid = faulty_engine.server_pid
    with EspeakClient() as healthy:
        assert faulty_engine.synthesize(A, VOICE, RATE).tobytes() == healthy.synthesize(A, VOICE, RATE).tobytes()
    assert faulty_engine.server_pid == pid


def test_a_server_killed_between_calls_is_restarted(engine: EspeakClient) -> None:
    before = engine.synthesize(A, VOICE, RATE)
    pid = engine.server_pid
    assert pid is not None
    os.kill(pid, 9)
    after = engine.synthesize(A, VOICE, RATE)
    assert engine.server_pid not in (None, pid)
    assert np.array_equal(before, after)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_server_that_dies_every_time_gives_one_error(faulty_engine: EspeakClient, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(EspeakError, match="server failed twice"):
        faulty_engine.synthesize("KILLSERVER", VOICE, RATE)
    assert time.monotonic() - started < 5.0
    assert len(faulty_engine.synthesize(A, VOICE, RATE)) > 0  # a third server starts
    # the children that killed their servers did not outlive them
    orphans = [int(line) for line in (tmp_path / "orphans.txt").read_text().split()]
    assert len(orphans) == 2
    deadline = time.monotonic() + 2.0
    while any(_alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(_alive(pid) for pid in orphans)


def test_a_hung_server_is_killed_and_reported(faulty_engine: EspeakClient, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(espeak_client, "_REPLY_SLACK_S", 0.5)  # wait 1 + 0.5 s per attempt
    started = time.monotonic()
    with pytest.raises(EspeakError, match=r"server failed twice: no reply within 1.5 s"):
        faulty_engine.synthesize("SERVERHANG", VOICE, RATE)
    assert time.monotonic() - started < 5.0
    assert len(faulty_engine.synthesize(A, VOICE, RATE)) > 0


def test_missing_library_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUIDE_LIBESPEAK", "/nonexistent/libespeak-ng.so.1")
    with EspeakClient() as broken, pytest.raises(EspeakError, match=r"apt-get install espeak-ng") as info:
        broken.synthesize(A, VOICE, RATE)
    assert "\n" not in str(info.value)


def test_closed_engine_refuses() -> None:
    closed = EspeakClient()
    closed.close()
    with pytest.raises(EspeakError, match="closed"):
        closed.synthesize(A, VOICE, RATE)


def test_an_interrupted_request_does_not_leak_replies_into_the_next(monkeypatch: pytest.MonkeyPatch) -> None:

    real_read = espeak_client._read_exact
    calls = [0]

    def interrupted_read(fd: int, n: int, timeout_s: float) -> bytes:
        calls[0] += 1
        if calls[0] == 4:  # hello = 2 reads; stop after the first reply's header
            raise KeyboardInterrupt
        return real_read(fd, n, timeout_s)

    with EspeakClient() as fresh:
        monkeypatch.setattr(espeak_client, "_read_exact", interrupted_read)
        with pytest.raises(KeyboardInterrupt):
            fresh.synthesize_many([(A, VOICE, RATE, 50, 1.0, 0), (B, VOICE, RATE, 50, 1.0, 0)])
        monkeypatch.setattr(espeak_client, "_read_exact", real_read)
        with EspeakClient() as healthy:
            assert fresh.synthesize(C, "gmw/en", 150).tobytes() == healthy.synthesize(C, "gmw/en", 150).tobytes()
