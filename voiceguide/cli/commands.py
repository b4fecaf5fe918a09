"""The ``voiceguide`` command line: a thin click layer over the library."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..errors import PracticeDataError, UsageError, VoiceguideError
from ..script import LANGUAGES


class _OnFirstUse:
    """A module imported when a command first needs it: `play` must start
    sounding before export, tagging and loudness code has even loaded."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        from importlib import import_module

        return getattr(import_module(self._name, __package__), attribute)


api = _OnFirstUse("..api")
practice = _OnFirstUse("..practice.store")

EXAMPLE = "\n\n\b\nExample:\n  "


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that cleanup runs."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated


class _Group(click.Group):
    """Turns the library's errors into one line and an exit code, and
    SIGINT/SIGTERM into an orderly exit (130/143) that cleans up first."""

    def invoke(self, ctx: click.Context):
        import signal
        import threading

        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
        try:
            return super().invoke(ctx)
        except VoiceguideError as exc:
            click.echo(f"voiceguide: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("voiceguide: interrupted", err=True)
            sys.exit(130)
        except _Terminated:
            click.echo("voiceguide: terminated", err=True)
            sys.exit(143)
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)


def _voice_options(command):
    command = click.option("--rate", type=click.IntRange(60, 400), help="Words per minute (default: the script's, usually 125).")(command)
    command = click.option("--voice", help="Engine voice id, e.g. gmw/nl+f3 (see 'voiceguide voices').")(command)
    command = click.option("--lang", type=click.Choice(LANGUAGES), help="Language of a built-in exercise (default nl).")(command)
    return command


def _ambience_options(command):
    """``--ambience pink|brown|none`` and how far under the voice it sits."""
    command = click.option(
        "--ambience-level", type=click.FloatRange(6, 60), default=24.0, show_default=True, metavar="DB", help="How far the ambience sits under the voice, in dB (at least 6)."
    )(command)
    command = click.option("--ambience", type=click.Choice(["none", "pink", "brown"]), default="none", show_default=True, help="Soft noise under the session, ducked while the voice speaks.")(command)
    return command


def _length_options(command):
    """``--minutes N`` / ``--length 90s|5m``: stretch or shrink the session."""
    command = click.option("--length", "length", metavar="TIME", help="Session length as 90s, 5m or 1:30 (instead of --minutes).")(command)
    command = click.option("--minutes", type=click.FloatRange(0.1, 180), help="Session length in minutes; elastic pauses and breathing fit to it.")(command)
    return command


DATA_DIR_KEY = "voiceguide.data_dir"


def _remember_data_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[DATA_DIR_KEY] = value  # ctx.meta is shared by the group and its commands


def _data_dir_option(command):
    """``--data-dir``, on the group and on each command that reads or writes the practice log."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember_data_dir,
        help="Folder of the practice log and diary (default: the user data folder, or $VOICEGUIDE_DATA_DIR).",
    )(command)


def _data_dir() -> Path | None:
    """``--data-dir`` as given to the group or the command (the command's wins); None: the default."""
    return click.get_current_context().meta.get(DATA_DIR_KEY)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="voiceguide")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (cache hits, engine restarts).")
@_data_dir_option
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
    help="Render a session to an audio file: .wav, .flac, .mp3, .ogg (Vorbis) or .opus. "
    "It is normalised to -16 LUFS with true peaks under -1 dBTP, tagged (title, author, album, "
    "track, language, year, chapters) and written atomically."
    + EXAMPLE
    + "voiceguide export zelfkalmering -o zelfkalmering.mp3\n  voiceguide export my-script.vg -o out/session.wav --force\n"
    "  voiceguide export herinnering --lang en --minutes 5 -o memory-5min.mp3\n"
    "  voiceguide export veilige-plek -o plek.opus --transcript vtt --album 'Rust' --track 2\n"
    "  voiceguide export zelfkalmering -o calm.flac --bit-depth 24 --loudness -19\n"
    "  voiceguide export veilige-plek -o plek.mp3 --ambience pink --ambience-level 28"
)
@click.argument("script")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Output file; the extension picks the format. Default: NAME.mp3")
@click.option("--force", is_flag=True, help="Replace existing files (asked interactively otherwise).")
@click.option("--sample-rate", type=click.Choice(["22050", "44100", "48000"]), help="Default 44100 (48000 for .opus, which needs it).")
@click.option("--loudness", "loudness", type=click.FloatRange(-36, -6), default=-16.0, show_default=True, metavar="LUFS", help="Integrated loudness (ITU-R BS.1770).")
@click.option("--bitrate", type=int, metavar="KBPS", help="MP3 constant bitrate, e.g. 64, 96, 128 (default 96).")
@click.option("--bit-depth", type=click.Choice(["16", "24"]), help="WAV and FLAC sample size (default 16).")
@click.option("--transcript", type=click.Choice(["vtt", "srt", "lrc"]), help="Also write a transcript beside the audio (OUT.vtt...).")
@click.option("--album", help="Album tag: the collection this belongs to (default voiceguide).")
@click.option("--track", type=click.IntRange(1, 999), metavar="N", help="Track number tag.")
@_voice_options
@_length_options
@_ambience_options
def export(
    script: str,
    output: Path | None,
    force: bool,
    sample_rate: str | None,
    loudness: float,
    bitrate: int | None,
    bit_depth: str | None,
    transcript: str | None,
    album: str | None,
    track: int | None,
    lang: str | None,
    voice: str | None,
    rate: int | None,
    minutes: float | None,
    length: str | None,
    ambience: str,
    ambience_level: float,
) -> None:
    from ..sinks.export import existing_targets, preferred_sample_rate

    output = output or Path(f"{Path(script).stem}{'-' + lang if lang else ''}.mp3")
    existing = existing_targets(output, transcript)
    if existing and not force and _interactive():
        names = " and ".join(str(path) for path in existing)
        if not click.confirm(f"Replace {names}?", default=False):
            raise VoiceguideError(f"kept {names}; nothing was written")
        force = True
    target_s = api.target_seconds(minutes, length)
    chosen_rate = int(sample_rate) if sample_rate else preferred_sample_rate(output)
    session = api.prepare(
        script, language=lang, voice=voice, rate=rate, sample_rate=chosen_rate, target_s=target_s, ambience=ambience, ambience_below_voice_db=ambience_level
    )
    result = api.export_session(
        session,
        output,
        force=force,
        bitrate_kbps=bitrate,
        loudness_lufs=loudness,
        bit_depth=int(bit_depth) if bit_depth else None,
        album=album,
        track=track,
        transcript=transcript,
    )
    kind = f"{result.format} {result.bitrate_kbps} kbps" if result.bitrate_kbps else result.format
    click.echo(
        f"wrote {result.path} ({api.format_clock(result.duration_s)}, {kind}, {result.sample_rate} Hz, "
        f"{result.loudness_lufs:.1f} LUFS, true peak {result.true_peak_dbtp:.1f} dBTP)"
    )
    if result.transcript:
        click.echo(f"wrote {result.transcript}")


def _interactive() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


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


@cli.command(
    help="Play a session live on an audio output. Keys (no Enter needed): space pauses and resumes, "
    "left goes back to the start of the sentence or breath cycle, right skips to the next chapter, "
    "q or Esc stops with a fade; Ctrl-C fades out and exits 130."
    + EXAMPLE
    + "voiceguide play zelfkalmering --lang en\n  voiceguide play zelfkalmering --next\n  voiceguide play my-script.vg --minutes 10 --device 2 --quiet"
)
@click.argument("script")
@click.option("--device", help="Output device: its number or part of its name (see 'voiceguide devices'). Default: the system's output.")
@click.option("--quiet", is_flag=True, help="Show nothing while playing (keys still work).")
@click.option("--next", "use_next", is_flag=True, help="Play the length 'voiceguide next' suggests from your practice log.")
@click.option("--no-diary", is_flag=True, help="Do not offer a diary entry afterwards.")
@_voice_options
@_length_options
@_ambience_options
@_data_dir_option
def play(
    script: str,
    device: str | None,
    quiet: bool,
    use_next: bool,
    no_diary: bool,
    lang: str | None,
    voice: str | None,
    rate: int | None,
    minutes: float | None,
    length: str | None,
    ambience: str,
    ambience_level: float,
) -> None:
    from .terminal import play_interactive

    target_s = _session_target_s(script, lang, minutes, length, use_next)

    def prepare(**settings):  # loads the library only once the output is already running
        return api.prepare(script, language=lang, voice=voice, rate=rate, target_s=target_s, ambience=ambience, ambience_below_voice_db=ambience_level, **settings)

    outcome = play_interactive(prepare, device=device, quiet=quiet)
    if outcome is not None:
        _after_play(
            script, language=lang, planned_s=outcome.planned_s, played_s=outcome.played_s, completed=outcome.completed, offer_diary=not (quiet or no_diary)
        )


@cli.command(help="List the audio output devices; exits 1 when there is none." + EXAMPLE + "voiceguide devices")
def devices() -> None:
    from ..sinks.player import NO_DEVICE, output_devices

    found = output_devices()
    if not found:
        raise VoiceguideError(NO_DEVICE)
    rows = [(str(d.index) + (" *" if d.is_default else ""), d.name, d.hostapi, str(d.channels), str(d.default_rate)) for d in found]
    _table(("DEVICE", "NAME", "SYSTEM", "CHANNELS", "RATE"), rows)


# --- the practice log and the trigger diary (practice.py) -----------------------------------


@cli.command(
    name="log",
    help="Show recent sessions, total minutes per exercise and the current streak (days in a row with a session). "
    "--csv writes every session as CSV instead."
    + EXAMPLE
    + "voiceguide log\n  voiceguide log --limit 30\n  voiceguide log --csv > practice.csv\n  voiceguide log --data-dir ~/sync/voiceguide",
)
@click.option("--csv", "as_csv", is_flag=True, help="Write every session as CSV (with a header row) to standard output.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True, help="How many recent sessions to list.")
@_data_dir_option
def practice_log(as_csv: bool, limit: int) -> None:
    from datetime import date

    folder = _data_dir()
    if as_csv:
        _echo_csv(api.export_csv, folder)
        return
    sessions = api.recent_sessions(limit, data_dir=folder)
    if not sessions:
        click.echo("no sessions yet; play one with 'voiceguide play zelfkalmering --next' (it starts at 2 minutes)")
        return
    rows = [
        (f"{s.played_at:%Y-%m-%d %H:%M}", s.exercise, s.language or "-", api.format_clock(s.planned_s), api.format_clock(s.played_s), "completed" if s.completed else "stopped early")
        for s in sessions
    ]
    _table(("WHEN", "EXERCISE", "LANG", "PLANNED", "PLAYED", "HOW"), rows)
    click.echo()
    totals = api.totals_by_exercise(data_dir=folder)
    _table(("EXERCISE", "SESSIONS", "COMPLETED", "MINUTES"), [(t.exercise, str(t.sessions), str(t.completed), f"{t.played_s / 60:.1f}") for t in totals])
    click.echo()
    days = api.streak(data_dir=folder)
    if days == 0:
        click.echo("streak: none (no session today or yesterday); a few minutes today starts one")
    elif sessions[0].played_at.date() == date.today():
        click.echo(f"streak: {days} day{'s' if days != 1 else ''}, today included")
    else:
        click.echo(f"streak: {days} day{'s' if days != 1 else ''}; a session today keeps it going")


@cli.command(
    name="next",
    help="Suggest the next session length from the practice log: start at 2 minutes, one minute more after "
    "three completed sessions at a length (sessions stopped early do not count), never a jump, never past --cap. "
    "'voiceguide play EXERCISE --next' plays that length."
    + EXAMPLE
    + "voiceguide next\n  voiceguide next zelfkalmering --cap 10",
)
@click.argument("exercise", required=False)
@click.option("--cap", type=click.FloatRange(1, 180), default=20, show_default=True, help="The longest length to suggest, in minutes.")
@_data_dir_option
def next_length(exercise: str | None, cap: float) -> None:
    folder = _data_dir()
    if exercise is not None:
        found = api.suggestion(practice.resolve_exercise(exercise, data_dir=folder), cap_minutes=cap, data_dir=folder)
        click.echo(f"{found.exercise}: {_minutes(found.minutes)} minutes; {_progress(found)}")
        return
    suggestions = [api.suggestion(name, cap_minutes=cap, data_dir=folder) for name in practice.logged_exercises(data_dir=folder)]
    _table(("EXERCISE", "NEXT", "PROGRESS"), [(s.exercise, f"{_minutes(s.minutes)} min", _progress(s)) for s in suggestions])


def _minutes(minutes: float) -> str:
    return f"{minutes:g}"


def _progress(found: api.Suggestion) -> str:
    if found.next_minutes is None:
        return f"at the cap ({found.completed_at_length} completed at this length)"
    return f"{found.completed_at_length} of {found.sessions_per_step} completed sessions at this length, then {_minutes(found.next_minutes)}"


@cli.group(
    invoke_without_command=True,
    help="List the trigger diary, newest first, and per exercise the average drop in tension. "
    "'voiceguide diary add' writes an entry."
    + EXAMPLE
    + "voiceguide diary\n  voiceguide diary --csv > diary.csv\n  voiceguide diary add --trigger 'a friend cancelled' --need connection --exercise veilige-plek --before 6 --after 3",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True, help="How many entries to list.")
@click.option("--csv", "as_csv", is_flag=True, help="Write every entry as CSV (with a header row) to standard output.")
@_data_dir_option
@click.pass_context
def diary(ctx: click.Context, limit: int, as_csv: bool) -> None:
    if ctx.invoked_subcommand is not None:
        return
    folder = _data_dir()
    if as_csv:
        _echo_csv(api.export_diary_csv, folder)
        return
    entries = api.diary_entries(limit, data_dir=folder)
    if not entries:
        click.echo("no diary entries yet; write one with 'voiceguide diary add'")
        return
    rows = [(f"{e.written_at:%Y-%m-%d %H:%M}", f"{e.tension_before} -> {e.tension_after}", e.need, e.exercise, e.trigger) for e in entries]
    _table(("WHEN", "TENSION", "NEED", "EXERCISE", "TRIGGER"), rows)
    click.echo()
    drops = api.tension_drop_by_exercise(data_dir=folder)
    _table(("EXERCISE", "ENTRIES", "AVERAGE DROP"), [(d.exercise, str(d.entries), f"{d.average_drop:.1f}") for d in drops])


@diary.command(
    name="add",
    help="Write a diary entry: what set it off, in a few words; the need underneath (safety, connection, "
    "appreciation, or your own words); the exercise that helped; and tension before and after, 0 (calm) to 10. "
    "At a terminal it asks for what is missing; in scripts give every flag."
    + EXAMPLE
    + "voiceguide diary add\n  voiceguide diary add --trigger 'a friend cancelled' --need connection --exercise veilige-plek --before 6 --after 3",
)
@click.option("--trigger", help="What set it off, in a few words (at most 200 characters).")
@click.option("--need", help="The need underneath: safety, connection, appreciation, or your own words.")
@click.option("--exercise", help="The exercise that helped: a built-in's name (any alias) or your own words.")
@click.option("--before", metavar="0-10", help="Tension before, 0 (calm) to 10.")
@click.option("--after", metavar="0-10", help="Tension after, 0 (calm) to 10.")
@_data_dir_option
def diary_add(trigger: str | None, need: str | None, exercise: str | None, before: str | None, after: str | None) -> None:
    folder = _data_dir()
    given = {"trigger": trigger, "need": need, "exercise": exercise, "before": before, "after": after}
    defaults = {}
    if exercise is None and _stdin_is_tty():
        last = api.recent_sessions(1, data_dir=folder)
        defaults = practice.diary_defaults(last[0]) if last else {}
    _echo_entry(_write_diary_entry(given, defaults, folder))


_DIARY_QUESTIONS = (
    ("trigger", "What set it off, in a few words", practice.clean_trigger),
    ("need", "The need underneath (safety, connection, appreciation, or your own words)", practice.clean_need),
    ("exercise", "The exercise that helped", practice.clean_exercise),
    ("before", "Tension before (0 calm - 10)", lambda text: practice.parse_tension(text, "tension before")),
    ("after", "Tension after (0 calm - 10)", lambda text: practice.parse_tension(text, "tension after")),
)


def _write_diary_entry(given: dict[str, str | None], defaults: dict[str, str], folder: Path | None) -> api.DiaryEntry:
    """Check what was given, ask for what is missing (only at a terminal), then write the entry."""
    for key, _, clean in _DIARY_QUESTIONS:
        if given[key] is not None:
            clean(given[key])  # a bad flag fails now, before any question is asked
    missing = [f"--{key}" for key, _, _ in _DIARY_QUESTIONS if given[key] is None]
    if missing and not _stdin_is_tty():
        raise UsageError(f"missing {', '.join(missing)}; give {'it' if len(missing) == 1 else 'them'}, or run 'voiceguide diary add' in a terminal to be asked")
    answers: dict[str, object] = dict(given)
    for key, question, clean in _DIARY_QUESTIONS:
        if answers[key] is None:
            answers[key] = click.prompt(question, default=defaults.get(key), value_proc=_reasking(clean))
    return api.add_diary_entry(
        str(answers["trigger"]), str(answers["need"]), str(answers["exercise"]), answers["before"], answers["after"], data_dir=folder  # type: ignore[arg-type]
    )


def _reasking(clean):
    """A click.prompt value_proc: the library's one-line message, then the question again."""

    def proc(text: str):
        try:
            return clean(text)
        except VoiceguideError as exc:
            raise click.BadParameter(str(exc)) from None

    return proc


def _echo_entry(entry: api.DiaryEntry) -> None:
    click.echo(f"added: {entry.trigger} ({entry.need}); {entry.exercise} took tension from {entry.tension_before} to {entry.tension_after}")


def _echo_csv(export, folder: Path | None) -> None:
    import io

    buffer = io.StringIO()
    export(buffer, data_dir=folder)
    click.echo(buffer.getvalue(), nl=False)


def _stdin_is_tty() -> bool:
    """Someone is there to answer questions (never true in scripts or pipes)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


# --- for the play command: --next, and logging once the session is over ------------------------


def _session_target_s(script: str, language: str | None, minutes: float | None, length: str | None, use_next: bool, cap_minutes: float = 20) -> float | None:
    """The session length for ``play``: ``--minutes``/``--length``, or with
    ``--next`` the length the practice log suggests (``voiceguide next``)."""
    if use_next and (minutes is not None or length is not None):
        raise UsageError("give --next or --minutes/--length, not both")
    if not use_next:
        from ..timeline import target_seconds

        return target_seconds(minutes, length)
    exercise, _ = practice.exercise_key(script, language)
    return api.suggest_minutes(exercise, cap_minutes=cap_minutes, data_dir=_data_dir()) * 60.0


def _after_play(script: str, *, language: str | None, planned_s: float, played_s: float, completed: bool, offer_diary: bool = True) -> None:
    """Once ``play`` is over: log the session, then, at a terminal, offer a
    diary entry in one line. The session itself went fine, so a log that
    cannot be written is a warning, not a failure."""
    try:
        record = api.record_played(script, language=language, planned_s=planned_s, played_s=played_s, completed=completed, data_dir=_data_dir())
    except PracticeDataError as exc:
        click.echo(f"voiceguide: session not logged: {exc}", err=True)
        return
    if not practice.offer_diary_after(record, interactive=offer_diary and _stdin_is_tty()):
        return
    try:
        if click.confirm(practice.DIARY_OFFER, default=False):
            given = {key: None for key, _, _ in _DIARY_QUESTIONS}
            _echo_entry(_write_diary_entry(given, practice.diary_defaults(record), _data_dir()))  # type: ignore[arg-type]
    except click.Abort:
        click.echo()  # Ctrl-C or end of input at a question: no entry, no fuss
    except PracticeDataError as exc:
        click.echo(f"voiceguide: diary entry not written: {exc}", err=True)


@cli.command(
    help="Render every track of a TOML manifest into a folder: audio, transcripts, an M3U8 playlist "
    "and index.html. Tracks render in parallel; unchanged tracks are skipped on a rerun."
    + EXAMPLE
    + "voiceguide batch groep.toml -o bundle/\n  voiceguide batch groep.toml -o bundle/ --zip"
)
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "folder", required=True, type=click.Path(file_okay=False, path_type=Path), help="The bundle folder (created if missing).")
@click.option("--jobs", type=click.IntRange(1, 64), help="Tracks rendered at once (default: one per core).")
@click.option("--zip", "make_zip", is_flag=True, help="Also pack the bundle into FOLDER.zip.")
@click.option("--check", "check_only", is_flag=True, help="Only read and check the manifest; render nothing.")
def batch(manifest: Path, folder: Path, jobs: int | None, make_zip: bool, check_only: bool) -> None:
    from ..batch import bundle as bundles

    parsed = bundles.read_manifest(manifest)
    if check_only:
        click.echo(f"ok: {len(parsed.tracks)} tracks")
        return
    show = sys.stderr.isatty()

    def progress(done: int, total: int, result) -> None:
        verb = "rendered" if result.rendered else "unchanged"
        bar = "#" * round(20 * done / total)
        line = f"[{bar:<20}] {done}/{total} {verb} {result.track.file}"
        click.echo(("\r" + line.ljust(78)) if show else line, err=True, nl=not show or done == total)

    outcome = bundles.render_bundle(parsed, folder, jobs=jobs, make_zip=make_zip, progress=progress)
    rendered = sum(1 for r in outcome.results if r.rendered)
    click.echo(f"wrote {folder}: {len(outcome.results)} tracks ({rendered} rendered, {len(outcome.results) - rendered} unchanged), playlist.m3u8, index.html")
    if outcome.archive:
        click.echo(f"wrote {outcome.archive}")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths)]
        click.echo("  ".join(cells).rstrip())


def main() -> None:
    cli(prog_name="voiceguide")


if __name__ == "__main__":
    main()
