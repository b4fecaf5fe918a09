"""Progress reports from long steps, for whoever shows them.

The library never prints: a step that takes a while calls a
:data:`Progress` callback with what it does and how far it is, and the
command line draws that on a terminal (``voiceguide.cli.terminal.ProgressLine``)
or not at all.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: e.g. ``("synthesizing", 12, 24)``."""


def no_progress(what: str, done: int, total: int) -> None:
    """Reports to nobody."""
