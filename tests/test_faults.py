"""Faults provoked for real: a missing espeak-ng library, a full disk, a
read-only folder, an unwritable cache. Each ends in one clear line, the
right exit code and nothing half-written. Mount namespaces (unshare, as
root, as on CI) give each test its own small or read-only file system."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private mount namespace"
)


def in_namespace(
    setup: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -m voiceguide ARGS`` after shell ``setup`` in a private mount namespace."""
    command = f"{setup}\nexec {shlex.quote(sys.executable)} -m voiceguide " + " ".join(shlex.quote(a) for a in args)
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-ec", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def espeak_library() -> Path:
    found = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in found.splitlines():
        if "libespeak-ng.so.1 " in line:
            return Path(line.split("=>")[-1].strip())
    pytest.skip("libespeak-ng is not installed")


@needs_namespaces
@pytest.mark.espeak  # espeak-ng itself is what goes missing
def test_missing_espeak_ng_is_one_clear_line(tmp_path):
    library = espeak_library()
    out = tmp_path / "x.mp3"
    result = in_namespace(
        f"mount --bind /dev/null {shlex.quote(str(library))}",
        ["export", "zelfkalmering", "-o", str(out)],
        env={"VOICEGUIDE_CACHE_DIR": str(tmp_path / "empty-cache")},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "espeak-ng is missing or broken" in result.stderr and "apt-get install espeak-ng" in result.stderr
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "empty-cache"])


@pytest.mark.slow
@needs_namespaces
def test_a_full_disk_leaves_the_old_file_and_no_litter(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    setup = f"mount -t tmpfs -o size=256k tmpfs {small}\nprintf precious > {small}/session.wav"
    # export, then look at the (private, vanishing) tmpfs from inside the same namespace
    command = (
        f"{setup}\n{shlex.quote(sys.executable)} -m voiceguide export zelfkalmering -o {small}/session.wav --force 2> {tmp_path}/err; echo $? > {tmp_path}/rc\n"
        f"ls -A {small} > {tmp_path}/after\ncat {small}/session.wav > {tmp_path}/kept"
    )
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", command], cwd=ROOT, timeout=120, check=True)
    error = (tmp_path / "err").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1", error
    assert error.count("\n") == 1 and "Traceback" not in error
    assert "session.wav" in error and "no space left" in error.lower()
    assert (tmp_path / "after").read_text().split() == ["session.wav"]
    assert (tmp_path / "kept").read_text() == "precious"


@needs_namespaces
def test_a_read_only_folder_is_refused_cleanly(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.mp3").write_bytes(b"old")
    result = in_namespace(f"mount --bind -o ro {folder} {folder}", ["export", "zelfkalmering", "-o", str(folder / "new.mp3")])
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "read-only" in result.stderr.lower()
    assert sorted(p.name for p in folder.iterdir()) == ["old.mp3"]


@pytest.mark.slow
@needs_namespaces
def test_an_unwritable_cache_still_exports(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    out = tmp_path / "out.wav"
    result = in_namespace(
        f"mount --bind -o ro {cache} {cache}",
        ["export", "zelfkalmering", "-o", str(out)],
        env={"VOICEGUIDE_CACHE_DIR": str(cache / "phrases")},
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1_000_000
    assert "not writable" in result.stderr and "continuing without it" in result.stderr
    assert list(cache.iterdir()) == []


@pytest.mark.slow
def test_a_corrupt_cache_is_rebuilt_not_trusted(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    first = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "-o", str(tmp_path / "a.wav")],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert first.returncode == 0, first.stderr
    entries = sorted(cache.rglob("*.vgc"))
    assert len(entries) > 20
    for entry in entries[::3]:
        data = bytearray(entry.read_bytes())
        data[-10:] = b"\x00" * 10
        entry.write_bytes(bytes(data))
    entries[1].write_bytes(b"garbage")
    second = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", "zelfkalmering", "-o", str(tmp_path / "b.wav")],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


LONG = "---\ntitle: Lang\nlanguage: en\n---\n" + "\n".join(
    f"# Part {n}\nPart {n} begins; breathe with the tones. [breathe 4-2-6 x12]\nRest now, part {n}. [pause 20s]"
    for n in range(1, 13)
)


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "delay_s"), [("synthesis", 0.8), ("writing", None)])
@pytest.mark.parametrize(("sig", "code", "word"), [(2, 130, "interrupted"), (15, 143, "terminated")])
def test_a_signal_at_any_stage_ends_cleanly(tmp_path, stage, delay_s, sig, code, word):
    import time

    script = tmp_path / "long.vg"
    script.write_text(LONG, encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "session.mp3").write_bytes(b"the old file")
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    if stage == "writing":  # warm the cache so the export goes straight to rendering
        subprocess.run([sys.executable, "-m", "voiceguide", "show", str(script)], env=env, capture_output=True, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(out_dir / "session.mp3"), "--force"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    time.sleep(delay_s or 2.5)
    assert process.poll() is None, "the export should still be running"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.strip().splitlines()[-1] == f"voiceguide: {word}" and "Traceback" not in stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["session.mp3"]
    assert (out_dir / "session.mp3").read_bytes() == b"the old file"
