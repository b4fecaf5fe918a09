"""The practice log and the trigger diary: the user's own data, in SQLite.

One file, ``practice.sqlite3``, in the user data folder
(``platformdirs.user_data_dir("voiceguide")``; ``$VOICEGUIDE_DATA_DIR`` or a
``data_dir`` argument moves it). Two tables:

``sessions``
    one row per ``play``: exercise, language, planned and played seconds,
    completed or stopped early, and when (local time with its UTC offset).
``diary``
    one row per trigger: a few words, the need underneath, the exercise
    that helped, and tension before and after (0-10).

The schema carries its version in ``PRAGMA user_version``; ``MIGRATIONS``
brings any older file up to date in one transaction, keeping every row.
Every write runs in a ``BEGIN IMMEDIATE`` transaction, so it takes the write
lock before touching anything and either lands whole or not at all. The
file is never created just to read it, and never replaced or deleted: a
damaged, foreign, newer or locked file is a ``PracticeDataError`` naming it.

The advice this module serves: pick one exercise, do it for 2 to 3 minutes,
and build up slowly (``suggestion``).
"""

from __future__ import annotations

import csv
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from ..errors import PracticeDataError, UsageError
from ..exercises import EXERCISES, find_builtin

log = logging.getLogger(__name__)

DB_NAME = "practice.sqlite3"
DATA_DIR_ENV = "VOICEGUIDE_DATA_DIR"
BUSY_TIMEOUT_S = 2.0
"""How long a read or write waits for another program's lock, in seconds."""
MIN_RECORDED_S = 10.0
"""``record_played`` skips sessions shorter than this (a start by mistake)."""

NEEDS = ("safety", "connection", "appreciation")
"""The needs named in the seed's advice; a diary entry may also give its own words."""
NEED_ALIASES = {"veiligheid": "safety", "verbinding": "connection", "waardering": "appreciation", "erkenning": "appreciation"}
MAX_TRIGGER_CHARS = 200
MAX_NEED_CHARS = 100
MAX_EXERCISE_CHARS = 100

# Each entry brings the schema from version N to N + 1 (index N). Never edit
# a released entry: add a new one, so every older file can still be brought
# up to date. A new file runs them all.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: sessions only.
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            played_at TEXT NOT NULL,
            exercise TEXT NOT NULL,
            planned_s REAL NOT NULL,
            played_s REAL NOT NULL
        )""",
    ),
    # v2: language and completed-or-stopped per session; the trigger diary.
    (
        "ALTER TABLE sessions ADD COLUMN language TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN completed INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1))",
        # v1 did not record a stop; a session that played its planned length
        # (to within a second) was completed.
        "UPDATE sessions SET completed = (played_s >= planned_s - 1.0)",
        "CREATE INDEX sessions_by_exercise ON sessions (exercise, played_at)",
        """CREATE TABLE diary (
            id INTEGER PRIMARY KEY,
            written_at TEXT NOT NULL,
            trigger_text TEXT NOT NULL,
            need TEXT NOT NULL,
            exercise TEXT NOT NULL,
            tension_before INTEGER NOT NULL CHECK (tension_before BETWEEN 0 AND 10),
            tension_after INTEGER NOT NULL CHECK (tension_after BETWEEN 0 AND 10)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

CSV_COLUMNS = ("played_at", "exercise", "language", "planned_minutes", "played_minutes", "completed")
DIARY_CSV_COLUMNS = ("written_at", "trigger", "need", "exercise", "tension_before", "tension_after")


# --- values ---------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class DiaryEntry:
    """One trigger and what helped."""

    written_at: datetime
    trigger: str
    need: str
    """``safety``, ``connection``, ``appreciation`` or the user's own words."""
    exercise: str
    tension_before: int
    """0 (calm) to 10."""
    tension_after: int

    @property
    def drop(self) -> int:
        """How much the tension went down (negative if it went up)."""
        return self.tension_before - self.tension_after


@dataclass(frozen=True)
class TensionDrop:
    """The average drop in tension for one exercise, over its diary entries."""

    exercise: str
    entries: int
    average_drop: float


# --- where the data lives -------------------------------------------------------------------


def resolve_data_dir(override: str | Path | None = None) -> Path:
    """The folder of the practice log: ``override``, else ``$VOICEGUIDE_DATA_DIR``,
    else the platform's user data folder (``~/.local/share/voiceguide`` on Linux)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    import platformdirs  # only needed here; keeps the import light elsewhere

    return Path(platformdirs.user_data_dir("voiceguide"))


def database_path(override: str | Path | None = None) -> Path:
    """The practice database file (it may not exist yet)."""
    return resolve_data_dir(override) / DB_NAME


# --- the database ---------------------------------------------------------------------------


def _error(exc: sqlite3.Error, path: Path) -> PracticeDataError:
    """A one-line error for what SQLite reported about ``path``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return PracticeDataError(f"{path}: database is locked by another program; try again")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return PracticeDataError(f"{path} is damaged or not a database ({exc}); it was left as it is: move it away to start a new practice log")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return PracticeDataError(f"{path}: cannot write the practice log ({exc}); check the file's permissions or use --data-dir")
    if name.startswith("SQLITE_FULL"):
        return PracticeDataError(f"{path}: the disk is full; nothing was written")
    return PracticeDataError(f"{path}: {exc}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing; the write lock is taken up front (``BEGIN IMMEDIATE``)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # some errors (a full disk) already rolled back
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise PracticeDataError(f"{path} was written by a newer voiceguide (schema version {version}; this one knows up to {SCHEMA_VERSION}); upgrade voiceguide")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to ``SCHEMA_VERSION``, or refuse a file that is not ours."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    _refuse_newer(version, path)
    with _transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it meanwhile
        _refuse_newer(version, path)
        if version == 0:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")]
            if tables:
                raise PracticeDataError(f"{path} is an SQLite database but not a voiceguide practice log (it has {', '.join(tables)}); it was left as it is")
        for number in range(version, SCHEMA_VERSION):
            log.info("practice log %s: migrating schema v%d -> v%d", path, number, number + 1)
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


@contextmanager
def _database(override: str | Path | None, *, create: bool) -> Iterator[sqlite3.Connection | None]:
    """An open, up-to-date connection, or None when there is no file and
    ``create`` is false (reading never creates the file). SQLite errors
    come out as one-line ``PracticeDataError`` naming the file."""
    path = database_path(override)
    if path.is_dir():
        raise PracticeDataError(f"{path} is a folder, not a practice database; move it away or use --data-dir")
    if not path.exists():
        if not create:
            yield None
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PracticeDataError(f"cannot create the data folder {path.parent}: {exc.strerror or exc}; use --data-dir") from None
    # mode=rw never creates a file; rwc only when asked to. No WAL: the file
    # stays one file, easy to copy or back up.
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise _error(exc, path) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
        yield conn
    except sqlite3.Error as exc:
        raise _error(exc, path) from None
    finally:
        conn.close()


# --- validation -----------------------------------------------------------------------------


def _one_line(text: object, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise UsageError(f"{what} must be text")
    cleaned = " ".join(text.split())  # newlines and runs of spaces become one space
    if not cleaned:
        raise UsageError(f"{what} is empty; write a few words")
    if len(cleaned) > limit:
        raise UsageError(f"{what} must be at most {limit} characters, not {len(cleaned)}")
    return cleaned


def clean_trigger(text: str) -> str:
    """A trigger in a few words: 1 to 200 characters, one line."""
    return _one_line(text, "trigger", MAX_TRIGGER_CHARS)


def clean_need(text: str) -> str:
    """``safety``, ``connection``, ``appreciation`` (or the Dutch
    veiligheid, verbinding, waardering), or the user's own words."""
    cleaned = _one_line(text, "need", MAX_NEED_CHARS)
    key = cleaned.lower()
    if key in NEEDS:
        return key
    return NEED_ALIASES.get(key, cleaned)


def clean_exercise(text: str) -> str:
    """A built-in's canonical name for any of its names (``safe-place`` ->
    ``veilige-plek``); anything else (a script, a walk) as written."""
    cleaned = _one_line(text, "exercise", MAX_EXERCISE_CHARS)
    builtin = find_builtin(cleaned)
    return builtin.name if builtin else cleaned


def parse_tension(value: int | str, which: str = "tension") -> int:
    """A tension rating: a whole number from 0 (calm) to 10."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= 10:
        raise UsageError(f"{which} must be a whole number from 0 (calm) to 10, not '{value}'")
    return value


def exercise_key(name_or_path: str | Path, language: str | None = None) -> tuple[str, str]:
    """The name and language a session is logged under: a built-in's
    canonical name (``breathing`` -> ``zelfkalmering``, ``en``), or a script
    file's name (``scripts/my-script.vg`` -> ``my-script.vg``)."""
    text = str(name_or_path)
    path = Path(text)
    builtin = None if path.is_file() else find_builtin(text, language)
    if builtin is not None:
        return builtin.name, builtin.language
    return path.name or text, language or ""


def _timestamp(when: datetime | None) -> str:
    """Local time with its offset (a naive ``when`` is taken as local time)."""
    return (when or datetime.now()).astimezone().isoformat(timespec="seconds")


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
    exercise = _one_line(exercise, "exercise", MAX_EXERCISE_CHARS)
    if not planned_s > 0 or not played_s >= 0:
        raise UsageError(f"planned length must be above 0 s and played length at least 0 s, not {planned_s} and {played_s}")
    stamp = _timestamp(when)
    with _database(data_dir, create=True) as conn, _transaction(conn):
        conn.execute(
            "INSERT INTO sessions (played_at, exercise, language, planned_s, played_s, completed) VALUES (?, ?, ?, ?, ?, ?)",
            (stamp, exercise, language or "", float(planned_s), float(played_s), int(bool(completed))),
        )
    return SessionRecord(datetime.fromisoformat(stamp), exercise, language or "", float(planned_s), float(played_s), bool(completed))


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
    with _database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY played_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
    return [_session(row) for row in rows]


def all_sessions(exercise: str | None = None, *, data_dir: str | Path | None = None) -> list[SessionRecord]:
    """Every session (of one exercise, if given), oldest first."""
    where, args = ("WHERE exercise = ?", (exercise,)) if exercise is not None else ("", ())
    with _database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions {where} ORDER BY played_at, id", args).fetchall()
    return [_session(row) for row in rows]


def totals_by_exercise(*, data_dir: str | Path | None = None) -> list[ExerciseTotal]:
    """Sessions and time played per exercise, most practised first."""
    with _database(data_dir, create=False) as conn:
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
    with _database(data_dir, create=False) as conn:
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
        writer.writerow((s.played_at.isoformat(), s.exercise, s.language, f"{s.planned_s / 60:.2f}", f"{s.played_s / 60:.2f}", int(s.completed)))
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
    if not 0 < start_minutes <= 180 or not 0 < step_minutes <= 60 or not 0 < cap_minutes <= 180:
        raise UsageError(f"start, step and cap must be above 0 minutes (cap at most 180), not {start_minutes}, {step_minutes} and {cap_minutes}")
    if sessions_per_step < 1:
        raise UsageError(f"sessions per step must be at least 1, not {sessions_per_step}")
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
    key, _ = exercise_key(name)
    if key in EXERCISES or Path(name).is_file() or key in {total.exercise for total in totals_by_exercise(data_dir=data_dir)}:
        return key
    raise UsageError(f"'{name}' is neither a built-in exercise ({', '.join(EXERCISES)}) nor in the practice log; see 'voiceguide log'")


def logged_exercises(*, data_dir: str | Path | None = None) -> list[str]:
    """The built-ins, then every other exercise in the log, by name."""
    logged = [total.exercise for total in totals_by_exercise(data_dir=data_dir)]
    return list(EXERCISES) + sorted(name for name in logged if name not in EXERCISES)


# --- the trigger diary ----------------------------------------------------------------------


def add_diary_entry(
    trigger: str,
    need: str,
    exercise: str,
    tension_before: int | str,
    tension_after: int | str,
    when: datetime | None = None,
    *,
    data_dir: str | Path | None = None,
) -> DiaryEntry:
    """Add a diary entry (creating the file if needed) and return it.

    Raises ``UsageError`` (one line) for a trigger that is empty or over 200
    characters, an empty need, or a tension that is not a whole number from
    0 to 10; nothing is written then.
    """
    entry = DiaryEntry(
        datetime.fromisoformat(_timestamp(when)),
        clean_trigger(trigger),
        clean_need(need),
        clean_exercise(exercise),
        parse_tension(tension_before, "tension before"),
        parse_tension(tension_after, "tension after"),
    )
    with _database(data_dir, create=True) as conn, _transaction(conn):
        conn.execute(
            "INSERT INTO diary (written_at, trigger_text, need, exercise, tension_before, tension_after) VALUES (?, ?, ?, ?, ?, ?)",
            (entry.written_at.isoformat(), entry.trigger, entry.need, entry.exercise, entry.tension_before, entry.tension_after),
        )
    return entry


def diary_entries(limit: int | None = 20, *, data_dir: str | Path | None = None) -> list[DiaryEntry]:
    """The last ``limit`` diary entries (all when None), newest first."""
    with _database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT written_at, trigger_text, need, exercise, tension_before, tension_after FROM diary ORDER BY written_at DESC, id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
    return [DiaryEntry(datetime.fromisoformat(row[0]), *row[1:]) for row in rows]


def tension_drop_by_exercise(*, data_dir: str | Path | None = None) -> list[TensionDrop]:
    """Per exercise, the average drop in tension (before - after), biggest first."""
    with _database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT exercise, COUNT(*), AVG(tension_before - tension_after) AS drop_ FROM diary GROUP BY exercise ORDER BY drop_ DESC, exercise"
        ).fetchall()
    return [TensionDrop(exercise, count, average) for exercise, count, average in rows]


def export_diary_csv(stream: TextIO, *, data_dir: str | Path | None = None) -> int:
    """Write every diary entry, oldest first, as CSV (``DIARY_CSV_COLUMNS``)."""
    entries = list(reversed(diary_entries(None, data_dir=data_dir)))
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(DIARY_CSV_COLUMNS)
    for e in entries:
        writer.writerow((e.written_at.isoformat(), e.trigger, e.need, e.exercise, e.tension_before, e.tension_after))
    return len(entries)


# --- after play -----------------------------------------------------------------------------

DIARY_OFFER = "Add a diary entry for this session?"


def offer_diary_after(record: SessionRecord | None, *, interactive: bool) -> bool:
    """Whether ``play`` should offer a diary entry: only when a session was
    logged and someone is at a terminal to answer (never in scripts)."""
    return record is not None and interactive


def diary_defaults(record: SessionRecord) -> dict[str, str]:
    """Prefilled answers for a diary entry right after ``record`` was played."""
    return {"exercise": record.exercise}


__all__ = [
    "BUSY_TIMEOUT_S", "CSV_COLUMNS", "DIARY_CSV_COLUMNS", "DIARY_OFFER", "DiaryEntry", "ExerciseTotal", "MIGRATIONS", "NEEDS",
    "SCHEMA_VERSION", "SessionRecord", "Suggestion", "TensionDrop", "add_diary_entry", "all_sessions", "clean_exercise",
    "clean_need", "clean_trigger", "database_path", "resolve_data_dir", "diary_defaults", "diary_entries", "exercise_key",
    "export_csv", "export_diary_csv", "logged_exercises", "offer_diary_after", "parse_tension", "recent_sessions",
    "record_played", "record_session", "resolve_exercise", "streak", "suggest_minutes", "suggestion", "tension_drop_by_exercise",
    "totals_by_exercise",
]
