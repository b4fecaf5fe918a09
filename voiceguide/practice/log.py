"""The practice log: one row per played session, totals, the streak, and the
next session length, built up slowly (start at 2 minutes, one more after
three completed sessions at a length)."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from .. import rules
from ..errors import UsageError
from ..i18n import _
from ..inputs import is_regular_file
from ..parse.exercises import EXERCISES, find_builtin
from ..rules import MAX_EXERCISE_CHARS, MIN_RECORDED_S
from .store import database, one_line, timestamp, transaction

log = logging.getLogger(__name__)


CSV_COLUMNS = ("played_at", "exercise", "language", "planned_minutes", "played_minutes", "completed")


@dataclass(frozen=True)
class SessionRecord:
    """One played session."""

    played_at: datetime
    """When it was played (local time, with its UTC offset)."""
    exercise: str
    """A built-in's name (``zelfkalmering``) or a script's file name (``my-script.vg``)."""
    language: str
    """``nl``, ``en``, or empty for sessions logged before languages were."""
    planned_s: float
    """The session's length as rendered, in seconds."""
    played_s: float
    """How much of it was heard, in seconds."""
    completed: bool
    """False when it was stopped early."""


@dataclass(frozen=True)
class ExerciseTotal:
    """All sessions of one exercise."""

    exercise: str
    sessions: int
    completed: int
    played_s: float
    """Total time played, in seconds."""


@dataclass(frozen=True)
class Suggestion:
    """The next session length for one exercise, and how it was reached."""

    exercise: str
    minutes: float
    """The suggested length, in minutes."""
    completed_at_length: int
    """Completed sessions at ``minutes`` (or longer) so far."""
    sessions_per_step: int
    next_minutes: float | None
    """The length after ``sessions_per_step`` completed sessions; None at the cap."""


def exercise_key(name_or_path: str | Path, language: str | None = None) -> tuple[str, str]:
    """The name and language a session is logged under: a built-in's
    canonical name (``breathing`` -> ``zelfkalmering``, ``en``), or a script
    file's name (``scripts/my-script.vg`` -> ``my-script.vg``)."""
    text = str(name_or_path)
    path = Path(text)
    builtin = None if is_regular_file(path) else find_builtin(text, language)
    if builtin is not None:
        return builtin.name, builtin.language
    # a file name may hold anything but '/' and NUL; what is logged (and listed) is plain text
    return rules.UNSAFE_CHARACTER.sub("\ufffd", path.name or text), language or ""


# --- the practice log -----------------------------------------------------------------------


def record_session(
    exercise: str,
    language: str,
    planned_s: float,
    played_s: float,
    completed: bool,
    when: datetime | None = None,
    *,
    data_dir: str | Path | None = None,
) -> SessionRecord:
    """Add one session to the log (creating the file if needed) and return it.

    ``exercise`` is stored as given; use ``exercise_key`` (or ``record_played``)
    to log a built-in under its canonical name.
    """
    exercise = one_line(exercise, _("exercise"), MAX_EXERCISE_CHARS)
    if not planned_s > 0 or not played_s >= 0:
        raise UsageError(
            _("planned length must be above 0 s and played length at least 0 s, not {planned_s} and {played_s}").format(
                planned_s=planned_s, played_s=played_s
            )
        )
    stamp = timestamp(when)
    with database(data_dir, create=True) as conn, transaction(conn):
        conn.execute(
            "INSERT INTO sessions (played_at, exercise, language, planned_s, played_s, completed) VALUES (?, ?, ?, ?, ?, ?)",
            (stamp, exercise, language or "", float(planned_s), float(played_s), int(bool(completed))),
        )
    return SessionRecord(
        datetime.fromisoformat(stamp), exercise, language or "", float(planned_s), float(played_s), bool(completed)
    )


def record_played(
    script: str | Path,
    *,
    language: str | None,
    planned_s: float,
    played_s: float,
    completed: bool,
    when: datetime | None = None,
    data_dir: str | Path | None = None,
) -> SessionRecord | None:
    """Log a session the ``play`` command just played.

    ``script`` is what the user typed (a built-in name or alias, or a file);
    it is logged under ``exercise_key``. Sessions under ``MIN_RECORDED_S``
    are not logged (None is returned). Raises ``PracticeDataError`` when the
    log cannot be written; the caller decides how loud that is.
    """
    if played_s < MIN_RECORDED_S:
        log.info("session of %.1f s not logged (under %.0f s)", played_s, MIN_RECORDED_S)
        return None
    exercise, language = exercise_key(script, language)
    return record_session(exercise, language, planned_s, min(played_s, planned_s), completed, when, data_dir=data_dir)


def _session(row: tuple) -> SessionRecord:
    played_at, exercise, language, planned_s, played_s, completed = row
    return SessionRecord(datetime.fromisoformat(played_at), exercise, language, planned_s, played_s, bool(completed))


_SESSION_COLUMNS = "played_at, exercise, language, planned_s, played_s, completed"


def recent_sessions(limit: int = 10, *, data_dir: str | Path | None = None) -> list[SessionRecord]:
    """The last ``limit`` sessions, newest first."""
    with database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY played_at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
    return [_session(row) for row in rows]


def all_sessions(exercise: str | None = None, *, data_dir: str | Path | None = None) -> list[SessionRecord]:
    """Every session (of one exercise, if given), oldest first."""
    where, args = ("WHERE exercise = ?", (exercise,)) if exercise is not None else ("", ())
    with database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions {where} ORDER BY played_at, id", args).fetchall()
    return [_session(row) for row in rows]


def totals_by_exercise(*, data_dir: str | Path | None = None) -> list[ExerciseTotal]:
    """Sessions and time played per exercise, most practised first."""
    with database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT exercise, COUNT(*), SUM(completed), SUM(played_s) FROM sessions GROUP BY exercise ORDER BY SUM(played_s) DESC, exercise"
        ).fetchall()
    return [ExerciseTotal(exercise, count, completed, played_s) for exercise, count, completed, played_s in rows]


def streak(today: date | None = None, *, data_dir: str | Path | None = None) -> int:
    """Consecutive days with at least one session (completed or not), ending
    today, or yesterday when there is none yet today. Days are local days as
    they were when the session was played."""
    today = today or date.today()
    with database(data_dir, create=False) as conn:
        if conn is None:
            return 0
        days = {date.fromisoformat(row[0]) for row in conn.execute("SELECT DISTINCT substr(played_at, 1, 10) FROM sessions")}
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def export_csv(stream: TextIO, *, data_dir: str | Path | None = None) -> int:
    """Write every session, oldest first, as CSV with a header row
    (``CSV_COLUMNS``; minutes to two decimals, completed as 1 or 0).
    Returns the number of sessions written."""
    sessions = all_sessions(data_dir=data_dir)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        writer.writerow(
            (
                s.played_at.isoformat(),
                s.exercise,
                s.language,
                f"{s.planned_s / 60:.2f}",
                f"{s.played_s / 60:.2f}",
                int(s.completed),
            )
        )
    return len(sessions)


def suggestion(
    exercise: str,
    cap_minutes: float = 20,
    start_minutes: float = 2,
    step_minutes: float = 1,
    sessions_per_step: int = 3,
    *,
    data_dir: str | Path | None = None,
) -> Suggestion:
    """The next session length for ``exercise``, built up slowly from the log.

    Start at ``start_minutes``; every ``sessions_per_step`` completed
    sessions at the current length (or longer) step up by ``step_minutes``,
    never past ``cap_minutes``. Sessions stopped early and shorter sessions
    do not count, and the length never jumps: a long session played by hand
    counts as one session at the current length, not as a new level.
    """
    longest = rules.MINUTES.high
    if not 0 < start_minutes <= longest or not 0 < step_minutes <= 60 or not 0 < cap_minutes <= longest:
        raise UsageError(
            _(
                "start, step and cap must be above 0 minutes (cap at most 180), not {start_minutes}, {step_minutes} and {cap_minutes}"
            ).format(start_minutes=start_minutes, step_minutes=step_minutes, cap_minutes=cap_minutes)
        )
    if sessions_per_step < 1:
        raise UsageError(
            _("sessions per step must be at least 1, not {sessions_per_step}").format(sessions_per_step=sessions_per_step)
        )
    minutes = min(start_minutes, cap_minutes)
    done = 0
    for session in all_sessions(exercise, data_dir=data_dir):
        # A few seconds short still counts: rendered lengths land within a second.
        if session.completed and session.planned_s >= minutes * 60 - 5:
            done += 1
            if done >= sessions_per_step and minutes < cap_minutes:
                minutes, done = min(minutes + step_minutes, cap_minutes), 0
    next_minutes = min(minutes + step_minutes, cap_minutes) if minutes < cap_minutes else None
    return Suggestion(exercise, minutes, done, sessions_per_step, next_minutes)


def suggest_minutes(
    exercise: str,
    cap_minutes: float = 20,
    start_minutes: float = 2,
    step_minutes: float = 1,
    sessions_per_step: int = 3,
    *,
    data_dir: str | Path | None = None,
) -> float:
    """The next session length for ``exercise`` in minutes; see ``suggestion``."""
    return suggestion(exercise, cap_minutes, start_minutes, step_minutes, sessions_per_step, data_dir=data_dir).minutes


def resolve_exercise(name: str, *, data_dir: str | Path | None = None) -> str:
    """The logged name of ``name`` (see ``exercise_key``); a UsageError when
    it is neither a built-in, a script file nor an exercise in the log."""
    key, _language = exercise_key(name)
    if key in EXERCISES or is_regular_file(name) or key in {total.exercise for total in totals_by_exercise(data_dir=data_dir)}:
        return key
    raise UsageError(
        _("'{name}' is neither a built-in exercise ({items}) nor in the practice log; see 'voiceguide log'").format(
            name=name, items=", ".join(EXERCISES)
        )
    )


def logged_exercises(*, data_dir: str | Path | None = None) -> list[str]:
    """The built-ins, then every other exercise in the log, by name."""
    logged = [total.exercise for total in totals_by_exercise(data_dir=data_dir)]
    return list(EXERCISES) + sorted(name for name in logged if name not in EXERCISES)


def session_length_s(
    script: str,
    language: str | None = None,
    *,
    target_s: float | None = None,
    use_next: bool = False,
    cap_minutes: float = 20,
    data_dir: str | Path | None = None,
) -> float | None:
    """The length to play ``script`` at: ``target_s`` as asked, or with
    ``use_next`` the length :func:`suggestion` gives for it; None keeps the
    script's own length."""
    if not use_next:
        return target_s
    if target_s is not None:
        raise UsageError.naming(_("give {next} or {length}, not both"), {"next": "use_next", "length": "target_s"})
    exercise, _language = exercise_key(script, language)
    return suggest_minutes(exercise, cap_minutes=cap_minutes, data_dir=data_dir) * 60.0
