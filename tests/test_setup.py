"""The set-up script, for real: it waits for a busy package manager."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LOCKER = """
import fcntl, sys, time
with open(sys.argv[1], "a") as lock:
    fcntl.lockf(lock, fcntl.LOCK_EX)
    open(sys.argv[2], "w").close()  # holding it now
    time.sleep(float(sys.argv[3]))
"""

FAKE_APT = """#!/bin/sh
echo "$(date +%s.%N) $*" >> "{calls}"
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="set-up installs system packages only as root (or with sudo)")
def test_setup_waits_for_the_package_managers_lock_then_installs(tmp_path):
    lock, holding, calls = tmp_path / "lock-frontend", tmp_path / "holding", tmp_path / "apt-calls"
    apt = tmp_path / "apt-get"
    apt.write_text(FAKE_APT.format(calls=calls))
    apt.chmod(0o755)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(lock), str(holding), "3"])
    try:
        deadline = time.monotonic() + 30
        while not holding.exists():
            assert time.monotonic() < deadline, "the locker never took the lock"
            time.sleep(0.02)
        env = {
            **os.environ,
            "VOICEGUIDE_DPKG_LOCK": str(lock),
            "VOICEGUIDE_APT_GET": str(apt),
            "VOICEGUIDE_EXTRA_PACKAGES": "voiceguide-no-such-package",
        }
        started = time.time()
        result = subprocess.run([str(ROOT / "scripts" / "setup")], capture_output=True, text=True, env=env, timeout=300)
        released = None
    finally:
        locker.wait(timeout=30)
        released = time.time()
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "voiceguide setup: installing voiceguide-no-such-package with apt-get"
    assert lines[1] == f"voiceguide setup: another package manager is busy (it holds {lock}); waiting for it to finish..."
    assert lines[2].startswith("voiceguide setup: the package manager is free again after ")
    made = calls.read_text().splitlines()
    assert (
        len(made) == 2
        and " update -qq" in made[0]
        and made[1].endswith("install -y -qq --no-install-recommends voiceguide-no-such-package")
    )
    first_call = float(made[0].split()[0])
    assert started + 1.0 < first_call <= released + 1.0  # apt-get ran only once the lock was free
