"""The trigger diary: what set it off, the need underneath, the exercise that
helped, and tension before and after (0-10)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from .. import rules
from ..errors import UsageError
from ..i18n import N_, _
from ..parse.exercises import find_builtin
from ..rules import MAX_EXERCISE_CHARS, MAX_NEED_CHARS, MAX_TRIGGER_CHARS
from .log import SessionRecord
from .store import database, one_line, timestamp, transaction

NEEDS = ("safety", "connection", "appreciation")
NEED_NAMES = {"safety": N_("safety"), "connection": N_("connection"), "appreciation": N_("appreciation")}
"""How each named need is shown (it is stored in English)."""
"""The needs named in the seed's advice; a diary entry may also give its own words."""
NEED_ALIASES = {"veiligheid": "safety", "verbinding": "connection", "waardering": "appreciation", "erkenning": "appreciation"}

DIARY_CSV_COLUMNS = ("written_at", "trigger", "need", "exercise", "tension_before", "tension_after")


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


def clean_trigger(text: str) -> str:
    """A trigger in a few words: 1 to 200 characters, one line."""
    return one_line(text, _("trigger"), MAX_TRIGGER_CHARS)


def clean_need(text: str) -> str:
    """``safety``, ``connection``, ``appreciation`` (or the Dutch
    veiligheid, verbinding, waardering), or the user's own words."""
    cleaned = one_line(text, _("need"), MAX_NEED_CHARS)
    key = cleaned.lower()
    if key in NEEDS:
        return key
    return NEED_ALIASES.get(key, cleaned)


def clean_exercise(text: str) -> str:
    """A built-in's canonical name for any of its names (``safe-place`` ->
    ``veilige-plek``); anything else (a script, a walk) as written."""
    cleaned = one_line(text, _("exercise"), MAX_EXERCISE_CHARS)
    builtin = find_builtin(cleaned)
    return builtin.name if builtin else cleaned


def parse_tension(value: int | str, which: str | None = None) -> int:
    """A tension rating: a whole number from 0 (calm) to 10."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        value = int(value.strip())  # ASCII digits only: '²' is a digit to str.isdigit() but not to int()
    if not isinstance(value, int) or value not in rules.TENSION:
        shown = value if not isinstance(value, str) or len(value) <= 20 else value[:20] + "..."
        raise UsageError(
            _("{which} must be a whole number from 0 (calm) to 10, not '{value}'").format(
                which=which or _("tension"), value=shown
            )
        )
    return value


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
        datetime.fromisoformat(timestamp(when)),
        clean_trigger(trigger),
        clean_need(need),
        clean_exercise(exercise),
        parse_tension(tension_before, _("tension before")),
        parse_tension(tension_after, _("tension after")),
    )
    with database(data_dir, create=True) as conn, transaction(conn):
        conn.execute(
            "INSERT INTO diary (written_at, trigger_text, need, exercise, tension_before, tension_after) VALUES (?, ?, ?, ?, ?, ?)",
            (entry.written_at.isoformat(), entry.trigger, entry.need, entry.exercise, entry.tension_before, entry.tension_after),
        )
    return entry


def diary_entries(limit: int | None = 20, *, data_dir: str | Path | None = None) -> list[DiaryEntry]:
    """The last ``limit`` diary entries (all when None), newest first."""
    with database(data_dir, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT written_at, trigger_text, need, exercise, tension_before, tension_after FROM diary ORDER BY written_at DESC, id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
    return [DiaryEntry(datetime.fromisoformat(row[0]), *row[1:]) for row in rows]


def tension_drop_by_exercise(*, data_dir: str | Path | None = None) -> list[TensionDrop]:
    """Per exercise, the average drop in tension (before - after), biggest first."""
    with database(data_dir, create=False) as conn:
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

DIARY_OFFER = N_("Add a diary entry for this session?")

DIARY_QUESTIONS = (
    ("trigger", N_("What set it off, in a few words"), clean_trigger),
    ("need", N_("The need underneath (safety, connection, appreciation, or your own words)"), clean_need),
    ("exercise", N_("The exercise that helped"), clean_exercise),
    ("before", N_("Tension before (0 calm - 10)"), lambda text: parse_tension(text, _("tension before"))),
    ("after", N_("Tension after (0 calm - 10)"), lambda text: parse_tension(text, _("tension after"))),
)
"""What a diary entry asks, in order: (answer key, question in English (the
CLI asks it in the interface language), the check that turns an answer into
its value or raises UsageError)."""


def offer_diary_after(record: SessionRecord | None, *, interactive: bool) -> bool:
    """Whether ``play`` should offer a diary entry: only when a session was
    logged and someone is at a terminal to answer (never in scripts)."""
    return record is not None and interactive


def diary_defaults(record: SessionRecord) -> dict[str, str]:
    """Prefilled answers for a diary entry right after ``record`` was played."""
    return {"exercise": record.exercise}
