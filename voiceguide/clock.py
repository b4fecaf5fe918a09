"""Times written for people and for file formats: one function per notation."""

from __future__ import annotations


def decimal_sign(language: str | None = None) -> str:
    """The decimal sign of ``language`` (default: the interface's). This
    module is below :mod:`voiceguide.i18n`: i18n puts its own
    :func:`~voiceguide.i18n.decimal_sign` here when it is loaded."""
    return "."


def format_clock(seconds: float) -> str:
    """``3:07`` or ``1:02:03``, rounded to the second."""
    hours, rest = divmod(int(round(max(0.0, seconds))), 3600)
    minutes, rest = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def format_clock_tenths(seconds: float, *, always: bool = False, language: str | None = None) -> str:
    """``1:04.2``, ``1:05`` or ``1:02:03.5``, rounded to a tenth of a second;
    the tenth is left out when it is zero, unless ``always``. The tenth
    follows the decimal sign of ``language`` (default: the interface's):
    ``1:04,2`` in Dutch, as ``-16,0 LUFS`` beside it."""
    tenths = int(round(max(0.0, seconds) * 10))
    hours, tenths = divmod(tenths, 36000)
    minutes, tenths = divmod(tenths, 600)
    whole, tenth = divmod(tenths, 10)
    text = f"{whole:02d}" + (f"{decimal_sign(language)}{tenth}" if tenth or always else "")
    return f"{hours}:{minutes:02d}:{text}" if hours else f"{minutes}:{text}"


def format_timestamp(seconds: float, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT, Vorbis chapters; SRT with ``separator=","``)."""
    ms = max(0, int(round(seconds * 1000)))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def parse_timestamp(text: str) -> float:
    """Seconds from ``HH:MM:SS.mmm`` (the inverse of :func:`format_timestamp`)."""
    hours, minutes, seconds = text.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def format_lrc_time(seconds: float) -> str:
    """``MM:SS.cc``: LRC's minutes, seconds and hundredths."""
    centis = max(0, int(round(seconds * 100)))
    minutes, rest = divmod(centis, 6000)
    return f"{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"
