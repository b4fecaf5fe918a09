"""The ``voiceguide`` command's entry point (and ``python -m voiceguide``'s).

Starts espeak-ng's speech server before the command line imports numpy,
soundfile, click and the pipeline (~170 ms), so that the server's own start
(~40 ms, a second process) runs beside them (see
:mod:`voiceguide.speech.prestart`), then runs the command line.

numpy's OpenBLAS is asked for one thread unless the user chose otherwise:
at import it starts a thread per core and sizes their buffers, which took
0.138 s of numpy's import against 0.082 s with one thread (median of 9
runs each, CPU time alike, load ~1.8 on 2 cores), on every command. The
one matrix product voiceguide makes (the true-peak filters, 4 x 21 times
a block) was no slower with one thread (limiter on session.vg: 0.12-0.15 s
either way), and ``batch --jobs`` runs one process per core anyway.
"""

from __future__ import annotations

import os
import sys

from .speech.prestart import start_early

BLAS_THREADS = "OPENBLAS_NUM_THREADS"


def main() -> None:
    os.environ.setdefault(BLAS_THREADS, "1")  # before numpy loads; the server started below sees the same environment
    start_early(sys.argv[1:])
    # Imported here, after the server has started: importing the command
    # line first would make the server wait the ~170 ms it takes (python -X importtime).
    from .cli import main as cli_main

    cli_main()
