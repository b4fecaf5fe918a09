"""Where the practice log and trigger diary live: one SQLite file, its schema and migrations.

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

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .. import rules
from ..errors import PracticeDataError, UsageError, os_reason
from ..folders import data_dir
from ..i18n import _

log = logging.getLogger(__name__)

DB_NAME = "practice.sqlite3"
BUSY_TIMEOUT_S = 2.0
"""How long a read or write waits for another program's lock, in seconds."""

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


# --- where the data lives -------------------------------------------------------------------


def database_path(override: str | Path | None = None) -> Path:
    """The practice database file (it may not exist yet)."""
    return data_dir(override) / DB_NAME


# --- the database ---------------------------------------------------------------------------


def _error(exc: sqlite3.Error, path: Path) -> PracticeDataError:
    """A one-line error for what SQLite reported about ``path``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return PracticeDataError(_("{path}: database is locked by another program; try again").format(path=path))
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return PracticeDataError(
            _(
                "{path} is damaged or not a database ({exc}); it was left as it is: move it away to start a new practice log"
            ).format(path=path, exc=exc)
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return PracticeDataError.naming(
            _("{path}: cannot write the practice log ({exc}); check the file's permissions or use {data_dir}"),
            {"data_dir": "data_dir"},
            path=path,
            exc=exc,
        )
    if name.startswith("SQLITE_FULL"):
        return PracticeDataError(_("{path}: the disk is full; nothing was written").format(path=path))
    return PracticeDataError(_("{path}: {exc}").format(path=path, exc=exc))


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
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
        raise PracticeDataError(
            _(
                "{path} was written by a newer voiceguide (schema version {version}; this one knows up to {SCHEMA_VERSION}); upgrade voiceguide"
            ).format(path=path, version=version, SCHEMA_VERSION=SCHEMA_VERSION)
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to ``SCHEMA_VERSION``, or refuse a file that is not ours."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    _refuse_newer(version, path)
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it meanwhile
        _refuse_newer(version, path)
        if version == 0:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")]
            if tables:
                raise PracticeDataError(
                    _(
                        "{path} is an SQLite database but not a voiceguide practice log (it has {items}); it was left as it is"
                    ).format(path=path, items=", ".join(tables))
                )
        for number in range(version, SCHEMA_VERSION):
            log.info("practice log %s: migrating schema v%d -> v%d", path, number, number + 1)
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


@contextmanager
def database(override: str | Path | None, *, create: bool) -> Iterator[sqlite3.Connection | None]:
    """An open, up-to-date connection, or None when there is no file and
    ``create`` is false (reading never creates the file). SQLite errors
    come out as one-line ``PracticeDataError`` naming the file."""
    path = database_path(override)
    if path.is_dir():
        raise PracticeDataError.naming(
            _("{path} is a folder, not a practice database; move it away or use {data_dir}"), {"data_dir": "data_dir"}, path=path
        )
    if not path.exists():
        if not create:
            yield None
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PracticeDataError.naming(
                _("cannot create the data folder {parent}: {reason}; use {data_dir}"),
                {"data_dir": "data_dir"},
                parent=path.parent,
                reason=os_reason(exc),
            ) from None
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


def timestamp(when: datetime | None) -> str:
    """Local time with its offset (a naive ``when`` is taken as local time)."""
    return (when or datetime.now()).astimezone().isoformat(timespec="seconds")


def one_line(text: object, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise UsageError(_("{what} must be text").format(what=what))
    cleaned = " ".join(text.split())  # newlines and runs of spaces become one space
    problem = rules.text_problem(cleaned, what)
    if problem:  # ESC and friends would reach the terminal of whoever lists the diary
        raise UsageError(problem)
    if not cleaned:
        raise UsageError(_("{what} is empty; write a few words").format(what=what))
    if len(cleaned) > limit:
        raise UsageError(
            _("{what} must be at most {limit} characters, not {count}").format(what=what, limit=limit, count=len(cleaned))
        )
    return cleaned
