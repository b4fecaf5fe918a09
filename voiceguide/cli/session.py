"""Commands on one session: ``list``, ``show``, ``check`` and ``export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import rules
from ..clock import format_clock, format_clock_tenths
from ..errors import UsageError
from ..i18n import N_, _, format_decimal, ngettext
from ..lint import check_script
from ..parse.exercises import load_script
from ..plan.timeline import BREATH_KINDS, Kind, Timeline, spoken_texts
from ..session import list_builtins, prepare_session
from ..sinks.export import ExportResult, check_targets, default_output, existing_targets, export_session, preferred_sample_rate
from .options import (
    ambience_options,
    announce_voice,
    lang_option,
    length_options,
    mix_request,
    printable,
    quiet_option,
    range_type,
    table,
    target_seconds,
    voice_options,
    voice_request,
)
from .terminal import ProgressLine, confirm, is_terminal

KIND_NAMES = {
    Kind.SPEECH: N_("speech"),
    Kind.COUNT: N_("count"),
    Kind.SILENCE: N_("silence"),
    Kind.INHALE: N_("inhale"),
    Kind.HOLD: N_("hold"),
    Kind.EXHALE: N_("exhale"),
    Kind.BELL: N_("bell"),
    Kind.CHIME: N_("chime"),
    Kind.CLIP: N_("clip"),
    Kind.CHAPTER: N_("chapter"),
}
"""The WHAT column of ``show``: each kind of event in the interface language."""


@click.command(name="list")
@quiet_option
def list_exercises(quiet: bool) -> None:
    """List the built-in exercises.

    \b
    Example:
      voiceguide list
    """
    with ProgressLine(enabled=False if quiet else None) as progress:
        entries = list_builtins(progress)
    rows = [(entry.name, entry.language, entry.title, format_clock(entry.length_s)) for entry in entries]
    table((_("NAME"), _("LANG"), _("TITLE"), _("LENGTH")), rows)


@click.command()
@click.argument("script")
@voice_options
@length_options
@quiet_option
def show(script: str, lang: str | None, minutes: float | None, length: str | None, quiet: bool, **voice: object) -> None:
    """Show a script's settings and its planned timeline.

    With --voice-pack, a VOICE column says which phrases the pack's
    recordings speak (pack) and which the engine (engine).

    \b
    Example:
      voiceguide show zelfkalmering --lang en
      voiceguide show veilige-plek --minutes 10
      voiceguide show zelfkalmering --voice-pack ~/anna-nl
    """
    request = voice_request(voice)
    with ProgressLine(enabled=False if quiet else None) as progress:
        session = prepare_session(
            load_script(script, lang), voice=request, target_s=target_seconds(minutes, length), progress=progress
        )
    timeline = session.timeline
    click.echo(
        _("{title}  ({language}, voice {voice}, {rate} wpm)").format(
            title=timeline.title, language=timeline.language, voice=session.voice.voice_id, rate=session.voice.rate
        )
    )
    if request.voice_pack is not None:
        phrases = len(spoken_texts(session.script))
        click.echo(
            _("voice pack {pack}: {recorded} of {phrases} phrases recorded").format(
                pack=request.voice_pack, recorded=len(session.recorded), phrases=phrases
            )
        )
    chapters = len(timeline.chapters())
    click.echo(
        ngettext("length {length}, {count} chapters", "length {length}, {count} chapters", chapters).format(
            length=format_clock(timeline.duration_s), count=chapters
        )
        + "\n"
    )
    if request.voice_pack is None:
        table((_("START"), _("LENGTH"), _("WHAT"), _("DETAIL")), timeline_rows(timeline))
    else:
        table((_("START"), _("LENGTH"), _("WHAT"), _("VOICE"), _("DETAIL")), timeline_rows(timeline, session.recorded))


def timeline_rows(timeline: Timeline, recorded: frozenset[str] | None = None) -> list[tuple[str, ...]]:
    """Rows for the timeline table; spoken counts are folded into the breath
    phase they belong to. With ``recorded`` (the phrases a voice pack
    speaks), a VOICE column before DETAIL says ``pack`` or ``engine`` for
    every row that speaks."""
    counted: dict[tuple[int, int], list[str]] = {}
    for e in timeline.events:
        if e.kind is Kind.COUNT:
            counted.setdefault((e.line, e.cycle), []).append(e.text)
    rows = []
    for event in timeline.events:
        if event.kind is Kind.COUNT:
            continue
        detail = event.text
        if event.kind in BREATH_KINDS:
            detail = (_("cycle {cycle}, counted") if (event.line, event.cycle) in counted else _("cycle {cycle}")).format(
                cycle=event.cycle
            )
        elif event.kind is Kind.CLIP:
            detail = Path(event.text).name
        length = "" if event.kind is Kind.CHAPTER else format_decimal(event.duration_s) + "s"
        row: tuple[str, ...] = (format_clock_tenths(event.start_s, always=True), length, _(KIND_NAMES[event.kind]), detail)
        if recorded is not None:
            spoken = [event.text] if event.kind is Kind.SPEECH else []
            if event.kind in BREATH_KINDS:
                spoken = counted.get((event.line, event.cycle), [])
            voice = (_("pack") if all(text in recorded for text in spoken) else _("engine")) if spoken else ""
            row = (*row[:3], voice, row[3])
        rows.append(row)
    rows.append(
        (format_clock_tenths(timeline.duration_s, always=True), "", _("end"), *([""] if recorded is not None else []), "")
    )
    return rows


@click.command()
@click.argument("script")
@lang_option
def check(script: str, lang: str | None) -> None:
    """Check a script for errors and for what would not sound right; exits 2 on errors.

    Every error and warning is listed in one run, in file order, one line each.

    \b
    Example:
      voiceguide check my-script.vg
    """
    findings = check_script(script, language=lang)
    for finding in findings:
        click.echo(printable(finding), err=finding.severity == rules.Severity.ERROR)
    if any(f.severity == rules.Severity.ERROR for f in findings):
        sys.exit(2)
    warnings = len(findings)
    if warnings:
        click.echo(
            ngettext("ok: no errors, {count} warning(s)", "ok: no errors, {count} warning(s)", warnings).format(count=warnings)
        )
    else:
        click.echo(_("ok: no errors, no warnings"))


@click.command()
@click.argument("script")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file; the extension picks the format. Default: NAME.mp3",
)
@click.option("--force", is_flag=True, help="Replace existing files (asked interactively otherwise).")
@click.option(
    "--sample-rate",
    type=click.Choice([str(rate) for rate in sorted(rules.SAMPLE_RATES)]),
    help="Default 32000 for .mp3, 48000 for .opus (which needs it), else 44100.",
)
@click.option(
    "--loudness",
    type=range_type(rules.LOUDNESS_LUFS),
    default=rules.DEFAULT_LOUDNESS_LUFS,
    show_default=True,
    metavar="LUFS",
    help="The voice's loudness (ITU-R BS.1770, gated over the speech). Exports are mono: -19 LUFS, heard as -16 on two earbuds (the podcast convention).",
)
@click.option("--bitrate", type=int, metavar="KBPS", help="MP3 constant bitrate, e.g. 64, 96, 128 (default 96).")
@click.option(
    "--bit-depth", type=click.Choice([str(depth) for depth in rules.BIT_DEPTHS]), help="WAV and FLAC sample size (default 16)."
)
@click.option("--transcript", type=click.Choice(rules.TRANSCRIPTS), help="Also write a transcript beside the audio (OUT.vtt...).")
@click.option("--album", help="Album tag: the collection this belongs to (default voiceguide).")
@click.option("--track", type=range_type(rules.TRACK_NUMBER), metavar="N", help="Track number tag.")
@voice_options
@length_options
@ambience_options
@quiet_option
def export(
    script: str,
    output: Path | None,
    force: bool,
    lang: str | None,
    minutes: float | None,
    length: str | None,
    quiet: bool,
    **options,
) -> None:
    """Render a session to an audio file: .wav, .flac, .mp3, .ogg (Vorbis) or .opus.

    It is mono, with the voice at -19 LUFS (-16 as heard on two earbuds)
    and true peaks under -1 dBTP, tagged (title, author, album, track,
    language, year, chapters, loudness) and written atomically.

    \b
    Example:
      voiceguide export zelfkalmering -o zelfkalmering.mp3
      voiceguide export my-script.vg -o out/session.wav --force
      voiceguide export herinnering --lang en --minutes 5 -o memory-5min.mp3
      voiceguide export veilige-plek -o plek.opus --transcript vtt --album 'Rust' --track 2
      voiceguide export zelfkalmering -o calm.flac --bit-depth 24 --loudness -16
      voiceguide export veilige-plek -o plek.mp3 --ambience pink --ambience-level 28
    """
    output = output or default_output(script, lang)
    existing = existing_targets(output, options["transcript"])
    if existing and not force and is_terminal(sys.stdin):
        names = _(" and ").join(str(path) for path in existing)
        if not confirm(_("Replace {files}?").format(files=names)):
            raise UsageError(_("kept {files}; nothing was written").format(files=names))  # an existing file without --force: 2
        force = True
    check_targets(output, options["transcript"], force)  # before the speech is made
    sample_rate = int(options["sample_rate"]) if options["sample_rate"] else preferred_sample_rate(output)
    loaded = load_script(script, lang)
    request = announce_voice(loaded, voice_request(options), quiet=quiet)
    with ProgressLine(enabled=False if quiet else None, label=output.name) as progress:
        session = prepare_session(
            loaded,
            voice=request,
            mix=mix_request(options, sample_rate),
            target_s=target_seconds(minutes, length),
            progress=progress,
            level_early=True,
        )
        try:
            result = export_session(
                session,
                output,
                force=force,
                bitrate_kbps=options["bitrate"],
                loudness_lufs=options["loudness"],
                bit_depth=int(options["bit_depth"]) if options["bit_depth"] else None,
                album=options["album"],
                track=options["track"],
                transcript=options["transcript"],
                progress=progress,
            )
        except BaseException:
            session.stop_levelling()  # the phrases levelled in the background are not needed now
            raise
    report(result)


def report(result: ExportResult) -> None:
    """The export summary: what was written and how it measures."""
    kind = f"{result.format} {result.bitrate_kbps} kbps" if result.bitrate_kbps else result.format
    # a lossy codec moves peaks a little (within the margin kept): say what is certain
    peak = (
        _("true peak under {dbtp} dBTP").format(dbtp=format_decimal(result.ceiling_dbtp))
        if result.peak_margin_db
        else _("true peak {dbtp} dBTP").format(dbtp=format_decimal(result.true_peak_dbtp))
    )
    click.echo(
        _("wrote {path} ({length}, {kind}, {rate} Hz, speech {speech} LUFS, integrated {integrated} LUFS, {peak})").format(
            path=printable(result.path),
            length=format_clock(result.duration_s),
            kind=kind,
            rate=result.sample_rate,
            speech=format_decimal(result.speech_lufs),
            integrated=format_decimal(result.loudness_lufs),
            peak=peak,
        )
    )
    if result.transcript:
        click.echo(_("wrote {path}").format(path=printable(result.transcript)))
