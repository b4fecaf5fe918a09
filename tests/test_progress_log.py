"""A log line while a progress line is drawn starts on a line of its own
(it used to land on it: ``synthesizing 0/23voiceguide: measuring the pace...``)."""

from __future__ import annotations

import io
import logging

from voiceguide.cli.terminal import ProgressLine, progress_amount


def test_a_log_line_clears_the_progress_line_first():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("voiceguide: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with ProgressLine(stream, enabled=True) as progress:
            progress("synthesizing", 0, 23)
            logging.getLogger("voiceguide.speech.piper_pace").warning("measuring the pace of piper:x once")
            progress("synthesizing", 8, 23)
        logging.getLogger("voiceguide").warning("after")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "synthesizing 0/23\x1b[K\r\x1b[Kvoiceguide: measuring the pace of piper:x once\n" in text
    assert "\rsynthesizing 8/23\x1b[K" in text  # drawn again under the message
    assert handler.filters == []  # the line's filter leaves with it
    assert text.endswith("\r\x1b[Kvoiceguide: after\n")


def test_a_download_shows_a_bar_and_megabytes():
    assert progress_amount("downloading", 25_000_000, 100_000_000) == "[#####---------------] 25% 25.0/100.0 MB"
    assert progress_amount("writing", 1, 4) == "25%"
    assert progress_amount("synthesizing", 3, 8) == "3/8"
