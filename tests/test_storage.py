"""``voiceguide cache``: where the cache is, how big, and clearing it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def vg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_cache_shows_its_folder_and_size_and_clears_only_its_own(tmp_path):
    cache, data = tmp_path / "cache", tmp_path / "data"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache), "VOICEGUIDE_DATA_DIR": str(data)}
    empty = vg("cache", env=env)
    assert empty.returncode == 0
    assert empty.stdout.splitlines() == [
        f"cache: {cache} (0 files, 0.0 MB); 'voiceguide cache --clear' empties it",
        f"practice log and diary: {data / 'practice.sqlite3'}",
    ]
    assert vg("export", "zelfkalmering", "--minutes", "2", "-o", str(tmp_path / "s.wav"), env=env).returncode == 0
    (cache / "notes.txt").write_text("not voiceguide's")  # someone else's file in a shared folder
    full = vg("cache", env=env).stdout.splitlines()[0]
    files = int(full.split("(")[1].split()[0])
    assert files > 20
    cleared = vg("cache", "--clear", env=env)
    assert cleared.stdout.splitlines()[0].startswith(f"cleared {cache} ({files} files, ")
    assert vg("cache", env=env).stdout.splitlines()[0].startswith(f"cache: {cache} (0 files, 0.0 MB)")
    assert (cache / "notes.txt").read_text() == "not voiceguide's"
    again = vg("export", "zelfkalmering", "--minutes", "2", "-o", str(tmp_path / "again.wav"), env=env)
    assert again.returncode == 0  # everything is made again when needed
    assert (tmp_path / "again.wav").read_bytes() == (tmp_path / "s.wav").read_bytes()
