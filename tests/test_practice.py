"""The practice log and trigger diary against real SQLite files: across
process runs, migrated from an older schema, locked, damaged."""

from __future__ import annotations

import csv
import io
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import run

from voiceguide.cli import practice as cli_practice
from voiceguide.cli.options import data_dir_option
from voiceguide.cli.terminal import PlayOutcome
from voiceguide.errors import PracticeDataError, UsageError
from voiceguide.practice import diary, store
from voiceguide.practice import log as practice_log

LOCKED = "database is locked by another program; try again"


@pytest.fixture(autouse=True)
def data(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data folder; the user's own log is never touched."""
    folder = tmp_path / "data"
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(folder))
    return folder


def vg(*args: str, data: Path, input: str | None = None) -> subprocess.CompletedProcess:
    """``python -m voiceguide ARGS`` as its own process."""
    env = {**os.environ, "VOICEGUIDE_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args], capture_output=True, text=True, env=env, input=input, timeout=60
    )


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another process holds ``BEGIN EXCLUSIVE`` on ``path`` until the block ends."""
    code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "conn.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def played(minutes: float, completed: bool = True, exercise: str = "zelfkalmering", **kwargs) -> None:
    planned_s = minutes * 60
    practice_log.record_session(exercise, "nl", planned_s, planned_s if completed else planned_s / 3, completed, **kwargs)


def count_rows(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


# --- where the data lives, and never creating it just to read -------------------------------


def test_reading_on_a_fresh_machine_creates_nothing(data):
    for args in (["log"], ["log", "--csv"], ["next"], ["next", "zelfkalmering"], ["diary"], ["diary", "--csv"]):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    assert run("log").output.startswith("no sessions yet;")
    assert run("diary").output.startswith("no diary entries yet;")
    assert run("log", "--csv").output == ",".join(practice_log.CSV_COLUMNS) + "\n"
    assert not data.exists()
    assert practice_log.recent_sessions() == [] and practice_log.streak() == 0 and practice_log.totals_by_exercise() == []


def test_data_dir_option_on_the_group_or_the_command_beats_the_environment(tmp_path, data):
    group_dir, command_dir = tmp_path / "group", tmp_path / "command"
    practice_log.record_session("herinnering", "nl", 120, 120, True, data_dir=group_dir)
    practice_log.record_session("veilige-plek", "en", 180, 180, True, data_dir=command_dir)
    assert "herinnering" in run("--data-dir", str(group_dir), "log").output
    both = run("--data-dir", str(group_dir), "log", "--data-dir", str(command_dir)).output
    assert "veilige-plek" in both and "herinnering" not in both
    assert run("log").output.startswith("no sessions yet")  # $VOICEGUIDE_DATA_DIR: empty
    assert store.database_path() == data / "practice.sqlite3"
    assert store.database_path(command_dir) == command_dir / "practice.sqlite3"


@pytest.mark.slow
def test_log_next_and_diary_across_process_runs(data):
    day = datetime.now().replace(hour=8, minute=0, second=0, microsecond=0)
    for back in (2, 1, 0):
        practice_log.record_played(
            "breathing", language=None, planned_s=120, played_s=120, completed=True, when=day - timedelta(days=back)
        )

    result = vg(
        "diary",
        "add",
        "--trigger",
        "a friend cancelled",
        "--need",
        "verbinding",
        "--exercise",
        "safe-place",
        "--before",
        "6",
        "--after",
        "3",
        data=data,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added: a friend cancelled (connection); veilige-plek took tension from 6 to 3"

    log = vg("log", data=data)
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    assert lines[0].split() == ["WHEN", "EXERCISE", "LANG", "PLANNED", "PLAYED", "HOW"]
    assert sum("zelfkalmering  en    2:00     2:00    completed" in line for line in lines) == 3
    assert any(line.split() == ["zelfkalmering", "3", "3", "6.0"] for line in lines)
    assert lines[-1] == "streak: 3 days, today included"

    nxt = vg("next", "zelfkalmering", data=data)
    assert nxt.stdout.strip() == "zelfkalmering: 3 minutes; 0 of 3 completed sessions at this length, then 4"

    diary = vg("diary", data=data)
    assert "6 -> 3   connection  veilige-plek  a friend cancelled" in diary.stdout
    assert diary.stdout.splitlines()[-1].split() == ["veilige-plek", "1", "3.0"]


def test_two_processes_writing_at_once_lose_nothing(data):
    code = (
        "from voiceguide.practice import log as practice_log\n"
        "for i in range(25):\n"
        "    practice_log.record_session('zelfkalmering', 'nl', 120, 120, True)\n"
    )
    env = {**os.environ, "VOICEGUIDE_DATA_DIR": str(data)}
    practice_log.record_session("herinnering", "nl", 120, 120, True)  # the file exists before both start
    writers = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(2)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    assert count_rows(data / "practice.sqlite3", "sessions") == 51


# --- schema versions and migrations ---------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    played_at TEXT NOT NULL,
    exercise TEXT NOT NULL,
    planned_s REAL NOT NULL,
    played_s REAL NOT NULL
);
INSERT INTO sessions (played_at, exercise, planned_s, played_s) VALUES
    ('2025-03-01T08:00:00+01:00', 'zelfkalmering', 120.0, 120.0),
    ('2025-03-02T08:00:00+01:00', 'zelfkalmering', 120.0, 45.0),
    ('2025-03-03T21:30:00+01:00', 'zelfkalmering', 180.0, 179.6);
PRAGMA user_version = 1;
"""


def make_v1(path: Path, extra: str = "") -> None:
    """A practice log as the first release wrote it: sessions only, no
    language, no completed flag, no diary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA + extra)
    conn.close()


def test_a_v1_file_is_migrated_and_keeps_every_session(data):
    path = data / "practice.sqlite3"
    make_v1(path)
    assert user_version(path) == 1

    result = vg("log", data=data)  # another process opens it with today's code
    assert result.returncode == 0, result.stderr
    assert user_version(path) == store.SCHEMA_VERSION == 2
    rows = [line.split() for line in result.stdout.splitlines()[1:4]]
    assert rows == [
        ["2025-03-03", "21:30", "zelfkalmering", "-", "3:00", "3:00", "completed"],
        ["2025-03-02", "08:00", "zelfkalmering", "-", "2:00", "0:45", "stopped", "early"],
        ["2025-03-01", "08:00", "zelfkalmering", "-", "2:00", "2:00", "completed"],
    ]
    sessions = practice_log.all_sessions()
    assert [s.completed for s in sessions] == [True, False, True]
    assert sessions[0].played_at == datetime.fromisoformat("2025-03-01T08:00:00+01:00")
    # The new table works, and opening again changes nothing.
    assert (
        run(
            "diary",
            "add",
            "--trigger",
            "noise",
            "--need",
            "safety",
            "--exercise",
            "zelfkalmering",
            "--before",
            "5",
            "--after",
            "2",
        ).exit_code
        == 0
    )
    assert (
        run("next", "zelfkalmering").output.strip()
        == "zelfkalmering: 2 minutes; 2 of 3 completed sessions at this length, then 3"
    )
    assert count_rows(path, "sessions") == 3 and count_rows(path, "diary") == 1 and user_version(path) == 2


def test_a_failed_migration_changes_nothing(data):
    path = data / "practice.sqlite3"
    make_v1(path, "CREATE INDEX sessions_by_exercise ON sessions (exercise);")  # clashes with v2's index
    with pytest.raises(PracticeDataError, match="sessions_by_exercise already exists"):
        practice_log.recent_sessions()
    assert user_version(path) == 1
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
        assert "language" not in columns and "completed" not in columns
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'diary'").fetchall() == []
    assert count_rows(path, "sessions") == 3


def test_a_file_from_a_newer_voiceguide_is_refused_untouched(data):
    path = data / "practice.sqlite3"
    practice_log.record_session("zelfkalmering", "nl", 120, 120, True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = path.read_bytes()
    result = run("log")
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"voiceguide: {path} was written by a newer voiceguide (schema version 7; this one knows up to 2); upgrade voiceguide"
    )
    with pytest.raises(PracticeDataError):
        played(2)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused_untouched(data):
    path = data / "practice.sqlite3"
    data.mkdir()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    before = path.read_bytes()
    result = run(
        "diary", "add", "--trigger", "x", "--need", "safety", "--exercise", "zelfkalmering", "--before", "3", "--after", "1"
    )
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"voiceguide: {path} is an SQLite database but not a voiceguide practice log (it has contacts); it was left as it is"
    )
    assert path.read_bytes() == before


# --- damaged and locked files -----------------------------------------------------------------


def test_a_corrupt_file_gives_a_clear_error_and_is_never_overwritten(data):
    path = data / "practice.sqlite3"
    data.mkdir()
    garbage = random.Random(5).randbytes(8192)
    path.write_bytes(garbage)
    message = f"voiceguide: {path} is damaged or not a database (file is not a database); it was left as it is: move it away to start a new practice log"
    for args in (
        ["log"],
        ["next", "zelfkalmering"],
        ["diary"],
        ["diary", "add", "--trigger", "t", "--need", "safety", "--exercise", "x", "--before", "1", "--after", "0"],
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output.strip() == message
    with pytest.raises(PracticeDataError, match="is damaged"):
        played(2)
    result = vg("log", data=data)
    assert result.returncode == 1 and result.stderr.strip() == message and "Traceback" not in result.stderr
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in data.iterdir()) == ["practice.sqlite3"]


@pytest.mark.slow
def test_a_locked_database_gives_a_clear_error_and_keeps_its_data(data):
    path = data / "practice.sqlite3"
    played(2)
    diary.add_diary_entry("noise", "safety", "zelfkalmering", 6, 2)
    with exclusive_lock(path):
        result = vg("log", data=data)  # waits the 2 s busy timeout, then gives up
        assert result.returncode == 1
        assert result.stderr.strip() == f"voiceguide: {path}: {LOCKED}"
    assert count_rows(path, "sessions") == 1 and count_rows(path, "diary") == 1
    assert "zelfkalmering" in vg("log", data=data).stdout


def test_writes_while_locked_fail_whole_and_nothing_is_lost(data, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    path = data / "practice.sqlite3"
    played(2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run(
            "diary",
            "add",
            "--trigger",
            "noise",
            "--need",
            "safety",
            "--exercise",
            "zelfkalmering",
            "--before",
            "6",
            "--after",
            "2",
        )
        assert result.exit_code == 1 and result.output.strip() == f"voiceguide: {path}: {LOCKED}"
        with pytest.raises(PracticeDataError, match=LOCKED):
            played(3)
        with pytest.raises(PracticeDataError, match=LOCKED):
            practice_log.suggest_minutes("zelfkalmering")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count_rows(path, "sessions") == 1 and count_rows(path, "diary") == 0
    played(3)
    assert count_rows(path, "sessions") == 2


def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    with pytest.raises(PracticeDataError, match=f"cannot create the data folder {blocker}"):
        practice_log.record_session("zelfkalmering", "nl", 120, 120, True, data_dir=blocker / "sub")
    assert blocker.read_text() == "not a folder"


# --- the log: totals, CSV, streak -----------------------------------------------------------


def test_totals_recent_and_csv_export(data):
    start = datetime(2025, 3, 1, 9, 30)
    played(2, when=start)
    played(2, completed=False, when=start + timedelta(days=1))
    played(5, exercise='my, "own" script.vg', when=start + timedelta(days=2))

    totals = practice_log.totals_by_exercise()
    assert [(t.exercise, t.sessions, t.completed, round(t.played_s)) for t in totals] == [
        ('my, "own" script.vg', 1, 1, 300),
        ("zelfkalmering", 2, 1, 160),
    ]
    assert [s.exercise for s in practice_log.recent_sessions(2)] == ['my, "own" script.vg', "zelfkalmering"]

    result = run("log", "--csv", "--limit", "1")  # the export is always complete
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == list(practice_log.CSV_COLUMNS)
    assert [
        (r["exercise"], r["language"], float(r["planned_minutes"]), float(r["played_minutes"]), r["completed"]) for r in rows
    ] == [
        ("zelfkalmering", "nl", 2.0, 2.0, "1"),
        ("zelfkalmering", "nl", 2.0, 0.67, "0"),
        ('my, "own" script.vg', "nl", 5.0, 5.0, "1"),
    ]
    assert datetime.fromisoformat(rows[0]["played_at"]).replace(tzinfo=None) == start


@pytest.mark.parametrize(
    ("days_played", "today", "expected"),
    [
        ([], date(2025, 3, 10), 0),
        ([date(2025, 3, 10)], date(2025, 3, 10), 1),
        ([date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10)], date(2025, 3, 10), 3),
        ([date(2025, 3, 8), date(2025, 3, 9)], date(2025, 3, 10), 2),  # none yet today: the streak still stands
        ([date(2025, 3, 7), date(2025, 3, 8)], date(2025, 3, 10), 0),  # a day missed
        ([date(2025, 3, 5), date(2025, 3, 7), date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10)], date(2025, 3, 10), 4),
        ([date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1)], date(2025, 3, 1), 3),  # across a month end
        ([date(2025, 3, 11)], date(2025, 3, 10), 0),  # a session dated after "today" is not part of it
    ],
)
def test_streak(days_played, today, expected):
    for day in days_played:
        played(2, when=datetime.combine(day, datetime.min.time()).replace(hour=7))
        played(2, completed=False, when=datetime.combine(day, datetime.min.time()).replace(hour=22))  # two a day count once
    assert practice_log.streak(today) == expected


def test_log_says_when_the_streak_needs_today():
    now = datetime.now()
    played(2, when=now - timedelta(days=2))
    played(2, when=now - timedelta(days=1))
    assert run("log").output.splitlines()[-1] == "streak: 2 days; a session today keeps it going"


# --- next: building up slowly -----------------------------------------------------------------


def test_next_length_steps_up_after_three_completed_sessions():
    seen = [practice_log.suggest_minutes("zelfkalmering")]
    for _ in range(6):
        played(seen[-1])
        seen.append(practice_log.suggest_minutes("zelfkalmering"))
    assert seen == [2, 2, 2, 3, 3, 3, 4]


def test_stopped_early_and_shorter_sessions_do_not_count():
    for _ in range(5):
        played(2, completed=False)
    assert practice_log.suggest_minutes("zelfkalmering") == 2
    for _ in range(3):
        played(2)
    assert practice_log.suggest_minutes("zelfkalmering") == 3
    played(2)
    played(2)  # completed, but shorter than the current length
    played(3, completed=False)
    found = practice_log.suggestion("zelfkalmering")
    assert (found.minutes, found.completed_at_length, found.next_minutes) == (3, 0, 4)


def test_next_never_jumps_even_after_long_sessions():
    previous = practice_log.suggest_minutes("veilige-plek")
    for _ in range(12):
        played(15, exercise="veilige-plek")
        current = practice_log.suggest_minutes("veilige-plek")
        assert current - previous in (0, 1)
        previous = current
    assert previous == 6  # 2 + 12 / 3


def test_next_respects_the_cap_and_other_settings():
    for _ in range(9):
        played(practice_log.suggest_minutes("zelfkalmering", cap_minutes=3))
    found = practice_log.suggestion("zelfkalmering", cap_minutes=3)
    assert found.minutes == 3 and found.next_minutes is None
    assert practice_log.suggest_minutes("zelfkalmering", cap_minutes=1.5) == 1.5
    # The same nine sessions (2, 2, 2, then six of 3 minutes) by half-minute steps every two:
    # 2 -> 2.5 after two; the third (2 min) is too short; 3 after two more; 3.5 after two more;
    # the last two (3 min) are too short for 3.5.
    assert practice_log.suggest_minutes("zelfkalmering", step_minutes=0.5, sessions_per_step=2) == 3.5
    assert practice_log.suggest_minutes("herinnering") == 2  # each exercise builds up on its own
    with pytest.raises(UsageError, match="sessions per step must be at least 1"):
        practice_log.suggest_minutes("zelfkalmering", sessions_per_step=0)


def test_next_command():
    for _ in range(3):
        played(2, exercise="veilige-plek")
    assert run("next", "safe-place").output.strip() == "veilige-plek: 3 minutes; 0 of 3 completed sessions at this length, then 4"
    assert (
        run("next", "veilige-plek", "--cap", "2").output.strip()
        == "veilige-plek: 2 minutes; at the cap (3 completed at this length)"
    )
    table = run("next").output.splitlines()
    assert table[0].split() == ["EXERCISE", "NEXT", "PROGRESS"]
    assert [line.split()[:3] for line in table[1:]] == [
        ["herinnering", "2", "min"],
        ["veilige-plek", "3", "min"],
        ["zelfkalmering", "2", "min"],
    ]
    result = run("next", "nosuch")
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "voiceguide: 'nosuch' is neither a built-in exercise (herinnering, veilige-plek, zelfkalmering) nor in the practice log; see 'voiceguide log'"
    )


# --- the diary --------------------------------------------------------------------------------


def test_diary_lists_entries_and_the_average_drop_per_exercise():
    diary.add_diary_entry("harsh mail", "Appreciation", "self-soothing", 7, 3, when=datetime(2025, 3, 1, 9))
    diary.add_diary_entry("crowded train", "veiligheid", "zelfkalmering", 6, 4, when=datetime(2025, 3, 2, 9))
    diary.add_diary_entry("alone on a sunday", "to be seen", "safe-place", 5, 5, when=datetime(2025, 3, 3, 9))
    diary.add_diary_entry("argument", "connection", "a walk", 8, 2, when=datetime(2025, 3, 4, 9))
    entries = diary.diary_entries(10)
    assert [(e.trigger, e.need, e.exercise, e.drop) for e in entries] == [
        ("argument", "connection", "a walk", 6),
        ("alone on a sunday", "to be seen", "veilige-plek", 0),
        ("crowded train", "safety", "zelfkalmering", 2),
        ("harsh mail", "appreciation", "zelfkalmering", 4),
    ]
    drops = [(d.exercise, d.entries, d.average_drop) for d in diary.tension_drop_by_exercise()]
    assert drops == [("a walk", 1, 6.0), ("zelfkalmering", 2, 3.0), ("veilige-plek", 1, 0.0)]

    lines = run("diary", "--limit", "2").output.splitlines()
    assert lines[0].split() == ["WHEN", "TENSION", "NEED", "EXERCISE", "TRIGGER"]
    assert lines[1] == "2025-03-04 09:00  8 -> 2   connection  a walk        argument"
    assert len(lines) == 3 + 1 + 4  # header and 2 entries, a blank line, header and 3 exercises
    assert lines[-2:] == ["zelfkalmering  2        3.0", "veilige-plek   1        0.0"]

    rows = list(csv.DictReader(io.StringIO(run("diary", "--csv").output)))
    assert [(r["trigger"], r["tension_before"], r["tension_after"]) for r in rows][0] == ("harsh mail", "7", "3")
    assert len(rows) == 4


BAD_DIARY = {"trigger": "noise", "need": "safety", "exercise": "zelfkalmering", "before": "6", "after": "2"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trigger": "   "}, "trigger is empty; write a few words"),
        ({"trigger": "x" * 201}, "trigger must be at most 200 characters, not 201"),
        ({"need": ""}, "need is empty; write a few words"),
        ({"need": "n" * 101}, "need must be at most 100 characters, not 101"),
        ({"before": "11"}, "tension before must be a whole number from 0 (calm) to 10, not '11'"),
        ({"after": "-1"}, "tension after must be a whole number from 0 (calm) to 10, not '-1'"),
        ({"before": "3.5"}, "tension before must be a whole number from 0 (calm) to 10, not '3.5'"),
        ({"after": "high"}, "tension after must be a whole number from 0 (calm) to 10, not 'high'"),
        ({"after": None}, "missing --after; give it, or run 'voiceguide diary add' in a terminal to be asked"),
        (
            {"need": None, "before": None},
            "missing --need, --before; give them, or run 'voiceguide diary add' in a terminal to be asked",
        ),
    ],
)
def test_diary_add_errors_are_one_line_and_write_nothing(data, changes, message):
    values = {**BAD_DIARY, **changes}
    args = [f"--{key}={value}" for key, value in values.items() if value is not None]
    result = run("diary", "add", *args)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"voiceguide: {message}"]
    assert not data.exists()


def test_diary_library_validation():
    with pytest.raises(UsageError, match="tension before must be a whole number from 0 \\(calm\\) to 10, not 'True'"):
        diary.add_diary_entry("noise", "safety", "x", True, 10)  # a bool is not a rating
    assert diary.add_diary_entry("  two\nlines  ", "safety", "x", 0, 10).trigger == "two lines"
    assert diary.add_diary_entry("t" * 200, "safety", "x", "10", " 0 ").tension_after == 0


def test_diary_add_asks_for_what_is_missing_at_a_terminal(monkeypatch):
    monkeypatch.setattr(cli_practice, "is_terminal", lambda stream: True)
    practice_log.record_played("safe-place", language=None, planned_s=120, played_s=120, completed=True)
    # trigger, need, exercise (Enter: the last played), before (wrong, then right), after
    result = run("diary", "add", "--after", "3", input="argument at work\nverbinding\n\n12\n7\n")
    assert result.exit_code == 0, result.output
    assert "Error: tension before must be a whole number from 0 (calm) to 10, not '12'" in result.output
    assert "The exercise that helped [veilige-plek]:" in result.output
    assert result.output.splitlines()[-1] == "added: argument at work (connection); veilige-plek took tension from 7 to 3"
    assert [(e.trigger, e.need, e.exercise) for e in diary.diary_entries()] == [
        ("argument at work", "connection", "veilige-plek")
    ]


def test_diary_subcommands_have_help_with_an_example():
    for name in cli_practice.diary.commands:
        result = run("diary", name, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output and f"voiceguide diary {name}" in result.output


# --- what play calls ----------------------------------------------------------------------------


@click.command()
@click.option("--played", "played_s", type=float, default=180)
@click.option("--stopped", is_flag=True)
@click.option("--no-diary", is_flag=True)
@click.option("--next", "use_next", is_flag=True)
@click.option("--minutes", type=float)
@data_dir_option
def fake_play(played_s: float, stopped: bool, no_diary: bool, use_next: bool, minutes: float | None) -> None:
    """Stands in for the play command: the same calls around the playback."""
    target_s = practice_log.session_length_s(
        "breathing", target_s=None if minutes is None else minutes * 60, use_next=use_next, data_dir=cli_practice.data_dir()
    )
    click.echo(f"target {target_s}")
    cli_practice.after_play("breathing", "en", PlayOutcome(target_s or 180, played_s, not stopped), offer_diary=not no_diary)


def play_run(*args: str, input: str | None = None):
    return CliRunner().invoke(fake_play, list(args), input=input, catch_exceptions=False)


def test_play_logs_the_session_and_uses_next(data):
    assert play_run("--next").output.strip() == "target 120.0"
    assert play_run("--minutes", "4").output.strip() == "target 240.0"
    for _ in range(2):
        play_run("--next")
    play_run("--next", "--stopped", "--played", "40")
    play_run("--played", "5")  # a start by mistake: not logged
    # 2 min, 4 min (counts toward 2: it is longer), 2 min: three completed, so 3 min; the stop does not count.
    sessions = practice_log.all_sessions()
    assert [(s.exercise, s.language, s.planned_s, s.completed) for s in sessions] == [
        ("zelfkalmering", "en", 120, True),
        ("zelfkalmering", "en", 240, True),
        ("zelfkalmering", "en", 120, True),
        ("zelfkalmering", "en", 180, True),
        ("zelfkalmering", "en", 180, False),
    ]
    assert sessions[-1].played_s == 40
    assert play_run("--next").output.strip() == "target 180.0"
    with pytest.raises(UsageError, match="give use_next or target_s, not both"):
        play_run("--next", "--minutes", "3")


def test_after_play_offers_a_diary_entry_only_at_a_terminal(monkeypatch):
    assert "diary" not in play_run(input="y\n").output  # not a terminal: no question
    monkeypatch.setattr(cli_practice, "is_terminal", lambda stream: True)
    assert play_run("--no-diary").output.strip() == "target None"
    declined = play_run(input="\n")
    assert f"{diary.DIARY_OFFER} [y/N]:" in declined.output and diary.diary_entries() == []
    accepted = play_run(input="y\nbusy street\nsafety\n\n6\n2\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.output.splitlines()[-1] == "added: busy street (safety); zelfkalmering took tension from 6 to 2"
    assert len(practice_log.all_sessions()) == 4


def test_after_play_warns_when_the_log_is_locked(data, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    path = data / "practice.sqlite3"
    played(2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(fake_play, [], catch_exceptions=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 0
    assert f"voiceguide: session not logged: {path}: {LOCKED}" in result.output
    assert count_rows(path, "sessions") == 1


def test_exercise_key_names_built_ins_and_script_files(tmp_path):
    script = tmp_path / "my-script.vg"
    script.write_text("Hallo.")
    assert practice_log.exercise_key("breathing") == ("zelfkalmering", "en")
    assert practice_log.exercise_key("zelfkalmering", "en") == ("zelfkalmering", "en")
    assert practice_log.exercise_key("veilige-plek") == ("veilige-plek", "nl")
    assert practice_log.exercise_key(str(script), "nl") == ("my-script.vg", "nl")
