"""Helpers the tests share: the command line in-process, and a command in a
pseudo-terminal that is its controlling terminal."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from voiceguide.cli import cli

BUSY = "import ctypes\nctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the test process ends\nwhile True: pass"
"""A CPU burner that never outlives the process that started it (even a
test run killed with SIGKILL takes its burners with it)."""


@contextmanager
def cpu_load(processes: int = 3) -> Iterator[None]:
    """Keep ``processes`` CPU burners running: faults that only show on a
    busy machine are provoked for real."""
    burners = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def wait_for(condition, timeout_s: float = 20.0, what: str = "", every_s: float = 0.001) -> None:
    """Poll ``condition`` every ``every_s`` until it holds; fail (not hang) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every_s)


def restart_portaudio() -> None:
    """PortAudio lists devices once, when it starts: restart it if it ran
    (after a test points ALSA at other devices)."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


def run(*args: str, input: str | None = None):
    """``voiceguide ARGS`` through click's runner (the library's errors become
    the same one line and exit code as in a real run)."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


class Terminal:
    """``voiceguide ARGS`` in a pseudo-terminal that is its controlling
    terminal: it is in the foreground, reads keys in cbreak mode, and a
    typed Ctrl-C is a real SIGINT."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int = 24, columns: int = 100):
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.settings = termios.tcgetattr(self.slave)
        self.mark = uuid.uuid4().hex
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", *args],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env={**env, "VOICEGUIDE_TEST_MARK": self.mark},
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        self.output = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return
                raise
            if not chunk:
                return
            self.output += chunk

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def shows(self, text: str, times: int = 1, timeout_s: float = 30.0) -> None:
        """Wait until ``text`` has appeared ``times`` times on the screen."""
        deadline = time.monotonic() + timeout_s
        while self.output.count(text.encode()) < times:
            assert self.process.poll() is None or self.output.count(text.encode()) >= times, self.text()[-800:]
            assert time.monotonic() < deadline, f"waited for {text!r} x{times}; the screen shows: {self.text()[-800:]!r}"
            time.sleep(0.02)

    def wait(self, timeout_s: float = 30.0) -> int:
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"voiceguide still running after {timeout_s} s; it showed: {self.output[-600:]!r}") from None
        time.sleep(0.1)  # the reader drains what the program wrote last
        return code

    def restored(self) -> bool:
        """Whether the terminal's settings are as they were before the program ran."""
        return termios.tcgetattr(self.slave) == self.settings

    def leftovers(self) -> list[int]:
        """Processes still running that this program started."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if f"VOICEGUIDE_TEST_MARK={self.mark}".encode() in (entry / "environ").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
