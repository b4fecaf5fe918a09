"""Options several commands share, built from :mod:`voiceguide.rules`, and
small output helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .. import rules
from ..clock import format_clock
from ..errors import UsageError
from ..i18n import _
from ..mix.mixer import MixSettings
from ..parse.script import Script, parse_duration
from ..rules import ENGINES
from ..session import VoiceOptions
from ..speech.choice import choose_voice


class _FloatRange(click.FloatRange):
    """click's FloatRange, without ``nan`` (every comparison with it is
    False, so click lets it through) or other values the rules' range refuses."""

    def __init__(self, allowed: rules.Range):
        super().__init__(allowed.low, allowed.high)
        self.allowed = allowed

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number not in self.allowed:
            self.fail(_("must be {allowed}, not {value}").format(allowed=self.allowed.describe(), value=number), param, ctx)
        return number


def range_type(allowed: rules.Range) -> click.ParamType:
    """A click type for a range of :mod:`voiceguide.rules`."""
    if allowed.whole:
        return click.IntRange(int(allowed.low), int(allowed.high))
    return _FloatRange(allowed)


def voice_options(command: Callable) -> Callable:
    """``--lang``, ``--voice``, ``--rate``, ``--engine``, ``--voice-pack`` and ``--strict``."""
    command = click.option(
        "--engine",
        type=click.Choice(ENGINES),
        help="Speech engine (default: espeak on Linux, pyttsx3 on Windows and macOS; or $VOICEGUIDE_ENGINE).",
    )(command)
    command = click.option(
        "--strict", is_flag=True, help="Refuse a voice pack that lacks any phrase (instead of the engine voice saying it)."
    )(command)
    command = click.option(
        "--voice-pack",
        type=click.Path(path_type=Path),
        metavar="PACK",
        help="Your own recordings (see 'voiceguide record'); the engine voice says what the pack lacks.",
    )(command)
    command = click.option(
        "--rate", type=range_type(rules.RATE_WPM), help="Words per minute (default: the script's, usually 125)."
    )(command)
    command = click.option(
        "--voice",
        help="Voice id, e.g. piper:nl_BE-nathalie-medium or gmw/nl+f3 (see 'voiceguide voices'); espeak: espeak-ng even when a natural voice is installed.",
    )(command)
    return lang_option(command)


def lang_option(command: Callable) -> Callable:
    return click.option("--lang", type=click.Choice(rules.LANGUAGES), help="Language of a built-in exercise (default nl).")(
        command
    )


def length_options(command: Callable) -> Callable:
    """``--minutes N`` / ``--length 90s|5m``: stretch or shrink the session."""
    command = click.option(
        "--length", "length", metavar="TIME", help="Session length as 90s, 5m, 1h, 1:30 or 1:02:30 (instead of --minutes)."
    )(command)
    return click.option(
        "--minutes", type=range_type(rules.MINUTES), help="Session length in minutes; elastic pauses and breathing fit to it."
    )(command)


def ambience_options(command: Callable) -> Callable:
    """``--ambience pink|brown|none`` and how far under the voice it sits."""
    command = click.option(
        "--ambience-level",
        type=range_type(rules.AMBIENCE_BELOW_VOICE_DB),
        default=24.0,
        show_default=True,
        metavar="DB",
        help="How far the ambience sits under the voice, in dB (at least 6).",
    )(command)
    return click.option(
        "--ambience",
        type=click.Choice(rules.AMBIENCES),
        default="none",
        show_default=True,
        help="Soft noise under the session, ducked while the voice speaks.",
    )(command)


def voice_request(options: dict[str, Any]) -> VoiceOptions:
    if options.get("strict") and not options.get("voice_pack"):
        raise UsageError(_("--strict applies to a voice pack: add --voice-pack PACK"))
    return VoiceOptions(
        voice=options.get("voice"),
        rate=options.get("rate"),
        engine=options.get("engine"),
        voice_pack=options.get("voice_pack"),
        strict=bool(options.get("strict")),
    )


def announce_voice(script: Script, request: VoiceOptions, *, quiet: bool = False) -> VoiceOptions:
    """``request`` with ``auto`` settled (see :mod:`voiceguide.speech.choice`);
    when that is an installed natural voice, one line says so first (on
    stderr), with how to keep espeak-ng."""
    chosen = choose_voice(request.voice, request.engine, script.meta.voice, script.meta.language)
    if chosen.natural and not quiet:
        click.echo(_("voice: {voice} (natural; --voice espeak for espeak-ng)").format(voice=chosen.voice), err=True)
    return replace(request, voice=chosen.voice)


def mix_request(options: dict[str, Any], sample_rate: int = rules.DEFAULT_SAMPLE_RATE) -> MixSettings:
    return MixSettings(
        sample_rate=sample_rate,
        ambience=options.get("ambience", "none"),
        ambience_below_voice_db=options.get("ambience_level", 24.0),
    )


DATA_DIR_KEY = "voiceguide.data_dir"


def _remember_data_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[DATA_DIR_KEY] = value  # ctx.meta is shared by the group and its commands


def data_dir_option(command: Callable) -> Callable:
    """``--data-dir``, on the group and on each command that reads or writes the practice log."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember_data_dir,
        help="Folder of the practice log and diary (default: the user data folder, or $VOICEGUIDE_DATA_DIR).",
    )(command)


def data_dir() -> Path | None:
    """``--data-dir`` as given to the group or the command (the command's wins); None: the default."""
    return click.get_current_context().meta.get(DATA_DIR_KEY)


def printable(text: object) -> str:
    """``text`` with every character that could steer a terminal (ESC, a
    line break, a bidirectional override; see :data:`rules.UNSAFE_CHARACTER`)
    shown as an escape such as ``\\x1b``; a byte that was not UTF-8 as ``\\xe9``.
    Stored text (a diary, a file name) reaches the terminal only through this."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:  # a byte kept by surrogateescape
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return rules.UNSAFE_CHARACTER.sub(escape, str(text))


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, two spaces apart (cells made :func:`printable`)."""
    rows = [tuple(printable(cell) for cell in row) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        click.echo("  ".join(cells).rstrip())


def quiet_option(command: Callable) -> Callable:
    """``-q/--quiet``: no progress line (there is none anyway when stderr is not a terminal)."""
    return click.option("-q", "--quiet", is_flag=True, help="Show no progress (nothing is shown when stderr is not a terminal).")(
        command
    )


_LONG_CLOCK = re.compile(r"(?:(\d{1,2}):)?(\d{1,4}):(\d{2}(?:[.,]\d+)?)")
"""``1:43:08``, ``1:58.4`` and ``1:58,4`` (the Dutch decimal sign): the
times voiceguide itself writes, so a range it reports can be pasted back."""
_HOURS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:h|hr|hour|hours|u|uur)")


def target_seconds(minutes: float | None = None, length: str | None = None) -> float | None:
    """The session length asked for with ``--minutes`` or ``--length``, in
    seconds (None for the script's own); UsageError names the option."""
    if minutes is not None and length is not None:
        raise UsageError(_("give --minutes or --length, not both"))
    if length is None:
        return None if minutes is None else minutes * 60.0
    if length.strip().replace(".", "", 1).isdigit():
        raise UsageError(
            _("--length {length}: give a unit: {length}m for minutes, {length}s for seconds, or m:ss").format(
                length=length.strip()
            )
        )
    spec = length.strip()
    if (clock := _LONG_CLOCK.fullmatch(spec)) is not None:  # 1:43:08 or 1:58,4, as voiceguide writes times
        hours, whole_minutes, seconds_text = clock.group(1), clock.group(2), clock.group(3)
        spec = f"{int(hours or 0) * 60 + int(whole_minutes)}:{seconds_text.replace(',', '.')}"
    elif (hours := _HOURS.fullmatch(spec.lower())) is not None:  # 1h, 1.5h, 2 uur
        spec = f"{float(hours.group(1).replace(',', '.')) * 60:g}m"
    try:
        seconds = parse_duration(spec)
    except ValueError as exc:
        raise UsageError(_("--length {reason}").format(reason=exc)) from None
    limit = rules.max_session_s()
    if not rules.MIN_SESSION_S <= seconds <= limit:
        raise UsageError(
            _("--length must be between {shortest} and {longest}, not '{length}'").format(
                shortest=format_clock(rules.MIN_SESSION_S), longest=format_clock(limit), length=length
            )
        )
    return seconds
