"""Hostile input, round 2 (issue 18): processes and signals.

A batch killed with SIGKILL takes its worker processes along; SIGTERM and
Ctrl-C stop it at once, keeping every track finished so far for the rerun;
a synthesis killed with SIGKILL leaves no temp folder for long. Each batch
runs in its own session, so that every process it made can be found.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import helpers
import pytest
from hostile import env, voiceguide

SCRIPT = "---\ntitle: Lang\nlanguage: en\n---\n# Begin\nBreathe in slowly. [breathe 4-2-6 x3-100]\nRest now. [pause *]\nWelcome back.\n"
TRACKS = 8


def processes_in_session(session: int) -> list[int]:
    """The pids of every live process in ``session`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after 'pid (comm) '
        if int(fields[3]) == session and fields[0] != "Z":  # state, ppid, pgrp, session; a zombie has ended
            found.append(int(entry.name))
    return found


wait_for = functools.partial(helpers.wait_for, timeout_s=60.0, every_s=0.05)
"""A batch takes its time: a minute, polled every 50 ms."""


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "lang.vg").write_text(SCRIPT, encoding="utf-8")
    tracks = "".join(f"[[track]]\nscript = 'lang.vg'\nminutes = {2 + n}\n" for n in range(TRACKS))
    (tmp_path / "m.toml").write_text("[bundle]\nformat = 'wav'\ntranscript = 'none'\n" + tracks, encoding="utf-8")
    voiceguide("show", tmp_path / "lang.vg")  # the phrase cache is warm: the workers go straight to rendering
    return tmp_path


def start_batch(folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "batch", "m.toml", "-o", "out", "--jobs", "2"],
        cwd=folder,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own session: every process it makes can be found
    )


def recorded(folder: Path) -> dict:
    """The tracks the state file records as rendered (not those it only says are being written)."""
    try:
        tracks = json.loads((folder / "out" / ".voiceguide-batch.json").read_text(encoding="utf-8"))["tracks"]
    except (OSError, ValueError):
        return {}
    return {name: entry for name, entry in tracks.items() if "fingerprint" in entry}


@pytest.mark.slow
def test_a_batch_killed_with_sigkill_takes_its_workers_along(bundle):
    batch = start_batch(bundle)
    wait_for(lambda: len(processes_in_session(batch.pid)) >= 3, what="the batch and its two workers")
    batch.kill()
    batch.wait(timeout=30)
    wait_for(lambda: not processes_in_session(batch.pid), timeout_s=20, what="the workers to end")
    assert not list((bundle / "out").glob(".*.part"))


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_a_stopped_batch_ends_at_once_and_a_rerun_keeps_what_was_done(bundle, sig, code, word):
    batch = start_batch(bundle)
    wait_for(lambda: recorded(bundle), what="the first track")
    os.killpg(batch.pid, sig) if sig == signal.SIGINT else batch.send_signal(sig)  # Ctrl-C reaches the whole group
    _, stderr = batch.communicate(timeout=30)  # not after the whole queue
    assert batch.returncode == code, stderr
    assert stderr.splitlines()[-1] == f"voiceguide: {word}" and "Traceback" not in stderr
    wait_for(lambda: not processes_in_session(batch.pid), timeout_s=20, what="the workers to end")
    done = recorded(bundle)
    assert 1 <= len(done) < TRACKS
    assert all((bundle / "out" / name).is_file() for name in done)
    # the queue was cancelled: besides the recorded tracks, at most the two
    # being written when the signal came were finished (a batch that waited
    # for its whole queue had written every track, most of them unrecorded)
    written = {path.name for path in (bundle / "out").glob("*.wav")}
    assert len(written - set(done)) <= 2, sorted(written - set(done))
    assert not list((bundle / "out").glob(".*.part"))
    rerun = voiceguide("batch", "m.toml", "-o", "out", cwd=bundle, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    kept = len(done)
    assert rerun.stdout.splitlines()[-1] == (
        f"wrote out: {TRACKS} tracks ({TRACKS - kept} rendered, {kept} unchanged), playlist.m3u8, index.html"
    )


@pytest.mark.slow
def test_a_synthesis_killed_with_sigkill_leaves_its_temp_folder_only_until_the_next(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    speaking = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "show", "zelfkalmering"],
        env=env(VOICEGUIDE_ENGINE="pyttsx3", TMPDIR=str(temp), VOICEGUIDE_CACHE_DIR=str(tmp_path / "cache")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: list(temp.glob("voiceguide-tts-*")), what="the engine's temp folder")
    speaking.kill()
    speaking.wait(timeout=30)
    left = list(temp.glob("voiceguide-tts-*"))
    assert [folder.name.split("-")[2] for folder in left] == [str(speaking.pid)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(speaking.pid, signal.SIGKILL)  # its pyttsx3 worker, if it is still there
    again = voiceguide("voices", "--lang", "nl", VOICEGUIDE_ENGINE="pyttsx3", TMPDIR=str(temp))
    assert again.returncode == 0, again.stderr
    assert list(temp.glob("voiceguide-tts-*")) == []


def test_only_this_users_folders_of_dead_processes_are_swept(tmp_path, monkeypatch):
    from voiceguide.speech.pyttsx3 import sweep_stale_temp_folders

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    stale = tmp_path / f"voiceguide-tts-{dead}-abcd"
    live = tmp_path / f"voiceguide-tts-{os.getpid()}-abcd"
    other = tmp_path / "voiceguide-tts-notapid"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "phrase-1.wav").write_bytes(b"x")
    assert sweep_stale_temp_folders() == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_a_worker_without_pdeathsig_ends_when_its_batch_is_gone(tmp_path):
    """macOS and Windows have no PR_SET_PDEATHSIG: a worker watches for its
    batch instead. Here a stand-in batch forks a worker and exits at once."""
    code = (
        "import os, sys\n"
        "from voiceguide.batch.render import _exit_with\n"
        "if os.fork() == 0:\n"
        "    parent = os.getppid()\n"
        "    print(os.getpid(), flush=True)\n"
        "    _exit_with(parent)\n"
        "else:\n"
        "    sys.stdin.read()\n"  # the stand-in batch lives until the test closes its stdin
    )
    batch = subprocess.Popen(
        [sys.executable, "-c", code], env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    worker = int(batch.stdout.readline())
    assert worker in processes_in_session(batch.pid)
    batch.stdin.close()
    batch.wait(timeout=30)
    wait_for(lambda: worker not in processes_in_session(batch.pid), timeout_s=20, what="the worker to notice")


def test_pid_alive_tells_a_running_process_from_a_gone_one():
    from voiceguide.atomic import pid_alive

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert pid_alive(os.getpid()) and pid_alive(1) and not pid_alive(int(gone.stdout))
