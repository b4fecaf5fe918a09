"""The ``voiceguide`` command's entry point (and ``python -m voiceguide``'s).

Starts espeak-ng's speech server before the command line imports numpy,
soundfile, click and the pipeline (~170 ms), so that the server's own start
(~40 ms, a second process) runs beside them (see
:mod:`voiceguide.speech.prestart`), then runs the command line.
"""

from __future__ import annotations

import sys

from .speech.prestart import start_early


def main() -> None:
    start_early(sys.argv[1:])
    # Imported here, after the server has started: importing the command
    # line first would make the server wait the ~170 ms it takes (python -X importtime).
    from .cli import main as cli_main

    cli_main()
