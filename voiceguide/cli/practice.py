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
from ..i18n import _, format_datetime, format_decimal, ngettext
from ..practice import diary as diary_data
from ..practice import log as practice_log
from .options import data_dir, data_dir_option, printable, range_type, table
from .terminal import confirm, is_terminal


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
        click.echo(_("no sessions yet; play one with 'voiceguide play zelfkalmering --next' (it starts at 2 minutes)"))
        return
    rows = [
        (
            format_datetime(s.played_at),
            s.exercise,
            s.language or "-",
            format_clock(s.planned_s),
            format_clock(s.played_s),
            _("completed") if s.completed else _("stopped early"),
        )
        for s in sessions
    ]
    table((_("WHEN"), _("EXERCISE"), _("LANG"), _("PLANNED"), _("PLAYED"), _("HOW")), rows)
    click.echo()
    totals = practice_log.totals_by_exercise(data_dir=folder)
    table(
        (_("EXERCISE"), _("SESSIONS"), _("COMPLETED"), _("MINUTES")),
        [(t.exercise, str(t.sessions), str(t.completed), format_decimal(t.played_s / 60)) for t in totals],
    )
    click.echo()
    days = practice_log.streak(data_dir=folder)
    if days == 0:
        click.echo(_("streak: none (no session today or yesterday); a few minutes today starts one"))
    elif sessions[0].played_at.date() == date.today():
        click.echo(ngettext("streak: {days} day, today included", "streak: {days} days, today included", days).format(days=days))
    else:
        click.echo(
            ngettext(
                "streak: {days} day; a session today keeps it going", "streak: {days} days; a session today keeps it going", days
            ).format(days=days)
        )


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
        click.echo(
            ngettext(
                "{exercise}: {minutes} minute; {progress}",
                "{exercise}: {minutes} minutes; {progress}",
                1 if found.minutes == 1 else 2,
            ).format(exercise=found.exercise, minutes=_minutes(found.minutes), progress=_progress(found))
        )
        return
    suggestions = [
        practice_log.suggestion(name, cap_minutes=cap, data_dir=folder) for name in practice_log.logged_exercises(data_dir=folder)
    ]
    table(
        (_("EXERCISE"), _("NEXT"), _("PROGRESS")),
        [(s.exercise, _("{minutes} min").format(minutes=_minutes(s.minutes)), _progress(s)) for s in suggestions],
    )


def _minutes(minutes: float) -> str:
    """``2``, ``2.5`` (``2,5`` in Dutch)."""
    return format_decimal(minutes, decimals=2, trim=True)


def _progress(found: practice_log.Suggestion) -> str:
    if found.next_minutes is None:
        return _("at the cap ({count} completed at this length)").format(count=found.completed_at_length)
    return _("{count} of {needed} completed sessions at this length, then {minutes}").format(
        count=found.completed_at_length, needed=found.sessions_per_step, minutes=_minutes(found.next_minutes)
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
        click.echo(_("no diary entries yet; write one with 'voiceguide diary add'"))
        return
    rows = [
        (format_datetime(e.written_at), f"{e.tension_before} -> {e.tension_after}", _need(e.need), e.exercise, e.trigger)
        for e in entries
    ]
    table((_("WHEN"), _("TENSION"), _("NEED"), _("EXERCISE"), _("TRIGGER")), rows)
    click.echo()
    drops = diary_data.tension_drop_by_exercise(data_dir=folder)
    table(
        (_("EXERCISE"), _("ENTRIES"), _("AVERAGE DROP")),
        [(d.exercise, str(d.entries), format_decimal(d.average_drop)) for d in drops],
    )


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
    for key, _question, clean in diary_data.DIARY_QUESTIONS:
        if given.get(key) is not None:
            clean(given[key])  # a bad flag fails now, before any question is asked
    missing = [f"--{key}" for key, _, _ in diary_data.DIARY_QUESTIONS if given.get(key) is None]
    if missing and not is_terminal(sys.stdin):
        raise UsageError(
            ngettext(
                "missing {options}; give it, or run 'voiceguide diary add' in a terminal to be asked",
                "missing {options}; give them, or run 'voiceguide diary add' in a terminal to be asked",
                len(missing),
            ).format(options=", ".join(missing))
        )
    answers: dict[str, object] = dict(given)
    for key, question, clean in diary_data.DIARY_QUESTIONS:
        if answers.get(key) is None:
            answers[key] = click.prompt(_(question), default=defaults.get(key), value_proc=_reasking(clean))
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
        click.echo("voiceguide: " + _("session not logged: {reason}").format(reason=exc), err=True)
        return
    if not diary_data.offer_diary_after(record, interactive=offer_diary and is_terminal(sys.stdin)):
        return
    try:
        if confirm(_(diary_data.DIARY_OFFER)):
            given = {key: None for key, _, _ in diary_data.DIARY_QUESTIONS}
            _echo_entry(ask_diary_entry(given, diary_data.diary_defaults(record), folder))  # type: ignore[arg-type]
    except click.Abort:
        click.echo()  # Ctrl-C or end of input at a question: no entry, no fuss
    except PracticeDataError as exc:
        click.echo("voiceguide: " + _("diary entry not written: {reason}").format(reason=exc), err=True)


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
        _("added: {trigger} ({need}); {exercise} took tension from {before} to {after}").format(
            trigger=entry.trigger,
            need=_need(entry.need),
            exercise=entry.exercise,
            before=entry.tension_before,
            after=entry.tension_after,
        )
    )


def _need(need: str) -> str:
    """The needs voiceguide names (safety, connection, appreciation) in the interface language; the user's own words as written."""
    return _(diary_data.NEED_NAMES[need]) if need in diary_data.NEED_NAMES else need


def _echo_csv(export, folder: Path | None) -> None:
    """The CSV as written (redirected to a file, raw is right); on a terminal
    every control character stored in it is shown as an escape such as ``\\x1b``."""
    buffer = io.StringIO()
    export(buffer, data_dir=folder)
    text = buffer.getvalue()
    if is_terminal(sys.stdout):
        text = "\n".join(printable(line) for line in text.split("\n"))
    click.echo(text, nl=False)
