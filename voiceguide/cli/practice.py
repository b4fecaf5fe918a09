"""The practice log and the trigger diary: ``log``, ``next``, ``diary`` and
``diary add``, and what ``play`` does once a session is over."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import click

from .. import rules
from ..clock import format_clock
from ..errors import PracticeDataError, UsageError, VoiceguideError
from ..practice import diary as diary_data
from ..practice import log as practice_log
from .options import data_dir, data_dir_option, range_type, table
from .terminal import is_terminal


@click.command(name="log")
@click.option("--csv", "as_csv", is_flag=True, help="Write every session as CSV (with a header row) to standard output.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True, help="How many recent sessions to list.")
@data_dir_option
def log_command(as_csv: bool, limit: int) -> None:
    """Show recent sessions, total minutes per exercise and the current streak
    (days in a row with a session). --csv writes every session as CSV instead.

    \b
    Example:
      voiceguide log
      voiceguide log --limit 30
      voiceguide log --csv > practice.csv
      voiceguide log --data-dir ~/sync/voiceguide
    """
    folder = data_dir()
    if as_csv:
        _echo_csv(practice_log.export_csv, folder)
        return
    sessions = practice_log.recent_sessions(limit, data_dir=folder)
    if not sessions:
        click.echo("no sessions yet; play one with 'voiceguide play zelfkalmering --next' (it starts at 2 minutes)")
        return
    rows = [
        (
            f"{s.played_at:%Y-%m-%d %H:%M}",
            s.exercise,
            s.language or "-",
            format_clock(s.planned_s),
            format_clock(s.played_s),
            "completed" if s.completed else "stopped early",
        )
        for s in sessions
    ]
    table(("WHEN", "EXERCISE", "LANG", "PLANNED", "PLAYED", "HOW"), rows)
    click.echo()
    totals = practice_log.totals_by_exercise(data_dir=folder)
    table(
        ("EXERCISE", "SESSIONS", "COMPLETED", "MINUTES"),
        [(t.exercise, str(t.sessions), str(t.completed), f"{t.played_s / 60:.1f}") for t in totals],
    )
    click.echo()
    days = practice_log.streak(data_dir=folder)
    if days == 0:
        click.echo("streak: none (no session today or yesterday); a few minutes today starts one")
    elif sessions[0].played_at.date() == date.today():
        click.echo(f"streak: {days} day{'s' if days != 1 else ''}, today included")
    else:
        click.echo(f"streak: {days} day{'s' if days != 1 else ''}; a session today keeps it going")


@click.command(name="next")
@click.argument("exercise", required=False)
@click.option(
    "--cap",
    type=range_type(rules.Range(1, rules.MINUTES.high, "minutes")),
    default=20,
    show_default=True,
    help="The longest length to suggest, in minutes.",
)
@data_dir_option
def next_length(exercise: str | None, cap: float) -> None:
    """Suggest the next session length from the practice log: start at 2 minutes,
    one minute more after three completed sessions at a length (sessions stopped
    early do not count), never a jump, never past --cap. 'voiceguide play
    EXERCISE --next' plays that length.

    \b
    Example:
      voiceguide next
      voiceguide next zelfkalmering --cap 10
    """
    folder = data_dir()
    if exercise is not None:
        found = practice_log.suggestion(
            practice_log.resolve_exercise(exercise, data_dir=folder), cap_minutes=cap, data_dir=folder
        )
        click.echo(f"{found.exercise}: {found.minutes:g} minutes; {_progress(found)}")
        return
    suggestions = [
        practice_log.suggestion(name, cap_minutes=cap, data_dir=folder) for name in practice_log.logged_exercises(data_dir=folder)
    ]
    table(("EXERCISE", "NEXT", "PROGRESS"), [(s.exercise, f"{s.minutes:g} min", _progress(s)) for s in suggestions])


def _progress(found: practice_log.Suggestion) -> str:
    if found.next_minutes is None:
        return f"at the cap ({found.completed_at_length} completed at this length)"
    return (
        f"{found.completed_at_length} of {found.sessions_per_step} completed sessions at this length, then {found.next_minutes:g}"
    )


@click.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True, help="How many entries to list.")
@click.option("--csv", "as_csv", is_flag=True, help="Write every entry as CSV (with a header row) to standard output.")
@data_dir_option
@click.pass_context
def diary(ctx: click.Context, limit: int, as_csv: bool) -> None:
    """List the trigger diary, newest first, and per exercise the average drop
    in tension. 'voiceguide diary add' writes an entry.

    \b
    Example:
      voiceguide diary
      voiceguide diary --csv > diary.csv
      voiceguide diary add --trigger 'a friend cancelled' --need connection --exercise veilige-plek --before 6 --after 3
    """
    if ctx.invoked_subcommand is not None:
        return
    folder = data_dir()
    if as_csv:
        _echo_csv(diary_data.export_diary_csv, folder)
        return
    entries = diary_data.diary_entries(limit, data_dir=folder)
    if not entries:
        click.echo("no diary entries yet; write one with 'voiceguide diary add'")
        return
    rows = [
        (f"{e.written_at:%Y-%m-%d %H:%M}", f"{e.tension_before} -> {e.tension_after}", e.need, e.exercise, e.trigger)
        for e in entries
    ]
    table(("WHEN", "TENSION", "NEED", "EXERCISE", "TRIGGER"), rows)
    click.echo()
    drops = diary_data.tension_drop_by_exercise(data_dir=folder)
    table(("EXERCISE", "ENTRIES", "AVERAGE DROP"), [(d.exercise, str(d.entries), f"{d.average_drop:.1f}") for d in drops])


@diary.command(name="add")
@click.option("--trigger", help="What set it off, in a few words (at most 200 characters).")
@click.option("--need", help="The need underneath: safety, connection, appreciation, or your own words.")
@click.option("--exercise", help="The exercise that helped: a built-in's name (any alias) or your own words.")
@click.option("--before", metavar="0-10", help="Tension before, 0 (calm) to 10.")
@click.option("--after", metavar="0-10", help="Tension after, 0 (calm) to 10.")
@data_dir_option
def diary_add(**given: str | None) -> None:
    """Write a diary entry: what set it off, in a few words; the need underneath
    (safety, connection, appreciation, or your own words); the exercise that
    helped; and tension before and after, 0 (calm) to 10. At a terminal it asks
    for what is missing; in scripts give every flag.

    \b
    Example:
      voiceguide diary add
      voiceguide diary add --trigger 'a friend cancelled' --need connection --exercise veilige-plek --before 6 --after 3
    """
    folder = data_dir()
    defaults = {}
    if given["exercise"] is None and is_terminal(sys.stdin):
        last = practice_log.recent_sessions(1, data_dir=folder)
        defaults = diary_data.diary_defaults(last[0]) if last else {}
    _echo_entry(ask_diary_entry(given, defaults, folder))


def ask_diary_entry(given: dict[str, str | None], defaults: dict[str, str], folder: Path | None) -> diary_data.DiaryEntry:
    """Check what was given, ask for what is missing (only at a terminal), then write the entry."""
    for key, _, clean in diary_data.DIARY_QUESTIONS:
        if given.get(key) is not None:
            clean(given[key])  # a bad flag fails now, before any question is asked
    missing = [f"--{key}" for key, _, _ in diary_data.DIARY_QUESTIONS if given.get(key) is None]
    if missing and not is_terminal(sys.stdin):
        raise UsageError(
            f"missing {', '.join(missing)}; give {'it' if len(missing) == 1 else 'them'}, or run 'voiceguide diary add' in a terminal to be asked"
        )
    answers: dict[str, object] = dict(given)
    for key, question, clean in diary_data.DIARY_QUESTIONS:
        if answers.get(key) is None:
            answers[key] = click.prompt(question, default=defaults.get(key), value_proc=_reasking(clean))
    return diary_data.add_diary_entry(
        str(answers["trigger"]),
        str(answers["need"]),
        str(answers["exercise"]),
        answers["before"],
        answers["after"],
        data_dir=folder,  # type: ignore[arg-type]
    )


def after_play(script: str, language: str | None, outcome, *, offer_diary: bool = True) -> None:
    """Once ``play`` is over: log the session, then, at a terminal, offer a
    diary entry in one line. The session itself went fine, so a log that
    cannot be written is a warning, not a failure."""
    if outcome is None:
        return
    folder = data_dir()
    try:
        record = practice_log.record_played(
            script,
            language=language,
            planned_s=outcome.planned_s,
            played_s=outcome.played_s,
            completed=outcome.completed,
            data_dir=folder,
        )
    except PracticeDataError as exc:
        click.echo(f"voiceguide: session not logged: {exc}", err=True)
        return
    if not diary_data.offer_diary_after(record, interactive=offer_diary and is_terminal(sys.stdin)):
        return
    try:
        if click.confirm(diary_data.DIARY_OFFER, default=False):
            given = {key: None for key, _, _ in diary_data.DIARY_QUESTIONS}
            _echo_entry(ask_diary_entry(given, diary_data.diary_defaults(record), folder))  # type: ignore[arg-type]
    except click.Abort:
        click.echo()  # Ctrl-C or end of input at a question: no entry, no fuss
    except PracticeDataError as exc:
        click.echo(f"voiceguide: diary entry not written: {exc}", err=True)


def _reasking(clean):
    """A click.prompt value_proc: the library's one-line message, then the question again."""

    def proc(text: str):
        try:
            return clean(text)
        except VoiceguideError as exc:
            raise click.BadParameter(str(exc)) from None

    return proc


def _echo_entry(entry: diary_data.DiaryEntry) -> None:
    click.echo(
        f"added: {entry.trigger} ({entry.need}); {entry.exercise} took tension from {entry.tension_before} to {entry.tension_after}"
    )


def _echo_csv(export, folder: Path | None) -> None:
    buffer = io.StringIO()
    export(buffer, data_dir=folder)
    click.echo(buffer.getvalue(), nl=False)
