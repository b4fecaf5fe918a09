"""The ``voiceguide`` command line: a thin click layer over the library."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from . import api
from .errors import VoiceguideError
from .script import LANGUAGES

EXAMPLE = "\n\n\b\nExample:\n  "


class _Group(click.Group):
    """Turns the library's errors into one line and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VoiceguideError as exc:
            click.echo(f"voiceguide: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("voiceguide: interrupted", err=True)
            sys.exit(130)


def _voice_options(command):
    command = click.option("--rate", type=click.IntRange(60, 400), help="Words per minute (default: the script's, usually 125).")(command)
    command = click.option("--voice", help="Engine voice id, e.g. gmw/nl+f3 (see 'voiceguide voices').")(command)
    command = click.option("--lang", type=click.Choice(LANGUAGES), help="Language of a built-in exercise (default nl).")(command)
    return command


def _length_options(command):
    """``--minutes N`` / ``--length 90s|5m``: stretch or shrink the session."""
    command = click.option("--length", "length", metavar="TIME", help="Session length as 90s, 5m or 1:30 (instead of --minutes).")(command)
    command = click.option("--minutes", type=click.FloatRange(0.1, 180), help="Session length in minutes; elastic pauses and breathing fit to it.")(command)
    return command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="voiceguide")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (cache hits, engine restarts).")
def cli(verbose: bool) -> None:
    """Turn calming exercise scripts into guided audio.

    Built-in exercises: herinnering, veilige-plek, zelfkalmering (Dutch by
    default, --lang en for English). Any script file works too.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="voiceguide: %(message)s")


@cli.command(name="list", help="List the built-in exercises." + EXAMPLE + "voiceguide list")
def list_exercises() -> None:
    rows = [(entry.name, entry.language, entry.title, api.format_clock(entry.estimated_s)) for entry in api.list_builtins()]
    _table(("NAME", "LANG", "TITLE", "ABOUT"), rows)


@cli.command(help="Show a script's settings and its planned timeline." + EXAMPLE + "voiceguide show zelfkalmering --lang en\n  voiceguide show veilige-plek --minutes 10")
@click.argument("script")
@_voice_options
@_length_options
def show(script: str, lang: str | None, voice: str | None, rate: int | None, minutes: float | None, length: str | None) -> None:
    session = api.prepare(script, language=lang, voice=voice, rate=rate, target_s=api.target_seconds(minutes, length))
    timeline = session.timeline
    click.echo(f"{timeline.title}  ({timeline.language}, voice {session.voice.voice_id}, {session.voice.rate} wpm)")
    click.echo(f"length {api.format_clock(timeline.duration_s)}, {len(timeline.chapters())} chapters\n")
    _table(("START", "LENGTH", "WHAT", "DETAIL"), api.timeline_rows(timeline))


@cli.command(
    help="Render a session to an audio file (.wav, .mp3, .flac, .ogg)."
    + EXAMPLE
    + "voiceguide export zelfkalmering -o zelfkalmering.mp3\n  voiceguide export my-script.vg -o out/session.wav --force\n  voiceguide export herinnering --lang en --minutes 5 -o memory-5min.mp3"
)
@click.argument("script")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file; the extension picks the format. Default: NAME.mp3")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@click.option("--sample-rate", type=click.Choice(["22050", "44100", "48000"]), default="44100", show_default=True)
@_voice_options
@_length_options
def export(
    script: str, output: Path | None, force: bool, sample_rate: str, lang: str | None, voice: str | None, rate: int | None, minutes: float | None, length: str | None
) -> None:
    output = output or Path(f"{Path(script).stem}{'-' + lang if lang else ''}.mp3")
    target_s = api.target_seconds(minutes, length)
    session = api.prepare(script, language=lang, voice=voice, rate=rate, sample_rate=int(sample_rate), target_s=target_s)
    result = api.export_session(session, output, force=force)
    click.echo(f"wrote {result.path} ({api.format_clock(result.duration_s)}, {result.format}, {result.sample_rate} Hz)")


@cli.command(
    help="Check a script for errors and for what would not sound right; exits 2 on errors."
    + EXAMPLE
    + "voiceguide check my-script.vg"
)
@click.argument("script")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Language of a built-in exercise.")
def check(script: str, lang: str | None) -> None:
    findings = api.check(script, language=lang)
    for finding in findings:
        click.echo(str(finding), err=finding.severity == "error")
    errors = sum(1 for f in findings if f.severity == "error")
    if errors:
        sys.exit(2)
    warnings = len(findings)
    click.echo(f"ok: no errors{f', {warnings} warning(s)' if warnings else ', no warnings'}")


@cli.command(help="List the speech engine's voices." + EXAMPLE + "voiceguide voices --lang nl")
@click.option("--lang", help="Only voices for this language code (nl, en, de...).")
def voices(lang: str | None) -> None:
    rows = [(v.id, v.name, ", ".join(v.languages)) for v in api.voices(lang)]
    if not rows:
        raise VoiceguideError(f"no voices for language '{lang}'; run 'voiceguide voices' for all")
    _table(("ID", "NAME", "LANGUAGES"), rows)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        click.echo("  ".join(cells).rstrip())


def main() -> None:
    cli(prog_name="voiceguide")


if __name__ == "__main__":
    main()
